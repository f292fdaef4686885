"""ELM geometry (elm): Proposition 1 through training, logit margins, intra-class distances, two moons.

- ``prop1``: both sides of elm Proposition 1 per class, on the training embeddings of snapshots
  taken through training (``save_every``), for CE, LA and ELM with the same alpha_y (ELM's default
  setting, ``training.methods.ELM_SETTINGS``), via ``ltbounds.bounds.elm_prop1``: the left side
  2 n_y/(n_y - 1) tr(C_y) - alpha_y + log(n_y - 1) must stay below the mean pull objective.
- ``margin``: the test-set logit margins gamma(x, y) = f_y(x) - max_{y' != y} f_y'(x) of the final
  models, one row per sample, grouped Head / Torso / Tail = Many / Medium / Few (elm, Figures 3, 6).
- ``distance``: d_max(x) = max_{x+ in S_y} ||Phi(x) - Phi(x+)|| / max_{x in S} ||Phi(x)|| on the
  training embeddings (elm, Figure 4).
- ``moons``: the 2-D embeddings of an MLP with a two-unit pre-output layer trained on the imbalanced
  two moons with LA (CE + logit margins) vs ELM (elm, Figure 1; one row per training point).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltbounds.class_groups import class_groups
from studies.runner import MissingPiece, Run, StudyContext
from studies.training_runs import OneDataset, dataset, optimisation_overrides, train_once

NAME = "elm_geometry"
QUESTION = "Does ELM's pull term tighten class-conditional embeddings and margins (elm, Prop. 1, Figs 1, 3, 4, 6)?"
FIGURES = ("elm_prop1", "elm_margins", "elm_distances", "elm_two_moons")


@dataclass(frozen=True)
class Settings(OneDataset):  # dataset, imbalance, epochs: studies.training_runs.OneDataset
    methods: tuple[str, ...] = ("ce", "la", "elm", "dro_lt")
    snapshots: int = 10
    model: str | None = None
    hidden: tuple[int, ...] = (128, 64)
    lr: float | None = None
    moons_imbalance: float = 10.0
    moons_methods: tuple[str, ...] = ("la", "elm")
    moons_hidden: tuple[int, ...] = (64, 64, 2)
    moons_epochs: int = 100
    # ELM on the 2-D moons: alpha_y = P(y) (elm App. A.2's CIFAR-10 choice); the default alpha_y = n_y
    # would switch the pull term off at these distances (exp(d^2 - n_y) ~ 0). lambda raised to 0.1 so the
    # pull is visible in a 2-D picture; both are recorded in the manifest's settings.
    moons_elm_overrides: tuple[tuple[str, object], ...] = (
        ("alpha_base", "prior"),
        ("alpha_exponent", 1.0),
        ("alpha_scale", 1.0),
        ("lambda_pull", 0.1),
    )
    seeds: tuple[int, ...] = (0,)


QUICK = Settings(methods=("ce", "la", "elm"), epochs=30, snapshots=5, model="mlp", lr=0.1, moons_epochs=40)
FULL = Settings()


def runs(settings: Settings) -> list[Run]:
    planned = []
    for seed in settings.seeds:
        for method in settings.methods:
            planned.append(
                Run(f"{settings.dataset}_{method}_s{seed}", {"part": "main", "method": method, "seed": seed})
            )
        for method in settings.moons_methods:
            planned.append(Run(f"moons_{method}_s{seed}", {"part": "moons", "method": method, "seed": seed}))
    return planned


def elm_alpha(class_counts: np.ndarray, dataset_name: str) -> np.ndarray:
    """alpha_y of ELM's setting for this dataset: scale * base^exponent, base = n_y or pi_y (elm, App. A.2)."""
    from training.methods import ELM_SETTINGS

    setting = ELM_SETTINGS.get(dataset_name, ELM_SETTINGS["default"])
    counts = np.asarray(class_counts, dtype=np.float64)
    base = counts if setting["alpha_base"] == "count" else counts / counts.sum()
    return float(setting["alpha_scale"]) * base ** float(setting["alpha_exponent"])


def _config(settings: Settings, run: Run, context: StudyContext) -> dict:
    config = {"method": run.params["method"], "seed": run.params["seed"], "data_root": context.data_root}
    if run.params["part"] == "moons":
        config.update(
            dataset="two_moons",
            imbalance=settings.moons_imbalance,
            epochs=settings.moons_epochs,
            model="mlp",
            model_options={"hidden": list(settings.moons_hidden)},
        )
        return config
    config.update(
        dataset=settings.dataset,
        imbalance=settings.imbalance,
        epochs=settings.epochs,
        save_every=max(1, settings.epochs // settings.snapshots),
    )
    config.update(optimisation_overrides(settings))
    return config


def execute(run: Run, settings: Settings, context: StudyContext) -> list[dict]:
    from studies.checkpoint_outputs import checkpoint_outputs

    config = _config(settings, run, context)
    data = dataset(config["dataset"], config["imbalance"], run.params["seed"], data_root=context.data_root)
    trained = train_once(context.scratch(run.key), data=data, **config)
    if run.params["part"] == "moons":
        outputs, _ = checkpoint_outputs(trained.checkpoint, ("train",), context.data_root)
        train = outputs["train"]
        if train.embeddings.shape[1] != 2:
            raise MissingPiece(f"two-moons model has a {train.embeddings.shape[1]}-D embedding, not 2-D")
        return [
            {
                "quantity": "embedding",
                "sample": i,
                "class": int(label),
                "x0": float(z[0]),
                "x1": float(z[1]),
                "class_count": int(train.class_counts[label]),
                "value": math.nan,
            }
            for i, (z, label) in enumerate(zip(train.embeddings, train.labels, strict=True))
        ]
    from ltbounds import bounds

    counts = np.asarray(data.class_counts)
    groups = _groups(counts)
    alpha = elm_alpha(counts, settings.dataset)
    rows: list[dict] = []
    snapshots = sorted(Path(trained.directory).glob("epoch_*.pt"))
    for path in [*snapshots, trained.checkpoint]:
        outputs, checkpoint = checkpoint_outputs(path, ("train",), context.data_root)
        train = outputs["train"]
        sides = bounds.elm_prop1(train.embeddings, train.labels, alpha, num_classes=train.num_classes)
        epoch = int(checkpoint.get("epoch", 0))
        final = path == trained.checkpoint
        for y in range(train.num_classes):
            for side, values in (("prop1_left", sides.left), ("prop1_right", sides.right)):
                rows.append(
                    {
                        "quantity": side,
                        "epoch": epoch,
                        "final": final,
                        "class": y,
                        "class_count": int(counts[y]),
                        "group": groups[y],
                        "value": float(values[y]),
                    }
                )
    outputs, _ = checkpoint_outputs(trained.checkpoint, ("train", "test"), context.data_root)
    test, train = outputs["test"], outputs["train"]
    rows += _sample_rows("margin", _margins(test.logits, test.labels), test.labels, counts, groups)
    distances = normalised_max_intra_class_distance(train.embeddings, train.labels)
    rows += _sample_rows("max_intra_distance", distances, train.labels, counts, groups)
    return rows


def _sample_rows(
    quantity: str, values: np.ndarray, labels: np.ndarray, counts: np.ndarray, groups: np.ndarray
) -> list[dict]:
    """One row per sample i: ``quantity``'s value there, with its class, the class's training count and group."""
    return [
        {
            "quantity": quantity,
            "sample": i,
            "class": int(y),
            "class_count": int(counts[y]),
            "group": groups[y],
            "value": float(value),
        }
        for i, (value, y) in enumerate(zip(values, labels, strict=True))
    ]


def _groups(counts: np.ndarray) -> np.ndarray:
    names = {"many": "Head", "medium": "Torso", "few": "Tail"}
    return np.array([names[g] for g in class_groups(counts)])


def _margins(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """gamma(x, y) = f_y(x) - max_{y' != y} f_y'(x) (elm, Sec. 5)."""
    rows = np.arange(labels.size)
    target = logits[rows, labels]
    others = logits.copy()
    others[rows, labels] = -np.inf
    return target - others.max(axis=1)


def normalised_max_intra_class_distance(embeddings: np.ndarray, labels: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """d_max(x) = max_{x+ in S_y} ||Phi(x) - Phi(x+)||_2 / max_{x in S} ||Phi(x)||_2 (elm, Figure 4).

    Chunked over rows so a class of 50,000 never builds its full distance matrix at once."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    scale = float(np.linalg.norm(embeddings, axis=1).max())
    result = np.zeros(labels.size)
    for y in np.unique(labels):
        index = np.flatnonzero(labels == y)
        members = embeddings[index]
        norms = np.einsum("ij,ij->i", members, members)
        for start in range(0, index.size, chunk):
            block = members[start : start + chunk]
            squared = norms[start : start + chunk, None] + norms[None, :] - 2.0 * block @ members.T
            result[index[start : start + chunk]] = np.sqrt(np.maximum(squared.max(axis=1), 0.0))
    return result / scale if scale > 0 else result

"""DRO-LT (drolt): Theorem 1 on trained embeddings, learned radii vs class size, NCM accuracy by layer.

- ``theorem1``: drolt's Theorem 1 and its correction (``ltbounds.statements.drolt.THEOREM1``,
  ``THEOREM1_CORRECTED``; as printed, corrected, certified) evaluated on each trained model (train /
  balanced validation / test splits): bound value, the quantity it bounds, slack and assumption flags
  per class, i.e. how tight the robust loss (18) is as an upper bound on the loss under the true
  centroids (drolt, Theorem 1).
- ``radii``: the per-class radii eps_y the ``dro_lt_learned`` recipe learned, against the class's
  training count (drolt, Figure 2).
- ``ncm``: nearest-class-mean accuracy on the test set of every hidden layer's output (centroids
  from the training split), averaged over Many / Medium / Few classes (drolt, Figure 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ltbounds.class_groups import class_groups
from studies.runner import Run, StudyContext
from studies.training_runs import OneDataset, dataset, final_metrics, run_config, train_once

NAME = "drolt"
QUESTION = "How tight is DRO-LT's Theorem 1 on trained embeddings, and what do learned radii do (drolt, Figs 2-3)?"
FIGURES = ("drolt_theorem1", "drolt_radii", "drolt_ncm_layers")


@dataclass(frozen=True)
class Settings(OneDataset):  # dataset, imbalance, epochs: studies.training_runs.OneDataset
    methods: tuple[str, ...] = ("ce", "dro_lt", "dro_lt_sqrt_n", "dro_lt_learned")
    model: str | None = None
    hidden: tuple[int, ...] = (256, 128, 64)
    lr: float | None = None
    delta: float = 0.05
    seeds: tuple[int, ...] = (0, 1, 2)


QUICK = Settings(methods=("ce", "dro_lt", "dro_lt_learned"), epochs=30, model="mlp", lr=0.1, seeds=(0,))
FULL = Settings()


def runs(settings: Settings) -> list[Run]:
    return [
        Run(f"{settings.dataset}_{method}_s{seed}", {"method": method, "seed": seed})
        for seed in settings.seeds
        for method in settings.methods
    ]


def execute(run: Run, settings: Settings, context: StudyContext) -> list[dict]:
    from studies.checkpoint_outputs import checkpoint_outputs, layer_embeddings

    data = dataset(settings.dataset, settings.imbalance, run.params["seed"], data_root=context.data_root)
    config = run_config(settings, run.params["seed"], context.data_root, method=run.params["method"])
    trained = train_once(context.scratch(run.key), data=data, **config)
    counts = np.asarray(data.class_counts)
    groups = class_groups(counts)
    rows: list[dict] = []
    metrics = final_metrics(trained)
    rows.append(
        {
            "part": "accuracy",
            "quantity": "test_balanced_accuracy",
            "value": float(metrics.get("test_balanced_accuracy") or math.nan),
        }
    )

    outputs, checkpoint = checkpoint_outputs(trained.checkpoint, ("train", "val", "test"), context.data_root)
    rows += _theorem1_rows(outputs, settings.delta, counts, groups)

    radii = _learned_radii(checkpoint)
    if radii is not None:
        rows += [
            {
                "part": "radii",
                "quantity": "radius",
                "class": y,
                "class_count": int(counts[y]),
                "group": groups[y],
                "value": float(r),
            }
            for y, r in enumerate(radii)
        ]

    train_x, test_x = data.train.x, data.test.x
    train_layers, test_layers = layer_embeddings(checkpoint, train_x), layer_embeddings(checkpoint, test_x)
    train_y, test_y = data.train.y.numpy(), data.test.y.numpy()
    for layer, (train_z, test_z) in enumerate(zip(train_layers, test_layers, strict=True), start=1):
        accuracy = nearest_centroid_accuracy(train_z, train_y, test_z, test_y, counts.size)
        for group in ("many", "medium", "few"):
            selected = groups == group
            if selected.any():
                rows.append(
                    {
                        "part": "ncm",
                        "quantity": "ncm_accuracy",
                        "layer": layer,
                        "layers": len(train_layers),
                        "group": group,
                        "value": float(np.nanmean(accuracy[selected])),
                    }
                )
    return rows


def _theorem1_rows(outputs: dict, delta: float, counts: np.ndarray, groups: np.ndarray) -> list[dict]:
    from ltbounds.statements import EvaluationSplits
    from ltbounds.statements.drolt import THEOREM1, THEOREM1_CORRECTED

    splits = EvaluationSplits(train=outputs["train"], heldout=outputs["val"], test=outputs["test"])
    rows = []
    for statement in (THEOREM1, THEOREM1_CORRECTED):
        for result in statement.evaluate(splits, delta):
            y = result.class_index
            rows.append(
                {
                    "part": "theorem1",
                    "quantity": "bound",
                    "statement": result.statement,
                    "form": result.form,
                    "class": "all" if y is None else int(y),
                    "class_count": int(counts.sum() if y is None else counts[y]),
                    "group": "all" if y is None else groups[y],
                    "value": float(result.value),
                    "measured": float(result.measured),
                    "slack": float(result.slack),
                    "valid": bool(result.valid),
                    "split": result.split,
                    "assumptions_violated": ";".join(result.assumptions_violated),
                }
            )
    return rows


def _learned_radii(checkpoint: dict) -> np.ndarray | None:
    state = (checkpoint.get("state") or {}).get("loss") or {}
    if (checkpoint.get("method") or {}).get("hparams", {}).get("radius") != "learned":
        return None
    for key, value in state.items():
        if key.split(".")[-1] == "radii":
            return np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value, dtype=np.float64)
    return None


def nearest_centroid_accuracy(
    train_z: np.ndarray, train_y: np.ndarray, test_z: np.ndarray, test_y: np.ndarray, num_classes: int
) -> np.ndarray:
    """Per-class test accuracy of argmin_y ||z - mu_y||, mu_y the training centroids (NCM, tutorial; drolt Fig. 3)."""
    sums = np.zeros((num_classes, train_z.shape[1]))
    np.add.at(sums, train_y, train_z)
    sizes = np.bincount(train_y, minlength=num_classes)
    centroids = sums / np.maximum(sizes, 1)[:, None]
    distances = (
        np.einsum("ij,ij->i", test_z, test_z)[:, None]
        - 2.0 * test_z @ centroids.T
        + np.einsum("ij,ij->i", centroids, centroids)[None, :]
    )
    distances[:, sizes == 0] = np.inf
    correct = (np.argmin(distances, axis=1) == test_y).astype(np.float64)
    tests = np.bincount(test_y, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tests > 0, np.bincount(test_y, weights=correct, minlength=num_classes) / tests, np.nan)

"""Training for the studies: one call per (dataset, method, settings), reused when already finished.

``train_once`` trains with ``training.loop.train`` into a folder (``last.pt`` + ``metrics.jsonl``),
resumes a run that was cut short, and returns the finished one untouched; ``dataset`` loads each
``DatasetSpec`` once per process (MNIST-5k takes seconds to read). Everything here imports
``training`` lazily.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_DATA_CACHE: dict[str, Any] = {}


GROUP_ACCURACIES = ("test_balanced_accuracy", "test_many_accuracy", "test_medium_accuracy", "test_few_accuracy")


@dataclass(frozen=True)
class OneDataset:
    """The data and length of a training study's runs (a base class of its ``Settings``; ``run_config``)."""

    dataset: str = "mnist5k"
    imbalance: float = 100.0
    epochs: int = 200


@dataclass(frozen=True)
class Optimisation:
    """The model and optimisation fields of a training study's ``Settings`` (a base class), read by
    ``optimisation_overrides``; a field left at None keeps the dataset's recipe."""

    model: str | None = None  # None: the dataset's default model
    hidden: tuple[int, ...] = (128, 64)  # MLP widths, when model == "mlp"
    lr: float | None = None
    batch_size: int | None = None
    # lr factors from each milestone on (None: the recipe's 0.01, 0.0001). With ~7 SGD steps per epoch on
    # MNIST-5k-LT, a terminal phase at 0.01 x lr is a few dozen tiny steps and re-weighting from T0 changes
    # nothing measurable; a quick setting decays to 0.1 x lr instead so the deferred phase can act.
    lr_decays: tuple[float, ...] | None = None


@dataclass(frozen=True)
class TrainedRun:
    checkpoint: Path  # the final checkpoint (last.pt)
    metrics: list[dict]  # one dict per epoch (and the classifier stage), from metrics.jsonl
    directory: Path


def dataset(
    name: str,
    imbalance: float,
    seed: int = 0,
    options: dict | None = None,
    data_root: str | None = None,
    profile: str = "exp",
    val_fraction: float = 0.1,
):
    """``training.data.load_dataset`` of this spec, loaded once per process."""
    from training.data import DatasetSpec, load_dataset

    spec = DatasetSpec(
        name=name,
        imbalance=float(imbalance),
        profile=profile,
        seed=int(seed),
        val_fraction=val_fraction,
        options=dict(options or {}),
    )
    key = json.dumps(
        [name, float(imbalance), profile, int(seed), val_fraction, options or {}, data_root],
        sort_keys=True,
        default=str,
    )
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = load_dataset(spec, data_root)
    return _DATA_CACHE[key]


def optimisation_overrides(settings: Any) -> dict[str, Any]:
    """The model and optimisation fields a study's settings override, as ``TrainConfig`` keywords.

    Reads ``model`` (with ``hidden``, the MLP widths), ``lr``, ``batch_size`` and ``lr_decays`` where
    the settings have them; a field left at None keeps the recipe's default.
    """
    config: dict[str, Any] = {}
    model = getattr(settings, "model", None)
    if model is not None:
        config["model"] = model
        if model == "mlp":
            config["model_options"] = {"hidden": list(settings.hidden)}
    for name in ("lr", "batch_size"):
        if getattr(settings, name, None) is not None:
            config[name] = getattr(settings, name)
    if getattr(settings, "lr_decays", None) is not None:
        config["lr_decays"] = tuple(settings.lr_decays)
    return config


def run_config(settings: Any, seed: int, data_root: str | None, **fields: Any) -> dict[str, Any]:
    """``train_once`` keywords of one run of a study on ``settings.dataset``: its imbalance (``fields`` may
    give another), seed, epochs and data root, the ``fields`` given (method, loss overrides, ...), and the
    settings' model and optimisation overrides."""
    config = {
        "dataset": settings.dataset,
        "imbalance": settings.imbalance if "imbalance" not in fields else fields.pop("imbalance"),
        "seed": seed,
        "epochs": settings.epochs,
        "data_root": data_root,
    }
    return config | fields | optimisation_overrides(settings)


def train_once(directory: str | Path, *, data=None, **config: Any) -> TrainedRun:
    """Train ``TrainConfig(**config)`` into ``directory`` unless a finished ``last.pt`` is there.

    A ``last.pt`` from an interrupted run is resumed; one of another run (another HParams identity,
    ``training.config.identity_differences``) is trained again from scratch (``overwrite``).
    """
    from training.checkpoints import load_checkpoint
    from training.config import TrainConfig, identity_differences, resolve_config
    from training.loop import train

    directory = Path(directory)
    last = directory / "last.pt"
    config.setdefault("progress", False)
    train_config = TrainConfig(**config)
    resume = overwrite = False
    if last.exists():
        checkpoint = load_checkpoint(last)
        # the same run <=> the same HParams identity (execution settings never make another run)
        same = identity_differences(checkpoint.get("method", {}), resolve_config(train_config).hparams) == []
        finished = int(checkpoint.get("epoch", 0)) >= int(checkpoint.get("epochs", 1)) and (
            not checkpoint.get("method", {}).get("recipe", {}).get("classifier_stage")
            or checkpoint.get("method", {}).get("stage")
        )
        if same and finished:
            return TrainedRun(last, _metrics(directory), directory)
        resume, overwrite = same, not same
    train(train_config, data=data, out=directory, resume=resume, overwrite=overwrite)
    return TrainedRun(last, _metrics(directory), directory)


def _metrics(directory: Path) -> list[dict]:
    path = directory / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def final_metrics(run: TrainedRun) -> dict:
    """The last per-epoch metrics that carry test accuracies (the classifier stage's when it has them)."""
    for metrics in reversed(run.metrics):
        if metrics.get("test_balanced_accuracy") is not None:
            return metrics
    return run.metrics[-1] if run.metrics else {}


def accuracy_rows(metrics: dict, keys: tuple[str, ...] = GROUP_ACCURACIES) -> list[dict]:
    """One study row per metric in ``keys`` (``quantity``, ``value``; NaN where the run did not record it)."""
    rows = []
    for key in keys:
        value = metrics.get(key)
        rows.append({"quantity": key, "value": math.nan if value is None else float(value)})
    return rows

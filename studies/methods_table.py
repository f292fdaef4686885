"""Balanced accuracy of every training method, overall and Many / Medium / Few, laid out like
Wang et al. (wang23) Table 1, with the papers' CIFAR numbers printed beside ours.

On the embedded long-tail data (MNIST-5k, rho = 100 and 10) by default; with ``--data-root`` pointing
at a folder holding ``cifar-10-batches-py`` / ``cifar-100-python``, CIFAR-10/100-LT (ResNet-32) are
added. Our numbers are last-epoch test balanced accuracy (%), mean and standard deviation over the
seeds. The papers' numbers (wang23 Table 1, w/o SAM, mean of 5 seeds; the figures of wang23's code
README) are for CIFAR with ResNet-32 and 200 epochs: they are printed for orientation, and are
comparable with ours only on the same dataset and recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from studies.runner import Run, StudyContext
from studies.training_runs import accuracy_rows, dataset, final_metrics, train_once

NAME = "methods_table"
QUESTION = "Balanced accuracy (overall, Many/Medium/Few) of every method, beside the papers' Table 1."
FIGURES = ("methods_table",)

# wang23, Table 1 (w/o SAM), balanced accuracy %, mean over 5 seeds: (CIFAR-10 LT 100, LT 10, CIFAR-100 LT 100, LT 10).
PAPER_TABLE1: dict[str, tuple[float, float, float, float]] = {
    "ce": (71.5, 87.0, 38.3, 56.7),
    "ldam": (73.8, 86.4, 39.9, 55.7),
    "vs": (78.8, 88.7, 41.8, 58.4),
    "ce_drw": (75.8, 87.9, 40.8, 58.1),
    "ldam_drw": (77.7, 87.5, 42.7, 57.5),
    "vs_drw": (80.1, 88.6, 41.3, 57.6),
    "ce_adrw": (78.6, 88.2, 41.8, 58.3),
    "ldam_adrw": (79.1, 87.6, 43.0, 58.0),
    "vs_tla_drw": (80.8, 88.8, 43.0, 58.9),
    "vs_tla_adrw": (81.1, 89.0, 43.4, 59.2),
}
PAPER_COLUMNS = ("paper_cifar10_lt100", "paper_cifar10_lt10", "paper_cifar100_lt100", "paper_cifar100_lt10")
# wang23's code README, CIFAR-LT rho = 100, ResNet-32, 200 epochs: (CIFAR-10, CIFAR-100).
PAPER_README: dict[str, tuple[float, float]] = {
    "ce": (71.25, 38.06),
    "ldam_drw": (77.97, 42.73),
    "vs": (80.29, 42.67),
    "vs_tla_adrw": (80.81, 43.20),
}


@dataclass(frozen=True)
class TableData:
    name: str
    imbalance: float
    model: str | None = None
    epochs: int | None = None  # None: the dataset family's paper default

    @property
    def label(self) -> str:
        return f"{self.name}_rho{self.imbalance:g}"


@dataclass(frozen=True)
class Settings:
    datasets: tuple[TableData, ...] = (TableData("mnist5k", 100.0), TableData("mnist5k", 10.0))
    methods: tuple[str, ...] = ()  # () = every recipe of training.methods.RECIPES
    epochs: int = 100  # for the embedded datasets
    model: str = "cnn"
    hidden: tuple[int, ...] = (128, 64)
    lr: float | None = None
    cifar_epochs: int = 200
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)


QUICK = Settings(datasets=(TableData("mnist5k", 100.0),), epochs=30, model="mlp", lr=0.1, cifar_epochs=10, seeds=(0,))
FULL = Settings()


def _methods(settings: Settings) -> tuple[str, ...]:
    if settings.methods:
        return settings.methods
    from training.methods import RECIPES

    # CE+DRW is a row of wang23 Table 1 but not a named recipe: CE with DRW weights from T0.
    return tuple(RECIPES) + (() if "ce_drw" in RECIPES else ("ce_drw",))


def _datasets(settings: Settings, data_root: str | None) -> list[TableData]:
    found = list(settings.datasets)
    if data_root is not None:
        root = Path(data_root)
        for folder, name in (("cifar-10-batches-py", "cifar10"), ("cifar-100-python", "cifar100")):
            if (root / folder).is_dir():
                found.append(TableData(name, 100.0, model="resnet32", epochs=settings.cifar_epochs))
    return found


def runs(settings: Settings, data_root: str | None = None) -> list[Run]:
    return [
        Run(
            f"{data.label}_{method}_s{seed}",
            {"dataset": data.name, "imbalance": data.imbalance, "method": method, "seed": seed},
        )
        for data in _datasets(settings, data_root)
        for method in _methods(settings)
        for seed in settings.seeds
    ]


def execute(run: Run, settings: Settings, context: StudyContext) -> list[dict]:
    spec = next(
        d
        for d in _datasets(settings, context.data_root)
        if d.name == run.params["dataset"] and d.imbalance == run.params["imbalance"]
    )
    data = dataset(spec.name, spec.imbalance, run.params["seed"], data_root=context.data_root)
    method = run.params["method"]
    overrides = {}
    if method == "ce_drw":
        method, overrides = "ce", {"reweighting": "drw", "cb_beta": 0.9999}
    config = {
        "method": method,
        "dataset": spec.name,
        "imbalance": spec.imbalance,
        "seed": run.params["seed"],
        "data_root": context.data_root,
    }
    if spec.model is not None:
        config["model"] = spec.model
        config["epochs"] = spec.epochs
    else:
        config["model"] = settings.model
        config["epochs"] = settings.epochs
        if settings.model == "mlp":
            config["model_options"] = {"hidden": list(settings.hidden)}
        if settings.lr is not None:
            config["lr"] = settings.lr
    if overrides:
        drw_epoch = round(0.8 * config["epochs"])
        config["loss_overrides"] = {**overrides, "reweight_epoch": drw_epoch}
        config["drw_epoch"] = drw_epoch
    trained = train_once(context.scratch(run.key), data=data, **config)
    return accuracy_rows(final_metrics(trained))


def summarize(table: pd.DataFrame, settings: Settings) -> dict[str, pd.DataFrame]:
    if "quantity" not in table.columns or table.empty:
        return {}
    wide = table.pivot_table(
        index=["dataset", "imbalance", "method"], columns="quantity", values="value", aggfunc=["mean", "std", "count"]
    )
    out = pd.DataFrame(index=wide.index)
    for key, label in (
        ("test_balanced_accuracy", "all"),
        ("test_many_accuracy", "many"),
        ("test_medium_accuracy", "medium"),
        ("test_few_accuracy", "few"),
    ):
        # With one seed the std is undefined (nan), and pivot_table drops all-nan columns.
        out[f"{label}_mean"] = 100 * wide[("mean", key)] if ("mean", key) in wide.columns else np.nan
        out[f"{label}_std"] = 100 * wide[("std", key)] if ("std", key) in wide.columns else np.nan
    out["seeds"] = wide[("count", "test_balanced_accuracy")] if ("count", "test_balanced_accuracy") in wide else 0
    out = out.reset_index()
    for index, column in enumerate(PAPER_COLUMNS):
        out[column] = out["method"].map(lambda m, i=index: PAPER_TABLE1.get(m, (np.nan,) * 4)[i])
    out["paper_readme_cifar10_lt100"] = out["method"].map(lambda m: PAPER_README.get(m, (np.nan, np.nan))[0])
    out["paper_readme_cifar100_lt100"] = out["method"].map(lambda m: PAPER_README.get(m, (np.nan, np.nan))[1])
    order = {m: i for i, m in enumerate(_methods(settings))}
    out = out.sort_values(["dataset", "imbalance", "method"], key=lambda c: c.map(order) if c.name == "method" else c)
    return {"methods_summary": out.reset_index(drop=True)}

"""DRW switch epoch T0 against the balance of B_y(f) and the test balanced accuracy (wang23, Figure 3).

Wang et al. (wang23, insight In2): deferred re-weighting first trains the majority classes, then
weights up the minority ones, which balances the minimal target logits B_y(f) = min_{x in S_y}
f(x)_y (Lemma 4) between the two and sharpens the bound of Proposition 3. We train CE + DRW
(class-balanced weights, beta = 0.9999, from epoch T0) for a grid of T0 (T0 = 0 re-weights from the
start, like the CB loss; T0 = epochs never re-weights, CE + None), plus the CB loss, and record:

- per epoch: B_y(f) averaged over the majority and the minority classes (the ceil(C/3) largest and
  smallest classes) and the test balanced accuracy (Figure 3a, with B_y in place of training accuracy);
- at the end: minority / majority training accuracy (Figure 3b, Acc_min / Acc_max), the same ratio
  for B_y(f), and the test balanced accuracy (Figure 3c). Last-epoch values (no best-epoch selection).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from studies.runner import Run, StudyContext
from studies.training_runs import OneDataset, Optimisation, dataset, final_metrics, run_config, train_once

NAME = "drw_timing"
QUESTION = "Does the DRW switch epoch T0 balance B_y(f) between majority and minority classes (wang23, Fig. 3)?"
FIGURES = ("drw_timing",)


@dataclass(frozen=True)
class Settings(OneDataset, Optimisation):  # dataset, imbalance, epochs; model, hidden, lr, batch_size, lr_decays
    t0_fractions: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0)
    include_cb: bool = True
    seeds: tuple[int, ...] = (0, 1, 2)


QUICK = Settings(
    epochs=60, t0_fractions=(0.0, 0.4, 0.8, 1.0), model="mlp", lr=0.1, batch_size=64, lr_decays=(0.1, 0.01), seeds=(0,)
)
FULL = Settings()


def runs(settings: Settings) -> list[Run]:
    planned = []
    for seed in settings.seeds:
        for fraction in settings.t0_fractions:
            t0 = int(round(fraction * settings.epochs))
            planned.append(Run(f"ce_drw_T{t0:03d}_s{seed}", {"method": "ce_drw", "t0": t0, "seed": seed}))
        if settings.include_cb:
            planned.append(Run(f"cb_s{seed}", {"method": "cb", "t0": 0, "seed": seed}))
    return planned


def _groups(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-counts, kind="stable")
    size = max(1, math.ceil(counts.size / 3))
    return order[:size], order[-size:]


def execute(run: Run, settings: Settings, context: StudyContext) -> list[dict]:
    data = dataset(settings.dataset, settings.imbalance, run.params["seed"], data_root=context.data_root)
    config = run_config(settings, run.params["seed"], context.data_root)
    if run.params["method"] == "cb":
        config["method"] = "cb"
    else:
        t0 = run.params["t0"]
        config["method"] = "ce"
        config["loss_overrides"] = {"reweighting": "drw", "reweight_epoch": t0, "cb_beta": 0.9999}
        config["drw_epoch"] = t0
    trained = train_once(context.scratch(run.key), data=data, **config)
    counts = np.asarray(data.class_counts)
    majority, minority = _groups(counts)
    rows = []
    for metrics in trained.metrics:
        b_y = metrics.get("B_y")
        if not b_y or "train_loss" not in metrics:
            continue
        b_y = np.array([np.nan if v is None else v for v in b_y], dtype=np.float64)
        epoch = metrics["epoch"]
        rows.append({"quantity": "B_y_majority", "epoch": epoch, "value": float(np.nanmean(b_y[majority]))})
        rows.append({"quantity": "B_y_minority", "epoch": epoch, "value": float(np.nanmean(b_y[minority]))})
        accuracy = metrics.get("test_balanced_accuracy")
        rows.append(
            {
                "quantity": "test_balanced_accuracy",
                "epoch": epoch,
                "value": math.nan if accuracy is None else float(accuracy),
            }
        )
    final = final_metrics(trained)
    train_accuracy = _train_class_accuracy(trained.checkpoint, context)
    acc_major, acc_minor = float(np.mean(train_accuracy[majority])), float(np.mean(train_accuracy[minority]))
    b_y = np.array([np.nan if v is None else v for v in (final.get("B_y") or [np.nan] * counts.size)])
    rows += [
        {"quantity": "final_train_accuracy_majority", "value": acc_major},
        {"quantity": "final_train_accuracy_minority", "value": acc_minor},
        {"quantity": "final_acc_min_over_max", "value": acc_minor / acc_major if acc_major > 0 else math.nan},
        {"quantity": "final_B_y_majority", "value": float(np.nanmean(b_y[majority]))},
        {"quantity": "final_B_y_minority", "value": float(np.nanmean(b_y[minority]))},
        {"quantity": "final_test_balanced_accuracy", "value": float(final.get("test_balanced_accuracy") or math.nan)},
    ]
    return rows


def _train_class_accuracy(checkpoint, context: StudyContext) -> np.ndarray:
    """Per-class training accuracy of the final model (one inference pass over the training split)."""
    from studies.checkpoint_outputs import checkpoint_outputs

    outputs, _ = checkpoint_outputs(checkpoint, ("train",), context.data_root)
    train = outputs["train"]
    correct = (np.argmax(train.logits, axis=1) == train.labels).astype(np.float64)
    counts = np.bincount(train.labels, minlength=train.num_classes)
    return np.bincount(train.labels, weights=correct, minlength=train.num_classes) / np.maximum(counts, 1)

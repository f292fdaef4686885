"""Per-class metrics of the training loop in torch, on the training device: the twin of ``ltbounds.per_class``.

Same definitions as the NumPy originals (``ltbounds/per_class.py``), computed in float64 on the
tensors' device so that the loop's per-epoch metrics need no copy of the logits to the host:

- ``class_sizes``: n_y = |S_y|.
- ``class_means``: (1/n_y) sum_{i in S_y} v_i; NaN where S_y is empty.
- ``class_accuracy``: recall of argmax predictions (first maximiser on ties, as ``np.argmax``).
- ``logit_extremes``: B_y(f) = min_{x in S_y} f(x)_y and A_y(f) = max_{x in S_y, k != y} f(x)_k
  (wang23, Lemma 4 below eq. (15), Remark 2).
- ``class_margins``: margin_y = min_{x in S_y} (f(x)_y - max_{j != y} f(x)_j) (wang23, Remark 2).

A class with no sample gets NaN, never 0. ``predict`` and ``evaluate_model`` (the loop's per-epoch
metrics) live here, not in ``training.loop``, so that ``training.decoupling`` can use them without
importing the loop (which imports the decoupling stage).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from ltbounds.checks import InputError
from ltbounds.class_groups import class_groups

EVAL_BATCH = 1024

__all__ = [
    "EVAL_BATCH",
    "class_accuracy",
    "class_margins",
    "class_means",
    "class_sizes",
    "evaluate_model",
    "logit_extremes",
    "other_max_logits",
    "predict",
    "target_logits",
]


def class_sizes(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """n_y, int64 of shape (C,)."""
    return torch.bincount(labels, minlength=num_classes)


def class_means(values: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(1/n_y) sum_{i in S_y} values_i per class, float64; NaN where S_y is empty."""
    sizes = class_sizes(labels, num_classes)
    sums = torch.zeros(num_classes, dtype=torch.float64, device=labels.device)
    sums = sums.index_add(0, labels, values.double())
    return torch.where(sizes > 0, sums / sizes.clamp(min=1), torch.nan)


def _class_extreme(values: torch.Tensor, labels: torch.Tensor, num_classes: int, reduce: str) -> torch.Tensor:
    start = math.inf if reduce == "amin" else -math.inf
    out = torch.full((num_classes,), start, dtype=torch.float64, device=values.device)
    out = out.scatter_reduce(0, labels, values.double(), reduce=reduce)
    return torch.where(class_sizes(labels, num_classes) > 0, out, torch.nan)


def target_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """f(x_i)_{y_i} per sample, float64."""
    return logits.gather(1, labels[:, None]).squeeze(1).double()


def other_max_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """max_{j != y_i} f(x_i)_j per sample, float64 (needs C >= 2)."""
    if logits.shape[1] < 2:
        raise InputError("logits need at least 2 classes for the largest other logit")
    return logits.double().scatter(1, labels[:, None], -math.inf).amax(dim=1)


def class_accuracy(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Recall of argmax predictions per class (first maximiser on ties); NaN where S_y is empty."""
    correct = (logits.argmax(dim=1) == labels).double()
    return class_means(correct, labels, num_classes)


def logit_extremes(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B_y(f), A_y(f)) (wang23, Lemma 4, Remark 2), float64; NaN where S_y is empty."""
    lower = _class_extreme(target_logits(logits, labels), labels, num_classes, "amin")
    upper = _class_extreme(other_max_logits(logits, labels), labels, num_classes, "amax")
    return lower, upper


def class_margins(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """margin_y = min_{x in S_y} (f(x)_y - max_{j != y} f(x)_j) (wang23, Remark 2), float64; NaN where S_y is empty."""
    margins = target_logits(logits, labels) - other_max_logits(logits, labels)
    return _class_extreme(margins, labels, num_classes, "amin")


# --- the loop's per-epoch metrics ------------------------------------------------------------------


def _finite_list(values: torch.Tensor) -> list[float | None]:
    """JSON-safe: NaN (an empty class) becomes None."""
    return [float(v) if math.isfinite(v) else None for v in values.cpu().tolist()]


def _mean_or_none(values: np.ndarray) -> float | None:
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else None


@torch.no_grad()
def predict(
    model: nn.Module, x: torch.Tensor, autocast: Any = contextlib.nullcontext, batch_size: int = EVAL_BATCH
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and embeddings (float32) of ``x`` in eval mode, in batches."""
    was_training = model.training
    model.eval()
    logits, embeddings = [], []
    for start in range(0, x.shape[0], batch_size):
        with autocast():
            z = model.embed(x[start : start + batch_size])
            out = model.head(z)
        logits.append(out.float())
        embeddings.append(z.float())
    model.train(was_training)
    if not logits:
        return torch.empty(0, 0), torch.empty(0, 0)
    return torch.cat(logits), torch.cat(embeddings)


def evaluate_model(model: nn.Module, data: Any, autocast: Any = contextlib.nullcontext) -> dict[str, Any]:
    """Test/validation accuracies and the training-set B_y(f) and minimal margins (one metrics.jsonl line)."""
    num_classes = int(data.num_classes)
    out: dict[str, Any] = {}
    groups = class_groups(np.asarray(data.class_counts))
    for split_name in ("test", "val"):
        split = getattr(data, split_name)
        if len(split.y) == 0:
            out[f"{split_name}_balanced_accuracy"] = None
            continue
        logits, _ = predict(model, split.x, autocast)
        accuracy = class_accuracy(logits, split.y, num_classes).cpu().numpy()
        out[f"{split_name}_balanced_accuracy"] = _mean_or_none(accuracy)
        if split_name == "test":
            out["test_accuracy"] = float((logits.argmax(1) == split.y).double().mean())
            out["test_per_class_accuracy"] = _finite_list(torch.from_numpy(accuracy))
            for group in ("many", "medium", "few"):
                out[f"test_{group}_accuracy"] = _mean_or_none(accuracy[groups == group])
    logits, _ = predict(model, data.train.x, autocast)
    train_accuracy = class_accuracy(logits, data.train.y, num_classes).cpu().numpy()
    out["train_balanced_accuracy"] = _mean_or_none(train_accuracy)
    b_y, _ = logit_extremes(logits, data.train.y, num_classes)
    out["B_y"] = _finite_list(b_y)
    out["min_margin"] = _finite_list(class_margins(logits, data.train.y, num_classes))
    return out

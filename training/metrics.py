"""Per-class metrics of the training loop: per-sample values on the training device, per-class values in
``ltbounds.per_class``.

The (n, C) logits never leave the tensors' device: the per-sample quantities that read them are computed
there (in float64), and only those n values and the labels go to the host, where ``ltbounds.per_class``,
the one home of the per-class definitions (NaN for an empty class, never 0), reduces them:

- ``class_accuracy``: recall of argmax predictions (first maximiser on ties, as ``np.argmax``).
- ``logit_extremes``: B_y(f) = min_{x in S_y} f(x)_y and A_y(f) = max_{x in S_y, k != y} f(x)_k
  (wang23, Lemma 4 below eq. (15), Remark 2).
- ``class_margins``: margin_y = min_{x in S_y} (f(x)_y - max_{j != y} f(x)_j) (wang23, Remark 2).

Why not ``ltbounds.per_class`` on the whole logits: that would copy them to the host every epoch, (n, C)
float32 per split (about 460 MB for ImageNet-LT's training set), where n float64 values suffice. Why not one
implementation for NumPy and torch together: the array API that both speak has no scatter or segment
reduction (``np.bincount``/``ufunc.at``, ``index_add``/``scatter_reduce``), and those are the whole of the
per-class step. ``predict`` and ``evaluate_model`` (the loop's per-epoch metrics) live here, not in
``training.loop``, so that ``training.decoupling`` can use them without importing the loop (which imports
the decoupling stage).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from ltbounds import per_class
from ltbounds.checks import InputError
from ltbounds.class_groups import class_groups

EVAL_BATCH = 1024

__all__ = [
    "EVAL_BATCH",
    "class_accuracy",
    "class_margins",
    "evaluate_model",
    "logit_extremes",
    "other_max_logits",
    "predict",
    "target_logits",
]


def target_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """f(x_i)_{y_i} per sample, float64, on the logits' device."""
    return logits.gather(1, labels[:, None]).squeeze(1).double()


def other_max_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """max_{j != y_i} f(x_i)_j per sample, float64, on the logits' device (needs C >= 2)."""
    if logits.shape[1] < 2:
        raise InputError("logits need at least 2 classes for the largest other logit")
    return logits.double().scatter(1, labels[:, None], -math.inf).amax(dim=1)


def _on_host(values: torch.Tensor) -> np.ndarray:
    return values.detach().cpu().numpy()


def class_accuracy(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> np.ndarray:
    """Recall of argmax predictions per class (first maximiser on ties); NaN where S_y is empty."""
    correct = (logits.argmax(dim=1) == labels).double()
    return per_class.class_means(_on_host(correct), _on_host(labels), num_classes)


def logit_extremes(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(B_y(f), A_y(f)) (wang23, Lemma 4, Remark 2), float64; NaN where S_y is empty."""
    host_labels = _on_host(labels)
    lower = per_class.class_minimum(_on_host(target_logits(logits, labels)), host_labels, num_classes)
    upper = per_class.class_maximum(_on_host(other_max_logits(logits, labels)), host_labels, num_classes)
    return lower, upper


def class_margins(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> np.ndarray:
    """margin_y = min_{x in S_y} (f(x)_y - max_{j != y} f(x)_j) (wang23, Remark 2), float64; NaN where S_y is empty."""
    margins = target_logits(logits, labels) - other_max_logits(logits, labels)
    return per_class.class_minimum(_on_host(margins), _on_host(labels), num_classes)


# --- the loop's per-epoch metrics ------------------------------------------------------------------


def _finite_list(values: np.ndarray) -> list[float | None]:
    """JSON-safe: NaN (an empty class) becomes None."""
    return [float(v) if math.isfinite(v) else None for v in values.tolist()]


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
        accuracy = class_accuracy(logits, split.y, num_classes)
        out[f"{split_name}_balanced_accuracy"] = _mean_or_none(accuracy)
        if split_name == "test":
            out["test_accuracy"] = float((logits.argmax(1) == split.y).double().mean())
            out["test_per_class_accuracy"] = _finite_list(accuracy)
            for group in ("many", "medium", "few"):
                out[f"test_{group}_accuracy"] = _mean_or_none(accuracy[groups == group])
    logits, _ = predict(model, data.train.x, autocast)
    train_accuracy = class_accuracy(logits, data.train.y, num_classes)
    out["train_balanced_accuracy"] = _mean_or_none(train_accuracy)
    b_y, _ = logit_extremes(logits, data.train.y, num_classes)
    out["B_y"] = _finite_list(b_y)
    out["min_margin"] = _finite_list(class_margins(logits, data.train.y, num_classes))
    return out

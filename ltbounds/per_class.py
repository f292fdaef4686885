"""Per-class quantities of one split, in NumPy float64: the one home of each (issue 13).

Every function takes arrays (``labels`` int64 of shape (n,), ``logits`` (n, C), ``embeddings``
(n, d)) and ``num_classes``, and returns one value per class y in 0..C-1. A class with no sample
gets NaN (never a silent 0 or an average over the classes present). Inputs are checked by the
caller (``ltbounds.checks``); these are the reductions only.

Quantities and where the papers define them:

- ``class_sizes``: n_y = |S_y|.
- ``class_means``: (1/n_y) sum_{i in S_y} v_i, for any per-sample value v (a loss, a 0/1 correct);
  ``class_minimum`` and ``class_maximum`` likewise with min / max over S_y.
- ``class_accuracy``: recall of argmax predictions (first maximiser on ties).
- ``logit_extremes``: B_y(f) = min_{x in S_y} f(x)_y and A_y(f) = max_{x in S_y, k != y} f(x)_k
  (wang23, Lemma 4 below eq. (15), Remark 2).
- ``class_margins``: margin_y = min_{x in S_y} (f(x)_y - max_{j != y} f(x)_j) (wang23, Remark 2; tutorial,
  "Class-wise margin calibration").
- ``class_scatter``: tr Ĉ_y = (1/n_y) sum_{x in S_y} ||Phi(x) - mu_y||^2 (the empirical covariance with
  divisor n_y, as elm, App. C.1 defines it) and the centroid mu_y.
- ``effective_number``: E_n = (1 - beta^n) / (1 - beta) (tutorial, "loss re-weighting by effective number";
  Cui et al. 2019), and ``class_balanced_weights`` 1 / E_{n_y} normalised to sum to C (the CB loss's
  weights; ``ltbounds.losses`` and ``ltbounds.bounds.tutorial`` import both from here).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ltbounds.checks import InputError, check_class_counts

__all__ = [
    "class_accuracy",
    "class_balanced_weights",
    "class_margins",
    "class_maximum",
    "class_means",
    "class_members",
    "class_minimum",
    "class_scatter",
    "class_sizes",
    "effective_number",
    "logit_extremes",
    "other_max_logits",
    "target_logits",
]


def class_sizes(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """n_y, int64 of shape (C,)."""
    return np.bincount(labels, minlength=num_classes)


def class_members(labels: np.ndarray, num_classes: int) -> list[np.ndarray]:
    """For each class y, the indices of its samples in increasing order (one stable sort of the labels, not one
    mask over n per class): ``members[y]`` selects S_y."""
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate(([0], np.cumsum(class_sizes(labels, num_classes))))
    return [order[starts[y] : starts[y + 1]] for y in range(num_classes)]


def class_means(values: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(1/n_y) sum_{i in S_y} values_i per class; NaN where S_y is empty."""
    sizes = class_sizes(labels, num_classes)
    sums = np.bincount(labels, weights=np.asarray(values, dtype=np.float64), minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sizes > 0, sums / np.maximum(sizes, 1), np.nan)


def class_minimum(values: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """min_{i in S_y} values_i per class; NaN where S_y is empty."""
    return _class_extreme(values, labels, num_classes, np.minimum)


def class_maximum(values: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """max_{i in S_y} values_i per class; NaN where S_y is empty."""
    return _class_extreme(values, labels, num_classes, np.maximum)


def _class_extreme(values: np.ndarray, labels: np.ndarray, num_classes: int, reduce: np.ufunc) -> np.ndarray:
    start = math.inf if reduce is np.minimum else -math.inf
    out = np.full(num_classes, start)
    reduce.at(out, labels, np.asarray(values, dtype=np.float64))
    out[class_sizes(labels, num_classes) == 0] = np.nan
    return out


def target_logits(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """f(x_i)_{y_i} per sample."""
    return logits[np.arange(labels.shape[0]), labels].astype(np.float64)


def other_max_logits(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """max_{j != y_i} f(x_i)_j per sample (needs C >= 2)."""
    if logits.shape[1] < 2:
        raise InputError("logits need at least 2 classes for the largest other logit")
    masked = np.array(logits, dtype=np.float64, copy=True)
    masked[np.arange(labels.shape[0]), labels] = -np.inf
    return masked.max(axis=1)


def class_accuracy(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Recall of argmax predictions per class (first maximiser on ties); NaN where S_y is empty."""
    correct = (np.argmax(logits, axis=1) == labels).astype(np.float64)
    return class_means(correct, labels, num_classes)


def logit_extremes(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(B_y(f), A_y(f)): B_y = min_{x in S_y} f(x)_y, A_y = max_{x in S_y, k != y} f(x)_k (wang23, Lemma 4,
    Remark 2); NaN where S_y is empty."""
    lower = class_minimum(target_logits(logits, labels), labels, num_classes)
    upper = class_maximum(other_max_logits(logits, labels), labels, num_classes)
    return lower, upper


def class_margins(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """margin_y = min_{x in S_y} (f(x)_y - max_{j != y} f(x)_j) (wang23, Remark 2; tutorial, class-wise margin
    calibration); NaN where S_y is empty."""
    margins = target_logits(logits, labels) - other_max_logits(logits, labels)
    return class_minimum(margins, labels, num_classes)


def class_scatter(embeddings: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(tr Ĉ_y, mu_y): tr Ĉ_y = (1/n_y) sum_{x in S_y} ||Phi(x) - mu_y||^2 = sum_j hat V[Phi_j | y] (divisor
    n_y, elm App. C.1) and the centroids mu_y (C, d); NaN where S_y is empty."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    sizes = class_sizes(labels, num_classes).astype(np.float64)
    sums = np.zeros((num_classes, embeddings.shape[1]))
    np.add.at(sums, labels, embeddings)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroids = sums / sizes[:, None]
    deviations = embeddings - centroids[labels]
    trace = class_means(np.einsum("ij,ij->i", deviations, deviations), labels, num_classes)
    return trace, centroids


def effective_number(class_counts: Any, beta: float) -> np.ndarray:
    """E_n = (1 - beta^n) / (1 - beta) per class, for counts n >= 1 and beta in [0, 1] (E_n = n at the
    limit beta = 1, E_n = 1 at beta = 0). Source: tutorial, "loss re-weighting by effective number" (Cui et
    al. 2019; the class-balanced loss uses beta = 0.9999).

    Evaluated without cancellation as -expm1(n log beta) / (1 - beta) with log beta = log1p(beta - 1)
    (beta - 1 is exact for beta >= 1/2, Sterbenz), so beta = 0.9999 and n = 10^6 are exact to rounding.
    """
    counts = check_class_counts(class_counts).astype(np.float64)
    try:
        b = float(beta)
    except (TypeError, ValueError):
        raise InputError(f"beta must be a number in [0, 1], got {beta!r}; the CB paper uses 0.9999") from None
    if not 0.0 <= b <= 1.0:
        raise InputError(f"beta must lie in [0, 1], got {beta!r}; the CB paper uses 0.9999")
    if b == 1.0:
        return counts.copy()
    if b == 0.0:
        return np.ones_like(counts)
    log_beta = math.log1p(b - 1.0) if b >= 0.5 else math.log(b)
    return -np.expm1(counts * log_beta) / (1.0 - b)


def class_balanced_weights(class_counts: Any, beta: float = 0.9999) -> np.ndarray:
    """Class-balanced weights w_y = (1 - beta) / (1 - beta^{n_y}) = 1 / E_{n_y}, normalised to sum to C.

    Source: tutorial, slide "Class-Balanced Loss" (Cui et al. 2019); wang23, Sec. 2.1, alpha_y =
    (1 - p) / (1 - p^{N_y}). The sum-to-C normalisation is the reference LDAM-DRW code's (a balanced problem
    gets all-ones weights). beta = 0 gives all ones, beta = 1 the inverse-frequency weights (the limit
    E_n = n); beta in [0, 1] as ``effective_number`` checks. LDAM-DRW uses beta = 0.9999.
    """
    weights = 1.0 / effective_number(class_counts, beta)
    return weights * (weights.shape[0] / weights.sum())

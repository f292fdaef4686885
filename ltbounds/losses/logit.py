"""Losses on logits: cross-entropy, focal, class-balanced, the general margin loss and its instances
(LDAM, logit adjustment, balanced softmax, equalisation-style), the VS family (CDT, LA, VS, Fisher)
and post-hoc rules (logit adjustment, threshold moving).

Shapes: ``logits`` (n, C) float, ``labels`` (n,) int64. Per-class vectors (weights, margins, scales)
are tensors or arrays of length C. ``reduction`` is "mean" (plain batch mean (1/m) sum_i, as in wang23
Algorithm 1 line 9; NOT PyTorch's weight-normalised mean), "sum" or "none" (per-sample, shape (n,)).
Everything goes through log_softmax / logsumexp / softplus, never exp of raw logits, so |logits| up
to 1e4 stay finite in float32 and float64.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ltbounds.checks import InputError, check_positive
from ltbounds.losses import weights as W
from ltbounds.losses.inputs import (
    as_counts,
    check_choice,
    check_class_vector,
    check_counts_match,
    check_label_tensor,
    check_logits,
    reduce,
)


def _prepare(logits: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
    logits = check_logits(logits)
    labels = check_label_tensor(labels, logits.shape[1], logits.shape[0])
    return logits, labels


def _weights_or_none(weights: Any, logits: torch.Tensor) -> torch.Tensor | None:
    if weights is None:
        return None
    return check_class_vector(weights, logits.shape[1], "weights", logits)


def _counts_for(class_counts: Any, logits: torch.Tensor):
    counts = as_counts(class_counts)
    check_counts_match(counts, logits.shape[1])
    return counts


def cross_entropy(logits: Any, labels: Any, weights: Any = None, reduction: str = "mean") -> torch.Tensor:
    """Softmax cross-entropy w_y * (-log softmax(f)_y) = w_y log[1 + sum_{y'!=y} e^{f_y' - f_y}]
    [elm Sec. 2]. ``weights`` (C,) re-weights per class (inverse frequency, CB, DRW, ADRW vectors)."""
    logits, labels = _prepare(logits, labels)
    per_sample = -torch.log_softmax(logits, dim=1).gather(1, labels[:, None]).squeeze(1)
    weight = _weights_or_none(weights, logits)
    if weight is not None:
        per_sample = weight[labels] * per_sample
    return reduce(per_sample, reduction)


def focal_loss(
    logits: Any, labels: Any, gamma: float = 2.0, weights: Any = None, reduction: str = "mean"
) -> torch.Tensor:
    """Softmax focal loss -w_y (1 - p_y)^gamma log p_y, p = softmax(f) [tutorial "Focal loss"; Lin et al.
    2017, gamma = 2 their default]. gamma = 0 is cross-entropy. (1 - p_y) = -expm1(log p_y) keeps the
    modulator accurate when p_y is near 1."""
    logits, labels = _prepare(logits, labels)
    gamma = check_positive(gamma, "gamma", allow_zero=True)
    log_p = torch.log_softmax(logits, dim=1).gather(1, labels[:, None]).squeeze(1)
    one_minus_p = (-torch.expm1(log_p)).clamp_min(torch.finfo(logits.dtype).tiny)
    per_sample = -(one_minus_p**gamma) * log_p
    weight = _weights_or_none(weights, logits)
    if weight is not None:
        per_sample = weight[labels] * per_sample
    return reduce(per_sample, reduction)


CB_BASES = ("softmax", "sigmoid", "focal")


def class_balanced_loss(
    logits: Any,
    labels: Any,
    class_counts: Any,
    beta: float = 0.9999,
    base: str = "softmax",
    gamma: float = 2.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Class-balanced loss CB(p, y) = (1 - beta) / (1 - beta^{n_y}) L(p, y), weights normalised to sum
    to C [tutorial "Class-Balanced Loss"; Cui et al. 2019]. ``base``: "softmax" (L = softmax CE), "sigmoid"
    (L = sum_j binary CE of sigma(f_j) against 1[j = y]) or "focal" (L = sum_j sigmoid focal loss with
    ``gamma``, as in Cui et al.'s CB focal)."""
    logits, labels = _prepare(logits, labels)
    check_choice(base, CB_BASES, "base")
    counts = _counts_for(class_counts, logits)
    weight = torch.as_tensor(W.class_balanced_weights(counts, beta), dtype=logits.dtype, device=logits.device)
    if base == "softmax":
        per_sample = F.cross_entropy(logits, labels, reduction="none")
    else:
        # sign s = +1 for the true class, -1 otherwise: log p_t = -softplus(-s f), 1 - p_t = e^{-softplus(s f)}.
        sign = 2.0 * F.one_hot(labels, logits.shape[1]).to(logits.dtype) - 1.0
        per_class = F.softplus(-sign * logits)
        if base == "focal":
            gamma = check_positive(gamma, "gamma", allow_zero=True)
            per_class = torch.exp(-gamma * F.softplus(sign * logits)) * per_class
        per_sample = per_class.sum(dim=1)
    return reduce(weight[labels] * per_sample, reduction)


def margin_loss(logits: Any, labels: Any, margins: Any, weights: Any = None, reduction: str = "mean") -> torch.Tensor:
    """General logit-margin loss l_mar(y, f) = log[1 + sum_{y' != y} exp(Delta_{yy'} + f_y' - f_y)]
    [elm eq. (3)], for an arbitrary margin matrix ``margins`` = Delta (C, C) (the diagonal is ignored).
    Computed as logsumexp_j(f_j + Delta_{yj} [Delta_yy := 0]) - f_y. Optional per-class ``weights``."""
    logits, labels = _prepare(logits, labels)
    num_classes = logits.shape[1]
    delta = torch.as_tensor(margins, dtype=logits.dtype, device=logits.device)
    if delta.shape != (num_classes, num_classes):
        raise InputError(f"margins must be a ({num_classes}, {num_classes}) matrix Delta_yy', got {tuple(delta.shape)}")
    if not bool(torch.isfinite(delta).all()):
        raise InputError("margins contains non-finite values")
    row = delta[labels].scatter(1, labels[:, None], 0.0)
    per_sample = torch.logsumexp(logits + row, dim=1) - logits.gather(1, labels[:, None]).squeeze(1)
    weight = _weights_or_none(weights, logits)
    if weight is not None:
        per_sample = weight[labels] * per_sample
    return reduce(per_sample, reduction)


def ldam_loss(
    logits: Any, labels: Any, margins: Any, scale: float = 30.0, weights: Any = None, reduction: str = "mean"
) -> torch.Tensor:
    """LDAM: -log[e^{s(z_y - Delta_y)} / (e^{s(z_y - Delta_y)} + sum_{j != y} e^{s z_j})] [tutorial "LDAM";
    Cao et al. 2019], the margin subtracted from the target logit and then scaled by s = ``scale``
    (reference code: max_m = 0.5, s = 30). ``logits`` are the cosine logits of a normalised linear
    head (in [-1, 1]); ``margins`` = Delta (C,) from ``weights.ldam_margins``. Equals
    ``margin_loss(s * logits, labels, Delta_{yy'} = s Delta_y)``."""
    logits, labels = _prepare(logits, labels)
    scale = check_positive(scale, "scale")
    delta = check_class_vector(margins, logits.shape[1], "margins", logits)
    shifted = logits - F.one_hot(labels, logits.shape[1]).to(logits.dtype) * delta[labels][:, None]
    return cross_entropy(scale * shifted, labels, weights=weights, reduction=reduction)


def vector_scaling_loss(
    logits: Any, labels: Any, alpha: Any = None, beta: Any = None, delta: Any = None, reduction: str = "mean"
) -> torch.Tensor:
    """Vector-scaling loss L_VS = -alpha_y log softmax(beta * f + Delta)_y [wang23 eq. (3); Kini et al.
    2021]: per-class weights ``alpha``, multiplicative scales ``beta`` and additive offsets ``delta``
    (= Delta_y of eq. (3)), each (C,) or None for 1, 1, 0. Gradient: dL/df_j = alpha_y beta_j
    (p_j - 1[j = y]) with p = softmax(beta * f + Delta)."""
    logits, labels = _prepare(logits, labels)
    num_classes = logits.shape[1]
    adjusted = logits
    if beta is not None:
        adjusted = adjusted * check_class_vector(beta, num_classes, "beta", logits)
    if delta is not None:
        adjusted = adjusted + check_class_vector(delta, num_classes, "delta", logits)
    per_sample = -torch.log_softmax(adjusted, dim=1).gather(1, labels[:, None]).squeeze(1)
    if alpha is not None:
        per_sample = check_class_vector(alpha, num_classes, "alpha", logits)[labels] * per_sample
    return reduce(per_sample, reduction)


def logit_adjusted_loss(
    logits: Any, labels: Any, class_counts: Any, tau: float = 1.0, weights: Any = None, reduction: str = "mean"
) -> torch.Tensor:
    """Logit-adjusted softmax CE -log[e^{f_y + tau log pi_y} / sum_y' e^{f_y' + tau log pi_y'}]
    = log[1 + sum_{y'!=y} (pi_y'/pi_y)^tau e^{f_y' - f_y}] [tutorial "logit adjusted softmax cross-entropy";
    Menon et al. 2021]. pi from ``class_counts``."""
    logits, labels = _prepare(logits, labels)
    offsets = W.logit_adjustments(_counts_for(class_counts, logits), tau)
    adjusted = logits + torch.as_tensor(offsets, dtype=logits.dtype, device=logits.device)
    return cross_entropy(adjusted, labels, weights=weights, reduction=reduction)


def balanced_softmax_loss(logits: Any, labels: Any, class_counts: Any, reduction: str = "mean") -> torch.Tensor:
    """Balanced softmax -log[n_y e^{f_y} / sum_j n_j e^{f_j}] (Ren et al. 2020), computed from the raw
    counts; equals logit adjustment with tau = 1 and l_mar with Delta_{yy'} = log(P(y')/P(y)) [elm]."""
    logits, labels = _prepare(logits, labels)
    counts = _counts_for(class_counts, logits)
    log_counts = torch.log(torch.as_tensor(counts, dtype=logits.dtype, device=logits.device))
    shifted = logits + log_counts
    per_sample = torch.logsumexp(shifted, dim=1) - shifted.gather(1, labels[:, None]).squeeze(1)
    return reduce(per_sample, reduction)


def cdt_loss(
    logits: Any, labels: Any, class_counts: Any, gamma: float = 0.3, weights: Any = None, reduction: str = "mean"
) -> torch.Tensor:
    """Class-dependent temperatures: VS with beta_y = (N_y / N_1)^gamma, Delta = 0 [wang23 Sec. 2.1]."""
    logits, labels = _prepare(logits, labels)
    beta = W.cdt_scales(_counts_for(class_counts, logits), gamma)
    return vector_scaling_loss(logits, labels, alpha=weights, beta=beta, reduction=reduction)


def fisher_loss(
    logits: Any,
    labels: Any,
    class_counts: Any,
    delta: Any = None,
    delta_power: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Fisher-consistent family (delta_y / pi_y) log[1 + sum_{y'!=y} (delta_y'/delta_y) e^{f_y' - f_y}]
    [wang23 eq. (4); tutorial Theorem 1: weights alpha_y = delta_y/P(y), margins Delta_yy' = log(delta_y'/delta_y)].
    Any delta > 0 is Fisher consistent for the balanced error: the conditional-risk minimiser ranks
    classes by eta_y / pi_y. ``delta`` (C,) or pi^delta_power (1: LA, 0: balanced loss)."""
    logits, labels = _prepare(logits, labels)
    counts = _counts_for(class_counts, logits)
    alpha, log_delta = W.fisher_parameters(counts, delta, delta_power)
    log_delta_t = torch.as_tensor(log_delta, dtype=logits.dtype, device=logits.device)
    alpha_t = torch.as_tensor(alpha, dtype=logits.dtype, device=logits.device)
    # log[1 + sum_{y'!=y} e^{log d_y' - log d_y + f_y' - f_y}] = lse_j(f_j + log d_j) - (f_y + log d_y)
    shifted = logits + log_delta_t
    per_sample = torch.logsumexp(shifted, dim=1) - shifted.gather(1, labels[:, None]).squeeze(1)
    return reduce(alpha_t[labels] * per_sample, reduction)


def posthoc_logit_adjusted_predict(logits: Any, class_counts: Any, tau: float = 1.0) -> torch.Tensor:
    """Post-hoc logit adjustment argmax_y f_y(x) - tau log pi_y [tutorial "Post-hoc logit adjustment"].
    Returns int64 predictions (n,). Ties go to the lowest class index (torch.argmax)."""
    logits = check_logits(logits)
    offsets = W.logit_adjustments(_counts_for(class_counts, logits), tau)
    return torch.argmax(logits - torch.as_tensor(offsets, dtype=logits.dtype, device=logits.device), dim=1)


def threshold_moving_predict(logits: Any, costs: Any) -> torch.Tensor:
    """Threshold moving: argmax_k p_k * sum_k' C[k][k'] with p = softmax(logits) [tutorial "Threshold-Moving",
    the moving function p^_k = p_k sum_k' C[k][k'] / eta]. ``costs`` is the (C, C) cost matrix C[k][k']
    or its row sums (C,), all > 0. Evaluated as argmax log_softmax(f)_k + log cost_k (same argmax, no
    underflow). With costs e^{-tau log pi_k} it is post-hoc logit adjustment [tutorial]."""
    logits = check_logits(logits)
    cost = torch.as_tensor(costs, dtype=logits.dtype, device=logits.device)
    num_classes = logits.shape[1]
    if cost.shape == (num_classes, num_classes):
        cost = cost.sum(dim=1)
    if cost.shape != (num_classes,) or not bool(torch.isfinite(cost).all()) or bool((cost <= 0).any()):
        raise InputError(
            f"costs must be a positive finite ({num_classes},) vector or ({num_classes}, {num_classes}) matrix"
        )
    return torch.argmax(torch.log_softmax(logits, dim=1) + torch.log(cost), dim=1)

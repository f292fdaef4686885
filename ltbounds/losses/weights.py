"""Per-class parameters derived from ``class_counts``: re-weighting vectors, margins, scales, offsets.

All functions take the training counts n_y (index = class id) and return float64 NumPy vectors of
length C; the loss modules cast them to the logits' dtype and device. Weight vectors are normalised
to sum to C (so a balanced problem gets all-ones weights), as the reference LDAM-DRW and wang23 code
does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ltbounds.checks import InputError, check_positive
from ltbounds.losses.inputs import as_counts, priors

# One home for the effective number and the CB weights (issue 13): the NumPy per-class module; re-exported here
# because the losses' re-weighting schedules (cb, drw) use them.
from ltbounds.per_class import class_balanced_weights, effective_number  # noqa: F401


def _normalise_to_num_classes(weights: np.ndarray) -> np.ndarray:
    return weights * (weights.shape[0] / weights.sum())


def inverse_frequency_weights(class_counts: Any) -> np.ndarray:
    """Inverse-frequency weights w_y proportional to 1 / pi_y, normalised to sum to C (the balanced loss,
    wang23 Sec. 2.1 alpha_y = pi_y^{-1} up to the constant)."""
    return _normalise_to_num_classes(1.0 / priors(class_counts))


def adrw_weights(class_counts: Any, nu: float = 0.5) -> np.ndarray:
    """Aligned DRW weights alpha_y proportional to pi_y^{-nu}, nu > 0, normalised to sum to C [wang23,
    Sec. 3.3 and Algorithm 1 line 7]. nu = 1 is inverse frequency; nu = 1/2 aligns alpha_y with the
    sqrt(pi_y) factor of wang23 Proposition 3 (our default; the paper tunes nu)."""
    nu = check_positive(nu, "nu")
    return _normalise_to_num_classes(np.exp(-nu * np.log(priors(class_counts))))


REWEIGHTING = ("none", "inverse", "cb", "drw", "adrw")


def reweighting_weights(
    class_counts: Any, reweighting: str, epoch: int, reweight_epoch: int = 160, cb_beta: float = 0.9999, nu: float = 0.5
) -> np.ndarray:
    """The weight vector alpha at ``epoch`` under a schedule [wang23, Algorithm 1 and its reference code]:

    - ``none``: alpha = 1;  ``inverse``: 1/pi (normalised) from the start;  ``cb``: CB weights (cb_beta)
      from the start;
    - ``drw`` (deferred re-weighting, Cao et al.): alpha = 1 before ``reweight_epoch`` = T0, CB weights
      with ``cb_beta`` from epoch T0 on (the reference code's DRW uses beta = 0.9999, not 1/n);
    - ``adrw``: alpha = 1 before T0, ``adrw_weights(nu)`` from T0 on.
    """
    if reweighting not in REWEIGHTING:
        raise InputError(f"reweighting must be one of {REWEIGHTING}, got {reweighting!r}")
    counts = as_counts(class_counts)
    ones = np.ones(counts.shape[0], dtype=np.float64)
    if reweighting == "none":
        return ones
    if reweighting == "inverse":
        return inverse_frequency_weights(counts)
    if reweighting == "cb":
        return class_balanced_weights(counts, cb_beta)
    if epoch < reweight_epoch:
        return ones
    if reweighting == "drw":
        return class_balanced_weights(counts, cb_beta)
    return adrw_weights(counts, nu)


def ldam_margins(class_counts: Any, max_margin: float = 0.5) -> np.ndarray:
    """LDAM margins Delta_y = K / n_y^{1/4} with K chosen so the largest margin is ``max_margin``
    [tutorial "LDAM"; Cao et al. 2019; reference code max_m = 0.5]."""
    max_margin = check_positive(max_margin, "max_margin", allow_zero=True)
    raw = as_counts(class_counts).astype(np.float64) ** -0.25
    return raw * (max_margin / raw.max())


def logit_adjustments(class_counts: Any, tau: float = 1.0) -> np.ndarray:
    """Additive logit offsets Delta_y = tau log pi_y [tutorial "logit adjusted softmax cross-entropy";
    wang23 Sec. 2.1 LA]."""
    tau = check_positive(tau, "tau", allow_zero=True)
    return tau * np.log(priors(class_counts))


def cdt_scales(class_counts: Any, gamma: float = 0.3) -> np.ndarray:
    """Multiplicative logit scales beta_y = (N_y / N_1)^gamma with N_1 the largest count [wang23 Sec. 2.1
    CDT; Kini et al.'s logits / Delta_y with Delta_y = (n_max / n_y)^gamma]. Values in (0, 1]."""
    gamma = check_positive(gamma, "gamma", allow_zero=True)
    counts = as_counts(class_counts).astype(np.float64)
    return (counts / counts.max()) ** gamma


def vs_scales_and_offsets(class_counts: Any, gamma: float = 0.3, tau: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(beta, Delta) of the VS loss of Kini et al. [wang23 eq. (3)]: beta = CDT scales with ``gamma``,
    Delta = tau log pi. gamma = 0 gives LA, tau = 0 gives CDT. Defaults 0.3 / 1.0 are the defaults of
    Kini et al.'s public code."""
    return cdt_scales(class_counts, gamma), logit_adjustments(class_counts, tau)


def logit_adjusted_margins(class_counts: Any, tau: float = 1.0) -> np.ndarray:
    """Pairwise margins Delta_{yy'} = tau log(P(y') / P(y)) (C, C) [elm eq. (3), the choice ELM uses]."""
    log_prior = np.log(priors(class_counts))
    return float(tau) * (log_prior[None, :] - log_prior[:, None])


def equalization_margins(class_counts: Any) -> np.ndarray:
    """Pairwise margins Delta_{yy'} = P(y') (C, C) [elm eq. (3), after Tan et al. 2020]."""
    prior = priors(class_counts)
    return np.broadcast_to(prior[None, :], (prior.shape[0], prior.shape[0])).copy()


def fisher_parameters(class_counts: Any, delta: Any = None, delta_power: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, Delta) putting the Fisher family [wang23 eq. (4); tutorial Theorem 1] into VS form:
    alpha_y = delta_y / pi_y and Delta_y = log delta_y, beta = 1. ``delta`` defaults to pi^delta_power
    (delta_power = 1: logit adjustment; 0: the balanced loss)."""
    prior = priors(class_counts)
    if delta is None:
        delta_vector = prior ** float(delta_power)
    else:
        delta_vector = np.asarray(delta, dtype=np.float64)
        if delta_vector.shape != prior.shape or not np.all(np.isfinite(delta_vector)) or np.any(delta_vector <= 0):
            raise InputError(f"delta must be {prior.shape[0]} finite positive numbers, got {delta!r}")
    return delta_vector / prior, np.log(delta_vector)


def elm_alpha(class_counts: Any, exponent: float = 1.0, scale: float = 1.0, base: str = "count") -> np.ndarray:
    """ELM pull margins alpha_y = scale * b_y^a with b_y = n_y (base "count") or P(y) (base "prior")
    [elm Sec. 3.1 alpha_y proportional to P(y)^a, App. A.2]. App. A.2 settings: CIFAR10-LT prior/a=1/1;
    CIFAR100-LT and iNaturalist count/a=1/2; ImageNet-LT prior/a=1/2/scale 10; "alpha_y = n_y with
    lambda = 0.01 appears to offer good performance across many datasets" (our default)."""
    if base not in ("count", "prior"):
        raise InputError(f"alpha_base must be 'count' or 'prior', got {base!r}")
    scale = check_positive(scale, "alpha_scale")
    exponent = float(exponent)
    values = as_counts(class_counts).astype(np.float64) if base == "count" else priors(class_counts)
    return scale * values**exponent


RADIUS_MODES = ("shared", "inv_sqrt_n", "learned")


def dro_lt_radii(class_counts: Any, epsilon: float = 1.0, mode: str = "shared") -> np.ndarray:
    """DRO-LT radii eps_c [drolt Sec. 6]: ``shared`` eps for all classes; ``inv_sqrt_n`` eps / sqrt(n_c)
    (the standard error of the mean decays as 1/sqrt(n)); ``learned`` starts from the shared eps."""
    if mode not in RADIUS_MODES:
        raise InputError(f"radius must be one of {RADIUS_MODES}, got {mode!r}")
    epsilon = check_positive(epsilon, "epsilon", allow_zero=True)
    counts = as_counts(class_counts).astype(np.float64)
    if mode == "inv_sqrt_n":
        return epsilon / np.sqrt(counts)
    return np.full(counts.shape[0], epsilon)


def threshold_moving_costs(class_counts: Any, tau: float = 1.0) -> np.ndarray:
    """Per-class misclassification cost sums sum_k' C[k][k'] = exp(-tau log pi_k) = pi_k^{-tau}
    [tutorial "Threshold-Moving"]: with these, threshold moving recovers post-hoc logit adjustment."""
    return np.exp(-float(tau) * np.log(priors(class_counts)))

"""Seed 002 (Yao, tutorial slides *Trustworthy Machine Learning on Imbalance Data*): five statements.

How each printed statement was read from the machine-extracted slides (002_ab9b960c3583d1f5.txt):

- ``tutorial.fisher_consistency`` (slide "An remarkable point on the statistical consistency",
  Theorem 1, after Menon et al. 2021): the pairwise loss
  ``l(y, f) = alpha_y log[1 + sum_{y' != y} exp(Delta_{yy'}) exp(f_{y'} - f_y)]`` with
  ``alpha_y = delta_y / P(y)`` and ``Delta_{yy'} = log(delta_{y'} / delta_y)``, ``delta in R_{>0}^L``,
  is Fisher consistent for the balanced error ``BER(f) = 1/L sum_y P_{x|y}(y not in argmax f(x))``:
  every minimiser of the conditional risk ``sum_y eta_y(x) l(y, f)`` predicts
  ``argmax_y eta_y(x) / P(y)``, the Bayes-optimal balanced classifier.
- ``tutorial.threshold_moving`` (slide "Threshold-Moving"): ``p^_k = p_k sum_{k'} C[k][k'] / eta``
  with ``p = softmax(z)`` and row cost sums ``exp(-tau log pi_k)`` has the same argmax as post-hoc
  logit adjustment ``z_k - tau log pi_k``; the costs decrease in ``pi_k`` (for tau > 0).
- ``tutorial.ldam_optimal_margins`` (slide "Class-wise margin calibration"): minimising
  ``1/(gamma_1 sqrt(n_1)) + 1/(gamma_2 sqrt(n_2))`` subject to ``gamma_1 + gamma_2 = gamma`` gives
  ``gamma_j = C / n_j^{1/4}``.
- ``tutorial.effective_number`` (slide "loss re-weighting by effective number"):
  ``E_n = (1 - beta^n) / (1 - beta)``, ``beta = (N - 1)/N``, ``lim_{beta -> 1} E_n = n``, and the
  class-balanced weight ``1 / E_{n_y} = (1 - beta) / (1 - beta^{n_y})``.
- ``tutorial.etf`` (slides "The special constant classifier geometry" and "Dot-Regression Loss"):
  ``M = sqrt(K/(K-1)) U (I_K - 1_K 1_K^T / K)`` has ``m_i^T m_j = K/(K-1) delta_ij - 1/(K-1)``;
  ``L_DR(h, W*) = (w_c^T h - sqrt(E_W E_H))^2 / (2 sqrt(E_W E_H))`` has gradient
  ``dL_DR/dh = -(1 - cos(h, w_c)) w_c``. The slide leaves ``U`` undefined (it needs
  ``U^T U = I_K``) and states the gradient without the norm condition it needs;
  ``tutorial.etf_corrected`` states both conditions (see ``ltbounds.errata.tutorial``).

All maths is float64 NumPy/SciPy. The SymPy derivations (``*_symbolic``) import SymPy lazily.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax

from ltbounds.bounds.result import Assumption, BoundResult, EvaluationSplits, Statement
from ltbounds.checks import InputError, check_class_counts, check_finite, check_labels, check_matrix

__all__ = [
    "balanced_bayes_scores",
    "balanced_error_rate",
    "class_balanced_weights",
    "class_margins",
    "dot_regression_gradient",
    "dot_regression_gradient_printed",
    "dot_regression_loss",
    "effective_number",
    "effective_number_symbolic",
    "etf_gram_printed",
    "etf_gram_symbolic",
    "fisher_binary_symbolic",
    "fisher_consistent_parameters",
    "fisher_pairwise_loss",
    "fisher_conditional_risk",
    "ldam_margin_objective",
    "ldam_margins_symbolic",
    "ldam_optimal_margins",
    "logit_adjustment_costs",
    "minimise_conditional_risk",
    "post_hoc_logit_adjustment",
    "simplex_etf",
    "threshold_moving_agreement",
    "threshold_moving_scores",
]

# Training methods whose softmax estimates the *training* posterior P(y | x) (plain, unadjusted
# likelihood), the premise of post-hoc logit adjustment.
_UNADJUSTED_METHODS = frozenset({"ce", "erm", "cross_entropy", "softmax", "focal"})


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------


def _check_distribution(
    values: Any, name: str, length: int | None = None, strictly_positive: bool = True
) -> np.ndarray:
    """A finite 1-D probability vector (renormalised to sum to 1)."""
    vector = np.asarray(check_finite(values, name), dtype=np.float64)
    if vector.ndim != 1 or vector.size == 0:
        raise InputError(f"{name} must be a non-empty 1-D vector of probabilities, got shape {vector.shape}")
    if length is not None and vector.shape[0] != length:
        raise InputError(f"{name} has {vector.shape[0]} entries but {length} classes were given")
    if strictly_positive and np.any(vector <= 0):
        raise InputError(f"{name} must be strictly positive (every class needs mass), got min {vector.min()}")
    if np.any(vector < 0):
        raise InputError(f"{name} must be non-negative, got min {vector.min()}")
    total = vector.sum()
    if total <= 0:
        raise InputError(f"{name} must have positive total mass")
    return vector / total


def _check_positive_vector(values: Any, name: str, length: int | None = None) -> np.ndarray:
    vector = np.asarray(check_finite(values, name), dtype=np.float64).reshape(-1)
    if vector.size == 0 or np.any(vector <= 0):
        raise InputError(f"{name} must be a non-empty vector of strictly positive numbers")
    if length is not None and vector.shape[0] != length:
        raise InputError(f"{name} has {vector.shape[0]} entries but {length} classes were given")
    return vector


def _check_tau(tau: float) -> float:
    try:
        value = float(tau)
    except (TypeError, ValueError) as error:
        raise InputError(f"tau must be a finite number, got {tau!r}") from error
    if not math.isfinite(value):
        raise InputError(f"tau must be a finite number, got {tau!r}")
    return value


# ---------------------------------------------------------------------------------------------
# tutorial.fisher_consistency
# ---------------------------------------------------------------------------------------------


def fisher_consistent_parameters(priors: Any, delta_weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """Weights and margins of Theorem 1: ``alpha_y = delta_y / P(y)``, ``Delta_{yy'} = log(delta_{y'} / delta_y)``.

    Source: 002, slide "statistical consistency of long-tailed multi-class classification",
    Theorem 1 (Menon et al. 2021). ``priors``: P(y) (renormalised), ``delta_weights``: any strictly
    positive vector (``delta = pi`` gives logit adjustment, ``delta = 1`` the balanced loss).
    Returns ``alpha`` (L,) and the margin matrix ``Delta`` (L, L) with zero diagonal.
    """
    pi = _check_distribution(priors, "priors")
    delta = _check_positive_vector(delta_weights, "delta_weights", length=pi.shape[0])
    alpha = delta / pi
    log_delta = np.log(delta)
    margins = log_delta[None, :] - log_delta[:, None]
    return alpha, margins


def _check_pairwise(alpha: Any, margins: Any, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    alpha = _check_positive_vector(alpha, "alpha", length=num_classes)
    margins = check_matrix(margins, "margins", rows=num_classes, columns=num_classes)
    if np.any(np.diag(margins) != 0):
        raise InputError("margins must have a zero diagonal (Delta_yy = 0: the true class has no margin)")
    return alpha, margins


def fisher_pairwise_loss(logits: Any, labels: Any, alpha: Any, margins: Any) -> np.ndarray:
    """Per-sample pairwise loss (11): ``alpha_y log[1 + sum_{y' != y} e^{Delta_{yy'}} e^{f_{y'} - f_y}]``.

    Source: 002, Theorem 1's loss (Menon et al. 2021, eq. 11). Computed stably as
    ``alpha_y logsumexp_{y'}(Delta_{yy'} + f_{y'} - f_y)`` (the ``y' = y`` term is the 1, since
    ``Delta_yy = 0``). ``logits`` (n, L), ``labels`` (n,), ``alpha`` (L,), ``margins`` (L, L).
    """
    scores = check_matrix(logits, "logits")
    num_classes = scores.shape[1]
    targets = check_labels(labels, num_classes, "labels", length=scores.shape[0])
    alpha, margins = _check_pairwise(alpha, margins, num_classes)
    rows = np.arange(scores.shape[0])
    shifted = margins[targets] + scores - scores[rows, targets][:, None]
    return alpha[targets] * logsumexp(shifted, axis=1)


def fisher_conditional_risk(scores: Any, eta: Any, alpha: Any, margins: Any) -> tuple[float, np.ndarray]:
    """Conditional risk ``sum_y eta_y l(y, f)`` of the pairwise loss at one point, and its gradient in ``f``.

    ``l(y, f) = alpha_y [logsumexp_{y'}(Delta_{yy'} + f_{y'}) - f_y]``, so the gradient is
    ``sum_y eta_y alpha_y softmax(Delta_{y,:} + f) - eta * alpha``. Source: 002, Theorem 1.
    """
    f = np.asarray(check_finite(scores, "scores"), dtype=np.float64).reshape(-1)
    num_classes = f.shape[0]
    eta = _check_distribution(eta, "eta", length=num_classes, strictly_positive=False)
    alpha, margins = _check_pairwise(alpha, margins, num_classes)
    return _conditional_risk(f, eta * alpha, margins)


def _conditional_risk(f: np.ndarray, weight: np.ndarray, margins: np.ndarray) -> tuple[float, np.ndarray]:
    # weight = eta * alpha; inputs already validated (called once per optimiser step)
    shifted = margins + f[None, :]
    top = shifted.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted - top)
    totals = exponentials.sum(axis=1)
    risk = float(weight @ (np.log(totals) + top[:, 0] - f))
    gradient = weight @ (exponentials / totals[:, None]) - weight
    return risk, gradient


def minimise_conditional_risk(eta: Any, alpha: Any, margins: Any) -> np.ndarray:
    """Numerical minimiser ``f*`` of the conditional risk (SciPy L-BFGS-B on the convex risk, sum(f) = 0 gauge).

    Source: 002, Theorem 1 (checked numerically). The risk is invariant to adding a constant to ``f``;
    the returned minimiser is centred. Classes with ``eta_y = 0`` have ``f*_y -> -inf``: the optimiser
    stops at a large negative value, which leaves the argmax unaffected.
    """
    eta = _check_distribution(eta, "eta", strictly_positive=False)
    num_classes = eta.shape[0]
    alpha, margins = _check_pairwise(alpha, margins, num_classes)

    weight = eta * alpha

    def objective(f: np.ndarray) -> tuple[float, np.ndarray]:
        return _conditional_risk(f, weight, margins)

    start = np.zeros(num_classes)
    result = minimize(objective, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
    return result.x - result.x.mean()


def balanced_bayes_scores(eta: Any, priors: Any) -> np.ndarray:
    """Scores of the Bayes-optimal balanced classifier: ``log eta_y - log P(y)`` (argmax = argmax eta_y / P(y)).

    Source: 002, slide "Class-wise logit adjustment" (``argmax P^bal(y|x) = argmax s*_y(x) - ln P(y)``).
    Also the closed-form minimiser of Theorem 1's conditional risk up to a constant (for eta > 0):
    ``l(y, f) = alpha_y CE(f + log delta, y)``, whose weighted risk is minimised at
    ``softmax(f + log delta) ∝ eta delta / pi``.
    """
    eta_values = np.asarray(check_finite(eta, "eta"), dtype=np.float64)
    pi = _check_distribution(priors, "priors")
    if eta_values.shape[-1] != pi.shape[0] or np.any(eta_values < 0):
        raise InputError(f"eta must be non-negative with last axis of length {pi.shape[0]} (one entry per class)")
    with np.errstate(divide="ignore"):
        return np.log(eta_values) - np.log(pi)


def balanced_error_rate(scores: Any, labels: Any, num_classes: int | None = None, ties: str = "printed") -> float:
    """``BER(f) = 1/L sum_y P_{x|y}(y not in argmax_{y'} f_{y'}(x))``, averaged over the classes present.

    Source: 002, slide "Class-wise logit adjustment". ``ties="printed"``: as printed, a sample is an
    error only when its label is *not among* the maximisers (exact ties count as correct, so constant
    scores score 0). ``ties="first"``: the prediction is the first maximiser (``np.argmax``), as
    accuracy is usually reported. Classes with no sample in ``labels`` are left out of the average.
    """
    if ties not in ("printed", "first"):
        raise InputError(f"ties must be 'printed' or 'first', got {ties!r}")
    values = check_matrix(scores, "scores")
    classes = values.shape[1] if num_classes is None else int(num_classes)
    targets = check_labels(labels, classes, "labels", length=values.shape[0])
    if targets.size == 0:
        raise InputError("labels is empty: the balanced error needs at least one sample")
    rows = np.arange(values.shape[0])
    if ties == "printed":
        errors = values[rows, targets] < values.max(axis=1)
    else:
        errors = np.argmax(values, axis=1) != targets
    per_class_samples = np.bincount(targets, minlength=classes)
    per_class_errors = np.bincount(targets, weights=errors.astype(np.float64), minlength=classes)
    present = per_class_samples > 0
    return float(np.mean(per_class_errors[present] / per_class_samples[present]))


# ---------------------------------------------------------------------------------------------
# tutorial.threshold_moving
# ---------------------------------------------------------------------------------------------


def logit_adjustment_costs(priors: Any, tau: float = 1.0) -> np.ndarray:
    """Row cost sums of threshold moving that recover logit adjustment: ``sum_k' C[k][k'] = exp(-tau log pi_k)``.

    Source: 002, slide "Threshold-Moving". Equals ``pi_k^{-tau}``: decreasing in ``pi_k`` for tau > 0
    (majority classes cost less), constant for tau = 0.
    """
    pi = _check_distribution(priors, "priors")
    with np.errstate(over="ignore"):
        costs = np.exp(-_check_tau(tau) * np.log(pi))
    if not np.all(np.isfinite(costs)):
        raise InputError(f"tau={tau} overflows exp(-tau log pi): use |tau| * |log pi_min| < 700")
    return costs


def threshold_moving_scores(logits: Any, cost_sums: Any) -> np.ndarray:
    """Threshold-moved probabilities ``p^_k = p_k sum_k' C[k][k'] / eta`` with ``p = softmax(z)``.

    Source: 002, slide "Threshold-Moving" (moving function). ``eta`` renormalises each row to sum to 1.
    Computed as printed, in the probability domain (softmax with the max subtracted for stability).
    """
    z = check_matrix(logits, "logits")
    costs = _check_positive_vector(cost_sums, "cost_sums", length=z.shape[1])
    moved = softmax(z, axis=1) * costs[None, :]
    return moved / moved.sum(axis=1, keepdims=True)


def post_hoc_logit_adjustment(logits: Any, priors: Any, tau: float = 1.0) -> np.ndarray:
    """Post-hoc logit adjustment scores ``f_y(x) - tau log pi_y`` (argmax = argmax ``exp(f_y)/pi_y^tau``).

    Source: 002, slide "Post-hoc logit adjustment".
    """
    z = check_matrix(logits, "logits")
    pi = _check_distribution(priors, "priors", length=z.shape[1])
    return z - _check_tau(tau) * np.log(pi)[None, :]


def threshold_moving_agreement(logits: Any, priors: Any, tau: float = 1.0) -> tuple[float, np.ndarray]:
    """Fraction of samples on which threshold moving (costs ``exp(-tau log pi)``) and post-hoc LA agree.

    Source: 002, slide "Threshold-Moving" (the claim that it recovers logit adjustment). Tie-aware:
    the rules agree on a sample when each rule's choice is a maximiser of the other rule's scores up
    to the rounding of float64 (absolute ``64 eps max(1, |z|, |tau log pi|)`` on the log scale), so
    exact ties and ties created by rounding are both agreement. Returns (fraction, per-sample flags).
    """
    z = check_matrix(logits, "logits")
    pi = _check_distribution(priors, "priors", length=z.shape[1])
    if z.shape[0] == 0:
        raise InputError("logits has no rows: agreement needs at least one sample")
    moved = threshold_moving_scores(z, logit_adjustment_costs(pi, tau))
    adjusted = post_hoc_logit_adjustment(z, pi, tau)
    rows = np.arange(z.shape[0])
    choice_moved = np.argmax(moved, axis=1)
    choice_adjusted = np.argmax(adjusted, axis=1)
    scale = max(1.0, float(np.abs(z).max()), float(np.abs(tau * np.log(pi)).max()))
    tolerance = 64 * np.finfo(np.float64).eps * scale
    adjusted_ok = adjusted[rows, choice_moved] >= adjusted.max(axis=1) - tolerance
    moved_ok = moved[rows, choice_adjusted] >= moved.max(axis=1) * math.exp(-tolerance)
    agree = (choice_moved == choice_adjusted) | (adjusted_ok & moved_ok)
    return float(agree.mean()), agree


# ---------------------------------------------------------------------------------------------
# tutorial.ldam_optimal_margins
# ---------------------------------------------------------------------------------------------


def ldam_margin_objective(margins: Any, class_counts: Any) -> float:
    """LDAM's margin trade-off ``sum_j 1 / (gamma_j sqrt(n_j))`` (the two-class form, summed over classes).

    Source: 002, slide "Class-wise margin calibration" (Cao et al. 2019). Needs every margin > 0.
    """
    counts = check_class_counts(class_counts)
    gamma = _check_positive_vector(margins, "margins", length=counts.shape[0])
    return float(np.sum(1.0 / (gamma * np.sqrt(counts))))


def ldam_optimal_margins(class_counts: Any, total: float | None = None, max_margin: float | None = None) -> np.ndarray:
    """Minimiser of ``sum_j 1/(gamma_j sqrt(n_j))`` subject to ``sum_j gamma_j = total``: ``gamma_j ∝ n_j^{-1/4}``.

    Source: 002, slide "Class-wise margin calibration": ``gamma_j = C / n_j^{1/4}``. Give either
    ``total`` (the constraint ``sum gamma_j = gamma``) or ``max_margin`` (LDAM's code: the rarest class
    gets ``max_m``, e.g. 0.5); default ``max_margin = 0.5``. Lagrange: ``gamma_j^2 sqrt(n_j)`` is equal
    across classes, so the stationary point is unique and (the objective being convex) the minimum.
    """
    counts = check_class_counts(class_counts).astype(np.float64)
    shape = counts**-0.25
    if total is not None and max_margin is not None:
        raise InputError("give either total or max_margin, not both")
    if total is not None:
        if not (math.isfinite(float(total)) and float(total) > 0):
            raise InputError(f"total must be a positive finite margin budget, got {total!r}")
        return float(total) * shape / shape.sum()
    scale = 0.5 if max_margin is None else float(max_margin)
    if not (math.isfinite(scale) and scale > 0):
        raise InputError(f"max_margin must be positive and finite, got {max_margin!r}")
    return scale * shape / shape.max()


def class_margins(logits: Any, labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Class margins ``gamma_j = min_{i in S_j} (f(x_i)_{y_i} - max_{j' != y_i} f(x_i)_{j'})`` (NaN if S_j empty).

    Source: 002, slide "Class-wise margin calibration" (margin of a sample, margin of a class).
    """
    z = check_matrix(logits, "logits")
    classes = z.shape[1] if num_classes is None else int(num_classes)
    if z.shape[1] < 2:
        raise InputError("logits needs at least 2 classes for a margin")
    targets = check_labels(labels, classes, "labels", length=z.shape[0])
    rows = np.arange(z.shape[0])
    own = z[rows, targets]
    others = z.copy()
    others[rows, targets] = -np.inf
    sample_margin = own - others.max(axis=1)
    margins = np.full(classes, np.inf)
    np.minimum.at(margins, targets, sample_margin)
    margins[np.bincount(targets, minlength=classes) == 0] = np.nan
    return margins


def ldam_margins_symbolic() -> dict[str, Any]:
    """SymPy derivation for two classes: the constrained minimiser and the check ``gamma_1/gamma_2 = (n_2/n_1)^{1/4}``.

    Source: 002, slide "Class-wise margin calibration". Substitutes ``gamma_2 = gamma - gamma_1``,
    solves the stationarity equation on (0, gamma), and checks the second derivative is positive.
    Returns the solution and booleans ``ratio_is_quarter_power`` and ``second_derivative_positive``.
    """
    import sympy as sp

    g1, g, n1, n2 = sp.symbols("gamma_1 gamma n_1 n_2", positive=True)
    objective = 1 / (g1 * sp.sqrt(n1)) + 1 / ((g - g1) * sp.sqrt(n2))
    stationary = sp.together(sp.diff(objective, g1))
    # On (0, gamma): d/dg1 = 0  <=>  g1^2 sqrt(n1) = (g - g1)^2 sqrt(n2)  <=>  g1 n1^{1/4} = (g - g1) n2^{1/4}.
    solution = sp.solve(sp.Eq(g1 * n1 ** sp.Rational(1, 4), (g - g1) * n2 ** sp.Rational(1, 4)), g1)[0]
    residual = sp.simplify(stationary.subs(g1, solution))
    expected = g * n1 ** sp.Rational(-1, 4) / (n1 ** sp.Rational(-1, 4) + n2 ** sp.Rational(-1, 4))
    ratio = sp.simplify(solution / (g - solution) - (n2 / n1) ** sp.Rational(1, 4))
    second = sp.diff(objective, g1, 2)
    # Both terms of the second derivative are positive on (0, gamma): 2/(g1^3 sqrt n1) + 2/((g-g1)^3 sqrt n2).
    second_expected = 2 / (g1**3 * sp.sqrt(n1)) + 2 / ((g - g1) ** 3 * sp.sqrt(n2))
    return {
        "solution": solution,
        "is_stationary": residual == 0,
        "matches_quarter_power": sp.simplify(solution - expected) == 0,
        "ratio_is_quarter_power": ratio == 0,
        "second_derivative_positive": sp.simplify(second - second_expected) == 0,
    }


# ---------------------------------------------------------------------------------------------
# tutorial.effective_number
# ---------------------------------------------------------------------------------------------


def _check_beta(beta: float) -> float:
    value = float(beta)
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise InputError(f"beta must lie in [0, 1] (beta = (N - 1)/N), got {beta!r}; e.g. beta=0.9999")
    return value


def effective_number(class_counts: Any, beta: float) -> np.ndarray:
    """Effective number of samples ``E_n = (1 - beta^n) / (1 - beta)`` per class (``E_n = n`` at beta = 1, the limit).

    Source: 002, slide "loss re-weighting by effective number" (Cui et al. 2019), ``beta = (N-1)/N``.
    Evaluated without cancellation as ``-expm1(n log beta) / (1 - beta)`` with ``log beta = log1p(beta - 1)``,
    so beta = 0.9999 and n = 10^6 are exact to rounding. ``class_counts`` >= 1, beta in [0, 1].
    """
    counts = check_class_counts(class_counts).astype(np.float64)
    b = _check_beta(beta)
    if b == 1.0:
        return counts.copy()
    if b == 0.0:
        return np.ones_like(counts)
    # b - 1 is exact for b >= 1/2 (Sterbenz), where log1p keeps the digits log(b) would lose.
    log_beta = math.log1p(b - 1.0) if b >= 0.5 else math.log(b)
    return -np.expm1(counts * log_beta) / (1.0 - b)


def class_balanced_weights(class_counts: Any, beta: float) -> np.ndarray:
    """Class-balanced weights ``(1 - beta) / (1 - beta^{n_y}) = 1 / E_{n_y}``, normalised to sum to C.

    Source: 002, slide "Class-Balanced Loss" (Cui et al. 2019); the sum-to-C normalisation is the
    reference code's (LDAM-DRW uses beta = 0.9999).
    """
    weights = 1.0 / effective_number(class_counts, beta)
    return weights * weights.shape[0] / weights.sum()


def effective_number_symbolic() -> dict[str, Any]:
    """SymPy checks: ``lim_{beta -> 1} (1 - beta^n)/(1 - beta) = n``; the geometric series
    ``E_n = sum_{j<n} beta^j`` for n = 1..12; ``1/E_n`` is the CB weight; ``E_n`` increases in n and in beta.

    Source: 002, slide "loss re-weighting by effective number".
    """
    import sympy as sp

    beta = sp.symbols("beta", positive=True)
    n = sp.symbols("n", positive=True, integer=True)
    e_n = (1 - beta**n) / (1 - beta)
    limit = sp.limit(e_n, beta, 1)
    series_ok = all(sp.cancel(e_n.subs(n, k) - sum(beta**j for j in range(k))) == 0 for k in range(1, 13))
    weight_ok = sp.simplify(1 / e_n - (1 - beta) / (1 - beta**n)) == 0
    # dE_n/dbeta = sum_{j<n} j beta^{j-1} >= 0 for beta > 0; E_{n+1} - E_n = beta^n > 0.
    increment_ok = sp.simplify(e_n.subs(n, n + 1) - e_n - beta**n) == 0
    return {
        "limit": limit,
        "limit_is_n": sp.simplify(limit - n) == 0,
        "geometric_series": series_ok,
        "cb_weight_is_inverse": weight_ok,
        "increment_is_beta_power": increment_ok,
    }


# ---------------------------------------------------------------------------------------------
# tutorial.etf
# ---------------------------------------------------------------------------------------------


def simplex_etf(num_classes: int, dim: int | None = None, rotation: Any = None, seed: int = 0) -> np.ndarray:
    """Simplex ETF ``M = sqrt(K/(K-1)) U (I_K - 1_K 1_K^T / K)`` as a (dim, K) matrix (columns ``m_k``).

    Source: 002, slide "Simplex Equiangular Tight Frame" (Yang et al. 2022). ``U`` (dim, K) must have
    orthonormal columns (``U^T U = I_K``, so dim >= K); if not given, a random one is drawn (QR of a
    Gaussian matrix, ``seed``). Then ``M^T M = K/(K-1) (I_K - 1 1^T / K)``: unit columns, pairwise
    cosine ``-1/(K-1)``.
    """
    if int(num_classes) != num_classes or num_classes < 2:
        raise InputError(f"num_classes must be an integer >= 2 for a simplex ETF, got {num_classes!r}")
    k = int(num_classes)
    if rotation is None:
        d = k if dim is None else int(dim)
        if d < k:
            raise InputError(f"dim={d} < num_classes={k}: U with U^T U = I_K needs dim >= K (the slide's construction)")
        basis, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, k)))
    else:
        basis = check_matrix(rotation, "rotation", columns=k)
        if not np.allclose(basis.T @ basis, np.eye(k), atol=1e-10):
            raise InputError("rotation U must have orthonormal columns (U^T U = I_K)")
    centring = np.eye(k) - np.full((k, k), 1.0 / k)
    return math.sqrt(k / (k - 1)) * basis @ centring


def etf_gram_printed(num_classes: int) -> np.ndarray:
    """The printed Gram matrix ``m_i^T m_j = K/(K-1) delta_ij - 1/(K-1)`` (K x K). Source: 002, ETF slide."""
    if int(num_classes) != num_classes or num_classes < 2:
        raise InputError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    k = int(num_classes)
    return k / (k - 1) * np.eye(k) - 1.0 / (k - 1)


def _check_dot_regression(features: Any, class_weights: Any, energy_w: float, energy_h: float):
    h = np.atleast_2d(np.asarray(check_finite(features, "features"), dtype=np.float64))
    w = np.atleast_2d(np.asarray(check_finite(class_weights, "class_weights"), dtype=np.float64))
    if h.ndim != 2 or w.shape != h.shape:
        raise InputError(f"features and class_weights must have the same shape (n, d), got {h.shape} and {w.shape}")
    for name, value in (("energy_w", energy_w), ("energy_h", energy_h)):
        if not (math.isfinite(float(value)) and float(value) > 0):
            raise InputError(f"{name} (E_W / E_H) must be positive and finite, got {value!r}")
    return h, w, math.sqrt(float(energy_w) * float(energy_h))


def dot_regression_loss(features: Any, class_weights: Any, energy_w: float, energy_h: float) -> np.ndarray:
    """Dot-regression loss ``L_DR = (w_c^T h - sqrt(E_W E_H))^2 / (2 sqrt(E_W E_H))`` per row.

    Source: 002, slide "Dot-Regression Loss" (Yang et al. 2022). ``features`` h (n, d),
    ``class_weights`` w_c (n, d): the fixed ETF column of each sample's class.
    """
    h, w, root = _check_dot_regression(features, class_weights, energy_w, energy_h)
    return (np.einsum("nd,nd->n", w, h) - root) ** 2 / (2.0 * root)


def dot_regression_gradient(features: Any, class_weights: Any, energy_w: float, energy_h: float) -> np.ndarray:
    """Exact gradient ``dL_DR/dh = (w_c^T h / sqrt(E_W E_H) - 1) w_c`` (any h): the corrected statement.

    Source: 002, slide "Dot-Regression Loss", differentiated (``tutorial.etf_corrected``). It equals
    the printed ``-(1 - cos(h, w_c)) w_c`` iff ``||w_c|| ||h|| = sqrt(E_W E_H)`` or ``w_c^T h = 0``.
    """
    h, w, root = _check_dot_regression(features, class_weights, energy_w, energy_h)
    return (np.einsum("nd,nd->n", w, h) / root - 1.0)[:, None] * w


def dot_regression_gradient_printed(features: Any, class_weights: Any, energy_w: float, energy_h: float) -> np.ndarray:
    """The printed gradient ``-(1 - cos(h, w_c)) w_c``. Source: 002, slide "Dot-Regression Loss".

    Valid only where ``||w_c|| ||h|| = sqrt(E_W E_H)`` (e.g. ``||w_c||^2 = E_W`` and ``||h||^2 = E_H``)
    or ``h`` is orthogonal to ``w_c``; needs non-zero h and w_c (the cosine).
    """
    h, w, _ = _check_dot_regression(features, class_weights, energy_w, energy_h)
    norms = np.linalg.norm(h, axis=1) * np.linalg.norm(w, axis=1)
    if np.any(norms == 0):
        raise InputError("features and class_weights must be non-zero: the printed gradient uses cos(h, w_c)")
    cosine = np.einsum("nd,nd->n", w, h) / norms
    return -(1.0 - cosine)[:, None] * w


def etf_gram_symbolic(num_classes: int = 3) -> bool:
    """SymPy: ``(I - 11^T/K)^2 = I - 11^T/K``, so ``M^T M = K/(K-1)(I - 11^T/K)`` equals the printed Gram exactly.

    Source: 002, ETF slide; exact rational arithmetic for the given K (with U^T U = I_K factored out).
    """
    import sympy as sp

    k = int(num_classes)
    centring = sp.eye(k) - sp.ones(k, k) / k
    gram = sp.Rational(k, k - 1) * centring.T * centring
    printed = sp.Matrix(k, k, lambda i, j: sp.Rational(k, k - 1) * (1 if i == j else 0) - sp.Rational(1, k - 1))
    return sp.simplify(gram - printed) == sp.zeros(k, k)


def fisher_binary_symbolic() -> dict[str, Any]:
    """SymPy, two classes: Theorem 1's conditional risk in ``t = f_1 - f_2`` is minimised at
    ``t* = log(eta pi_2 / ((1 - eta) pi_1))``, independent of delta, so ``t* > 0 <=> eta/pi_1 > (1-eta)/pi_2``.

    Source: 002, Theorem 1 (binary case). Also checks the risk is convex in t.
    """
    import sympy as sp

    t = sp.symbols("t", real=True)
    eta, p1, d1, d2 = sp.symbols("eta pi_1 delta_1 delta_2", positive=True)
    p2 = 1 - p1
    alpha1, alpha2 = d1 / p1, d2 / p2
    # l(1, f) = alpha_1 log(1 + (d2/d1) e^{-t}); l(2, f) = alpha_2 log(1 + (d1/d2) e^{t}).
    risk = eta * alpha1 * sp.log(1 + d2 / d1 * sp.exp(-t)) + (1 - eta) * alpha2 * sp.log(1 + d1 / d2 * sp.exp(t))
    t_star = sp.log(eta * p2 / ((1 - eta) * p1))
    first = sp.simplify(sp.diff(risk, t).subs(t, t_star))
    second = sp.diff(risk, t, 2)
    # each term of the second derivative is alpha * c e^{+-t} / (1 + c e^{+-t})^2 > 0
    second_expected = (
        eta * alpha1 * (d2 / d1) * sp.exp(-t) / (1 + d2 / d1 * sp.exp(-t)) ** 2
        + (1 - eta) * alpha2 * (d1 / d2) * sp.exp(t) / (1 + d1 / d2 * sp.exp(t)) ** 2
    )
    return {
        "t_star": t_star,
        "is_stationary": sp.simplify(first) == 0,
        "convex": sp.simplify(second - second_expected) == 0,
    }


# ---------------------------------------------------------------------------------------------
# evaluators on a checkpoint
# ---------------------------------------------------------------------------------------------


def _evaluation_split(splits: EvaluationSplits):
    for outputs in (splits.test, splits.heldout, splits.train):
        if outputs is not None:
            return outputs
    raise InputError("EvaluationSplits holds no outputs")


def _evaluate_fisher(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _evaluation_split(splits)
    pi = outputs.priors
    # first-maximiser predictions: the printed tie rule would score constant logits as error-free
    plain = balanced_error_rate(outputs.logits, outputs.labels, outputs.num_classes, ties="first")
    adjusted = balanced_error_rate(post_hoc_logit_adjustment(outputs.logits, pi, 1.0), outputs.labels, ties="first")
    # A plain-CE method is necessary for softmax(logits) to estimate the training P(y|x) (checked); that
    # the estimate is good (calibration on the population) no code checks: unknown at best, never True.
    unadjusted = outputs.method.lower() in _UNADJUSTED_METHODS
    return [
        BoundResult(
            statement="tutorial.fisher_consistency",
            # a heuristic consequence of Theorem 1 on a finite sample, not the theorem: a failing row refutes nothing
            form="diagnostic",
            value=plain,
            measured=adjusted,
            terms={"balanced_error_argmax": plain, "balanced_error_post_hoc_la": adjusted, "tau": 1.0},
            assumptions=(
                Assumption(
                    "logits_estimate_training_posterior",
                    "softmax(logits) estimates the training P(y|x) (model trained with plain cross-entropy), "
                    "so Theorem 1's Bayes-balanced rule is argmax logits - log pi: False when the method is not "
                    "plain CE, else unknown (how well softmax estimates P(y|x) is not checked)",
                    None if unadjusted else False,
                ),
            ),
            split=outputs.split,
            note="diagnostic, a heuristic consequence of Theorem 1, not the theorem: BER of post-hoc LA (measured) "
            "<= BER of argmax (value); a failing row does not refute Theorem 1",
        )
    ]


def _evaluate_threshold_moving(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _evaluation_split(splits)
    results = []
    for tau in (0.5, 1.0, 2.0):
        agreement, _ = threshold_moving_agreement(outputs.logits, outputs.priors, tau)
        results.append(
            BoundResult(
                statement="tutorial.threshold_moving",
                form="as_printed",
                value=0.0,
                measured=1.0 - agreement,
                terms={"agreement": agreement, "tau": tau, "num_samples": float(outputs.num_samples)},
                assumptions=(Assumption("tau_positive", "tau > 0 (costs decrease with the prior)", tau > 0),),
                split=outputs.split,
                note="fraction of samples where threshold moving and post-hoc LA disagree (tie-aware) <= 0",
            )
        )
    return results


def _evaluate_ldam(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    counts = outputs.class_counts
    optimal_ldam = ldam_optimal_margins(counts, max_margin=0.5)
    measured = class_margins(outputs.logits, outputs.labels, outputs.num_classes)
    results = []
    for j in range(outputs.num_classes):
        results.append(
            BoundResult(
                statement="tutorial.ldam_optimal_margins",
                form="as_printed",
                value=float(optimal_ldam[j]),
                terms={"class_count": float(counts[j]), "measured_class_margin": float(measured[j])},
                class_index=j,
                split=outputs.split,
                note="optimal LDAM margin C / n_j^{1/4} with the rarest class at max_m = 0.5 (nothing measured)",
            )
        )
    positive = bool(np.all(np.isfinite(measured)) and np.all(measured > 0))
    if positive:
        total = float(measured.sum())
        best = ldam_optimal_margins(counts, total=total)
        results.append(
            BoundResult(
                statement="tutorial.ldam_optimal_margins",
                form="as_printed",
                value=ldam_margin_objective(measured, counts),
                measured=ldam_margin_objective(best, counts),
                terms={"margin_budget": total},
                assumptions=(Assumption("positive_class_margins", "every class margin > 0", positive),),
                split=outputs.split,
                note="sum 1/(gamma_j sqrt n_j) at the optimal margins (measured) <= at the model's class margins",
            )
        )
    return results


def _evaluate_effective_number(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    beta = 0.9999
    counts = outputs.class_counts
    effective = effective_number(counts, beta)
    weights = class_balanced_weights(counts, beta)
    return [
        BoundResult(
            statement="tutorial.effective_number",
            form="as_printed",
            value=float(counts[j]),
            measured=float(effective[j]),
            terms={"beta": beta, "effective_number": float(effective[j]), "class_balanced_weight": float(weights[j])},
            class_index=j,
            split=outputs.split,
            note="E_n (beta = 0.9999) <= n, with equality in the printed limit beta -> 1",
        )
        for j in range(outputs.num_classes)
    ]


def _evaluate_etf(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _evaluation_split(splits)
    k = outputs.num_classes
    weight = outputs.head_weight
    centred = weight - weight.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    results = []
    if k >= 2 and np.all(norms > 0):
        unit = centred / norms
        deviation = float(np.abs(unit @ unit.T - etf_gram_printed(k)).max())
        results.append(
            BoundResult(
                statement="tutorial.etf",
                form="as_printed",
                value=0.0,
                measured=deviation,
                terms={"max_gram_deviation": deviation},
                assumptions=(
                    Assumption(
                        "dim_at_least_classes_minus_one", "a simplex ETF exists: d >= K - 1", weight.shape[1] >= k - 1
                    ),
                    # The identity is about a head fixed to a simplex ETF; a learned head is only measured
                    # against it (a neural-collapse diagnostic), so a non-zero deviation is no violation.
                    Assumption(
                        "head_fixed_to_simplex_etf",
                        "the head was set to a simplex ETF (the slide's fixed ETF classifier), not learned",
                        bool((outputs.metadata or {}).get("head_fixed_to_simplex_etf", False)),
                    ),
                ),
                split=outputs.split,
                note="max |w^_i^T w^_j - (K/(K-1) delta_ij - 1/(K-1))| of the centred, normalised head (0 iff ETF); "
                "for a learned head, its distance from an ETF",
            )
        )
    # Dot-regression gradient on this checkpoint's features, with the head rows as w_c.
    h = outputs.embeddings
    w = weight[outputs.labels]
    h_norm = np.linalg.norm(h, axis=1)
    w_norm = np.linalg.norm(w, axis=1)
    usable = (h_norm > 0) & (w_norm > 0)
    if np.any(usable):
        h, w = h[usable], w[usable]
        energy_h = float(np.mean(h_norm[usable] ** 2))
        energy_w = float(np.mean(np.linalg.norm(weight, axis=1) ** 2))
        exact = dot_regression_gradient(h, w, energy_w, energy_h)
        printed = dot_regression_gradient_printed(h, w, energy_w, energy_h)
        gap = np.linalg.norm(printed - exact, axis=1) / w_norm[usable]
        condition = np.isclose(h_norm[usable] * w_norm[usable], math.sqrt(energy_w * energy_h), rtol=1e-9)
        results.append(
            BoundResult(
                statement="tutorial.etf",
                form="as_printed",
                value=0.0,
                measured=float(gap.mean()),
                terms={
                    "mean_gradient_gap": float(gap.mean()),
                    "max_gradient_gap": float(gap.max()),
                    "E_W": energy_w,
                    "E_H": energy_h,
                    "norm_condition_fraction": float(condition.mean()),
                },
                assumptions=(
                    Assumption(
                        "norm_condition", "||w_c|| ||h|| = sqrt(E_W E_H) for every sample", bool(condition.all())
                    ),
                ),
                split=outputs.split,
                note="mean ||printed - exact DR gradient|| / ||w_c||, head rows as w_c (0 when the condition holds)",
            )
        )
    return results


def _evaluate_nothing(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    return []


# Float64 round-off allowance for the identity rows of tutorial.etf_corrected: the quantities compared are
# O(1) after the scaling below, so a genuine error (a wrong constant or a missing condition) is orders larger.
_ETF_TOLERANCE = 1e-8


def _evaluate_etf_corrected(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    """Three identity rows of the corrected ETF / dot-regression statement on this checkpoint's K, d and features:

    (1) the Gram of ``simplex_etf(K, max(d, K))`` equals ``K/(K-1) I - 1/(K-1)``;
    (2) the corrected gradient ``(w_c^T h / sqrt(E_W E_H) - 1) w_c`` equals a central finite difference of
        ``L_DR`` at the checkpoint's features (head rows as w_c; exact for a quadratic up to round-off);
    (3) where the norm condition holds (h rescaled so ``||w_c|| ||h|| = sqrt(E_W E_H)``), the printed gradient
        equals the corrected one. Each row: measured = max relative gap, value = ``_ETF_TOLERANCE``.
    """
    outputs = _evaluation_split(splits)
    k = outputs.num_classes
    results = []
    dim = max(outputs.embeddings.shape[1], k)  # U needs d >= K: build it in max(d, K) (zero-padding is harmless)
    etf = simplex_etf(k, dim, seed=0)
    gram_gap = float(np.abs(etf.T @ etf - etf_gram_printed(k)).max())
    results.append(
        BoundResult(
            statement="tutorial.etf_corrected",
            form="corrected",
            value=_ETF_TOLERANCE,
            measured=gram_gap,
            terms={"max_gram_deviation": gram_gap, "dim": float(dim)},
            assumptions=(
                Assumption(
                    "orthonormal_U",
                    "U^T U = I_K (U from a QR factorisation, checked)",
                    bool(np.allclose(np.linalg.norm(etf, axis=0), 1.0, atol=1e-10)),
                ),
            ),
            split=outputs.split,
            note="max |M^T M - (K/(K-1) I - 1/(K-1))| for the slide's M with orthonormal U (0 up to round-off)",
        )
    )
    h_all, weight = outputs.embeddings, outputs.head_weight
    w_all = weight[outputs.labels]
    usable = (np.linalg.norm(h_all, axis=1) > 0) & (np.linalg.norm(w_all, axis=1) > 0)
    if not np.any(usable):
        return results
    h, w = h_all[usable], w_all[usable]
    energy_h = float(np.mean(np.sum(h**2, axis=1)))
    energy_w = float(np.mean(np.sum(weight**2, axis=1)))
    root = math.sqrt(energy_w * energy_h)
    exact = dot_regression_gradient(h, w, energy_w, energy_h)
    # Central differences along each coordinate: L_DR is quadratic in h, so they are exact up to round-off.
    step = 1e-3 * max(1.0, float(np.abs(h).max()))
    numeric = np.empty_like(h)
    for j in range(h.shape[1]):
        shift = np.zeros_like(h)
        shift[:, j] = step
        numeric[:, j] = (
            dot_regression_loss(h + shift, w, energy_w, energy_h)
            - dot_regression_loss(h - shift, w, energy_w, energy_h)
        ) / (2 * step)
    # scale of the gradient: ||w_c|| (|w_c^T h| / root + 1), so the gap is relative
    scale = np.linalg.norm(w, axis=1) * (np.abs(np.einsum("nd,nd->n", w, h)) / root + 1.0)
    gradient_gap = float((np.linalg.norm(numeric - exact, axis=1) / scale).max())
    on_condition = h * (root / (np.linalg.norm(h, axis=1) * np.linalg.norm(w, axis=1)))[:, None]
    printed_gap = float(
        (
            np.linalg.norm(
                dot_regression_gradient_printed(on_condition, w, energy_w, energy_h)
                - dot_regression_gradient(on_condition, w, energy_w, energy_h),
                axis=1,
            )
            / np.linalg.norm(w, axis=1)
        ).max()
    )
    for measured, name, note in (
        (gradient_gap, "max_gradient_gap_vs_finite_difference", "corrected dL_DR/dh vs central differences"),
        (
            printed_gap,
            "max_printed_gap_under_norm_condition",
            "printed vs corrected gradient with h rescaled so ||w_c|| ||h|| = sqrt(E_W E_H)",
        ),
    ):
        results.append(
            BoundResult(
                statement="tutorial.etf_corrected",
                form="corrected",
                value=_ETF_TOLERANCE,
                measured=measured,
                terms={name: measured, "E_W": energy_w, "E_H": energy_h, "samples": float(h.shape[0])},
                split=outputs.split,
                note=f"{note} (max relative gap, head rows as w_c; 0 up to round-off)",
            )
        )
    return results


STATEMENTS = (
    Statement(
        id="tutorial.fisher_consistency",
        source="002, slide 'statistical consistency of long-tailed multi-class classification', Theorem 1",
        kind="symbolic",
        summary=(
            "alpha_y = delta_y/P(y), Delta_yy' = log(delta_y'/delta_y) make the pairwise loss Fisher consistent "
            "for the balanced error (SciPy + SymPy in tests). On a checkpoint: balanced error of post-hoc LA "
            "(measured) vs argmax logits (value) on the test split."
        ),
        evaluate=_evaluate_fisher,
    ),
    Statement(
        id="tutorial.threshold_moving",
        source="002, slide 'Threshold-Moving'",
        kind="identity",
        summary=(
            "threshold moving with cost sums exp(-tau log pi_k) has the argmax of post-hoc logit adjustment. "
            "On a checkpoint: disagreement fraction (measured) <= 0 for tau in {0.5, 1, 2}."
        ),
        evaluate=_evaluate_threshold_moving,
    ),
    Statement(
        id="tutorial.ldam_optimal_margins",
        source="002, slide 'Class-wise margin calibration'",
        kind="symbolic",
        summary=(
            "argmin sum_j 1/(gamma_j sqrt n_j) s.t. sum gamma_j = gamma is gamma_j ∝ n_j^{-1/4} (SymPy). On a "
            "checkpoint: the optimal margins per class (max 0.5) and, when all training class margins are "
            "positive, the objective at the optimum (measured) <= at the model's margins (value)."
        ),
        evaluate=_evaluate_ldam,
    ),
    Statement(
        id="tutorial.effective_number",
        source="002, slide 'loss re-weighting by effective number'",
        kind="symbolic",
        summary=(
            "E_n = (1 - beta^n)/(1 - beta) -> n as beta -> 1 (SymPy). On a checkpoint: per class E_n at "
            "beta = 0.9999 (measured) <= n (value), with the class-balanced weight as a term."
        ),
        evaluate=_evaluate_effective_number,
    ),
    Statement(
        id="tutorial.etf",
        source="002, slides 'Simplex Equiangular Tight Frame' and 'Dot-Regression Loss'",
        kind="identity",
        summary=(
            "simplex ETF Gram m_i^T m_j = K/(K-1) delta_ij - 1/(K-1), and dL_DR/dh = -(1 - cos(h, w_c)) w_c. On a "
            "checkpoint: the head's deviation from an ETF Gram, and the printed vs exact DR gradient gap."
        ),
        evaluate=_evaluate_etf,
    ),
    Statement(
        id="tutorial.etf_corrected",
        source="002, slides 'Simplex Equiangular Tight Frame' and 'Dot-Regression Loss' (corrected)",
        kind="identity",
        summary=(
            "with U^T U = I_K and K >= 2, M^T M = K/(K-1)(I - 11^T/K); dL_DR/dh = (w_c^T h/sqrt(E_W E_H) - 1) w_c, "
            "equal to -(1 - cos) w_c iff ||w_c|| ||h|| = sqrt(E_W E_H) or w_c ⊥ h. On a checkpoint: the Gram of an "
            "ETF in its K and d, the corrected gradient vs finite differences at its features, and printed = corrected "
            "under the norm condition (each gap <= round-off)."
        ),
        evaluate=_evaluate_etf_corrected,
    ),
)

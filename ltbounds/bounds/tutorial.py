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


# ---------------------------------------------------------------------------------------------
# Statements added by the completeness pass (issue 11, section 2): Theorem 3 (Menon et al. 2013),
# the logit-adjusted loss and the re-weighting remark, LDAM's relaxation, the risk decomposition,
# rwSAM, LTSSL, RECORDS, TS, BCL and GH. Appended here so the evaluators above stay untouched.


def risk_decomposition(losses: Any, labels: Any, num_classes: int) -> tuple[float, float]:
    """002, slide 'A direct decomposition on the risk minimization': E[l] = sum_k P(y=k) E[l | y=k].

    On a sample with empirical P(y=k): returns (mean loss, sum_k pi^_k x class-mean loss); equal up to rounding.
    """
    values = check_finite(np.asarray(losses, dtype=np.float64).reshape(-1), "losses")
    y = check_labels(labels, num_classes, "labels", length=values.shape[0])
    counts = np.bincount(y, minlength=num_classes)
    sums = np.bincount(y, weights=values, minlength=num_classes)
    present = counts > 0
    decomposed = float(np.sum(counts[present] / values.shape[0] * (sums[present] / counts[present])))
    return float(values.mean()), decomposed


def _evaluate_risk_decomposition(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _evaluation_split(splits)
    losses = -(outputs.logits - logsumexp(outputs.logits, axis=1, keepdims=True))[
        np.arange(outputs.num_samples), outputs.labels
    ]
    mean, decomposed = risk_decomposition(losses, outputs.labels, outputs.num_classes)
    gap = abs(mean - decomposed) / max(1.0, abs(mean))
    return [
        BoundResult(
            "tutorial.risk_decomposition",
            "as_printed",
            1e-12,
            gap,
            {"mean_loss": mean, "decomposed": decomposed},
            (),
            None,
            outputs.split,
            "identity: mean cross-entropy vs sum_k pi^_k E[CE | y = k] on this split (relative gap)",
        )
    ]


def am_balanced_error(eta: Any, marginal: Any, predictions: Any) -> float:
    """Balanced (AM) error of a binary classifier on a finite input space, from the population.

    ``eta`` (m,) = P(y = 1 | x), ``marginal`` (m,) = P(x), ``predictions`` (m,) in {-1, +1}. With p = P(y = 1):
    BER(h) = (1/2) [sum_x P(x) eta(x) 1[h(x) = -1] / p + sum_x P(x) (1 - eta(x)) 1[h(x) = +1] / (1 - p)].
    Source: 002, slide 'On Statistical Consistency of Binary Classification with Balanced Accuracy'.
    """
    eta_values = np.asarray(check_finite(eta, "eta"), dtype=np.float64).reshape(-1)
    px = _check_distribution(marginal, "marginal", length=eta_values.shape[0], strictly_positive=False)
    h = np.asarray(predictions).reshape(-1)
    if h.shape != eta_values.shape or not np.all(np.isin(h, (-1, 1))):
        raise InputError("predictions must hold -1 or +1 for every point of the input space")
    if np.any((eta_values < 0) | (eta_values > 1)):
        raise InputError("eta must lie in [0, 1] (it is P(y = 1 | x))")
    p = float(px @ eta_values)
    if not 0.0 < p < 1.0:
        raise InputError(f"P(y = 1) must be in (0, 1) for the balanced error, got {p}")
    return 0.5 * (float(px @ (eta_values * (h == -1))) / p + float(px @ ((1 - eta_values) * (h == 1))) / (1 - p))


def plugin_regret_bound(eta: Any, eta_hat: Any, marginal: Any, p_hat: float) -> tuple[float, float]:
    """Theorem 3 of the tutorial (Menon et al. 2013) made quantitative: (regret of sign(eta^ - p^), its bound).

    regret = BER(sign(eta^ - p^)) - BER(sign(eta - p)) <= (E_x |eta^(x) - eta(x)| + |p^ - p|) / (2 p (1 - p)).
    Proof: pointwise, predicting against the Bayes rule costs |eta - p| / (2 p (1 - p)), and where the plug-in
    disagrees with sign(eta - p), |eta - p| <= |eta^ - eta| + |p^ - p|. With E|eta^ - eta|^r -> 0 (r >= 1, so
    E|eta^ - eta| -> 0) and p^ -> p this gives the printed regret -> 0 in probability. Ties (eta = p) cost 0.
    """
    eta_values = np.asarray(check_finite(eta, "eta"), dtype=np.float64).reshape(-1)
    estimate = np.asarray(check_finite(eta_hat, "eta_hat"), dtype=np.float64).reshape(-1)
    px = _check_distribution(marginal, "marginal", length=eta_values.shape[0], strictly_positive=False)
    if estimate.shape != eta_values.shape:
        raise InputError("eta_hat must have one entry per point of the input space, like eta")
    p = float(px @ eta_values)
    bayes = np.where(eta_values > p, 1, -1)
    plugin = np.where(estimate > float(p_hat), 1, -1)
    regret = am_balanced_error(eta_values, px, plugin) - am_balanced_error(eta_values, px, bayes)
    bound = (float(px @ np.abs(estimate - eta_values)) + abs(float(p_hat) - p)) / (2 * p * (1 - p))
    return regret, bound


def _evaluate_plugin_consistency(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _evaluation_split(splits)
    probabilities = softmax(outputs.logits, axis=1)
    plugin, naive = [], []
    for k in range(outputs.num_classes):
        truth = np.where(outputs.labels == k, 1, -1)
        if np.all(truth == 1) or np.all(truth == -1):
            continue
        for threshold, store in ((outputs.priors[k], plugin), (0.5, naive)):
            predicted = np.where(probabilities[:, k] > threshold, 1, -1)
            store.append(0.5 * (np.mean(predicted[truth == 1] == -1) + np.mean(predicted[truth == -1] == 1)))
    if not plugin:
        raise InputError("tutorial.plugin_am_consistency needs a split with at least two classes")
    unadjusted = outputs.method.lower() in _UNADJUSTED_METHODS
    return [
        BoundResult(
            "tutorial.plugin_am_consistency",
            "diagnostic",
            float(np.mean(naive)),
            float(np.mean(plugin)),
            {"classes": float(len(plugin))},
            (
                Assumption(
                    "softmax_estimates_eta",
                    "softmax(logits)_k estimates P(y = k | x) (plain CE training; its accuracy is not checked)",
                    None if unadjusted else False,
                ),
            ),
            None,
            outputs.split,
            "one-vs-rest, mean over classes: balanced error of the plug-in sign(eta^_k - pi_k) (measured) vs of the "
            "threshold 1/2 (value); a heuristic reading of Theorem 3, not the theorem",
        )
    ]


def logit_adjusted_loss_forms(logits: Any, labels: Any, priors: Any, tau: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Both printed forms of the logit-adjusted loss (002, slide 'The logit adjusted softmax cross-entropy').

    -log [e^{f_y + tau log pi_y} / sum_y' e^{f_y' + tau log pi_y'}] and log[1 + sum_{y' != y} (pi_y'/pi_y)^tau
    e^{f_y' - f_y}], per sample (equal: divide numerator and denominator by e^{f_y + tau log pi_y}).
    """
    scores = check_matrix(logits, "logits")
    y = check_labels(labels, scores.shape[1], "labels", length=scores.shape[0])
    pi = _check_distribution(priors, "priors", length=scores.shape[1])
    t = float(check_finite(np.asarray(tau, dtype=np.float64), "tau"))
    rows = np.arange(y.shape[0])
    adjusted = scores + t * np.log(pi)
    first = logsumexp(adjusted, axis=1) - adjusted[rows, y]
    exponent = t * (np.log(pi)[None, :] - np.log(pi)[y][:, None]) + scores - scores[rows, y][:, None]
    exponent[rows, y] = -np.inf
    second = np.logaddexp(0.0, logsumexp(exponent, axis=1))
    return first, second


def _evaluate_la_two_forms(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _evaluation_split(splits)
    results = []
    for tau in (0.5, 1.0, 2.0):
        first, second = logit_adjusted_loss_forms(outputs.logits, outputs.labels, outputs.priors, tau)
        gap = float(np.max(np.abs(first - second) / np.maximum(1.0, np.abs(first))))
        results.append(
            BoundResult(
                "tutorial.la_loss_two_forms",
                "as_printed",
                1e-12,
                gap,
                {"tau": tau, "max_relative_gap": gap},
                (),
                None,
                outputs.split,
                "identity: the two printed forms of the logit-adjusted loss, per sample (max relative gap)",
            )
        )
    return results


def reweighting_disagreement(logits: Any, priors: Any) -> float:
    """Fraction of samples where argmax f_y / pi_y and argmax e^{f_y} / pi_y (post-hoc LA) differ.

    002, slide 'The logit adjusted softmax cross-entropy': w_1^T Phi/pi_1 < w_2^T Phi/pi_2 is not equivalent to
    e^{w_1^T Phi}/pi_1 < e^{w_2^T Phi}/pi_2 (dividing the logits by the prior is not logit adjustment).
    Ties count as agreement only when both argmax sets are equal.
    """
    scores = check_matrix(logits, "logits")
    pi = _check_distribution(priors, "priors", length=scores.shape[1])
    divided = scores / pi
    adjusted = scores - np.log(pi)
    first = divided == divided.max(axis=1, keepdims=True)
    second = adjusted == adjusted.max(axis=1, keepdims=True)
    return float(np.mean(np.any(first != second, axis=1)))


def _evaluate_reweighting_remark(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _evaluation_split(splits)
    share = reweighting_disagreement(outputs.logits, outputs.priors)
    return [
        BoundResult(
            "tutorial.reweighting_vs_logit_adjustment",
            "as_printed",
            share,
            terms={"disagreement": share},
            split=outputs.split,
            note="fraction of samples where argmax f/pi and argmax e^f/pi differ (> 0 exhibits the remark's "
            "non-equivalence on these logits; nothing measured)",
        )
    ]


def ldam_losses(logits: Any, labels: Any, margins: Any) -> tuple[np.ndarray, np.ndarray]:
    """LDAM hinge max(max_{j != y} z_j - z_y + Delta_y, 0) and its smooth relaxation -log e^{z_y - Delta_y} /
    (e^{z_y - Delta_y} + sum_{j != y} e^{z_j}), per sample (002, slide 'LDAM'; Cao et al. 2019).

    The relaxation is log(1 + sum_{j != y} e^{z_j - z_y + Delta_y}), so hinge <= relaxation <= hinge + log K.
    """
    scores = check_matrix(logits, "logits")
    y = check_labels(labels, scores.shape[1], "labels", length=scores.shape[0])
    delta_margins = np.asarray(check_finite(margins, "margins"), dtype=np.float64).reshape(-1)
    if delta_margins.shape[0] != scores.shape[1]:
        raise InputError(f"margins must hold one value per class ({scores.shape[1]})")
    rows = np.arange(y.shape[0])
    gaps = scores - scores[rows, y][:, None] + delta_margins[y][:, None]
    gaps[rows, y] = -np.inf
    hinge = np.maximum(gaps.max(axis=1), 0.0)
    smooth = np.logaddexp(0.0, logsumexp(gaps, axis=1))
    return hinge, smooth


def _evaluate_ldam_relaxation(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _evaluation_split(splits)
    margins = ldam_optimal_margins(outputs.class_counts, max_margin=0.5)
    hinge, smooth = ldam_losses(outputs.logits, outputs.labels, margins)
    k = outputs.num_classes
    lower = float(np.max(hinge - smooth))
    upper = float(np.max(smooth - hinge - math.log(k)))
    return [
        BoundResult(
            "tutorial.ldam_relaxation",
            "as_printed",
            0.0,
            lower,
            {"mean_hinge": float(hinge.mean()), "mean_smooth": float(smooth.mean())},
            (),
            None,
            outputs.split,
            "max over samples of hinge - smooth LDAM loss <= 0 (the relaxation is an upper bound), max margin 0.5",
        ),
        BoundResult(
            "tutorial.ldam_relaxation",
            "as_printed",
            0.0,
            upper,
            {"log_num_classes": math.log(k)},
            (),
            None,
            outputs.split,
            "max over samples of smooth - hinge - log K <= 0 (the relaxation is within log K of the hinge)",
        ),
    ]


def sam_perturbation(gradient: Any, rho: float) -> np.ndarray:
    """The maximiser of e^T g over the CLOSED ball ||e|| <= rho: rho g / ||g|| (any point of the ball if g = 0).

    002, slide 'rwSAM' prints argmax over the OPEN ball ||e|| < rho, where the supremum rho ||g|| is not attained
    for g != 0 (errata tutorial.rwsam_perturbation); the closed ball is what SAM (Foret et al. 2021) uses.
    """
    g = np.asarray(check_finite(gradient, "gradient"), dtype=np.float64).reshape(-1)
    radius = float(rho)
    if not (math.isfinite(radius) and radius > 0):
        raise InputError(f"rho must be a finite radius > 0, got {rho!r}")
    norm = float(np.linalg.norm(g))
    return np.zeros_like(g) if norm == 0 else radius * g / norm


def improve_in_open_ball(candidate: Any, gradient: Any, rho: float) -> np.ndarray:
    """A point of the open ball ||e|| < rho with a strictly larger e^T g than ``candidate`` (g != 0).

    The witness that the open-ball argmax of rwSAM is empty: halfway between the candidate's value and the
    supremum rho ||g||, along g.
    """
    e = np.asarray(check_finite(candidate, "candidate"), dtype=np.float64).reshape(-1)
    g = np.asarray(check_finite(gradient, "gradient"), dtype=np.float64).reshape(-1)
    norm = float(np.linalg.norm(g))
    if norm == 0 or not float(np.linalg.norm(e)) < rho:
        raise InputError("needs a non-zero gradient and a candidate strictly inside the ball")
    # e^T g <= ||e|| ||g|| < rho ||g||: move to the point of norm (||e|| + rho)/2 along g
    return (float(np.linalg.norm(e)) + rho) / 2.0 * g / norm


def _head_gradient(outputs: Any) -> np.ndarray:
    """Gradient of the mean cross-entropy w.r.t. the head [W, b] on this split (closed form)."""
    probabilities = softmax(outputs.logits, axis=1)
    probabilities[np.arange(outputs.num_samples), outputs.labels] -= 1.0
    features = np.hstack([outputs.embeddings, np.ones((outputs.num_samples, 1))])
    return (probabilities.T @ features / outputs.num_samples).reshape(-1)


def _evaluate_rwsam(corrected: bool):
    statement = "tutorial.rwsam_perturbation_corrected" if corrected else "tutorial.rwsam_perturbation"

    def evaluate(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
        outputs = splits.train
        gradient = _head_gradient(outputs)
        rho = 0.05  # SAM's default radius
        best = sam_perturbation(gradient, rho)
        supremum = rho * float(np.linalg.norm(gradient))
        if corrected:
            return [
                BoundResult(
                    statement,
                    "corrected",
                    supremum,
                    float(best @ gradient),
                    {"rho": rho, "gradient_norm": float(np.linalg.norm(gradient))},
                    (),
                    None,
                    outputs.split,
                    "closed ball: e*^T g at e* = rho g/||g|| (measured) attains rho ||g|| (value); CE gradient of "
                    "the head on the training split",
                )
            ]
        return [
            BoundResult(
                statement,
                "as_printed",
                rho * (1 - 1e-9),
                float(np.linalg.norm(best)),
                {"rho": rho, "supremum": supremum},
                # g = 0: every point maximises, the origin is inside the open ball and the row holds
                (),
                None,
                outputs.split,
                "for g != 0 the only maximiser of e^T g has norm rho (measured); the open ball needs norm < rho "
                "(value, rho (1 - 1e-9)): the printed argmax is empty",
            )
        ]

    return evaluate


def ltssl_refine(pseudo_labels: Any, class_totals: Any, weights: Any = None, iterations: int = 200) -> np.ndarray:
    """Algorithm 1 of the LTSSL slide (DualCoordinateAscent), as printed, for ``iterations`` = T steps.

    Solves min sum_m w_m KL(y^_m || y^0_m) s.t. sum_m y^_m(k) = M_k, sum_k y^_m(k) = 1 by alternating the
    alpha (row) and beta (column) updates; the output y^0_m(k) alpha_m beta_k^{1/w_m} has the KKT form of the
    problem, so it is the unique solution once both constraints hold (in the limit T -> infinity; the row
    constraint holds after every odd step and at t = T). ``pseudo_labels`` (M, K) rows on the simplex, > 0;
    ``class_totals`` (K,) > 0 summing to M; ``weights`` (M,) > 0 (default 1).
    """
    y0 = check_matrix(pseudo_labels, "pseudo_labels")
    m, k = y0.shape
    if np.any(y0 <= 0) or not np.allclose(y0.sum(axis=1), 1.0, atol=1e-9):
        raise InputError("pseudo_labels must be strictly positive rows summing to 1")
    totals = np.asarray(check_finite(class_totals, "class_totals"), dtype=np.float64).reshape(-1)
    if totals.shape[0] != k or np.any(totals <= 0) or not math.isclose(totals.sum(), m, rel_tol=1e-9):
        raise InputError(f"class_totals must hold {k} positive values summing to the number of rows ({m})")
    w = np.ones(m) if weights is None else _check_positive_vector(weights, "weights", length=m)
    if int(iterations) < 1:
        raise InputError("iterations (T) must be >= 1")
    alpha, beta = np.ones(m), np.ones(k)
    exponent = 1.0 / w
    for t in range(1, int(iterations) + 1):
        if t % 2 == 1 or t == int(iterations):
            alpha = 1.0 / np.sum(y0 * beta[None, :] ** exponent[:, None], axis=1)
        else:
            coefficients = y0 * alpha[:, None]  # (M, K): sum_m c_mk Z^{1/w_m} = M_k, increasing in Z
            if np.all(w == w[0]):
                beta = (totals / coefficients.sum(axis=0)) ** w[0]
            else:
                low, high = np.zeros(k), np.ones(k)
                while np.any(np.sum(coefficients * high[None, :] ** exponent[:, None], axis=0) < totals):
                    high *= 2.0
                for _ in range(200):
                    middle = (low + high) / 2
                    below = np.sum(coefficients * middle[None, :] ** exponent[:, None], axis=0) < totals
                    low, high = np.where(below, middle, low), np.where(below, high, middle)
                beta = (low + high) / 2
    return y0 * alpha[:, None] * beta[None, :] ** exponent[:, None]


def ltssl_objective(refined: Any, pseudo_labels: Any, weights: Any = None) -> float:
    """sum_m w_m KL(y^_m || y^0_m) of the LTSSL slide's problem (1)."""
    y = check_matrix(refined, "refined")
    y0 = check_matrix(pseudo_labels, "pseudo_labels", rows=y.shape[0], columns=y.shape[1])
    w = np.ones(y.shape[0]) if weights is None else _check_positive_vector(weights, "weights", length=y.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * (np.log(y) - np.log(y0)), 0.0)
    return float(w @ terms.sum(axis=1))


def _evaluate_ltssl(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _evaluation_split(splits)
    keep = slice(0, 2000)  # the first 2000 samples keep 200 sweeps cheap on large test splits
    pseudo = np.clip(softmax(outputs.logits[keep], axis=1), 1e-300, None)
    pseudo /= pseudo.sum(axis=1, keepdims=True)
    labels = outputs.labels[keep]
    counts = np.bincount(labels, minlength=outputs.num_classes).astype(np.float64)
    present = counts > 0
    pseudo = pseudo[:, present] / pseudo[:, present].sum(axis=1, keepdims=True)
    results = []
    for iterations in (2, 200):
        refined = ltssl_refine(pseudo, counts[present], iterations=iterations)
        residual = float(np.max(np.abs(refined.sum(axis=0) - counts[present])) / labels.shape[0])
        rows_residual = float(np.max(np.abs(refined.sum(axis=1) - 1.0)))
        results.append(
            BoundResult(
                "tutorial.ltssl_refinement",
                "as_printed",
                1e-6,
                max(residual, rows_residual),
                {"iterations": float(iterations), "column_residual": residual, "row_residual": rows_residual},
                (),
                None,
                outputs.split,
                "Algorithm 1 (T iterations) on softmax pseudo-labels with the split's class totals: max constraint "
                "violation of its output, per sample (0 for 'the unique solution'; reached only as T grows)",
            )
        )
    return results


def records_l2_bound(
    num_samples: float, num_classes: int, natarajan_dim: float, ambiguity: float, delta: float
) -> float:
    """The right side of RECORDS' Proposition 1 (002, slide 'RECORDS'), as printed.

    4 / ((ln 2 - ln(1 + eta)) N) (d_H (ln 2N + 2 ln C) - ln delta + ln 2), for eta in [0, 1), delta in (0, 1).
    """
    n, c, d = float(num_samples), int(num_classes), float(natarajan_dim)
    eta, dlt = float(ambiguity), float(delta)
    if not (n >= 1 and c >= 2 and d >= 0 and 0.0 <= eta < 1.0 and 0.0 < dlt < 1.0):
        raise InputError("need N >= 1, C >= 2, d_H >= 0, ambiguity eta in [0, 1) and delta in (0, 1)")
    complexity = d * (math.log(2 * n) + 2 * math.log(c)) - math.log(dlt) + math.log(2)
    return 4.0 / ((math.log(2) - math.log1p(eta)) * n) * complexity


def _evaluate_records(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    n, c = outputs.num_samples, outputs.num_classes
    # d_H = 1 is the smallest non-trivial Natarajan dimension: the bound at d_H = 1, eta = 0 is its best case
    best = records_l2_bound(n, c, 1.0, 0.0, delta)
    return [
        BoundResult(
            "tutorial.records_prop1",
            "shape",
            best,
            terms={"num_samples": float(n), "vacuous": float(best >= math.sqrt(2.0))},
            split=outputs.split,
            note="the printed right side at this N and C with d_H = 1 and eta = 0 (its smallest value); an L2 "
            "distance between distributions is <= sqrt 2, so a value >= sqrt 2 says nothing (nothing measured)",
        )
    ]


def ts_temperature(t: Any, period: float, tau_low: float, tau_high: float) -> np.ndarray:
    """tau_cos(t) = (tau_+ - tau_-) (1 + cos(2 pi t / T)) / 2 + tau_- (002, slide 'TS: Temperature Schedules')."""
    steps = np.asarray(check_finite(t, "t"), dtype=np.float64)
    if not (period > 0 and 0 < tau_low <= tau_high):
        raise InputError("need period T > 0 and 0 < tau_- <= tau_+")
    return (tau_high - tau_low) * (1.0 + np.cos(2.0 * np.pi * steps / period)) / 2.0 + tau_low


def _evaluate_ts(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    low, high, period = 0.1, 1.0, 400.0  # the slide's tau values (0.1 and 1.0), T of the TS paper
    steps = np.arange(0, 2 * int(period) + 1)
    values = ts_temperature(steps, period, low, high)
    return [
        BoundResult(
            "tutorial.ts_schedule",
            "as_printed",
            high,
            float(values.max()),
            {"tau_minus": low, "tau_plus": high, "min": float(values.min()), "at_half_period": float(values[200])},
            split=splits.train.split,
            note="max of tau_cos over two periods (measured) <= tau_+ (value); the schedule, not the checkpoint",
        ),
        BoundResult(
            "tutorial.ts_schedule",
            "as_printed",
            -low,
            -float(values.min()),
            {"tau_minus": low},
            split=splits.train.split,
            note="-min of tau_cos (measured) <= -tau_- (value): the schedule stays in [tau_-, tau_+]",
        ),
    ]


def bcl_memorization_scores(losses: Any) -> np.ndarray:
    """BCL's M_i = (1/2) ((L_i - mean L) / max_j |L_j - mean L| + 1) (002, slide 'BCL'), in [0, 1].

    Undefined (0/0) when all losses are equal: InputError (the slide's extra assumption).
    """
    values = np.asarray(check_finite(losses, "losses"), dtype=np.float64).reshape(-1)
    deviation = values - values.mean()
    spread = float(np.max(np.abs(deviation), initial=0.0))
    # equal losses leave only rounding noise in the deviation (the mean of equal floats need not equal them)
    if spread <= 1e-12 * max(1.0, abs(float(values.mean()))):
        raise InputError("losses are all equal: BCL's memorization score is 0/0 (needs two different losses)")
    return 0.5 * (deviation / spread + 1.0)


def bcl_moving_average(losses: Any, beta: float) -> np.ndarray:
    """L^m_{i,t} = beta L^m_{i,t-1} + (1 - beta) L_{i,t}, L^m_{i,0} = L_{i,0}: rows = epochs (002, slide 'BCL')."""
    history = check_matrix(losses, "losses")
    if not 0.0 <= beta <= 1.0:
        raise InputError(f"beta must be in [0, 1], got {beta!r}")
    averaged = history.copy()
    for t in range(1, history.shape[0]):
        averaged[t] = beta * averaged[t - 1] + (1 - beta) * history[t]
    return averaged


def _evaluate_bcl(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    losses = -(outputs.logits - logsumexp(outputs.logits, axis=1, keepdims=True))[
        np.arange(outputs.num_samples), outputs.labels
    ]
    scores = bcl_memorization_scores(losses)  # InputError when every loss is equal: the score is 0/0 there
    assumption = ()
    return [
        BoundResult(
            "tutorial.bcl_memorization_range",
            "as_printed",
            1.0,
            float(scores.max()),
            {"min": float(scores.min())},
            assumption,
            None,
            outputs.split,
            "max over training samples of M_i from their CE losses (measured) <= 1 (value)",
        ),
        BoundResult(
            "tutorial.bcl_memorization_range",
            "as_printed",
            0.0,
            -float(scores.min()),
            {},
            assumption,
            None,
            outputs.split,
            "-min over training samples of M_i (measured) <= 0 (value): M_i is a probability in [0, 1]",
        ),
    ]


def uniform_structure_exists(num_vectors: int, inner_product: float) -> bool:
    """K unit vectors with every pairwise inner product C exist iff -1/(K-1) <= C <= 1 (002, slide 'GH').

    Their Gram (1 - C) I + C 11^T has eigenvalues 1 - C (K-1 times) and 1 + (K-1) C; it is a Gram iff both >= 0.
    """
    k = int(num_vectors)
    if k < 2:
        raise InputError("num_vectors must be >= 2")
    return bool(-1.0 / (k - 1) - 1e-12 <= float(inner_product) <= 1.0 + 1e-12)


def uniform_structure(num_vectors: int, inner_product: float) -> np.ndarray:
    """K unit vectors (rows) in R^K with pairwise inner products C, from the Gram's eigen-decomposition."""
    k, c = int(num_vectors), float(inner_product)
    if not uniform_structure_exists(k, c):
        raise InputError(f"no {k} unit vectors have pairwise inner product {c}: need -1/(K-1) <= C <= 1")
    gram = (1.0 - c) * np.eye(k) + c * np.ones((k, k))
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    return eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))[None, :]


def gh_uniform_loss(num_vectors: int, inner_product: float) -> tuple[float, float]:
    """Per-sample GH cross-entropy at category-level uniformity: (computed, printed).

    A feature equal to its prototype M_y scores the prototypes by M_y^T M_k (1 for k = y, C otherwise), so
    -log softmax_y = log(1 + (K-1) e^{C-1}), the printed -log(1 / (1 + (K-1) exp(C-1))) of Theorem 3.4 (5).
    """
    vectors = uniform_structure(num_vectors, inner_product)
    scores = vectors @ vectors.T
    computed = float(np.mean(logsumexp(scores, axis=1) - np.diag(scores)))
    printed = -math.log(1.0 / (1.0 + (num_vectors - 1) * math.exp(inner_product - 1.0)))
    return computed, printed


def _evaluate_gh(statement: str):
    def evaluate(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
        outputs = _evaluation_split(splits)
        k = outputs.num_classes
        weight = outputs.head_weight
        norms = np.linalg.norm(weight, axis=1, keepdims=True)
        if k < 2 or np.any(norms == 0):
            raise InputError(f"{statement} needs >= 2 classes and a head with non-zero rows")
        unit = weight / norms
        off_diagonal = (unit @ unit.T)[~np.eye(k, dtype=bool)]
        if statement == "tutorial.gh_uniform_structure":
            spread = float(off_diagonal.max() - off_diagonal.min())
            return [
                BoundResult(
                    statement,
                    "diagnostic",
                    0.0,
                    spread,
                    {"mean_inner_product": float(off_diagonal.mean()), "smallest_possible_C": -1.0 / (k - 1)},
                    split=outputs.split,
                    note="spread of the pairwise cosines of the head rows (0 iff they form a geometric uniform "
                    "structure); C >= -1/(K-1) always",
                )
            ]
        computed, printed = gh_uniform_loss(k, float(np.clip(off_diagonal.mean(), -1.0 / (k - 1), 1.0)))
        return [
            BoundResult(
                statement,
                "as_printed",
                1e-12,
                abs(computed - printed) / max(1.0, printed),
                {"computed": computed, "printed": printed},
                split=outputs.split,
                note="the per-sample GH term of (5) at uniformity, with C = the head's mean pairwise cosine: the "
                "printed closed form vs the cross-entropy computed on that structure",
            )
        ]

    return evaluate


__all__ += [
    "am_balanced_error",
    "bcl_memorization_scores",
    "bcl_moving_average",
    "gh_uniform_loss",
    "improve_in_open_ball",
    "ldam_losses",
    "logit_adjusted_loss_forms",
    "ltssl_objective",
    "ltssl_refine",
    "plugin_regret_bound",
    "records_l2_bound",
    "reweighting_disagreement",
    "risk_decomposition",
    "sam_perturbation",
    "ts_temperature",
    "uniform_structure",
    "uniform_structure_exists",
]

STATEMENTS = STATEMENTS + (
    Statement(
        "tutorial.risk_decomposition",
        "002, slide 'A direct decomposition on the risk minimization'",
        "identity",
        "R(f) = E_P[l] = sum_k P(y = k) E_{P(x|y=k)}[l] (law of total expectation); checked on the split's CE",
        _evaluate_risk_decomposition,
    ),
    Statement(
        "tutorial.plugin_am_consistency",
        "002, slide 'On Statistical Consistency of Binary Classification with Balanced Accuracy', Theorem 3",
        "symbolic",
        "sign(eta^_S - p^_S) is AM-consistent; quantitatively regret <= (E|eta^ - eta| + |p^ - p|)/(2p(1-p)) "
        "(tests). On a checkpoint: one-vs-rest balanced error of the plug-in threshold pi_k vs 1/2 (diagnostic)",
        _evaluate_plugin_consistency,
    ),
    Statement(
        "tutorial.la_loss_two_forms",
        "002, slide 'The logit adjusted softmax cross-entropy'",
        "identity",
        "-log softmax(f + tau log pi)_y = log[1 + sum_{y' != y} (pi_y'/pi_y)^tau e^{f_y' - f_y}]",
        _evaluate_la_two_forms,
    ),
    Statement(
        "tutorial.reweighting_vs_logit_adjustment",
        "002, slide 'The logit adjusted softmax cross-entropy' (the '⇎' remark)",
        "symbolic",
        "w_1^T Phi/pi_1 < w_2^T Phi/pi_2 is not equivalent to e^{w_1^T Phi}/pi_1 < e^{w_2^T Phi}/pi_2",
        _evaluate_reweighting_remark,
    ),
    Statement(
        "tutorial.ldam_relaxation",
        "002, slide 'LDAM' (the smooth relaxation of the hinge loss)",
        "inequality",
        "max(max_{j != y} z_j - z_y + Delta_y, 0) <= L_LDAM <= that + log K",
        _evaluate_ldam_relaxation,
    ),
    Statement(
        "tutorial.rwsam_perturbation",
        "002, slide 'rwSAM' (eps_w = argmax_{||eps|| < rho} eps^T grad L_w)",
        "symbolic",
        "the perturbation is an argmax over the open ball ||eps|| < rho, as printed",
        _evaluate_rwsam(False),
    ),
    Statement(
        "tutorial.rwsam_perturbation_corrected",
        "002, slide 'rwSAM' (corrected: closed ball)",
        "identity",
        "argmax_{||eps|| <= rho} eps^T g = rho g / ||g|| for g != 0, value rho ||g||",
        _evaluate_rwsam(True),
    ),
    Statement(
        "tutorial.ltssl_refinement",
        "002, slide 'Long-tailed Semi-Supervised Learning', problem (1), Algorithm 1 ('Ensure: the unique solution')",
        "identity",
        "DualCoordinateAscent returns the unique minimiser of sum w_m KL(y^_m || y^0_m) under the class totals",
        _evaluate_ltssl,
    ),
    Statement(
        "tutorial.records_prop1",
        "002, slide 'RECORDS: Rebalancing for dynamic bias', Proposition 1",
        "symbolic",
        "L_2(h~) < 4/((ln 2 - ln(1 + eta)) N) (d_H (ln 2N + 2 ln C) - ln delta + ln 2) w.p. >= 1 - delta",
        _evaluate_records,
    ),
    Statement(
        "tutorial.ts_schedule",
        "002, slide 'TS: Temperature Schedules for contrastive learning'",
        "identity",
        "tau_cos(t) = (tau_+ - tau_-)(1 + cos(2 pi t/T))/2 + tau_- alternates between tau_- and tau_+ with period T",
        _evaluate_ts,
    ),
    Statement(
        "tutorial.bcl_memorization_range",
        "002, slide 'BCL: Boosted Contrastive Learning' (M_{i,t} and u < M_i)",
        "inequality",
        "M_{i,t} = (1/2)((L - mean L)/max|L - mean L| + 1) lies in [0, 1], so 'u < M_i' is a valid probability",
        _evaluate_bcl,
    ),
    Statement(
        "tutorial.gh_uniform_structure",
        "002, slide 'GH: Geometric Harmonization' (Geometric Uniform Structure, Definition 3.1)",
        "symbolic",
        "K unit vectors with M_i^T M_j = C (i != j) exist iff -1/(K-1) <= C <= 1; equal angles, equal partition "
        "only at C = -1/(K-1)",
        _evaluate_gh("tutorial.gh_uniform_structure"),
    ),
    Statement(
        "tutorial.gh_theorem34",
        "002, slide 'GH: Geometric Harmonization', Theorem 3.4 (eq. 5)",
        "symbolic",
        "L* = -2 sum_l pi_l log(1/(1 + (K-1) exp(C-1))) + log(J/L) at category-level uniformity",
        _evaluate_gh("tutorial.gh_theorem34"),
    ),
)


def ltssl_kkt_residual(refined: Any, pseudo_labels: Any, weights: Any = None) -> float:
    """How far w_m log(y^_mk / y^0_mk) is from a sum a_m + b_k (0: the KKT form of the LTSSL problem (1)).

    Stationarity of sum_m w_m KL(y^_m || y^0_m) + row and column multipliers gives exactly that form; with both
    constraints met it certifies the (unique, strictly convex) minimiser. Double-centring residual, max norm.
    """
    y = check_matrix(refined, "refined")
    y0 = check_matrix(pseudo_labels, "pseudo_labels", rows=y.shape[0], columns=y.shape[1])
    w = np.ones(y.shape[0]) if weights is None else _check_positive_vector(weights, "weights", length=y.shape[0])
    if np.any(y <= 0) or np.any(y0 <= 0):
        raise InputError("refined and pseudo_labels must be strictly positive (logarithms)")
    # y = y0 alpha_m beta_k^{1/w_m}  <=>  w_m log(y / y0) = w_m log alpha_m + log beta_k
    scaled = w[:, None] * (np.log(y) - np.log(y0))
    centred = scaled - scaled.mean(axis=1, keepdims=True) - scaled.mean(axis=0, keepdims=True) + scaled.mean()
    return float(np.max(np.abs(centred)))


def _evaluate_ltssl_corrected(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _evaluation_split(splits)
    keep = slice(0, 2000)
    pseudo = np.clip(softmax(outputs.logits[keep], axis=1), 1e-300, None)
    pseudo /= pseudo.sum(axis=1, keepdims=True)
    counts = np.bincount(outputs.labels[keep], minlength=outputs.num_classes).astype(np.float64)
    present = counts > 0
    pseudo = pseudo[:, present] / pseudo[:, present].sum(axis=1, keepdims=True)
    refined = ltssl_refine(pseudo, counts[present], iterations=20)
    residual = ltssl_kkt_residual(refined, pseudo)
    scale = float(np.max(np.abs(np.log(refined) - np.log(pseudo))))
    return [
        BoundResult(
            "tutorial.ltssl_refinement_corrected",
            "corrected",
            1e-9 * max(1.0, scale),
            residual,
            {"iterations": 20.0, "log_ratio_scale": scale},
            (),
            None,
            outputs.split,
            "the output of every iteration has the KKT form y0 alpha_m beta_k^{1/w_m} (residual of log(y/y0) "
            "from a row + column sum); it is the solution once the constraints hold (T -> infinity)",
        )
    ]


def _evaluate_gh_corrected(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _evaluation_split(splits)
    k = outputs.num_classes
    if k < 2:
        raise InputError("tutorial.gh_uniform_structure_corrected needs >= 2 classes")
    floor = -1.0 / (k - 1)
    vectors = uniform_structure(k, floor)  # the extreme case: the simplex ETF
    gram = vectors @ vectors.T
    gap = float(np.max(np.abs(gram - ((1 - floor) * np.eye(k) + floor))))
    return [
        BoundResult(
            "tutorial.gh_uniform_structure_corrected",
            "corrected",
            1e-9,
            gap,
            {"smallest_C": floor, "K": float(k)},
            split=outputs.split,
            note="K unit vectors with pairwise inner product C = -1/(K-1) built from the Gram (1-C)I + C 11^T "
            "(max Gram error); below that C no such vectors exist (its eigenvalue 1 + (K-1)C < 0)",
        )
    ]


__all__ += ["ltssl_kkt_residual"]

STATEMENTS = STATEMENTS + (
    Statement(
        "tutorial.ltssl_refinement_corrected",
        "002, slide 'Long-tailed Semi-Supervised Learning' (corrected: the limit of Algorithm 1)",
        "identity",
        "if y^0 > 0, w > 0 and sum_k M_k = M, problem (1) has one solution, of the form y^0_mk alpha_m beta_k^{1/w_m}; "
        "Algorithm 1's iterates keep that form and reach it as T -> infinity",
        _evaluate_ltssl_corrected,
    ),
    Statement(
        "tutorial.gh_uniform_structure_corrected",
        "002, slide 'GH: Geometric Harmonization', Definition 3.1 (corrected)",
        "identity",
        "K unit vectors with M_i^T M_j = C for all i != j exist iff -1/(K-1) <= C <= 1 (Gram (1-C) I + C 11^T PSD)",
        _evaluate_gh_corrected,
    ),
)

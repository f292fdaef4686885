"""The tutorial's loss-side statements (tag ``tutorial``, docs/papers.md), as pure functions of arrays.

How each printed statement was read from the machine-extracted slides (slide titles cited):

- Theorem 1 (slide "An remarkable point on the statistical consistency", after Menon et al. 2021): the
  pairwise loss ``l(y, f) = alpha_y log[1 + sum_{y' != y} exp(Delta_{yy'}) exp(f_{y'} - f_y)]`` with
  ``alpha_y = delta_y / P(y)`` and ``Delta_{yy'} = log(delta_{y'} / delta_y)``, ``delta in R_{>0}^L``,
  is Fisher consistent for the balanced error ``BER(f) = 1/L sum_y P_{x|y}(y not in argmax f(x))``:
  every minimiser of the conditional risk ``sum_y eta_y(x) l(y, f)`` predicts
  ``argmax_y eta_y(x) / P(y)``, the Bayes-optimal balanced classifier.
- Threshold moving (slide "Threshold-Moving"): ``p^_k = p_k sum_{k'} C[k][k'] / eta`` with
  ``p = softmax(z)`` and row cost sums ``exp(-tau log pi_k)`` has the same argmax as post-hoc logit
  adjustment ``z_k - tau log pi_k``; the costs decrease in ``pi_k`` (for tau > 0).
- LDAM margins (slide "Class-wise margin calibration"): minimising
  ``1/(gamma_1 sqrt(n_1)) + 1/(gamma_2 sqrt(n_2))`` subject to ``gamma_1 + gamma_2 = gamma`` gives
  ``gamma_j = C / n_j^{1/4}``; slide "LDAM": the smooth relaxation of the margin hinge.
- Effective number (slide "loss re-weighting by effective number"): ``E_n = (1 - beta^n) / (1 - beta)``
  (computed by ``ltbounds.per_class.effective_number``), ``lim_{beta -> 1} E_n = n``, and the
  class-balanced weight ``1 / E_{n_y}``.
- Further slides: the risk decomposition, Theorem 3 (plug-in AM consistency, Menon et al. 2013), the two
  forms of the logit-adjusted loss and the re-weighting remark, rwSAM's perturbation, LTSSL's
  Algorithm 1 and RECORDS' Proposition 1.

The representation-side slides (simplex ETF, dot-regression loss, GH, TS, BCL) are in
``ltbounds.bounds.representation``. The errata verdicts and the evaluators on a checkpoint are declared
in ``ltbounds.statements.tutorial``. All maths is float64 NumPy/SciPy; the SymPy derivations
(``*_symbolic``) import SymPy lazily.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ltbounds.bounds.elm import logsumexp  # max-shifted, exp in place: scipy's makes ~8 passes and 5 temporaries
from ltbounds.checks import InputError, check_class_counts, check_finite, check_labels, check_matrix
from ltbounds.per_class import class_balanced_weights  # one home: ltbounds.per_class; re-exported here

__all__ = [
    "am_balanced_error",
    "balanced_bayes_scores",
    "balanced_error_rate",
    "class_balanced_weights",
    "effective_number_symbolic",
    "fisher_binary_symbolic",
    "fisher_conditional_risk",
    "fisher_consistent_parameters",
    "fisher_pairwise_loss",
    "improve_in_open_ball",
    "ldam_losses",
    "ldam_margin_objective",
    "ldam_margins_symbolic",
    "ldam_optimal_margins",
    "logit_adjusted_loss_forms",
    "logit_adjustment_costs",
    "ltssl_kkt_residual",
    "ltssl_objective",
    "ltssl_refine",
    "minimise_conditional_risk",
    "plugin_regret_bound",
    "post_hoc_logit_adjustment",
    "records_l2_bound",
    "reweighting_disagreement",
    "risk_decomposition",
    "sam_perturbation",
    "softmax_rows",
    "threshold_moving_agreement",
    "threshold_moving_scores",
]


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------


def checked_priors(priors: Any, num_classes: int) -> np.ndarray:
    """Priors as the functions of this module read them (finite, > 0, one per class, renormalised)."""
    return _check_distribution(priors, "priors", length=num_classes)


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
# Fisher consistency of the pairwise loss (Theorem 1) and the balanced error
# ---------------------------------------------------------------------------------------------


def fisher_consistent_parameters(priors: Any, delta_weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """Weights and margins of Theorem 1: ``alpha_y = delta_y / P(y)``, ``Delta_{yy'} = log(delta_{y'} / delta_y)``.

    Source: tutorial, slide "statistical consistency of long-tailed multi-class classification",
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

    Source: tutorial, Theorem 1's loss (Menon et al. 2021, eq. 11). Computed stably as
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
    ``sum_y eta_y alpha_y softmax(Delta_{y,:} + f) - eta * alpha``. Source: tutorial, Theorem 1.
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

    Source: tutorial, Theorem 1 (checked numerically). The risk is invariant to adding a constant to ``f``;
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

    Source: tutorial, slide "Class-wise logit adjustment" (``argmax P^bal(y|x) = argmax s*_y(x) - ln P(y)``).
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

    Source: tutorial, slide "Class-wise logit adjustment". ``ties="printed"``: as printed, a sample is an
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
    return balanced_error_of_errors(errors, targets, classes)


def balanced_error_of_errors(errors: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    """``balanced_error_rate`` from per-sample error indicators (checked labels): 1/L sum over the classes
    present of the class's error rate (so that the indicators may be computed in row chunks)."""
    per_class_samples = np.bincount(labels, minlength=num_classes)
    per_class_errors = np.bincount(labels, weights=np.asarray(errors, dtype=np.float64), minlength=num_classes)
    present = per_class_samples > 0
    return float(np.mean(per_class_errors[present] / per_class_samples[present]))


# ---------------------------------------------------------------------------------------------
# threshold moving and post-hoc logit adjustment
# ---------------------------------------------------------------------------------------------


def logit_adjustment_costs(priors: Any, tau: float = 1.0) -> np.ndarray:
    """Row cost sums of threshold moving that recover logit adjustment: ``sum_k' C[k][k'] = exp(-tau log pi_k)``.

    Source: tutorial, slide "Threshold-Moving". Equals ``pi_k^{-tau}``: decreasing in ``pi_k`` for tau > 0
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

    Source: tutorial, slide "Threshold-Moving" (moving function). ``eta`` renormalises each row to sum to 1.
    Computed as printed, in the probability domain (softmax with the max subtracted for stability).
    """
    z = check_matrix(logits, "logits")
    costs = _check_positive_vector(cost_sums, "cost_sums", length=z.shape[1])
    moved = softmax_rows(z)
    moved *= costs[None, :]
    moved /= moved.sum(axis=1, keepdims=True)
    return moved


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a float64 (n, K) array: e^{z - max_k z_k} / sum_k e^{z_k - max_k z_k}, the same
    operations as ``scipy.special.softmax(z, axis=1)`` (equal to it bit for bit), done in one new array
    instead of scipy's three (n, K) temporaries, each page-faulted afresh on a (rows, 8,142) chunk."""
    probabilities = logits - logits.max(axis=1, keepdims=True)
    np.exp(probabilities, out=probabilities)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities


def post_hoc_logit_adjustment(logits: Any, priors: Any, tau: float = 1.0) -> np.ndarray:
    """Post-hoc logit adjustment scores ``f_y(x) - tau log pi_y`` (argmax = argmax ``exp(f_y)/pi_y^tau``).

    Source: tutorial, slide "Post-hoc logit adjustment".
    """
    z = check_matrix(logits, "logits")
    pi = _check_distribution(priors, "priors", length=z.shape[1])
    return z - _check_tau(tau) * np.log(pi)[None, :]


def threshold_moving_agreement(logits: Any, priors: Any, tau: float = 1.0) -> tuple[float, np.ndarray]:
    """Fraction of samples on which threshold moving (costs ``exp(-tau log pi)``) and post-hoc LA agree.

    Source: tutorial, slide "Threshold-Moving" (the claim that it recovers logit adjustment). Tie-aware:
    the rules agree on a sample when each rule's choice is a maximiser of the other rule's scores up
    to the rounding of float64 (absolute ``64 eps max(1, |z|, |tau log pi|)`` on the log scale), so
    exact ties and ties created by rounding are both agreement. Returns (fraction, per-sample flags).
    """
    z = check_matrix(logits, "logits")
    pi = _check_distribution(priors, "priors", length=z.shape[1])
    if z.shape[0] == 0:
        raise InputError("logits has no rows: agreement needs at least one sample")
    agree = threshold_moving_agreement_of_rows(z, pi, tau, float(np.abs(z).max()))
    return float(agree.mean()), agree


def threshold_moving_agreement_of_rows(z: np.ndarray, pi: np.ndarray, tau: float, largest: float) -> np.ndarray:
    """``threshold_moving_agreement``'s per-sample flags on checked rows ``z`` of a split whose largest |logit|
    is ``largest`` (the tolerance is relative to the whole split's scale, so rows may come in chunks)."""
    moved = threshold_moving_scores(z, logit_adjustment_costs(pi, tau))
    adjusted = post_hoc_logit_adjustment(z, pi, tau)
    rows = np.arange(z.shape[0])
    choice_moved = np.argmax(moved, axis=1)
    choice_adjusted = np.argmax(adjusted, axis=1)
    scale = max(1.0, largest, float(np.abs(tau * np.log(pi)).max()))
    tolerance = 64 * np.finfo(np.float64).eps * scale
    # each rule's maximum is its score at its own argmax (the same value as .max(axis=1), one pass fewer each)
    adjusted_ok = adjusted[rows, choice_moved] >= adjusted[rows, choice_adjusted] - tolerance
    moved_ok = moved[rows, choice_adjusted] >= moved[rows, choice_moved] * math.exp(-tolerance)
    return (choice_moved == choice_adjusted) | (adjusted_ok & moved_ok)


# ---------------------------------------------------------------------------------------------
# LDAM: class-wise margin calibration
# ---------------------------------------------------------------------------------------------


def ldam_margin_objective(margins: Any, class_counts: Any) -> float:
    """LDAM's margin trade-off ``sum_j 1 / (gamma_j sqrt(n_j))`` (the two-class form, summed over classes).

    Source: tutorial, slide "Class-wise margin calibration" (Cao et al. 2019). Needs every margin > 0.
    """
    counts = check_class_counts(class_counts)
    gamma = _check_positive_vector(margins, "margins", length=counts.shape[0])
    return float(np.sum(1.0 / (gamma * np.sqrt(counts))))


def ldam_optimal_margins(class_counts: Any, total: float | None = None, max_margin: float | None = None) -> np.ndarray:
    """Minimiser of ``sum_j 1/(gamma_j sqrt(n_j))`` subject to ``sum_j gamma_j = total``: ``gamma_j ∝ n_j^{-1/4}``.

    Source: tutorial, slide "Class-wise margin calibration": ``gamma_j = C / n_j^{1/4}``. Give either
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


def ldam_margins_symbolic() -> dict[str, Any]:
    """SymPy derivation for two classes: the constrained minimiser and the check ``gamma_1/gamma_2 = (n_2/n_1)^{1/4}``.

    Source: tutorial, slide "Class-wise margin calibration". Substitutes ``gamma_2 = gamma - gamma_1``,
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
# re-weighting by effective number (class-balanced loss)
# ---------------------------------------------------------------------------------------------


def effective_number_symbolic() -> dict[str, Any]:
    """SymPy checks: ``lim_{beta -> 1} (1 - beta^n)/(1 - beta) = n``; the geometric series
    ``E_n = sum_{j<n} beta^j`` for n = 1..12; ``1/E_n`` is the CB weight; ``E_n`` increases in n and in beta.

    Source: tutorial, slide "loss re-weighting by effective number".
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


def fisher_binary_symbolic() -> dict[str, Any]:
    """SymPy, two classes: Theorem 1's conditional risk in ``t = f_1 - f_2`` is minimised at
    ``t* = log(eta pi_2 / ((1 - eta) pi_1))``, independent of delta, so ``t* > 0 <=> eta/pi_1 > (1-eta)/pi_2``.

    Source: tutorial, Theorem 1 (binary case). Also checks the risk is convex in t.
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
# further slides: risk decomposition, Theorem 3, the logit-adjusted loss, LDAM relaxation, rwSAM, LTSSL, RECORDS
# ---------------------------------------------------------------------------------------------


def risk_decomposition(losses: Any, labels: Any, num_classes: int) -> tuple[float, float]:
    """tutorial, slide 'A direct decomposition on the risk minimization': E[l] = sum_k P(y=k) E[l | y=k].

    On a sample with empirical P(y=k): returns (mean loss, sum_k pi^_k x class-mean loss); equal up to rounding.
    """
    values = check_finite(np.asarray(losses, dtype=np.float64).reshape(-1), "losses")
    y = check_labels(labels, num_classes, "labels", length=values.shape[0])
    counts = np.bincount(y, minlength=num_classes)
    sums = np.bincount(y, weights=values, minlength=num_classes)
    present = counts > 0
    decomposed = float(np.sum(counts[present] / values.shape[0] * (sums[present] / counts[present])))
    return float(values.mean()), decomposed


def am_balanced_error(eta: Any, marginal: Any, predictions: Any) -> float:
    """Balanced (AM) error of a binary classifier on a finite input space, from the population.

    ``eta`` (m,) = P(y = 1 | x), ``marginal`` (m,) = P(x), ``predictions`` (m,) in {-1, +1}. With p = P(y = 1):
    BER(h) = (1/2) [sum_x P(x) eta(x) 1[h(x) = -1] / p + sum_x P(x) (1 - eta(x)) 1[h(x) = +1] / (1 - p)].
    Source: tutorial, slide 'On Statistical Consistency of Binary Classification with Balanced Accuracy'.
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


def logit_adjusted_loss_forms(logits: Any, labels: Any, priors: Any, tau: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Both printed forms of the logit-adjusted loss (tutorial, slide 'The logit adjusted softmax cross-entropy').

    -log [e^{f_y + tau log pi_y} / sum_y' e^{f_y' + tau log pi_y'}] and log[1 + sum_{y' != y} (pi_y'/pi_y)^tau
    e^{f_y' - f_y}], per sample (equal: divide numerator and denominator by e^{f_y + tau log pi_y}).
    """
    scores = check_matrix(logits, "logits")
    y = check_labels(labels, scores.shape[1], "labels", length=scores.shape[0])
    pi = _check_distribution(priors, "priors", length=scores.shape[1])
    t = float(check_finite(np.asarray(tau, dtype=np.float64), "tau"))
    rows = np.arange(y.shape[0])
    log_pi = np.log(pi)
    adjusted = scores + t * log_pi
    first = logsumexp(adjusted, axis=1) - adjusted[rows, y]
    # t (log pi_y' - log pi_y) + f_y' - f_y, evaluated in that order in one (n, K) array
    exponent = log_pi[None, :] - log_pi[y][:, None]
    exponent *= t
    exponent += scores
    exponent -= scores[rows, y][:, None]
    exponent[rows, y] = -np.inf
    second = np.logaddexp(0.0, logsumexp(exponent, axis=1))
    return first, second


def reweighting_disagreement(logits: Any, priors: Any) -> float:
    """Fraction of samples where argmax f_y / pi_y and argmax e^{f_y} / pi_y (post-hoc LA) differ.

    tutorial, slide 'The logit adjusted softmax cross-entropy': w_1^T Phi/pi_1 < w_2^T Phi/pi_2 is not equivalent to
    e^{w_1^T Phi}/pi_1 < e^{w_2^T Phi}/pi_2 (dividing the logits by the prior is not logit adjustment).
    Ties count as agreement only when both argmax sets are equal.
    """
    scores = check_matrix(logits, "logits")
    pi = _check_distribution(priors, "priors", length=scores.shape[1])
    return float(np.mean(reweighting_disagreement_of_rows(scores, pi)))


def reweighting_disagreement_of_rows(scores: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """``reweighting_disagreement``'s per-sample flags (the two argmax sets differ) on checked rows."""
    divided = scores / pi
    adjusted = scores - np.log(pi)
    first = divided == divided.max(axis=1, keepdims=True)
    second = adjusted == adjusted.max(axis=1, keepdims=True)
    return np.any(first != second, axis=1)


def ldam_losses(logits: Any, labels: Any, margins: Any) -> tuple[np.ndarray, np.ndarray]:
    """LDAM hinge max(max_{j != y} z_j - z_y + Delta_y, 0) and its smooth relaxation -log e^{z_y - Delta_y} /
    (e^{z_y - Delta_y} + sum_{j != y} e^{z_j}), per sample (tutorial, slide 'LDAM'; Cao et al. 2019).

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


def sam_perturbation(gradient: Any, rho: float) -> np.ndarray:
    """The maximiser of e^T g over the CLOSED ball ||e|| <= rho: rho g / ||g|| (any point of the ball if g = 0).

    tutorial, slide 'rwSAM' prints argmax over the OPEN ball ||e|| < rho, where the supremum rho ||g|| is not attained
    for g != 0 (see ``ltbounds errata``); the closed ball is what SAM (Foret et al. 2021) uses.
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
    equal_weights = bool(np.all(w == w[0]))

    def powers(base: np.ndarray) -> np.ndarray:
        # (M, K) base_k^{1/w_m}: when every w_m is equal, one row of K powers repeated over the M rows (the
        # same values as M x K calls of pow, in the same C-ordered array, so that the products and sums with
        # y0 below are formed and summed in the same order as before)
        if equal_weights:
            return np.repeat((base ** exponent[0])[None, :], m, axis=0)
        return base[None, :] ** exponent[:, None]

    for t in range(1, int(iterations) + 1):
        if t % 2 == 1 or t == int(iterations):
            alpha = 1.0 / np.sum(y0 * powers(beta), axis=1)
        else:
            coefficients = y0 * alpha[:, None]  # (M, K): sum_m c_mk Z^{1/w_m} = M_k, increasing in Z
            if equal_weights:
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
    return y0 * alpha[:, None] * powers(beta)


def ltssl_objective(refined: Any, pseudo_labels: Any, weights: Any = None) -> float:
    """sum_m w_m KL(y^_m || y^0_m) of the LTSSL slide's problem (1)."""
    y = check_matrix(refined, "refined")
    y0 = check_matrix(pseudo_labels, "pseudo_labels", rows=y.shape[0], columns=y.shape[1])
    w = np.ones(y.shape[0]) if weights is None else _check_positive_vector(weights, "weights", length=y.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * (np.log(y) - np.log(y0)), 0.0)
    return float(w @ terms.sum(axis=1))


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


def records_l2_bound(
    num_samples: float, num_classes: int, natarajan_dim: float, ambiguity: float, delta: float
) -> float:
    """The right side of RECORDS' Proposition 1 (tutorial, slide 'RECORDS'), as printed.

    4 / ((ln 2 - ln(1 + eta)) N) (d_H (ln 2N + 2 ln C) - ln delta + ln 2), for eta in [0, 1), delta in (0, 1).
    """
    n, c, d = float(num_samples), int(num_classes), float(natarajan_dim)
    eta, dlt = float(ambiguity), float(delta)
    if not (n >= 1 and c >= 2 and d >= 0 and 0.0 <= eta < 1.0 and 0.0 < dlt < 1.0):
        raise InputError("need N >= 1, C >= 2, d_H >= 0, ambiguity eta in [0, 1) and delta in (0, 1)")
    complexity = d * (math.log(2 * n) + 2 * math.log(c)) - math.log(dlt) + math.log(2)
    return 4.0 / ((math.log(2) - math.log1p(eta)) * n) * complexity

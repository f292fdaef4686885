"""Seed 002 (tutorial) statements: property tests (Hypothesis), SymPy derivations, SciPy/autograd checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize
from scipy.special import softmax

from ltbounds import per_class
from ltbounds.bounds import representation, tutorial
from ltbounds.checks import InputError
from ltbounds.outputs import Outputs
from ltbounds.statements import STATEMENTS, EvaluationSplits
from ltbounds.statements import tutorial as declared
from ltbounds.strategies import gaussian_outputs

# ----------------------------------------------------------------------------------------------
# strategies
# ----------------------------------------------------------------------------------------------

finite = {"allow_nan": False, "allow_infinity": False}


@st.composite
def priors_strategy(draw, num_classes: int) -> np.ndarray:
    """Priors with imbalance up to 1000 (exponential profile, shuffled, or a random draw)."""
    rho = draw(st.sampled_from([1.0, 10.0, 100.0, 1000.0]) | st.floats(1.0, 1000.0))
    if draw(st.booleans()):
        counts = rho ** (-np.arange(num_classes) / max(num_classes - 1, 1))
        counts = counts[draw(st.permutations(list(range(num_classes))))]
    else:
        counts = draw(arrays(np.float64, num_classes, elements=st.floats(1.0, rho)))
    return counts / counts.sum()


@st.composite
def class_counts_strategy(draw, min_classes: int = 2, max_classes: int = 12) -> np.ndarray:
    """Class counts including a class with exactly two samples and imbalance up to 1000."""
    k = draw(st.integers(min_classes, max_classes))
    counts = draw(arrays(np.int64, k, elements=st.integers(1, 2000)))
    if draw(st.booleans()):
        counts[draw(st.integers(0, k - 1))] = 2
    if draw(st.booleans()):
        counts[0] = 2000
        counts[-1] = 2
    return counts


@st.composite
def eta_strategy(draw, num_classes: int) -> np.ndarray:
    raw = draw(arrays(np.float64, num_classes, elements=st.floats(1e-3, 1.0)))
    return raw / raw.sum()


logit_scale = st.sampled_from([1.0, 10.0, 1e4])


@st.composite
def logits_strategy(draw, n: int | None = None, num_classes: int | None = None) -> np.ndarray:
    n = draw(st.integers(1, 30)) if n is None else n
    k = draw(st.integers(2, 8)) if num_classes is None else num_classes
    scale = draw(logit_scale)
    if draw(st.booleans()):  # integer logits: many exact ties
        values = draw(arrays(np.int64, (n, k), elements=st.integers(-3, 3))).astype(np.float64)
    else:
        values = draw(arrays(np.float64, (n, k), elements=st.floats(-1.0, 1.0, **finite)))
    return values * scale


# ----------------------------------------------------------------------------------------------
# tutorial.fisher_consistency
# ----------------------------------------------------------------------------------------------


@given(st.integers(2, 6).flatmap(lambda k: st.tuples(eta_strategy(k), priors_strategy(k), eta_strategy(k))))
@settings(max_examples=25)
def test_fisher_minimiser_of_conditional_risk_is_bayes_balanced(case):
    eta, priors, delta_weights = case
    alpha, margins = tutorial.fisher_consistent_parameters(priors, delta_weights * 7.0)
    f_star = tutorial.minimise_conditional_risk(eta, alpha, margins)
    target = eta / priors
    # regret of the minimiser's decision for the balanced error at this x (0 iff it is Bayes-optimal)
    regret = (target.max() - target[np.argmax(f_star)]) / target.max()
    assert regret <= 1e-6
    closed_form = tutorial.balanced_bayes_scores(eta, priors)
    closed_form = closed_form - closed_form.mean()
    # Theorem 1's closed form is the minimiser of the convex conditional risk: its gradient vanishes (to
    # round-off) and the numerical minimiser finds nothing lower. Checked in risk and gradient rather than as
    # |f* - closed form| <= 1e-4: with a prior of 4e-3 and a weight of 3e-4 the risk is flat to 1e-13 along
    # one direction, where L-BFGS-B stops 1.1e-4 away at gradient 1e-9 (a derandomized draw found this).
    risk, gradient = tutorial.fisher_conditional_risk(closed_form, eta, alpha, margins)
    assert np.abs(gradient).max() <= 1e-9 * max(1.0, float(np.sum(eta * alpha)))
    assert risk <= tutorial.fisher_conditional_risk(f_star, eta, alpha, margins)[0] + 1e-12 * max(1.0, abs(risk))


@st.composite
def sparse_eta_strategy(draw, num_classes: int) -> np.ndarray:
    """Class posteriors with exact zeros (some classes impossible at this x) and exact ties."""
    raw = draw(arrays(np.float64, num_classes, elements=st.sampled_from([0.0, 0.25, 1.0]) | st.floats(0.0, 1.0)))
    assume(raw.sum() > 0.05)
    return raw / raw.sum()


@given(st.integers(2, 6).flatmap(lambda k: st.tuples(sparse_eta_strategy(k), priors_strategy(k), eta_strategy(k))))
@settings(max_examples=20)
def test_fisher_minimiser_is_bayes_balanced_with_zero_posteriors_and_ties(case):
    eta, priors, delta_weights = case
    alpha, margins = tutorial.fisher_consistent_parameters(priors, delta_weights)
    f_star = tutorial.minimise_conditional_risk(eta, alpha, margins)
    target = eta / priors
    assert (target.max() - target[np.argmax(f_star)]) / target.max() <= 1e-6


@given(st.integers(2, 6).flatmap(lambda k: st.tuples(eta_strategy(k), priors_strategy(k), eta_strategy(k))))
def test_fisher_closed_form_is_stationary_point_of_conditional_risk(case):
    eta, priors, delta_weights = case
    alpha, margins = tutorial.fisher_consistent_parameters(priors, delta_weights)
    risk, gradient = tutorial.fisher_conditional_risk(tutorial.balanced_bayes_scores(eta, priors), eta, alpha, margins)
    assert math.isfinite(risk)
    np.testing.assert_allclose(gradient, 0.0, atol=1e-9 * float(np.max(eta * alpha)))


@given(
    st.integers(2, 6).flatmap(lambda k: st.tuples(logits_strategy(num_classes=k), priors_strategy(k), eta_strategy(k)))
)
def test_fisher_pairwise_loss_is_weighted_cross_entropy_of_shifted_logits(case):
    logits, priors, delta_weights = case
    labels = np.arange(logits.shape[0]) % logits.shape[1]
    alpha, margins = tutorial.fisher_consistent_parameters(priors, delta_weights)
    loss = tutorial.fisher_pairwise_loss(logits, labels, alpha, margins)
    shifted = logits + np.log(delta_weights)
    log_softmax = shifted - np.log(np.exp(shifted - shifted.max(1, keepdims=True)).sum(1, keepdims=True))
    log_softmax -= shifted.max(1, keepdims=True)
    expected = -alpha[labels] * log_softmax[np.arange(len(labels)), labels]
    np.testing.assert_allclose(loss, expected, rtol=1e-9, atol=1e-9 * np.abs(logits).max())


@given(
    st.integers(2, 6).flatmap(lambda k: st.tuples(logits_strategy(num_classes=k), priors_strategy(k))),
    st.floats(0.0, 2.0),
)
def test_logit_adjusted_loss_pairwise_form_equals_softmax_form(case, tau):
    logits, priors = case
    labels = np.arange(logits.shape[0]) % logits.shape[1]
    # printed: -log softmax(f + tau log pi)_y = log[1 + sum_{y' != y} (pi_y'/pi_y)^tau e^{f_y' - f_y}]
    ones = np.ones_like(priors)
    margins = tau * (np.log(priors)[None, :] - np.log(priors)[:, None])
    pairwise = tutorial.fisher_pairwise_loss(logits, labels, ones, margins)
    adjusted = logits + tau * np.log(priors)
    top = adjusted.max(1, keepdims=True)
    softmax_form = (np.log(np.exp(adjusted - top).sum(1)) + top[:, 0]) - adjusted[np.arange(len(labels)), labels]
    np.testing.assert_allclose(pairwise, softmax_form, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(logits).max()))


def test_fisher_binary_symbolic_minimiser_independent_of_delta():
    check = tutorial.fisher_binary_symbolic()
    assert check["is_stationary"] and check["convex"]


def test_logit_adjusted_loss_with_tau_two_is_not_balanced_consistent():
    # The slide's corollary (delta = pi) gives tau = 1. With tau = 2 the loss is CE(f + 2 log pi, y), whose
    # conditional-risk minimiser is log(eta) - 2 log(pi): it targets argmax eta/pi^2, not the balanced error.
    priors = np.array([0.9, 0.1])
    margins = 2.0 * (np.log(priors)[None, :] - np.log(priors)[:, None])
    eta = np.array([0.95, 0.05])
    f_star = tutorial.minimise_conditional_risk(eta, np.ones(2), margins)
    expected = np.log(eta) - 2 * np.log(priors)
    np.testing.assert_allclose(f_star, expected - expected.mean(), atol=1e-5)
    assert np.argmax(eta / priors) == 0  # balanced Bayes: 1.056 vs 0.5
    assert np.argmax(f_star) == 1  # tau = 2: 0.95/0.81 = 1.17 < 0.05/0.01 = 5


@given(
    st.integers(2, 5).flatmap(
        lambda k: st.tuples(
            priors_strategy(k),
            arrays(np.float64, (6, k), elements=st.floats(1e-3, 1.0)),
            arrays(np.int64, 6, elements=st.integers(0, k - 1)),
        )
    )
)
def test_post_hoc_adjusted_bayes_rule_minimises_population_balanced_error(case):
    # Finite X of 6 points: p(x|y) columns; eta_y(x) = pi_y p(x|y) / p(x). The slide's argmax eta/pi rule
    # (= argmax s*_y - ln P(y)) must have the smallest exact BER, below argmax eta and any other rule.
    priors, likelihood, other_rule = case
    likelihood = likelihood / likelihood.sum(axis=0, keepdims=True)
    joint = likelihood * priors[None, :]
    eta = joint / joint.sum(axis=1, keepdims=True)
    k = priors.shape[0]

    def population_ber(rule):
        return float(np.mean([1.0 - likelihood[rule == y, y].sum() for y in range(k)]))

    balanced = np.argmax(tutorial.balanced_bayes_scores(eta, priors), axis=1)
    assert population_ber(balanced) <= population_ber(np.argmax(eta, axis=1)) + 1e-12
    assert population_ber(balanced) <= population_ber(other_rule) + 1e-12


def test_balanced_error_rate_counts_ties_as_correct_and_skips_absent_classes():
    scores = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    labels = np.array([1, 1, 1, 0])
    # class 1: rows 0 (a tie: correct) and 1 right, row 2 wrong; class 0: wrong; class 2 absent
    assert tutorial.balanced_error_rate(scores, labels, 3) == pytest.approx((1 / 3 + 1.0) / 2)
    assert tutorial.balanced_error_rate(scores[:2], labels[:2], 3) == 0.0
    # first-maximiser rule: row 0 predicts class 0, so class 1 has 2 errors of 3
    assert tutorial.balanced_error_rate(scores, labels, 3, ties="first") == pytest.approx((2 / 3 + 1.0) / 2)
    assert tutorial.balanced_error_rate(np.zeros((4, 3)), labels, 3) == 0.0  # the printed rule's blind spot
    assert tutorial.balanced_error_rate(np.zeros((4, 3)), labels, 3, ties="first") == pytest.approx(0.5)
    with pytest.raises(InputError, match="ties"):
        tutorial.balanced_error_rate(scores, labels, 3, ties="random")


def test_fisher_inputs_are_validated():
    with pytest.raises(InputError, match="delta_weights"):
        tutorial.fisher_consistent_parameters([0.5, 0.5], [1.0, 0.0])
    with pytest.raises(InputError, match="priors"):
        tutorial.fisher_consistent_parameters([0.5, -0.5], [1.0, 1.0])
    with pytest.raises(InputError, match="margins"):
        tutorial.fisher_pairwise_loss(np.zeros((2, 2)), [0, 1], [1.0, 1.0], np.ones((2, 2)))
    with pytest.raises(InputError, match="eta must be non-negative"):
        tutorial.minimise_conditional_risk([0.5, -0.5], [1.0, 1.0], np.zeros((2, 2)))
    with pytest.raises(InputError, match="alpha has 2 entries but 3"):
        tutorial.minimise_conditional_risk([0.5, 0.4, 0.1], [1.0, 1.0], np.zeros((2, 2)))
    with pytest.raises(InputError, match="logits"):
        tutorial.fisher_pairwise_loss(np.array([[np.nan, 0.0]]), [0], [1.0, 1.0], np.zeros((2, 2)))


# ----------------------------------------------------------------------------------------------
# tutorial.threshold_moving
# ----------------------------------------------------------------------------------------------


@given(st.integers(1, 8).flatmap(lambda k: logits_strategy(num_classes=k)))
def test_softmax_rows_is_scipys_softmax_bit_for_bit(logits):
    values = np.asarray(logits, dtype=np.float64)
    before = values.copy()
    assert np.array_equal(tutorial.softmax_rows(values), softmax(values, axis=1))
    assert np.array_equal(values, before)  # the input is left alone


@given(
    st.integers(2, 8).flatmap(lambda k: st.tuples(logits_strategy(num_classes=k), priors_strategy(k))),
    st.floats(0.0, 3.0),
)
def test_threshold_moving_argmax_is_post_hoc_logit_adjustment(case, tau):
    logits, priors = case
    fraction, agree = tutorial.threshold_moving_agreement(logits, priors, tau)
    assert fraction == 1.0 and agree.all()
    # where the adjusted scores have a clear winner, both rules pick exactly that class
    adjusted = tutorial.post_hoc_logit_adjustment(logits, priors, tau)
    moved = tutorial.threshold_moving_scores(logits, tutorial.logit_adjustment_costs(priors, tau))
    ordered = np.sort(adjusted, axis=1)
    clear = ordered[:, -1] - ordered[:, -2] > 1e-9 * max(1.0, np.abs(logits).max())
    np.testing.assert_array_equal(np.argmax(moved, 1)[clear], np.argmax(adjusted, 1)[clear])


@given(logits_strategy(), st.floats(0.0, 3.0))
def test_threshold_moving_keeps_exact_ties_with_equal_priors(logits, tau):
    k = logits.shape[1]
    priors = np.full(k, 1.0 / k)
    moved = tutorial.threshold_moving_scores(logits, tutorial.logit_adjustment_costs(priors, tau))
    adjusted = tutorial.post_hoc_logit_adjustment(logits, priors, tau)
    ties_moved = moved == moved.max(1, keepdims=True)
    ties_logits = logits == logits.max(1, keepdims=True)
    ties_adjusted = adjusted == adjusted.max(1, keepdims=True)
    # an exact tie is never split (rounding may only merge values closer than an ulp)
    assert np.all(ties_moved[ties_logits]) and np.all(ties_adjusted[ties_logits])
    if np.all(logits == np.round(logits)):  # integer logits: maximiser sets are exactly equal
        np.testing.assert_array_equal(ties_moved, ties_logits)
        np.testing.assert_array_equal(ties_adjusted, ties_logits)


@given(st.integers(2, 8).flatmap(priors_strategy), st.floats(0.01, 3.0))
def test_logit_adjustment_costs_decrease_with_prior_for_positive_tau(priors, tau):
    costs = tutorial.logit_adjustment_costs(priors, tau)
    order = np.argsort(priors, kind="stable")
    sorted_priors, sorted_costs = priors[order], costs[order]
    strictly = np.diff(sorted_priors) > 0
    assert np.all(np.diff(sorted_costs)[strictly] < 0)
    np.testing.assert_allclose(costs, priors**-tau, rtol=1e-12)


def test_threshold_moving_log_ratio_symbolic():
    import sympy as sp

    z1, z2, z3, tau = sp.symbols("z1 z2 z3 tau", real=True)
    p1, p2, p3 = sp.symbols("pi1 pi2 pi3", positive=True)
    z, pi = [z1, z2, z3], [p1, p2, p3]
    moved = [sp.exp(zk) / sum(sp.exp(zj) for zj in z) * sp.exp(-tau * sp.log(pk)) for zk, pk in zip(z, pi, strict=True)]
    # ratio of threshold-moved scores = exp of the difference of logit-adjusted scores (eta cancels)
    for j in range(3):
        for k in range(3):
            difference = (z[j] - tau * sp.log(pi[j])) - (z[k] - tau * sp.log(pi[k]))
            assert sp.simplify(moved[j] / moved[k] - sp.exp(difference)) == 0


def test_threshold_moving_inputs_are_validated():
    with pytest.raises(InputError, match="priors"):
        tutorial.threshold_moving_agreement(np.zeros((2, 3)), [0.5, 0.5], 1.0)
    with pytest.raises(InputError, match="tau"):
        tutorial.logit_adjustment_costs([0.999, 0.001], 1e4)
    with pytest.raises(InputError, match="cost_sums"):
        tutorial.threshold_moving_scores(np.zeros((1, 2)), [1.0, -1.0])


# ----------------------------------------------------------------------------------------------
# tutorial.ldam_optimal_margins
# ----------------------------------------------------------------------------------------------


def test_ldam_two_class_margins_symbolic():
    check = tutorial.ldam_margins_symbolic()
    keys = ("is_stationary", "matches_quarter_power", "ratio_is_quarter_power", "second_derivative_positive")
    assert {key: check[key] for key in keys} == dict.fromkeys(keys, True)


@given(class_counts_strategy(max_classes=6), st.floats(0.1, 10.0))
@settings(max_examples=30)
def test_ldam_closed_form_matches_scipy_constrained_minimum(counts, total):
    closed = tutorial.ldam_optimal_margins(counts, total=total)
    k = counts.shape[0]

    # minimise over the simplex via a softmax parametrisation (unconstrained, so BFGS applies)
    def objective(theta):
        gamma = total * np.exp(theta - theta.max()) / np.exp(theta - theta.max()).sum()
        return tutorial.ldam_margin_objective(gamma, counts)

    result = minimize(objective, np.zeros(k), method="BFGS", options={"gtol": 1e-10})
    numeric = total * np.exp(result.x - result.x.max()) / np.exp(result.x - result.x.max()).sum()
    assert tutorial.ldam_margin_objective(closed, counts) <= result.fun * (1 + 1e-9)
    np.testing.assert_allclose(numeric, closed, rtol=2e-3)
    assert closed.sum() == pytest.approx(total)
    np.testing.assert_allclose(closed * counts.astype(float) ** 0.25, closed[0] * counts[0] ** 0.25, rtol=1e-12)


@given(class_counts_strategy(), arrays(np.float64, 12, elements=st.floats(0.01, 1.0)))
def test_ldam_optimum_beats_every_feasible_margin_allocation(counts, raw):
    gamma = raw[: counts.shape[0]]
    total = float(gamma.sum())
    best = tutorial.ldam_margin_objective(tutorial.ldam_optimal_margins(counts, total=total), counts)
    assert best <= tutorial.ldam_margin_objective(gamma, counts) * (1 + 1e-12)


@given(class_counts_strategy())
def test_ldam_default_margins_put_max_margin_on_rarest_class(counts):
    margins = tutorial.ldam_optimal_margins(counts)
    assert margins.max() == pytest.approx(0.5)
    assert margins[np.argmin(counts)] == pytest.approx(0.5)
    assert np.all(np.diff(margins[np.argsort(counts, kind="stable")]) <= 1e-15)


@given(logits_strategy())
def test_class_margins_match_a_per_sample_loop(logits):
    n, k = logits.shape
    labels = np.arange(n) % k
    margins = per_class.class_margins(logits, labels, k)
    for j in range(k):
        rows = np.flatnonzero(labels == j)
        if rows.size == 0:
            assert np.isnan(margins[j])
            continue
        expected = min(logits[i, j] - max(logits[i, m] for m in range(k) if m != j) for i in rows)
        assert margins[j] == expected


def test_ldam_inputs_are_validated():
    with pytest.raises(InputError, match="class_counts"):
        tutorial.ldam_optimal_margins([10, 0, 3])
    with pytest.raises(InputError, match="total"):
        tutorial.ldam_optimal_margins([10, 3], total=-1.0)
    with pytest.raises(InputError, match="margins"):
        tutorial.ldam_margin_objective([0.1, 0.0], [10, 3])


# ----------------------------------------------------------------------------------------------
# tutorial.effective_number
# ----------------------------------------------------------------------------------------------


def test_effective_number_symbolic_limit_and_series():
    check = tutorial.effective_number_symbolic()
    keys = ("limit_is_n", "geometric_series", "cb_weight_is_inverse", "increment_is_beta_power")
    assert {key: check[key] for key in keys} == dict.fromkeys(keys, True)


@given(arrays(np.int64, st.integers(1, 10), elements=st.integers(1, 60)), st.floats(0.0, 1.0))
def test_effective_number_equals_geometric_series(counts, beta):
    effective = per_class.effective_number(counts, beta)
    expected = np.array([sum(beta**j for j in range(n)) for n in counts])
    np.testing.assert_allclose(effective, expected, rtol=1e-12)


@given(
    arrays(np.int64, st.integers(1, 10), elements=st.integers(1, 10**7)),
    st.floats(0.0, 1.0) | st.sampled_from([0.9, 0.99, 0.999, 0.9999, 1 - 1e-12, 1.0]),
)
def test_effective_number_lies_between_one_and_min_of_n_and_volume(counts, beta):
    effective = per_class.effective_number(counts, beta)
    assert np.all(np.isfinite(effective))
    assert np.all(effective >= 1.0 - 1e-12)
    assert np.all(effective <= counts * (1 + 1e-12))
    if beta < 1.0:
        assert np.all(effective <= 1.0 / (1.0 - beta) * (1 + 1e-12))
    np.testing.assert_allclose(per_class.effective_number(np.ones(3, dtype=int), beta), 1.0)


@given(st.integers(1, 10**6), st.floats(0.0, 0.999999), st.floats(0.0, 1.0))
def test_effective_number_increases_in_n_and_beta(n, beta, other):
    e = per_class.effective_number([n, n + 1], beta)
    assert e[1] >= e[0]
    low, high = sorted((beta, other))
    assert per_class.effective_number([n], low)[0] <= per_class.effective_number([n], high)[0] * (1 + 1e-12)


@given(st.integers(1, 10**6))
def test_effective_number_approaches_n_as_beta_goes_to_one(n):
    gaps = [n - per_class.effective_number([n], 1 - 10.0**-p)[0] for p in (8, 10, 12, 14)]
    assert all(later <= earlier + 1e-9 * n for earlier, later in zip(gaps, gaps[1:], strict=False))
    assert gaps[-1] <= 1e-6 * n * n / 1e8 + 1e-6 * n
    assert per_class.effective_number([n], 1.0)[0] == n


@given(class_counts_strategy(), st.sampled_from([0.9, 0.99, 0.999, 0.9999]))
def test_class_balanced_weights_are_inverse_effective_numbers_summing_to_classes(counts, beta):
    weights = tutorial.class_balanced_weights(counts, beta)
    assert weights.sum() == pytest.approx(counts.shape[0])
    inverse = (1 - beta) / (1 - beta ** counts.astype(float))
    np.testing.assert_allclose(weights / weights[0], inverse / inverse[0], rtol=1e-9)


def test_effective_number_inputs_are_validated():
    with pytest.raises(InputError, match="beta"):
        per_class.effective_number([3, 4], 1.5)
    with pytest.raises(InputError, match="class_counts"):
        per_class.effective_number([3.5, 4], 0.9)


# ----------------------------------------------------------------------------------------------
# tutorial.etf and tutorial.etf_corrected
# ----------------------------------------------------------------------------------------------


@given(st.integers(2, 20), st.integers(0, 12), st.integers(0, 2**31 - 1))
@settings(max_examples=40)
def test_simplex_etf_gram_matches_printed_normalisation(k, extra_dims, seed):
    etf = representation.simplex_etf(k, k + extra_dims, seed=seed)
    gram = etf.T @ etf
    np.testing.assert_allclose(gram, representation.etf_gram_printed(k), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(etf, axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(etf.sum(axis=1), 0.0, atol=1e-12)


def test_simplex_etf_gram_symbolic_small_k():
    assert all(representation.etf_gram_symbolic(k) for k in (2, 3, 5))


def test_simplex_etf_needs_orthonormal_u():
    with pytest.raises(InputError, match="dim"):
        representation.simplex_etf(5, 3)
    with pytest.raises(InputError, match="orthonormal"):
        representation.simplex_etf(3, rotation=np.ones((4, 3)))
    # the slide never defines U: a non-orthonormal U breaks the printed Gram
    u = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    m = math.sqrt(3 / 2) * u @ (np.eye(3) - np.ones((3, 3)) / 3)
    assert not np.allclose(m.T @ m, representation.etf_gram_printed(3))


@pytest.mark.parametrize("n, d", [(1, 1), (3, 5), (16, 40)])
def test_dot_regression_central_differences_are_the_shifted_copies_ones(n, d):
    # one column of two copies of h shifted at a time: the same evaluations as building h +- s e_j per j
    rng = np.random.default_rng(n * d)
    h, w, step = rng.standard_normal((n, d)), rng.standard_normal((n, d)), 1e-3
    expected = np.empty_like(h)
    for j in range(d):
        shift = np.zeros_like(h)
        shift[:, j] = step
        expected[:, j] = (
            representation.dot_regression_loss(h + shift, w, 2.0, 3.0)
            - representation.dot_regression_loss(h - shift, w, 2.0, 3.0)
        ) / (2 * step)
    numeric = representation.dot_regression_central_differences(h, w, 2.0, 3.0, step)
    assert np.array_equal(numeric, expected)
    exact = representation.dot_regression_gradient(h, w, 2.0, 3.0)
    np.testing.assert_allclose(numeric, exact, atol=1e-8 * (1 + np.abs(exact).max()))
    with pytest.raises(InputError, match="step"):
        representation.dot_regression_central_differences(h, w, 2.0, 3.0, 0.0)


@pytest.mark.parametrize("k", [2, 7, 2100])  # 2100 > 2^22 / 2100 rows: several blocks of the upper triangle
def test_etf_gram_deviation_upper_triangle_equals_full_gram(k):
    # only the blocks i <= j are formed (the Gram is symmetric): the same maximum as the whole K x K Gram
    columns = np.random.default_rng(k).standard_normal((5, k))
    entries = representation.etf_gram_printed_entries(k)
    full = columns.T @ columns - entries[1]
    full[np.diag_indices(k)] -= entries[0] - entries[1]
    assert representation.etf_gram_deviation(columns, entries) == pytest.approx(np.abs(full).max(), rel=1e-13)
    etf = representation.simplex_etf(k, k + 3, seed=1)
    assert representation.etf_gram_deviation(etf, entries) <= 1e-12


vectors = st.integers(1, 6).flatmap(
    lambda d: st.tuples(
        arrays(np.float64, (3, d), elements=st.floats(-10, 10, **finite)),
        arrays(np.float64, (3, d), elements=st.floats(-10, 10, **finite)),
    )
)
energies = st.tuples(st.floats(0.01, 100.0), st.floats(0.01, 100.0))


@given(vectors, energies)
def test_dot_regression_gradient_matches_torch_autograd(pair, energy):
    h, w = pair
    e_w, e_h = energy
    h_t = torch.tensor(h, dtype=torch.float64, requires_grad=True)
    w_t = torch.tensor(w, dtype=torch.float64)
    root = math.sqrt(e_w * e_h)
    loss = ((w_t * h_t).sum(1) - root) ** 2 / (2 * root)
    loss.sum().backward()
    gradient = representation.dot_regression_gradient(h, w, e_w, e_h)
    scale = 1e-10 * (1 + np.abs(w).max() * (1 + np.abs(w).max() * np.abs(h).max() * h.shape[1] / root))
    np.testing.assert_allclose(gradient, h_t.grad.numpy(), atol=scale)
    np.testing.assert_allclose(
        representation.dot_regression_loss(h, w, e_w, e_h), loss.detach().numpy(), rtol=1e-12, atol=1e-12
    )


@given(vectors, energies)
def test_dot_regression_gradient_matches_central_differences(pair, energy):
    h, w = pair
    e_w, e_h = energy
    step = 1e-4
    numeric = np.zeros_like(h)
    for j in range(h.shape[1]):
        bump = np.zeros_like(h)
        bump[:, j] = step
        up = representation.dot_regression_loss(h + bump, w, e_w, e_h)
        down = representation.dot_regression_loss(h - bump, w, e_w, e_h)
        numeric[:, j] = (up - down) / (2 * step)
    exact = representation.dot_regression_gradient(h, w, e_w, e_h)
    # L_DR is quadratic in h, so central differences are exact up to rounding of the loss values
    loss_scale = np.abs(representation.dot_regression_loss(h, w, e_w, e_h)).max() + np.abs(w).max() * np.abs(h).max()
    np.testing.assert_allclose(numeric, exact, atol=1e-7 * (1 + loss_scale) * (1 + np.abs(w).max()))


def _away_from_zero(pair, energy):
    """h, w, E_W, E_H and the row norms of h and w, for draws whose rows are all away from 0."""
    (h, w), (e_w, e_h) = pair, energy
    h_norm, w_norm = np.linalg.norm(h, axis=1), np.linalg.norm(w, axis=1)
    assume(np.all(h_norm > 1e-3) and np.all(w_norm > 1e-3))
    return h, w, e_w, e_h, h_norm, w_norm


@given(vectors, energies)
def test_printed_dr_gradient_holds_under_the_norm_condition(pair, energy):
    h, w, e_w, e_h, h_norm, w_norm = _away_from_zero(pair, energy)
    # rescale to ||w_c||^2 = E_W and ||h||^2 = E_H, the ETF classifier's normalisation
    h = h / h_norm[:, None] * math.sqrt(e_h)
    w = w / w_norm[:, None] * math.sqrt(e_w)
    printed = representation.dot_regression_gradient_printed(h, w, e_w, e_h)
    exact = representation.dot_regression_gradient(h, w, e_w, e_h)
    np.testing.assert_allclose(printed, exact, atol=1e-12 * (1 + math.sqrt(e_w)))


@given(vectors, energies)
def test_printed_dr_gradient_equals_exact_iff_norm_product_condition_or_orthogonal(pair, energy):
    h, w, e_w, e_h, h_norm, w_norm = _away_from_zero(pair, energy)
    root = math.sqrt(e_w * e_h)
    printed = representation.dot_regression_gradient_printed(h, w, e_w, e_h)
    exact = representation.dot_regression_gradient(h, w, e_w, e_h)
    # corrected statement: printed - exact = (cos - w^T h / root) w_c, exactly
    dot = np.einsum("nd,nd->n", w, h)
    predicted_gap = (dot / (h_norm * w_norm) - dot / root)[:, None] * w
    np.testing.assert_allclose(printed - exact, predicted_gap, atol=1e-9 * (1 + np.abs(exact).max() + np.abs(w).max()))
    condition = np.isclose(h_norm * w_norm, root, rtol=1e-6) | (np.abs(dot) <= 1e-9 * h_norm * w_norm)
    differs = np.linalg.norm(printed - exact, axis=1) > 1e-6 * (1 + np.linalg.norm(w, axis=1) ** 2)
    assert not np.any(differs & condition)
    strong_violation = (np.abs(h_norm * w_norm / root - 1) > 1e-3) & (np.abs(dot) > 1e-3 * h_norm * w_norm)
    assert np.all(differs[strong_violation] | (np.linalg.norm(w, axis=1)[strong_violation] < 1e-3))


def test_dot_regression_inputs_are_validated():
    with pytest.raises(InputError, match="same shape"):
        representation.dot_regression_gradient(np.ones((2, 3)), np.ones((2, 2)), 1.0, 1.0)
    with pytest.raises(InputError, match="energy_w"):
        representation.dot_regression_loss(np.ones((1, 2)), np.ones((1, 2)), 0.0, 1.0)
    with pytest.raises(InputError, match="non-zero"):
        representation.dot_regression_gradient_printed(np.zeros((1, 2)), np.ones((1, 2)), 1.0, 1.0)


# ----------------------------------------------------------------------------------------------
# evaluators on a synthetic checkpoint
# ----------------------------------------------------------------------------------------------


def _outputs(counts: np.ndarray, per_class: np.ndarray, split: str, method: str, seed: int) -> Outputs:
    # Gaussian classes N(mu_y, I) with training priors pi: logits mu_y^T x - |mu_y|^2/2 + log pi_y are the
    # exact training posterior's, so post-hoc LA is the Bayes-balanced rule (Theorem 1's premise).
    return gaussian_outputs(counts, per_class, split, seed=seed, dim=6, means_seed=0, method=method)


def _splits(method: str = "ce") -> EvaluationSplits:
    counts = np.array([200, 60, 20, 6, 2])
    return EvaluationSplits(
        train=_outputs(counts, counts, "train", method, 0), test=_outputs(counts, np.full(5, 40), "test", method, 1)
    )


def test_threshold_moving_evaluator_reports_full_agreement():
    results = STATEMENTS["tutorial.threshold_moving"].evaluate(_splits(), 0.05)
    assert [r.terms["tau"] for r in results] == [0.5, 1.0, 2.0]
    assert all(r.measured == 0.0 and r.holds for r in results)


def test_fisher_evaluator_compares_balanced_errors_on_test_split():
    (result,) = STATEMENTS["tutorial.fisher_consistency"].evaluate(_splits(), 0.05)
    split = _splits().test
    # a diagnostic of Theorem 1; plain CE is checked, how well softmax estimates P(y|x) is not: unknown
    assert result.split == "test" and result.form == "diagnostic" and result.assumption_status == "unknown"
    assert result.value == tutorial.balanced_error_rate(split.logits, split.labels, ties="first")
    assert result.measured == tutorial.balanced_error_rate(
        split.logits - np.log(split.priors), split.labels, ties="first"
    )
    # exact training posteriors: post-hoc LA is the Bayes-balanced rule, so it beats argmax here
    assert result.measured <= result.value
    (unknown,) = STATEMENTS["tutorial.fisher_consistency"].evaluate(_splits("ldam_drw"), 0.05)
    assert unknown.assumption_status == "failed"  # not trained with plain CE


def test_ldam_evaluator_reports_per_class_rows():
    ldam = STATEMENTS["tutorial.ldam_optimal_margins"].evaluate(_splits(), 0.05)
    per_class = [r for r in ldam if r.class_index is not None]
    assert [r.class_index for r in per_class] == list(range(5))
    assert per_class[-1].value == pytest.approx(0.5)
    np.testing.assert_allclose([r.value for r in per_class], 0.5 * (np.array([200, 60, 20, 6, 2]) / 2.0) ** -0.25)


LDAM_COUNTS = np.array([200, 60, 20, 6, 2])


def _margin_checkpoint(counts: np.ndarray, exponent: float = -0.25, wobble: float = 0.03) -> EvaluationSplits:
    """Logits whose class margins are ``n_j^exponent`` times a fixed 3% wobble: a model that sits next to the
    LDAM optimum (for exponent -1/4), so the row's objective at the optimum is within a factor 1 + O(wobble^2)
    of the objective at the model's margins and a wrong optimum would show."""
    k = counts.size
    margins = counts.astype(np.float64) ** exponent * (1.0 + wobble * np.cos(np.arange(k)))
    labels = np.repeat(np.arange(k), 3)
    logits = np.zeros((labels.size, k))
    # own logit = margin_j + extra >= 0 over a zero rival: the class margin (the minimum) is margin_j exactly
    logits[np.arange(labels.size), labels] = margins[labels] + np.tile([0.0, 0.1, 1.0], k)
    outputs = Outputs(logits, logits.copy(), labels, np.eye(k), np.zeros(k), counts, split="train")
    return EvaluationSplits(train=outputs)


def _ldam_overall_row(splits: EvaluationSplits):
    (overall,) = [
        r for r in STATEMENTS["tutorial.ldam_optimal_margins"].evaluate(splits, 0.05) if r.class_index is None
    ]
    return overall


def test_ldam_overall_row_holds_next_to_the_optimum_and_fails_for_a_wrong_exponent(monkeypatch):
    overall = _ldam_overall_row(_margin_checkpoint(LDAM_COUNTS))
    assert overall.holds and overall.valid
    # tight: measured = objective at the closed-form optimum, value = at the model's (near-optimal) margins
    assert 1.0 <= overall.value / overall.measured < 1.01
    # an independent minimiser (SLSQP on the simplex of the same budget) agrees with the closed form
    budget = overall.terms["margin_budget"]
    found = minimize(
        lambda g: tutorial.ldam_margin_objective(g, LDAM_COUNTS),
        np.full(5, budget / 5),
        constraints=({"type": "eq", "fun": lambda g: g.sum() - budget},),
        bounds=[(1e-6, None)] * 5,
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    assert overall.measured == pytest.approx(found.fun, rel=1e-6)
    # power: the same row with a wrong optimum (gamma_j ∝ n_j^{-1/2}) is caught on the same checkpoint

    def optimum_with_exponent_one_half(class_counts, total=None, max_margin=None):
        shape = np.asarray(class_counts, dtype=np.float64) ** -0.5
        return (total if total is not None else 0.5) * shape / (shape.sum() if total is not None else shape.max())

    monkeypatch.setattr(declared, "ldam_optimal_margins", optimum_with_exponent_one_half)
    assert not _ldam_overall_row(_margin_checkpoint(LDAM_COUNTS)).holds


def _effective_number_rows(offset: int = 0, monkeypatch=None):
    """Rows of tutorial.effective_number on the synthetic checkpoint; ``offset`` != 0 swaps in the wrong formula
    E_{n + offset} (an off-by-one in the exponent) for the power check."""
    if offset:
        correct = per_class.effective_number
        monkeypatch.setattr(
            declared, "effective_number", lambda counts, beta: correct(np.asarray(counts) + offset, beta)
        )
    return STATEMENTS["tutorial.effective_number"].evaluate(_splits(), 0.05)


def test_effective_number_rows_sit_in_the_exact_sandwich_and_an_off_by_one_is_caught(monkeypatch):
    rows = _effective_number_rows()
    assert len(rows) == 5 and all(r.holds for r in rows)
    beta = rows[0].terms["beta"]
    for row in rows:
        n = row.value
        # E_n = sum_{k<n} beta^k >= sum_{k<n} (1 - k (1 - beta)) = n - (1 - beta) n (n - 1) / 2: within 1% of n here
        assert n - (1 - beta) * n * (n - 1) / 2 - 1e-9 <= row.measured <= n
        assert row.measured / row.value > 0.99
    # power: E_{n+1} > n roughly where (n + 1) n (1 - beta) / 2 < 1 (n < 141): the classes of 60, 20, 6, 2
    wrong = _effective_number_rows(offset=1, monkeypatch=monkeypatch)
    assert {r.class_index for r in wrong if not r.holds} == {1, 2, 3, 4}


def test_etf_evaluator_flags_the_norm_condition():
    results = STATEMENTS["tutorial.etf"].evaluate(_splits(), 0.05)
    gradient = [r for r in results if "mean_gradient_gap" in r.terms]
    assert len(gradient) == 1 and not gradient[0].valid and gradient[0].measured > 0


def test_etf_gram_row_of_a_learned_head_is_a_diagnostic_with_its_assumption_failed():
    results = STATEMENTS["tutorial.etf"].evaluate(_splits(), 0.05)
    (gram,) = [r for r in results if "max_gram_deviation" in r.terms]
    assert gram.measured > 0 and not gram.holds
    assert "head_fixed_to_simplex_etf" in gram.assumptions_violated


def _etf_corrected_rows(splits: EvaluationSplits) -> dict[str, object]:
    rows = STATEMENTS["tutorial.etf_corrected"].evaluate(splits, 0.05)
    assert all(r.statement == "tutorial.etf_corrected" and r.form == "corrected" for r in rows)
    return {next(iter(r.terms)): r for r in rows}


def test_etf_corrected_evaluator_returns_rows_that_hold_and_can_fail(monkeypatch):
    rows = _etf_corrected_rows(_splits())
    assert set(rows) == {
        "max_gram_deviation",
        "max_gradient_gap_vs_finite_difference",
        "max_printed_gap_under_norm_condition",
    }
    assert all(r.holds and r.valid for r in rows.values())
    # power: each row fails when its half of the statement is wrong
    monkeypatch.setattr(declared, "dot_regression_gradient", representation.dot_regression_gradient_printed)
    assert not _etf_corrected_rows(_splits())["max_gradient_gap_vs_finite_difference"].holds
    monkeypatch.undo()
    monkeypatch.setattr(declared, "etf_gram_printed_entries", lambda k: (k / (k - 1) - 1.0 / k, -1.0 / k))  # wrong 1/K
    assert not _etf_corrected_rows(_splits())["max_gram_deviation"].holds
    monkeypatch.undo()
    monkeypatch.setattr(declared, "dot_regression_gradient_printed", lambda h, w, ew, eh: -w)  # drops the cosine
    assert not _etf_corrected_rows(_splits())["max_printed_gap_under_norm_condition"].holds


def test_etf_evaluator_reports_zero_gaps_on_an_etf_head_with_normalised_features():
    k, d = 5, 7
    head = representation.simplex_etf(k, d, seed=3).T * 2.0  # rows w_k with ||w_k||^2 = E_W = 4
    labels = np.repeat(np.arange(k), 6)
    raw = np.random.default_rng(0).normal(size=(labels.size, d))
    embeddings = raw / np.linalg.norm(raw, axis=1, keepdims=True) * 3.0  # ||h||^2 = E_H = 9
    outputs = Outputs(
        logits=embeddings @ head.T,
        embeddings=embeddings,
        labels=labels,
        head_weight=head,
        head_bias=np.zeros(k),
        class_counts=np.array([50, 20, 10, 5, 2]),
        split="test",
        metadata={"head_fixed_to_simplex_etf": True},
    )
    gram, gradient = STATEMENTS["tutorial.etf"].evaluate(EvaluationSplits(train=outputs, test=outputs), 0.05)
    assert gram.valid and gram.measured <= 1e-12 and gram.holds
    assert gradient.valid and gradient.measured <= 1e-12 and gradient.holds
    assert gradient.terms["E_W"] == pytest.approx(4.0) and gradient.terms["E_H"] == pytest.approx(9.0)

"""Claims of seed 002 (tutorial slides) given ids by the completeness pass.

Theorem 3 (plug-in AM consistency), the two forms of the logit-adjusted loss, the '⇎' remark, LDAM's relaxation,
the risk decomposition, rwSAM's open ball (false as printed), LTSSL's Algorithm 1, RECORDS, TS, BCL and GH.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import logsumexp

from ltbounds import errata, statements
from ltbounds.bounds import representation, tutorial
from ltbounds.checks import InputError
from ltbounds.strategies import gaussian_outputs

# Ids added by the completeness pass (issue 11); their verdicts are checked with every tutorial verdict in
# tests/test_errata_tutorial.py, and that each corrected_by holds in tests/test_bounds_registry.py.
NEW_IDS = (
    "tutorial.risk_decomposition",
    "tutorial.plugin_am_consistency",
    "tutorial.la_loss_two_forms",
    "tutorial.reweighting_vs_logit_adjustment",
    "tutorial.ldam_relaxation",
    "tutorial.rwsam_perturbation",
    "tutorial.rwsam_perturbation_corrected",
    "tutorial.ltssl_refinement",
    "tutorial.ltssl_refinement_corrected",
    "tutorial.records_prop1",
    "tutorial.ts_schedule",
    "tutorial.bcl_memorization_range",
    "tutorial.gh_uniform_structure",
    "tutorial.gh_uniform_structure_corrected",
    "tutorial.gh_theorem34",
)


def test_new_ids_have_an_evaluator():
    assert set(NEW_IDS) <= set(statements.STATEMENTS) and set(NEW_IDS) <= set(errata.REGISTRY)


def _splits(seed: int = 0) -> statements.EvaluationSplits:
    counts = np.array([60, 20, 6])
    means = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])

    def outputs(per_class, split, offset):
        return gaussian_outputs(counts, per_class, split, seed=seed + offset, means=means, head="means", method="ce")

    return statements.EvaluationSplits(train=outputs(counts, "train", 0), test=outputs(np.full(3, 30), "test", 1))


@pytest.mark.parametrize("statement_id", sorted(NEW_IDS))
def test_every_new_evaluator_returns_rows(statement_id):
    rows = statements.STATEMENTS[statement_id].evaluate(_splits(), 0.05)
    assert rows and all(row.statement == statement_id for row in rows)


# ----------------------------------------------------------------------------------------------
# risk decomposition and Theorem 3


@given(
    joint=arrays(np.float64, (4, 3), elements=st.floats(0.0, 1.0)),
    loss=arrays(np.float64, (4, 3), elements=st.floats(0, 9)),
)
def test_risk_decomposition_on_finite_joint_distributions(joint, loss):
    assume(joint.sum() > 0)
    p = joint / joint.sum()  # P(x, y): rows x, columns y
    risk = float(np.sum(p * loss))
    py = p.sum(axis=0)
    conditional = np.divide((p * loss).sum(axis=0), py, out=np.zeros(3), where=py > 0)
    assert risk == pytest.approx(float(py @ conditional), rel=1e-12, abs=1e-15)


def test_risk_decomposition_on_a_sample():
    losses, labels = np.array([1.0, 2.0, 3.0, 10.0]), np.array([0, 0, 1, 2])
    mean, decomposed = tutorial.risk_decomposition(losses, labels, 4)
    assert mean == pytest.approx(4.0) and decomposed == pytest.approx(4.0)


@given(
    eta=arrays(np.float64, st.integers(1, 5), elements=st.floats(0.0, 1.0)),
    seed=st.integers(0, 1000),
)
def test_sign_eta_minus_p_is_the_am_bayes_rule(eta, seed):
    marginal = np.random.default_rng(seed).dirichlet(np.ones(eta.size))
    p = float(marginal @ eta)
    assume(0.01 < p < 0.99)
    bayes = tutorial.am_balanced_error(eta, marginal, np.where(eta > p, 1, -1))
    for labels in itertools.product((-1, 1), repeat=eta.size):
        assert bayes <= tutorial.am_balanced_error(eta, marginal, np.array(labels)) + 1e-12


@given(
    eta=arrays(np.float64, 6, elements=st.floats(0.0, 1.0)),
    noise=arrays(np.float64, 6, elements=st.floats(-0.5, 0.5)),
    p_shift=st.floats(-0.3, 0.3),
    seed=st.integers(0, 1000),
)
def test_plugin_regret_is_within_the_quantitative_bound(eta, noise, p_shift, seed):
    marginal = np.random.default_rng(seed).dirichlet(np.ones(6))
    p = float(marginal @ eta)
    assume(0.01 < p < 0.99)
    regret, bound = tutorial.plugin_regret_bound(eta, np.clip(eta + noise, 0, 1), marginal, p + p_shift)
    assert -1e-12 <= regret <= bound + 1e-12


def test_plugin_regret_vanishes_as_the_estimates_converge():
    rng = np.random.default_rng(0)
    marginal = rng.dirichlet(np.ones(200))
    eta = rng.uniform(size=200)
    p = float(marginal @ eta)
    regrets = []
    for scale in (0.3, 0.1, 0.03, 0.01, 0.0):
        estimate = np.clip(eta + scale * rng.normal(size=200), 0, 1)
        regrets.append(tutorial.plugin_regret_bound(eta, estimate, marginal, p + scale / 3)[0])
    assert regrets[-1] == 0.0 and regrets[0] > regrets[2] > 0  # decreasing to exactly 0 at the truth
    # the threshold matters: the Bayes rule for accuracy (threshold 1/2) has a positive AM regret here
    half = tutorial.am_balanced_error(eta, marginal, np.where(eta > 0.5, 1, -1))
    assert half > tutorial.am_balanced_error(eta, marginal, np.where(eta > p, 1, -1)) or abs(p - 0.5) < 0.01


# ----------------------------------------------------------------------------------------------
# logit adjustment: two forms, the remark


@given(
    logits=arrays(np.float64, (5, 4), elements=st.floats(-1e3, 1e3)),
    pi=arrays(np.float64, 4, elements=st.floats(1e-4, 1.0)),
    tau=st.floats(0.0, 3.0),
    seed=st.integers(0, 100),
)
def test_logit_adjusted_loss_two_forms_agree(logits, pi, tau, seed):
    labels = np.random.default_rng(seed).integers(0, 4, size=5)
    first, second = tutorial.logit_adjusted_loss_forms(logits, labels, pi / pi.sum(), tau)
    np.testing.assert_allclose(first, second, rtol=1e-12, atol=1e-9)


def test_logit_adjusted_loss_two_forms_symbolically():
    import sympy as sp

    f = sp.symbols("f0:3", real=True)
    p = sp.symbols("p0:3", positive=True)
    tau = sp.symbols("tau", positive=True)
    first = -sp.log(sp.exp(f[0] + tau * sp.log(p[0])) / sum(sp.exp(f[k] + tau * sp.log(p[k])) for k in range(3)))
    second = sp.log(1 + sum((p[k] / p[0]) ** tau * sp.exp(f[k] - f[0]) for k in (1, 2)))
    assert sp.simplify(sp.expand_log(sp.exp(first) - sp.exp(second), force=True)) == 0


def test_reweighting_remark_witness_and_agreement_at_balance():
    logits, priors = np.array([[-1.0, -0.5]]), np.array([0.9, 0.1])
    assert (-1 / 0.9 < -0.5 / 0.1) is False and (math.exp(-1) / 0.9 < math.exp(-0.5) / 0.1) is True
    assert tutorial.reweighting_disagreement(logits, priors) == 1.0
    balanced = np.random.default_rng(0).normal(size=(50, 4))
    assert tutorial.reweighting_disagreement(balanced, np.full(4, 0.25)) == 0.0


# ----------------------------------------------------------------------------------------------
# LDAM relaxation


@given(
    logits=arrays(np.float64, (6, 5), elements=st.floats(-1e3, 1e3)),
    margins=arrays(np.float64, 5, elements=st.floats(0, 2)),
    seed=st.integers(0, 100),
)
def test_ldam_relaxation_sandwich(logits, margins, seed):
    labels = np.random.default_rng(seed).integers(0, 5, size=6)
    hinge, smooth = tutorial.ldam_losses(logits, labels, margins)
    tolerance = 1e-9 * np.maximum(1.0, hinge)
    assert np.all(hinge <= smooth + tolerance)
    assert np.all(smooth <= hinge + math.log(5) + tolerance)


# ----------------------------------------------------------------------------------------------
# rwSAM


def test_stored_rwsam_counterexample_has_no_maximiser_in_the_open_ball():
    case = errata.load_counterexample("tutorial.rwsam_perturbation")
    g, rho = np.array(case["gradient"]), case["rho"]
    for candidate, improvement in zip(case["candidates"], case["improvements"], strict=True):
        better = tutorial.improve_in_open_ball([candidate], g, rho)
        assert better[0] == pytest.approx(improvement, rel=1e-15)
        assert abs(better[0]) < rho and better @ g > candidate * g[0]  # inside the open ball and strictly better
    best = tutorial.sam_perturbation(g, rho)
    assert np.linalg.norm(best) == rho  # the closed ball's maximiser is on the sphere, outside the printed set
    with pytest.raises(InputError, match="inside the ball"):
        tutorial.improve_in_open_ball(best, g, rho)


@given(
    g=arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e6, 1e6)),
    rho=st.floats(1e-3, 10.0),
    seed=st.integers(0, 100),
)
def test_rwsam_corrected_closed_ball_maximiser(g, rho, seed):
    assume(np.linalg.norm(g) > 1e-6)
    best = tutorial.sam_perturbation(g, rho)
    value = float(best @ g)
    assert np.linalg.norm(best) == pytest.approx(rho, rel=1e-12)
    assert value == pytest.approx(rho * np.linalg.norm(g), rel=1e-12)
    points = np.random.default_rng(seed).normal(size=(200, g.size))
    points *= (
        rho * np.random.default_rng(seed + 1).uniform(0, 1, size=(200, 1)) / np.linalg.norm(points, axis=1)[:, None]
    )
    assert np.all(points @ g <= value * (1 + 1e-12))


# ----------------------------------------------------------------------------------------------
# LTSSL


def _ltssl_case(seed: int, m: int = 30, k: int = 4):
    rng = np.random.default_rng(seed)
    pseudo = rng.dirichlet(np.ones(k), size=m)
    totals = rng.dirichlet(np.ones(k) * 3) * m
    return pseudo, totals


@pytest.mark.parametrize("weights", [None, "random"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ltssl_algorithm_reaches_the_unique_solution_as_t_grows(seed, weights):
    pseudo, totals = _ltssl_case(seed)
    w = None if weights is None else np.random.default_rng(seed).uniform(0.5, 2.0, size=pseudo.shape[0])
    residuals = []
    for iterations in (2, 20, 400):
        refined = tutorial.ltssl_refine(pseudo, totals, w, iterations)
        assert np.allclose(refined.sum(axis=1), 1.0, atol=1e-12)  # the last step is a row step (t = T)
        assert tutorial.ltssl_kkt_residual(refined, pseudo, w) < 1e-9  # every iterate has the KKT form
        residuals.append(float(np.abs(refined.sum(axis=0) - totals).max()))
    assert residuals[0] > 1e-3  # 'the unique solution' after T = 2 it is not
    assert residuals[-1] < 1e-9
    # optimality: moves that keep every row and column sum never lower the objective
    best = tutorial.ltssl_objective(refined, pseudo, w)
    rng = np.random.default_rng(seed)
    for _ in range(50):
        i, j = rng.choice(pseudo.shape[0], 2, replace=False)
        a, b = rng.choice(pseudo.shape[1], 2, replace=False)
        step = 0.5 * min(refined[i, b], refined[j, a]) * rng.uniform(-1, 1)
        moved = refined.copy()
        moved[i, a] += step
        moved[i, b] -= step
        moved[j, a] -= step
        moved[j, b] += step
        if np.all(moved > 0):
            assert tutorial.ltssl_objective(moved, pseudo, w) >= best - 1e-12


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("weight", [1.0, 0.7])
def test_ltssl_equal_weights_take_one_row_of_powers(order, weight):
    # equal w_m: one row of K powers repeated over the rows, the same numbers as the M x K powers of the
    # printed update (whatever the memory order of the pseudo-labels)
    pseudo, totals = _ltssl_case(0)
    pseudo = np.asarray(pseudo, order=order)
    w = np.full(pseudo.shape[0], weight)
    alpha, beta = np.ones(pseudo.shape[0]), np.ones(pseudo.shape[1])
    for t in range(1, 8):
        if t % 2 == 1 or t == 7:
            alpha = 1.0 / np.sum(pseudo * beta[None, :] ** (1.0 / w)[:, None], axis=1)
        else:
            beta = (totals / (pseudo * alpha[:, None]).sum(axis=0)) ** weight
    expected = pseudo * alpha[:, None] * beta[None, :] ** (1.0 / w)[:, None]
    assert np.array_equal(tutorial.ltssl_refine(pseudo, totals, w, 7), expected)


def test_ltssl_rejects_infeasible_totals():
    pseudo, totals = _ltssl_case(0)
    with pytest.raises(InputError, match="class_totals"):
        tutorial.ltssl_refine(pseudo, totals * 1.1)


# ----------------------------------------------------------------------------------------------
# RECORDS, TS, BCL, GH


def test_records_bound_is_defined_for_eta_below_one_and_decays():
    values = [tutorial.records_l2_bound(n, 10, 5.0, 0.3, 0.05) for n in (10**3, 10**4, 10**5, 10**6)]
    assert all(v > 0 for v in values) and values == sorted(values, reverse=True)
    assert values[-1] < 0.01 < values[0]
    with pytest.raises(InputError):
        tutorial.records_l2_bound(1000, 10, 5.0, 1.0, 0.05)  # eta = 1: ln 2 - ln 2 = 0
    with pytest.raises(InputError):
        tutorial.records_l2_bound(1000, 10, 5.0, 0.3, 1.0)


@given(
    t=arrays(np.float64, 20, elements=st.floats(-1e4, 1e4)),
    period=st.floats(1.0, 1e3),
    low=st.floats(0.01, 1.0),
    width=st.floats(0.0, 2.0),
)
def test_ts_schedule_stays_between_its_bounds(t, period, low, width):
    high = low + width
    values = representation.ts_temperature(t, period, low, high)
    assert np.all(values >= low - 1e-12) and np.all(values <= high + 1e-12)
    ends = representation.ts_temperature(np.array([0.0, period / 2, period]), period, low, high)
    np.testing.assert_allclose(ends, [high, low, high], rtol=1e-12, atol=1e-12)


@given(history=arrays(np.float64, (4, 7), elements=st.floats(0, 50)), beta=st.floats(0, 1))
def test_bcl_scores_are_probabilities(history, beta):
    averaged = representation.bcl_moving_average(history, beta)
    assert np.all(averaged >= history.min(axis=0) - 1e-9) and np.all(averaged <= history.max(axis=0) + 1e-9)
    last = averaged[-1]
    if np.ptp(last) <= 1e-12 * max(1.0, float(np.abs(last).max())):
        with pytest.raises(InputError, match="0/0"):
            representation.bcl_memorization_scores(last)
    else:
        scores = representation.bcl_memorization_scores(last)
        assert np.all(scores >= -1e-12) and np.all(scores <= 1 + 1e-12)
        assert np.isclose(scores.min(), 0.0) or np.isclose(scores.max(), 1.0)


@given(k=st.integers(2, 10), c=st.floats(-1.0, 1.0))
def test_gh_uniform_structure_exists_exactly_in_its_range(k, c):
    floor = -1.0 / (k - 1)
    exists = representation.uniform_structure_exists(k, c)
    assert exists == (c >= floor - 1e-12)
    gram = (1 - c) * np.eye(k) + c * np.ones((k, k))
    assert (np.linalg.eigvalsh(gram).min() >= -1e-9) == exists
    if exists:
        vectors = representation.uniform_structure(k, c)
        np.testing.assert_allclose(vectors @ vectors.T, gram, atol=1e-9)
        computed, printed = representation.gh_uniform_loss(k, c)
        assert computed == pytest.approx(printed, rel=1e-12)
    else:
        with pytest.raises(InputError, match="pairwise inner product"):
            representation.uniform_structure(k, c)


@given(k=st.integers(2, 40), c=st.floats(-1.0, 1.0))
def test_gh_structured_products_equal_the_dense_ones(k, c):
    # uniform_structure_gram_gap and gh_uniform_loss form V V^T as a V + b (V 1) 1^T (V = a I + b 11^T is
    # symmetric): the dense product V @ V.T gives the same gap and loss up to rounding
    assume(representation.uniform_structure_exists(k, c))
    vectors = representation.uniform_structure(k, c)
    gram = vectors @ vectors.T
    target = (1 - c) * np.eye(k) + c * np.ones((k, k))
    gap = representation.uniform_structure_gram_gap(k, c)
    assert gap <= 1e-12
    assert abs(gap - np.abs(gram - target).max()) <= 1e-12
    dense = float(np.mean(logsumexp(gram, axis=1) - np.diag(gram)))
    assert representation.gh_uniform_loss(k, c)[0] == pytest.approx(dense, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("k", [2, 3, 50, 2100])  # 2100 rows: several row blocks of the upper triangle
def test_pairwise_cosine_summary_equals_the_full_cosine_matrix(k):
    rows = np.random.default_rng(k).standard_normal((k, 4)) * np.linspace(0.5, 3.0, k)[:, None]
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    off_diagonal = (unit @ unit.T)[~np.eye(k, dtype=bool)]
    smallest, largest, mean = representation.pairwise_cosine_summary(rows)
    assert smallest == pytest.approx(off_diagonal.min(), rel=1e-13)
    assert largest == pytest.approx(off_diagonal.max(), rel=1e-13)
    assert mean == pytest.approx(off_diagonal.mean(), rel=1e-10, abs=1e-13)
    with pytest.raises(InputError, match="non-zero"):
        representation.pairwise_cosine_summary(np.vstack([rows, np.zeros((1, 4))]))


def test_rwsam_records_and_ltssl_evaluators():
    splits = _splits()
    printed = statements.STATEMENTS["tutorial.rwsam_perturbation"].evaluate(splits, 0.05)
    assert printed[0].holds is False
    assert statements.STATEMENTS["tutorial.rwsam_perturbation_corrected"].evaluate(splits, 0.05)[0].holds
    records = statements.STATEMENTS["tutorial.records_prop1"].evaluate(splits, 0.05)[0]
    assert records.value == pytest.approx(tutorial.records_l2_bound(86, 3, 1.0, 0.0, 0.05))
    assert records.terms["vacuous"] == float(records.value >= math.sqrt(2))
    assert tutorial.records_l2_bound(20, 3, 1.0, 0.0, 0.05) > math.sqrt(2)  # vacuous even in its best case
    ltssl = statements.STATEMENTS["tutorial.ltssl_refinement"].evaluate(splits, 0.05)
    assert ltssl[0].holds is False  # T = 2
    assert statements.STATEMENTS["tutorial.ltssl_refinement_corrected"].evaluate(splits, 0.05)[0].holds

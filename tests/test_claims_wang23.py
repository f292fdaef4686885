"""Claims of seed 003 given ids by the completeness pass: Lemma 1, the VS family, sum sqrt(pi) > 1, ADRW, (In4-a).

Each false-as-printed claim: the stored counterexample violates the printed statement, and a property test
checks the corrected one. Exact Rademacher averages enumerate every sign vector, so no Monte Carlo slack hides
a wrong constant.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, find, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ltbounds import errata, statements
from ltbounds.bounds import tutorial, vs_family, wang23
from ltbounds.checks import InputError

NEW_IDS = {
    "wang23.lemma1": "false_as_printed",
    "wang23.lemma1_corrected": "holds",
    "wang23.vs_family": "holds",
    "wang23.sqrt_prior_sum": "holds",
    "wang23.adrw_fisher": "holds_with_extra_assumption",
    "wang23.in4a": "false_as_printed",
    "wang23.in4a_corrected": "holds",
}

small = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


def test_new_ids_have_their_verdict_and_an_evaluator():
    # (that each corrected_by holds is checked for every id in test_bounds_registry.py)
    assert {i: errata.REGISTRY[i].verdict for i in NEW_IDS} == NEW_IDS and set(NEW_IDS) <= set(statements.STATEMENTS)


# ----------------------------------------------------------------------------------------------
# Lemma 1


def test_exact_rademacher_of_small_classes_by_hand():
    # one sample, G = {0, a}: E max(0, xi a) = a/2
    assert wang23.finite_class_rademacher([[0.0], [3.0]]) == pytest.approx(1.5)
    # two samples, a single function: E sum xi g = 0
    assert wang23.finite_class_rademacher([[1.0, -2.0]]) == pytest.approx(0.0)
    # vector class {0, (1, 1)} at one sample: E max(0, xi_1 + xi_2) = 2/4
    assert wang23.finite_class_vector_rademacher([[[0.0, 0.0]], [[1.0, 1.0]]]) == pytest.approx(0.5)
    with pytest.raises(InputError, match="values"):
        wang23.finite_class_rademacher([1.0, 2.0])


def test_stored_lemma1_counterexample_violates_the_printed_contraction():
    case = errata.load_counterexample("wang23.lemma1")
    f, g = np.array(case["hypothesis_values"]), np.array(case["loss_values"])
    # g is really the Euclidean norm of f (a 1-Lipschitz loss) and the constant is tight
    np.testing.assert_allclose(g, np.linalg.norm(f, axis=2))
    assert wang23.lipschitz_on_class(f, g) == pytest.approx(case["lipschitz"])
    sides = wang23.contraction_lemma_sides(f, g)
    assert sides["loss_class_complexity"] == pytest.approx(case["loss_class_complexity"], rel=1e-15)
    assert sides["loss_class_complexity"] > sides["printed_bound"] * 1.4  # 0.7071 vs 0.5: not rounding
    assert sides["loss_class_complexity"] == pytest.approx(sides["maurer_bound"], rel=1e-12)  # sqrt(2) attained
    # the other reading (one sign per sample on sum_k f_k) fails as well
    f2 = np.array(case["scalar_reading_hypothesis_values"])
    g2 = np.linalg.norm(f2, axis=2)
    scalar_complexity = wang23.finite_class_rademacher(f2.sum(axis=2))
    assert scalar_complexity == 0.0 < wang23.finite_class_rademacher(g2)


finite_classes = st.integers(2, 3).flatmap(
    lambda m: st.integers(1, 3).flatmap(
        lambda n: (
            st.integers(1, 4)
            .filter(lambda c: n * c <= 12)
            .flatmap(lambda c: arrays(np.float64, (m, n, c), elements=small))
        )
    )
)


def _losses(values: np.ndarray, kind: str, labels: np.ndarray) -> np.ndarray:
    if kind == "norm":
        return np.linalg.norm(values - 0.5, axis=2)
    if kind == "ce":
        return np.stack([vs_family.vs_loss(v, labels) for v in values])
    alpha, beta = np.linspace(0.5, 2.0, values.shape[2]), np.linspace(1.5, 0.5, values.shape[2])
    return np.stack([vs_family.vs_loss(v, labels, alpha, beta, np.linspace(-1, 1, values.shape[2])) for v in values])


@given(values=finite_classes, kind=st.sampled_from(["norm", "ce", "vs"]), seed=st.integers(0, 10))
def test_corrected_lemma1_holds_on_finite_classes(values, kind, seed):
    n, c = values.shape[1], values.shape[2]
    labels = np.random.default_rng(seed).integers(0, c, size=n)
    g = _losses(values, kind, labels)
    sides = wang23.contraction_lemma_sides(values, g)
    assert sides["loss_class_complexity"] <= sides["maurer_bound"] * (1 + 1e-12) + 1e-12


@given(
    values=st.integers(2, 4).flatmap(lambda m: arrays(np.float64, (m, 4, 1), elements=small)),
    shift=st.floats(-2, 2),
    slope=st.floats(-1, 1),
)
def test_printed_lemma1_holds_for_scalar_classes(values, shift, slope):
    """C = 1: Talagrand's contraction (no absolute value) has constant 1, so the printed form holds there."""
    g = np.abs(values[..., 0] - shift) * slope + np.sin(values[..., 0])  # |slope| + 1 Lipschitz
    sides = wang23.contraction_lemma_sides(values, g)
    assert sides["loss_class_complexity"] <= sides["printed_bound"] * (1 + 1e-12) + 1e-12


def test_hypothesis_finds_a_violation_of_the_printed_lemma1():
    def violates(values):
        g = np.linalg.norm(values, axis=2)
        sides = wang23.contraction_lemma_sides(values, g)
        return sides["loss_class_complexity"] > sides["printed_bound"] * (1 + 1e-9) + 1e-12

    example = find(
        arrays(np.float64, (2, 1, 2), elements=st.integers(-2, 2).map(float)),
        violates,
        settings=settings(max_examples=300, database=None),
    )
    assert violates(example)


def _logits_only(logits, labels, counts) -> statements.EvaluationSplits:
    """A training split whose embeddings are its logits (identity head, no bias): for statements of the logits."""
    from ltbounds.outputs import Outputs

    classes = len(counts)
    outputs = Outputs(
        logits=logits, embeddings=np.array(logits, copy=True), labels=labels, head_weight=np.eye(classes),
        head_bias=np.zeros(classes), class_counts=counts, split="train",
    )  # fmt: skip
    return statements.EvaluationSplits(train=outputs)


def test_lemma1_evaluators_on_a_checkpoint_like_output():
    rng = np.random.default_rng(0)
    counts = np.array([8, 6, 4])
    labels = np.repeat(np.arange(3), counts)
    splits = _logits_only(rng.normal(size=(labels.size, 3)) * 2, labels, counts)
    printed = statements.STATEMENTS["wang23.lemma1"].evaluate(splits, 0.1)
    corrected = statements.STATEMENTS["wang23.lemma1_corrected"].evaluate(splits, 0.1)
    assert len(printed) == len(corrected) == 1
    assert corrected[0].holds
    # the corrected bound is exactly sqrt(2) times the printed one, on the same measured value
    assert corrected[0].value == pytest.approx(math.sqrt(2) * printed[0].value)
    assert corrected[0].measured == printed[0].measured > 0


# ----------------------------------------------------------------------------------------------
# the VS family and the Fisher family


logit_matrices = st.integers(2, 5).flatmap(
    lambda c: st.tuples(arrays(np.float64, (6, c), elements=st.floats(-30, 30)), st.just(c))
)


@given(data=logit_matrices, seed=st.integers(0, 100))
def test_vs_special_cases_are_the_named_losses(data, seed):
    logits, c = data
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, size=logits.shape[0])
    counts = rng.integers(1, 1000, size=c)
    pi = counts / counts.sum()
    ce = -vs_family.log_softmax(logits)[np.arange(6), labels]
    vs = {
        m: vs_family.vs_loss(logits, labels, *vs_family.vs_family_parameters(counts, m, tau=1.3))
        for m in vs_family.VS_FAMILY_MEMBERS
    }
    np.testing.assert_allclose(vs["ce"], ce, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(vs["balanced"], ce / pi[labels], rtol=1e-12, atol=1e-12)
    cb = (1 - 0.9999) / (1 - 0.9999 ** counts.astype(float))
    np.testing.assert_allclose(vs["class_balanced"], ce * cb[labels], rtol=1e-9, atol=1e-12)
    la = -vs_family.log_softmax(logits + 1.3 * np.log(pi))[np.arange(6), labels]
    np.testing.assert_allclose(vs["logit_adjusted"], la, rtol=1e-12, atol=1e-12)
    delta = rng.uniform(0.1, 3.0, size=c)
    fisher = vs_family.fisher_loss(logits, labels, pi, delta)
    np.testing.assert_allclose(
        vs_family.vs_loss(logits, labels, delta / pi, 1.0, np.log(delta)), fisher, rtol=1e-9, atol=1e-9
    )
    # and eq. (4) is the tutorial's pairwise loss with Theorem 1's parameters
    alpha, margins = tutorial.fisher_consistent_parameters(pi, delta)
    np.testing.assert_allclose(
        tutorial.fisher_pairwise_loss(logits, labels, alpha, margins), fisher, rtol=1e-9, atol=1e-9
    )


@given(counts=arrays(np.int64, st.integers(1, 12), elements=st.integers(0, 1000)))
def test_sum_of_sqrt_priors(counts):
    assume(counts.sum() > 0)
    pi = counts / counts.sum()
    total = np.sqrt(pi).sum()
    assert 1 - 1e-12 <= total <= math.sqrt(counts.size) + 1e-12
    if np.count_nonzero(counts) >= 2:
        assert total > 1 + 1e-9


def test_ce_plus_adrw_is_not_fisher_consistent_unless_nu_is_one():
    pi = np.array([0.9, 0.1])
    # eta chosen so that argmax eta / pi^nu differs from the balanced argmax eta / pi (none exists for nu = 1)
    for nu, eta, consistent in ((0.5, [0.8, 0.2], False), (1.0, [0.8, 0.2], True), (2.0, [0.95, 0.05], False)):
        eta = np.array(eta)
        balanced_class = int(np.argmax(eta / pi))
        alpha = pi**-nu
        f = tutorial.minimise_conditional_risk(eta, alpha, np.zeros((2, 2)))
        assert (int(np.argmax(f)) == balanced_class) is consistent, nu
        assert (vs_family.fisher_family_mismatch(pi, alpha, np.zeros(2)) < 1e-12) is consistent
        # with the additive term Delta = (1 - nu) log pi, ADRW is a member of the Fisher family
        assert vs_family.fisher_family_mismatch(pi, alpha, (1 - nu) * np.log(pi)) < 1e-12
        f = tutorial.minimise_conditional_risk(eta, *tutorial.fisher_consistent_parameters(pi, pi ** (1 - nu)))
        assert int(np.argmax(f)) == balanced_class


@given(
    pi=arrays(np.float64, st.integers(2, 6), elements=st.floats(0.01, 1.0)),
    nu=st.floats(0.0, 3.0),
)
def test_adrw_membership_matches_the_closed_form_of_the_family(pi, nu):
    pi = pi / pi.sum()
    alpha = pi**-nu
    assert vs_family.fisher_family_mismatch(pi, alpha, (1 - nu) * np.log(pi)) < 1e-9
    spread = float(np.log(pi).max() - np.log(pi).min())
    # Delta = 0 leaves exactly |1 - nu| times the spread of log pi
    assert vs_family.fisher_family_mismatch(pi, alpha, np.zeros_like(pi)) == pytest.approx(
        abs(1 - nu) * spread, abs=1e-9
    )


# ----------------------------------------------------------------------------------------------
# (In4-a)


def test_stored_in4a_counterexample():
    case = errata.load_counterexample("wang23.in4a")
    counts = np.array(case["class_counts"])
    beta = vs_family.vs_family_parameters(counts, "cdt", gamma=case["gamma"])[1]
    np.testing.assert_allclose(beta, case["beta"], rtol=1e-15)
    bt = vs_family.beta_tilde(beta)
    np.testing.assert_allclose(bt, case["beta_tilde"], rtol=1e-15)
    assert np.all(np.diff(beta) < 0) and np.all(np.diff(bt) > 0.05)  # beta follows pi, beta~ goes against it
    assert vs_family.beta_tilde_discordant_pairs(counts / counts.sum(), beta) == 3


def test_in4a_identity_symbolically():
    import sympy as sp

    b = sp.symbols("b1:5", positive=True)
    total = sum(b)

    def bt2(i):
        return b[i] ** 2 + (total - b[i]) ** 2

    assert sp.expand(bt2(0) - bt2(1) - 2 * (b[0] - b[1]) * (b[0] + b[1] - total)) == 0


@given(beta=arrays(np.float64, st.integers(2, 8), elements=st.floats(0.01, 10.0)))
def test_corrected_in4a_order_reverses_for_three_or_more_classes(beta):
    assert vs_family.beta_tilde_order_identity(beta).max() <= 1e-9 * max(1.0, float(beta.sum()) ** 2)
    bt = vs_family.beta_tilde(beta)
    larger = beta[:, None] > beta[None, :] * (1 + 1e-9)
    if beta.size == 2:
        assert bt[0] == pytest.approx(bt[1], rel=1e-12)
    else:
        smaller_tilde = bt[:, None] < bt[None, :]
        assert np.all(smaller_tilde[larger])


def test_in4a_evaluators_report_the_reversal_on_cdt_betas():
    splits = _logits_only(np.eye(3), np.array([0, 1, 2]), np.array([100, 10, 1]))
    rows = {r.note.split(":")[0]: r for r in statements.STATEMENTS["wang23.in4a"].evaluate(splits, 0.1)}
    assert rows["beta = checkpoint"].holds  # CE: beta = 1, beta~ constant, nothing to contradict
    assert rows["beta = cdt_gamma_0.5"].holds is False and rows["beta = cdt_gamma_0.5"].measured == 3
    assert all(r.holds for r in statements.STATEMENTS["wang23.in4a_corrected"].evaluate(splits, 0.1))
    family = statements.STATEMENTS["wang23.vs_family"].evaluate(splits, 0.1)
    assert len(family) == 6 and all(r.holds for r in family)
    adrw = statements.STATEMENTS["wang23.adrw_fisher"].evaluate(splits, 0.1)
    assert [r.holds for r in adrw if r.form == "as_printed"] == [False, True, False]  # nu = 0.5, 1, 2
    assert all(r.holds for r in adrw if r.form == "corrected")


# ----------------------------------------------------------------------------------------------
# Remark 1 and (In3)


@given(counts=arrays(np.int64, st.integers(1, 10), elements=st.integers(1, 1000)))
def test_remark1_factor_is_at_least_one_and_one_only_at_balance(counts):
    excess = wang23.imbalance_factor_excess(counts)
    assert excess >= -1e-12
    assert (excess <= 1e-12) == bool(np.all(counts == counts[0]))
    if counts.size == 2:
        rho = counts.max() / counts.min()
        assert excess + 1 == pytest.approx((1 + rho) / 2)


@given(
    counts=arrays(np.int64, st.integers(2, 10), elements=st.integers(1, 5000)),
    tau=st.floats(0.01, 3.0),
    gamma=st.floats(0.01, 3.0),
)
def test_in3_cited_choices_move_with_the_prior_as_stated(counts, tau, gamma):
    assert all(v == 0 for v in vs_family.in3_monotonicity_violations(counts, tau, gamma).values())


def test_in3_evaluator_rows_hold_and_bad_parameters_are_refused():
    counts = np.array([500, 50, 5])
    splits = _logits_only(np.eye(3), np.arange(3), counts)
    rows = statements.STATEMENTS["wang23.in3"].evaluate(splits, 0.1)
    assert len(rows) == 5 and all(row.holds for row in rows)
    remark = statements.STATEMENTS["wang23.remark1"].evaluate(splits, 0.1)
    assert remark[0].holds and remark[0].value == pytest.approx(555 / 15 - 1)
    with pytest.raises(InputError, match="tau > 0"):
        vs_family.in3_monotonicity_violations(counts, tau=-1.0)  # tau < 0 reverses LA's direction: not (In3)'s claim

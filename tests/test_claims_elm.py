"""Claims of elm (docs/papers.md) given ids by the completeness pass: the zero-one loss, the soft-max reading of (3),
the centre loss as a Gaussian likelihood, the remarks after Proposition 2 and ELM's eq. (5) for DRO-LT."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from ltbounds import errata, statements
from ltbounds.bounds import drolt, elm
from ltbounds.strategies import gaussian_outputs

NEW_IDS = {
    "elm.zero_one_loss": "false_as_printed",
    "elm.zero_one_loss_corrected": "holds",
    "elm.margin_loss_relaxation": "holds",
    "elm.center_loss_gaussian": "false_as_printed",
    "elm.center_loss_gaussian_corrected": "holds",
    "elm.empirical_weighting_limit": "holds",
    "elm.binary_la_consistency": "holds",
    "elm.dro_lt_regulariser": "holds",
}


def test_new_ids_have_their_verdict_and_an_evaluator():
    # (that each corrected_by holds is checked for every id in test_bounds_registry.py)
    assert {i: errata.REGISTRY[i].verdict for i in NEW_IDS} == NEW_IDS and set(NEW_IDS) <= set(statements.STATEMENTS)


def _splits() -> statements.EvaluationSplits:
    counts = np.array([80, 20, 5])
    means = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, -2.0]])

    def outputs(per_class, split, seed):
        return gaussian_outputs(counts, per_class, split, seed=seed, means=means, noise=1.5, head="means")

    return statements.EvaluationSplits(train=outputs(counts, "train", 0), test=outputs(np.full(3, 30), "test", 1))


@pytest.mark.parametrize("statement_id", sorted(NEW_IDS))
def test_every_new_evaluator_returns_rows(statement_id):
    rows = statements.STATEMENTS[statement_id].evaluate(_splits(), 0.05)
    assert rows and all(row.statement == statement_id for row in rows)
    if NEW_IDS[statement_id] == "holds" or statement_id.endswith("_corrected"):
        assert all(row.holds in (True, None) for row in rows), [(r.value, r.measured, r.note) for r in rows]


def test_stored_zero_one_counterexample():
    case = errata.load_counterexample("elm.zero_one_loss")
    printed, error = elm.zero_one_risks(case["logits"], case["labels"])
    assert printed == case["printed_risk"] == 1.0 and error == case["misclassification_error"] == 0.0
    rows = statements.STATEMENTS["elm.zero_one_loss"].evaluate(_splits(), 0.05)
    assert any(row.holds is False for row in rows)  # on a real classifier the printed risk is its accuracy


@given(logits=arrays(np.float64, (12, 4), elements=st.integers(-3, 3).map(float)), seed=st.integers(0, 100))
def test_corrected_zero_one_loss_is_the_misclassification_error(logits, seed):
    labels = np.random.default_rng(seed).integers(0, 4, size=12)
    printed, error = elm.zero_one_risks(logits, labels)
    assert printed + error == pytest.approx(1.0)
    ties = np.sum(logits == logits.max(axis=1, keepdims=True), axis=1) > 1
    wrong = logits[np.arange(12), labels] < logits.max(axis=1)
    assert error == pytest.approx(np.mean(wrong))
    # argmax misclassification agrees with 1[y not in argmax f] except where argmax breaks a tie
    argmax_error = logits.argmax(axis=1) != labels
    assert np.all((argmax_error == wrong) | ties)


@given(
    logits=arrays(np.float64, (6, 5), elements=st.floats(-1e3, 1e3)),
    margins=arrays(np.float64, (5, 5), elements=st.floats(-5, 5)),
    seed=st.integers(0, 100),
)
def test_margin_loss_is_within_log_l_of_the_hinge(logits, margins, seed):
    labels = np.random.default_rng(seed).integers(0, 5, size=6)
    hinge, soft = elm.margin_loss_sandwich(logits, labels, margins)
    tolerance = 1e-9 * np.maximum(1.0, hinge)
    assert np.all(hinge <= soft + tolerance) and np.all(soft <= hinge + math.log(5) + tolerance)


def test_stored_center_loss_counterexample():
    case = errata.load_counterexample("elm.center_loss_gaussian")
    z, mu, variance = np.array(case["embeddings"]), np.array(case["mean"]), case["sigma_squared"]
    nll = elm.isotropic_gaussian_nll(z, mu, variance)
    np.testing.assert_allclose(nll, -stats.norm(0, 1).logpdf(z[:, 0]), rtol=1e-14)
    differences = np.sum((z - mu) ** 2, axis=1) - nll
    assert np.ptp(differences) == pytest.approx(0.5)  # not a constant: the printed equality fails
    corrected = np.sum((z - mu) ** 2, axis=1) - 2 * variance * nll
    assert np.ptp(corrected) < 1e-14


@given(
    seed=st.integers(0, 1000),
    dim=st.integers(1, 5),
    log_variance=st.floats(-3, 3),
)
def test_corrected_center_loss_identity(seed, dim, log_variance):
    variance = 10.0**log_variance
    rng = np.random.default_rng(seed)
    z, mu = rng.normal(size=(7, dim)) * 3, rng.normal(size=dim)
    nll = elm.isotropic_gaussian_nll(z, mu, variance)
    reference = -stats.multivariate_normal(mu, variance * np.eye(dim)).logpdf(z)
    np.testing.assert_allclose(nll, reference, rtol=1e-10, atol=1e-10)
    left = np.sum((z - mu) ** 2)
    right = 2 * variance * nll.sum() - z.shape[0] * dim * variance * math.log(2 * math.pi * variance)
    assert left == pytest.approx(right, rel=1e-9, abs=1e-9)


@given(
    losses=arrays(np.float64, 20, elements=st.floats(0, 30)),
    seed=st.integers(0, 1000),
)
def test_class_weighted_gap_is_within_its_bound(losses, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=20)
    priors = rng.dirichlet(np.ones(3))
    gap, bound = elm.class_weighted_gap(losses, labels, priors)
    assert gap <= bound + 1e-9
    exact_priors = np.bincount(labels, minlength=3) / 20
    assert elm.class_weighted_gap(losses, labels, exact_priors)[0] == pytest.approx(0.0, abs=1e-9)


def test_class_weighted_gap_vanishes_as_n_grows():
    rng = np.random.default_rng(0)
    priors = np.array([0.7, 0.2, 0.1])
    bounds_by_n = []
    for n in (100, 10_000, 1_000_000):
        labels = rng.choice(3, size=n, p=priors)
        losses = rng.uniform(0, 2, size=n) + labels
        bounds_by_n.append(elm.class_weighted_gap(losses, labels, priors)[1])
    assert bounds_by_n[-1] < 0.01 < bounds_by_n[0] * 10 and bounds_by_n == sorted(bounds_by_n, reverse=True)


def test_binary_la_minimiser_symbolically():
    import sympy as sp

    f = sp.symbols("f", real=True)
    eta, p = sp.symbols("eta p", positive=True)
    shift = sp.log(p / (1 - p))
    risk = eta * sp.log(1 + sp.exp(-(f + shift))) + (1 - eta) * sp.log(1 + sp.exp(f + shift))
    star = sp.log(eta / (1 - eta)) - shift
    assert sp.simplify(sp.diff(risk, f).subs(f, star)) == 0
    assert sp.simplify(sp.diff(risk, f, 2) - sp.exp(f + shift) / (1 + sp.exp(f + shift)) ** 2) == 0


@given(eta=st.floats(0.001, 0.999), prior=st.floats(0.001, 0.999))
def test_binary_la_minimiser_has_the_balanced_bayes_sign(eta, prior):
    balanced = eta / prior - (1 - eta) / (1 - prior)
    assume(abs(balanced) > 1e-9)
    assert np.sign(elm.binary_la_minimiser(eta, prior)) == np.sign(balanced)


@given(seed=st.integers(0, 1000), num_classes=st.integers(1, 4), scale=st.sampled_from([0.1, 1.0, 5.0]))
def test_elm_eq5_is_drolt_eq18_with_squared_distance(seed, num_classes, scale):
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.arange(num_classes), rng.integers(0, num_classes, size=7)])
    z = rng.normal(size=(labels.size, 3)) * scale
    mu = rng.normal(size=(num_classes, 3)) * scale
    radius = rng.uniform(0, 2, size=num_classes)
    printed = drolt.dro_lt_theorem1(z, labels, mu, radius, metric="squared_euclidean").bound
    np.testing.assert_allclose(elm.elm_dro_regulariser(z, labels, mu, 2 * radius**2), printed, rtol=1e-10, atol=1e-10)


def test_eq5_and_eq18_read_only_the_classes_present():
    """statements.elm.evaluate_dro_regulariser drops the centroids of classes absent from its samples and
    renumbers the labels: each sample's value is unchanged (up to the rounding of a narrower GEMM)."""
    rng = np.random.default_rng(11)
    labels = rng.choice([0, 2, 5], size=30)
    z, mu, radius = rng.normal(size=(30, 4)), rng.normal(size=(7, 4)), rng.uniform(0.1, 2, size=7)
    present, local = np.unique(labels, return_inverse=True)
    for full, reduced in (
        (
            elm.elm_dro_regulariser(z, labels, mu, 2 * radius**2),
            elm.elm_dro_regulariser(z, local, mu[present], 2 * radius[present] ** 2),
        ),
        (
            drolt.dro_lt_theorem1(z, labels, mu, radius, metric="squared_euclidean").bound,
            drolt.dro_lt_theorem1(z, local, mu[present], radius[present], metric="squared_euclidean").bound,
        ),
    ):
        np.testing.assert_allclose(reduced, full, rtol=1e-13, atol=0)


def test_cross_entropy_two_forms_of_section_2_1():
    """elm, Sec. 2.1: -log softmax_y(f) = log[1 + sum_{y' != y} e^{f_y' - f_y}], the tau = 0 case of
    tutorial.la_loss_two_forms (priors then play no role)."""
    from ltbounds.bounds import tutorial

    logits = np.random.default_rng(5).normal(size=(40, 6)) * 50
    labels = np.arange(40) % 6
    for priors in (np.full(6, 1 / 6), np.array([0.5, 0.2, 0.1, 0.1, 0.05, 0.05])):
        first, second = tutorial.logit_adjusted_loss_forms(logits, labels, priors, tau=0.0)
        ce = -(logits - np.logaddexp.reduce(logits, axis=1, keepdims=True))[np.arange(40), labels]
        np.testing.assert_allclose(first, ce, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(second, ce, rtol=1e-12, atol=1e-12)

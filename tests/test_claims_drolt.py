"""Claims of drolt (docs/papers.md) given ids by the completeness pass: the robust loss (18) as an upper bound,
and Sec. 6's standard-error remark. Stored counterexamples violate the printed forms; the corrections are
property-tested."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ltbounds import errata, statements
from ltbounds.bounds import drolt
from ltbounds.outputs import Outputs

NEW_IDS = {
    "drolt.robust_loss": "false_as_printed",
    "drolt.robust_loss_corrected": "holds",
    "drolt.standard_error": "false_as_printed",
    "drolt.standard_error_corrected": "holds",
}


def test_new_ids_have_their_verdict_and_an_evaluator():
    # (that each corrected_by holds is checked for every id in test_bounds_registry.py)
    assert {i: errata.REGISTRY[i].verdict for i in NEW_IDS} == NEW_IDS and set(NEW_IDS) <= set(statements.STATEMENTS)


@pytest.mark.parametrize("metric", drolt.METRICS)
def test_stored_robust_loss_counterexample_violates_eq_18(metric):
    case = errata.load_counterexample("drolt.robust_loss")
    z, y = np.array(case["embeddings"]), np.array(case["labels"])
    mu_hat, mu_true, radius = np.array(case["centroids_hat"]), np.array(case["centroids_true"]), case["radius"]
    assert np.linalg.norm(mu_true - mu_hat) <= radius  # the true centroid is inside the ball: the premise holds
    nll = drolt.drolt_nll_loss(z, y, mu_true, metric=metric)
    printed = drolt.drolt_robust_loss(z, y, mu_hat, radius, metric=metric)
    corrected = drolt.drolt_robust_loss(z, y, mu_hat, radius, metric=metric, form="corrected")
    assert nll == pytest.approx(case[metric]["nll_loss"], rel=1e-14)
    assert printed == pytest.approx(case[metric]["robust_loss_printed"], rel=1e-14)
    assert nll > printed + 0.4  # 1.127 (or 2.018) vs log 2: not a rounding effect
    assert nll <= corrected


def test_eq_8_with_equal_weights_is_the_mean_of_class_means():
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(12, 2)), np.array([0] * 7 + [1] * 4 + [2])
    mu = rng.normal(size=(3, 2))
    per_sample = drolt.drolt_nll(z, y, mu)
    expected = sum(per_sample[y == c].mean() for c in range(3))
    assert drolt.drolt_nll_loss(z, y, mu) == pytest.approx(expected, rel=1e-13)


@given(
    seed=st.integers(0, 10_000),
    num_classes=st.integers(1, 4),
    dim=st.integers(1, 3),
    metric=st.sampled_from(drolt.METRICS),
    radius=st.floats(0.0, 3.0),
    scale=st.sampled_from([0.1, 1.0, 10.0]),
)
def test_corrected_robust_loss_upper_bounds_the_nll_loss(seed, num_classes, dim, metric, radius, scale):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(num_classes), rng.integers(0, num_classes, size=6)])
    z = rng.normal(size=(y.size, dim)) * scale
    mu_hat = rng.normal(size=(num_classes, dim)) * scale
    direction = rng.normal(size=(num_classes, dim))
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
    mu_true = mu_hat + direction * radius * rng.uniform(0, 1, size=(num_classes, 1))  # anywhere in the ball
    weights = rng.uniform(0, 2, size=num_classes)
    nll = drolt.drolt_nll_loss(z, y, mu_true, weights, metric)
    bound = drolt.drolt_robust_loss(z, y, mu_hat, radius, weights, metric, form="corrected")
    assert nll <= bound + 1e-9 * max(1.0, abs(bound))


@given(
    seed=st.integers(0, 10_000),
    sizes=st.lists(st.integers(0, 6), min_size=1, max_size=4),
    dim=st.integers(1, 3),
)
def test_centroid_standard_error_is_the_unbiased_trace_over_n(seed, sizes, dim):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(sizes)), sizes)
    z = rng.normal(size=(y.size, dim)) * rng.uniform(0.1, 10.0)
    se = drolt.centroid_standard_error(z, y, len(sizes))
    for c, n in enumerate(sizes):
        if n < 2:
            assert np.isnan(se[c])
        else:
            # sqrt(tr Sigma^_c / n_c) with the unbiased covariance, written out directly
            expected = np.sqrt(np.sum(np.var(z[y == c], axis=0, ddof=1)) / n)
            assert se[c] == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_stored_standard_error_counterexample():
    case = errata.load_counterexample("drolt.standard_error")
    n = np.array(case["sample_sizes"], dtype=float)
    np.testing.assert_allclose(case["standard_error_of_mean"], 1 / np.sqrt(n))
    np.testing.assert_allclose(case["printed_reading_sqrt_n_scaling"], np.sqrt(n) / np.sqrt(n[0]))
    # the standard error halves from n = 1 to 4 while the literal reading doubles
    assert case["standard_error_of_mean"][1] < case["standard_error_of_mean"][0]
    assert case["printed_reading_sqrt_n_scaling"][1] > case["printed_reading_sqrt_n_scaling"][0]


@given(
    support=arrays(np.float64, (3, 2), elements=st.integers(-3, 3).map(float)),
    weights=arrays(np.float64, 3, elements=st.integers(1, 5).map(float)),
    n=st.integers(1, 4),
)
def test_corrected_standard_error_exactly_by_enumeration(support, weights, n):
    p = weights / weights.sum()
    mean = p @ support
    trace = float(p @ np.sum((support - mean) ** 2, axis=1))
    expected = 0.0
    for draw in itertools.product(range(3), repeat=n):
        expected += np.prod(p[list(draw)]) * np.sum((support[list(draw)].mean(axis=0) - mean) ** 2)
    assert expected == pytest.approx(trace / n, rel=1e-12, abs=1e-12)


def _splits() -> statements.EvaluationSplits:
    counts = np.array([200, 40, 5])
    means = np.array([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]])

    def outputs(per_class, split, seed):
        rng = np.random.default_rng(seed)
        labels = np.repeat(np.arange(3), per_class)
        embeddings = means[labels] + rng.normal(size=(labels.size, 2))
        return Outputs(
            logits=embeddings @ means.T,
            embeddings=embeddings,
            labels=labels,
            head_weight=means,
            head_bias=np.zeros(3),
            class_counts=counts,
            split=split,
        )

    return statements.EvaluationSplits(train=outputs(counts, "train", 0), test=outputs(np.full(3, 400), "test", 1))


def test_evaluators_on_gaussian_classes():
    splits = _splits()
    printed = statements.STATEMENTS["drolt.standard_error"].evaluate(splits, 0.05)
    assert len(printed) == 1 and printed[0].holds is False  # the tail centroid's error is the larger one
    corrected = statements.STATEMENTS["drolt.standard_error_corrected"].evaluate(splits, 0.05)
    assert len(corrected) == 3 and all(r.form == "diagnostic" for r in corrected)
    robust = statements.STATEMENTS["drolt.robust_loss_corrected"].evaluate(splits, 0.05)
    assert len(robust) == 4 and all(r.holds for r in robust)
    assert len(statements.STATEMENTS["drolt.robust_loss"].evaluate(splits, 0.05)) == 2


def test_standard_error_diagnostic_is_calibrated_on_iid_classes():
    """Pooled over 40 iid Gaussian classes, sum ||gap||^2 / sum E||gap||^2 is near 1 (chi^2_80 / 80, sd 0.16);
    with the printed sqrt(n) growth in place of 1/sqrt(n) the prediction is off by orders of magnitude."""
    rng = np.random.default_rng(7)
    k, dim = 40, 2
    counts = rng.integers(3, 300, size=k)
    means = rng.normal(size=(k, dim)) * 10

    def outputs(per_class, split):
        labels = np.repeat(np.arange(k), per_class)
        embeddings = means[labels] + rng.normal(size=(labels.size, dim))
        return Outputs(
            logits=embeddings @ means.T,
            embeddings=embeddings,
            labels=labels,
            head_weight=means,
            head_bias=np.zeros(k),
            class_counts=counts,
            split=split,
        )

    splits = statements.EvaluationSplits(train=outputs(counts, "train"), test=outputs(np.full(k, 50), "test"))
    rows = statements.STATEMENTS["drolt.standard_error_corrected"].evaluate(splits, 0.05)
    assert len(rows) == k
    measured = np.array([r.measured for r in rows])
    predicted = np.array([r.value for r in rows])
    assert 0.6 < np.sum(measured**2) / np.sum(predicted**2) < 1.5
    n = np.array([r.terms["n_train"] for r in rows])
    literal = predicted * n  # sigma sqrt(n) in place of sigma / sqrt(n): a factor n apart
    assert np.sum(measured**2) / np.sum(literal**2) < 0.01

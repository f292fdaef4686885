"""Tests of drolt (docs/papers.md) maths in ltbounds.bounds.drolt and its evaluators in ltbounds.statements.drolt:
the KL radius (10) and Theorem 1."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ltbounds import bounds, statements
from ltbounds.bounds import drolt
from ltbounds.bounds.concentration import clopper_pearson
from ltbounds.checks import InputError
from ltbounds.outputs import Outputs
from ltbounds.statements import EvaluationSplits

vectors = hnp.arrays(np.float64, 3, elements=st.floats(-50, 50))


@given(vectors, vectors, st.floats(0.01, 100.0))
def test_kl_closed_form_matches_the_general_gaussian_kl(mu_q, mu_p, sigma):
    covariance = sigma**2 * np.eye(3)
    general = bounds.gaussian_kl(mu_q, covariance, mu_p, covariance)
    assert bounds.kl_same_variance_gaussians(mu_q, mu_p, sigma) == pytest.approx(general, rel=1e-9, abs=1e-9)


def test_kl_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mu_q, mu_p, sigma = np.array([1.0, -0.5]), np.array([0.2, 0.4]), 0.7
    z = mu_q + sigma * rng.normal(size=(400_000, 2))
    log_ratio = (np.sum((z - mu_p) ** 2, axis=1) - np.sum((z - mu_q) ** 2, axis=1)) / (2 * sigma**2)
    estimate, error = log_ratio.mean(), log_ratio.std() / math.sqrt(z.shape[0])
    assert abs(estimate - bounds.kl_same_variance_gaussians(mu_q, mu_p, sigma)) < 5 * error


@given(st.floats(0.0, 100.0), st.floats(0.01, 100.0))
def test_kl_radius_is_the_distance_at_which_the_kl_equals_epsilon(epsilon, sigma):
    radius = float(bounds.drolt_kl_radius(epsilon, sigma))
    mu_q = np.array([radius, 0.0])
    assert bounds.kl_same_variance_gaussians(mu_q, np.zeros(2), sigma) == pytest.approx(epsilon, rel=1e-9, abs=1e-12)


# ----------------------------------------------------------------------------------------------
# Theorem 1


@st.composite
def theorem_data(draw):
    num_classes = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(2, 6), min_size=num_classes, max_size=num_classes))
    dim = draw(st.integers(1, 3))
    labels = np.repeat(np.arange(num_classes), sizes)
    special = st.sampled_from([0.0, 1.0, -1.0, 5.0])
    embeddings = draw(hnp.arrays(np.float64, (labels.size, dim), elements=st.one_of(special, st.floats(-5, 5))))
    radius = draw(hnp.arrays(np.float64, num_classes, elements=st.floats(0.0, 3.0)))
    # the true centroid anywhere in the ball: a direction and a fraction of the radius
    directions = draw(hnp.arrays(np.float64, (num_classes, dim), elements=st.floats(-1, 1)))
    fractions = draw(hnp.arrays(np.float64, num_classes, elements=st.floats(0.0, 1.0)))
    return embeddings, labels, radius, directions, fractions


def _centroids(embeddings, labels, num_classes):
    return np.stack([embeddings[labels == c].mean(axis=0) for c in range(num_classes)])


@pytest.mark.parametrize("metric", drolt.METRICS)
@given(data=theorem_data())
def test_corrected_theorem1_holds_for_any_true_centroid_in_the_ball(metric, data):
    embeddings, labels, radius, directions, fractions = data
    centroids = _centroids(embeddings, labels, radius.shape[0])
    norms = np.linalg.norm(directions, axis=1, keepdims=True)
    unit = np.where(norms > 0, directions / np.where(norms > 0, norms, 1.0), 0.0)
    true = centroids + unit * (fractions * radius)[:, None]
    nll = bounds.drolt_nll(embeddings, labels, true, metric)
    bound = bounds.dro_lt_theorem1(embeddings, labels, centroids, radius, metric, "corrected").bound
    assert np.all(nll <= bound + 1e-9 * np.maximum(1.0, np.abs(bound)))


@pytest.mark.parametrize("metric", drolt.METRICS)
def test_printed_theorem1_fails_on_two_points_of_one_class(metric):
    embeddings, labels = np.array([[-1.0], [1.0]]), np.array([0, 0])
    nll = bounds.drolt_nll(embeddings, labels, [[1.0]], metric)
    printed = bounds.dro_lt_theorem1(embeddings, labels, [[0.0]], 1.0, metric, "as_printed").bound
    assert nll[0] > printed[0] + 1.0


def test_printed_and_corrected_agree_at_radius_zero_for_the_euclidean_metric():
    rng = np.random.default_rng(1)
    embeddings, labels = rng.normal(size=(20, 3)), np.repeat([0, 1], 10)
    centroids = _centroids(embeddings, labels, 2)
    printed = bounds.dro_lt_theorem1(embeddings, labels, centroids, 0.0, "euclidean", "as_printed").bound
    corrected = bounds.dro_lt_theorem1(embeddings, labels, centroids, 0.0, "euclidean", "corrected").bound
    np.testing.assert_allclose(printed, corrected, rtol=1e-12)
    np.testing.assert_allclose(printed, bounds.drolt_nll(embeddings, labels, centroids), rtol=1e-12)


def _centroid_misses(scale: float) -> tuple[int, int]:
    """Misses of the McDiarmid radius (x ``scale``) over repetitions: z = +-1 with equal probability in 1-D
    (true mean 0, ||z|| <= R = 1, E||z - mu||^2 = R^2: the worst case of the radius's Jensen step), classes of
    30, 100 and 400 samples at delta = 0.1; a miss is any class whose centroid leaves its ball. Vectorised:
    the centroid of n signs is (2 Bin(n, 1/2) - n) / n."""
    rng = np.random.default_rng(2)
    delta, sizes, repetitions = 0.1, np.array([30, 100, 400]), 20_000
    radius = scale * bounds.drolt_centroid_radius(sizes, 1.0, delta)
    centroids = (2 * rng.binomial(sizes, 0.5, size=(repetitions, sizes.size)) - sizes) / sizes
    return int(np.sum(np.any(np.abs(centroids) > radius, axis=1))), repetitions


def test_mcdiarmid_radius_covers_the_true_centroid_by_simulation():
    # the radius is 3.6 / sqrt(n_c) here, 1.7x the exact (1 - delta/C) quantile of |centroid| (2.1 / sqrt(n_c))
    misses, repetitions = _centroid_misses(1.0)
    assert clopper_pearson(misses, repetitions, 0.002)[0] <= 0.1


def test_mcdiarmid_coverage_test_detects_a_radius_shrunk_by_half():
    misses, repetitions = _centroid_misses(0.5)
    assert clopper_pearson(misses, repetitions, 0.002)[0] > 0.1


def _theorem1_tight_case(metric: str, scale: float) -> tuple[float, float]:
    """(nll at the true centroid, corrected bound with its radius term x ``scale``) where the triangle steps
    are equalities: z far on one side of hat mu, every other sample on the other side beyond r, and the true
    centroid moved by r towards them. The radius term is bound(r) - bound(0), so ``scale`` < 1 must fail."""
    embeddings = np.array([[-30.0], [3.0], [3.5], [4.0]])
    labels, r = np.zeros(4, dtype=np.int64), 1.0
    nll = bounds.drolt_nll(embeddings, labels, [[r]], metric)[0]
    at_zero, at_r = (
        bounds.dro_lt_theorem1(embeddings, labels, [[0.0]], radius, metric, "corrected").bound[0] for radius in (0, r)
    )
    return float(nll), float(at_zero + scale * (at_r - at_zero))


@pytest.mark.parametrize("metric", drolt.METRICS)
def test_corrected_theorem1_is_tight_and_a_halved_radius_term_fails(metric):
    nll, bound = _theorem1_tight_case(metric, 1.0)
    # equality up to exp(-(30 - r)) terms and round-off
    assert nll <= bound + 1e-12 * abs(bound) and bound - nll < 1e-6 * abs(bound)
    nll, halved = _theorem1_tight_case(metric, 0.5)
    assert nll > halved


def test_bad_inputs_are_rejected_with_the_argument_named():
    embeddings, labels, centroids = np.zeros((4, 2)), np.array([0, 0, 1, 1]), np.zeros((2, 2))
    with pytest.raises(InputError, match="metric"):
        bounds.dro_lt_theorem1(embeddings, labels, centroids, 1.0, "cosine")
    with pytest.raises(InputError, match="radius"):
        bounds.dro_lt_theorem1(embeddings, labels, centroids, [1.0, -1.0])
    with pytest.raises(InputError, match="embeddings"):
        bounds.dro_lt_theorem1(np.zeros((4, 3)), labels, centroids, 1.0)
    with pytest.raises(InputError, match="labels"):
        bounds.drolt_nll(embeddings, [0, 0, 1], centroids)
    with pytest.raises(InputError, match="sigma"):
        bounds.kl_same_variance_gaussians([0.0], [1.0], 0.0)
    with pytest.raises(InputError, match="delta"):
        bounds.drolt_centroid_radius([3, 4], 1.0, 1.0)
    with pytest.raises(InputError, match="embeddings"):
        bounds.drolt_nll(np.array([[np.inf, 0.0]]), [0], centroids)


# ----------------------------------------------------------------------------------------------
# evaluators


def _outputs(per_class, split, seed):
    means = np.random.default_rng(50).normal(size=(3, 4)) * 2
    labels = np.repeat(np.arange(3), per_class)
    embeddings = means[labels] + np.random.default_rng(seed).normal(size=(labels.size, 4))
    return Outputs(embeddings @ means.T, embeddings, labels, means, np.zeros(3), np.array([40, 10, 2]), split)


def test_evaluators_report_both_metrics_and_the_corrected_forms_hold():
    splits = EvaluationSplits(_outputs([40, 10, 2], "train", 0), None, _outputs([30, 30, 30], "test", 1))
    corrected = statements.STATEMENTS["drolt.thm1_corrected"].evaluate(splits, 0.05)
    assert {row.form for row in corrected} == {"corrected", "certified"}
    assert all(row.holds for row in corrected if row.form == "corrected")
    assert all(row.holds for row in corrected if row.form == "certified" and row.valid)
    notes = {row.note.split(";")[0] for row in statements.STATEMENTS["drolt.thm1"].evaluate(splits, 0.05)}
    assert notes == {"d = euclidean", "d = squared_euclidean"}
    kl_rows = statements.STATEMENTS["drolt.kl_radius"].evaluate(splits, 0.05)
    assert kl_rows and all(row.holds for row in kl_rows)


def test_evaluators_build_rows_only_for_classes_present_in_both_splits():
    # class 2 is absent from the training split: no per-class row may speak for it (its centroid is a placeholder)
    splits = EvaluationSplits(_outputs([40, 10, 0], "train", 0), None, _outputs([30, 30, 30], "test", 1))
    for statement_id in ("drolt.thm1", "drolt.thm1_corrected", "drolt.kl_radius", "drolt.standard_error_corrected"):
        rows = statements.STATEMENTS[statement_id].evaluate(splits, 0.05)
        assert rows and {row.class_index for row in rows} - {None} == {0, 1}, statement_id
    # the robust loss sums over the two present classes only, and the corrected form still holds
    robust = statements.STATEMENTS["drolt.robust_loss_corrected"].evaluate(splits, 0.05)
    assert all(row.terms["classes"] == 2.0 and row.holds for row in robust if row.form == "corrected")


def test_squared_metric_needs_its_own_correction_the_euclidean_step_fails_for_it():
    # The triangle step (13)-(15) applied to d = ||.||^2 would give d + 2r + log sum e^{-d}: false for far samples.
    embeddings, labels = np.array([[-3.0], [3.0]]), np.array([0, 0])
    nll = bounds.drolt_nll(embeddings, labels, [[1.0]], "squared_euclidean")[0]
    squared = np.array([9.0, 9.0])
    naive_bound = squared[0] + 2 * 1.0 + np.log(np.sum(np.exp(-squared)))
    assert nll > naive_bound + 5
    corrected = bounds.dro_lt_theorem1(embeddings, labels, [[0.0]], 1.0, "squared_euclidean", "corrected").bound[0]
    assert nll <= corrected

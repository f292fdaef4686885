"""Tests for ltbounds.bounds.complexity: exact enumeration of Rademacher averages on tiny samples."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ltbounds import bounds
from ltbounds.checks import InputError

finite = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False)


def all_signs(count: int) -> np.ndarray:
    return np.array(list(itertools.product((-1.0, 1.0), repeat=count)))


def exact_linear_complexity(features: np.ndarray, radius: float, outputs: int) -> float:
    """E_xi (r/n) ||Xi^T X||_F by enumerating every sign matrix (n * outputs <= 14)."""
    n = features.shape[0]
    signs = all_signs(n * outputs).reshape(-1, n, outputs)
    values = np.linalg.norm(np.einsum("snc,nd->scd", signs, features), axis=(1, 2))
    return radius * float(values.mean()) / n


@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 3)), elements=finite), st.floats(0.1, 10.0))
def test_linear_closed_form_upper_bounds_exact_scalar_complexity(features, radius):
    exact = exact_linear_complexity(features, radius, 1)
    closed = bounds.linear_complexity_closed_form(features, radius)
    assert exact <= closed + 1e-12 * max(1.0, closed)


@settings(max_examples=25)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 3)), elements=finite), st.integers(2, 3))
def test_linear_closed_form_upper_bounds_exact_vector_complexity(features, outputs):
    features = features[: max(1, 12 // outputs)]
    exact = exact_linear_complexity(features, 2.0, outputs)
    closed = bounds.linear_complexity_closed_form(features, 2.0, outputs)
    assert exact <= closed + 1e-12 * max(1.0, closed)


def test_linear_closed_form_is_exact_for_one_sample():
    x = np.array([[3.0, 4.0]])
    assert bounds.linear_complexity_closed_form(x, 2.0) == pytest.approx(2.0 * 5.0)
    assert bounds.linear_complexity_closed_form(x, 2.0, bias=True) == pytest.approx(2.0 * math.sqrt(26.0))


def test_monte_carlo_bound_shrinks_with_draws_and_its_average_converges():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(10, 3))
    exact = exact_linear_complexity(features, 1.5, 1)
    estimate = bounds.linear_complexity_monte_carlo(features, 1.5, 1, delta=0.1, num_draws=50, seed=0)
    expected = 1.5 / 10 * math.sqrt(2 * np.sum(features**2) * math.log(1 / 0.1) / 50)
    assert estimate.terms["mcdiarmid_term"] == pytest.approx(expected)
    few = bounds.linear_complexity_monte_carlo(features, 1.5, 1, delta=0.1, num_draws=10, seed=0)
    many = bounds.linear_complexity_monte_carlo(features, 1.5, 1, delta=0.1, num_draws=1000, seed=0)
    assert many.terms["mcdiarmid_term"] < few.terms["mcdiarmid_term"]
    assert abs(many.terms["monte_carlo_average"] - exact) < 0.05 * exact


def _monte_carlo_miss_probability(scale: float, delta: float = 0.01, draws: int = 100) -> tuple[float, float]:
    """Exact P(MC bound with its McDiarmid term x ``scale`` < exact complexity), and the typical bound / exact.

    Two equal features x = 1 (r = 1.5): a draw's supremum r ||Xi^T X|| / n = (r/2) |xi_1 + xi_2| is 0 or r,
    each with probability 1/2 (the largest variance a supremum can have for its McDiarmid constants, so the
    bound is nearly tight). The average is then r K / m with K ~ Bin(m, 1/2) draws of equal signs, and the miss
    probability is a binomial tail, computed exactly rather than simulated."""
    from scipy import stats

    features, radius = np.array([[1.0], [1.0]]), 1.5
    exact = exact_linear_complexity(features, radius, 1)
    assert exact == pytest.approx(radius / 2)
    for seed in range(5):  # the function's average has the form r K / m, K an integer
        average = bounds.linear_complexity_monte_carlo(features, radius, 1, delta, draws, seed).terms
        assert average["monte_carlo_average"] * draws / radius == pytest.approx(
            round(average["monte_carlo_average"] * draws / radius), abs=1e-9
        )
    mcdiarmid = average["mcdiarmid_term"]
    # miss  <=>  r K / m + scale * mcdiarmid < r / 2  <=>  K < m / 2 - scale * mcdiarmid * m / r
    threshold = draws / 2 - scale * mcdiarmid * draws / radius
    return float(stats.binom.cdf(math.ceil(threshold) - 1, draws, 0.5)), (exact + mcdiarmid) / exact


def test_monte_carlo_bound_misses_the_exact_complexity_with_probability_below_delta():
    probability, ratio = _monte_carlo_miss_probability(1.0)
    assert ratio < 1.5 and probability <= 0.01


def test_monte_carlo_coverage_check_detects_a_mcdiarmid_term_shrunk_by_half():
    probability, _ = _monte_carlo_miss_probability(0.5)
    assert probability > 0.01


def test_vector_contraction_is_tight_on_two_points_and_fails_without_sqrt2():
    # N = 1, C = 2, F = {(0, 0), (1, 1)}, h = ||.||_2 (1-Lipschitz): R_S(h o F) = E max(0, xi sqrt 2) = 1/sqrt 2,
    # R^vec_S(F) = E max(0, xi_1 + xi_2) = 1/2: sqrt(2) L R^vec = 1/sqrt 2 exactly (equality), so any constant
    # below sqrt 2 (Lemma 1 of 003 as printed uses 1) is violated.
    outputs = np.array([[0.0, 0.0], [1.0, 1.0]])
    left = float(np.mean([max(s * np.linalg.norm(v) for v in outputs) for s in (-1.0, 1.0)]))
    signs = all_signs(2)
    vector = float(np.mean(np.max(signs @ outputs.T, axis=1)))
    assert left == pytest.approx(1 / math.sqrt(2)) and vector == pytest.approx(0.5)
    assert left <= float(bounds.vector_contraction(1.0, vector)) + 1e-12
    assert left > 1.0 * 1.0 * vector  # the same check with the constant 1 fails


@settings(max_examples=30)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 4), st.just(2)), elements=finite),
    arrays(np.float64, st.tuples(st.integers(1, 4), st.just(2), st.just(2)), elements=finite),
    st.floats(0.1, 3.0),
)
def test_vector_contraction_bounds_exact_complexity_of_lipschitz_composition(features, heads, lipschitz):
    """Finite class F = {x -> A x}; h(v) = L * ||v - c|| (L-Lipschitz): R_S(h o F) <= sqrt(2) L R^vec_S(F)."""
    n = features.shape[0]
    outputs = np.einsum("kcd,nd->knc", heads, features)  # (heads, n, C)
    composed = lipschitz * np.linalg.norm(outputs - np.array([0.5, -1.0]), axis=2)  # (heads, n)
    scalar_signs = all_signs(n)
    lhs = float(np.mean(np.max(scalar_signs @ composed.T, axis=1))) / n
    vector_signs = all_signs(2 * n).reshape(-1, n, 2)
    rhs_complexity = float(np.mean(np.max(np.einsum("snc,knc->sk", vector_signs, outputs), axis=1))) / n
    rhs_complexity = max(rhs_complexity, 0.0)  # >= 0 exactly (sup over F >= one f, whose mean is 0); float noise
    assert lhs <= float(bounds.vector_contraction(lipschitz, rhs_complexity)) + 1e-9


def test_rademacher_generalization_bound_formula_and_vectorisation():
    value = bounds.rademacher_generalization_bound([0.1, 0.2], [0.05, 0.01], 2.0, [100, 400], 0.05)
    expected = (
        np.array([0.1, 0.2]) + 2 * np.array([0.05, 0.01]) + 6.0 * np.sqrt(math.log(40) / (2 * np.array([100, 400])))
    )
    np.testing.assert_allclose(value, expected)


@pytest.mark.parametrize("delta", [0.0, 1.0, -0.1, float("nan"), "x"])
def test_rademacher_bound_rejects_bad_delta(delta):
    with pytest.raises(InputError, match="delta"):
        bounds.rademacher_generalization_bound(0.1, 0.1, 1.0, 10, delta)


def test_bad_inputs_name_the_argument():
    with pytest.raises(InputError, match="complexity"):
        bounds.rademacher_generalization_bound(0.1, -0.1, 1.0, 10, 0.05)
    with pytest.raises(InputError, match="num_samples"):
        bounds.rademacher_generalization_bound(0.1, 0.1, 1.0, 0, 0.05)
    with pytest.raises(InputError, match="features"):
        bounds.linear_complexity_closed_form(np.array([[np.nan, 1.0]]), 1.0)
    with pytest.raises(InputError, match="radius"):
        bounds.linear_complexity_closed_form(np.ones((2, 2)), -1.0)
    with pytest.raises(InputError, match="lipschitz"):
        bounds.vector_contraction([np.inf], [1.0])


def test_spectral_bft_formula_on_identity_layer():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    estimate = bounds.spectral_complexity_bft([np.eye(2)], x, margin=0.5)
    # one layer, A = I: prod = 1, ||A^T||_{2,1} = 2, R_A = (2^{2/3})^{3/2} = 2
    n, width, norm_x = 3, 2, math.sqrt(7.0)
    expected = 4 / n**1.5 + 36 * norm_x * math.log(2 * width) * math.log(n) * 2.0 / (0.5 * n)
    assert estimate.value == pytest.approx(expected)
    assert estimate.terms["spectral_complexity"] == pytest.approx(2.0)
    assert estimate.terms["vacuous"] == 1.0


def test_providers_registry_and_kinds():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(20, 4))
    closed = bounds.COMPLEXITY_PROVIDERS["linear_closed_form"](radius=2.0).complexity(features, 3)
    assert closed.value == pytest.approx(bounds.linear_complexity_closed_form(features, 2.0, 3, bias=True))
    monte_carlo = bounds.COMPLEXITY_PROVIDERS["linear_monte_carlo"](radius=2.0, num_draws=20).complexity(features, 3)
    assert monte_carlo.delta_spent == 0.01 and monte_carlo.value > 0
    assert bounds.COMPLEXITY_PROVIDERS["user"](0.3).complexity(features, 3).value == 0.3
    spectral = bounds.COMPLEXITY_PROVIDERS["spectral_bft"]((np.eye(4),), margin=1.0)
    assert spectral.kind == "loss_class" and spectral.complexity(features, 3).value > 0
    with pytest.raises(InputError, match="value"):
        bounds.COMPLEXITY_PROVIDERS["user"](-1.0).complexity(features, 3)

"""Tests of ltbounds.bounds.concentration: formulas, validation, and simulated coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from ltbounds import bounds
from ltbounds.bounds.concentration import (
    bennett,
    clopper_pearson,
    clopper_pearson_upper,
    empirical_bernstein,
    empirical_bernstein_terms,
    hoeffding,
    sample_variance,
)
from ltbounds.checks import InputError

unit_samples = hnp.arrays(
    np.float64,
    st.integers(2, 40),
    elements=st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0.0, 1.0)),
)


def _violation_upper_limit(violations: int, repetitions: int) -> float:
    """Clopper-Pearson lower end of the violation rate at 99.9%: it must not exceed delta."""
    return clopper_pearson(violations, repetitions, 0.002)[0]


def test_empirical_bernstein_is_exported_with_a_value():
    result = bounds.empirical_bernstein([0.2, 0.4, 0.9], 0.05, 1.0)
    assert result.value > result.mean


def test_empirical_bernstein_matches_maurer_pontil_theorem_4_by_hand():
    samples = np.array([0.1, 0.5, 0.2, 0.9, 0.4])
    n, delta, upper = 5, 0.1, 2.0
    variance = np.sum((samples - samples.mean()) ** 2) / (n - 1)
    expected = samples.mean() + math.sqrt(2 * variance * math.log(2 / delta) / n)
    expected += 7 * upper * math.log(2 / delta) / (3 * (n - 1))
    assert empirical_bernstein(samples, delta, upper).value == pytest.approx(expected, rel=1e-14)


def test_hoeffding_and_bennett_by_hand():
    samples = np.array([0.0, 1.0, 1.0, 0.0])
    assert hoeffding(samples, 0.05, 1.0).value == pytest.approx(0.5 + math.sqrt(math.log(20) / 8), rel=1e-14)
    expected = 0.5 + math.sqrt(2 * 0.25 * math.log(20) / 4) + math.log(20) / 12
    assert bennett(samples, 0.05, 1.0, variance=0.25).value == pytest.approx(expected, rel=1e-14)


@given(unit_samples, st.floats(1e-3, 0.5), st.floats(0.01, 1000.0))
def test_empirical_bernstein_is_scale_covariant(samples, delta, scale):
    base = empirical_bernstein(samples, delta, 1.0)
    scaled = empirical_bernstein(samples * scale, delta, scale)
    assert scaled.value == pytest.approx(scale * base.value, rel=1e-9, abs=1e-12)
    assert base.value >= base.mean


@given(unit_samples, st.floats(1e-3, 0.5))
def test_empirical_bernstein_terms_vectorise_like_the_scalar_form(samples, delta):
    scalar = empirical_bernstein(samples, delta, 1.0)
    vector = empirical_bernstein_terms(
        np.array([samples.mean()]), np.array([sample_variance(samples)]), np.array([samples.size]), delta, 1.0
    )
    assert float(vector["value"][0]) == pytest.approx(scalar.value, rel=1e-12)


# Coverage by simulation (issue 11, section 3). Each case runs where the bound is within a few percent of
# the mean it bounds (large n, worst-case or near worst-case variance), so a wrong constant shows; and each
# has a power check: the same simulation with the deviation terms shrunk x0.5 must violate more often than
# delta (Clopper-Pearson lower end at 99.9% above delta). Sufficient statistics are drawn directly (binomial /
# multinomial counts), so n = 10^5 costs nothing.

POWER_SCALE = 0.5
# Z in {0, 1/4, 1} with probabilities (0.5, 0.4, 0.1): mean 0.2, variance 0.085 (well below the B^2/4 of a coin)
THREE_POINT = (np.array([0.0, 0.25, 1.0]), np.array([0.5, 0.4, 0.1]))


def _bernstein_violations(case: str, scale: float) -> tuple[int, int, float]:
    """(violations, repetitions, bound / mean) of Maurer-Pontil Thm 4 at delta = 0.01 with its deviation
    terms (variance and range) multiplied by ``scale``."""
    rng = np.random.default_rng(7)
    delta, repetitions = 0.01, 4000
    if case == "bernoulli":
        n, truth = 2000, 0.5
        successes = rng.binomial(n, truth, size=repetitions)
        mean = successes / n
        variance = successes * (n - successes) / (n * (n - 1.0))
    else:
        n = 100_000
        values, probabilities = THREE_POINT
        truth = float(values @ probabilities)
        counts = rng.multinomial(n, probabilities, size=repetitions)
        mean = counts @ values / n
        variance = (counts @ values**2 - n * mean**2) / (n - 1.0)
    terms = empirical_bernstein_terms(mean, variance, n, delta, 1.0)
    value = mean + scale * (terms["variance_term"] + terms["range_term"])
    return int(np.sum(truth > value)), repetitions, float(np.median(terms["value"]) / truth)


def _hoeffding_violations(scale: float) -> tuple[int, int, float]:
    """Hoeffding at delta = 0.05 on Bernoulli(1/2) means of n = 100 (its worst case), deviation x ``scale``."""
    rng = np.random.default_rng(8)
    delta, n, repetitions, truth = 0.05, 100, 4000, 0.5
    mean = rng.binomial(n, truth, size=repetitions) / n
    deviation = math.sqrt(math.log(1 / delta) / (2 * n))
    return int(np.sum(truth > mean + scale * deviation)), repetitions, (truth + deviation) / truth


@pytest.mark.parametrize("case", ["bernoulli", "three_point"])
def test_empirical_bernstein_coverage_by_simulation(case):
    violations, repetitions, ratio = _bernstein_violations(case, 1.0)
    assert ratio < 1.1  # the bound is within 10% of the mean: a wrong constant would show
    assert _violation_upper_limit(violations, repetitions) <= 0.01


@pytest.mark.parametrize("case", ["bernoulli", "three_point"])
def test_empirical_bernstein_coverage_test_detects_a_deviation_shrunk_by_half(case):
    violations, repetitions, _ = _bernstein_violations(case, POWER_SCALE)
    assert _violation_upper_limit(violations, repetitions) > 0.01


def test_hoeffding_coverage_by_simulation():
    violations, repetitions, ratio = _hoeffding_violations(1.0)
    assert ratio < 1.3
    assert _violation_upper_limit(violations, repetitions) <= 0.05


def test_hoeffding_coverage_test_detects_a_deviation_shrunk_by_half():
    violations, repetitions, _ = _hoeffding_violations(POWER_SCALE)
    assert _violation_upper_limit(violations, repetitions) > 0.05


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (17, 50)])
def test_clopper_pearson_matches_scipy_exact_interval(k, n):
    lower, upper = clopper_pearson(k, n, 0.05)
    reference = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert lower == pytest.approx(reference.low, abs=1e-12)
    assert upper == pytest.approx(reference.high, abs=1e-12)


@pytest.mark.parametrize("delta", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_delta_outside_unit_interval_is_rejected(delta):
    with pytest.raises(InputError, match="delta"):
        empirical_bernstein([0.1, 0.2], delta, 1.0)


def test_bad_samples_are_rejected_with_the_argument_named():
    with pytest.raises(InputError, match="samples"):
        empirical_bernstein([0.5], 0.05, 1.0)  # needs n >= 2
    with pytest.raises(InputError, match="samples"):
        empirical_bernstein([0.5, float("nan")], 0.05, 1.0)
    with pytest.raises(InputError, match="samples"):
        empirical_bernstein([0.5, 2.0], 0.05, 1.0)  # outside [0, upper]
    with pytest.raises(InputError, match="samples"):
        empirical_bernstein(np.zeros((2, 2)), 0.05, 1.0)
    with pytest.raises(InputError, match="upper"):
        empirical_bernstein([0.5, 0.2], 0.05, 0.0)
    with pytest.raises(InputError, match="successes"):
        clopper_pearson(11, 10, 0.05)


@settings(max_examples=30)
@given(st.integers(0, 30), st.integers(1, 30), st.floats(1e-3, 0.5))
def test_clopper_pearson_interval_contains_the_estimate(k, n, delta):
    k = min(k, n)
    lower, upper = clopper_pearson(k, n, delta)
    assert 0.0 <= lower <= k / n <= upper <= 1.0


def test_clopper_pearson_upper_equals_the_scalar_interval_entry_for_entry():
    rng = np.random.default_rng(3)
    trials = rng.integers(1, 3000, 400)
    successes = np.minimum(trials, rng.integers(0, 40, 400))
    successes[::7], successes[::5] = trials[::7], 0  # k = n (upper end 1) and k = 0
    for delta in (0.999, 0.05 / 8142, 0.3):
        scalar = [clopper_pearson(int(k), int(n), delta)[1] for k, n in zip(successes, trials, strict=True)]
        np.testing.assert_array_equal(clopper_pearson_upper(successes.astype(float), trials, delta), scalar)
    with pytest.raises(InputError, match="successes"):
        clopper_pearson_upper([11], [10], 0.05)

"""training.data.gaussian: population risks of linear heads, the Bayes rule, fresh samples."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import norm

from ltbounds.checks import InputError
from training.data import DatasetSpec, GaussianPopulation, load_dataset
from training.data.gaussian import gaussian_means

finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


def _binary(separation=2.0, sigma=1.0, dim=3):
    return GaussianPopulation(gaussian_means(2, dim, separation, seed=0), sigma)


def test_bayes_rule_risk_is_phi_of_minus_half_the_separation_over_sigma():
    population = _binary(separation=3.0, sigma=1.5)
    risk = population.bayes_risk()
    assert risk.method == "exact"
    assert np.allclose(risk.per_class, norm.cdf(-3.0 / (2 * 1.5)), rtol=1e-12)


@given(weight=arrays(np.float64, (2, 3), elements=finite), bias=arrays(np.float64, (2,), elements=finite))
@settings(max_examples=20)
def test_exact_binary_risk_agrees_with_monte_carlo(weight, bias):
    population = _binary()
    exact = population.risk(weight, bias, method="exact")
    estimate = population.risk(weight, bias, method="monte_carlo", samples_per_class=10_000, seed=1)
    # 5 standard errors of the exact proportion (plus a floor for p near 0 or 1): fails 1 in ~10^6 per class.
    tolerance = 5 * np.sqrt(exact.per_class * (1 - exact.per_class) / 10_000) + 1e-3
    assert np.all(np.abs(estimate.per_class - exact.per_class) <= tolerance)


@given(weight=arrays(np.float64, (2, 3), elements=finite), bias=arrays(np.float64, (2,), elements=finite))
def test_no_linear_head_beats_the_bayes_rule_on_balanced_error(weight, bias):
    population = _binary()
    assert population.risk(weight, bias).balanced >= population.bayes_risk().balanced - 1e-12


@given(
    weight=arrays(np.float64, (2, 3), elements=finite),
    bias=arrays(np.float64, (2,), elements=finite),
    scale=st.sampled_from([1e-3, 1.0, 1e4]),
)
def test_exact_risk_is_invariant_to_positive_scaling_of_the_head(weight, bias, scale):
    population = _binary()
    assert np.allclose(population.risk(weight, bias).per_class, population.risk(scale * weight, scale * bias).per_class)


def test_constant_head_ties_go_to_class_zero_like_argmax():
    population = _binary()
    assert population.risk(np.zeros((2, 3)), np.zeros(2)).per_class.tolist() == [0.0, 1.0]
    assert population.risk(np.zeros((2, 3)), np.array([0.0, 1.0])).per_class.tolist() == [1.0, 0.0]
    estimate = population.risk(np.zeros((2, 3)), np.zeros(2), method="monte_carlo", samples_per_class=100)
    assert estimate.per_class.tolist() == [0.0, 1.0]


def test_multiclass_bayes_rule_beats_perturbed_heads_with_common_random_numbers():
    population = GaussianPopulation(gaussian_means(4, 3, 3.0, seed=2), 1.0)
    weight, bias = population.bayes_head()
    best = population.risk(weight, bias, samples_per_class=30_000)
    assert best.method == "monte_carlo" and np.all(best.standard_error > 0)
    rng = np.random.default_rng(0)
    for _ in range(5):
        worse = population.risk(weight + 0.5 * rng.standard_normal(weight.shape), bias, samples_per_class=30_000)
        assert worse.balanced > best.balanced
    # The prior-weighted Bayes rule trades tail recall for head recall.
    prior = np.array([0.85, 0.1, 0.04, 0.01])
    skewed = population.bayes_risk(prior=prior, samples_per_class=30_000)
    assert skewed.per_class[0] < best.per_class[0] and skewed.per_class[3] > best.per_class[3]
    assert skewed.weighted(prior) < best.weighted(prior)


def test_expected_loss_of_the_zero_one_loss_is_the_monte_carlo_risk():
    population = GaussianPopulation(gaussian_means(3, 5, 2.0, seed=1), 0.7)
    weight, bias = population.bayes_head()
    weight_t, bias_t = torch.tensor(weight, dtype=torch.float32), torch.tensor(bias, dtype=torch.float32)

    def zero_one(x, y):
        return (torch.argmax(x @ weight_t.T + bias_t, dim=1) != y).float()

    expectation = population.expected_loss(zero_one, samples_per_class=30_000, seed=4)
    risk = population.risk(weight, bias, samples_per_class=30_000, seed=4)
    assert np.array_equal(expectation.per_class, risk.per_class)


def test_expected_loss_of_the_squared_norm_matches_its_closed_form():
    population = GaussianPopulation(gaussian_means(3, 4, 2.0, seed=3), 0.5)
    expectation = population.expected_loss(lambda x, y: (x.double() ** 2).sum(1), samples_per_class=40_000, seed=0)
    closed_form = (population.means**2).sum(1) + population.dim * population.sigma**2
    assert np.all(np.abs(expectation.per_class - closed_form) <= 6 * expectation.standard_error)
    with pytest.raises(InputError, match="one value per sample"):
        population.expected_loss(lambda x, y: x.sum(), samples_per_class=10)


def test_sample_draws_the_requested_counts_reproducibly_and_fast_paths_agree():
    population = GaussianPopulation(gaussian_means(3, 4, 6.0, seed=0), 1.0)
    counts = np.array([2000, 200, 2])
    first = population.sample(counts, generator=5)
    second = population.sample(counts, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first.x, second.x) and torch.equal(first.y, second.y)
    assert first.x.shape == (2202, 4) and first.x.dtype == torch.float32
    assert torch.bincount(first.y).tolist() == counts.tolist()
    class_zero = first.x[first.y == 0].double().mean(0).numpy()
    assert np.all(np.abs(class_zero - population.means[0]) < 6 / np.sqrt(2000))
    with pytest.raises(InputError, match="class_counts has 2 entries"):
        population.sample([1, 2])


def test_gaussian_dataset_has_its_population_and_fixed_means():
    data = load_dataset(DatasetSpec("gaussian", imbalance=10, options={"classes": 3, "dim": 5, "separation": 5.0}))
    population = data.population
    assert isinstance(population, GaussianPopulation) and population.means.shape == (3, 5)
    distances = np.linalg.norm(population.means[:, None] - population.means[None], axis=-1)
    assert np.allclose(distances[~np.eye(3, dtype=bool)], 5.0)
    other_seed = load_dataset(DatasetSpec("gaussian", seed=1, options={"classes": 3, "dim": 5, "separation": 5.0}))
    assert np.array_equal(other_seed.population.means, population.means)
    assert not torch.equal(other_seed.train.x[:5], data.train.x[:5])
    assert torch.equal(other_seed.test.x, data.test.x)
    # The Bayes head classifies the held-out test set at about its population accuracy.
    weight, bias = (torch.tensor(v, dtype=torch.float32) for v in population.bayes_head())
    test_error = (torch.argmax(data.test.x @ weight.T + bias, 1) != data.test.y).double().mean().item()
    assert abs(test_error - population.bayes_risk(samples_per_class=20_000).balanced) < 0.02


def test_numerical_multiclass_risk_agrees_with_monte_carlo():
    population = GaussianPopulation(gaussian_means(3, 4, 2.5, seed=5), 1.2)
    weight, bias = population.bayes_head()
    weight = weight + 0.3 * np.random.default_rng(1).standard_normal(weight.shape)
    bias = np.array([0.3, -0.2, 0.0])
    numerical = population.risk(weight, bias, method="numerical", tolerance=1e-6)
    estimate = population.risk(weight, bias, samples_per_class=100_000, seed=3)
    assert numerical.method == "numerical"
    assert np.all(np.abs(numerical.per_class - estimate.per_class) <= 5 * estimate.standard_error + 1e-5)
    binary = _binary()
    assert np.allclose(
        binary.risk(*binary.bayes_head(), method="numerical").per_class, binary.bayes_risk().per_class, atol=1e-5
    )
    with pytest.raises(InputError, match="linearly independent"):
        population.risk(np.ones((3, 4)), method="numerical")


def test_bad_heads_and_priors_are_refused():
    population = _binary()
    with pytest.raises(InputError, match=r"\(2, 3\)"):
        population.risk(np.zeros((3, 3)))
    with pytest.raises(InputError, match="monte_carlo"):
        GaussianPopulation(gaussian_means(3, 3, 1.0, 0), 1.0).risk(np.zeros((3, 3)), method="exact")
    with pytest.raises(InputError, match="prior"):
        population.bayes_head(prior=[0.5, 0.6])
    with pytest.raises(InputError, match="sigma"):
        GaussianPopulation(np.zeros((2, 2)), 0.0)

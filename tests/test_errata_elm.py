"""The stored ELM counterexamples violate the printed statements, and the corrections hold on them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ltbounds import bounds, errata, statements
from ltbounds.bounds.concentration import clopper_pearson, empirical_bernstein

ELM_IDS = sorted(i for i in errata.REGISTRY if i.startswith("elm."))


def test_every_elm_statement_has_an_entry_and_back():
    declared = sorted(i for i in statements.STATEMENTS if i.startswith("elm."))
    assert declared == ELM_IDS


def test_prop1_expanded_counterexample_violates_the_printed_form_only():
    case = errata.load_counterexample("elm.prop1_expanded")
    printed = bounds.elm_prop1_expanded(case["embeddings"], case["labels"], case["alpha"])
    corrected = bounds.elm_prop1_expanded(case["embeddings"], case["labels"], case["alpha"], corrected=True)
    assert printed.left[0] > printed.right[0]
    assert corrected.left[0] <= corrected.right[0]
    assert printed.left[0] == pytest.approx(case["printed_left"]) and printed.right[0] == pytest.approx(
        case["bar_omega_pull"]
    )


def test_gaussian_softmax_counterexample_violates_the_printed_form_only():
    case = errata.load_counterexample("elm.gaussian_softmax")
    printed = bounds.elm_gaussian_softmax_printed(case["z"], case["means"], case["variances"], case["priors"])
    exact = bounds.elm_gaussian_posterior(case["z"], case["means"], case["variances"], case["priors"])
    assert np.max(np.abs(printed - exact)) > 0.4
    np.testing.assert_allclose(exact[0], case["exact_posterior"], rtol=1e-12)
    shared = np.full(2, np.mean(case["variances"]))
    np.testing.assert_allclose(
        bounds.elm_gaussian_softmax_printed(case["z"], case["means"], shared, case["priors"]),
        bounds.elm_gaussian_posterior(case["z"], case["means"], shared, case["priors"]),
        atol=1e-12,
    )


def test_lemma3_counterexample_sample_violates_the_printed_form():
    case = errata.load_counterexample("elm.lemma3")
    printed = bounds.elm_lemma3_as_printed(case["samples"], case["delta"], case["B"])
    assert case["true_mean"] > printed
    assert case["true_mean"] <= empirical_bernstein(case["samples"], case["delta"], case["B"]).value


def test_lemma3_counterexample_exact_violation_probability_exceeds_delta():
    case = errata.load_counterexample("elm.lemma3")
    big_b, p, n, delta = case["B"], case["p"], case["n"], case["delta"]
    probability = 0.0
    for k in range(n + 1):
        sample = np.r_[np.full(k, big_b), np.zeros(n - k)]
        if big_b * p > bounds.elm_lemma3_as_printed(sample, delta, big_b):
            probability += stats.binom.pmf(k, n, p)
    assert probability == pytest.approx(case["exact_violation_probability_printed"], rel=1e-9)
    assert probability > 5 * delta


def test_lemma3_printed_violation_rate_exceeds_delta_by_simulation_and_the_correction_does_not():
    case = errata.load_counterexample("elm.lemma3")
    big_b, p, n, delta, repetitions = case["B"], case["p"], case["n"], case["delta"], 2000
    draws = big_b * np.random.default_rng(4).binomial(1, p, size=(repetitions, n)).astype(float)
    printed = np.array([bounds.elm_lemma3_as_printed(row, delta, big_b) for row in draws])
    corrected = np.array([empirical_bernstein(row, delta, big_b).value for row in draws])
    printed_violations = int(np.sum(big_b * p > printed))
    corrected_violations = int(np.sum(big_b * p > corrected))
    assert clopper_pearson(printed_violations, repetitions, 0.002)[0] > delta  # clearly above delta
    assert clopper_pearson(corrected_violations, repetitions, 0.002)[0] <= delta


def test_lemma3_read_with_the_range_term_outside_and_divisor_n_survives_an_exact_bernoulli_search():
    # The errata entry claims only the square-root scope breaks Lemma 3: check the other reading exactly.
    probabilities = np.linspace(0.001, 0.999, 999)
    worst = 0.0
    for n in range(2, 41):
        k = np.arange(n + 1)
        means = k / n
        pmf = stats.binom.pmf(k[None, :], n, probabilities[:, None])
        for delta in (0.01, 0.05, 0.1, 0.2, 0.5):
            log_term = np.log(2 / delta)
            bound = means + np.sqrt(2 * means * (1 - means) * log_term / n) + 7 * log_term / (3 * (n - 1))
            violation = np.sum(pmf * (probabilities[:, None] > bound[None, :]), axis=1)
            worst = max(worst, float(violation.max()) / delta)
    assert worst < 0.07

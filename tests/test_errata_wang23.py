"""Errata of seed 003: every statement has an entry; stored counterexamples violate the printed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import find, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ltbounds import bounds, errata, statements
from ltbounds.errata import VERDICTS

WANG23_IDS = {
    "wang23.prop1",
    "wang23.lemma2",
    "wang23.lemma3",
    "wang23.thm1",
    "wang23.prop2",
    "wang23.lemma4",
    "wang23.prop3",
    "wang23.remark2",
}


def test_every_wang23_statement_has_an_erratum_and_an_evaluator():
    registered = {key for key in errata.REGISTRY if key.startswith("wang23.")}
    assert WANG23_IDS <= registered
    declared = {key for key in statements.STATEMENTS if key.startswith("wang23.")}
    assert registered == declared
    for key in registered:
        entry = errata.REGISTRY[key]
        assert entry.verdict in VERDICTS and entry.explanation and entry.printed
        if entry.verdict == "false_as_printed":
            assert entry.counterexample and entry.corrected_by in statements.STATEMENTS
        if entry.corrected_by:
            assert errata.REGISTRY[entry.corrected_by].verdict == "holds"


def test_lemma4_counterexample_violates_the_printed_constant_and_not_the_corrected_one():
    case = errata.load_counterexample("wang23.lemma4")
    logits, labels = np.array(case["logits"]), np.array(case["labels"])
    params = {"alpha": case["alpha"], "beta": case["beta"], "logit_shift": case["logit_shift"]}
    gradients = bounds.vs_gradient_norm(logits, labels, params["alpha"], params["beta"], params["logit_shift"])
    printed = bounds.vs_local_lipschitz(logits, labels, reading="as_printed", **params).mu
    corrected = bounds.vs_local_lipschitz(logits, labels, reading="corrected", **params).mu
    np.testing.assert_allclose(printed, case["printed_mu"])
    np.testing.assert_allclose(gradients, case["gradient_norm_at_samples"])
    y = case["class"]
    assert gradients[labels == y].max() > printed[y] * 1.4  # a violation, not a rounding effect
    assert np.all(gradients <= corrected[labels] * (1 + 1e-12))


def test_hypothesis_finds_a_lemma4_violation_of_the_printed_reading():
    """The search that found the stored counterexample: some sampled logits break the printed mu_y."""

    def violates(logits):
        labels = np.array([0, 1])
        printed = bounds.vs_local_lipschitz(logits, labels, reading="as_printed").mu
        return bool(np.any(bounds.vs_gradient_norm(logits, labels) > printed[labels] * (1 + 1e-9)))

    example = find(
        arrays(np.float64, (2, 2), elements=st.integers(-3, 3).map(float)),
        violates,
        settings=settings(max_examples=500, database=None),
    )
    assert violates(example)


def test_prop2_counterexample_violates_the_whole_bound_reading():
    case = errata.load_counterexample("wang23.prop2")
    counts = np.array(case["class_counts"])
    kappa, k = case["kappa"], case["complexity_constant"]
    mu = counts.astype(float) ** -kappa
    union = bounds.union_bound(
        counts, case["empirical_risks"], mu.max() * k / np.sqrt(counts), case["loss_bound"], case["delta"], "as_printed"
    )
    thm1 = bounds.contraction_bound(
        counts,
        case["empirical_risks"],
        mu,
        k / np.sqrt(counts),
        case["loss_bound"],
        case["delta"],
        "as_printed",
        full_complexity=k / np.sqrt(counts.sum()),
    )
    assert kappa > 1
    assert thm1.value > union.value  # the whole Thm 1 bound is not sharper ...
    assert thm1.terms["complexity"] < union.terms["complexity"]  # ... although its complexity term is
    assert thm1.value == pytest.approx(case["thm1_value"], rel=1e-12)
    assert union.value == pytest.approx(case["union_value"], rel=1e-12)
    # the corrected statement predicts exactly this: complexity terms compared, kappa > 1, imbalanced
    assert bounds.prop2_corrected(counts, kappa)["sharper_than_global"]

"""The stored DRO-LT counterexample violates printed Theorem 1 for both metrics; the corrections hold on it."""

from __future__ import annotations

import pytest

from ltbounds import bounds, errata, statements


def test_every_drolt_statement_has_an_entry_and_back():
    assert sorted(i for i in statements.STATEMENTS if i.startswith("drolt.")) == sorted(
        i for i in errata.REGISTRY if i.startswith("drolt.")
    )


@pytest.mark.parametrize("metric", ["euclidean", "squared_euclidean"])
def test_theorem1_counterexample_violates_the_printed_form_and_not_the_corrected(metric):
    case = errata.load_counterexample("drolt.thm1")[metric]
    nll = bounds.drolt_nll(case["embeddings"], case["labels"], case["centroids_true"], metric)[case["sample"]]
    printed = bounds.dro_lt_theorem1(
        case["embeddings"], case["labels"], case["centroids_hat"], case["radius"], metric, "as_printed"
    ).bound[case["sample"]]
    corrected = bounds.dro_lt_theorem1(
        case["embeddings"], case["labels"], case["centroids_hat"], case["radius"], metric, "corrected"
    ).bound[case["sample"]]
    assert nll > printed
    assert nll <= corrected
    assert nll == pytest.approx(case["nll"], rel=1e-12) and printed == pytest.approx(case["printed_bound"], rel=1e-12)


def test_theorem1_counterexample_true_centroid_is_inside_the_ball():
    case = errata.load_counterexample("drolt.thm1")["euclidean"]
    shift = abs(case["centroids_true"][0][0] - case["centroids_hat"][0][0])
    assert shift <= case["radius"]

"""Errata of seed 002 (tutorial): one entry per statement, honest verdicts, the stored counterexample re-checked."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ltbounds import errata
from ltbounds.bounds import representation
from ltbounds.statements import STATEMENTS
from ltbounds.statements import tutorial as declared

EXPECTED_VERDICTS = {
    "tutorial.fisher_consistency": "holds",
    "tutorial.threshold_moving": "holds",
    "tutorial.ldam_optimal_margins": "holds",
    "tutorial.effective_number": "holds",
    "tutorial.etf": "holds_with_extra_assumption",
    "tutorial.etf_corrected": "holds",
    # ids added by the completeness pass (issue 11, section 2); their evidence is in tests/test_claims_tutorial.py
    "tutorial.risk_decomposition": "holds",
    "tutorial.plugin_am_consistency": "holds",
    "tutorial.la_loss_two_forms": "holds",
    "tutorial.reweighting_vs_logit_adjustment": "holds",
    "tutorial.ldam_relaxation": "holds",
    "tutorial.rwsam_perturbation": "false_as_printed",
    "tutorial.rwsam_perturbation_corrected": "holds",
    "tutorial.ltssl_refinement": "holds_with_extra_assumption",
    "tutorial.ltssl_refinement_corrected": "holds",
    "tutorial.records_prop1": "ambiguous",
    "tutorial.ts_schedule": "holds",
    "tutorial.bcl_memorization_range": "holds",
    "tutorial.gh_uniform_structure": "holds_with_extra_assumption",
    "tutorial.gh_uniform_structure_corrected": "holds",
    "tutorial.gh_theorem34": "ambiguous",
}
WITH_COUNTEREXAMPLE = {"tutorial.etf", "tutorial.rwsam_perturbation"}


def test_every_tutorial_statement_is_declared_once_and_the_errata_are_read_from_the_declarations():
    statement_ids = [statement.id for statement in declared.DECLARED]
    entry_ids = [entry_id for entry_id in errata.REGISTRY if entry_id.startswith("tutorial.")]
    assert statement_ids == entry_ids  # same ids, in declaration order: no second list
    assert sorted(statement_ids) == sorted(EXPECTED_VERDICTS)
    assert len(set(statement_ids)) == len(statement_ids)
    assert all(STATEMENTS[statement.id] is statement for statement in declared.DECLARED)


@pytest.mark.parametrize("statement_id", sorted(EXPECTED_VERDICTS))
def test_tutorial_verdicts_and_sources(statement_id):
    entry = errata.REGISTRY[statement_id]
    assert entry.verdict == EXPECTED_VERDICTS[statement_id]
    assert entry.source.startswith("002, ")
    assert entry.printed and len(entry.explanation) > 100
    if entry.verdict in ("false_as_printed", "holds_with_extra_assumption"):
        assert entry.corrected_by in {statement.id for statement in declared.DECLARED}


def _stored_case():
    case = errata.load_counterexample("tutorial.etf")
    h = np.array([case["features"]])
    w = np.array([case["class_weight"]])
    return case, h, w, case["energy_w"], case["energy_h"]


def test_stored_etf_counterexample_violates_the_printed_gradient():
    case, h, w, e_w, e_h = _stored_case()
    printed = representation.dot_regression_gradient_printed(h, w, e_w, e_h)
    exact = representation.dot_regression_gradient(h, w, e_w, e_h)
    np.testing.assert_allclose(printed[0], case["printed_gradient"], atol=1e-15)
    np.testing.assert_allclose(exact[0], case["exact_gradient"], rtol=1e-15)
    assert np.linalg.norm(printed - exact) > 0.4  # not a rounding effect: sqrt(2) - 1
    # and the exact gradient is the real one: central differences of the (quadratic) loss
    step = 1e-3
    up = representation.dot_regression_loss(h + step, w, e_w, e_h)
    down = representation.dot_regression_loss(h - step, w, e_w, e_h)
    assert (up - down)[0] / (2 * step) == pytest.approx(exact[0, 0], rel=1e-9)


def test_stored_etf_counterexample_breaks_the_norm_condition_of_the_corrected_statement():
    _, h, w, e_w, e_h = _stored_case()
    product = np.linalg.norm(h) * np.linalg.norm(w)
    assert not math.isclose(product, math.sqrt(e_w * e_h))
    assert float(h[0] @ w[0]) != 0.0
    # corrected statement: printed - exact = (cos - w^T h / sqrt(E_W E_H)) w_c, here (1 - sqrt 2) w_c
    gap = representation.dot_regression_gradient_printed(h, w, e_w, e_h) - representation.dot_regression_gradient(
        h, w, e_w, e_h
    )
    np.testing.assert_allclose(gap, (1 - float(h[0] @ w[0]) / math.sqrt(e_w * e_h)) * w, rtol=1e-15)
    # rescaling h to ||h||^2 = E_H restores the printed formula
    fixed = h / np.linalg.norm(h) * math.sqrt(e_h)
    np.testing.assert_allclose(
        representation.dot_regression_gradient_printed(fixed, w, e_w, e_h),
        representation.dot_regression_gradient(fixed, w, e_w, e_h),
        atol=1e-15,
    )


def test_tutorial_records_are_json_serialisable_with_the_counterexample_inline():
    records = {record["id"]: record for record in errata.as_records() if record["id"].startswith("tutorial.")}
    assert set(records) == set(EXPECTED_VERDICTS)
    assert records["tutorial.etf"]["counterexample"]["energy_h"] == 0.5
    assert records["tutorial.etf"]["corrected_by"] == "tutorial.etf_corrected"
    assert all(records[i]["counterexample"] is None for i in EXPECTED_VERDICTS if i not in WITH_COUNTEREXAMPLE)
    json.dumps(list(records.values()))

"""ltbounds.report: non-vacuity, tightness, Kendall tau across checkpoints, and report.md's text."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import kendalltau

from ltbounds.report import TIGHT_RELATIVE, bound_summary, build_report, classify_row, kendall_tau_table


def row(value, measured, kind="bound"):
    return {"value": value, "measured": measured, "kind": kind}


def test_a_risk_bound_below_its_trivial_value_is_non_vacuous_and_one_above_is_vacuous():
    assert classify_row(row(0.4, 0.3), 1.0)["non_vacuous"] is True
    assert classify_row(row(1.7, 0.3), 1.0)["non_vacuous"] is False
    assert classify_row(row(2.0, 1.3), 2.83)["non_vacuous"] is True
    assert classify_row(row(9.0, 1.3), 2.83)["trivial"] == 2.83


@pytest.mark.parametrize("trivial", [None, math.nan, math.inf])
def test_unknown_trivial_value_stays_unknown(trivial):
    unknown = classify_row(row(0.4, 0.3), trivial)
    assert math.isnan(unknown["trivial"]) and unknown["non_vacuous"] is None


def _toy_splits(num_classes: int = 3):
    """A class-mean linear head on Gaussian classes, train and test (every class present)."""
    from ltbounds.outputs import Outputs
    from ltbounds.statements import EvaluationSplits

    rng = np.random.default_rng(0)
    means = 2.0 * np.eye(num_classes, 3)
    counts = np.array([60, 25, 8][:num_classes])
    weight = means.copy()
    bias = -0.5 * np.sum(weight**2, axis=1)

    def split(per_class, name):
        labels = np.repeat(np.arange(num_classes), per_class)
        x = means[labels] + rng.normal(size=(labels.size, 3))
        return Outputs(x @ weight.T + bias, x, labels, weight, bias, counts, split=name)

    test = split(np.full(num_classes, 30), "test")
    return EvaluationSplits(train=split(counts, "train"), heldout=test, test=test)


def test_bounds_csv_trivial_is_the_results_trivial_field_not_a_term_name():
    from ltbounds.bounds.result import BoundResult
    from ltbounds.evaluation import bound_table
    from ltbounds.statements import Statement

    def rows(splits, delta):
        return [
            # a term named like a loss cap no longer makes the row's trivial value
            BoundResult(statement="toy.a", form="certified", value=2.0, measured=1.0, terms={"loss_cap_M": 1.5}),
            BoundResult(statement="toy.b", form="certified", value=2.0, measured=1.0, trivial=1.5),
            BoundResult(statement="toy.c", form="certified", value=1.0, measured=0.5, trivial=np.float64(1.5)),
        ]

    toy = {"toy": Statement(id="toy", source="test", kind="inequality", summary="toy", evaluate=rows)}
    table = bound_table("m", _toy_splits(), 0.05, toy).set_index("bound")
    assert math.isnan(table.loc["toy.a", "trivial"]) and table.loc["toy.a", "non_vacuous"] is None
    assert table.loc["toy.b", "trivial"] == 1.5 and not table.loc["toy.b", "non_vacuous"]
    assert table.loc["toy.c", "trivial"] == 1.5 and table.loc["toy.c", "non_vacuous"]


@pytest.mark.parametrize("num_classes", [2, 3])
def test_the_loss_bounds_report_their_loss_cap_as_trivial_and_other_cap_named_terms_do_not_count(num_classes):
    """The rows report.TRIVIAL_TERMS used to read by name get the same trivial value from the field; a term
    with such a name elsewhere (per-class rows, or a statement that is not a probabilistic bound) is not one."""
    from ltbounds.statements import STATEMENTS

    capped = {  # statement -> the term holding the cap of the loss it bounds
        "wang23.prop1": "loss_cap_M",
        "wang23.lemma2": "loss_cap_M",
        "wang23.thm1": "loss_cap_M",
        "elm.lemma3": "B",
        "elm.lemma3_corrected": "B",
        "elm.prop2": "B",
        "elm.prop2_corrected": "B",
        "elm.prop2_multiclass": "max_B",
    }
    splits = _toy_splits(num_classes)
    seen = set()
    for statement_id, statement in STATEMENTS.items():
        for result in statement.evaluate(splits, 0.05):
            per_class_cap = statement_id.startswith("elm.lemma3")  # Lemma 3 is per class; the others are overall
            key = capped.get(statement_id) if result.class_index is None or per_class_cap else None
            if key is None:
                if {"loss_cap_M", "B", "max_B"} & set(result.terms):
                    assert result.trivial is None, (statement_id, result.form)
            else:
                seen.add(statement_id)
                assert statement.kind == "bound"
                assert result.trivial == result.terms[key] > 0, (statement_id, result.form)
    assert seen == {s for s in capped if num_classes == 2 or s not in ("elm.prop2", "elm.prop2_corrected")}


@given(measured=st.floats(0.0, 1e6), relative=st.floats(-0.5, 0.5))
def test_tight_means_holds_and_within_ten_percent(measured, relative):
    value = measured * (1 + relative)
    tight = classify_row(row(value, measured), None)["tight"]
    scale = max(abs(value), abs(measured))
    expected = (value - measured >= -1e-12 * max(1.0, scale)) and (value - measured <= TIGHT_RELATIVE * scale)
    assert tight is expected


def bound_rows(values_by_checkpoint, bound="b.x", form="certified"):
    return pd.DataFrame(
        [
            {
                "checkpoint": c,
                "bound": bound,
                "form": form,
                "split": "test",
                "class": "all",
                "status": "ok",
                "value": v,
                "measured": math.nan,
            }
            for c, v in values_by_checkpoint.items()
        ]
    )


@given(
    errors=arrays(np.float64, st.integers(3, 8), elements=st.floats(0, 1), unique=True),
    values=st.data(),
)
def test_kendall_tau_matches_scipy_on_the_checkpoints(errors, values):
    bound_values = values.draw(arrays(np.float64, errors.shape, elements=st.floats(0, 10), unique=True))
    names = [f"ck{i}" for i in range(errors.size)]
    checkpoints = pd.DataFrame({"checkpoint": names, "balanced_error": errors})
    table = kendall_tau_table(bound_rows(dict(zip(names, bound_values, strict=True))), checkpoints)
    assert len(table) == 1
    assert table["tau"].iloc[0] == pytest.approx(kendalltau(bound_values, errors).statistic)


def test_a_bound_that_grows_with_the_error_has_tau_one_and_a_reversed_one_minus_one():
    checkpoints = pd.DataFrame({"checkpoint": ["a", "b", "c"], "balanced_error": [0.1, 0.3, 0.2]})
    same = kendall_tau_table(bound_rows({"a": 1.0, "b": 3.0, "c": 2.0}), checkpoints)
    reversed_ = kendall_tau_table(bound_rows({"a": 3.0, "b": 1.0, "c": 2.0}), checkpoints)
    assert same["tau"].iloc[0] == pytest.approx(1.0) and reversed_["tau"].iloc[0] == pytest.approx(-1.0)
    constant = kendall_tau_table(bound_rows({"a": 2.0, "b": 2.0, "c": 2.0}), checkpoints)
    assert math.isnan(constant["tau"].iloc[0])


def full_rows():
    base = {"source": "s", "kind": "bound", "split": "test", "note": "", "terms": "{}"}
    rows = [
        {
            **base,
            "checkpoint": "a",
            "method": "ce",
            "bound": "x.good",
            "form": "certified",
            "class": "all",
            "value": 0.5,
            "measured": 0.45,
            "slack": 0.05,
            "valid": True,
            "assumptions_violated": "",
            "holds": True,
            "trivial": 1.0,
            "non_vacuous": True,
            "tight": True,
            "status": "ok",
        },
        {
            **base,
            "checkpoint": "a",
            "method": "ce",
            "bound": "x.loose",
            "form": "as_printed",
            "class": 3,
            "value": 7.0,
            "measured": 0.2,
            "slack": 6.8,
            "valid": False,
            "assumptions_violated": "fixed_model",
            "holds": True,
            "trivial": 1.0,
            "non_vacuous": False,
            "tight": False,
            "status": "ok",
        },
        {
            **base,
            "checkpoint": "a",
            "method": "ce",
            "bound": "x.skip",
            "form": "",
            "class": "all",
            "value": math.nan,
            "measured": math.nan,
            "slack": math.nan,
            "valid": False,
            "assumptions_violated": "",
            "holds": None,
            "trivial": math.nan,
            "non_vacuous": None,
            "tight": None,
            "status": "not_applicable",
            "note": "needs 5 samples per class",
        },
    ]
    return pd.DataFrame(rows)


def test_summary_counts_per_bound_and_form():
    summary = bound_summary(full_rows()).set_index("bound")
    assert summary.loc["x.good", "non_vacuous"] == 1 and summary.loc["x.good", "tight"] == 1
    assert summary.loc["x.loose", "valid"] == 0 and summary.loc["x.loose", "assumptions_failed"] == "fixed_model"
    assert "x.skip" not in summary.index


def _one_checkpoint(**where) -> pd.DataFrame:
    """The checkpoints table of one CE checkpoint "a" (balanced error 0.45), trained ``where``."""
    row = {"checkpoint": "a", "method": "ce", "balanced_error": 0.45}
    return pd.DataFrame([row | {"many_accuracy": 0.9, "medium_accuracy": 0.5, "few_accuracy": 0.1} | where])


def test_report_names_non_vacuous_tight_failed_and_skipped_statements():
    checkpoints = _one_checkpoint(dataset="cifar10", imbalance=100.0)
    text = build_report(full_rows(), pd.DataFrame(), checkpoints, delta=0.05, heldout="test")
    non_vacuous_line = next(line for line in text.splitlines() if line.startswith("- **Non-vacuous**"))
    assert "`x.good`" in non_vacuous_line and "x.loose" not in non_vacuous_line
    assert "`x.loose` (as_printed): fixed_model" in text
    assert "`x.skip` [not_applicable]: needs 5 samples per class" in text
    assert "One checkpoint" in text
    assert "71.25" in text, "the papers' CIFAR-10-LT reference numbers are printed beside ours"


def test_report_says_whether_a_violation_happened_on_valid_rows_and_quotes_the_errata_verdict():
    rows = full_rows()
    rows.loc[1, ["bound", "holds", "valid", "assumptions_violated"]] = ["elm.prop1_expanded", False, True, ""]
    rows.loc[0, ["holds"]] = [False]
    rows.loc[0, ["valid"]] = [False]
    checkpoints = _one_checkpoint(dataset=None, imbalance=None)
    text = build_report(rows, pd.DataFrame(), checkpoints, delta=0.05, heldout="test")
    section = text.split("## Violated here")[1].split("##")[0]
    assert "`elm.prop1_expanded`: violated on 1 row(s) whose assumptions all held" in section
    assert "false_as_printed" in section
    assert "`x.good`: violated only on rows where an assumption failed; no errata entry" in section


def test_bound_summary_counts_holds_only_among_rows_with_a_measured_counterpart():
    rows = pd.DataFrame(
        {
            "status": ["ok"] * 3,
            "bound": ["s.x"] * 3,
            "kind": ["inequality"] * 3,
            "form": ["as_printed"] * 3,
            "value": [1.0, 2.0, 3.0],
            "measured": [0.5, np.nan, np.nan],
            "holds": [True, np.nan, np.nan],
            "valid": [True, True, True],
            "non_vacuous": [np.nan] * 3,
            "tight": [False, np.nan, np.nan],
            "assumptions_violated": [""] * 3,
        }
    )
    (summary,) = bound_summary(rows).to_dict("records")
    assert (summary["rows"], summary["measured"], summary["holds"], summary["violated"]) == (3, 1, 1, 0)


def guarantee_rows():
    """A certified row whose assumption held, one whose assumption failed, one unknown, and a non-finite one."""
    rows = full_rows()
    rows["assumption_status"] = ["satisfied", "failed", "unknown"]
    rows["guarantee"] = [True, False, False]
    rows["assumptions_unknown"] = ""
    extra = rows.iloc[[0, 0, 0]].reset_index(drop=True)
    extra["bound"] = ["w.thm1", "e.lemma3", "x.good"]
    extra["valid"] = [False, False, True]
    extra["assumption_status"] = ["failed", "unknown", "satisfied"]
    extra["assumptions_violated"] = ["frozen_features", "", ""]
    extra["assumptions_unknown"] = ["", "bounded_embeddings", ""]
    extra["guarantee"] = [False, False, False]
    extra.loc[extra.index[2], ["value", "measured", "holds", "status", "guarantee", "checkpoint"]] = [
        math.inf,
        math.inf,
        None,
        "non_finite",
        False,
        "b",
    ]
    return pd.concat([rows, extra], ignore_index=True)


def one_checkpoint(name="a"):
    return {
        "checkpoint": name,
        "method": "ce",
        "balanced_error": 0.45,
        "many_accuracy": 0.9,
        "medium_accuracy": 0.5,
        "few_accuracy": 0.1,
        "dataset": "gaussian",
        "imbalance": 100.0,
    }


def test_report_counts_guarantees_only_among_guarantee_rows_and_says_why_the_others_are_not():
    rows = guarantee_rows()
    summary = bound_summary(rows).set_index("bound")
    assert summary.loc["x.good", "guarantee"] == 1 and summary.loc["w.thm1", "guarantee"] == 0
    assert summary.loc["e.lemma3", "assumptions_unknown"] == "bounded_embeddings"
    text = build_report(rows, pd.DataFrame(), pd.DataFrame([one_checkpoint()]), delta=0.05, heldout="val")
    head = text.split("## Checkpoints")[0]
    guarantees = next(line for line in head.splitlines() if line.startswith("- **Certified guarantees**"))
    assert "1 of 4 rows" in guarantees and "`x.good` (certified: 1 row(s))" in guarantees
    assert "w.thm1" not in guarantees and "e.lemma3" not in guarantees
    apart = next(line for line in head.splitlines() if line.startswith("- **Certified forms that are not"))
    assert "`w.thm1` (1 of 1 rows; failed: frozen_features)" in apart
    assert "`e.lemma3` (1 of 1 rows; not checked: bounded_embeddings)" in apart
    assert "**Non-finite**: 1 row(s)" in head
    non_finite = text.split("## Non-finite rows")[1].split("##")[0]
    assert "| b | x.good | certified | all | inf | inf |" in non_finite
    assert "x.good" not in text.split("## Statements not evaluated")[1].split("## Columns")[0]


def test_report_defines_every_column_it_uses():
    from ltbounds.evaluation import BOUND_COLUMNS

    text = build_report(guarantee_rows(), pd.DataFrame(), pd.DataFrame([one_checkpoint()]), delta=0.05, heldout="val")
    defined = text.split("## Columns")[1]
    names = {name for line in defined.splitlines() if line.startswith("- `") for name in
             line[3:].split("`")[0].replace(" / ", ", ").split(", ")}  # fmt: skip
    wanted = set(BOUND_COLUMNS) - {"source", "assumption_details", "terms", "note"}
    wanted |= {"rows", "measured", "violated", "guarantee_holds", "guarantee_violated", "known_trivial"}
    assert wanted <= names, f"undefined: {sorted(wanted - names)}"


def test_a_long_checkpoint_table_is_summarised_per_method_with_the_detail_in_the_csv():
    checkpoints = pd.DataFrame([one_checkpoint(f"c{i}") | {"method": f"m{i % 6}"} for i in range(36)])
    text = build_report(full_rows(), pd.DataFrame(), checkpoints, delta=0.05, heldout="val")
    section = text.split("## Checkpoints")[1].split("##")[0]
    assert "36 checkpoints, summarised per dataset and method" in section and "`checkpoints.csv`" in section
    table = [line for line in section.splitlines() if line.startswith("| ")]
    assert len(table) == 2 + 6, "one row per method"

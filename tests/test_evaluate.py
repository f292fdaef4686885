"""ltbounds.evaluation: per-class quantities (property-tested against plain loops) and the tables."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ltbounds.bounds.result import Assumption, BoundResult
from ltbounds.checks import InputError
from ltbounds.evaluation import (
    BOUND_COLUMNS,
    class_geometry,
    class_groups,
    elm_prop1_sides,
    evaluate,
    minimal_predictions,
    per_class_accuracy,
    per_class_table,
)
from ltbounds.outputs import Outputs
from ltbounds.statements import EvaluationSplits, Statement
from ltbounds.strategies import gaussian_outputs

finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=64)
tie_prone = st.sampled_from([-1e4, -1.0, 0.0, 0.0, 1.0, 1e4])


@st.composite
def labelled_outputs(draw, max_classes=5, max_samples=25, elements=finite):
    classes = draw(st.integers(2, max_classes))
    n = draw(st.integers(1, max_samples))
    dim = draw(st.integers(1, 4))
    labels = draw(arrays(np.int64, n, elements=st.integers(0, classes - 1)))
    return Outputs(
        logits=draw(arrays(np.float64, (n, classes), elements=st.one_of(elements, tie_prone))),
        embeddings=draw(arrays(np.float64, (n, dim), elements=st.floats(-30, 30, width=64))),
        labels=labels,
        head_weight=np.ones((classes, dim)),
        head_bias=np.zeros(classes),
        class_counts=draw(arrays(np.int64, classes, elements=st.sampled_from([1, 2, 19, 20, 100, 101, 1000]))),
    )


@given(outputs=labelled_outputs())
def test_minimal_predictions_match_a_loop_over_samples_including_ties_and_huge_logits(outputs):
    b_y, margin = minimal_predictions(outputs)
    for y in range(outputs.num_classes):
        rows = outputs.logits[outputs.labels == y]
        if rows.size == 0:
            assert math.isnan(b_y[y]) and math.isnan(margin[y])
            continue
        assert b_y[y] == min(row[y] for row in rows)
        assert margin[y] == min(row[y] - max(v for j, v in enumerate(row) if j != y) for row in rows)


@given(outputs=labelled_outputs())
def test_per_class_accuracy_matches_counting_argmax_hits(outputs):
    accuracy, samples = per_class_accuracy(outputs)
    predictions = outputs.logits.argmax(axis=1)
    for y in range(outputs.num_classes):
        members = outputs.labels == y
        assert samples[y] == members.sum()
        if members.any():
            assert accuracy[y] == pytest.approx(np.mean(predictions[members] == y))
        else:
            assert math.isnan(accuracy[y])


@given(outputs=labelled_outputs())
def test_variance_trace_is_the_sum_of_per_dimension_population_variances(outputs):
    trace, centroid_norm = class_geometry(outputs)
    for y in range(outputs.num_classes):
        members = outputs.embeddings[outputs.labels == y]
        if members.shape[0] == 0:
            assert math.isnan(trace[y])
            continue
        expected = members.var(axis=0).sum()
        assert trace[y] == pytest.approx(expected, rel=1e-9, abs=1e-9 * (1 + np.abs(members).max() ** 2))
        assert trace[y] >= -1e-9
        assert centroid_norm[y] == pytest.approx(np.linalg.norm(members.mean(axis=0)), rel=1e-9, abs=1e-9)


def omega_pull_loop(members: np.ndarray, alpha: float) -> float:
    values = []
    for i, x in enumerate(members):
        exponents = [np.sum((x - other) ** 2) - alpha for j, other in enumerate(members) if j != i]
        values.append(np.logaddexp(0.0, np.logaddexp.reduce(exponents)))
    return float(np.mean(values))


@settings(max_examples=40)
@given(outputs=labelled_outputs(max_samples=18), alpha_scale=st.floats(0.0, 50.0))
def test_per_class_omega_pull_matches_the_pairwise_definition_with_one_sample_classes_nan(outputs, alpha_scale):
    alpha = alpha_scale * np.linspace(0.2, 1.0, outputs.num_classes)
    _, means = elm_prop1_sides(outputs, alpha)
    for y in range(outputs.num_classes):
        members = outputs.embeddings[outputs.labels == y]
        if members.shape[0] < 2:
            assert math.isnan(means[y])
            continue
        assert means[y] == pytest.approx(omega_pull_loop(members, alpha[y]), rel=1e-7, abs=1e-7)


@given(outputs=labelled_outputs(max_samples=18))
def test_elm_prop1_left_side_never_exceeds_mean_omega_pull(outputs):
    """000, Proposition 1 as proven (Jensen + the pairwise-variance identity) on the computed columns."""
    # per_class_table, not evaluate: these random outputs break evaluate's input contract on purpose
    splits = EvaluationSplits(train=outputs, heldout=outputs, test=outputs)
    table = per_class_table("model", splits)
    both = table.dropna(subset=["elm_prop1_left", "omega_pull"])
    scale = 1 + np.abs(both[["elm_prop1_left", "omega_pull"]].to_numpy()).max(initial=0)
    assert np.all(both["elm_prop1_left"] <= both["omega_pull"] + 1e-9 * scale)


def test_class_groups_use_the_long_tail_thresholds():
    assert class_groups(np.array([1, 19, 20, 100, 101, 5000])).tolist() == [
        "few",
        "few",
        "medium",
        "medium",
        "many",
        "many",
    ]


# ------------------------------------------------------------------------------- the tables


def toy_splits(seed: int = 0, name: str = "toy", shift: float = 1.0) -> EvaluationSplits:
    rng = np.random.default_rng(seed)
    classes, dim = 4, 3
    counts = np.array([150, 60, 12, 2])
    weight, bias = rng.normal(size=(classes, dim)), np.zeros(classes)

    def split(per_class, split_name):
        # one generator for the head and every split (seed=rng): class means shift * w_y, head (W, 0)
        means = shift * weight
        return gaussian_outputs(
            counts, per_class, split_name, seed=rng, means=means, head=(weight, bias), name=name, method="ce"
        )

    test = split(np.full(classes, 25), "test")
    return EvaluationSplits(train=split(counts, "train"), heldout=test, test=test)


def balanced_error_statement(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    accuracy, _ = per_class_accuracy(splits.test)
    error = 1.0 - float(np.mean(accuracy))
    return [
        BoundResult(
            statement="fake.risk",
            form="certified",
            value=min(1.0, error + 0.3),
            measured=error,
            terms={"confidence": 0.3},
            assumptions=(Assumption("iid", "test split drawn iid", True),),
            split="test",
        ),
        BoundResult(
            statement="fake.risk",
            form="as_printed",
            value=error / 2,
            measured=error,
            terms={},
            assumptions=(Assumption("fixed_model", "x", False),),
            class_index=1,
            split="train",
        ),
    ]


def too_few_samples(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    raise InputError("fake.needs5 needs at least 5 sample(s) per class in labels; class(es) [3] have [2]")


def broken(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    raise ZeroDivisionError("division by zero")


REGISTRY = {
    "fake.risk": Statement(
        id="fake.risk", source="test, Prop. 0", kind="bound", summary="a risk bound", evaluate=balanced_error_statement
    ),
    "fake.needs5": Statement(
        id="fake.needs5", source="test, Lemma 0", kind="bound", summary="needs 5 per class", evaluate=too_few_samples
    ),
    "fake.broken": Statement(
        id="fake.broken", source="test, Lemma 1", kind="inequality", summary="buggy", evaluate=broken
    ),
}


def test_bounds_table_is_tidy_with_the_documented_columns_and_honest_values():
    result = evaluate([toy_splits(0, "a"), toy_splits(1, "b", shift=2.0)], statements=REGISTRY)
    bounds = result.bounds
    assert list(bounds.columns) == list(BOUND_COLUMNS)
    assert set(bounds["checkpoint"]) == {"a", "b"}
    ok = bounds[bounds["status"] == "ok"]
    assert len(ok) == 4
    certified = ok[ok["form"] == "certified"]
    assert (certified["class"] == "all").all() and certified["valid"].all() and certified["holds"].all()
    np.testing.assert_allclose(certified["slack"], certified["value"] - certified["measured"])
    measured = result.checkpoints.set_index("checkpoint")["balanced_error"]
    np.testing.assert_allclose(certified.set_index("checkpoint")["measured"], measured.loc[certified["checkpoint"]])
    printed = ok[ok["form"] == "as_printed"]
    assert (printed["class"] == 1).all() and not printed["valid"].any()
    assert (printed["assumptions_violated"] == "fixed_model").all()
    assert json.loads(certified["terms"].iloc[0]) == {"confidence": 0.3}


def test_an_evaluator_input_error_becomes_an_invalid_row_with_its_reason_not_a_crash():
    bounds = evaluate(toy_splits(), statements=REGISTRY).bounds
    skipped = bounds[bounds["bound"] == "fake.needs5"]
    assert len(skipped) == 1
    row = skipped.iloc[0]
    assert row["status"] == "not_applicable" and not row["valid"] and "class(es) [3]" in row["note"]
    assert math.isnan(row["value"])
    crashed = bounds[bounds["bound"] == "fake.broken"].iloc[0]
    assert crashed["status"] == "error" and "ZeroDivisionError" in crashed["note"]


def test_strict_mode_re_raises_an_evaluator_bug():
    with pytest.raises(ZeroDivisionError):
        evaluate(toy_splits(), statements=REGISTRY, strict=True)


def test_per_class_table_has_every_documented_column_for_every_class():
    result = evaluate(toy_splits(), statements={})
    table = result.per_class
    for column in (
        "train_count",
        "group",
        "test_accuracy",
        "B_y",
        "min_margin",
        "variance_trace",
        "omega_pull",
        "mu_y",
        "elm_prop1_left",
        "alpha_y",
    ):
        assert column in table.columns
    assert table["class"].tolist() == [0, 1, 2, 3]
    assert table["group"].tolist() == ["many", "medium", "few", "few"]
    assert np.isfinite(table[["B_y", "min_margin", "variance_trace", "omega_pull", "test_accuracy"]].to_numpy()).all()


def test_public_import_path_gives_a_callable_evaluate_whatever_was_imported_first():
    import ltbounds
    import ltbounds.evaluation as module
    from ltbounds import evaluate as imported

    assert callable(imported) and callable(ltbounds.evaluate)
    result = ltbounds.evaluate(toy_splits(), statements={})
    assert isinstance(result.per_class, pd.DataFrame)
    assert isinstance(module.evaluate(toy_splits(), statements={}).bounds, pd.DataFrame)


def test_bad_arguments_are_input_errors():
    with pytest.raises(InputError, match="delta"):
        evaluate(toy_splits(), delta=1.5, statements={})
    with pytest.raises(InputError, match="heldout"):
        evaluate(toy_splits(), heldout="train", statements={})
    with pytest.raises(InputError, match="mapping"):
        evaluate(toy_splits().train, statements={})
    with pytest.raises(InputError, match="'val'"):
        evaluate({"train": toy_splits().train, "test": toy_splits().test}, heldout="val", statements={})


def test_write_puts_every_artefact_in_place_and_nothing_else(tmp_path):
    result = evaluate([toy_splits(0, "a"), toy_splits(1, "b", shift=2.0)], statements=REGISTRY)
    out = tmp_path / "report"
    result.write(out, command="test", plots=False)  # the plots are drawn in test_evaluate_cli
    names = {p.name for p in out.iterdir()}
    assert names == {"bounds.csv", "per_class.csv", "checkpoints.csv", "report.md", "manifest.json"}
    assert [p.name for p in tmp_path.iterdir()] == ["report"], "no temporary sibling may remain"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["delta"] == 0.05 and manifest["checkpoints"] == ["a", "b"]
    reread = pd.read_csv(out / "bounds.csv")
    assert list(reread.columns) == list(BOUND_COLUMNS)


@st.composite
def nasty_splits(draw):
    """Train/test outputs with a two-sample class, ties and logits up to 1e4, rho up to 1000.

    The train split holds exactly ``counts`` samples (evaluate checks class_counts against it): the
    first six of each class come from Hypothesis (ties, extremes), the rest are iid uniform noise."""
    classes = draw(st.integers(2, 4))
    dim = draw(st.integers(1, 3))
    counts = draw(arrays(np.int64, classes, elements=st.sampled_from([2, 3, 30, 2000])))
    weight = draw(arrays(np.float64, (classes, dim), elements=st.sampled_from([-1e3, -1.0, 0.0, 0.5, 1.0, 1e3])))
    bias = np.zeros(classes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def split(per_class, name):
        labels = np.repeat(np.arange(classes), per_class)
        noise = rng.uniform(-3, 3, size=(labels.size, dim))
        for start, size in zip(np.cumsum(per_class) - per_class, np.minimum(per_class, 6), strict=True):
            drawn = arrays(np.float64, (int(size), dim), elements=st.floats(-3, 3, width=64))
            noise[start : start + size] = draw(drawn)
        embeddings = noise + np.sign(weight[labels])
        return Outputs(embeddings @ weight.T + bias, embeddings, labels, weight, bias, counts, split=name)

    test = split(np.full(classes, 3), "test")
    return EvaluationSplits(train=split(counts, "train"), heldout=test, test=test)


@settings(max_examples=8)
@given(splits=nasty_splits())
def test_every_registered_statement_gives_rows_or_a_reason_never_a_crash(splits):
    bounds = evaluate(splits).bounds
    assert (bounds["status"] != "error").all(), bounds.loc[bounds["status"] == "error", ["bound", "note"]].to_string()
    skipped = bounds[bounds["status"] == "not_applicable"]
    assert (skipped["note"].str.len() > 0).all() and not skipped["valid"].any()
    ok = bounds[bounds["status"] == "ok"]
    assert np.isfinite(ok.loc[ok["valid"], "value"].astype(float)).all()
    measured = ok[np.isfinite(ok["measured"].astype(float))]
    np.testing.assert_allclose(measured["slack"], measured["value"] - measured["measured"], rtol=1e-12, atol=0)


def test_importing_the_evaluator_imports_neither_training_nor_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, ltbounds.evaluation, ltbounds.outputs, ltbounds.report, ltbounds.evaluation_plots, "
        "ltbounds.commands.evaluate; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('training', 'matplotlib')))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


def test_auto_heldout_certifies_on_val_when_there_is_one_and_warns_when_it_is_test():
    toy = toy_splits()
    val = replace(toy.test, split="val")
    with_val = evaluate({"train": toy.train, "val": val, "test": toy.test}, statements={})
    assert with_val.checkpoints["heldout_split"].tolist() == ["val"]
    assert "same sample" not in with_val.report_text
    without_val = evaluate({"train": toy.train, "test": toy.test}, statements={})
    assert without_val.checkpoints["heldout_split"].tolist() == ["test"]
    assert "same sample" in without_val.report_text
    explicit = evaluate({"train": toy.train, "val": val, "test": toy.test}, heldout="test", statements={})
    assert explicit.checkpoints["heldout_split"].tolist() == ["test"]

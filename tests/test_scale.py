"""Issue 15: outputs directories (memory-mapped .npy) and chunked per-class statistics.

The chunked path must give the numbers of the in-memory path (1e-10) whatever the chunk size, and an
incomplete or inconsistent outputs directory must be refused in one line (exit 2 from the CLI)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltbounds.checks import InputError
from ltbounds.cli import main
from ltbounds.outputs import Outputs, load_outputs
from ltbounds.outputs_store import OutputsWriter, open_outputs_dir, save_outputs_dir


def _outputs(counts: np.ndarray, split: str, seed: int, dim: int = 5) -> Outputs:
    """Gaussian class clusters and the linear head at the class means (logits = E W^T + b exactly)."""
    num_classes = counts.shape[0]
    means = np.random.default_rng(7).normal(size=(num_classes, dim))
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(num_classes), counts)  # train: in class order (see the chunk test)
    if split != "train":
        labels = rng.permutation(labels)
    embeddings = means[labels] + rng.normal(size=(labels.size, dim))
    bias = np.log(COUNTS / COUNTS.sum())
    return Outputs(
        logits=embeddings @ means.T + bias,
        embeddings=embeddings,
        labels=labels,
        head_weight=means,
        head_bias=bias,
        class_counts=counts if split == "train" else COUNTS,
        split=split,
        name="toy",
        method="ce",
    )


COUNTS = np.array([40, 17, 9, 5, 3])  # class 4's 3 samples fit in one chunk of 7 rows


def _splits() -> dict[str, Outputs]:
    return {"train": _outputs(COUNTS, "train", 0), "test": _outputs(np.full(5, 12), "test", 1)}


# ------------------------------------------------------------------------------------------ outputs directory


def test_directory_round_trip_stays_memory_mapped(tmp_path):
    splits = _splits()
    path = save_outputs_dir(tmp_path / "toy", splits, dtype=np.float32)
    loaded = load_outputs(path)
    assert sorted(loaded) == ["test", "train"]
    train = loaded["train"]
    # float32 storage is kept mapped (not converted to an in-memory float64 copy)
    assert isinstance(train.logits, np.memmap) and train.logits.dtype == np.float32
    assert isinstance(train.embeddings, np.memmap) and train.embeddings.dtype == np.float32
    np.testing.assert_allclose(train.logits, splits["train"].logits, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(train.labels, splits["train"].labels)
    # in-memory arrays still become float64 ndarrays, as before
    assert splits["train"].logits.dtype == np.float64 and not isinstance(splits["train"].logits, np.memmap)


def test_outputs_save_to_a_directory_and_float64_storage(tmp_path):
    train = _splits()["train"]
    path = train.save(tmp_path / "single")
    loaded = load_outputs(path)["train"]
    assert loaded.logits.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(loaded.logits), train.logits)


def test_writer_appends_batches(tmp_path):
    train = _splits()["train"]
    writer = OutputsWriter(
        tmp_path / "w",
        class_counts=train.class_counts,
        head_weight=train.head_weight,
        head_bias=train.head_bias,
        splits={"train": train.num_samples},
    )
    with writer:
        for start in range(0, train.num_samples, 11):
            rows = slice(start, start + 11)
            writer.append("train", train.logits[rows], train.embeddings[rows], train.labels[rows])
    loaded = open_outputs_dir(tmp_path / "w")["train"]
    np.testing.assert_allclose(loaded.embeddings, train.embeddings, rtol=1e-6, atol=1e-6)


def test_writer_refuses_missing_rows_and_leaves_nothing(tmp_path):
    train = _splits()["train"]
    with pytest.raises(InputError, match="rows written / declared"):
        with OutputsWriter(
            tmp_path / "w", class_counts=train.class_counts, head_weight=train.head_weight, splits={"train": 10}
        ) as writer:
            writer.append("train", train.logits[:4], train.embeddings[:4], train.labels[:4])
    assert not (tmp_path / "w").exists() and not list(tmp_path.iterdir())


def test_incomplete_directory_is_refused(tmp_path):
    path = save_outputs_dir(tmp_path / "toy", _splits())
    (path / "test" / "embeddings.npy").unlink()
    with pytest.raises(InputError, match="embeddings.npy is missing"):
        load_outputs(path)
    (path / "outputs.json").unlink()
    with pytest.raises(InputError, match="incomplete outputs directory, no outputs.json"):
        load_outputs(path)


def test_shape_disagreement_is_refused(tmp_path):
    path = save_outputs_dir(tmp_path / "toy", _splits())
    np.save(path / "train" / "labels.npy", np.zeros(3, dtype=np.int64))
    with pytest.raises(InputError, match=r"train/labels.npy has shape \(3,\), expected \(74,\)"):
        load_outputs(path)


def test_cli_exit_2_on_an_incomplete_directory(tmp_path, capsys):
    path = save_outputs_dir(tmp_path / "toy", _splits())
    meta = json.loads((path / "outputs.json").read_text())
    meta["splits"]["test"] = 99
    (path / "outputs.json").write_text(json.dumps(meta))
    assert main(["evaluate", str(path), "--out", str(tmp_path / "report"), "--no-plots"]) == 2
    assert "test/logits.npy has shape" in capsys.readouterr().err


def test_non_finite_mapped_values_are_refused(tmp_path):
    path = save_outputs_dir(tmp_path / "toy", _splits())
    logits = np.load(path / "train" / "logits.npy")
    logits[5, 2] = math.nan
    np.save(path / "train" / "logits.npy", logits)
    with pytest.raises(InputError, match="non-finite"):
        load_outputs(path)


# ------------------------------------------------------------------------------------------ chunked statistics


def _evaluation(splits: dict[str, Outputs], chunk_size: int | None, only: tuple[str, ...] | None = None) -> list:
    from ltbounds.statements import STATEMENTS, EvaluationSplits

    context = EvaluationSplits(
        train=splits["train"], heldout=splits["test"], test=splits["test"], chunk_size=chunk_size
    )
    rows = []
    for statement_id, statement in STATEMENTS.items():
        if only is None or statement_id in only:
            rows += [(statement_id, row) for row in statement.evaluate(context, 0.05)]
    return rows


def _assert_same_rows(left: list, right: list) -> None:
    assert [(i, r.form, r.class_index, r.split) for i, r in left] == [
        (i, r.form, r.class_index, r.split) for i, r in right
    ]
    for (statement_id, a), (_, b) in zip(left, right, strict=True):
        where = f"{statement_id} {a.form} class {a.class_index}"
        np.testing.assert_allclose(a.value, b.value, rtol=1e-10, atol=1e-10, err_msg=where)
        np.testing.assert_allclose(a.measured, b.measured, rtol=1e-10, atol=1e-10, err_msg=where)
        assert sorted(a.terms) == sorted(b.terms), where
        for key in a.terms:
            np.testing.assert_allclose(a.terms[key], b.terms[key], rtol=1e-10, atol=1e-10, err_msg=f"{where} {key}")
        assert [x.satisfied for x in a.assumptions] == [x.satisfied for x in b.assumptions], where


def test_every_statement_chunked_by_7_rows_equals_one_chunk():
    splits = _splits()
    # train labels in class order: class 4's 3 samples (rows 71-73) lie in one chunk of 7 rows ([70, 77)),
    # every other class spans several chunks; the test split's labels are shuffled
    assert splits["train"].labels[70] == 3 and set(splits["train"].labels[71:]) == {4}
    chunked, whole = _evaluation(splits, 7), _evaluation(splits, None)
    assert len(chunked) > 200
    _assert_same_rows(chunked, whole)


def test_chunked_statistics_equal_the_in_memory_reductions():
    from ltbounds import per_class
    from ltbounds.bounds.elm import elm_lemma4, elm_lemma5
    from ltbounds.bounds.elm_risk_bound import elm_prop2_multiclass, select_radius
    from ltbounds.statements import STATEMENTS, EvaluationSplits, statistics

    train, test = _splits()["train"], _splits()["test"]
    context = EvaluationSplits(train=train, heldout=test, test=test, chunk_size=7)
    for got, expected in (
        (statistics.logit_extremes(context, train), per_class.logit_extremes(train.logits, train.labels, 5)),
        (statistics.class_margins(context, train), per_class.class_margins(train.logits, train.labels, 5)),
    ):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0)
    moments = statistics.class_moments(context, train)
    trace, centroids = per_class.class_scatter(train.embeddings, train.labels, 5)
    np.testing.assert_allclose(moments.trace, trace, rtol=1e-10)
    np.testing.assert_allclose(moments.centroids, centroids, rtol=1e-10)
    # the statements against the maths functions on the whole arrays
    comparison = elm_lemma4(train.logits, train.labels, np.log(train.priors))
    (row,) = [r for r in STATEMENTS["elm.lemma4"].evaluate(context, 0.05) if r.class_index == 4]
    np.testing.assert_allclose([row.measured, row.value], [comparison.left[4], comparison.right[4]], rtol=1e-10)
    lemma5 = elm_lemma5(train.embeddings, train.labels, train.head_weight, train.head_bias, np.log(train.priors))
    rows5 = [r for r in STATEMENTS["elm.lemma5"].evaluate(context, 0.05) if r.class_index is not None]
    np.testing.assert_allclose([r.measured for r in rows5], lemma5.left, rtol=1e-10)
    np.testing.assert_allclose([r.value for r in rows5], lemma5.right, rtol=1e-10)
    radius = select_radius(train.embeddings)
    whole = elm_prop2_multiclass(
        test.embeddings,
        test.labels,
        test.head_weight,
        test.head_bias,
        test.class_counts,
        0.025,
        test.priors,
        radius,
        clip=True,
    )
    (overall,) = [
        r
        for r in STATEMENTS["elm.prop2_multiclass"].evaluate(context, 0.05)
        if r.class_index is None and r.split == "test"
    ]
    np.testing.assert_allclose(overall.value, whole.value, rtol=1e-10)
    # drolt eq. (18) and (8): per-class logsumexps over every sample, accumulated over chunks
    from ltbounds.bounds.drolt import centroid_standard_error, drolt_nll_loss, drolt_robust_loss
    from ltbounds.statements.drolt import _standard_errors

    np.testing.assert_allclose(
        _standard_errors(context, "drolt.standard_error")[0],
        centroid_standard_error(train.embeddings, train.labels, 5),
        rtol=1e-10,
    )

    _, mu_hat = per_class.class_scatter(train.embeddings, train.labels, 5)
    _, mu_true = per_class.class_scatter(test.embeddings, test.labels, 5)
    shift = np.linalg.norm(mu_true - mu_hat, axis=1)
    rows = STATEMENTS["drolt.robust_loss"].evaluate(context, 0.05)
    for row, metric in zip(rows, ("euclidean", "squared_euclidean"), strict=True):
        expected = drolt_robust_loss(train.embeddings, train.labels, mu_hat, shift, metric=metric)
        np.testing.assert_allclose(row.value, expected, rtol=1e-10)
        np.testing.assert_allclose(row.measured, drolt_nll_loss(train.embeddings, train.labels, mu_true, metric=metric))


def test_memory_mapped_float64_directory_gives_the_in_memory_rows(tmp_path):
    splits = _splits()
    path = save_outputs_dir(tmp_path / "toy", splits, dtype=np.float64)
    _assert_same_rows(_evaluation(load_outputs(path), 7), _evaluation(splits, None))


CHUNKED = (
    "elm.prop1",
    "elm.lemma3",
    "elm.lemma3_corrected",
    "elm.lemma4",
    "elm.prop2_multiclass",
    "wang23.lemma4",
    "wang23.lemma4_corrected",
    "wang23.prop3",
    "drolt.kl_radius",
    "drolt.thm1",
    "drolt.standard_error",
    "drolt.standard_error_corrected",
    "drolt.thm1_corrected",
    "drolt.robust_loss",
    "drolt.robust_loss_corrected",
    "elm.margin_loss_relaxation",
    "tutorial.ldam_optimal_margins",
    "tutorial.la_loss_two_forms",
    "tutorial.ldam_relaxation",
    "wang23.vs_family",
    "elm.empirical_weighting_limit",
    "wang23.remark2",
    "elm.lemma5",
    "tutorial.risk_decomposition",
    "tutorial.etf",
    "tutorial.bcl_memorization_range",
    "tutorial.rwsam_perturbation",
    "tutorial.rwsam_perturbation_corrected",
)


def test_memory_mapped_float32_is_computed_in_float64(tmp_path):
    """float32 storage is computed in float64: every statement gives the rows of in-memory float64 outputs
    holding the same (float32-rounded) numbers."""
    splits = _splits()
    path = save_outputs_dir(tmp_path / "toy", splits, dtype=np.float32)
    rounded = {
        name: Outputs(
            logits=np.asarray(item.logits, dtype=np.float32).astype(np.float64),
            embeddings=np.asarray(item.embeddings, dtype=np.float32).astype(np.float64),
            labels=item.labels,
            head_weight=item.head_weight,
            head_bias=item.head_bias,
            class_counts=item.class_counts,
            split=name,
            name="toy",
            method="ce",
        )
        for name, item in splits.items()
    }
    # every statement: the chunked ones convert chunk by chunk, the others convert what they read
    _assert_same_rows(_evaluation(load_outputs(path), 7), _evaluation(rounded, None))


@settings(max_examples=12, deadline=None)
@given(chunk_size=st.integers(min_value=1, max_value=80), seed=st.integers(min_value=0, max_value=3))
def test_chunk_size_does_not_change_any_number(chunk_size, seed):
    counts = np.array([23, 11, 6, 2, 3])
    splits = {"train": _outputs(counts, "train", seed), "test": _outputs(np.full(5, 6), "test", seed + 10)}
    _assert_same_rows(_evaluation(splits, chunk_size, CHUNKED), _evaluation(splits, None, CHUNKED))


def test_cli_evaluates_a_directory_with_a_chunk_size(tmp_path, capsys):
    import pandas as pd

    path = save_outputs_dir(tmp_path / "toy", _splits(), dtype=np.float32)
    out = tmp_path / "report"
    assert main(["evaluate", str(path), "--out", str(out), "--no-plots", "--chunk-size", "7", "--no-progress"]) == 0
    bounds = pd.read_csv(out / "bounds.csv")
    assert (bounds["status"] == "ok").sum() > 200
    assert main(["evaluate", str(path), "--out", str(tmp_path / "r2"), "--no-plots", "--chunk-size", "0"]) == 2
    assert "--chunk-size must be a positive number of rows" in capsys.readouterr().err


def test_per_class_table_from_the_chunked_statistics_equals_the_in_memory_helpers():
    from ltbounds import evaluation
    from ltbounds.statements import EvaluationSplits

    splits = _splits()
    context = EvaluationSplits(train=splits["train"], heldout=splits["test"], test=splits["test"], chunk_size=7)
    table = evaluation.per_class_table("toy", context)
    train = splits["train"]
    b_y, margin = evaluation.minimal_predictions(train)
    trace, norm = evaluation.class_geometry(train)
    left, omega = evaluation.elm_prop1_sides(train, evaluation.elm_alpha(train))
    for column, expected in (
        ("B_y", b_y),
        ("min_margin", margin),
        ("variance_trace", trace),
        ("centroid_norm", norm),
        ("elm_prop1_left", left),
        ("omega_pull", omega),
    ):
        np.testing.assert_allclose(table[column].to_numpy(), expected, rtol=1e-10, err_msg=column)


def test_export_module_streams_the_outputs_of_from_module(tmp_path):
    import torch

    from ltbounds.outputs_store import export_module

    torch.manual_seed(0)
    body, head = torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)
    model = torch.nn.Sequential(body, head)
    x = torch.randn(23, 4)
    y = np.arange(23) % 2
    counts = np.bincount(y)
    path = export_module(
        tmp_path / "exported",
        model,
        {"train": (x, y)},
        counts,
        features=body,
        head=head,
        batch_size=5,
        dtype=np.float64,
    )
    streamed = load_outputs(path)["train"]
    direct = Outputs.from_module(model, x, y, counts, features=body, head=head, batch_size=5, split="train")
    np.testing.assert_allclose(np.asarray(streamed.logits), direct.logits, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(streamed.embeddings), direct.embeddings, rtol=1e-12)
    np.testing.assert_array_equal(streamed.labels, y)


# ------------------------------------------------------------------------------------------ symbolic rows


def test_symbolic_statements_read_every_kth_row_beyond_the_cap_and_bounds_read_every_row(monkeypatch):
    import ltbounds.statements.statistics as statistics
    from ltbounds.statements import EvaluationSplits

    splits = _splits()
    whole = dict(_evaluation(splits, None, only=("wang23.vs_family", "elm.lemma3")))
    assert {row.split for row in whole.values()} <= {"train", "test"}
    monkeypatch.setattr(statistics, "SYMBOLIC_ROWS", 10)  # 74 training rows: every 8th row, 10 rows
    capped = _evaluation(splits, None, only=("wang23.vs_family", "elm.lemma3", "tutorial.rwsam_perturbation"))
    splits_of = {}
    for statement_id, row in capped:
        splits_of.setdefault(statement_id, set()).add(row.split)
    assert splits_of["wang23.vs_family"] == {"train[::8]"}
    assert splits_of["tutorial.rwsam_perturbation"] == {"train[::8]"}
    assert splits_of["elm.lemma3"] <= {"train", "test"}  # a bound's empirical term needs every row
    subset = statistics.symbolic_rows(EvaluationSplits(train=splits["train"]), splits["train"])
    np.testing.assert_array_equal(subset.labels, splits["train"].labels[::8])
    np.testing.assert_array_equal(subset.logits, splits["train"].logits[::8])

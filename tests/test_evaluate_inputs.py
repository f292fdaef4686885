"""``ltbounds evaluate`` never answers silently wrong (issue 14): non-finite rows, a test split without
a class or without samples, class counts that are not the training labels', logits that are not the
head's, a cosine head with a scale <= 0; and its progress bar."""

from __future__ import annotations

import io
import math
from functools import partial

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltbounds.bounds.result import Assumption, BoundResult
from ltbounds.checks import InputError
from ltbounds.cli import main
from ltbounds.evaluation import evaluate
from ltbounds.outputs import HEAD_RTOL, Outputs, load_outputs
from ltbounds.statements import EvaluationSplits, Statement

CLASSES, DIM = 4, 5
TRAIN_COUNTS = np.array([50, 20, 8, 2])


def record(seed: int = 0, scale: float = 1.0, test_per_class=(10, 10, 10, 10), **changes) -> dict:
    """A raw outputs file (as a user's own code would write it with np.savez), consistent unless changed."""
    rng = np.random.default_rng(seed)
    weight, bias = rng.normal(size=(CLASSES, DIM)), rng.normal(size=CLASSES)
    result = {"class_counts": TRAIN_COUNTS, "head_weight": weight, "head_bias": bias, "name": "mine", "method": "ce"}
    for split, per_class in (("train", TRAIN_COUNTS), ("test", np.asarray(test_per_class))):
        labels = np.repeat(np.arange(CLASSES), per_class)
        embeddings = scale * (rng.normal(size=(labels.size, DIM)) + 2 * weight[labels])
        result.update(
            {
                f"{split}/embeddings": embeddings,
                f"{split}/labels": labels,
                f"{split}/logits": embeddings @ weight.T + bias,
            }
        )
    result.update(changes)
    return result


def write(tmp_path, values: dict, name: str = "mine.npz"):
    path = tmp_path / name
    np.savez(path, **values)
    return path


def refused(tmp_path, capsys, values: dict) -> str:
    """Run ``ltbounds evaluate`` on the file: exit 2, one line on stderr, nothing written; that line."""
    source = write(tmp_path, values)
    out = tmp_path / "report"
    capsys.readouterr()
    assert main(["evaluate", str(source), "--out", str(out), "--no-plots"]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ltbounds evaluate: error: "), lines
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name], "nothing written, no temporary left"
    return lines[0]


def test_the_consistent_file_is_accepted(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["evaluate", str(write(tmp_path, record())), "--out", str(out), "--no-plots"]) == 0
    assert (out / "bounds.csv").exists()


# ---------------------------------------------------------------------------------- non-finite


@pytest.mark.parametrize(
    ("value", "measured", "expected"),
    [
        (math.inf, math.inf, None),
        (math.inf, 0.0, None),
        (1.0, math.inf, None),
        (1.0, -math.inf, None),
        (-math.inf, 0.0, None),
        (math.nan, 0.0, None),
        (1.0, math.nan, None),
        (1.0, 0.5, True),
        (0.5, 1.0, False),
    ],
)
def test_bound_result_holds_only_between_finite_numbers(value, measured, expected):
    assert BoundResult(statement="x.y", form="certified", value=value, measured=measured).holds is expected


def _non_finite_statement(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    held = (Assumption("iid", "checked", True),)
    # (value, measured, class_index, split): every non-finite combination, then one finite row
    cases = [
        (math.inf, math.inf, None, "test"),
        (math.nan, 0.1, 0, "test"),
        (0.5, -math.inf, 1, "test"),
        (math.inf, math.nan, 2, "test"),
        (0.5, math.nan, 3, "test"),
        (0.5, 0.25, None, "train"),
    ]
    row = partial(BoundResult, statement="fake.nf", form="certified", terms={}, assumptions=held)
    return [row(value=v, measured=m, class_index=c, split=s) for v, m, c, s in cases]


def test_non_finite_rows_get_their_own_status_and_never_count_as_holding():
    splits = load_outputs_splits(record())
    statements = {
        "fake.nf": Statement(
            id="fake.nf", source="test, Prop. 0", kind="bound", summary="non-finite", evaluate=_non_finite_statement
        )
    }
    bounds = evaluate(splits, statements=statements, progress=False).bounds
    assert bounds["status"].tolist() == ["non_finite"] * 4 + ["ok"] * 2
    bad = bounds[bounds["status"] == "non_finite"]
    assert bad["holds"].isna().all() and not bad["guarantee"].any()
    assert bad["non_vacuous"].isna().all() and bad["tight"].isna().all()
    assert bad["note"].str.startswith("non-finite").all()
    ok = bounds[bounds["status"] == "ok"]
    assert ok["holds"].tolist() == [None, True] and ok["guarantee"].all()


def load_outputs_splits(values: dict) -> dict[str, Outputs]:
    from ltbounds.outputs import outputs_from_record

    return outputs_from_record(values, "mine")


def test_embeddings_times_1e200_give_non_finite_rows_never_ok_or_holding(tmp_path, capsys):
    """The reported case: finite input whose squares overflow; before, rows said ok, NaN and inf <= inf."""
    source = write(tmp_path, record(scale=1e200))
    out = tmp_path / "report"
    with np.errstate(all="ignore"):  # the overflows are the point of this input
        assert main(["evaluate", str(source), "--out", str(out), "--no-plots"]) == 0
    bounds = pd.read_csv(out / "bounds.csv")
    value, measured = bounds["value"].astype(float), bounds["measured"].astype(float)
    broken = ~np.isfinite(value) | np.isinf(measured)
    evaluated = bounds["status"].isin(["ok", "non_finite"])
    assert (broken & evaluated).sum() > 0, "the case must still produce overflowing rows to be a test"
    assert (bounds.loc[broken & evaluated, "status"] == "non_finite").all()
    assert bounds.loc[bounds["status"] == "non_finite", "holds"].isna().all()
    assert not bounds.loc[bounds["status"] == "non_finite", "guarantee"].any()
    assert not (broken & (bounds["status"] == "ok")).any()
    assert "non-finite (NaN/inf, not judged)" in capsys.readouterr().out
    report = (out / "report.md").read_text().lower()
    assert "non-finite" in report or "non_finite" in report, "the report must say that such rows exist"


# ------------------------------------------------------------------------------- test splits


def test_a_test_split_without_a_class_is_refused_naming_the_class(tmp_path, capsys):
    line = refused(tmp_path, capsys, record(test_per_class=(10, 10, 10, 0)))
    assert "class(es) [3]" in line and "'test'" in line


def test_an_empty_test_split_is_refused(tmp_path, capsys):
    values = record()
    values.update({"test/embeddings": np.zeros((0, DIM)), "test/labels": np.zeros(0, np.int64)})
    values["test/logits"] = np.zeros((0, CLASSES))
    line = refused(tmp_path, capsys, values)
    assert "empty" in line and "'test'" in line


def test_missing_class_and_empty_split_are_refused_from_python_too():
    splits = load_outputs_splits(record(test_per_class=(10, 0, 10, 0)))
    with pytest.raises(InputError, match=r"class\(es\) \[1, 3\]"):
        evaluate(splits, statements={}, progress=False)


# ------------------------------------------------------------------------------- class counts


def test_class_counts_other_than_the_training_labels_are_refused_naming_both(tmp_path, capsys):
    line = refused(tmp_path, capsys, record(class_counts=np.array([10, 10, 10, 10])))
    assert "[10, 10, 10, 10]" in line and "[50, 20, 8, 2]" in line and "class_counts" in line


def test_class_counts_are_checked_for_python_sources_as_well():
    splits = load_outputs_splits(record())
    train = splits["train"]
    wrong = Outputs(train.logits, train.embeddings, train.labels, train.head_weight, train.head_bias, [10, 10, 10, 10])
    test = splits["test"]
    other = Outputs(test.logits, test.embeddings, test.labels, test.head_weight, test.head_bias, [10, 10, 10, 10])
    with pytest.raises(InputError, match=r"\[10, 10, 10, 10\].*\[50, 20, 8, 2\]"):
        evaluate(EvaluationSplits(train=wrong, heldout=other, test=other), statements={}, progress=False)


# ------------------------------------------------------------------------------- the head


@pytest.mark.parametrize("change", ["weight", "bias", "scale"])
def test_a_split_with_another_head_than_train_is_refused(change):
    # each split's logits are its own head's, so the head check alone passes; but the statements read what
    # depends only on the head once per checkpoint, so another head on the test split must be refused
    splits = load_outputs_splits(record())
    train, test = splits["train"], splits["test"]
    weight, bias, scale = test.head_weight.copy(), test.head_bias.copy(), 1.0
    if change == "weight":
        weight[0, 0] += 1.0
    elif change == "bias":
        bias[1] -= 1.0
    else:
        scale = 2.0
    embeddings = test.embeddings
    kind = "linear" if change != "scale" else "cosine"
    other = Outputs(embeddings @ weight.T + bias, embeddings, test.labels, weight, bias, test.class_counts,
                    split="test", head_kind=kind, head_scale=scale)  # fmt: skip
    if kind == "cosine":
        units = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
        rows = weight / np.linalg.norm(weight, axis=1, keepdims=True)
        other = Outputs(scale * units @ rows.T + bias, embeddings, test.labels, weight, bias, test.class_counts,
                        split="test", head_kind=kind, head_scale=scale)  # fmt: skip
    with pytest.raises(InputError, match="another head than 'train'"):
        evaluate(EvaluationSplits(train=train, heldout=other, test=other), statements={}, progress=False)
    # the same head held in other arrays (a copy) is the same model
    copy = Outputs(test.logits, embeddings, test.labels, test.head_weight.copy(), test.head_bias.copy(),
                   test.class_counts, split="test")  # fmt: skip
    evaluate(EvaluationSplits(train=train, heldout=copy, test=copy), statements={}, progress=False)


def test_logits_that_are_not_the_linear_head_of_the_embeddings_are_refused(tmp_path, capsys):
    values = record()
    shifted = values["test/logits"] + np.log(TRAIN_COUNTS / TRAIN_COUNTS.sum())  # post-hoc logit adjustment
    line = refused(tmp_path, capsys, {**values, "test/logits": shifted})
    assert "logits are not E W^T + b" in line and "'test'" in line
    shuffled = values["train/logits"][::-1].copy()
    assert "logits are not" in refused(tmp_path, capsys, {**values, "train/logits": shuffled})


def test_float32_or_bfloat16_rounded_logits_are_accepted(tmp_path):
    import torch

    values = record()
    for split in ("train", "test"):
        stored = torch.as_tensor(values[f"{split}/logits"]).to(torch.bfloat16).double().numpy()
        values[f"{split}/logits"] = stored
        values[f"{split}/embeddings"] = values[f"{split}/embeddings"].astype(np.float32)
    splits = load_outputs(write(tmp_path, values))
    assert set(splits) == {"train", "test"}


def test_the_head_tolerance_is_relative_to_the_scale_of_the_logits():
    values = record(scale=1e3)
    logits = values["test/logits"]
    error = 3 * HEAD_RTOL * np.abs(logits).max()
    nudged = logits.copy()
    nudged[0, 0] += error
    with pytest.raises(InputError, match="1 of 160 entries"):
        load_outputs_splits({**values, "test/logits": nudged})
    nudged[0, 0] = logits[0, 0] + 0.1 * HEAD_RTOL * np.abs(logits).max()
    assert load_outputs_splits({**values, "test/logits": nudged})["test"].logits[0, 0] == nudged[0, 0]


def _cosine(values: dict, scale: float) -> dict:
    weight = values["head_weight"]
    unit_weight = weight / np.linalg.norm(weight, axis=1, keepdims=True)
    result = {**values, "head_kind": "cosine", "head_scale": scale, "head_bias": np.zeros(CLASSES)}
    for split in ("train", "test"):
        embeddings = values[f"{split}/embeddings"]
        unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
        result[f"{split}/logits"] = abs(scale) * unit @ unit_weight.T
    return result


def test_a_cosine_head_with_its_scale_is_accepted_and_a_scale_at_or_below_zero_refused(tmp_path, capsys):
    assert load_outputs_splits(_cosine(record(), 16.0))["test"].head_scale == 16.0
    line = refused(tmp_path, capsys, _cosine(record(), -3.0))
    assert "head_scale" in line and "-3" in line
    assert "head_scale" in refused(tmp_path, capsys, _cosine(record(), 0.0))
    wrong_scale = _cosine(record(), 16.0)
    wrong_scale["head_scale"] = 30.0
    assert "head_scale * cos(E, W) + b" in refused(tmp_path, capsys, wrong_scale)


# ------------------------------------------------------------------------------- progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_names_checkpoint_and_statement_on_a_terminal_only(monkeypatch):
    splits = load_outputs_splits(record())
    statements = {
        "fake.nf": Statement(
            id="fake.nf", source="test, Prop. 0", kind="bound", summary="non-finite", evaluate=_non_finite_statement
        )
    }
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    evaluate(splits, statements=statements)
    assert "mine: fake.nf" in terminal.getvalue() and "evaluate" in terminal.getvalue()
    silenced = _Terminal()
    monkeypatch.setattr("sys.stderr", silenced)
    evaluate(splits, statements=statements, progress=False)
    assert silenced.getvalue() == ""
    piped = io.StringIO()  # not a terminal: a log file or a test
    monkeypatch.setattr("sys.stderr", piped)
    evaluate(splits, statements=statements)
    assert piped.getvalue() == ""


def test_cli_no_progress_flag_silences_the_bar_on_a_terminal(tmp_path, monkeypatch):
    source = write(tmp_path, record())
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    arguments = ["evaluate", str(source), "--no-plots", "--only", "elm.prop1"]
    assert main([*arguments, "--out", str(tmp_path / "shown")]) == 0
    assert "mine: elm.prop1" in terminal.getvalue()
    quiet = _Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    assert main([*arguments, "--out", str(tmp_path / "quiet"), "--no-progress"]) == 0
    assert quiet.getvalue() == ""


def test_the_head_check_in_row_blocks_finds_and_counts_mismatches_in_any_block(monkeypatch):
    import ltbounds.outputs as module

    values = record()
    logits = values["train/logits"].copy()
    logits[[44, 45, 79], 2] += 100.0
    monkeypatch.setattr(module, "_HEAD_CHECK_ROWS", 7)  # 80 train rows: 12 blocks, the last one partial
    with pytest.raises(InputError, match=r"3 of 320 entries .* sample 44, class 2"):
        load_outputs_splits({**values, "train/logits": logits})
    monkeypatch.setattr(module, "_HEAD_CHECK_ROWS", 8192)
    with pytest.raises(InputError, match=r"3 of 320 entries .* sample 44, class 2"):
        load_outputs_splits({**values, "train/logits": logits})


def _old_rules(outputs: Outputs) -> tuple[bool, bool]:
    """The head checks as first written (before the one-pass ``HeadAgreement``): the 1% rule with the terms
    sum_k |e_k w_jk| + |b_j| of every entry, and wang23's np.allclose."""
    logits = np.asarray(outputs.logits, dtype=np.float64)
    expected = outputs.embeddings @ outputs.head_weight.T + outputs.head_bias
    largest = float(np.abs(logits).max())
    terms = np.abs(outputs.embeddings) @ np.abs(outputs.head_weight).T + np.abs(outputs.head_bias)
    consistent = bool(np.all(np.abs(logits - expected) <= HEAD_RTOL * np.maximum(terms, largest)))
    reproduces = bool(np.allclose(expected, logits, rtol=1e-4, atol=1e-4 * max(1.0, largest)))
    return consistent, reproduces


def _test_split(values: dict, logits: np.ndarray) -> Outputs:
    """The test split of ``record``'s ``values``, with ``logits`` in place of its own."""
    return Outputs(
        logits=logits,
        embeddings=values["test/embeddings"],
        labels=values["test/labels"],
        class_counts=TRAIN_COUNTS,
        head_weight=values["head_weight"],
        head_bias=values["head_bias"],
        split="test",
    )


@given(
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([1e-3, 1.0, 1e4]),
    entries=st.lists(st.tuples(st.integers(0, 39), st.integers(0, CLASSES - 1)), max_size=3),
    relative=st.sampled_from([0.0, 5e-5, 2e-4, 5e-3, 2e-2, 1.0]),
)
def test_the_one_pass_head_agreement_gives_the_rules_of_the_full_check(seed, scale, entries, relative):
    from ltbounds.outputs import head_agreement

    values = record(seed=seed, scale=scale)
    logits = values["test/logits"].copy()
    size = np.abs(logits).max()
    for row, column in entries:
        logits[row, column] += relative * size * (1 if (row + column) % 2 else -1)
    values["test/logits"] = logits
    outputs = _test_split(values, logits)
    agreement = head_agreement(outputs)
    assert (agreement.consistent, agreement.reproduces) == _old_rules(outputs)


def test_the_head_agreement_power_check_a_logit_off_by_the_tolerance_breaks_both_rules():
    from ltbounds.outputs import head_agreement

    values = record()
    logits = values["test/logits"].copy()
    logits[3, 1] += 1.5 * HEAD_RTOL * np.abs(logits).max() + 1.5 * HEAD_RTOL * 100 * np.abs(logits[3]).sum()
    outputs = _test_split(values, logits)
    agreement = head_agreement(outputs)
    assert not agreement.consistent and not agreement.reproduces
    assert _old_rules(outputs) == (False, False)

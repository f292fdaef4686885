"""Checkpoint inference streamed to an outputs directory (issue 15): ``training.checkpoint_outputs.export_checkpoint``
and ``ltbounds export``, checked against ``ltbounds evaluate CHECKPOINT``."""

from __future__ import annotations

import argparse
import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from ltbounds.cli import build_parser, main
from ltbounds.outputs import open_outputs_dir

checkpoint_outputs = pytest.importorskip("training.checkpoint_outputs")
BATCH = 37  # no split of the data below is a multiple of it: every split ends on a short batch
SIZES = {"train": 152, "val": 36, "test": 180}  # the splits of the checkpoint below (checked in the first test)


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory):
    """One epoch of VS+TLA+ADRW (a loss with alpha, beta and Delta) on a tiny Gaussian long-tail problem
    with a validation split, through ``ltbounds train``."""
    out = tmp_path_factory.mktemp("train") / "vs"
    options = ["classes=3", "dim=4", "pool_per_class=120", "test_per_class=60"]
    command = ["train", "--method", "vs_tla_adrw", "--dataset", "gaussian", "--imbalance", "10", "--epochs", "1"]
    command += [part for option in options for part in ("--dataset-option", option)]
    assert main([*command, "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    return out / "last.pt"


@pytest.fixture(scope="module")
def exported(trained_checkpoint, tmp_path_factory):
    directory = tmp_path_factory.mktemp("export") / "vs_outputs"
    return checkpoint_outputs.export_checkpoint(trained_checkpoint, directory, batch_size=BATCH)


def test_the_exported_arrays_and_annotations_are_those_of_the_in_memory_pass(trained_checkpoint, exported):
    direct = checkpoint_outputs.outputs_from_checkpoint(trained_checkpoint, ("train", "val", "test"), batch_size=BATCH)
    assert {split: item.num_samples for split, item in direct.items()} == SIZES
    opened = open_outputs_dir(exported)
    assert sorted(opened) == ["test", "train", "val"], "the default splits: train, the non-empty val, test"
    for split, expected in direct.items():
        item = opened[split]
        assert item.logits.dtype == np.float32 and isinstance(item.logits, np.memmap)
        # the model computes in float32, so float32 storage of its outputs loses nothing: equal, not close
        np.testing.assert_array_equal(np.asarray(item.logits, dtype=np.float64), expected.logits)
        np.testing.assert_array_equal(np.asarray(item.embeddings, dtype=np.float64), expected.embeddings)
        np.testing.assert_array_equal(item.labels, expected.labels)
        for attribute in ("head_weight", "head_bias", "class_counts"):
            np.testing.assert_array_equal(getattr(item, attribute), getattr(expected, attribute))
        assert (item.name, item.method, item.head_kind, item.head_scale) == (
            expected.name,
            expected.method,
            expected.head_kind,
            expected.head_scale,
        )
        # the loss parameters survive outputs.json (JSON floats round-trip exactly) and the provenance too
        assert item.loss_parameters == expected.loss_parameters
        assert item.loss_parameters.has_vs_parameters and item.loss_parameters.unknown_reason is None
        assert item.provenance == expected.provenance
    record = json.loads((exported / "outputs.json").read_text())
    checkpoint = torch.load(trained_checkpoint, weights_only=True)
    dataset = checkpoint["dataset"]
    assert record["metadata"]["source"] == {
        "dataset": dataset["name"],
        "imbalance": dataset["imbalance"],
        "seed": dataset["seed"],
        "epoch": checkpoint["epoch"],
        "checkpoint_sha256": hashlib.sha256(trained_checkpoint.read_bytes()).hexdigest(),
    }


def test_evaluating_the_export_gives_the_rows_of_evaluating_the_checkpoint(trained_checkpoint, exported):
    from ltbounds.evaluation import evaluate

    from_checkpoint = evaluate([str(trained_checkpoint)], batch_size=BATCH, progress=False)
    from_directory = evaluate([str(exported)], progress=False)
    rows, other = from_checkpoint.bounds, from_directory.bounds
    assert len(rows) == len(other) > 0
    numbers = ["value", "measured", "slack"]
    # Every other column (checkpoint name, method, bound, form, class, status, valid, holds, assumptions, notes)
    # is equal row for row: the same verdicts, reasons and names.
    pd.testing.assert_frame_equal(rows.drop(columns=numbers), other.drop(columns=numbers))
    # Tolerance: none is needed in principle (the stored float32 values are the model's float32 outputs,
    # exactly; the test above), and none was measured (equal to the last bit). 1e-12 relative leaves room
    # only for float64 summation order (chunked statistics of mapped arrays vs whole in-memory arrays, at
    # most n * 2^-53 ~ 4e-14 relative for these n < 400 rows), far below any float32 rounding (2^-24 ~ 6e-8).
    for column in numbers:
        np.testing.assert_allclose(other[column], rows[column], rtol=1e-12, atol=1e-12, err_msg=column)
    assert (rows["status"] == "ok").sum() > 0
    pd.testing.assert_frame_equal(from_checkpoint.per_class, from_directory.per_class)
    same = ["checkpoint", "method", "heldout_split", "train_samples", "test_samples", "balanced_error"]
    same += ["dataset", "imbalance", "seed", "epoch"]  # read back from the export's metadata.source
    pd.testing.assert_frame_equal(from_checkpoint.checkpoints[same], from_directory.checkpoints[same])
    assert from_directory.checkpoints.loc[0, ["dataset", "epoch"]].notna().all()
    assert from_directory.checkpoints["heldout_split"].tolist() == ["val"]


def test_the_export_appends_one_batch_at_a_time_and_never_holds_a_split(trained_checkpoint, tmp_path, monkeypatch):
    from ltbounds.outputs import Outputs
    from ltbounds.outputs_layout import OutputsWriter

    appended: list[tuple[str, int, int, int]] = []
    append = OutputsWriter.append

    def spy(self, split, logits, embeddings, labels):
        appended.append((split, len(labels), len(logits), len(embeddings)))
        return append(self, split, logits, embeddings, labels)

    def no_whole_split(*_args, **_kwargs):
        raise AssertionError("the export must not build an in-memory Outputs of a whole split")

    monkeypatch.setattr(OutputsWriter, "append", spy)
    monkeypatch.setattr(Outputs, "from_module", no_whole_split)
    checkpoint_outputs.export_checkpoint(trained_checkpoint, tmp_path / "out", batch_size=BATCH)
    assert {split: sum(rows for s, rows, _, _ in appended if s == split) for split in SIZES} == SIZES
    for split, size in SIZES.items():
        batches = [rows for s, rows, logits, embeddings in appended if s == split and rows == logits == embeddings]
        assert batches == [BATCH] * (size // BATCH) + ([size % BATCH] if size % BATCH else []), split
    assert len(appended) == sum(math.ceil(size / BATCH) for size in SIZES.values())


def test_a_bad_split_is_refused_before_anything_is_written(trained_checkpoint, tmp_path):
    from ltbounds.checks import InputError

    with pytest.raises(InputError, match="no split 'heldout'"):
        checkpoint_outputs.export_checkpoint(trained_checkpoint, tmp_path / "out", ("train", "heldout"))
    assert list(tmp_path.iterdir()) == []


def test_help_shows_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["export", "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for expected in ("--out DIR required:", "(default 512)", "(default float32", "(default auto", "--no-progress"):
        assert expected in text, expected
    subparsers = next(a for a in build_parser("export")._actions if isinstance(a, argparse._SubParsersAction))
    for action in subparsers.choices["export"]._actions:
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            assert action.help, action.option_strings
            assert action.nargs == 0 or action.required or "default" in action.help, action.option_strings


def test_export_then_evaluate_on_the_command_line(trained_checkpoint, tmp_path, capsys):
    out = tmp_path / "outputs"
    out.mkdir()  # an empty directory is accepted
    assert main(["export", str(trained_checkpoint), "--out", str(out), "--splits", "train,test", "--no-progress"]) == 0
    assert f"train {SIZES['train']}, test {SIZES['test']} samples, float32" in capsys.readouterr().out
    assert sorted(open_outputs_dir(out)) == ["test", "train"]
    assert [p.name for p in tmp_path.iterdir()] == ["outputs"], "no staging folder left beside it"
    assert main(["evaluate", str(out), "--out", str(tmp_path / "report"), "--no-plots", "--no-progress"]) == 0
    bounds = pd.read_csv(tmp_path / "report" / "bounds.csv")
    assert set(bounds["checkpoint"]) == {"vs/last"} and set(bounds["method"]) == {"vs_tla_adrw"}


def test_float64_storage_is_chosen_with_dtype(trained_checkpoint, tmp_path):
    out = tmp_path / "outputs"
    assert main(["export", str(trained_checkpoint), "--out", str(out), "--dtype", "float64", "--no-progress"]) == 0
    assert {item.logits.dtype for item in open_outputs_dir(out).values()} == {np.dtype(np.float64)}


def test_a_non_empty_out_or_a_file_there_is_refused_and_left_alone(
    trained_checkpoint, tmp_path, capsys, cli_error_line
):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    assert main(["export", str(trained_checkpoint), "--out", str(occupied), "--no-progress"]) == 2
    assert "is not empty" in cli_error_line("export")
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"] and (occupied / "notes.txt").read_text() == "mine"
    # an earlier export is not replaced either: it may be the only copy of a long inference
    earlier = tmp_path / "earlier"
    assert main(["export", str(trained_checkpoint), "--out", str(earlier), "--splits", "train", "--no-progress"]) == 0
    before = (earlier / "outputs.json").read_bytes()
    capsys.readouterr()
    assert main(["export", str(trained_checkpoint), "--out", str(earlier), "--no-progress"]) == 2
    assert "is not empty" in cli_error_line("export")
    assert (earlier / "outputs.json").read_bytes() == before
    a_file = tmp_path / "a_file.npz"
    a_file.write_bytes(b"user data")
    assert main(["export", str(trained_checkpoint), "--out", str(a_file), "--no-progress"]) == 2
    assert "exists and is not a directory" in cli_error_line("export")
    assert a_file.read_bytes() == b"user data"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--splits", "train,holdout"], "--splits 'train,holdout'"),
        (["--batch-size", "0"], "--batch-size must be a positive integer"),
        (["--device", "warp"], "is not a device"),
    ],
)
def test_bad_options_are_one_line_exit_2(trained_checkpoint, tmp_path, cli_error_line, arguments, message):
    out = tmp_path / "outputs"
    assert main(["export", str(trained_checkpoint), "--out", str(out), *arguments, "--no-progress"]) == 2
    assert message in cli_error_line("export")
    assert not out.exists()


def test_a_foreign_file_is_one_line_exit_2_and_an_empty_out_is_kept(tmp_path, cli_error_line):
    foreign = tmp_path / "weights.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, foreign)
    out = tmp_path / "outputs"
    out.mkdir()
    assert main(["export", str(foreign), "--out", str(out), "--no-progress"]) == 2
    assert "not an ltbounds checkpoint" in cli_error_line("export")
    assert out.is_dir() and list(out.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs", "weights.pt"], "nothing staged is left"
    missing = tmp_path / "nowhere.pt"
    assert main(["export", str(missing), "--out", str(tmp_path / "other"), "--no-progress"]) == 2
    assert "nowhere.pt" in cli_error_line("export")
    assert not (tmp_path / "other").exists()


def test_the_progress_bar_counts_batches_and_no_progress_disables_it(trained_checkpoint, tmp_path, monkeypatch):
    import tqdm.auto

    bars: list[dict] = []

    class Bar:
        def __init__(self, total, disable, **_options):
            self.record = {"total": total, "disable": disable, "updates": 0}
            bars.append(self.record)

        def __enter__(self):
            return self

        def __exit__(self, *_exc):
            return False

        def set_postfix_str(self, *_args, **_kwargs):
            pass

        def update(self, count=1):
            self.record["updates"] += count

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    assert main(["export", str(trained_checkpoint), "--out", str(tmp_path / "shown"), "--batch-size", "50"]) == 0
    assert main(["export", str(trained_checkpoint), "--out", str(tmp_path / "hidden"), "--no-progress"]) == 0
    batches = sum(math.ceil(size / 50) for size in SIZES.values())
    assert bars[0] == {"total": batches, "disable": None, "updates": batches}  # None: shown on a terminal
    assert bars[1]["disable"] is True


@pytest.mark.parametrize(
    "parameters",
    [
        {"loss": "elm", "alpha": [1.0, 0.5], "elm_alpha": [0.125, 1 / 3]},
        {"loss": "mystery", "unknown_reason": "loss 'mystery' is not in ltbounds.losses.REGISTRY"},
    ],
)
def test_export_module_records_loss_parameters_and_provenance_that_open_outputs_dir_reads_back(tmp_path, parameters):
    from ltbounds.checks import InputError
    from ltbounds.outputs import LossParameters, Provenance
    from ltbounds.outputs_store import export_module

    torch.manual_seed(0)
    body, head = torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)
    model = torch.nn.Sequential(body, head)
    x, y = torch.randn(9, 4), np.arange(9) % 2
    loss_parameters = LossParameters(**parameters)
    provenance = Provenance(features_independent_of_train=True, head_fixed_to_simplex_etf=True)
    common = {"features": body, "head": head, "batch_size": 4}
    path = export_module(
        tmp_path / "out", model, {"train": (x, y)}, np.bincount(y), loss_parameters=loss_parameters,
        provenance=provenance, metadata={"note": "kept"}, **common
    )
    train = open_outputs_dir(path)["train"]
    assert train.loss_parameters == loss_parameters and train.provenance == provenance
    assert json.loads((path / "outputs.json").read_text())["metadata"]["note"] == "kept"
    with pytest.raises(InputError, match="given twice"):  # the older name of the same parameter, as metadata
        export_module(
            tmp_path / "twice", model, {"train": (x, y)}, np.bincount(y), loss_parameters=loss_parameters,
            metadata={"elm_alpha" if "elm_alpha" in parameters else "loss_parameters_missing": [1.0, 1.0]}, **common
        )
    assert not (tmp_path / "twice").exists()


def test_without_a_val_split_the_export_holds_train_and_test_and_evaluates_like_the_checkpoint(tmp_path):
    from ltbounds.evaluation import evaluate

    out = tmp_path / "ce"
    options = ["classes=3", "dim=4", "pool_per_class=60", "test_per_class=30"]
    command = ["train", "--method", "ce", "--dataset", "gaussian", "--imbalance", "5", "--epochs", "1"]
    command += [part for option in options for part in ("--dataset-option", option)]
    assert main([*command, "--val-fraction", "0", "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    directory = checkpoint_outputs.export_checkpoint(out / "last.pt", tmp_path / "exported", batch_size=BATCH)
    assert sorted(open_outputs_dir(directory)) == ["test", "train"]
    from_checkpoint = evaluate([str(out / "last.pt")], batch_size=BATCH, progress=False)
    from_directory = evaluate([str(directory)], progress=False)
    # the same comparison (and tolerance) as for the VS checkpoint above, here with test as the held-out split
    rows, other = from_checkpoint.bounds, from_directory.bounds
    pd.testing.assert_frame_equal(rows, other, check_exact=False, rtol=1e-12, atol=1e-12)
    assert from_directory.checkpoints["heldout_split"].tolist() == ["test"]

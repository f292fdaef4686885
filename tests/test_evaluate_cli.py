"""``ltbounds evaluate`` end to end: a trained checkpoint, an exported outputs file, and bad input."""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pandas as pd
import pytest
import torch

from ltbounds.cli import main
from ltbounds.outputs import save_outputs
from ltbounds.strategies import gaussian_outputs

REQUIRED_BOUND_COLUMNS = {
    "checkpoint",
    "method",
    "bound",
    "form",
    "class",
    "value",
    "measured",
    "slack",
    "valid",
    "assumptions_violated",
    "note",
}
REQUIRED_CLASS_COLUMNS = {
    "train_count",
    "test_accuracy",
    "group",
    "B_y",
    "min_margin",
    "variance_trace",
    "omega_pull",
    "mu_y",
}


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory):
    """One epoch of VS+TLA+ADRW on a tiny Gaussian long-tail problem, through ``ltbounds train``."""
    pytest.importorskip("training.loop")
    out = tmp_path_factory.mktemp("train") / "vs"
    code = main(
        [
            "train",
            "--method",
            "vs_tla_adrw",
            "--dataset",
            "gaussian",
            "--imbalance",
            "10",
            "--epochs",
            "1",
            "--dataset-option",
            "classes=3",
            "--dataset-option",
            "dim=4",
            "--dataset-option",
            "pool_per_class=120",
            "--dataset-option",
            "test_per_class=60",
            "--out",
            str(out),
            "--no-progress",
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    return out / "last.pt"


def exported_outputs(path, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    counts = np.array([60, 15, 4][:classes])
    weight, bias = rng.normal(size=(classes, 5)), rng.normal(size=classes)

    def split(per_class, split_name):
        # one generator for the head and both splits (seed=rng): class means 2 w_y, head (W, b)
        head, means = (weight, bias), 2 * weight
        return gaussian_outputs(
            counts, per_class, split_name, seed=rng, means=means, head=head, name=f"mine{seed}", method="la"
        )

    save_outputs(path, {"train": split(counts, "train"), "test": split(np.full(classes, 20), "test")})
    return path


def check_tables(out):
    bounds = pd.read_csv(out / "bounds.csv")
    assert REQUIRED_BOUND_COLUMNS <= set(bounds.columns)
    assert len(bounds) > 0
    assert set(bounds["form"].dropna()) <= {"as_printed", "certified", "corrected", "shape", "diagnostic"}
    ok = bounds[bounds["status"] == "ok"]
    assert len(ok) > 0
    evaluated = ok[np.isfinite(ok["measured"])]
    np.testing.assert_allclose(evaluated["slack"], evaluated["value"] - evaluated["measured"], rtol=1e-9, atol=1e-12)
    assert np.isfinite(ok[ok["valid"]]["value"]).all(), "a valid row must have a finite bound"
    assert set(bounds["class"].astype(str)) - {"all"} <= {str(c) for c in range(10)}
    per_class = pd.read_csv(out / "per_class.csv")
    assert REQUIRED_CLASS_COLUMNS <= set(per_class.columns)
    finite = per_class[["train_count", "test_accuracy", "B_y", "min_margin", "variance_trace"]].to_numpy(float)
    assert np.isfinite(finite).all()
    report = (out / "report.md").read_text()
    assert report.startswith("# Bounds vs measured risk") and "## In short" in report
    assert (out / "manifest.json").exists()
    return bounds, per_class


def test_evaluate_a_checkpoint_from_ltbounds_train(trained_checkpoint, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["evaluate", str(trained_checkpoint), "--out", str(out), "--device", "cpu"]) == 0
    bounds, per_class = check_tables(out)
    assert set(bounds["checkpoint"]) == {"vs/last"} and set(bounds["method"]) == {"vs_tla_adrw"}
    assert per_class["class"].tolist() == [0, 1, 2]
    names = {p.name for p in out.iterdir()}
    for stem in ("bound_vs_measured", "per_class_terms", "elm_prop1"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
        assert (out / f"{stem}.png").stat().st_size > 1000
    assert "vs/last" in capsys.readouterr().out


def test_evaluate_several_exported_outputs_files_ranks_them(tmp_path):
    first = exported_outputs(tmp_path / "a.npz", seed=0)
    second = exported_outputs(tmp_path / "b.pt", seed=1)
    out = tmp_path / "report"
    assert main(["evaluate", str(first), str(second), "--out", str(out), "--no-plots", "--delta", "0.1"]) == 0
    bounds, _ = check_tables(out)
    assert set(bounds["checkpoint"]) == {"mine0", "mine1"}
    report = (out / "report.md").read_text()
    assert "Kendall's tau" in report or "No overall bound" in report


def test_corrupt_file_is_one_line_exit_2_and_no_output_directory(tmp_path, cli_error_line):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"\x80\x02 definitely not a checkpoint")
    out = tmp_path / "report"
    assert main(["evaluate", str(broken), "--out", str(out), "--no-plots"]) == 2
    assert "broken.pt" in cli_error_line("evaluate")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.pt"], "no temporary directory left behind"


def test_a_file_that_is_not_a_checkpoint_is_one_line_exit_2(tmp_path, cli_error_line):
    foreign = tmp_path / "weights.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, foreign)
    assert main(["evaluate", str(foreign), "--out", str(tmp_path / "r"), "--no-plots"]) == 2
    assert "neither an ltbounds checkpoint nor an outputs file" in cli_error_line("evaluate")
    missing = tmp_path / "nowhere.pt"
    assert main(["evaluate", str(missing), "--out", str(tmp_path / "r"), "--no-plots"]) == 2
    assert "nowhere.pt" in cli_error_line("evaluate")


def test_class_counts_that_do_not_match_the_data_are_one_line_exit_2(trained_checkpoint, tmp_path, cli_error_line):
    checkpoint = torch.load(trained_checkpoint, weights_only=True)
    checkpoint["class_counts"] = [c + 1 for c in checkpoint["class_counts"]]
    tampered = tmp_path / "tampered.pt"
    torch.save(checkpoint, tampered)
    out = tmp_path / "report"
    assert main(["evaluate", str(tampered), "--out", str(out), "--no-plots"]) == 2
    assert "do not match" in cli_error_line("evaluate")
    assert not out.exists()


def test_missing_data_root_is_one_line_exit_2_and_an_existing_report_survives(
    trained_checkpoint, tmp_path, cli_error_line
):
    out = tmp_path / "report"
    out.mkdir()
    for name in ("bounds.csv", "old.txt"):
        (out / name).write_text("previous run")
    # an earlier report: its manifest lists its files, so the folder may be replaced (had the run succeeded)
    (out / "manifest.json").write_text(json.dumps({"files": ["bounds.csv", "old.txt"]}))
    code = main(["evaluate", str(trained_checkpoint), "--out", str(out), "--data-root", str(tmp_path / "absent")])
    assert code == 2
    assert "--data-root" in cli_error_line("evaluate")
    checkpoint = torch.load(trained_checkpoint, weights_only=True)
    checkpoint["dataset"] = {**checkpoint["dataset"], "name": "cifar10", "options": {}}
    cifar = tmp_path / "cifar.pt"
    torch.save(checkpoint, cifar)
    assert main(["evaluate", str(cifar), "--out", str(out), "--no-plots"]) == 2
    line = cli_error_line("evaluate")
    assert "cifar" in line and ("data_root" in line or "data-root" in line)
    assert sorted(p.name for p in out.iterdir()) == ["bounds.csv", "manifest.json", "old.txt"]
    assert (out / "old.txt").read_text() == "previous run"


def test_an_out_directory_holding_other_files_is_refused_not_wiped(tmp_path, cli_error_line):
    source = exported_outputs(tmp_path / "a.npz")
    assert main(["evaluate", str(source), "--out", str(tmp_path), "--no-plots"]) == 2
    assert "not an earlier ltbounds evaluate report" in cli_error_line("evaluate")
    assert (tmp_path / "a.npz").exists()


def test_bad_delta_is_one_line_exit_2(tmp_path, cli_error_line):
    source = exported_outputs(tmp_path / "a.npz")
    assert main(["evaluate", str(source), "--out", str(tmp_path / "r"), "--delta", "1.5"]) == 2
    assert "--delta" in cli_error_line("evaluate")


def test_only_restricts_the_statements_and_an_unknown_one_is_refused(tmp_path, capsys, cli_error_line):
    source = exported_outputs(tmp_path / "a.npz")
    out = tmp_path / "report"
    assert main(["evaluate", str(source), "--out", str(out), "--no-plots", "--only", "wang23,elm.prop1"]) == 0
    bounds = pd.read_csv(out / "bounds.csv")
    assert set(bounds["bound"]) == {"elm.prop1"} | {b for b in bounds["bound"] if b.startswith("wang23.")}
    assert any(b.startswith("wang23.") for b in bounds["bound"])
    capsys.readouterr()
    assert main(["evaluate", str(source), "--out", str(tmp_path / "r2"), "--only", "nosuch"]) == 2
    assert "nosuch" in cli_error_line("evaluate")


def test_the_issues_commands_never_delete_an_input_or_a_users_file(tmp_path, capsys, cli_error_line, monkeypatch):
    """Issue 14's reproduction: an input and a note put inside an earlier report survive, exit 2."""
    monkeypatch.chdir(tmp_path)
    exported_outputs(tmp_path / "good.npz")
    assert main(["evaluate", "good.npz", "--out", "rep"]) == 0
    (tmp_path / "rep" / "model.npz").write_bytes((tmp_path / "good.npz").read_bytes())
    (tmp_path / "rep" / "notes.md").write_text("n\n")
    before = {p.name: p.read_bytes() for p in (tmp_path / "rep").iterdir()}
    capsys.readouterr()
    assert main(["evaluate", "rep/model.npz", "--out", "rep"]) == 2
    line = cli_error_line("evaluate")
    assert "did not write" in line and "model.npz" in line and "notes.md" in line
    assert {p.name: p.read_bytes() for p in (tmp_path / "rep").iterdir()} == before  # touched nothing
    # the input elsewhere, but the user's files still there: refused, nothing touched
    assert main(["evaluate", "good.npz", "--out", "rep"]) == 2
    assert "notes.md" in cli_error_line("evaluate")
    assert {p.name: p.read_bytes() for p in (tmp_path / "rep").iterdir()} == before


def test_an_input_inside_the_out_folder_is_refused_even_when_the_manifest_lists_it(tmp_path, cli_error_line):
    source = exported_outputs(tmp_path / "a.npz")
    out = tmp_path / "report"
    assert main(["evaluate", str(source), "--out", str(out), "--no-plots"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "bounds.csv").write_bytes(source.read_bytes())  # a listed name, now the user's input
    assert main(["evaluate", str(out / "bounds.csv"), "--out", str(out), "--no-plots"]) == 2
    assert "holds the input" in cli_error_line("evaluate")
    assert (out / "bounds.csv").read_bytes() == source.read_bytes()
    assert json.loads((out / "manifest.json").read_text()) == manifest


def test_a_report_holding_only_its_own_files_is_replaced_whole(tmp_path, capsys):
    source = exported_outputs(tmp_path / "a.npz")
    out = tmp_path / "report"
    assert main(["evaluate", str(source), "--out", str(out), "--no-plots"]) == 0
    listed = json.loads((out / "manifest.json").read_text())["files"]
    assert sorted(p.name for p in out.iterdir()) == sorted([*listed, "manifest.json"])
    assert main(["evaluate", str(source), "--out", str(out), "--no-plots", "--delta", "0.1"]) == 0
    assert json.loads((out / "manifest.json").read_text())["delta"] == 0.1
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no backup or staging left


def test_a_report_whose_manifest_lists_no_files_is_refused(tmp_path, cli_error_line):
    source = exported_outputs(tmp_path / "a.npz")
    out = tmp_path / "report"
    out.mkdir()
    for name in ("manifest.json", "bounds.csv"):
        (out / name).write_text("{}")
    assert main(["evaluate", str(source), "--out", str(out), "--no-plots"]) == 2
    assert "does not list the report's files" in cli_error_line("evaluate")
    assert sorted(p.name for p in out.iterdir()) == ["bounds.csv", "manifest.json"]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_report_folder_and_files_honour_the_umask(tmp_path, umask):
    source = exported_outputs(tmp_path / "a.npz")
    out = tmp_path / "report"
    previous = os.umask(umask)
    try:
        assert main(["evaluate", str(source), "--out", str(out), "--no-plots"]) == 0
    finally:
        os.umask(previous)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700
    for name in ("manifest.json", "bounds.csv", "report.md"):
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_stale_staging_folders_of_killed_runs_are_cleaned_live_ones_kept(tmp_path):
    from ltbounds.artifacts import _host_key

    source = exported_outputs(tmp_path / "a.npz")
    dead = _dead_pid()
    stale = tmp_path / f".new.{dead}-{_host_key()}.abc123.partial"
    live = tmp_path / f".new.{os.getpid()}-{_host_key()}.def456.partial"
    other_host = tmp_path / f".new.{dead}-00000000.ghi789.partial"
    user = tmp_path / ".new.mine.partial"  # not our exact pattern
    for folder in (stale, live, other_host, user):
        folder.mkdir()
        (folder / "bounds.csv").write_text("x")
    assert main(["evaluate", str(source), "--out", str(tmp_path / "new"), "--no-plots"]) == 0
    assert not stale.exists()
    assert live.exists() and other_host.exists() and user.exists()


def _dead_pid() -> int:
    """The pid of a process that has exited (reaped), so ``kill(pid, 0)`` fails on this host."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize(
    ("device", "message"),
    [("banana", "--device 'banana' is not a device"), ("cuda:99", "--device 'cuda:99'")],
)
def test_an_unknown_or_absent_device_is_one_line_exit_2(tmp_path, cli_error_line, device, message):
    source = exported_outputs(tmp_path / "a.npz")
    assert main(["evaluate", str(source), "--out", str(tmp_path / "r"), "--device", device]) == 2
    assert message in cli_error_line("evaluate")
    assert not (tmp_path / "r").exists()
    assert socket.gethostname()  # the host key of temporaries is built from it


def test_an_out_that_cannot_be_written_is_one_line_exit_2_before_any_work(tmp_path, cli_error_line, monkeypatch):
    source = exported_outputs(tmp_path / "a.npz")
    blocked = tmp_path / "ro"
    blocked.mkdir()
    real_access = os.access
    # Tests run as root, where chmod does not stop writes: answer as a read-only file system would.
    monkeypatch.setattr(
        os, "access", lambda path, mode, **kw: os.path.abspath(path) != str(blocked) and real_access(path, mode, **kw)
    )
    assert main(["evaluate", str(source), "--out", str(blocked / "report"), "--no-plots"]) == 2
    assert (
        f"--out {blocked / 'report'} cannot be written (read-only file system or permission denied"
        in cli_error_line("evaluate")
    )
    assert not any(blocked.iterdir())
    assert main(["evaluate", str(source), "--out", str(source / "report"), "--no-plots"]) == 2
    assert "is a file, not a folder" in cli_error_line("evaluate")

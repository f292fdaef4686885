"""Nothing lost in a run folder (issue 14): the lock, kills between writes, a truncated metrics line,
stale temporaries, --overwrite, permissions, and one-line errors for bad execution options.

Kill tests run ``ltbounds train`` in a child process that dies (``os._exit``, as a kill -9 would:
no clean-up, no ``finally``) at a chosen point between two writes, then ``--resume`` in this
process and compare with an uninterrupted run.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from ltbounds.artifacts import LOCK_NAME, RunLock, _host_key
from ltbounds.checks import InputError
from ltbounds.cli import main
from training.checkpoints import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
GAUSSIAN = [
    "--dataset", "gaussian", "--imbalance", "10", "--dataset-option", "classes=3", "--dataset-option", "dim=4",
    "--dataset-option", "pool_per_class=40", "--dataset-option", "test_per_class=10", "--model-option",
    "hidden=[8]", "--batch-size", "16", "--no-progress",
]  # fmt: skip
RUN = ["train", "--method", "ce", *GAUSSIAN, "--epochs", "3", "--save-every", "1"]


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped: ``kill(pid, 0)`` fails on this host."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def epochs_in(out: Path) -> list[int]:
    return [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]


# --- the lock ------------------------------------------------------------------------------------


def test_a_second_writer_is_refused_naming_the_holder_and_a_killed_holders_lock_is_taken_over(
    tmp_path, capsys, cli_error_line
):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from ltbounds.artifacts import RunLock; RunLock(sys.argv[1]).acquire(); "
         "print('locked', flush=True); sys.stdin.read()", str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main([*RUN, "--out", str(out)]) == 2
        line = cli_error_line("train")
        assert f"in use by another ltbounds run (pid {holder.pid} on host {socket.gethostname()}" in line
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # the second writer wrote nothing
    finally:
        holder.kill()  # SIGKILL: the lock file stays behind, stale
        holder.wait()
    assert json.loads((out / LOCK_NAME).read_text())["pid"] == holder.pid
    assert main([*RUN, "--epochs", "1", "--out", str(out)]) == 0
    assert f"took over the lock of a killed run (pid {holder.pid}" in capsys.readouterr().out
    assert not (out / LOCK_NAME).exists()  # released at the end
    assert epochs_in(out) == [1]


def test_a_fake_stale_lock_is_taken_over_and_another_hosts_lock_is_not(tmp_path, capsys, cli_error_line):
    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname()}))
    assert main([*RUN, "--epochs", "1", "--out", str(out)]) == 0
    assert "took over the lock" in capsys.readouterr().out
    (out / LOCK_NAME).write_text(json.dumps({"pid": dead_pid(), "host": "elsewhere.example"}))
    assert main([*RUN, "--epochs", "1", "--out", str(out), "--overwrite"]) == 2
    assert "on host elsewhere.example" in cli_error_line("train")
    assert (out / LOCK_NAME).exists()


def test_the_lock_is_released_when_the_run_fails(tmp_path):
    with RunLock(tmp_path) as lock:
        assert json.loads(lock.path.read_text()) | {"pid": os.getpid()} == json.loads(lock.path.read_text())
        with pytest.raises(InputError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path).acquire()  # a live holder (this very process) is never taken over
    assert not (tmp_path / LOCK_NAME).exists()


# --- kills between writes ------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, sys
    import torch
    torch.set_num_threads(1)  # as in this test process (conftest): bit-identical runs need the same threads
    import training.loop as loop
    point, argv = sys.argv[1], sys.argv[2:]
    real_save, real_replace = loop.save_checkpoint, os.replace
    replaced = []

    def save(checkpoint, path):
        if point == "before_snapshot" and path.name == "epoch_002.pt":
            os._exit(9)  # epoch 2's metrics line is written, its snapshot and last.pt are not
        if point == "before_last" and path.name == "last.pt" and checkpoint["epoch"] == 2:
            os._exit(9)  # epoch 2's line and snapshot are written, last.pt still says epoch 1
        return real_save(checkpoint, path)

    def replace(source, target, *args, **kwargs):
        replaced.append(os.path.basename(target))
        if point == "in_replace" and replaced.count("last.pt") == 2:
            os._exit(9)  # dies with epoch 2's last.pt in a temporary file, never renamed
        return real_replace(source, target, *args, **kwargs)

    loop.save_checkpoint = save
    os.replace = replace
    from ltbounds.cli import main
    sys.exit(main(argv))
    """
)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "run"
    assert main([*RUN, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("point", ["before_snapshot", "before_last", "in_replace"])
def test_a_kill_between_writes_loses_nothing_after_resume(point, tmp_path, uninterrupted, capsys):
    out = tmp_path / "run"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.run(
        [sys.executable, str(script), point, *RUN, "--out", str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert child.returncode == 9, child.stderr[-2000:]
    assert load_checkpoint(out / "last.pt")["epoch"] == 1  # the kill came before last.pt moved to epoch 2
    assert epochs_in(out) == [1, 2]  # epoch 2's line is durable before last.pt moves
    temporaries = [p.name for p in out.iterdir() if p.name.startswith(".last.pt.") and p.name.endswith(".tmp")]
    assert bool(temporaries) == (point == "in_replace")
    assert (out / LOCK_NAME).exists()  # a kill leaves the lock behind

    assert main([*RUN, "--out", str(out), "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "took over the lock of a killed run" in printed
    assert epochs_in(out) == [1, 2, 3]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["epoch_001.pt", "epoch_002.pt", "epoch_003.pt", "last.pt", "metrics.jsonl"]  # no temporaries
    for name in ("last.pt", "epoch_002.pt"):
        resumed, full = load_checkpoint(out / name), load_checkpoint(uninterrupted / name)
        for key, tensor in full["state"]["model"].items():
            assert torch.equal(resumed["state"]["model"][key], tensor), (name, key)
    full_lines = [json.loads(line) for line in (uninterrupted / "metrics.jsonl").read_text().splitlines()]
    resumed_lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["train_loss"] for m in resumed_lines] == [m["train_loss"] for m in full_lines]


def test_a_truncated_last_metrics_line_is_dropped_with_a_warning(tmp_path, uninterrupted, capsys):
    out = tmp_path / "run"
    assert main([*RUN, "--out", str(out)]) == 0
    # a kill mid-append of epoch 3's line, with last.pt at epoch 2 (the write order guarantees it)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    (out / "metrics.jsonl").write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:40])
    (out / "last.pt").write_bytes((out / "epoch_002.pt").read_bytes())
    capsys.readouterr()
    assert main([*RUN, "--out", str(out), "--resume"]) == 0
    assert "dropped a truncated last line (3:" in capsys.readouterr().out
    assert epochs_in(out) == [1, 2, 3]
    losses = [json.loads(x)["train_loss"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert losses == [json.loads(x)["train_loss"] for x in (uninterrupted / "metrics.jsonl").read_text().splitlines()]


def test_a_corrupt_line_before_the_last_is_one_line_exit_2(tmp_path, capsys, cli_error_line):
    out = tmp_path / "run"
    assert main([*RUN, "--epochs", "2", "--out", str(out)]) == 0
    lines = (out / "metrics.jsonl").read_text().splitlines()
    (out / "metrics.jsonl").write_text("{not json\n" + lines[1] + "\n")
    capsys.readouterr()
    assert main([*RUN, "--epochs", "2", "--out", str(out), "--resume"]) == 2
    assert "metrics.jsonl line 1 is not a JSON object" in cli_error_line("train")


# --- overwrite, leftovers, permissions -----------------------------------------------------------


def test_overwrite_removes_the_old_runs_files_and_nothing_else(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*RUN, "--epochs", "2", "--out", str(out)]) == 0
    (out / "notes.md").write_text("mine")
    (out / "epoch_notes.pt").write_text("mine too: not the epoch_XXX.pt pattern")
    assert main(["train", "--method", "la", *GAUSSIAN, "--epochs", "1", "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["epoch_notes.pt", "last.pt", "metrics.jsonl", "notes.md"]
    assert load_checkpoint(out / "last.pt")["method"]["name"] == "la"
    assert epochs_in(out) == [1]
    assert (out / "notes.md").read_text() == "mine"


def test_leftovers_of_an_earlier_run_without_last_pt_are_not_overwritten_silently(tmp_path, capsys, cli_error_line):
    out = tmp_path / "run"
    assert main([*RUN, "--epochs", "2", "--out", str(out)]) == 0
    (out / "last.pt").unlink()  # e.g. a user's clean-up: two epochs of record, no last.pt
    capsys.readouterr()
    assert main([*RUN, "--epochs", "1", "--out", str(out)]) == 2
    assert "holds files of an earlier run (metrics.jsonl, epoch_002.pt) but no last.pt" in cli_error_line("train")
    assert main([*RUN, "--epochs", "2", "--out", str(out), "--resume"]) == 2  # nothing to continue from
    assert "pass --overwrite to start over" in cli_error_line("train")
    assert epochs_in(out) == [1, 2]
    assert main([*RUN, "--epochs", "1", "--out", str(out), "--overwrite"]) == 0
    assert epochs_in(out) == [1] and not (out / "epoch_002.pt").exists()


def test_what_a_kill_in_the_first_epoch_leaves_is_redone_without_flags(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*RUN, "--epochs", "1", "--out", str(out)]) == 0
    (out / "last.pt").unlink()  # as a kill between epoch 1's line + snapshot and its last.pt leaves it
    assert main([*RUN, "--epochs", "1", "--out", str(out)]) == 0
    assert epochs_in(out) == [1]


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    stale = out / f".last.pt.{dead_pid()}-{_host_key()}.k2j4h5g6.tmp"
    legacy = out / ".last.pt.ab12cd34.tmp"  # the mkstemp naming of earlier versions
    live = out / f".last.pt.{os.getppid()}-{_host_key()}.k2j4h5g6.tmp"  # a live pid of this host
    user = out / ".last.pt.notes.tmp"  # not our exact pattern
    for path in (stale, legacy, live, user):
        path.write_bytes(b"x")
    assert main([*RUN, "--epochs", "1", "--out", str(out)]) == 0
    assert "removed 2 temporary file(s) left by killed runs" in capsys.readouterr().out
    assert not stale.exists() and not legacy.exists()
    assert live.exists() and user.exists()


@pytest.mark.parametrize("umask", [0o022, 0o007])
def test_checkpoints_and_metrics_honour_the_umask(tmp_path, umask):
    out = tmp_path / "run"
    previous = os.umask(umask)
    try:
        assert main([*RUN, "--epochs", "1", "--out", str(out)]) == 0
    finally:
        os.umask(previous)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask
    for name in ("last.pt", "epoch_001.pt", "metrics.jsonl"):
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~umask, name  # not mkstemp's 0600


# --- one-line errors -----------------------------------------------------------------------------

CUDA = torch.cuda.is_available()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--device", "banana"], "--device 'banana' is not a device; use auto, cpu, cuda or cuda:N"),
        (["--device", "cuda:99"], "--device 'cuda:99': "),
        pytest.param(
            ["--device", "cuda"], "--device 'cuda': CUDA is not available", marks=pytest.mark.skipif(CUDA, reason="")
        ),
        (["--model-option", "hidden=notalist"], "--model-option hidden='notalist' does not fit model 'mlp'"),
        (["--drw-epoch", "5"], r"--drw-epoch \(T0\) 5 is past --epochs 3"),
        (["--resume", "--overwrite"], "--resume and --overwrite contradict each other"),
    ],
)
def test_bad_execution_options_are_one_line_exit_2(arguments, message, tmp_path, cli_error_line):
    out = tmp_path / "run"
    assert main([*RUN, "--out", str(out), *arguments]) == 2
    assert __import__("re").search(message, cli_error_line("train"))
    assert not out.exists() or not any(out.iterdir())


def test_out_at_a_file_or_under_a_file_is_one_line_exit_2(tmp_path, cli_error_line):
    target = tmp_path / "a_file"
    target.write_text("mine")
    assert main([*RUN, "--out", str(target)]) == 2
    assert f"--out {target} is a file; give a folder" in cli_error_line("train")
    assert main([*RUN, "--out", str(target / "run")]) == 2
    assert "a part of the path is a file" in cli_error_line("train")
    assert target.read_text() == "mine"


def test_out_on_a_read_only_file_system_is_one_line_exit_2(tmp_path, cli_error_line, monkeypatch):
    # Tests run as root, where chmod does not stop writes: simulate what the OS would answer.
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if self.name == "run":
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert main([*RUN, "--out", str(tmp_path / "run")]) == 2
    assert "cannot be written (read-only file system); choose a writable folder" in cli_error_line("train")


def test_out_without_write_permission_is_one_line_exit_2(tmp_path, cli_error_line, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != out and real_access(path, mode, **kw))
    assert main([*RUN, "--out", str(out)]) == 2
    assert f"--out {out} cannot be written (permission denied)" in cli_error_line("train")
    assert not any(out.iterdir())


@pytest.mark.skipif(CUDA, reason="the note is for the CPU")
def test_compile_on_the_cpu_says_it_is_ignored(tmp_path, capsys):
    assert main([*RUN, "--epochs", "1", "--out", str(tmp_path / "run"), "--compile"]) == 0
    assert "--compile is ignored on cpu; it applies to CUDA only" in capsys.readouterr().out


def test_a_refused_checkpoint_error_keeps_torchs_whole_sentence(tmp_path, capsys):
    import fractions

    bad = tmp_path / "bad.pt"
    torch.save({"format": "ltbounds.checkpoint", "x": fractions.Fraction(1, 2)}, bad)
    with pytest.raises(InputError) as caught:
        load_checkpoint(bad)
    message = str(caught.value)
    assert "Unsupported global: GLOBAL fractions.Fraction was not an allowed global by default.)" in message
    assert "\x1b" not in message and "\n" not in message


def test_a_classifier_stage_into_a_locked_folder_is_refused(tmp_path, capsys, cli_error_line):
    base = tmp_path / "ce"
    assert main([*RUN, "--epochs", "1", "--out", str(base)]) == 0
    out = tmp_path / "tau"
    stage = ["train", "--method", "tau_norm", "--from-checkpoint", str(base / "last.pt"), "--out", str(out)]
    capsys.readouterr()
    with RunLock(out):  # a live writer holds the folder
        assert main(stage) == 2
        assert f"in use by another ltbounds run (pid {os.getpid()}" in cli_error_line("train")
        assert not (out / "last.pt").exists()
    assert main(stage) == 0 and (out / "last.pt").exists() and not (out / LOCK_NAME).exists()

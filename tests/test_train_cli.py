"""`ltbounds train`: a run end to end, resume, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import json

import pytest

from ltbounds.cli import main
from training.checkpoints import load_checkpoint

GAUSSIAN = [
    "--dataset", "gaussian", "--imbalance", "10", "--dataset-option", "classes=3", "--dataset-option", "dim=4",
    "--dataset-option", "pool_per_class=40", "--dataset-option", "test_per_class=10", "--model-option",
    "hidden=[8]", "--batch-size", "16", "--no-progress",
]  # fmt: skip


def test_train_writes_a_checkpoint_and_metrics_then_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        ["train", "--method", "vs_tla_adrw", *GAUSSIAN, "--epochs", "3", "--out", str(out), "--save-every", "2"]
    )
    assert code == 0
    printed = capsys.readouterr()
    assert "balanced test accuracy" in printed.out
    assert "epoch 3/3" in printed.err or "epoch 3/3" in printed.out  # per-epoch line through tqdm.write
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2, 3]
    checkpoint = load_checkpoint(out / "last.pt")
    assert checkpoint["method"]["name"] == "vs_tla_adrw"
    assert checkpoint["method"]["hparams"]["tla_epoch"] == 2  # T0 = 80 % of 3 epochs
    assert checkpoint["dataset"]["options"]["classes"] == 3
    assert (out / "epoch_002.pt").exists()
    # a finished run resumed is a no-op that keeps the metrics
    assert main(["train", "--method", "vs_tla_adrw", *GAUSSIAN, "--epochs", "3", "--out", str(out), "--resume"]) == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3


def test_a_resume_with_other_hparams_is_one_line_naming_the_fields(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--method", "ce", *GAUSSIAN, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    changed = ["train", "--method", "ce", *GAUSSIAN, "--epochs", "1", "--seed", "3", "--lr", "0.2", "--out", str(out)]
    assert main([*changed, "--resume"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and error.startswith("ltbounds train: error: cannot resume"), error
    assert "seed: checkpoint 0 vs now 3" in error and "lr: checkpoint 0.05 vs now 0.2" in error, error
    # device and progress are execution settings, not the run's identity: the finished run resumes (a no-op)
    same = ["train", "--method", "ce", *GAUSSIAN, "--epochs", "1", "--device", "cpu", "--out", str(out)]
    assert main([*same, "--resume"]) == 0


def test_list_methods(capsys):
    assert main(["train", "--list-methods"]) == 0
    listed = capsys.readouterr().out
    for name in ("ldam_drw", "vs_tla_adrw", "elm", "dro_lt_learned", "tau_norm"):
        assert name in listed


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--method", "nope"], "unknown method 'nope'; valid methods: "),
        (["--dataset", "imagenet"], "unknown dataset 'imagenet'; valid names: "),
        (["--epochs", "-2"], "epochs must be a positive whole number"),
        (["--imbalance", "0.5"], "must be >= 1"),
        (["--method", "elm", "--lam", "-0.1"], r"--lam \(lambda\) must be >= 0"),
        (["--method", "elm", "--loss-arg", "lambda_pull=-1"], r"lambda_pull \(lambda\) must be >= 0"),
        (["--method", "dro_lt", "--lam", "2"], "lambda_ce must lie in"),
        (["--method", "ce", "--lam", "0.1"], "has no lambda"),
        (["--loss-arg", "tau"], "expects KEY=VALUE"),
        ([], "--out is required"),
    ],
)
def test_bad_input_prints_one_line_and_exits_2(arguments, message, tmp_path, capsys):
    base = ["train", "--epochs", "1", "--no-progress"]
    if "--dataset" not in arguments:
        base += GAUSSIAN
    if arguments:
        base += ["--out", str(tmp_path / "run")]
    assert main(base + arguments) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert error.startswith("ltbounds train: error: ")
    assert pytest.importorskip("re").search(message, error), error


def test_train_does_not_import_training_until_run():
    import subprocess
    import sys

    code = "import sys; from ltbounds.cli import build_parser; build_parser('train'); print('training' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_classifier_stage_runs_on_a_trained_checkpoint(tmp_path, capsys):
    base = tmp_path / "ce"
    assert main(["train", "--method", "ce", *GAUSSIAN, "--epochs", "2", "--out", str(base)]) == 0
    for method in ("ncm", "tau_norm"):
        out = tmp_path / method
        arguments = ["train", "--method", method, "--from-checkpoint", str(base / "last.pt"), "--out", str(out)]
        assert main(arguments) == 0
        checkpoint = load_checkpoint(out / "last.pt")
        assert checkpoint["method"]["name"] == f"ce+{method}" and checkpoint["method"]["stage"] == method
        assert (
            checkpoint["model"]["head"] == "linear"
            and checkpoint["dataset"] == load_checkpoint(base / "last.pt")["dataset"]
        )
        assert f"ce+{method}" in capsys.readouterr().out
    assert (
        main(["train", "--method", "vs", "--from-checkpoint", str(base / "last.pt"), "--out", str(tmp_path / "x")]) == 2
    )
    assert "method must be one of crt, tau_norm, lws, ncm, la_posthoc" in capsys.readouterr().err

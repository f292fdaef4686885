"""Habits users expect (issue 14): --help shows every default, the README's property-test example
runs as written, and the package metadata builds without pip's license warning."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ltbounds.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser(name)
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def _help(name: str) -> str:
    return " ".join(_subparser(name).format_help().split())


@pytest.mark.parametrize("command", ["train", "evaluate", "export", "study", "figures", "errata", "demo"])
def test_every_option_has_help_and_every_value_option_says_its_default(command):
    missing = []
    for action in _subparser(command)._actions:
        if not action.option_strings or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        text = action.help or ""
        if not text:
            missing.append(f"{action.option_strings[0]}: no help")
        elif action.nargs != 0 and not re.search(r"default|required", text) and not action.required:
            missing.append(f"{action.option_strings[0]}: no default in {text!r}")
    assert not missing, missing


def test_named_options_show_their_defaults():
    train = _help("train")
    for expected in (
        "(default 0)",  # --seed
        "SGD momentum (default 0.9)",
        "used with --sam (default 0.05)",
        "--device DEVICE auto | cpu | cuda | cuda:N (default auto",
        "--out DIR required:",
        "--no-augment no crop + flip",
    ):
        assert expected in train, expected
    assert "(default 0.05)" in _help("evaluate")  # --delta
    assert "--out DIR required:" in _help("evaluate")
    assert "results root, not the study's folder: the study writes ROOT/NAME/" in _help("study")


def test_per_dataset_defaults_in_train_help_match_the_config():
    """The help text writes the family defaults out (it must not import training): keep them equal."""
    from training.config import FAMILY_DEFAULTS

    text = _help("train")
    names = {"cifar": "cifar10/100", "imagefolder": "imagefolder", "embedded": "embedded data"}
    for option, key in (("--epochs", "epochs"), ("--batch-size", "batch_size"), ("--lr", "lr")):
        for family, label in names.items():
            value = FAMILY_DEFAULTS[family][key]
            assert re.search(rf"{re.escape(option)} \S+ .*?{re.escape(label)} {value:g}\b", text), (option, label)
    assert "embedded data' = mnist5k, digits, gaussian, two_moons" in text


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    marker = text.index("def test_my_loss_is_finite")
    start = text.rindex("```python", 0, marker) + len("```python")
    end = text.index("```", marker)
    return "\n".join(line[3:] if line.startswith("   ") else line for line in text[start:end].splitlines())


def test_the_readme_property_test_example_runs_as_written():
    namespace: dict = {}
    exec(compile(_readme_example(), "README.md example", "exec"), namespace)  # noqa: S102 - our own README
    namespace["test_my_loss_is_finite"]()  # Hypothesis runs it over its examples; raises on a failure


def test_loss_case_types_are_the_documented_ones():
    import numpy as np
    import torch
    from hypothesis import given, settings

    from ltbounds import strategies as lts

    @settings(max_examples=5)
    @given(lts.loss_inputs())
    def check(case):
        assert isinstance(case.class_counts, np.ndarray) and case.class_counts.dtype == np.int64
        for tensor in (case.labels, case.logits, case.embeddings):
            assert isinstance(tensor, torch.Tensor)

    check()


def test_pyproject_license_is_an_spdx_string_and_builds_without_warnings(tmp_path):
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "meta").mkdir()
    code = (
        "import warnings; warnings.simplefilter('error'); from setuptools import build_meta; "
        "print(build_meta.prepare_metadata_for_build_wheel('meta'))"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-2000:]
    metadata = next((tmp_path / "meta").glob("*.dist-info/METADATA")).read_text()
    assert "License-Expression: MIT" in metadata

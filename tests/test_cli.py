"""The installed console script and the package's import paths."""

import json
import shutil
import subprocess
import sys

import ltbounds
from ltbounds.cli import SUBCOMMANDS, main


def test_console_script_is_installed_and_prints_version():
    script = shutil.which("ltbounds") or str(__import__("pathlib").Path(sys.executable).parent / "ltbounds")
    completed = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == f"ltbounds {ltbounds.__version__}"


def test_help_lists_every_subcommand(capsys):
    assert main([]) == 0
    text = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in text


def test_every_subcommand_has_help(capsys):
    for name in SUBCOMMANDS:
        try:
            main([name, "--help"])
        except SystemExit as stop:
            assert stop.code == 0, name
        assert "usage: ltbounds " + name in capsys.readouterr().out


def test_errata_json_has_the_documented_keys(capsys):
    assert main(["errata", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert isinstance(records, list)
    for record in records:
        assert set(record) == {"id", "source", "verdict", "counterexample", "corrected_by", "explanation"}


def test_unknown_errata_id_is_one_clear_line_and_exit_2(capsys):
    assert main(["errata", "--id", "no.such.statement"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--id" in error[0]


def test_python_dash_m_runs_the_cli():
    completed = subprocess.run([sys.executable, "-m", "ltbounds", "--help"], capture_output=True, text=True)
    assert completed.returncode == 0 and "evaluate" in completed.stdout

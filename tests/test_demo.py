"""The demo's pieces on a tiny configuration (the real `ltbounds demo` takes minutes: not run here)."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from studies import demo

TINY = dataclasses.replace(
    demo.QUICK,
    datasets=(
        demo.DemoData("gaussian", 20.0, (("classes", 3), ("dim", 4), ("pool_per_class", 80), ("test_per_class", 60))),
    ),
    methods=("ce", "la"),
    seeds=(0,),
    epochs=2,
    hidden=(16, 8),
    study_overrides=(
        (
            "coverage",
            (("replicates", 4), ("block", 2), ("fresh_per_class", 500), ("population_samples_per_class", 2000)),
        ),
        ("sharpness", (("rhos", (1.0, 10.0)), ("kappas", (0.5, 2.0)), ("classes", (2,)), ("random_count_vectors", 2))),
    ),
)


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    return demo.run_demo(out, TINY, progress=False, command="pytest tiny demo")


def test_tiny_demo_writes_report_tables_figures_and_manifest(tiny_demo):
    directory = tiny_demo.directory
    report = tiny_demo.report.read_text()
    for heading in ("Balanced test accuracy", "Bounds on the checkpoints", "Coverage", "Sharpness", "Figures"):
        assert heading in report
    accuracy = pd.read_csv(directory / "accuracy.csv")
    assert set(accuracy["method"]) == {"ce", "la"}
    assert {"test_balanced_accuracy", "test_many_accuracy", "test_few_accuracy"} <= set(accuracy.columns)
    assert accuracy["test_balanced_accuracy"].between(0, 1).all()
    bounds = pd.read_csv(directory / "evaluation" / "bounds.csv")
    assert {"checkpoint", "bound", "form", "class", "value", "measured", "valid"} <= set(bounds.columns)
    assert bounds["checkpoint"].nunique() == 2
    assert (directory / "coverage" / "coverage_summary.csv").exists()
    assert (directory / "sharpness" / "sharpness_summary.csv").exists()
    pngs = {p.name for p in tiny_demo.figures}
    assert {"demo_accuracy.png", "coverage_violations.png", "sharpness_ratio.png"} <= pngs
    for png in tiny_demo.figures:
        assert png.with_suffix(".pdf").exists() and png.stat().st_size > 5_000
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["study"] == "demo" and "timings_s" in manifest and manifest["command"] == "pytest tiny demo"
    assert isinstance(manifest["missing"], list)


def test_sharpness_in_the_demo_reads_the_demo_checkpoints(tiny_demo):
    table = pd.read_csv(tiny_demo.directory / "sharpness" / "sharpness.csv")
    checkpoint_rows = table[table["part"] == "checkpoint"]
    assert set(checkpoint_rows["method"]) == {"ce", "la"}
    assert {"mu_y", "fitted_kappa", "ratio"} <= set(checkpoint_rows["quantity"])


def test_second_demo_run_retrains_nothing(tiny_demo):
    trained = sorted(tiny_demo.directory.glob("training/*/last.pt"))
    stamps = [p.stat().st_mtime_ns for p in trained]
    again = demo.run_demo(tiny_demo.directory, TINY, progress=False)
    assert [p.stat().st_mtime_ns for p in trained] == stamps
    assert again.report.exists()


def test_markdown_table_escapes_and_formats():
    text = demo.markdown_table(pd.DataFrame({"a": ["x|y"], "b": [0.12345], "c": [float("nan")]}))
    assert text.splitlines()[0] == "| a | b | c |"
    assert "x\\|y" in text and "0.123" in text

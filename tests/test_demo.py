"""The demo's pieces on a tiny configuration (the real `ltbounds demo` takes minutes: not run here)."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from ltbounds.commands.demo import run_demo
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
        (
            "certificates",
            (("dataset", "digits"), ("imbalances", (4.0,)), ("epochs", 2), ("steps", 5), ("mc_passes", 2)),
        ),
    ),
)


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    return run_demo(out, TINY, progress=False, command="pytest tiny demo")


def test_tiny_demo_writes_report_tables_figures_and_manifest(tiny_demo):
    directory = tiny_demo.directory
    report = tiny_demo.report.read_text()
    for heading in ("Balanced test accuracy", "Bounds on the checkpoints", "Coverage", "Sharpness", "certificates",
                    "Figures"):  # fmt: skip
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
    again = run_demo(tiny_demo.directory, TINY, progress=False)
    assert [p.stat().st_mtime_ns for p in trained] == stamps
    assert again.report.exists()


def test_markdown_table_escapes_and_formats():
    text = demo.markdown_table(pd.DataFrame({"a": ["x|y"], "b": [0.12345], "c": [float("nan")]}))
    assert text.splitlines()[0] == "| a | b | c |"
    assert "x\\|y" in text and "0.123" in text


def test_demo_report_leads_with_a_summary_and_counts_guarantees_only_among_guarantee_rows(tiny_demo):
    report = tiny_demo.report.read_text()
    assert report.index("## In short") < report.index("## Balanced test accuracy")
    head = report.split("## Balanced test accuracy")[0]
    bounds = pd.read_csv(tiny_demo.directory / "evaluation" / "bounds.csv")
    ok = bounds[bounds["status"] == "ok"]
    guarantees = int(ok["guarantee"].astype(bool).sum())
    assert f"- **Certified guarantees**: {guarantees} of {len(ok)} rows" in head
    not_guarantee = ok[(ok["form"] == "certified") & ~ok["guarantee"].astype(bool)]
    for bound in set(not_guarantee["bound"]):
        assert f"`{bound}`" in head.split("- **Certified forms that are not guarantees here**")[1].split("\n")[0]
    excerpt = report.split("## Bounds on the checkpoints")[1].split("##")[0]
    header = next(line for line in excerpt.splitlines() if line.startswith("| bound |"))
    assert "| guarantee | assumptions |" in header
    coverage = pd.read_csv(tiny_demo.directory / "coverage" / "coverage_summary.csv")
    section = report.split("## Coverage")[1].split("##")[0]
    table = [line for line in section.splitlines() if line.startswith("| ")]
    pairs = coverage[coverage["runs"] > 0].drop_duplicates(["statement", "form"])
    assert len(table) == 1 + len(pairs) < 1 + int((coverage["runs"] > 0).sum()), "summarised, detail in the CSV"


def test_coverage_digest_keeps_the_worst_row_of_each_statement_and_puts_certified_forms_first():
    rows = []
    for population, classes in (("P2", 2), ("P4", 4)):
        for statement, form in (("s.a", "as_printed"), ("s.b", "certified")):
            for y in [*range(classes), "all"]:
                bad = statement == "s.b" and population == "P4" and y == 3
                rows.append(
                    {
                        "population": population,
                        "statement": statement,
                        "form": form,
                        "class": y,
                        "runs": 200,
                        "violation_fraction": 0.1 if bad else 0.0,
                        "ci_high": 0.15 if bad else 0.02,
                        "promised_level": 0.0125 if y != "all" and population == "P4" else 0.05,
                        "verdict": "EXCEEDS its level" if bad else "consistent",
                    }
                )
    digest = demo.coverage_digest(pd.DataFrame(rows))
    assert list(digest["statement"]) == ["s.b", "s.a"]
    first = digest.iloc[0]
    assert (first["rows"], first["worst_at"], first["worst_violation_fraction"], first["exceeding"]) == (
        8,
        "P4 class 3",
        0.1,
        1,
    )
    assert first["promised_level"] == 0.0125

"""Violation fraction of each bound over independent training sets, with 95% Clopper-Pearson intervals."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "coverage_violations"
STUDY = "coverage"
TITLE = "Coverage on Gaussian class-conditionals: how often each bound fails (dashed: delta)"
FORM_COLOURS = {"certified": "tab:blue", "corrected": "tab:green", "as_printed": "tab:orange", "shape": "tab:gray"}


def draw(results: Path):
    import matplotlib.pyplot as plt
    import numpy as np

    summary = read_table(results, STUDY, "coverage_summary")
    require_columns(
        summary,
        [
            "population",
            "head",
            "statement",
            "form",
            "class",
            "violation_fraction",
            "ci_low",
            "ci_high",
            "delta",
            "runs",
        ],
        "coverage_summary.csv",
    )
    # Rows whose assumptions never held promise nothing on these data: listed in the CSV, not drawn.
    summary = summary[summary["runs"] > 0].sort_values(["form", "statement", "class"]).reset_index(drop=True)
    several = summary["population"].nunique() > 1 or summary["head"].nunique() > 1
    labels = [
        f"{row['statement']} [{row['form']}] class {row['class']}"
        + (f" | {row['population']} {row['head']}" if several else "")
        + f" (R={int(row['runs'])})"
        for _, row in summary.iterrows()
    ]
    height = max(2.8, 0.16 * len(summary) + 1.2)
    figure, axis = plt.subplots(figsize=(8.5, height))
    positions = np.arange(len(summary))
    for form, colour in FORM_COLOURS.items():
        part = summary[summary["form"] == form]
        if part.empty:
            continue
        axis.errorbar(
            part["violation_fraction"],
            part.index,
            xerr=[part["violation_fraction"] - part["ci_low"], part["ci_high"] - part["violation_fraction"]],
            fmt="o",
            ms=3.5,
            color=colour,
            capsize=2,
            label=form,
        )
    if "promised_level" in summary.columns:
        axis.scatter(
            summary["promised_level"],
            positions,
            marker="|",
            s=60,
            color="k",
            zorder=4,
            label="level the bound promises (delta, or delta/C per class)",
        )
    axis.axvline(
        float(summary["delta"].iloc[0]), color="k", ls="--", lw=0.9, label=f"delta = {summary['delta'].iloc[0]:g}"
    )
    axis.set_yticks(positions)
    axis.set_yticklabels(labels, fontsize=6)
    axis.invert_yaxis()
    # Zoom on [0, max(upper CI, 2 delta)]: the region where a failure of the promise would show.
    axis.set_xlim(-0.005, max(2 * float(summary["delta"].iloc[0]), 1.15 * float(summary["ci_high"].max())))
    axis.set_xlabel("fraction of training sets where measured > bound\n(95% Clopper-Pearson CI)")
    if not several and len(summary):
        axis.set_title(
            f"population {summary['population'].iloc[0]}, head fitted with {summary['head'].iloc[0]}", fontsize=8
        )
    axis.legend(fontsize=7, loc="lower right")
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

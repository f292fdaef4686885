"""Violation fraction of each bound over independent training sets, with 95% Clopper-Pearson intervals.

Summarised for reading: one panel per population (and head); per statement and form one row for the
bound over all classes and one for its **worst class** (the largest violation fraction above the level
it promises; its class id is printed beside it). Every class's row stays in ``coverage_summary.csv``.
Certified forms are drawn above the other forms, which promise nothing (their verdict is informative).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from paper_figures.canvas import panels_under_a_legend_row, read_table, require_columns, script_main

NAME = "coverage_violations"
STUDY = "coverage"
TITLE = (
    "Coverage on Gaussian class-conditionals: how often each bound fails (dashed: delta); per-class bounds: "
    "worst class shown, every class in coverage_summary.csv"
)
FORM_COLOURS = {
    "certified": "tab:blue",
    "corrected": "tab:green",
    "as_printed": "tab:orange",
    "shape": "tab:gray",
    "diagnostic": "tab:olive",
}
GROUPS = (("certified", "certified forms (a promise)"), ("other", "other forms (no promise)"))


def worst_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (population, head, statement, form): the ``all`` row, and the worst per-class row with its class.

    Worst = largest ``violation_fraction - promised_level`` (ties: largest upper CI). ``scope`` is
    ``"all classes"`` or ``"worst class"`` and ``classes`` how many per-class rows it was chosen from."""
    frame = summary.copy()
    level = frame["promised_level"] if "promised_level" in frame.columns else frame["delta"]
    frame["promised_level"] = level.astype(float).fillna(frame["delta"].astype(float))
    frame["excess"] = frame["violation_fraction"].astype(float) - frame["promised_level"]
    per_class = frame["class"].astype(str) != "all"
    keys = ["population", "head", "statement", "form"]
    overall = frame[~per_class].assign(scope="all classes", classes=1)
    ranked = frame[per_class].sort_values(["excess", "ci_high"], ascending=False, kind="stable")
    counts = ranked.groupby(keys)["class"].transform("size")
    worst = ranked.assign(classes=counts).drop_duplicates(keys).assign(scope="worst class")
    return pd.concat([overall, worst], ignore_index=True)


def draw(results: Path):
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

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
    rows = worst_rows(summary[summary["runs"] > 0])
    rows["group"] = rows["form"].where(rows["form"] == "certified", "other")
    ticks: list[tuple[str, tuple | None]] = []  # (text, key or None for a group header)
    for group, title in GROUPS:
        part = rows[rows["group"] == group]
        keys = sorted({(s, f, c) for s, f, c in zip(part["statement"], part["form"], part["scope"], strict=True)})
        if keys:
            ticks.append((title, None))
            ticks += [(f"{s} [{f}], {c}", (s, f, c)) for s, f, c in keys]
    panels = list(dict.fromkeys(zip(rows["population"], rows["head"], strict=True)))
    delta = float(summary["delta"].iloc[0])
    runs = sorted({int(r) for r in rows["runs"]})
    figure = plt.figure(figsize=(3.4 + 2.9 * len(panels), 0.24 * len(ticks) + 2.6))
    # The legend gets a row of its own above the panels, so it never covers a row and the layout keeps it whole.
    legend_axis, axes = panels_under_a_legend_row(figure, len(panels), 0.6, 0.24 * len(ticks) + 0.6)
    first = axes[0]
    right = max(2 * delta, 1.5 * float(rows["ci_high"].max()))
    for axis, (population, head) in zip(axes, panels, strict=True):
        part = rows[(rows["population"] == population) & (rows["head"] == head)]
        for position, (_, key) in enumerate(ticks):
            if key is None:
                if position:
                    axis.axhline(position - 0.5, color="0.6", lw=0.7)
                continue
            match = part[(part["statement"] == key[0]) & (part["form"] == key[1]) & (part["scope"] == key[2])]
            if match.empty:
                continue
            row = match.iloc[0]
            fraction = float(row["violation_fraction"])
            axis.errorbar(
                [fraction],
                [position],
                xerr=[[fraction - float(row["ci_low"])], [float(row["ci_high"]) - fraction]],
                fmt="o",
                ms=3.5,
                capsize=2,
                color=FORM_COLOURS.get(row["form"], "k"),
            )
            level = float(row["promised_level"])
            if abs(level - delta) > 1e-12:
                # A short red tick across the row, away from the dashed delta line it would merge with.
                axis.plot([level, level], [position - 0.32, position + 0.32], color="tab:red", lw=1.6, zorder=4)
            if key[2] == "worst class":
                axis.text(
                    float(row["ci_high"]) + 0.01 * right,
                    position,
                    f"class {row['class']} of {int(row['classes'])}",
                    fontsize=5.5,
                    va="center",
                    color="0.3",
                )
        axis.axvline(delta, color="k", ls="--", lw=0.9)
        axis.set_xlim(-0.005, right)
        axis.set_title(f"{population}, head {head}", fontsize=8)
        axis.set_xlabel("fraction of training sets where\nmeasured > bound (95% CP interval)", fontsize=8)
        axis.tick_params(axis="x", labelsize=7)
    first.set_ylim(len(ticks) - 0.5, -0.5)
    first.set_yticks(range(len(ticks)))
    first.set_yticklabels([text for text, _ in ticks], fontsize=6.5)
    for label, (_, key) in zip(first.get_yticklabels(), ticks, strict=True):
        if key is None:
            label.set_fontweight("bold")
            label.set_fontstyle("italic")
    handles = [
        Line2D([], [], ls="", marker="o", color=colour, label=form)
        for form, colour in FORM_COLOURS.items()
        if form in set(rows["form"])
    ]
    handles += [
        Line2D([], [], color="k", ls="--", lw=0.9, label=f"delta = {delta:g}"),
        Line2D([], [], color="tab:red", lw=1.6, label="level a per-class bound promises (delta/C)"),
    ]
    legend_axis.legend(
        handles=handles,
        fontsize=6.5,
        loc="center",
        ncol=min(len(handles), 4),
        frameon=False,
        title=f"{'/'.join(str(r) for r in runs)} training sets per row",
        title_fontsize=6.5,
    )
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

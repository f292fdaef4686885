"""How far above the quantity it bounds is each probabilistic bound, on every demo checkpoint."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import MissingResults, read_table, require_columns, script_main

NAME = "demo_bounds"
STUDY = "demo"
TITLE = "Demo: bound / measured for each probabilistic bound (class = all), one dot per checkpoint; < 1 = violated"
COLOURS = {"certified": "tab:blue", "corrected": "tab:green", "as_printed": "tab:orange", "shape": "tab:gray"}


def draw(results: Path):
    import matplotlib.pyplot as plt
    import numpy as np

    table = read_table(results, STUDY, "evaluation/bounds")
    require_columns(
        table, ["checkpoint", "bound", "kind", "form", "class", "value", "measured", "status"], "bounds.csv"
    )
    rows = table[(table["status"] == "ok") & (table["class"].astype(str) == "all") & (table["kind"] == "bound")]
    rows = rows[(rows["measured"].astype(float) > 0) & np.isfinite(rows["value"].astype(float))]
    if rows.empty:
        raise MissingResults("evaluation/bounds.csv has no probabilistic bound with a positive measured value")
    rows = rows.assign(ratio=rows["value"].astype(float) / rows["measured"].astype(float))
    keys = sorted({(b, f) for b, f in zip(rows["bound"], rows["form"], strict=True)})
    figure, axis = plt.subplots(figsize=(7.0, 0.32 * len(keys) + 1.6))
    for position, (bound, form) in enumerate(keys):
        part = rows[(rows["bound"] == bound) & (rows["form"] == form)]
        jitter = np.linspace(-0.15, 0.15, len(part)) if len(part) > 1 else np.zeros(1)
        axis.scatter(
            part["ratio"],
            position + jitter,
            s=12,
            color=COLOURS.get(form, "k"),
            label=form if form not in axis.get_legend_handles_labels()[1] else None,
        )
    axis.axvline(1.0, color="k", lw=0.8, ls="--")
    axis.set_xscale("log")
    axis.set_yticks(range(len(keys)))
    axis.set_yticklabels([f"{b} [{f}]" for b, f in keys], fontsize=7)
    axis.invert_yaxis()
    axis.set_xlabel("bound value / measured value on the test split (unitless; log scale)")
    axis.legend(fontsize=7, loc="best", framealpha=0.9)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

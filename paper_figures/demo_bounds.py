"""Every overall bound against the quantity it bounds, on every demo checkpoint."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "demo_bounds"
STUDY = "demo"
TITLE = "Demo: bound value vs measured quantity per checkpoint (class = all); below the diagonal = violated"
MARKERS = {"certified": "o", "corrected": "s", "as_printed": "^", "shape": "x"}


def draw(results: Path):
    import matplotlib.pyplot as plt
    import numpy as np

    table = read_table(results, STUDY, "evaluation/bounds")
    require_columns(table, ["checkpoint", "bound", "form", "class", "value", "measured", "status"], "bounds.csv")
    rows = table[(table["status"] == "ok") & (table["class"].astype(str) == "all")]
    rows = rows[np.isfinite(rows["value"].astype(float)) & np.isfinite(rows["measured"].astype(float))]
    figure, axis = plt.subplots(figsize=(6.4, 4.8))
    bounds = sorted(rows["bound"].unique())
    colours = plt.get_cmap("tab20")
    for index, bound in enumerate(bounds):
        for form, marker in MARKERS.items():
            part = rows[(rows["bound"] == bound) & (rows["form"] == form)]
            if part.empty:
                continue
            axis.scatter(
                part["measured"],
                part["value"],
                marker=marker,
                s=18,
                color=colours(index % 20),
                label=f"{bound} [{form}]",
            )
    if not rows.empty:
        values = np.concatenate([rows["measured"].to_numpy(float), rows["value"].to_numpy(float)])
        positive = values[values > 0]
        low, high = (positive.min(), values.max()) if positive.size else (1e-3, 1.0)
        axis.plot([low, high], [low, high], color="k", lw=0.8, ls="--", label="bound = measured")
        if positive.size and high / low > 100:
            axis.set_xscale("symlog", linthresh=low)
            axis.set_yscale("symlog", linthresh=low)
    axis.set_xlabel("measured quantity on the balanced test split (risk, variance, ...; same units as the bound)")
    axis.set_ylabel("bound value")
    axis.legend(fontsize=5.5, loc="upper left", ncol=2)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

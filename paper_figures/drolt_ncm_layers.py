"""drolt Figure 3: nearest-class-mean test accuracy of each layer's representation, Many / Medium / Few."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "drolt_ncm_layers"
STUDY = "drolt"
TITLE = "Nearest-centroid accuracy by layer for Many/Medium/Few classes (drolt, Fig. 3)"
STYLES = {"many": "-", "medium": "--", "few": ":"}


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(table, ["method", "part", "layer", "group", "value"], "drolt.csv")
    rows = table[table["part"] == "ncm"]
    figure, axis = plt.subplots(figsize=(5.6, 3.8))
    colours = plt.get_cmap("tab10")
    for index, method in enumerate(dict.fromkeys(rows["method"])):
        for group, style in STYLES.items():
            part = rows[(rows["method"] == method) & (rows["group"] == group)]
            if part.empty:
                continue
            line = part.groupby("layer")["value"].mean()
            axis.plot(
                line.index, 100 * line.values, style, marker="o", ms=3, color=colours(index), label=f"{method} {group}"
            )
    axis.set_xlabel("hidden layer (1 = closest to the input)")
    axis.set_ylabel("NCM test accuracy (%)")
    axis.legend(fontsize=6, ncol=2)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

"""elm Figure 1: 2-D embeddings of the imbalanced two moons, CE + logit margins (LA) vs ELM."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "elm_two_moons"
STUDY = "elm_geometry"
TITLE = "Imbalanced two moons: 2-D pre-output embeddings of a 3-layer ReLU net, LA vs ELM (elm, Fig. 1)"


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(table, ["method", "quantity", "class", "x0", "x1", "class_count"], "elm_geometry.csv")
    rows = table[table["quantity"] == "embedding"]
    methods = list(dict.fromkeys(rows["method"]))
    figure, axes = plt.subplots(1, len(methods), figsize=(4 * len(methods), 3.8), squeeze=False)
    for axis, method in zip(axes[0], methods, strict=True):
        part = rows[rows["method"] == method]
        for y in sorted(part["class"].unique()):
            points = part[part["class"] == y]
            axis.scatter(
                points["x0"],
                points["x1"],
                s=6,
                alpha=0.6,
                label=f"class {int(y)} (n={int(points['class_count'].iloc[0])})",
            )
        axis.set_title(method, fontsize=9)
        axis.set_xlabel("embedding unit 1")
        axis.set_ylabel("embedding unit 2")
        axis.legend(fontsize=7)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

"""elm Proposition 1 through training: left side vs right side (mean pull objective) per class."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "elm_prop1"
STUDY = "elm_geometry"
TITLE = "ELM Prop. 1 (elm): 2n/(n-1) tr C_y - alpha_y + log(n_y - 1) (dashed) <= mean Omega_pull (solid), per method"


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(table, ["method", "quantity", "epoch", "class", "class_count", "value"], "elm_geometry.csv")
    rows = table[table["quantity"].isin(["prop1_left", "prop1_right"])]
    methods = list(dict.fromkeys(rows["method"]))
    figure, axes = plt.subplots(1, len(methods), figsize=(4 * len(methods), 3.6), squeeze=False, sharey=True)
    colours = plt.get_cmap("viridis")
    for axis, method in zip(axes[0], methods, strict=True):
        part = rows[rows["method"] == method]
        classes = sorted(part["class"].unique())
        for index, y in enumerate(classes):
            colour = colours(index / max(len(classes) - 1, 1))
            for quantity, style in (("prop1_right", "-"), ("prop1_left", "--")):
                line = part[(part["class"] == y) & (part["quantity"] == quantity)].sort_values("epoch")
                label = f"class {int(y)} (n={int(line['class_count'].iloc[0])})" if quantity == "prop1_right" else None
                axis.plot(line["epoch"], line["value"], style, color=colour, lw=1, label=label)
        axis.set_title(method, fontsize=9)
        axis.set_xlabel("epoch")
        axis.set_yscale("symlog")
    axes[0][0].set_ylabel("Prop. 1 sides (squared embedding units)")
    axes[0][-1].legend(fontsize=5.5, loc="upper right")
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

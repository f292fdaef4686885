"""elm Figure 4: normalised maximum intra-class distances per Head / Torso / Tail group, per method."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "elm_distances"
STUDY = "elm_geometry"
TITLE = "Max intra-class distance d_max(x) / max ||Phi|| on training embeddings (elm, Fig. 4)"


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(table, ["method", "quantity", "group", "value"], "elm_geometry.csv")
    rows = table[table["quantity"] == "max_intra_distance"]
    groups = [g for g in ("Head", "Torso", "Tail") if g in set(rows["group"])]
    methods = list(dict.fromkeys(rows["method"]))
    figure, axis = plt.subplots(figsize=(6.4, 3.6))
    width = 0.8 / max(len(methods), 1)
    for index, method in enumerate(methods):
        data = [rows[(rows["group"] == g) & (rows["method"] == method)]["value"].to_numpy() for g in groups]
        positions = [g + (index - (len(methods) - 1) / 2) * width for g in range(len(groups))]
        parts = axis.boxplot(data, positions=positions, widths=width * 0.9, patch_artist=True, showfliers=False)
        colour = plt.get_cmap("tab10")(index)
        for box in parts["boxes"]:
            box.set_facecolor(colour)
        axis.plot([], [], color=colour, lw=6, label=method)
    axis.set_xticks(range(len(groups)))
    axis.set_xticklabels(groups)
    axis.set_xlabel("class group (Head > 100, Torso 20-100, Tail < 20 training samples)")
    axis.set_ylabel("normalised max intra-class distance")
    axis.legend(fontsize=7)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

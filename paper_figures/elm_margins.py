"""elm Figures 3 and 6: distribution of logit margins per Head / Torso / Tail group, per method."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "elm_margins"
STUDY = "elm_geometry"
TITLE = "Logit margins f_y(x) - max_{y'!=y} f_y'(x) on the test set: CDF per Head/Torso/Tail group (elm, Figs 3, 6)"


def draw(results: Path):
    import matplotlib.pyplot as plt
    import numpy as np

    table = read_table(results, STUDY)
    require_columns(table, ["method", "quantity", "group", "value"], "elm_geometry.csv")
    rows = table[table["quantity"] == "margin"]
    groups = [g for g in ("Head", "Torso", "Tail") if g in set(rows["group"])]
    figure, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 3.4), squeeze=False, sharey=True)
    for axis, group in zip(axes[0], groups, strict=True):
        for method in dict.fromkeys(rows["method"]):
            values = np.sort(rows[(rows["group"] == group) & (rows["method"] == method)]["value"].to_numpy())
            if values.size:
                axis.plot(values, np.arange(1, values.size + 1) / values.size, label=method)
        axis.axvline(0, color="k", lw=0.7, ls=":")
        axis.set_title(f"{group} classes", fontsize=9)
        axis.set_xlabel("logit margin (logit units)")
    axes[0][0].set_ylabel("cumulative fraction of test samples")
    axes[0][-1].legend(fontsize=7)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

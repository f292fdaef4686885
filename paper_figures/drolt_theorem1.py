"""001 Theorem 1 on trained embeddings: bound value and the quantity it bounds, per class."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "drolt_theorem1"
STUDY = "drolt"
TITLE = "DRO-LT Theorem 1 (001) per class: bound (filled) vs the loss it bounds (hollow), by form"


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(
        table, ["method", "part", "statement", "form", "class", "class_count", "value", "measured"], "drolt.csv"
    )
    rows = table[(table["part"] == "theorem1") & (table["class"].astype(str) != "all")]
    methods = list(dict.fromkeys(rows["method"]))
    figure, axes = plt.subplots(
        1, max(len(methods), 1), figsize=(4.2 * max(len(methods), 1), 3.6), squeeze=False, sharey=True
    )
    colours = plt.get_cmap("tab10")
    for axis, method in zip(axes[0], methods, strict=False):
        part = rows[rows["method"] == method]
        for index, ((statement, form), group) in enumerate(part.groupby(["statement", "form"])):
            group = group.sort_values("class_count")
            axis.plot(
                group["class_count"], group["value"], "o-", ms=3, color=colours(index), label=f"{statement} [{form}]"
            )
            axis.plot(group["class_count"], group["measured"], "o", mfc="none", ms=5, color=colours(index))
        axis.set_xscale("log")
        axis.set_yscale("symlog")
        axis.set_title(method, fontsize=9)
        axis.set_xlabel("training samples in the class")
        axis.legend(fontsize=5.5)
    axes[0][0].set_ylabel("loss (nats)")
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

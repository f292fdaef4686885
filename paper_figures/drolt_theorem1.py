"""drolt Theorem 1 on trained embeddings: bound value and the quantity it bounds, per class."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import panels_under_a_legend_row, read_table, require_columns, script_main

NAME = "drolt_theorem1"
STUDY = "drolt"
TITLE = "DRO-LT Theorem 1 (drolt) per class: bound (filled) vs the loss it bounds (hollow), by form"


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(
        table, ["method", "part", "statement", "form", "class", "class_count", "value", "measured"], "drolt.csv"
    )
    rows = table[(table["part"] == "theorem1") & (table["class"].astype(str) != "all")]
    methods = list(dict.fromkeys(rows["method"])) or ["(no rows)"]
    keys = sorted({(st, f) for st, f in zip(rows["statement"], rows["form"], strict=True)})
    figure = plt.figure(figsize=(max(7.0, 4.2 * len(methods)), 4.6))
    # One legend for every panel, in a row of its own: it never covers a curve.
    legend_axis, axes = panels_under_a_legend_row(figure, len(methods), 0.9, 3.6)
    first = axes[0]
    colours = plt.get_cmap("tab10")
    handles = {}
    for axis, method in zip(axes, methods, strict=True):
        part = rows[rows["method"] == method]
        for index, key in enumerate(keys):
            group = part[(part["statement"] == key[0]) & (part["form"] == key[1])].sort_values("class_count")
            if group.empty:
                continue
            label, style = f"{key[0]} [{key[1]}]", "o-"
            valid = group["valid"].astype(str).str.lower().eq("true") if "valid" in group.columns else None
            if key[1] == "certified" and (valid is None or not valid.all()):
                # A certified form is a guarantee only where every assumption was checked and held: the
                # others are drawn dashed with hollow dots and say so, never as a guarantee.
                label, style = label + ": NOT a guarantee here (an assumption failed or was not checked)", "o--"
            (line,) = axis.plot(
                group["class_count"], group["value"], style, ms=3, mfc="none" if style == "o--" else None,
                color=colours(index), label=label,
            )  # fmt: skip
            handles.setdefault(label, line)
            axis.plot(group["class_count"], group["measured"], "o", mfc="none", ms=5, color=colours(index))
        axis.set_xscale("log")
        axis.set_yscale("symlog")
        axis.set_title(method, fontsize=9)
        axis.set_xlabel("training samples in the class")
    first.set_ylabel("loss (nats)")
    handles["measured (hollow circles)"] = plt.Line2D([], [], ls="", marker="o", mfc="none", color="0.3")
    legend_axis.legend(list(handles.values()), list(handles), loc="center", fontsize=7, frameon=False)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

"""wang23 Figure 3: B_y(f) of majority vs minority classes through training, and the effect of T0."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "drw_timing"
STUDY = "drw_timing"
TITLE = "DRW timing (wang23, Fig. 3): (a) B_y(f) majority/minority per epoch, (b) balance vs T0, (c) test acc. vs T0"


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(table, ["run", "method", "t0", "seed", "quantity", "value"], "drw_timing.csv")
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    per_epoch = table[table["quantity"].isin(["B_y_majority", "B_y_minority"])]
    drw = table[table["method"] == "ce_drw"]
    late = sorted(t for t in drw["t0"].unique() if 0 < t)
    shown = [("cb", None)] + ([("ce_drw", late[len(late) // 2])] if late else [])
    for method, t0 in shown:
        rows = per_epoch[(per_epoch["method"] == method) & ((per_epoch["t0"] == t0) if t0 is not None else True)]
        rows = rows[rows["seed"] == rows["seed"].min()] if not rows.empty else rows
        label = "CB" if method == "cb" else f"CE+DRW (T0={t0})"
        for quantity, style in (("B_y_majority", "-"), ("B_y_minority", "--")):
            line = rows[rows["quantity"] == quantity].sort_values("epoch")
            axes[0].plot(line["epoch"], line["value"], style, label=f"{label} {quantity.split('_')[-1]}")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("mean B_y(f) = min_x f(x)_y (logit units)")
    axes[0].legend(fontsize=6)
    final = drw[drw["quantity"].isin(["final_acc_min_over_max", "final_test_balanced_accuracy"])]
    means = final.groupby(["quantity", "t0"], as_index=False)["value"].agg(["mean", "std"]).reset_index()
    ratio = means[means["quantity"] == "final_acc_min_over_max"].sort_values("t0")
    axes[1].errorbar(ratio["t0"], ratio["mean"], yerr=ratio["std"].fillna(0), marker="o", label="CE+DRW")
    accuracy = means[means["quantity"] == "final_test_balanced_accuracy"].sort_values("t0")
    axes[2].errorbar(
        accuracy["t0"], 100 * accuracy["mean"], yerr=100 * accuracy["std"].fillna(0), marker="o", label="CE+DRW"
    )
    cb = table[table["method"] == "cb"]
    for axis, quantity, scale in (
        (axes[1], "final_acc_min_over_max", 1),
        (axes[2], "final_test_balanced_accuracy", 100),
    ):
        values = cb.loc[cb["quantity"] == quantity, "value"]
        if not values.empty:
            axis.axhline(scale * values.mean(), color="tab:red", ls=":", label="CB")
        # Two short lines: one long line ran into the next panel and off the canvas in (c).
        axis.set_xlabel("DRW switch epoch T0\n(T0 = epochs: never re-weighted)")
        axis.legend(fontsize=7)
    axes[1].set_ylabel("train accuracy minority / majority")
    axes[2].set_ylabel("test balanced accuracy (%)")
    for axis, title in zip(axes, ("(a) B_y(f) per epoch", "(b) balance vs T0", "(c) accuracy vs T0"), strict=True):
        axis.set_title(title, fontsize=9)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

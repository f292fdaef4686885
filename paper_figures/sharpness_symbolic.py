"""SymPy's closed-form ratio (1 + rho^(1/2-kappa)) / (1 + rho^(-1/2)) against the numeric one."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import math_text, plain_log_ticks, read_table, require_columns, script_main

NAME = "sharpness_symbolic"
STUDY = "sharpness"
TITLE = "Prop. 2 in closed form (two classes / step profile): ratio < 1 iff kappa > 1; lines SymPy, dots numeric"


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(table, ["part", "quantity", "value", "kappa", "rho", "numeric"], "sharpness.csv")
    closed = table[(table["part"] == "symbolic") & (table["quantity"] == "ratio_closed_form")]
    expressions = table[(table["part"] == "symbolic") & table["quantity"].isin(["ratio_two_class_expr"])]
    figure, axis = plt.subplots(figsize=(5.2, 3.6))
    colours = plt.get_cmap("plasma")
    rhos = sorted(closed["rho"].unique())
    for index, rho in enumerate(rhos):
        line = closed[closed["rho"] == rho].sort_values("kappa")
        colour = colours(index / max(len(rhos) - 1, 1))
        axis.plot(line["kappa"], line["value"], color=colour, label=rf"$\rho$ = {rho:g}")
        axis.scatter(line["kappa"], line["numeric"], color=colour, s=12, zorder=3)
    axis.axhline(1.0, color="k", lw=0.8, ls="--")
    axis.axvline(1.0, color="0.5", lw=0.8, ls=":")
    axis.set_yscale("log")
    plain_log_ticks(axis)
    axis.set_xlabel(r"$\kappa$ ($\mu_y \propto N_y^{-\kappa}$)")
    axis.set_ylabel("contraction / union (unitless)")
    if not expressions.empty and "expression" in expressions.columns:
        axis.set_title("SymPy, two classes: ratio = " + math_text(str(expressions["expression"].iloc[0])), fontsize=9)
    axis.legend(fontsize=7)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

"""Contraction / union complexity ratio against the imbalance ratio, one line per kappa (wang23, Prop. 2)."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import plain_log_ticks, read_table, require_columns, script_main

NAME = "sharpness_ratio"
STUDY = "sharpness"
TITLE = "Data-dependent contraction (Thm. 1) vs union bound (Prop. 1): complexity-term ratio, mu_y ~ N_y^-kappa"


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(table, ["part", "quantity", "value", "kappa", "rho", "classes", "profile"], "sharpness.csv")
    sampled = table[(table["part"] == "sampled") & (table["quantity"] == "ratio")]
    panels = sorted({(int(c), p) for c, p in zip(sampled["classes"], sampled["profile"], strict=True)})
    figure, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.4), squeeze=False, sharey=True)
    colours = plt.get_cmap("viridis")
    kappas = sorted(sampled["kappa"].unique())
    for axis, (classes, profile) in zip(axes[0], panels, strict=True):
        cell = sampled[(sampled["classes"] == classes) & (sampled["profile"] == profile)]
        for index, kappa in enumerate(kappas):
            line = cell[cell["kappa"] == kappa].sort_values("rho")
            axis.plot(
                line["rho"],
                line["value"],
                marker="o",
                ms=3,
                color=colours(index / max(len(kappas) - 1, 1)),
                label=f"kappa = {kappa:g}",
            )
        axis.axhline(1.0, color="k", lw=0.8, ls="--")
        axis.set_xscale("log")
        axis.set_yscale("log")
        plain_log_ticks(axis)
        axis.set_xlabel("imbalance ratio rho = N_max / N_min")
        axis.set_title(f"C = {classes}, {profile} profile", fontsize=9)
    axes[0][0].set_ylabel("contraction / union (shape, unitless)")
    axes[0][-1].legend(fontsize=7, loc="upper left")
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

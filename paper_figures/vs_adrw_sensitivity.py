"""wang23 Figures 1-2: balanced accuracy of VS+ADRW over nu (alpha_y ~ pi_y^-nu) and tau (Delta_y = tau log pi_y)."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "vs_adrw_sensitivity"
STUDY = "vs_drw"
TITLE = "VS+ADRW sensitivity to nu and tau (wang23, Figs 1-2): test balanced accuracy (%), mean over seeds"


def draw(results: Path):
    import matplotlib.pyplot as plt
    import numpy as np

    table = read_table(results, STUDY)
    require_columns(table, ["part", "nu", "tau", "quantity", "value", "imbalance"], "vs_drw.csv")
    rows = table[(table["part"] == "sensitivity") & (table["quantity"] == "test_balanced_accuracy")]
    grid = rows.pivot_table(index="nu", columns="tau", values="value", aggfunc="mean").sort_index()
    figure, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    image = axes[0].imshow(100 * grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
    axes[0].set_xticks(np.arange(grid.shape[1]))
    axes[0].set_xticklabels([f"{t:g}" for t in grid.columns])
    axes[0].set_yticks(np.arange(grid.shape[0]))
    axes[0].set_yticklabels([f"{n:g}" for n in grid.index])
    for (i, j), value in np.ndenumerate(100 * grid.to_numpy()):
        axes[0].text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=7, color="w")
    axes[0].set_xlabel("tau (additive adjustment Delta_y = tau log pi_y)")
    axes[0].set_ylabel("nu (ADRW alpha_y ~ pi_y^-nu)")
    figure.colorbar(image, ax=axes[0], label="test balanced accuracy (%)")
    for tau in grid.columns:
        axes[1].plot(grid.index, 100 * grid[tau], marker="o", label=f"tau = {tau:g}")
    axes[1].set_xlabel("nu (ADRW alpha_y ~ pi_y^-nu)")
    axes[1].set_ylabel("test balanced accuracy (%)")
    axes[1].legend(fontsize=7)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

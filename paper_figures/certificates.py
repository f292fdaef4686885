"""Balanced-error certificates (three PAC-Bayes forms) beside the measured balanced test error (issue 12)."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "certificates"
STUDY = "certificates"
TITLE = "PAC-Bayes balanced-error certificates (S_bound only) vs the measured balanced test error"
FORMS = ("per_class", "importance_weighted_kl", "importance_weighted_hoeffding")
MARKERS = {"per_class": "s", "importance_weighted_kl": "^", "importance_weighted_hoeffding": "o"}


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(
        table, ["form", "class", "certificate", "measured_test_error", "model", "imbalance", "seed"], "certificates.csv"
    )
    balanced = table[table["class"].astype(str) == "balanced"]
    imbalances = sorted(balanced["imbalance"].unique())
    figure, axes = plt.subplots(1, len(imbalances), figsize=(4.2 * len(imbalances), 3.6), squeeze=False, sharey=True)
    for axis, imbalance in zip(axes[0], imbalances, strict=True):
        cell = balanced[balanced["imbalance"] == imbalance]
        runs = sorted({(m, int(s)) for m, s in zip(cell["model"], cell["seed"], strict=True)})
        positions = {run: index for index, run in enumerate(runs)}
        for form in FORMS:
            rows = cell[cell["form"] == form]
            xs = [positions[(m, int(s))] for m, s in zip(rows["model"], rows["seed"], strict=True)]
            axis.scatter(xs, rows["certificate"], marker=MARKERS[form], label=f"certificate: {form}", zorder=3)
        measured = cell[cell["form"] == FORMS[0]]
        xs = [positions[(m, int(s))] for m, s in zip(measured["model"], measured["seed"], strict=True)]
        axis.scatter(xs, measured["measured_test_error"], marker="x", color="k", label="measured (stochastic)")
        axis.scatter(xs, 3 * measured["measured_test_error"], marker="_", s=200, color="grey", label="3 x measured")
        axis.axhline(0.5, color="r", lw=0.8, ls="--", label="0.5")
        axis.axhline(1.0, color="k", lw=0.8)
        axis.set_yscale("log")
        axis.set_xticks(range(len(runs)), [f"{m} s{s}" for m, s in runs], fontsize=8)
        axis.set_title(f"MNIST-5k, rho = {imbalance:g}", fontsize=9)
    axes[0][0].set_ylabel("balanced error (bound or measured)")
    axes[0][-1].legend(fontsize=6, loc="lower right")
    figure.tight_layout()
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

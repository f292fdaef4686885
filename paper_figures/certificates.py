"""Balanced-error certificates (three PAC-Bayes forms) beside the measured balanced test error and
the seed papers' own certified bound on the same model (issue 12).

The seed bound's rows are the certificates.csv rows whose form names a seed statement's certified
form (``<statement id>.certified``) and that are guarantees there: features trained on S_prior, the
head fitted on S_bound, so its frozen-features assumption holds."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import panels_under_a_legend_row, read_table, require_columns, script_main

NAME = "certificates"
STUDY = "certificates"
TITLE = (
    "Balanced-error certificates from training data alone on the same pbb models: ours (PAC-Bayes, S_bound only) "
    "vs the seed papers' certified bound (Wang et al. Thm 1, features frozen on S_prior) vs the measured error"
)
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
    figure = plt.figure(figsize=(4.6 * len(imbalances), 4.6))
    legend_axis, axes = panels_under_a_legend_row(figure, len(imbalances), legend_height=0.9, panel_height=5.0)
    for axis, imbalance in zip(axes, imbalances, strict=True):
        cell = balanced[balanced["imbalance"] == imbalance]
        runs = sorted({(m, int(s)) for m, s in zip(cell["model"], cell["seed"], strict=True)})
        positions = {run: index for index, run in enumerate(runs)}
        for form in FORMS:
            rows = cell[cell["form"] == form]
            xs = [positions[(m, int(s))] for m, s in zip(rows["model"], rows["seed"], strict=True)]
            axis.scatter(xs, rows["certificate"], marker=MARKERS[form], label=f"certificate: {form}", zorder=3)
        seed_bound = cell[cell["form"].astype(str).str.endswith(".certified") & _true(cell.get("guarantee"))]
        for form, rows in seed_bound.groupby("form"):
            xs = [positions[(m, int(s))] for m, s in zip(rows["model"], rows["seed"], strict=True)]
            statement = str(form).rsplit(".", 1)[0]
            axis.scatter(
                xs, rows["certificate"], marker="D", color="tab:red", label=f"seed bound: {statement} (certified)"
            )
        measured = cell[cell["form"] == FORMS[0]]
        xs = [positions[(m, int(s))] for m, s in zip(measured["model"], measured["seed"], strict=True)]
        axis.scatter(xs, measured["measured_test_error"], marker="x", color="k", label="measured (stochastic)")
        axis.scatter(xs, 3 * measured["measured_test_error"], marker="_", s=200, color="grey", label="3 x measured")
        axis.axhline(0.5, color="r", lw=0.8, ls="--", label="0.5")
        axis.axhline(1.0, color="k", lw=0.8)
        axis.set_yscale("log")
        axis.set_xticks(range(len(runs)), [f"{m} s{s}" for m, s in runs], fontsize=8)
        axis.set_title(f"MNIST-5k, rho = {imbalance:g}", fontsize=9)
    axes[0].set_ylabel("balanced error: bound or measured (log)")
    handles, labels = axes[0].get_legend_handles_labels()
    legend_axis.legend(handles, labels, fontsize=7, loc="center", ncol=3, frameon=False)
    return figure


def _true(column):
    """A boolean mask from a CSV column of True/False (missing column or value: False)."""

    if column is None:
        return False
    return column.astype(str).str.lower().isin(("true", "1"))


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

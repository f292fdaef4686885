"""wang23 Figure 4: balanced accuracy of VS, VS+DRW and VS+TLA+DRW against gamma."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "vs_drw_gamma"
STUDY = "vs_drw"
TITLE = "VS vs VS+DRW vs VS+TLA+DRW over gamma, beta_y = (N_y/N_1)^gamma (wang23, Fig. 4); mean +- std over seeds"
LABELS = {"vs": "VS (None)", "vs_drw": "VS+DRW", "vs_tla_drw": "VS+TLA+DRW"}


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(table, ["part", "method", "gamma", "quantity", "value", "imbalance"], "vs_drw.csv")
    rows = table[(table["part"] == "gamma") & (table["quantity"] == "test_balanced_accuracy")]
    figure, axis = plt.subplots(figsize=(5.2, 3.6))
    for method, label in LABELS.items():
        part = rows[rows["method"] == method].groupby("gamma")["value"].agg(["mean", "std"]).reset_index()
        if part.empty:
            continue
        axis.errorbar(
            part["gamma"], 100 * part["mean"], yerr=100 * part["std"].fillna(0), marker="o", capsize=2, label=label
        )
    rho = rows["imbalance"].iloc[0] if not rows.empty else float("nan")
    axis.set_xlabel("gamma (multiplicative logit adjustment)")
    axis.set_ylabel(f"test balanced accuracy (%), rho = {rho:g}")
    axis.legend(fontsize=8)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

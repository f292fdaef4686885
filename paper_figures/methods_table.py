"""Balanced accuracy of every method (ours, bars) with wang23 Table 1's CIFAR-10-LT numbers (markers)."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "methods_table"
STUDY = "methods_table"
TITLE = "Balanced test accuracy per method (bars: ours; markers: wang23 Table 1, CIFAR-10-LT ResNet-32, other data)"


def draw(results: Path):
    import matplotlib.pyplot as plt
    import numpy as np

    table = read_table(results, STUDY, "methods_summary")
    require_columns(
        table, ["dataset", "imbalance", "method", "all_mean", "all_std", "paper_cifar10_lt100"], "methods_summary.csv"
    )
    keys = list(dict.fromkeys(zip(table["dataset"], table["imbalance"], strict=True)))
    methods = list(dict.fromkeys(table["method"]))
    figure, axis = plt.subplots(figsize=(max(6.0, 0.42 * len(methods) + 2), 4.0))
    width = 0.8 / max(len(keys), 1)
    positions = np.arange(len(methods))
    for index, (name, rho) in enumerate(keys):
        part = table[(table["dataset"] == name) & (table["imbalance"] == rho)].set_index("method").reindex(methods)
        axis.bar(
            positions + (index - (len(keys) - 1) / 2) * width,
            part["all_mean"].fillna(0),
            width,
            yerr=part["all_std"].fillna(0),
            capsize=1.5,
            label=f"ours: {name}, rho = {rho:g}",
        )
    paper = table.drop_duplicates("method").set_index("method").reindex(methods)
    for column, marker, label in (
        ("paper_cifar10_lt100", "D", "wang23 Table 1: CIFAR-10-LT rho=100"),
        ("paper_cifar10_lt10", "^", "wang23 Table 1: CIFAR-10-LT rho=10"),
    ):
        if column in paper.columns:
            axis.scatter(positions, paper[column], marker=marker, color="k", s=18, zorder=3, label=label)
    axis.set_xticks(positions)
    axis.set_xticklabels(methods, rotation=60, ha="right", fontsize=7)
    axis.set_xlabel("training method")
    axis.set_ylabel("balanced test accuracy (%)")
    axis.set_ylim(0, 100)
    axis.legend(fontsize=6.5, loc="lower left")
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

"""Balanced test accuracy and its Many / Medium / Few split for each method of the demo."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import read_table, require_columns, script_main

NAME = "demo_accuracy"
STUDY = "demo"
TITLE = "Demo: last-epoch balanced test accuracy (all / Many / Medium / Few classes) per method"
GROUPS = (
    ("test_balanced_accuracy", "all classes"),
    ("test_many_accuracy", "Many (>100)"),
    ("test_medium_accuracy", "Medium (20-100)"),
    ("test_few_accuracy", "Few (<20)"),
)


def draw(results: Path):
    import matplotlib.pyplot as plt
    import numpy as np

    table = read_table(results, STUDY, "accuracy")
    require_columns(table, ["dataset", "method", "test_balanced_accuracy"], "accuracy.csv")
    datasets = list(dict.fromkeys(table["dataset"]))
    figure, axes = plt.subplots(1, len(datasets), figsize=(5.2 * len(datasets), 3.6), squeeze=False, sharey=True)
    width = 0.8 / len(GROUPS)
    for axis, name in zip(axes[0], datasets, strict=True):
        part = table[table["dataset"] == name].reset_index(drop=True)
        positions = np.arange(len(part))
        for index, (column, label) in enumerate(GROUPS):
            if column not in part.columns:
                continue
            values = 100 * part[column].astype(float)
            axis.bar(positions + (index - 1.5) * width, values.fillna(0), width, label=label)
        axis.set_xticks(positions)
        axis.set_xticklabels(part["method"], rotation=30, ha="right", fontsize=8)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("training method")
        axis.set_ylim(0, 118)
        axis.set_yticks(range(0, 101, 20))
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][-1].legend(fontsize=7, loc="upper center", ncol=4, frameon=False)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

"""The plots written next to ``report.md`` (matplotlib, Agg backend, PNG + PDF).

- ``bound_vs_measured``: every overall bound next to the quantity it bounds, one panel per checkpoint;
- ``per_class_terms``: per-class quantities (B_y(f), minimal margin, variance trace, Omega_pull,
  mu_y, test accuracy) against the training class size on a log axis;
- ``elm_prop1``: ELM Proposition 1 (000) per class: left side 2n/(n-1) tr C_y - alpha_y + log(n-1)
  against the right side, the mean Omega_pull, against class size.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PER_CLASS_PANELS = (
    ("B_y", "B_y(f) = min f(x)_y"),
    ("min_margin", "minimal margin"),
    ("variance_trace", "tr of class covariance"),
    ("omega_pull", "mean Omega_pull"),
    ("mu_y", "mu_y (Lemma 4)"),
    ("test_accuracy", "test accuracy"),
)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, directory: Path, stem: str) -> list[Path]:
    paths = []
    for suffix in ("png", "pdf"):
        path = directory / f"{stem}.{suffix}"
        figure.savefig(path, dpi=110 if suffix == "png" else None)
        paths.append(path)
    _pyplot().close(figure)
    return paths


def plot_bound_vs_measured(bounds: pd.DataFrame, directory: Path) -> list[Path]:
    """One horizontal panel per checkpoint: value (x) and measured (o) of every overall bound row."""
    plt = _pyplot()
    overall = bounds[(bounds["class"].astype(str) == "all") & (bounds["status"] == "ok")].copy()
    overall = overall[np.isfinite(overall["value"].astype(float))]
    if overall.empty:
        return []
    checkpoints = list(dict.fromkeys(overall["checkpoint"]))
    labels = sorted({f"{b} [{f}]" for b, f in zip(overall["bound"], overall["form"], strict=True)})
    columns = min(3, len(checkpoints))
    rows_of_panels = math.ceil(len(checkpoints) / columns)
    height = max(2.5, 0.32 * len(labels) + 1.2)
    figure, axes = plt.subplots(
        rows_of_panels, columns, figsize=(6.5 * columns, height * rows_of_panels), squeeze=False, sharey=True
    )
    positions = {label: i for i, label in enumerate(labels)}
    for axis in axes.ravel()[len(checkpoints) :]:
        axis.set_visible(False)
    for axis, checkpoint in zip(axes.ravel(), checkpoints, strict=False):
        rows = overall[overall["checkpoint"] == checkpoint]
        y = np.array([positions[f"{b} [{f}]"] for b, f in zip(rows["bound"], rows["form"], strict=True)], dtype=float)
        values = rows["value"].astype(float).to_numpy()
        measured = rows["measured"].astype(float).to_numpy()
        axis.scatter(values, y, marker="x", color="tab:red", label="bound (value)")
        has = np.isfinite(measured)
        axis.scatter(measured[has], y[has], marker="o", facecolors="none", edgecolors="tab:blue", label="measured")
        for yi, v, m in zip(y[has], values[has], measured[has], strict=True):
            axis.plot([m, v], [yi, yi], color="0.7", linewidth=0.8, zorder=0)
        axis.set_xscale("symlog", linthresh=1e-2, base=100)
        axis.tick_params(axis="x", labelsize=7)
        axis.set_title(str(checkpoint), fontsize=9)
        axis.set_xlabel("value (symlog)")
        axis.grid(True, axis="x", alpha=0.3)
    for axis in axes[:, 0]:
        axis.set_yticks(range(len(labels)))
        axis.set_yticklabels(labels, fontsize=7)
    axes[0][0].legend(fontsize=7, loc="best")
    figure.suptitle("Bound vs measured, overall rows (ltbounds evaluate)", fontsize=10)
    # Fixed margins (no tight layout): text extents are measured once, at save time only.
    label_inches = 0.055 * max(len(label) for label in labels) + 0.3
    width, full_height = figure.get_size_inches()
    figure.subplots_adjust(
        left=min(0.6, label_inches / width), right=0.98, top=1 - 0.8 / full_height, bottom=0.45 / full_height
    )
    return _save(figure, directory, "bound_vs_measured")


def plot_per_class_terms(per_class: pd.DataFrame, directory: Path) -> list[Path]:
    """Per-class quantities against training class size (log x), one series per checkpoint."""
    plt = _pyplot()
    if per_class.empty:
        return []
    figure, axes = plt.subplots(2, 3, figsize=(13, 7))
    for axis, (column, title) in zip(axes.ravel(), PER_CLASS_PANELS, strict=True):
        drawn = False
        for checkpoint, rows in per_class.groupby("checkpoint", sort=False):
            values = rows[column].astype(float).to_numpy()
            counts = rows["train_count"].astype(float).to_numpy()
            keep = np.isfinite(values)
            if keep.any():
                order = np.argsort(counts[keep])
                axis.plot(
                    counts[keep][order],
                    values[keep][order],
                    marker="o",
                    markersize=3,
                    linewidth=1,
                    label=str(checkpoint),
                )
                drawn = True
        axis.set_xscale("log")
        axis.set_xlabel("training samples in class (log)")
        axis.set_title(title, fontsize=9)
        axis.grid(True, alpha=0.3)
        if not drawn:
            axis.text(0.5, 0.5, "not available", ha="center", va="center", transform=axis.transAxes)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, fontsize=7, loc="lower center", ncol=min(4, len(labels)))
    figure.suptitle("Per-class terms vs class size (ltbounds evaluate)", fontsize=10)
    figure.subplots_adjust(left=0.06, right=0.98, top=0.9, bottom=0.16, wspace=0.3, hspace=0.5)
    return _save(figure, directory, "per_class_terms")


def plot_elm_prop1(per_class: pd.DataFrame, directory: Path) -> list[Path]:
    """ELM Prop. 1 per class: left side vs right side (mean Omega_pull) against class size."""
    plt = _pyplot()
    if per_class.empty or not np.isfinite(per_class["omega_pull"].astype(float)).any():
        return []
    figure, axis = plt.subplots(figsize=(6.5, 4.6))
    for index, (checkpoint, rows) in enumerate(per_class.groupby("checkpoint", sort=False)):
        counts = rows["train_count"].astype(float).to_numpy()
        left = rows["elm_prop1_left"].astype(float).to_numpy()
        right = rows["omega_pull"].astype(float).to_numpy()
        color = f"C{index % 10}"
        axis.scatter(counts, right, color=color, marker="o", label=f"{checkpoint}: Omega_pull (right)")
        axis.scatter(
            counts, left, color=color, marker="_", s=120, label=f"{checkpoint}: 2n/(n-1) tr C - alpha + log(n-1)"
        )
        for c, lv, rv in zip(counts, left, right, strict=True):
            if np.isfinite(lv) and np.isfinite(rv):
                axis.plot([c, c], [lv, rv], color=color, alpha=0.4, linewidth=0.8)
    axis.set_xscale("log")
    axis.set_xlabel("training samples in class (log)")
    axis.set_ylabel("value (nats)")
    axis.set_title("ELM Proposition 1 (000): left <= right, per class", fontsize=10)
    axis.grid(True, alpha=0.3)
    # Below the axes, so it never hides a class.
    axis.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    figure.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.26)
    return _save(figure, directory, "elm_prop1")


def write_plots(evaluation: Any, directory: str | Path) -> list[Path]:
    """Write every plot of an ``Evaluation`` into ``directory``; returns the files written."""
    target = Path(directory)
    paths: list[Path] = []
    paths += plot_bound_vs_measured(evaluation.bounds, target)
    paths += plot_per_class_terms(evaluation.per_class, target)
    paths += plot_elm_prop1(evaluation.per_class, target)
    return paths

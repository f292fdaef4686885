"""The plots written next to ``report.md`` (matplotlib, Agg backend, PNG + PDF).

Every plot aggregates checkpoints by method: colour = method, the mean over the checkpoints of a
method (its seeds) with a band from their minimum to their maximum, one panel per dataset. The
canvas size depends on the number of statements, datasets and methods, never on the number of
checkpoints; individual checkpoints are drawn only when a panel has at most ``FEW_CHECKPOINTS``.

- ``bound_vs_measured``: every overall bound next to the quantity it bounds. Rows are grouped in the
  sections of ``ltbounds.report.SECTIONS``: certified guarantees first (filled diamonds), then
  certified forms whose assumption failed or is unknown, then the other forms (crosses), so that a
  row that is not a guarantee is never drawn as one;
- ``per_class_terms``: per-class quantities (B_y(f), minimal margin, variance trace, Omega_pull,
  mu_y, test accuracy) against the training class size on a log axis, one row of panels per dataset;
- ``elm_prop1``: ELM Proposition 1 (elm) per class: left side 2n/(n-1) tr C_y - alpha_y + log(n-1)
  against the right side, the mean Omega_pull, against class size.
"""

from __future__ import annotations

from collections.abc import Callable
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
DPI = 110
MIN_WIDTH = 8.0  # inches: room for the title and a legend row whatever the number of panels
FEW_CHECKPOINTS = 6
NO_DATASET = "dataset not recorded"
# Marker of the mean bound value per section: only a guarantee is filled.
SECTION_MARKERS = {
    "guarantee": ("D", True),
    "certified_failed": ("D", False),
    "certified_unknown": ("s", False),
    "not_certified": ("x", True),
}


def plain_log_ticks(axis: Any, which: str = "y") -> None:
    """Label a log axis with plain numbers (0.5, 2, 20, 5000) and 3 to ~8 ticks in view: at powers of ten
    over a wide range, at 1, 2, 5 x 10^k over one or two decades, at 1..9 x 10^k under a decade, evenly
    when narrower still (matplotlib's default labels only the powers of ten, or crowds the minor ones)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

    class PlainLogLocator(LogLocator):
        def tick_values(self, vmin: float, vmax: float) -> Any:
            low, high = sorted((vmin, vmax))
            for subs in ((1.0,), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)):
                ticks = LogLocator(base=10, subs=subs, numticks=30).tick_values(low, high)
                if ((ticks >= low) & (ticks <= high)).sum() >= 3:
                    return ticks
            return MaxNLocator(4).tick_values(low, high)

    def label(value: float, _: Any) -> str:
        if value > 0 and (value >= 1e5 or value < 1e-3):
            exponent = np.log10(value)
            return f"$10^{{{exponent:.0f}}}$" if abs(exponent - round(exponent)) < 1e-9 else f"{value:.0e}"
        return f"{value:.0f}" if value >= 1 and value == round(value) else f"{value:.3g}"

    target = axis.yaxis if which == "y" else axis.xaxis
    target.set_major_locator(PlainLogLocator(base=10))
    target.set_major_formatter(FuncFormatter(label))
    target.set_minor_locator(NullLocator())


def legend_layout(labels: list[str], width: float, fontsize: float = 7.0) -> tuple[int, int]:
    """(columns, rows) of a legend of ``labels`` that fits a canvas ``width`` inches wide.

    Conservative: every column is taken as wide as the longest entry (about 0.6 em per character plus
    the handle), so the legend is never cut at the sides of the canvas."""
    entry = max(len(text) for text in labels) * 0.0078 * fontsize + 0.55
    columns = max(1, min(len(labels), int((width - 0.4) // entry)))
    return columns, -(-len(labels) // columns)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, directory: Path, stem: str) -> list[Path]:
    paths = []
    for suffix in ("png", "pdf"):
        path = directory / f"{stem}.{suffix}"
        # No bbox_inches="tight": the canvas keeps the size the layout computed, whatever the labels.
        figure.savefig(path, dpi=DPI if suffix == "png" else None)
        paths.append(path)
    _pyplot().close(figure)
    return paths


def _title(figure: Any, text: str, height: float) -> None:
    """The figure title, 0.12 in below the top of a canvas ``height`` inches tall (every evaluate plot)."""
    figure.suptitle(text, fontsize=10, y=1 - 0.12 / height, va="top")


def _legend_under_title(
    figure: Any, handles: list, columns: int, fontsize: float, title_in: float, height: float
) -> None:
    """The legend centred in the band reserved under the title (``title_in`` inches from the top)."""
    figure.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - title_in / height),
        ncol=columns,
        fontsize=fontsize,
        frameon=False,
    )


def dataset_labels(names: pd.Series, checkpoints: pd.DataFrame | None) -> pd.Series:
    """Checkpoint name -> ``"<dataset> rho=<imbalance>"`` from ``checkpoints.csv`` (or ``NO_DATASET``)."""
    mapping: dict[str, str] = {}
    if checkpoints is not None and not checkpoints.empty and "dataset" in checkpoints.columns:
        for row in checkpoints.itertuples(index=False):
            dataset = getattr(row, "dataset", None)
            if not isinstance(dataset, str) or not dataset:
                continue
            imbalance = getattr(row, "imbalance", None)
            try:
                label = f"{dataset} rho={float(imbalance):g}"
            except (TypeError, ValueError):
                label = dataset
            mapping[str(row.checkpoint)] = label.replace("rho=nan", "").strip()
    return names.astype(str).map(lambda name: mapping.get(name, NO_DATASET))


def method_colours(methods: list[str]) -> dict[str, Any]:
    """One colour per method, never repeated (tab10, then tab20 for more than ten methods)."""
    plt = _pyplot()
    palette = plt.get_cmap("tab10" if len(methods) <= 10 else "tab20")
    return {method: palette(index % palette.N) for index, method in enumerate(methods)}


def _method_handles(colours: dict[str, Any]) -> list[Any]:
    from matplotlib.lines import Line2D

    return [Line2D([], [], color=colour, lw=2.5, label=str(method)) for method, colour in colours.items()]


# ------------------------------------------------------------------------------------ bound vs measured


def _row_label(bound: str, form: str, status: str, section: str) -> str:
    label = f"{bound} [{form}]"
    if section == "not_certified" and status in ("failed", "unknown"):
        label += f" (assumption {status})"
    return label


def figure_bound_vs_measured(bounds: pd.DataFrame, checkpoints: pd.DataFrame | None = None) -> Any:
    """The ``bound_vs_measured`` figure (None when no overall row has a finite value)."""
    from matplotlib.lines import Line2D

    from ltbounds.report import SECTION_TITLES, SECTIONS, with_guarantee

    plt = _pyplot()
    overall = bounds[(bounds["class"].astype(str) == "all") & (bounds["status"] == "ok")]
    overall = overall[np.isfinite(overall["value"].astype(float))]
    if overall.empty:
        return None
    overall = with_guarantee(overall)
    overall = overall.assign(
        dataset=dataset_labels(overall["checkpoint"], checkpoints),
        label=[
            _row_label(b, f, s, sec)
            for b, f, s, sec in zip(
                overall["bound"], overall["form"], overall["assumption_status"], overall["section"], strict=True
            )
        ],
    )
    # y positions: a header line per section present, then its rows in alphabetical order.
    positions: dict[tuple[str, str], int] = {}
    ticks: list[tuple[int, str, bool]] = []
    for section, _ in SECTIONS:
        labels = sorted(set(overall.loc[overall["section"] == section, "label"]))
        if not labels:
            continue
        ticks.append((len(ticks), SECTION_TITLES[section], True))
        for label in labels:
            positions[(section, label)] = len(ticks)
            ticks.append((len(ticks), label, False))
    methods = [str(m) for m in dict.fromkeys(overall["method"])]
    colours = method_colours(methods)
    datasets = list(dict.fromkeys(overall["dataset"]))

    handles = _method_handles(colours) + [
        Line2D([], [], ls="", marker="D", color="0.3", label="bound, certified guarantee"),
        Line2D([], [], ls="", marker="D", mfc="none", color="0.3", label="bound, certified form, not a guarantee"),
        Line2D([], [], ls="", marker="x", color="0.3", label="bound, other form"),
        Line2D([], [], ls="", marker="o", mfc="none", color="k", label="measured"),
        Line2D([], [], lw=3.5, alpha=0.3, color="0.3", label="min-max over checkpoints"),
    ]
    row_in, title_in, bottom_in = 0.21, 0.45, 0.75
    label_in = min(4.6, 0.058 * max(len(text) for _, text, _ in ticks) + 0.25)
    width = max(MIN_WIDTH, label_in + 3.6 * len(datasets) + 0.3 * (len(datasets) - 1) + 0.25)
    panel_in = (width - label_in - 0.25 - 0.3 * (len(datasets) - 1)) / len(datasets)
    columns, legend_rows = legend_layout([h.get_label() for h in handles], width)
    # The legend's rows, then room for the panel titles above the axes.
    legend_in = 0.2 * legend_rows + 0.35
    height = row_in * len(ticks) + title_in + legend_in + bottom_in
    figure, axes = plt.subplots(1, len(datasets), figsize=(width, height), squeeze=False, sharey=True)
    spread = min(0.75, 0.14 * len(methods))
    for axis, dataset in zip(axes[0], datasets, strict=True):
        part = overall[overall["dataset"] == dataset]
        few = part["checkpoint"].nunique() <= FEW_CHECKPOINTS
        for index, method in enumerate(methods):
            offset = (index / max(len(methods) - 1, 1) - 0.5) * spread if len(methods) > 1 else 0.0
            colour = colours[method]
            for (section, label), group in part[part["method"].astype(str) == method].groupby(
                ["section", "label"], sort=False
            ):
                y = positions[(section, label)] + offset
                values = group["value"].astype(float).to_numpy()
                measured = group["measured"].astype(float).to_numpy()
                if len(values) > 1:
                    axis.hlines(y, values.min(), values.max(), color=colour, lw=3.5, alpha=0.3)
                    if few:
                        axis.scatter(values, np.full(len(values), y), s=5, color=colour, alpha=0.7, lw=0)
                marker, filled = SECTION_MARKERS[section]
                # An 'x' has no face: it takes its colour from ``color``; hollow markers from their edge.
                paint = {"color": colour} if filled else {"color": "none", "edgecolors": colour}
                axis.scatter([values.mean()], [y], s=22, marker=marker, linewidths=1.1, zorder=3, **paint)
                finite = measured[np.isfinite(measured)]
                if finite.size:
                    axis.scatter([finite.mean()], [y], s=16, marker="o", color="none", edgecolors="k", lw=0.8, zorder=4)
        for tick, _, header in ticks:
            if header and tick:
                axis.axhline(tick - 0.5, color="0.55", lw=0.7)
        axis.set_xscale("symlog", linthresh=1e-2, base=10)
        axis.margins(x=0.06)
        axis.tick_params(axis="x", labelsize=7)
        axis.grid(True, axis="x", alpha=0.3)
        axis.set_title(f"{dataset} ({part['checkpoint'].nunique()} checkpoints)", fontsize=8.5)
        axis.set_xlabel("value (symlog; linear within +-0.01)", fontsize=8)
    first = axes[0][0]
    first.set_ylim(len(ticks) - 0.5, -0.5)
    first.set_yticks([tick for tick, _, _ in ticks])
    first.set_yticklabels([text for _, text, _ in ticks], fontsize=7)
    for label, (_, _, header) in zip(first.get_yticklabels(), ticks, strict=True):
        if header:
            label.set_fontweight("bold")
            label.set_fontstyle("italic")
    _legend_under_title(figure, handles, columns, 7, title_in, height)
    _title(figure, "Bound vs measured, overall rows: mean over each method's checkpoints (ltbounds evaluate)", height)
    skipped = int((bounds["status"].astype(str) == "non_finite").sum())
    note = "Rows are grouped by whether they are a guarantee; full detail: bounds.csv."
    if skipped:
        note += f" {skipped} row(s) with a non-finite value or measurement are not drawn (listed in report.md)."
    figure.text(0.01, 0.1 / height, note, fontsize=6.5, color="0.3", ha="left", va="bottom")
    figure.subplots_adjust(
        left=label_in / width,
        right=1 - 0.25 / width,
        top=1 - (title_in + legend_in) / height,
        bottom=bottom_in / height,
        wspace=0.3 / panel_in,
    )
    return figure


# ------------------------------------------------------------------------------------ per-class plots


def _per_method(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per class of one method: class size, and mean / min / max of ``column`` over its checkpoints."""
    values = rows.assign(_v=rows[column].astype(float), _n=rows["train_count"].astype(float))
    values = values[np.isfinite(values["_v"])]
    table = values.groupby("class").agg(
        count=("_n", "mean"), mean=("_v", "mean"), low=("_v", "min"), high=("_v", "max")
    )
    return table.sort_values("count")


def _draw_method(axis: Any, rows: pd.DataFrame, column: str, colour: Any, few: bool, **style: Any) -> bool:
    table = _per_method(rows, column)
    if table.empty:
        return False
    axis.plot(table["count"], table["mean"], color=colour, **style)
    if rows["checkpoint"].nunique() > 1:
        axis.fill_between(table["count"], table["low"], table["high"], color=colour, alpha=0.18, lw=0)
        if few:
            for _, single in rows.groupby("checkpoint", sort=False):
                one = _per_method(single, column)
                axis.plot(one["count"], one["mean"], color=colour, lw=0.6, alpha=0.5, ls=style.get("ls", "-"))
    return True


def figure_per_class_terms(per_class: pd.DataFrame, checkpoints: pd.DataFrame | None = None) -> Any:
    """The ``per_class_terms`` figure: one row of six panels per dataset (None when empty)."""
    from matplotlib.patches import Patch

    plt = _pyplot()
    if per_class.empty:
        return None
    frame = per_class.assign(dataset=dataset_labels(per_class["checkpoint"], checkpoints))
    datasets = list(dict.fromkeys(frame["dataset"]))
    methods = [str(m) for m in dict.fromkeys(frame["method"])]
    colours = method_colours(methods)
    # legend_in: the legend's row and the panel titles under it.
    panel_w, panel_h, left_in, title_in, legend_in, bottom_in = 2.75, 2.3, 0.75, 0.45, 0.62, 0.6
    width = left_in + len(PER_CLASS_PANELS) * panel_w + 0.2
    height = title_in + legend_in + len(datasets) * panel_h + bottom_in
    figure, axes = plt.subplots(len(datasets), len(PER_CLASS_PANELS), figsize=(width, height), squeeze=False)
    for row, dataset in enumerate(datasets):
        part = frame[frame["dataset"] == dataset]
        few = part["checkpoint"].nunique() <= FEW_CHECKPOINTS
        for axis, (column, title) in zip(axes[row], PER_CLASS_PANELS, strict=True):
            drawn = False
            if column in part.columns:
                for method in methods:
                    rows = part[part["method"].astype(str) == method]
                    style = {"marker": "o", "markersize": 2.5, "lw": 1.3}
                    drawn = _draw_method(axis, rows, column, colours[method], few, **style) or drawn
            axis.set_xscale("log")
            plain_log_ticks(axis, "x")
            axis.set_title(title, fontsize=8.5)
            axis.tick_params(labelsize=7)
            axis.grid(True, alpha=0.3)
            if not drawn:
                axis.text(0.5, 0.5, "not available", ha="center", va="center", transform=axis.transAxes)
        axes[row][0].set_ylabel(dataset, fontsize=8.5, fontweight="bold")
    for axis in axes[-1]:
        axis.set_xlabel("training samples in class (log)", fontsize=7.5)
    handles = _method_handles(colours)
    if frame.groupby(["dataset", "method"])["checkpoint"].nunique().max() > 1:
        handles.append(Patch(color="0.3", alpha=0.18, label="min-max over checkpoints"))
    columns = legend_layout([h.get_label() for h in handles], width, 7.5)[0]
    _legend_under_title(figure, handles, columns, 7.5, title_in, height)
    _title(figure, "Per-class terms vs class size: mean over each method's checkpoints (ltbounds evaluate)", height)
    figure.subplots_adjust(
        left=left_in / width,
        right=1 - 0.2 / width,
        top=1 - (title_in + legend_in) / height,
        bottom=bottom_in / height,
        wspace=0.38,
        hspace=0.45,
    )
    return figure


def figure_elm_prop1(per_class: pd.DataFrame, checkpoints: pd.DataFrame | None = None) -> Any:
    """ELM Prop. 1 per class, one panel per dataset: left side (dashed) <= right side (solid)."""
    from matplotlib.lines import Line2D

    plt = _pyplot()
    if per_class.empty or not np.isfinite(per_class["omega_pull"].astype(float)).any():
        return None
    frame = per_class.assign(dataset=dataset_labels(per_class["checkpoint"], checkpoints))
    datasets = list(dict.fromkeys(frame["dataset"]))
    methods = [str(m) for m in dict.fromkeys(frame["method"])]
    colours = method_colours(methods)
    panel_w, panel_h, left_in, title_in, bottom_in = 4.2, 3.2, 0.8, 0.7, 0.55
    handles = _method_handles(colours) + [
        Line2D([], [], color="0.3", marker="o", ms=3, label="right: mean Omega_pull"),
        Line2D([], [], color="0.3", ls="--", marker="_", label="left: 2n/(n-1) tr C_y - alpha_y + log(n_y-1)"),
    ]
    width = max(MIN_WIDTH, left_in + len(datasets) * panel_w + 0.3 * (len(datasets) - 1) + 0.25)
    panel_w = (width - left_in - 0.25 - 0.3 * (len(datasets) - 1)) / len(datasets)
    columns, legend_rows = legend_layout([h.get_label() for h in handles], width)
    legend_in = 0.22 * legend_rows + 0.15
    height = title_in + panel_h + bottom_in + legend_in
    figure, axes = plt.subplots(1, len(datasets), figsize=(width, height), squeeze=False, sharey=True)
    for axis, dataset in zip(axes[0], datasets, strict=True):
        part = frame[frame["dataset"] == dataset]
        few = part["checkpoint"].nunique() <= FEW_CHECKPOINTS
        for method in methods:
            rows = part[part["method"].astype(str) == method]
            colour = colours[method]
            _draw_method(axis, rows, "omega_pull", colour, few, marker="o", markersize=3, lw=1.3)
            _draw_method(axis, rows, "elm_prop1_left", colour, few, marker="_", markersize=7, lw=1.1, ls="--")
        axis.set_xscale("log")
        plain_log_ticks(axis, "x")
        axis.set_xlabel("training samples in class (log)", fontsize=8)
        axis.set_title(f"{dataset} ({part['checkpoint'].nunique()} checkpoints)", fontsize=8.5)
        axis.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("value (nats)")
    _title(figure, "ELM Proposition 1 (elm): left <= right per class, mean over each method's checkpoints", height)
    # Below the axes and inside the canvas (its height is reserved), so it never hides a class.
    figure.legend(
        handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.02), ncol=columns, fontsize=7, frameon=False
    )
    figure.subplots_adjust(
        left=left_in / width,
        right=1 - 0.25 / width,
        top=1 - title_in / height,
        bottom=(bottom_in + legend_in) / height,
        wspace=0.3 / panel_w,
    )
    return figure


# name -> (figure builder, the ``Evaluation`` table it reads); ``plot`` writes <name>.png / .pdf
PLOTS: dict[str, tuple[Callable[[pd.DataFrame, pd.DataFrame | None], Any], str]] = {
    "bound_vs_measured": (figure_bound_vs_measured, "bounds"),
    "per_class_terms": (figure_per_class_terms, "per_class"),
    "elm_prop1": (figure_elm_prop1, "per_class"),
}


def plot(name: str, table: pd.DataFrame, directory: str | Path, checkpoints: pd.DataFrame | None = None) -> list[Path]:
    """Write ``<name>.png`` / ``.pdf`` of the plot ``PLOTS[name]`` drawn from ``table`` (nothing when the
    table has nothing to draw); returns the files written."""
    figure = PLOTS[name][0](table, checkpoints)
    return [] if figure is None else _save(figure, Path(directory), name)


def write_plots(evaluation: Any, directory: str | Path) -> list[Path]:
    """Write every plot of an ``Evaluation`` into ``directory``; returns the files written."""
    checkpoints = getattr(evaluation, "checkpoints", None)
    paths: list[Path] = []
    for name, (_, table) in PLOTS.items():
        paths += plot(name, getattr(evaluation, table), directory, checkpoints)
    return paths

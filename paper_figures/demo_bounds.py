"""How far above the quantity it bounds is each probabilistic bound, on every demo checkpoint."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import MissingResults, plain_log_ticks, read_table, require_columns, script_main

NAME = "demo_bounds"
STUDY = "demo"
TITLE = (
    "Demo: bound / measured for each probabilistic bound (class = all), one dot per checkpoint; < 1 = violated. "
    "Only the top group are guarantees"
)
# (colour, marker, filled) per section of ltbounds.report.SECTIONS; the other forms are coloured by form.
SECTION_STYLES = {
    "guarantee": ("tab:blue", "o", True),
    "certified_failed": ("tab:red", "o", False),
    "certified_unknown": ("tab:purple", "s", False),
}
FORM_COLOURS = {"as_printed": "tab:orange", "corrected": "tab:green", "shape": "tab:gray", "diagnostic": "tab:olive"}
LEGEND_TEXT = {
    "guarantee": "certified guarantee (every assumption checked and held)",
    "certified_failed": "certified form, an assumption failed: NOT a guarantee",
    "certified_unknown": "certified form, an assumption unknown: NOT a guarantee",
}


def draw(results: Path):
    import matplotlib.pyplot as plt
    import numpy as np

    from ltbounds.report import SECTION_TITLES, SECTIONS, with_guarantee

    table = read_table(results, STUDY, "evaluation/bounds")
    require_columns(
        table, ["checkpoint", "bound", "kind", "form", "class", "value", "measured", "status"], "bounds.csv"
    )
    rows = table[(table["status"] == "ok") & (table["class"].astype(str) == "all") & (table["kind"] == "bound")]
    rows = rows[(rows["measured"].astype(float) > 0) & np.isfinite(rows["value"].astype(float))]
    if rows.empty:
        raise MissingResults("evaluation/bounds.csv has no probabilistic bound with a positive measured value")
    rows = with_guarantee(rows)
    rows = rows.assign(ratio=rows["value"].astype(float) / rows["measured"].astype(float))
    # One line per (section, bound, form): a certified form is listed under "guarantee" only on the
    # checkpoints where it is one, so a failed or unchecked assumption is never drawn as a guarantee.
    ticks: list[tuple[str, str, str | None]] = []  # (text, section, form or None for a header)
    for section, _ in SECTIONS:
        keys = sorted(
            {
                (b, f)
                for b, f in zip(
                    rows.loc[rows["section"] == section, "bound"],
                    rows.loc[rows["section"] == section, "form"],
                    strict=True,
                )
            }
        )
        if keys:
            ticks.append((SECTION_TITLES[section], section, None))
            ticks += [(f"{b} [{f}]", section, f) for b, f in keys]
    figure, axis = plt.subplots(figsize=(10.0, 0.26 * len(ticks) + 2.4))
    labelled: set[str] = set()
    for position, (text, section, form) in enumerate(ticks):
        if form is None:
            if position:
                axis.axhline(position - 0.5, color="0.6", lw=0.7)
            continue
        bound = text.rsplit(" [", 1)[0]
        part = rows[(rows["section"] == section) & (rows["bound"] == bound) & (rows["form"] == form)]
        jitter = np.linspace(-0.2, 0.2, len(part)) if len(part) > 1 else np.zeros(1)
        colour, marker, filled = SECTION_STYLES.get(section, (FORM_COLOURS.get(form, "k"), "x", True))
        key = section if section in SECTION_STYLES else form
        label = None
        if key not in labelled:
            labelled.add(key)
            label = LEGEND_TEXT.get(key, f"{form}: never a guarantee")
        paint = {"color": colour} if filled else {"facecolors": "none", "edgecolors": colour}
        axis.scatter(part["ratio"], position + jitter, s=13, marker=marker, linewidths=0.9, label=label, **paint)
    axis.axvline(1.0, color="k", lw=0.8, ls="--")
    axis.set_xscale("log")
    axis.set_yticks(range(len(ticks)))
    axis.set_yticklabels([text for text, _, _ in ticks], fontsize=7)
    for label, (_, _, form) in zip(axis.get_yticklabels(), ticks, strict=True):
        if form is None:
            label.set_fontweight("bold")
            label.set_fontstyle("italic")
    axis.set_ylim(len(ticks) - 0.5, -0.5)
    # Plain numbers (2, 50, 1000) rather than 2 x 10^0: ratios span one to five decades here.
    plain_log_ticks(axis, "x")
    axis.tick_params(axis="x", labelsize=7)
    axis.set_xlabel("bound / measured on the test split (log scale; dashed: 1)")
    # Above the axes (inside the canvas), so no row is hidden.
    axis.legend(fontsize=6.5, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=2, frameon=False)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))

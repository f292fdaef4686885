"""Judging bounds against measurements, and the ``report.md`` a newcomer reads.

Definitions used in the tables and the report (one place, so the CSV and the text agree):

- ``guarantee``: the form is ``certified`` and every assumption was checked by code and held
  (``assumption_status == "satisfied"``). Only these rows are counted or drawn as certified
  guarantees; certified rows whose assumption failed or is unknown are counted and drawn apart
  (``SECTIONS``). ``COLUMN_MEANINGS`` defines every column in the report itself.
- ``holds``: ``measured <= value`` (the bound was not violated on these inputs).
- ``trivial``: the value any bound on that quantity gets for free, ``BoundResult.trivial`` as the
  statement's evaluator sets it (for a probabilistic bound the cap of the loss it is about, e.g. M of
  wang23's truncated VS loss or ELM's range B_y: a mean of values in [0, M] is <= M; 1 for a 0-1
  risk); unknown (nan) otherwise, and then non-vacuity is not judged.
- ``non_vacuous``: ``value < trivial`` (only where ``trivial`` is known).
- ``tight``: the bound holds and ``slack <= TIGHT_RELATIVE * max(|value|, |measured|)``, i.e. the
  bound is within 10% of what it bounds.
- Ranking: Kendall's tau (tau-b) between a bound's overall value and the measured balanced test
  error across checkpoints; +1 means the bound orders the checkpoints exactly as their error does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

TIGHT_RELATIVE = 0.10
# Bound ids of the rows ``ltbounds evaluate --certificates`` adds (evaluation.certificate_table): our PAC-Bayes
# certificates from ``ltbounds certify``, not statements of the seed papers (no errata entry, never in STATEMENTS).
CERTIFICATE_PREFIX = "pacbayes.balanced_"

# Balanced test accuracy (%) the papers report, for comparison (wang23 code README, ResNet-32,
# 200 epochs). Keyed by (dataset, imbalance).
REFERENCE_ACCURACY: dict[tuple[str, float], dict[str, float]] = {
    ("cifar10", 100.0): {"ce": 71.25, "ldam_drw": 77.97, "vs": 80.29, "vs_tla_adrw": 80.81},
    ("cifar100", 100.0): {"ce": 38.06, "ldam_drw": 42.73, "vs": 42.67, "vs_tla_adrw": 43.20},
}


# Every row of bounds.csv falls in exactly one of these, in this order in every table and figure: only the
# first one is a guarantee. A certified form whose assumption failed (e.g. wang23.*'s frozen_features on a
# network trained end to end) or was never checked promises nothing on these inputs.
SECTIONS = (
    ("guarantee", "certified guarantee (every assumption checked and held)"),
    ("certified_failed", "certified form, an assumption failed here: not a guarantee"),
    ("certified_unknown", "certified form, an assumption unknown (not checked): not a guarantee"),
    ("not_certified", "other forms (as printed, corrected, shape, diagnostic): never a guarantee"),
)
SECTION_TITLES = dict(SECTIONS)


def with_guarantee(bounds: pd.DataFrame) -> pd.DataFrame:
    """``bounds`` with ``assumption_status``, ``guarantee`` and ``section`` columns (see ``SECTIONS``).

    Tables written before ``assumption_status`` existed get it from ``valid`` (True -> satisfied,
    False -> failed), and ``guarantee`` = certified form and satisfied; nothing else is inferred.
    """
    frame = bounds.copy()
    if frame.empty:
        return frame.assign(assumption_status=pd.Series(dtype=str), guarantee=pd.Series(dtype=bool), section="")
    if "assumption_status" not in frame.columns:
        valid = frame["valid"].fillna(False).astype(bool) if "valid" in frame.columns else False
        frame["assumption_status"] = np.where(valid, "satisfied", "failed")
    frame["assumption_status"] = frame["assumption_status"].fillna("unknown").astype(str)
    certified = frame["form"].astype(str) == "certified"
    if "guarantee" in frame.columns:
        # CSVs store booleans as text; anything but a true value is not a guarantee.
        frame["guarantee"] = frame["guarantee"].map(lambda v: str(v).strip().lower() in ("true", "1", "1.0"))
    else:
        frame["guarantee"] = certified & (frame["assumption_status"] == "satisfied")
    frame["section"] = np.select(
        [
            frame["guarantee"].to_numpy(dtype=bool),
            (certified & (frame["assumption_status"] == "failed")).to_numpy(dtype=bool),
            certified.to_numpy(dtype=bool),
        ],
        ["guarantee", "certified_failed", "certified_unknown"],
        default="not_certified",
    )
    return frame


def classify_row(row: Mapping[str, Any], trivial: float | None) -> dict[str, Any]:
    """``trivial``, ``non_vacuous`` and ``tight`` of one evaluated bound row.

    ``trivial`` is the row's ``BoundResult.trivial`` (None, or not finite: unknown, reported as nan)."""
    value, measured = float(row["value"]), float(row["measured"])
    trivial = math.nan if trivial is None or not math.isfinite(float(trivial)) else float(trivial)
    non_vacuous = None if math.isnan(trivial) or math.isnan(value) else bool(value < trivial)
    tight = None
    if math.isfinite(value) and math.isfinite(measured):
        scale = max(abs(value), abs(measured))
        slack = value - measured
        tight = bool(slack >= -1e-12 * max(1.0, scale) and slack <= TIGHT_RELATIVE * scale)
    return {"trivial": trivial, "non_vacuous": non_vacuous, "tight": tight}


def kendall_tau_table(bounds: pd.DataFrame, checkpoints: pd.DataFrame) -> pd.DataFrame:
    """Kendall's tau-b between each overall bound (bound, form, split) and the balanced test error.

    Only rows with ``class == "all"`` and a finite value count; a bound needs finite values on at
    least two checkpoints. Columns: bound, form, split, checkpoints, tau, p_value.
    """
    from scipy.stats import kendalltau

    columns = ["bound", "form", "split", "checkpoints", "tau", "p_value"]
    if bounds.empty or len(checkpoints) < 2:
        return pd.DataFrame(columns=columns)
    error = checkpoints.set_index("checkpoint")["balanced_error"]
    overall = bounds[(bounds["class"].astype(str) == "all") & (bounds["status"] == "ok")]
    overall = overall[np.isfinite(overall["value"].astype(float))]
    rows = []
    for (bound, form, split), group in overall.groupby(["bound", "form", "split"], sort=True):
        per_checkpoint = group.groupby("checkpoint")["value"].first()
        errors = error.reindex(per_checkpoint.index)
        keep = np.isfinite(errors.to_numpy(dtype=float))
        if keep.sum() < 2:
            continue
        values, measured = per_checkpoint.to_numpy(dtype=float)[keep], errors.to_numpy(dtype=float)[keep]
        if np.ptp(values) == 0 or np.ptp(measured) == 0:
            tau, p_value = math.nan, math.nan
        else:
            result = kendalltau(values, measured)
            tau, p_value = float(result.statistic), float(result.pvalue)
        rows.append(
            {
                "bound": bound,
                "form": form,
                "split": split,
                "checkpoints": int(keep.sum()),
                "tau": tau,
                "p_value": p_value,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def bound_summary(bounds: pd.DataFrame) -> pd.DataFrame:
    """Per (bound, form): rows, valid, measured (rows with something to compare), holds, non-vacuous
    and tight counts, median value and median measured."""
    columns = [
        "bound",
        "kind",
        "form",
        "rows",
        "valid",
        "guarantee",
        "guarantee_holds",
        "guarantee_violated",
        "measured",
        "holds",
        "violated",
        "violated_valid",
        "non_vacuous",
        "known_trivial",
        "tight",
        "median_value",
        "median_measured",
        "assumptions_failed",
        "assumptions_unknown",
    ]
    ok = with_guarantee(bounds[bounds["status"] == "ok"])
    if ok.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (bound, form), group in ok.groupby(["bound", "form"], sort=True):
        holds = group["holds"].dropna().astype(bool)
        non_vacuous = group["non_vacuous"].dropna().astype(bool)
        tight = group["tight"].dropna().astype(bool)
        failed = _name_set(group, "assumptions_violated")
        unknown = _name_set(group, "assumptions_unknown")
        guarantee = group["guarantee"].astype(bool)
        rows.append(
            {
                "bound": bound,
                "kind": str(group["kind"].iloc[0]),
                "form": form,
                "rows": len(group),
                "valid": int(group["valid"].astype(bool).sum()),
                "guarantee": int(guarantee.sum()),
                "guarantee_holds": int((group["holds"].eq(True) & guarantee).sum()),
                "guarantee_violated": int((group["holds"].eq(False) & guarantee).sum()),
                "measured": len(holds),
                "holds": int(holds.sum()),
                "violated": int((~holds).sum()),
                "violated_valid": int((group["holds"].eq(False) & group["valid"].astype(bool)).sum()),
                "non_vacuous": int(non_vacuous.sum()),
                "known_trivial": len(non_vacuous),
                "tight": int(tight.sum()),
                "median_value": float(np.nanmedian(group["value"].astype(float))) if len(group) else math.nan,
                "median_measured": _nanmedian(group["measured"].astype(float)),
                "assumptions_failed": ", ".join(failed),
                "assumptions_unknown": ", ".join(unknown),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _name_set(group: pd.DataFrame, column: str) -> list[str]:
    if column not in group.columns:
        return []
    return sorted({name for text in group[column].fillna("") for name in str(text).split(";") if name})


def assumption_descriptions(bounds: pd.DataFrame) -> dict[str, str]:
    """Failed assumption name -> its description (the first one reported), from ``assumption_details``."""
    found: dict[str, str] = {}
    if "assumption_details" not in bounds.columns:
        return found
    for text in bounds["assumption_details"].dropna():
        for item in str(text).split(" | "):
            name, _, description = item.partition(": ")
            # "name (status): description" since assumptions may be unknown as well as failed.
            name = name.split(" (")[0]
            if name and description and name not in found:
                found[name] = description
    return found


def _nanmedian(values: pd.Series) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.median()) if len(finite) else math.nan


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "-"
    if number != 0 and (abs(number) >= 1e4 or abs(number) < 1e-3):
        return f"{number:.3g}"
    return f"{number:.4g}"


def _markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)\n"
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = [
        "| " + " | ".join(_number(v) if not isinstance(v, str) else v for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body]) + "\n"


FORM_MEANINGS = (
    "`certified`: every constant explicit and proven, a guarantee (with probability >= 1 - delta for a bound) "
    "**only where every assumption was checked and held** (`guarantee = True`); "
    "`as_printed`: the statement exactly as the paper prints it; `corrected`: our repaired statement where the "
    "printed one is false (see `ltbounds errata`); `shape`: the paper's rate without its constants, for ranking "
    "only; `diagnostic`: a heuristic consequence or reading of a statement, not the statement (a failing "
    "diagnostic never refutes the paper). Only `certified` rows can be guarantees."
)

# What every column of bounds.csv and of the tables below means (the report defines each one it shows).
COLUMN_MEANINGS = (
    ("checkpoint, method", "the model evaluated and the loss it was trained with"),
    ("bound", "the statement id (`ltbounds errata --id ID` for its verdict)"),
    ("form", "which version of the statement (see Forms above)"),
    ("kind", "`bound` (probabilistic, holds with probability >= 1 - delta), `inequality`, `identity` or `symbolic`"),
    ("class", "the class the row is about; `all` = every class at once"),
    ("split", "the split the value was computed on"),
    ("value / measured", "the bound's value and the quantity it bounds; each row states `measured <= value`"),
    ("slack", "value - measured"),
    ("valid", "every assumption of the statement was checked by code on these inputs and held"),
    (
        "assumption_status",
        "`satisfied` (all checked and held), `failed` (one was checked and does not hold), `unknown` "
        "(one was not checked by code: nothing is claimed about it)",
    ),
    ("guarantee", "form `certified` and assumption_status `satisfied`: the only rows that count as guarantees"),
    ("assumptions_violated / assumptions_unknown", "the names of the failed / unchecked assumptions"),
    ("holds", "measured <= value (empty where nothing was measured)"),
    ("trivial", "the value any bound on that quantity gets for free (1 for a 0-1 risk, the loss cap M)"),
    ("non_vacuous", "value < trivial (only where `trivial` is known)"),
    ("tight", f"holds and value - measured <= {TIGHT_RELATIVE:.0%} of max(|value|, |measured|)"),
    (
        "status",
        "`ok`; `non_finite` (value NaN/inf or measured inf: not judged, listed below); `not_applicable`; `error`",
    ),
    ("rows / measured", "in the tables below: rows of that (bound, form), and those with a measured counterpart"),
    ("violated / guarantee_holds / guarantee_violated", "rows with measured > value; the same among guarantee rows"),
    ("known_trivial", "rows whose trivial value is known (the denominator of `non_vacuous`)"),
)
LONG_TABLE = 12


def _names(frame: pd.DataFrame, extra: str | None = None) -> str:
    if frame.empty:
        return "none"
    parts = []
    for row in frame.itertuples(index=False):
        suffix = f": {getattr(row, extra)} row(s)" if extra else ""
        parts.append(f"`{row.bound}` ({row.form}{suffix})")
    return ", ".join(parts)


def summary_lines(bounds: pd.DataFrame) -> list[str]:
    """The report's opening bullets: what is a guarantee and holds, what is vacuous, violated, not a guarantee."""
    summary = bound_summary(bounds)
    lines: list[str] = []
    if summary.empty:
        return ["- No statement produced a result on these inputs."]
    rows = int(summary["rows"].sum())
    guarantees = summary[summary["guarantee"] > 0]
    count = int(summary["guarantee"].sum())
    held = int(summary["guarantee_holds"].sum())
    broken = summary[summary["guarantee_violated"] > 0]
    lines.append(
        f"- **Certified guarantees**: {count} of {rows} rows (form `certified`, every assumption checked and held): "
        + (_names(guarantees, "guarantee") if count else "none")
        + f". Held on {held} of the {int((summary['guarantee_holds'] + summary['guarantee_violated']).sum())} "
        "that have a measured counterpart"
        + (
            "; **violated** on " + _names(broken, "guarantee_violated") + " (a bug, or a 1-in-1/delta event)."
            if not broken.empty
            else "; none violated."
        )
    )
    lines += _certificate_lines(bounds)
    certified = summary[summary["form"] == "certified"]
    not_guaranteed = certified[certified["rows"] > certified["guarantee"]]
    if not not_guaranteed.empty:
        parts = []
        for row in not_guaranteed.itertuples(index=False):
            why = [f"failed: {row.assumptions_failed}"] if row.assumptions_failed else []
            why += [f"not checked: {row.assumptions_unknown}"] if row.assumptions_unknown else []
            parts.append(f"`{row.bound}` ({row.rows - row.guarantee} of {row.rows} rows; {'; '.join(why) or '-'})")
        lines.append(
            "- **Certified forms that are not guarantees here** (an assumption failed or was not checked, so the "
            "certificate does not apply to these models; drawn and counted apart): " + ", ".join(parts) + "."
        )
    lines.append(
        "- **Not guarantees by their form**: "
        f"{int(summary.loc[summary['form'] != 'certified', 'rows'].sum())} rows in `as_printed`, `corrected`, "
        "`shape` or `diagnostic` forms (they test the papers' statements; see the errata for their verdicts)."
    )
    lines.append(
        "- **Non-vacuous** (below the trivial value, e.g. < 1 for a 0-1 risk or < M for a loss capped at M) "
        "in at least one row: " + _names(summary[summary["non_vacuous"] > 0]) + "."
    )
    vacuous = summary[(summary["known_trivial"] > 0) & (summary["non_vacuous"] == 0)]
    lines.append("- **Vacuous** in every row whose trivial value is known: " + _names(vacuous) + ".")
    bounds_only = summary[summary["kind"] == "bound"]
    lines.append(
        f"- **Tight** probabilistic bounds (hold, within {TIGHT_RELATIVE:.0%} of the measured value) in at least "
        "one row: " + _names(bounds_only[bounds_only["tight"] > 0]) + "."
    )
    violated = summary[summary["violated"] > 0]
    by_form = [
        f"{form}: " + ", ".join(f"`{row.bound}` ({row.violated})" for row in rows.itertuples(index=False))
        for form, rows in violated.groupby("form", sort=True)
    ]
    lines.append(
        "- **Violated** (measured > value; rows in brackets) in at least one row: "
        + ("; ".join(by_form) or "none")
        + ". Where a printed statement fails, the errata verdict is quoted below."
    )
    non_finite = bounds[bounds["status"].astype(str) == "non_finite"]
    if not non_finite.empty:
        lines.append(
            f"- **Non-finite**: {len(non_finite)} row(s) with a NaN or infinite value or measurement, not judged "
            "(listed under 'Non-finite rows')."
        )
    return lines


def _certificate_lines(bounds: pd.DataFrame) -> list[str]:
    """The summary bullet of the certificates read from ``ltbounds certify`` (balanced rows), if any."""
    rows = bounds[
        bounds["bound"].astype(str).str.startswith(CERTIFICATE_PREFIX)
        & (bounds["class"].astype(str) == "all")
        & (bounds["status"].astype(str) == "ok")
    ]
    if rows.empty:
        return []
    rows = with_guarantee(rows)
    parts = []
    for bound, group in rows.groupby("bound", sort=True):
        value, measured = group["value"].astype(float), group["measured"].astype(float)
        parts.append(
            f"`{bound}` {_number(float(value.median()))} vs measured {_number(float(measured.median()))} "
            f"(median over {len(group)} checkpoint(s); {int(group['guarantee'].sum())} guarantee(s))"
        )
    return [
        "- **PAC-Bayes certificates** of the balanced error (ours, from `ltbounds certify`; not seed statements, "
        "no errata entry; measured = balanced test error of the same stochastic predictor): " + ", ".join(parts) + "."
    ]


def build_report(
    bounds: pd.DataFrame,
    per_class: pd.DataFrame,
    checkpoints: pd.DataFrame,
    *,
    delta: float,
    heldout: str,
) -> str:
    """The text of ``report.md``: a short summary first, then the checkpoints, then each bound in plain words."""
    lines = ["# Bounds vs measured risk", ""]
    used = sorted(set(checkpoints["heldout_split"].dropna())) if "heldout_split" in checkpoints else [heldout]
    certified_on = " / ".join(f"`{split}`" for split in used) or f"`{heldout}`"
    same_sample = (
        " Where that is the test split, the bound is computed from the same sample its measured risk comes "
        "from, so `holds` says little there: prefer a validation split (`--heldout val`)."
        if "test" in used
        else ""
    )
    summary = bound_summary(bounds)
    lines.append(
        f"{len(checkpoints)} checkpoint(s), every statement of the registry, delta = {delta:g}. Full tables: "
        "`bounds.csv` (one row per checkpoint, statement, form and class), `per_class.csv`, `checkpoints.csv`; "
        "every column is defined under 'Columns' below."
    )
    lines += ["", "## In short", ""]
    lines += summary_lines(bounds)
    lines += [
        "",
        f"Probabilistic bounds hold with probability >= {1 - delta:g}. Fixed-model bounds are certified on the "
        f"{certified_on} split; measured risks come from the balanced test split.{same_sample} Each row of "
        "`bounds.csv` states `measured <= value` for one checkpoint, statement, form and class (`all` = every "
        "class at once); `per_class.csv` holds B_y(f), margins, variances and Omega_pull per class.",
    ]
    lines += ["", "Forms: " + FORM_MEANINGS]
    lines += ["", "## Checkpoints", ""]
    lines += _checkpoint_lines(checkpoints)
    lines.append(
        "Balanced error = 1 - mean per-class accuracy on the balanced test split; Many/Medium/Few = classes "
        "with > 100 / 20-100 / < 20 training samples."
    )
    lines += _reference_lines(checkpoints)

    if not summary.empty:
        table_columns = [
            "bound", "form", "rows", "valid", "guarantee", "measured", "holds", "tight", "median_value",
            "median_measured",
        ]  # fmt: skip
        probabilistic = summary[summary["kind"] == "bound"]
        if not probabilistic.empty:
            lines += ["", "## Generalisation bounds", ""]
            lines.append(
                "Per statement and form, counts of rows (columns defined under 'Columns'); `guarantee` counts the "
                "rows that are certified guarantees, `holds` is out of `measured`."
            )
            lines += [
                "",
                _markdown_table(
                    probabilistic[table_columns[:8] + ["non_vacuous", "known_trivial"] + table_columns[8:]]
                ),
            ]
        deterministic = summary[summary["kind"] != "bound"]
        if not deterministic.empty:
            lines += ["", "## Inequalities and identities", ""]
            lines.append(
                "Deterministic statements checked on these outputs (`holds` out of `measured`, the rows that "
                "have a measured counterpart; the other rows report a value only)."
            )
            lines += ["", _markdown_table(deterministic[table_columns])]

    lines += _errata_lines(summary)

    lines += ["", "## Ranking the checkpoints", ""]
    if len(checkpoints) < 2:
        lines.append("One checkpoint: ranking needs at least two (pass several to `ltbounds evaluate`).")
    else:
        taus = kendall_tau_table(bounds, checkpoints)
        if taus.empty:
            lines.append("No overall bound had finite values on two or more checkpoints.")
        else:
            lines.append(
                "Kendall's tau between each overall bound and the measured balanced test error across checkpoints "
                "(+1: the bound orders the checkpoints as their error does, -1: reversed, `-`: constant)."
            )
            same = taus[taus["tau"] >= 1.0 - 1e-12]
            listed = ", ".join(f"`{r.bound}` ({r.form}, {r.split or 'no split'})" for r in same.itertuples(index=False))
            lines.append("Same order as the measured error: " + (listed or "none") + ".")
            if len(checkpoints) < 4:
                lines.append(
                    f"With {len(checkpoints)} checkpoints tau can only take a few values (+-1 for two): "
                    "compare more checkpoints before trusting a ranking (see `p_value`)."
                )
            lines += ["", _markdown_table(taus)]

    lines += ["", "## Assumptions that failed or were not checked", ""]
    failed = (
        summary[(summary["assumptions_failed"] != "") | (summary["assumptions_unknown"] != "")]
        if not summary.empty
        else summary
    )
    if failed.empty:
        lines.append("Every evaluated row met its statement's assumptions, each checked by code.")
    else:
        lines.append(
            "A row whose assumption failed (`valid = False`) or was not checked (`assumption_status = unknown`) is "
            "not a guarantee for these inputs, whatever its form."
        )
        lines.append("")
        for row in failed.itertuples(index=False):
            why = [f"failed: {row.assumptions_failed}"] if row.assumptions_failed else []
            why += [f"unknown: {row.assumptions_unknown}"] if row.assumptions_unknown else []
            lines.append(
                f"- `{row.bound}` ({row.form}): {row.assumptions_failed or row.assumptions_unknown} "
                f"({'; '.join(why)}; {row.rows - row.valid} of {row.rows} row(s) not valid)"
            )
        details = assumption_descriptions(bounds)
        if details:
            lines += ["", "What these assumptions say:", ""]
            lines += [f"- `{name}`: {text}" for name, text in sorted(details.items())]

    non_finite = bounds[bounds["status"].astype(str) == "non_finite"]
    if not non_finite.empty:
        lines += ["", "## Non-finite rows", ""]
        lines.append(
            f"{len(non_finite)} row(s) whose value is NaN or infinite, or whose measured side is infinite (an "
            "overflow or a degenerate input): not counted as holding, violated or a guarantee."
        )
        lines.append("")
        shown = non_finite[["checkpoint", "bound", "form", "class", "value", "measured", "note"]].astype(str)
        lines.append(_markdown_table(shown.head(LONG_TABLE)))
        if len(non_finite) > LONG_TABLE:
            lines.append(f"... and {len(non_finite) - LONG_TABLE} more: `bounds.csv`, `status == non_finite`.")

    skipped = bounds[~bounds["status"].astype(str).isin(["ok", "non_finite"])]
    lines += ["", "## Statements not evaluated", ""]
    if skipped.empty:
        lines.append("Every statement of the registry produced results.")
    else:
        lines.append(
            f"{int((skipped['status'] == 'not_applicable').sum())} row(s) not applicable to these inputs, "
            f"{int((skipped['status'] == 'error').sum())} evaluator error(s):"
        )
        for row in skipped.drop_duplicates(["bound", "note"]).itertuples(index=False):
            lines.append(f"- `{row.bound}` [{row.status}]: {row.note}")

    lines += ["", "## Columns", ""]
    lines += [f"- `{name}`: {meaning}" for name, meaning in COLUMN_MEANINGS]
    lines.append("")
    return "\n".join(lines)


def _checkpoint_lines(checkpoints: pd.DataFrame) -> list[str]:
    """The checkpoints table, or per method (mean and spread over its checkpoints) when it is long."""
    columns = ["checkpoint", "method", "balanced_error", "many_accuracy", "medium_accuracy", "few_accuracy"]
    if checkpoints.empty or not set(columns) <= set(checkpoints.columns):
        return [_markdown_table(checkpoints)]
    if len(checkpoints) <= LONG_TABLE:
        return [_markdown_table(checkpoints[columns])]
    keys = [c for c in ("dataset", "method") if c in checkpoints.columns]
    frame = checkpoints.assign(dataset=checkpoints.get("dataset", pd.Series(dtype=str)).fillna("-"))
    grouped = frame.groupby(keys, sort=False).agg(
        checkpoints=("checkpoint", "size"),
        balanced_error=("balanced_error", "mean"),
        balanced_error_sd=("balanced_error", "std"),
        many_accuracy=("many_accuracy", "mean"),
        medium_accuracy=("medium_accuracy", "mean"),
        few_accuracy=("few_accuracy", "mean"),
    )
    return [
        f"{len(checkpoints)} checkpoints, summarised per {' and '.join(keys)} (mean over the checkpoints, `_sd` "
        "their standard deviation); one row per checkpoint in `checkpoints.csv`.",
        "",
        _markdown_table(grouped.reset_index()),
    ]


def _errata_lines(summary: pd.DataFrame) -> list[str]:
    """For each statement violated on these inputs: the errata registry's verdict and its correction."""
    if summary.empty:
        return []
    violated = summary[summary["violated"] > 0]
    if violated.empty:
        return []
    try:
        from ltbounds.errata import REGISTRY
    except ImportError:  # pragma: no cover - the registry ships with the package
        return []
    lines = ["", "## Violated here: what the errata registry says", ""]
    for bound, rows in violated.groupby("bound", sort=False):
        on_valid = int(rows["violated_valid"].sum())
        where = (
            f"violated on {on_valid} row(s) whose assumptions all held"
            if on_valid
            else "violated only on rows where an assumption failed"
        )
        if str(bound).startswith(CERTIFICATE_PREFIX):  # ours, not a seed statement: no errata entry to quote
            lines.append(
                f"- `{bound}`: {where}; our certificate (`ltbounds certify`), not a seed statement. Where its "
                "assumptions held this is a 1-in-1/delta event, the test set's sampling error (measured is itself "
                "an estimate), or a bug: please report it"
            )
            continue
        entry = REGISTRY.get(bound)
        if entry is None:
            verdict = "no errata entry"
        else:
            corrected = f", corrected by `{entry.corrected_by}`" if getattr(entry, "corrected_by", None) else ""
            verdict = f"errata verdict **{entry.verdict}**{corrected} (`ltbounds errata --id {bound}`)"
        alarm = (
            " -- unexpected for a statement believed true: please report it"
            if on_valid and (entry is None or entry.verdict == "holds")
            else ""
        )
        lines.append(f"- `{bound}`: {where}; {verdict}{alarm}")
    return lines


def _reference_lines(checkpoints: pd.DataFrame) -> list[str]:
    for row in checkpoints.itertuples(index=False):
        try:
            key = (str(row.dataset), float(row.imbalance))
        except (TypeError, ValueError, AttributeError):
            continue
        reference = REFERENCE_ACCURACY.get(key)
        if reference:
            listed = ", ".join(f"{m} {a:.2f}%" for m, a in reference.items())
            return [
                "",
                f"For comparison, the papers' balanced test accuracy on {key[0]}-LT rho = {key[1]:g} "
                f"(ResNet-32, 200 epochs; Wang et al. 2023): {listed}.",
            ]
    return []

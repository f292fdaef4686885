"""The demo: theory against practice on the embedded default, end to end, in minutes on a CPU.

``ltbounds demo`` (``make demo``):

1. trains six contrasting methods (CE, LA, LDAM-DRW, VS+TLA+ADRW, ELM, DRO-LT) with a small MLP on
   MNIST-5k made long-tailed (rho = 100) and on the Gaussian mixture (rho = 100);
2. evaluates every bound of ``ltbounds.statements.STATEMENTS`` on every checkpoint
   (``ltbounds.evaluation``: certified on the balanced validation split, measured on the test split);
3. runs the quick ``coverage``, ``sharpness`` and ``certificates`` studies (sharpness also on these
   checkpoints; certificates: PAC-Bayes balanced-error certificates of pbb runs, issue 12);
4. draws the figures and writes ``report.md``, the CSVs and ``manifest.json`` under ``results/demo/``.

``ltbounds.commands.demo.run_demo`` (the top layer) runs these steps and draws the figures; this module
is the study of step 1 (``ltbounds study demo`` runs it alone: one run per (dataset, method, seed), rows =
the final balanced / Many / Medium / Few test accuracy and per-class accuracy) and writes the report's text
(``report_text``). It never imports ``paper_figures``: studies write files, figures read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studies.runner import Run, StudyContext
from studies.training_runs import GROUP_ACCURACIES, accuracy_rows, dataset, final_metrics, train_once

NAME = "demo"
QUESTION = "Six long-tail methods on MNIST-5k-LT and a Gaussian mixture: accuracy, bounds, coverage, sharpness."
FIGURES = ("demo_accuracy", "demo_bounds")
METHODS = ("ce", "la", "ldam_drw", "vs_tla_adrw", "elm", "dro_lt")


@dataclass(frozen=True)
class DemoData:
    name: str
    imbalance: float = 100.0
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name}_rho{self.imbalance:g}"


@dataclass(frozen=True)
class Settings:
    datasets: tuple[DemoData, ...] = (
        DemoData("mnist5k", 100.0),
        DemoData("gaussian", 100.0, (("classes", 10), ("dim", 16))),
    )
    methods: tuple[str, ...] = METHODS
    epochs: int = 30
    model: str = "mlp"
    hidden: tuple[int, ...] = (128, 64)
    lr: float = 0.1
    batch_size: int = 128
    delta: float = 0.05
    heldout: str = "val"
    seeds: tuple[int, ...] = (0,)
    studies: tuple[str, ...] = ("coverage", "sharpness", "certificates")
    study_overrides: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = field(default_factory=tuple)


QUICK = Settings(seeds=(0, 1, 2))
FULL = Settings(epochs=100, seeds=(0, 1, 2, 3, 4))


def runs(settings: Settings) -> list[Run]:
    return [
        Run(
            f"{data.label}_{method}_s{seed}",
            {"dataset": data.name, "imbalance": data.imbalance, "method": method, "seed": seed},
        )
        for data in settings.datasets
        for method in settings.methods
        for seed in settings.seeds
    ]


def training_directory(context_directory: Path, run: Run) -> Path:
    return context_directory / "training" / run.key


def execute(run: Run, settings: Settings, context: StudyContext) -> list[dict]:
    data_spec = next(d for d in settings.datasets if d.name == run.params["dataset"])
    data = dataset(data_spec.name, data_spec.imbalance, run.params["seed"], dict(data_spec.options), context.data_root)
    trained = train_once(
        training_directory(context.directory, run),
        data=data,
        method=run.params["method"],
        dataset=data_spec.name,
        imbalance=data_spec.imbalance,
        seed=run.params["seed"],
        dataset_options=dict(data_spec.options),
        epochs=settings.epochs,
        model=settings.model,
        model_options={"hidden": list(settings.hidden)},
        lr=settings.lr,
        batch_size=settings.batch_size,
        data_root=context.data_root,
    )
    metrics = final_metrics(trained)
    wall = max((m.get("wall_time_s") or 0.0) for m in trained.metrics) if trained.metrics else math.nan
    rows = [{"quantity": "checkpoint", "value": math.nan, "note": str(trained.checkpoint)}]
    rows += accuracy_rows(metrics, (*GROUP_ACCURACIES, "val_balanced_accuracy", "train_balanced_accuracy"))
    rows.append({"quantity": "train_wall_time_s", "value": float(wall)})
    counts = np.asarray(data.class_counts)
    for y, accuracy in enumerate(metrics.get("test_per_class_accuracy") or []):
        rows.append(
            {
                "quantity": "test_class_accuracy",
                "class": y,
                "class_count": int(counts[y]),
                "value": math.nan if accuracy is None else float(accuracy),
            }
        )
    return rows


def summarize(table: pd.DataFrame, settings: Settings) -> dict[str, pd.DataFrame]:
    wanted = [
        "test_balanced_accuracy",
        "test_many_accuracy",
        "test_medium_accuracy",
        "test_few_accuracy",
        "train_wall_time_s",
    ]
    part = table[table["quantity"].isin(wanted)]
    if part.empty:
        return {}
    wide = part.pivot_table(index=["dataset", "method"], columns="quantity", values="value", aggfunc=["mean", "std"])
    out = pd.DataFrame(index=wide.index)
    for key in wanted:
        out[key] = wide[("mean", key)] if ("mean", key) in wide.columns else np.nan
        if key != "train_wall_time_s":
            out[f"{key}_std"] = wide[("std", key)] if ("std", key) in wide.columns else np.nan
    out["seeds"] = len(settings.seeds)
    order = {m: i for i, m in enumerate(settings.methods)}
    out = out.reset_index().sort_values(["dataset", "method"], key=lambda c: c.map(order) if c.name == "method" else c)
    return {"accuracy": out.reset_index(drop=True)}


# --- the demo's report (ltbounds.commands.demo runs the demo and calls report_text) -------------------


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-markdown table of ``frame`` (no extra dependency)."""
    if frame.empty:
        return "(no rows)\n"

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |\n"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|\n"
    body = "".join("| " + " | ".join(cell(v) for v in row) + " |\n" for row in frame.itertuples(index=False))
    return header + rule + body


def report_text(directory, settings, training, evaluation, study_results, figures, missing) -> str:
    """The demo's ``report.md``: accuracy, bounds, coverage, sharpness, the figures drawn and what is missing.

    It reads the tables the steps wrote; ``figures`` are the paths the top layer drew (this module draws none:
    studies write files, figures read them)."""
    lines = ["# ltbounds demo: theory against practice\n"]
    lines.append(
        f"Methods {', '.join(settings.methods)} trained with an MLP {list(settings.hidden)} for {settings.epochs} "
        f"epochs (seed(s) {list(settings.seeds)}) on "
        + ", ".join(f"{d.name} (rho = {d.imbalance:g})" for d in settings.datasets)
        + f". Bounds at delta = {settings.delta}, certified on the balanced `{settings.heldout}` split, measured "
        "on the balanced test split. Last-epoch numbers (no best-epoch selection on the test set).\n"
    )
    accuracy = training.summaries.get("accuracy")
    lines += _in_short(accuracy, evaluation, study_results.get("coverage"))
    lines.append("## Balanced test accuracy (Many / Medium / Few: > 100, 20-100, < 20 training samples)\n")
    if accuracy is not None:
        columns = [
            "dataset",
            "method",
            "test_balanced_accuracy",
            "test_balanced_accuracy_std",
            "test_many_accuracy",
            "test_medium_accuracy",
            "test_few_accuracy",
            "train_wall_time_s",
        ]
        lines.append(markdown_table(accuracy[[c for c in columns if c in accuracy.columns]]))
        lines.append(
            f"Mean over seeds {list(settings.seeds)} (`_std`: standard deviation across them); "
            "table: `accuracy.csv` (per seed and per class: `demo.csv`).\n"
        )
    lines.append("## Bounds on the checkpoints\n")
    if evaluation is not None:
        lines.append(_bounds_excerpt(evaluation.bounds))
        lines.append(
            "Full tables: `evaluation/bounds.csv`, `evaluation/per_class.csv`; the evaluator's own "
            "report: `evaluation/report.md`.\n"
        )
    else:
        lines.append("Not evaluated (see Missing below).\n")
    lines.append("## Coverage: how often do the bounds fail on fresh training sets?\n")
    summary = _study_summary(study_results, "coverage")
    if summary is not None:
        lines.append(markdown_table(coverage_digest(summary)))
        lines.append(
            f"One row per statement and form, summarising {int((summary['runs'] > 0).sum())} rows of "
            "`coverage/coverage_summary.csv` (every population and class; rows whose assumptions never held on "
            "these data are in the CSV only). `rows`: (population, class) rows; `runs`: training sets per row; "
            "`worst_*`: the row furthest above the level it promises (`worst_at`: its population and class), with "
            "its violation fraction and 95% Clopper-Pearson upper limit; `promised_level`: delta, or delta/C per "
            "class; `exceeding`: rows whose whole interval lies above their level (`verdict` EXCEEDS). Population "
            "`C{classes}_d{dim}_rho{rho}_n{n_max}`: Gaussian class-conditionals, linear head fitted with the "
            f"logit-adjusted loss. Delta = {summary['delta'].iloc[0]}: a certified bound may fail in at most that "
            "fraction of training sets; the other forms promise nothing.\n"
        )
    else:
        lines.append("No coverage summary (see Missing below).\n")
    sharp = study_results.get("sharpness")
    lines.append("## Sharpness: union bound vs data-dependent contraction (Wang et al. Prop. 2)\n")
    summary = _study_summary(study_results, "sharpness")
    if summary is not None:
        lines.append(markdown_table(summary))
        lines.append(
            "`ratio` = contraction complexity term / union complexity term with mu_y ~ N_y^-kappa (what Prop. 2 "
            "compares); SymPy's closed form for two classes: (1 + rho^(1/2 - kappa)) / (1 + rho^(-1/2)) < 1 iff "
            "kappa > 1. `ratio_certified_bound` compares the whole certified bounds (`wang23.contraction_bound` / "
            "`wang23.union_bound`, zero empirical risk): the factor 1/(C pi_C) on the confidence term can outweigh "
            "the gain in the complexity term. The checkpoint rows use Lemma 4's mu_y read off each trained model "
            "(`fitted_kappa`: minus the slope of log mu_y on log N_y).\n"
        )
        checkpoint_rows = sharp.table[(sharp.table.get("part") == "checkpoint")] if "part" in sharp.table else None
        if checkpoint_rows is not None and not checkpoint_rows.empty:
            fitted = checkpoint_rows[checkpoint_rows["quantity"].isin(["fitted_kappa", "ratio"])]
            wide = fitted.pivot_table(index=["run", "method"], columns="quantity", values="value").reset_index()
            lines.append("On the demo's checkpoints (mu_y of Lemma 4 from B_y(f)):\n")
            lines.append(markdown_table(wide))
    certificates = study_results.get("certificates")
    if certificates is not None and not certificates.table.empty:
        lines.append("## PAC-Bayes balanced-error certificates from training data alone (issue 12)\n")
        table = certificates.table
        balanced = table[table["class"].astype(str) == "balanced"]
        columns = ["model", "imbalance", "seed", "form", "n_bound", "kl", "certificate", "measured_test_error"]
        lines.append(markdown_table(balanced[columns].reset_index(drop=True)))
        lines.append(
            "`pbb` runs: prior trained on half of the training set (S_prior), posterior trained and certified on the "
            "other half (S_bound); each certificate holds w.p. >= 0.95. `measured_test_error`: the balanced test error "
            "of the same stochastic predictor (the full setting: `ltbounds study "
            "certificates`).\n"
        )
    lines.append("## Figures\n")
    lines += [f"- `{p.relative_to(directory)}`" for p in figures]
    lines.append("")
    lines.append("## Missing\n")
    lines += [f"- {m}" for m in missing] or ["Nothing: every step ran."]
    lines.append("")
    return "\n".join(lines) + "\n"


def _study_summary(study_results: dict, name: str) -> pd.DataFrame | None:
    """The ``<name>_summary`` table of a quick study the demo ran; None when it did not run or has none."""
    result = study_results.get(name)
    return None if result is None else result.summaries.get(f"{name}_summary")


def _bounds_excerpt(bounds: pd.DataFrame) -> str:
    # Probabilistic bounds only: the inequalities and identities (dozens of rows) are in evaluation/report.md.
    ok = bounds[(bounds["status"] == "ok") & (bounds["class"].astype(str) == "all") & (bounds["kind"] == "bound")]
    if ok.empty:
        return "No bound produced a value (see `evaluation/bounds.csv`, column `note`).\n"
    from ltbounds.report import SECTIONS, with_guarantee

    ok = with_guarantee(ok)
    table = ok.groupby(["bound", "form"], as_index=False).agg(
        checkpoints=("checkpoint", "nunique"),
        median_value=("value", "median"),
        median_measured=("measured", "median"),
        holds=("holds", _holds_count),
        valid=("valid", lambda v: f"{int(v.astype(bool).sum())}/{len(v)}"),
        guarantee=("guarantee", lambda v: f"{int(v.sum())}/{len(v)}"),
        assumptions=("assumption_status", _status_counts),
        order=("section", lambda v: min(i for i, (key, _) in enumerate(SECTIONS) if key in set(v))),
    )
    table = table.sort_values(["order", "bound", "form"]).drop(columns="order")
    return markdown_table(table) + (
        "\nProbabilistic generalisation bounds, overall (class = all) rows, certified guarantees first (every other "
        "statement: `evaluation/report.md`). `guarantee`: rows that are certified guarantees "
        "(form `certified` and every assumption checked by code and held), out of all; `valid`: rows whose every "
        "assumption was checked and held, whatever the form; `assumptions`: how many rows had their assumptions "
        "`satisfied`, `failed` (checked, does not hold) or `unknown` (not checked); `holds`: rows with measured <= "
        "bound, out of the rows where something was measured (`not measured`: no measured counterpart here); "
        "`median_value` / `median_measured`: over the checkpoints.\n"
    )


def _status_counts(values: pd.Series) -> str:
    counts = values.value_counts()
    return ", ".join(f"{name} {int(counts[name])}" for name in ("satisfied", "failed", "unknown") if name in counts)


def coverage_digest(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per (statement, form) of a coverage summary: its worst (population, class) row and counts.

    Worst = largest ``violation_fraction - promised_level`` (ties: largest upper limit); ``exceeding`` counts
    rows whose verdict is "EXCEEDS its level". Certified forms first. Rows with no run are left out."""
    columns = [
        "statement", "form", "rows", "runs", "worst_violation_fraction", "worst_ci_high", "worst_at",
        "promised_level", "exceeding",
    ]  # fmt: skip
    shown = summary[summary["runs"] > 0]
    if shown.empty:
        return pd.DataFrame(columns=columns)
    shown = shown.assign(excess=shown["violation_fraction"].astype(float) - shown["promised_level"].astype(float))
    rows = []
    for (statement, form), group in shown.groupby(["statement", "form"], sort=True):
        worst = group.sort_values(["excess", "ci_high"], ascending=False, kind="stable").iloc[0]
        runs = sorted({int(r) for r in group["runs"]})
        rows.append(
            {
                "statement": statement,
                "form": form,
                "rows": len(group),
                "runs": str(runs[0]) if len(runs) == 1 else f"{runs[0]}-{runs[-1]}",
                "worst_violation_fraction": float(worst["violation_fraction"]),
                "worst_ci_high": float(worst["ci_high"]),
                "worst_at": f"{worst['population']} class {worst['class']}",
                "promised_level": float(worst["promised_level"]),
                "exceeding": int((group["verdict"].astype(str) == "EXCEEDS its level").sum()),
            }
        )
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("form", key=lambda f: f != "certified", kind="stable").reset_index(drop=True)


def _in_short(accuracy: pd.DataFrame | None, evaluation: Any, coverage: Any) -> list[str]:
    """The demo report's opening summary: accuracy, what the bounds guarantee, coverage; links to the tables."""
    lines = ["## In short\n"]
    if accuracy is not None and not accuracy.empty:
        for dataset, rows in accuracy.groupby("dataset", sort=False):
            ranked = rows.sort_values("test_balanced_accuracy", ascending=False)
            best, worst = ranked.iloc[0], ranked.iloc[-1]
            lines.append(
                f"- **{dataset}**: best balanced test accuracy {best['method']} "
                f"{best['test_balanced_accuracy']:.3f}, lowest {worst['method']} {worst['test_balanced_accuracy']:.3f} "
                "(`accuracy.csv`)."
            )
    if evaluation is not None:
        from ltbounds.report import summary_lines

        lines += summary_lines(evaluation.bounds)
        lines.append("- Bound tables: `evaluation/bounds.csv` (every row), `evaluation/report.md` (per statement).")
    if coverage is not None and "coverage_summary" in coverage.summaries:
        summary = coverage.summaries["coverage_summary"]
        certified = summary[(summary["runs"] > 0) & (summary["form"] == "certified")]
        exceeding = certified[certified["verdict"].astype(str) == "EXCEEDS its level"]
        lines.append(
            f"- **Coverage** on fresh Gaussian training sets: {len(certified) - len(exceeding)} of {len(certified)} "
            "certified (population, class) rows fail no more often than they promise"
            + (
                "; exceeding: " + ", ".join(sorted({f"`{s}`" for s in exceeding["statement"]}))
                if not exceeding.empty
                else ""
            )
            + " (`coverage/coverage_summary.csv`)."
        )
    lines.append("")
    return lines


def _holds_count(values: pd.Series) -> str:
    measured = values.dropna().astype(bool)
    return f"{int(measured.sum())}/{len(measured)}" if len(measured) else "not measured"

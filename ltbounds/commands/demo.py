"""Run the main job on the embedded default (make demo): train, evaluate, study, plot, report.

Trains six contrasting long-tail methods (CE, LA, LDAM-DRW, VS+TLA+ADRW, ELM, DRO-LT) with a small
MLP on MNIST-5k made long-tailed (rho = 100) and on a Gaussian mixture, evaluates every bound on
every checkpoint, runs the quick coverage and sharpness studies, and writes results/demo/
(report.md, CSVs, figures, manifest.json). A few minutes on 2 CPU cores; finished steps are reused
when run again.

The orchestration lives here, in the top layer: ``studies.demo`` trains and writes tables, the studies
write theirs, ``paper_figures`` reads them, and ``studies.demo.report_text`` writes the report.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ltbounds.commands.cpu_threads import add_threads_argument, apply_threads

if TYPE_CHECKING:  # studies and pandas are imported when the demo runs, so `ltbounds --help` stays fast
    import pandas as pd

    from studies.demo import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="results/demo", help="where the demo writes (default results/demo)")
    parser.add_argument(
        "--data-root", default=None, help="folder with local datasets (default: none; not needed by the demo)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_threads_argument(parser)


def run(args: argparse.Namespace) -> int:
    apply_threads(args)
    result = run_demo(
        args.out, data_root=args.data_root, progress=not args.no_progress, command=f"ltbounds demo --out {args.out}"
    )
    print(f"\nltbounds demo: finished in {result.timings['total_s']:.0f} s")
    if result.missing:
        print(f"  {len(result.missing)} step(s) could not run; they are listed in the report:")
        for piece in result.missing[:8]:
            print(f"  - {piece[:160]}")
    print(f"  figures: {result.directory / 'figures'}")
    print(f"  report:  {result.report}")
    return 0


@dataclass(frozen=True)
class DemoResult:
    directory: Path
    report: Path
    figures: list[Path]
    timings: dict[str, float]
    missing: list[str]


def _say(message: str, progress: bool) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def run_demo(
    out: str | Path = "results/demo",
    settings: Settings | None = None,
    *,
    data_root: str | None = None,
    progress: bool = True,
    command: str | None = "ltbounds demo",
) -> DemoResult:
    """Everything the demo does (see the module docstring); ``settings`` default ``studies.demo.QUICK``.

    Returns where the report is."""
    from ltbounds.artifacts import atomic_write_text, write_manifest
    from studies import demo
    from studies.runner import run_study

    settings = demo.QUICK if settings is None else settings
    directory = Path(out)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    missing: list[str] = []
    steps = 4
    _say(f"[1/{steps}] training {len(settings.methods)} methods x {len(settings.datasets)} datasets", progress)
    clock = time.perf_counter()
    training = run_study(
        demo, settings=settings, directory=directory, data_root=data_root, progress=progress, command=command
    )
    timings["train_s"] = time.perf_counter() - clock
    missing += [f"training {k}: {v}" for k, v in training.failed_runs.items()]
    checkpoints = _checkpoints(training.table)

    _say(f"[2/{steps}] evaluating every bound on {len(checkpoints)} checkpoint(s)", progress)
    clock = time.perf_counter()
    evaluation = None
    if checkpoints:
        from ltbounds.evaluation import evaluate

        evaluation = evaluate(
            [str(p) for p in checkpoints],
            delta=settings.delta,
            heldout=settings.heldout,
            data_root=data_root,
            progress=progress,
        )
        evaluation.write(directory / "evaluation", plots=True, command=command)
    else:
        missing.append("evaluation: no checkpoints were trained")
    timings["evaluate_s"] = time.perf_counter() - clock

    _say(f"[3/{steps}] quick studies: {', '.join(settings.studies)}", progress)
    clock = time.perf_counter()
    study_results = {}
    for name in settings.studies:
        study_results[name] = _run_quick_study(name, directory, settings, data_root, progress)
        missing += [f"{name}: {piece}" for piece in study_results[name].missing]
        missing += [f"{name} run {k}: {v}" for k, v in study_results[name].failed_runs.items()]
    timings["studies_s"] = time.perf_counter() - clock

    _say(f"[4/{steps}] figures and report", progress)
    clock = time.perf_counter()
    figures = _draw_figures(directory, settings)
    report = directory / "report.md"
    atomic_write_text(
        report, demo.report_text(directory, settings, training, evaluation, study_results, figures, missing)
    )
    timings["report_s"] = time.perf_counter() - clock
    timings["total_s"] = time.perf_counter() - started
    write_manifest(
        directory,
        command=command,
        seeds=list(settings.seeds),
        wall_time_s=round(timings["total_s"], 2),
        extra={
            "study": demo.NAME,
            "question": demo.QUESTION,
            "setting": "quick" if settings == demo.QUICK else "full" if settings == demo.FULL else "custom",
            "settings": dataclasses.asdict(settings),
            "timings_s": {k: round(v, 2) for k, v in timings.items()},
            "tables": [
                "demo.csv",
                "accuracy.csv",
                "evaluation/bounds.csv",
                "evaluation/per_class.csv",
                "coverage/coverage_summary.csv",
                "sharpness/sharpness_summary.csv",
            ],
            "figures": [str(p.relative_to(directory)) for p in figures],
            "missing": missing,
            "complete": not missing,
        },
    )
    return DemoResult(directory, report, figures, timings, missing)


def _checkpoints(table: pd.DataFrame) -> list[Path]:
    if table.empty or "quantity" not in table.columns:
        return []
    notes = table.loc[table["quantity"] == "checkpoint", "note"]
    return [Path(p) for p in notes if isinstance(p, str) and Path(p).exists()]


def _run_quick_study(name: str, directory: Path, settings: Settings, data_root: str | None, progress: bool):
    from studies.runner import load_study, run_study

    module = load_study(name)
    study_settings = module.QUICK
    overrides = dict(dict(settings.study_overrides).get(name, ()))
    if name == "sharpness":
        overrides.setdefault("checkpoint_globs", (str(directory / "training" / "*" / "last.pt"),))
    if overrides:
        study_settings = dataclasses.replace(study_settings, **overrides)
    return run_study(
        module,
        settings=study_settings,
        out=directory,
        data_root=data_root,
        progress=progress,
        command=f"ltbounds study {name} --quick --out {directory}",
    )


def _draw_figures(directory: Path, settings: Settings) -> list[Path]:
    """The figures of the demo and of its quick studies, read from the files they wrote."""
    from paper_figures.canvas import MissingResults, render
    from paper_figures.registry import FIGURES, load_figure
    from studies.demo import NAME

    written: list[Path] = []
    for name, (_, study) in FIGURES.items():
        if study not in (NAME, *settings.studies):
            continue
        script = load_figure(name)
        try:
            written.extend(p for p in render(script, directory, directory / "figures") if p.suffix == ".png")
        except MissingResults as error:
            print(f"figure {name} skipped: {error}", file=sys.stderr)
    return written

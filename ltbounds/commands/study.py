"""Run a theory-vs-practice study, writing results/<study>/ (a tidy CSV and manifest.json).

  ltbounds study coverage --quick        certified bounds fail at most a delta fraction of the time?
  ltbounds study sharpness --quick       union vs data-dependent contraction bound (Wang et al. Prop. 2)
  ltbounds study --list                  every study and its question

Runs are resumable: finished runs (same settings) are read back, not redone. --quick finishes on
2 CPU cores in a few minutes; without it the papers' setting runs (hours).
"""

from __future__ import annotations

import argparse
import shlex

from ltbounds.checks import InputError
from ltbounds.commands.cpu_threads import add_threads_argument, apply_threads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="the study to run (see --list)")
    parser.add_argument(
        "--quick", action="store_true", help="the small setting (minutes on 2 CPU cores; default: the full one)"
    )
    parser.add_argument(
        "--out",
        default="results",
        metavar="ROOT",
        help="results root, not the study's folder: the study writes ROOT/NAME/ (default: results)",
    )
    parser.add_argument(
        "--data-root", default=None, help="folder with local datasets (e.g. CIFAR; default: none, embedded data only)"
    )
    parser.add_argument("--list", action="store_true", help="list the studies and exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_threads_argument(parser)


def run(args: argparse.Namespace) -> int:
    apply_threads(args)
    from studies.runner import STUDY_MODULES, load_study, run_study

    if args.list or not args.name:
        for name in STUDY_MODULES:
            module = load_study(name)
            print(f"{name:15s} {module.QUESTION}")
        return 0 if args.list else 2
    if args.name not in STUDY_MODULES:
        raise InputError(f"unknown study {args.name!r}; valid studies: {', '.join(STUDY_MODULES)}")
    command = f"ltbounds study {args.name}" + (" --quick" if args.quick else "")
    if args.out != "results":
        command += f" --out {shlex.quote(args.out)}"
    if args.data_root:
        command += f" --data-root {shlex.quote(args.data_root)}"
    result = run_study(
        args.name,
        quick=args.quick,
        out=args.out,
        data_root=args.data_root,
        progress=not args.no_progress,
        command=command,
    )
    print(
        f"study {args.name}: {result.runs_done} run(s) done, {result.runs_reused} reused, "
        f"{len(result.failed_runs)} failed; wrote {result.directory}/"
    )
    for key, reason in list(result.failed_runs.items())[:5]:
        print(f"  failed {key}: {reason}")
    for piece in result.missing:
        print(f"  missing: {piece}")
    return 0

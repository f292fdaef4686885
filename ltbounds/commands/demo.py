"""Run the main job on the embedded default (make demo): train, evaluate, study, plot, report.

Trains six contrasting long-tail methods (CE, LA, LDAM-DRW, VS+TLA+ADRW, ELM, DRO-LT) with a small
MLP on MNIST-5k made long-tailed (rho = 100) and on a Gaussian mixture, evaluates every bound on
every checkpoint, runs the quick coverage and sharpness studies, and writes results/demo/
(report.md, CSVs, figures, manifest.json). A few minutes on 2 CPU cores; finished steps are reused
when run again.
"""

from __future__ import annotations

import argparse

from ltbounds.commands.cpu_threads import add_threads_argument, apply_threads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="results/demo", help="where the demo writes (default results/demo)")
    parser.add_argument(
        "--data-root", default=None, help="folder with local datasets (default: none; not needed by the demo)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_threads_argument(parser)


def run(args: argparse.Namespace) -> int:
    apply_threads(args)
    from studies.demo import run_demo

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

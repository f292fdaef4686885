"""Draw the figures of finished studies as PNG and PDF (reads results/, never trains).

  ltbounds figures                       every figure whose study has results
  ltbounds figures coverage_violations   one figure
  ltbounds figures --list                every figure and the study it reads

A figure whose results are missing says which study to run (when drawing all: one summary line).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="one figure (default: all)")
    parser.add_argument("--results", default="results", help="results root (default: results)")
    parser.add_argument("--out", default="figures", help="where figures go (default: figures)")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")


def run(args: argparse.Namespace) -> int:
    import sys

    from ltbounds.checks import InputError
    from paper_figures.canvas import MissingResults, render
    from paper_figures.registry import FIGURES, load_figure

    if args.list:
        for name, (_, study) in FIGURES.items():
            print(f"{name:28s} reads results/{study}/")
        return 0
    if args.name is not None and args.name not in FIGURES:
        raise InputError(f"unknown figure {args.name!r}; valid figures: {', '.join(FIGURES)}")
    if args.name is not None:
        try:
            written = render(load_figure(args.name), args.results, args.out)
        except MissingResults as error:
            print(f"{args.name}: skipped: {error}", file=sys.stderr)
            return 2
        print(f"{args.name}: " + ", ".join(str(p) for p in written))
        return 0
    # Drawing all: one line per figure drawn, and one summary line for the studies not run yet
    # (one line per skipped figure was 15 lines of the same advice).
    skipped: dict[str, list[str]] = {}
    for name, (_, study) in FIGURES.items():
        try:
            written = render(load_figure(name), args.results, args.out)
        except MissingResults:
            skipped.setdefault(study, []).append(name)
            continue
        print(f"{name}: " + ", ".join(str(p) for p in written))
    drawn = len(FIGURES) - sum(len(names) for names in skipped.values())
    if skipped:
        studies = ", ".join(f"{study} ({len(names)})" for study, names in skipped.items())
        print(
            f"figures: drew {drawn} of {len(FIGURES)}; skipped {len(FIGURES) - drawn} whose results are not in "
            f"{args.results}/: run `ltbounds study NAME --quick` for {studies}, or "
            "`ltbounds figures NAME` for one figure's reason",
            file=sys.stderr,
        )
    return 0

"""Draw the figures of finished studies as PNG and PDF (reads results/, never trains).

  ltbounds figures                       every figure whose study has results
  ltbounds figures coverage_violations   one figure
  ltbounds figures --list                every figure and the study it reads

A figure whose results are missing says which study to run.
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
    names = [args.name] if args.name else list(FIGURES)
    missing = 0
    for name in names:
        try:
            written = render(load_figure(name), args.results, args.out)
        except MissingResults as error:
            missing += 1
            print(f"{name}: skipped: {error}", file=sys.stderr)
            continue
        print(f"{name}: " + ", ".join(str(p) for p in written))
    if args.name is not None and missing:
        return 2
    return 0

"""Run the main job on the embedded default.

For now (the demo study arrives with its issue) this runs the end-to-end path that exists: it
prints the errata registry.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="results/demo", help="where the demo writes (default results/demo)")


def run(args: argparse.Namespace) -> int:
    from ltbounds.commands import errata

    print("ltbounds demo: the full demo (train, evaluate, studies, figures) is not built yet;")
    print("running the end-to-end path that exists: the errata registry.\n")
    return errata.run(argparse.Namespace(json=False, statement_id=None, verdict=None))

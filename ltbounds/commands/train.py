"""(not built yet: this subcommand arrives with its issue)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER)


def run(args: argparse.Namespace) -> int:
    print("ltbounds train: not built yet", flush=True)
    return 2

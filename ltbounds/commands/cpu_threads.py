"""The ``--threads`` option shared by the commands that train small models (``demo``, ``study``)."""

from __future__ import annotations

import argparse

from ltbounds.checks import InputError


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: the small models gain nothing from more, and a second thread "
        "slows training ~10x when the cores are shared)",
    )


def apply_threads(args: argparse.Namespace) -> None:
    """Set torch's intra-op thread count from ``--threads`` (>= 1)."""
    if args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    import torch

    torch.set_num_threads(args.threads)

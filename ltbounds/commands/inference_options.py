"""The options shared by the commands that rebuild a checkpoint's model and data and run it batch by batch
(``evaluate``, ``export``): one wording, one default and one check for both."""

from __future__ import annotations

import argparse

from ltbounds.checks import InputError


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data-root``, ``--device`` and ``--batch-size``, in this order (their place in both commands' --help)."""
    parser.add_argument(
        "--data-root", default=None, metavar="DIR", help="folder with local datasets (CIFAR, ...; default: none)"
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="inference device: auto | cpu | cuda | cuda:N (default auto: cuda if available, else cpu)",
    )
    parser.add_argument("--batch-size", type=int, default=512, help="inference batch size (default 512)")


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (default: shown when stderr is a terminal)"
    )


def check_batch_size(batch_size: int) -> None:
    """``--batch-size`` must be >= 1 (refused here, before any inference, rather than by torch mid-run)."""
    if batch_size < 1:
        raise InputError(f"--batch-size must be a positive integer, got {batch_size}")

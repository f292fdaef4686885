"""Export a checkpoint's outputs to an outputs directory, streamed batch by batch (never every batch in memory).

  ltbounds export runs/vs/last.pt --out outputs/vs
  ltbounds evaluate outputs/vs --out reports/vs        the rows of 'ltbounds evaluate runs/vs/last.pt'

The checkpoint's model and dataset are rebuilt as 'ltbounds evaluate CHECKPOINT' does (--data-root for
CIFAR or image folders), checked against each other, and each batch's logits, embeddings and labels are
written to DIR/<split>/*.npy as soon as it is computed (docs/outputs_format.md, the directory form). DIR
also records the name, method and training-loss parameters that the bounds read. 'ltbounds evaluate DIR'
then reads the arrays memory-mapped, so neither step needs a whole split in memory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ltbounds.commands.inference_options import (
    add_inference_arguments,
    add_progress_argument,
    check_batch_size,
)

SPLIT_CHOICES = ("train", "val", "test")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint (.pt) written by 'ltbounds train'")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="required: the outputs directory to create: new or empty (anything there is refused, never replaced)",
    )
    parser.add_argument(
        "--splits",
        default=None,
        metavar="SPLITS",
        help="comma-separated splits of the checkpoint's dataset, from train, val, test (default: train, val when "
        "the dataset has a non-empty one, and test: what 'ltbounds evaluate' reads)",
    )
    add_inference_arguments(parser)
    parser.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default="float32",
        help="storage of logits and embeddings (default float32: half the disk, and exact for a float32 model)",
    )
    add_progress_argument(parser)


def parse_splits(text: str | None) -> tuple[str, ...] | None:
    """The splits named by ``--splits`` (None: the default of ``export_checkpoint``)."""
    if text is None:
        return None
    from ltbounds.checks import InputError

    splits = tuple(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))
    unknown = [split for split in splits if split not in SPLIT_CHOICES]
    if unknown or not splits:
        raise InputError(f"--splits {text!r}: choose comma-separated splits from {', '.join(SPLIT_CHOICES)}")
    return splits


def check_new_directory(path: str) -> None:
    """``--out`` must not exist, or be an empty directory: an export never replaces anything of the user's."""
    from ltbounds.checks import InputError

    target = Path(path)
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise InputError(f"--out {path} exists and is not a directory; choose a new path")
        if any(target.iterdir()):
            raise InputError(f"--out {path} is not empty; choose a new or empty directory (nothing there is replaced)")


def run(args: argparse.Namespace) -> int:
    from ltbounds.artifacts import check_writable_location
    from ltbounds.checks import resolve_device

    check_new_directory(args.out)
    check_writable_location(Path(args.out).parent, "--out", args.out)  # the export is staged beside it
    splits = parse_splits(args.splits)
    check_batch_size(args.batch_size)
    device = resolve_device(args.device)  # an unknown or absent device fails here, before any inference
    from training.checkpoint_outputs import export_checkpoint

    target = Path(args.out)
    was_empty_directory = target.is_dir()
    if was_empty_directory:
        target.rmdir()  # empty (checked above): the writer moves the finished export into its place
    try:
        path = export_checkpoint(
            args.checkpoint,
            target,
            splits,
            data_root=args.data_root,
            device=device,
            batch_size=args.batch_size,
            dtype=args.dtype,
            progress=not args.no_progress,
        )
    except BaseException:
        if was_empty_directory and not target.exists():
            target.mkdir()  # the user's empty directory is left as it was
        raise
    from ltbounds.outputs_layout import read_outputs_dir

    sizes = read_outputs_dir(path).record["splits"]
    listed = ", ".join(f"{split} {sizes[split]}" for split in SPLIT_CHOICES if split in sizes)
    print(f"ltbounds export: {args.checkpoint} -> {path} ({listed} samples, {args.dtype})")
    return 0

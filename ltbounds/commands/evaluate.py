"""Evaluate every bound of the registry on checkpoints or exported outputs, next to the measured risk.

  ltbounds evaluate runs/vs/last.pt runs/ce/last.pt --out reports/vs_vs_ce
  ltbounds evaluate my_model_outputs.npz --out reports/mine --delta 0.01 --heldout val

Each source is an `ltbounds train` checkpoint (its dataset is rebuilt, `--data-root` for CIFAR or
image folders) or an outputs file exported from your own code (.npz/.pt, docs/outputs_format.md).
A checkpoint certified by `ltbounds certify CKPT --out CERTS` gets its certificate's rows too with
`--certificates CERTS` (matched by the checkpoint file's sha256; docs/certificates.md).
DIR receives bounds.csv (one row per checkpoint x bound x form x class), per_class.csv,
checkpoints.csv, report.md, plots (PNG + PDF) and manifest.json, all at once or not at all.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ltbounds.commands.inference_options import (
    add_inference_arguments,
    add_progress_argument,
    check_batch_size,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="CKPT_OR_OUTPUTS", help="checkpoints (.pt) or outputs files")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="required: the report directory: new, empty, or an earlier report holding only its own files "
        "(replaced whole; anything else there is refused, never deleted)",
    )
    parser.add_argument(
        "--delta", type=float, default=0.05, help="confidence parameter, bounds hold w.p. 1 - delta (default 0.05)"
    )
    parser.add_argument(
        "--heldout",
        choices=("auto", "val", "test"),
        default="auto",
        help="split fixed-model bounds are certified on (default auto: val when the source has one, else test)",
    )
    add_inference_arguments(parser)
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        metavar="ROWS",
        help="rows per chunk of the per-split statistics (memory O(ROWS x classes + classes x dims)); default: "
        "about 2^20 entries of the widest (ROWS, classes) or (ROWS, dims) block",
    )
    parser.add_argument(
        "--certificates",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder written by 'ltbounds certify CKPT... --out DIR' (repeatable): each checkpoint certified there "
        "(matched by the sha256 of its file) also gets its certificate's rows, bound pacbayes.balanced_<form>, "
        "form certified, measured = the test error of the same stochastic predictor; a guarantee only when "
        "certify's manifest shows a prior independent of S_bound and training data only (default: none)",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG/PDF plots (default: draw them)")
    add_progress_argument(parser)
    parser.add_argument(
        "--only",
        default=None,
        metavar="IDS",
        help="comma-separated statement ids or seed tags (e.g. 'wang23'; see 'ltbounds errata'); default: all",
    )


def select_statements(only: str | None) -> dict | None:
    """The statements named by ``--only`` (an id, or a seed tag matching every ``tag.*`` id); None = all."""
    if only is None:
        return None
    from ltbounds.checks import InputError
    from ltbounds.statements import STATEMENTS

    wanted = [item.strip() for item in only.split(",") if item.strip()]
    chosen = {
        key: statement
        for key, statement in STATEMENTS.items()
        if any(key == item or key.startswith(item.rstrip(".") + ".") for item in wanted)
    }
    unmatched = [item for item in wanted if not any(k == item or k.startswith(item.rstrip(".") + ".") for k in chosen)]
    if unmatched or not chosen:
        tags = sorted({key.split(".")[0] for key in STATEMENTS})
        raise InputError(f"--only {only!r}: no statement matches {unmatched or wanted}; seed tags are {tags}")
    return chosen


def run(args: argparse.Namespace) -> int:
    from ltbounds.artifacts import check_writable_location
    from ltbounds.checks import check_chunk_size, check_delta, resolve_device
    from ltbounds.evaluation import check_output_directory, evaluate

    started = time.perf_counter()
    check_delta(args.delta, "--delta")
    check_output_directory(args.out, inputs=[*args.sources, *args.certificates])
    check_writable_location(Path(args.out).parent, "--out", args.out)  # the report is staged beside it
    # an unknown or absent device fails here, before any inference; "auto" is resolved where a checkpoint is
    # read (evaluation.load_splits), so that outputs files and directories never import torch (0.2 GB)
    device = args.device if args.device == "auto" else resolve_device(args.device)
    select_statements(args.only)  # fail fast, before any inference
    check_batch_size(args.batch_size)
    check_chunk_size(args.chunk_size, "--chunk-size")
    evaluation = evaluate(
        args.sources,
        delta=args.delta,
        heldout=args.heldout,
        data_root=args.data_root,
        device=device,
        batch_size=args.batch_size,
        statements=select_statements(args.only),
        progress=not args.no_progress,
        chunk_size=args.chunk_size,
        certificates=args.certificates,
    )
    command = ["ltbounds", "evaluate", *args.sources, "--out", args.out, "--delta", str(args.delta)]
    command += ["--heldout", args.heldout, "--device", args.device, "--batch-size", str(args.batch_size)]
    command += (["--data-root", args.data_root] if args.data_root else []) + (["--no-plots"] if args.no_plots else [])
    command += ["--only", args.only] if args.only else []
    command += ["--chunk-size", str(args.chunk_size)] if args.chunk_size else []
    command += [part for directory in args.certificates for part in ("--certificates", directory)]
    evaluation.write(
        args.out,
        inputs=[*args.sources, *args.certificates],
        plots=not args.no_plots,
        command=command,
        wall_time_s=time.perf_counter() - started,
    )
    status = evaluation.bounds["status"]
    non_finite = int((status == "non_finite").sum())
    print(
        f"ltbounds evaluate: {len(evaluation.checkpoints)} checkpoint(s), {int((status == 'ok').sum())} bound rows "
        + (f"+ {non_finite} non-finite (NaN/inf, not judged) " if non_finite else "")
        + f"({int((~status.isin(['ok', 'non_finite'])).sum())} statement(s) not evaluated) -> {args.out}/report.md"
    )
    for row in evaluation.checkpoints.itertuples(index=False):
        print(f"  {row.checkpoint}: balanced test error {row.balanced_error:.4f} ({row.method})")
    return 0

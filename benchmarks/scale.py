"""``ltbounds evaluate`` at the size of the largest long-tail benchmarks, in a subprocess, with its peak memory.

Writes synthetic outputs to an outputs directory (``ltbounds.outputs_store``, float32 ``.npy`` files)
chunk by chunk, never holding them in memory: long-tailed training counts (exponential profile, at
least 2 per class), Gaussian class clusters in D dimensions (means of norm ~3, unit noise), a linear
head at the class means with bias log pi_y - ||mu_y||^2 / 2, and a balanced held-out split used as the
test split. Then runs ``python -m ltbounds evaluate DIR --out REPORT --no-plots --no-progress`` in a
subprocess and reads its peak resident memory from ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``
(pages of the memory-mapped files that the process touched count too). The files are removed at the
end (``--keep`` keeps them).

Sizes (``--size``):

- ``small``: 20,000 train x 100 classes x 64 dims, 2,000 held-out (CI-sized; seconds);
- ``imagenet-lt``: 115,846 x 1,000 x 2,048, 20,000 held-out (ImageNet-LT's training set, ResNet-50
  features; ~1.7 GB on disk);
- ``inat2018``: 437,513 x 8,142 x 2,048, 24,426 held-out (iNaturalist 2018; ~19 GB on disk).

The last line is ``scale SIZE: N samples x C classes x D dims: wall W s, peak RSS M GB`` (N counts
the training samples; W is the evaluate subprocess's wall time, writing the data is not counted).

    .venv/bin/python benchmarks/scale.py --size small
    .venv/bin/python benchmarks/scale.py --size imagenet-lt --workdir /tmp/scale
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltbounds.outputs_store import OutputsWriter


@dataclass(frozen=True)
class Size:
    train: int
    classes: int
    dim: int
    heldout: int
    imbalance: float  # largest / smallest training count


SIZES = {
    "small": Size(20_000, 100, 64, 2_000, 100.0),
    "imagenet-lt": Size(115_846, 1_000, 2_048, 20_000, 256.0),  # ImageNet-LT: 1,280 .. 5 images per class
    "inat2018": Size(437_513, 8_142, 2_048, 24_426, 500.0),  # iNaturalist 2018: 1,000 .. 2 images per class
}


def long_tail_counts(total: int, num_classes: int, imbalance: float, minimum: int = 2) -> np.ndarray:
    """n_c proportional to imbalance^(-c/(C-1)), at least ``minimum``, summing to ``total`` exactly."""
    shape = imbalance ** (-np.arange(num_classes) / max(num_classes - 1, 1))
    counts = np.maximum(np.floor(shape / shape.sum() * total).astype(np.int64), minimum)
    counts[0] += total - counts.sum()
    if counts[0] < minimum:
        raise ValueError(f"{total} samples cannot give {num_classes} classes at least {minimum} each")
    return counts


def write_outputs(path: Path, size: Size, rows_per_write: int, seed: int = 0) -> None:
    """The synthetic outputs directory, written ``rows_per_write`` rows at a time (float64 maths, float32 storage)."""
    rng = np.random.default_rng(seed)
    counts = long_tail_counts(size.train, size.classes, size.imbalance)
    means = rng.normal(size=(size.classes, size.dim)) * (3.0 / math.sqrt(size.dim))
    bias = np.log(counts / counts.sum()) - 0.5 * np.einsum("ij,ij->i", means, means)
    per_class_heldout = max(size.heldout // size.classes, 1)
    labels = {
        "train": rng.permutation(np.repeat(np.arange(size.classes), counts)),
        "test": rng.permutation(np.repeat(np.arange(size.classes), per_class_heldout)),
    }
    with OutputsWriter(
        path,
        class_counts=counts,
        head_weight=means,
        head_bias=bias,
        splits={split: values.size for split, values in labels.items()},
        dtype=np.float32,
        name=f"synthetic-{size.classes}",
        method="ce",
    ) as writer:
        for split, values in labels.items():
            for start in range(0, values.size, rows_per_write):
                y = values[start : start + rows_per_write]
                embeddings = (means[y] + rng.normal(size=(y.size, size.dim))).astype(np.float32)
                # logits of the stored (float32) embeddings, so the head check sees only storage rounding
                logits = embeddings.astype(np.float64) @ means.T + bias
                writer.append(split, logits, embeddings, y)
        writer.close()


def directory_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--workdir", default=None, help="where the outputs directory is written (default: a temp dir)")
    parser.add_argument("--chunk-size", type=int, default=None, help="passed to ltbounds evaluate --chunk-size")
    parser.add_argument("--only", default=None, help="passed to ltbounds evaluate --only (default: every statement)")
    parser.add_argument(
        "--memory-limit-gb",
        type=float,
        default=None,
        help="address-space limit of the evaluate subprocess (RLIMIT_AS, GB; mapped files count): a statement that "
        "needs more fails with MemoryError and is reported as an error row instead of exhausting the machine",
    )
    parser.add_argument("--keep", action="store_true", help="keep the outputs directory and the report")
    parser.add_argument(
        "--outputs",
        default=None,
        help="an outputs directory written earlier by this script with --keep for the same --size: evaluated as is "
        "(not written, not removed)",
    )
    args = parser.parse_args()
    size = SIZES[args.size]

    root = Path(tempfile.mkdtemp(prefix=f"ltbounds-scale-{args.size}-", dir=args.workdir))
    try:
        data, report = root / "outputs", root / "report"
        if args.outputs is None:
            started = time.perf_counter()
            write_outputs(data, size, rows_per_write=max(64, (1 << 20) // max(size.classes, size.dim)))
            written = time.perf_counter() - started
            print(f"wrote {directory_bytes(data) / 1e9:.2f} GB of float32 outputs to {data} in {written:.1f} s")
        else:
            data = Path(args.outputs)
        sys.stdout.flush()
        command = [sys.executable, "-m", "ltbounds", "evaluate", str(data), "--out", str(report)]
        command += ["--no-plots", "--no-progress"]
        command += ["--chunk-size", str(args.chunk_size)] if args.chunk_size else []
        command += ["--only", args.only] if args.only else []
        started = time.perf_counter()
        limit = None if args.memory_limit_gb is None else int(args.memory_limit_gb * 1e9)

        def limit_memory() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        completed = subprocess.run(command, env=environment, check=False, preexec_fn=limit_memory)
        wall = time.perf_counter() - started
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9  # ru_maxrss is in KiB
        if completed.returncode != 0:
            raise SystemExit(f"ltbounds evaluate exited with code {completed.returncode}")
        import pandas as pd

        # three columns are read, as text: then, pandas neither guesses the types of 244,000 mixed rows nor warns
        bounds = pd.read_csv(report / "bounds.csv", usecols=["bound", "status", "note"], dtype=str)
        for row in bounds[bounds["status"] == "error"].itertuples(index=False):
            print(f"  not evaluated: {row.bound}: {str(row.note)[:160]}")
        print(
            f"scale {args.size}: {size.train} samples x {size.classes} classes x {size.dim} dims: "
            f"wall {wall:.1f} s, peak RSS {peak_gb:.2f} GB"
        )
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

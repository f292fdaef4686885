"""Time every statement of ``statements.STATEMENTS`` against one ResNet-32 forward pass, in one process.

The issue's speed target: evaluating the full set of bounds on a checkpoint with 50,000 training
samples, 100 classes and 64-dim embeddings must take less time than one forward pass of a CIFAR
ResNet-32 over those 50,000 32x32 images on the same machine. Both are measured here, in the same
run, on the CPU by default (the bounds are NumPy/SciPy, so the CPU is the like-for-like machine).

Data: synthetic ``Outputs`` -- Gaussian class clusters in 64 dimensions, a linear head at the class
means, long-tailed training counts (imbalance 100, exponential profile, scaled to sum to 50,000) and
a balanced held-out split (also used as the test split) of ``--heldout`` samples. Each evaluator
runs once on a small copy first (lazy imports and first-call costs are not timed), then
``--repeats`` times on the full data; the table shows the best time per statement.

The forward pass: ``training.models.build_model({"name": "resnet32", "num_classes": 100})`` in eval
mode under ``torch.inference_mode()``, batches of ``--batch`` images (random normal tensors,
generated outside the timed region), one warm-up batch, summed over all batches.

    .venv/bin/python benchmarks/bounds.py                  # the issue's sizes
    .venv/bin/python benchmarks/bounds.py --samples 5000   # a quick look
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from ltbounds import statements
from ltbounds.outputs import Outputs
from ltbounds.statements import EvaluationSplits
from ltbounds.strategies import gaussian_outputs


def long_tail_counts(total: int, num_classes: int, imbalance: float) -> np.ndarray:
    """Exponential-profile counts n_c = n_max imbalance^(-c/(C-1)), scaled so they sum to ``total``."""
    shape = imbalance ** (-np.arange(num_classes) / (num_classes - 1))
    counts = np.maximum(np.floor(shape / shape.sum() * total).astype(np.int64), 1)
    counts[0] += total - counts.sum()
    return counts


def synthetic_outputs(class_counts: np.ndarray, per_class: np.ndarray, dim: int, split: str, seed: int) -> Outputs:
    # class means of norm about 3 whatever the dimension; the library's one synthetic-checkpoint builder
    return gaussian_outputs(
        class_counts, per_class, split, seed=seed, dim=dim, spread=3.0 / math.sqrt(dim), means_seed=2024,
        name="synthetic", method="ce",
    )  # fmt: skip


def make_splits(samples: int, heldout: int, num_classes: int, dim: int) -> EvaluationSplits:
    counts = long_tail_counts(samples, num_classes, 100.0)
    balanced = np.full(num_classes, max(heldout // num_classes, 2))
    held = synthetic_outputs(counts, balanced, dim, "val", 1)
    return EvaluationSplits(train=synthetic_outputs(counts, counts, dim, "train", 0), heldout=held, test=held)


def time_statements(splits: EvaluationSplits, warmup: EvaluationSplits, delta: float, repeats: int):
    """Per statement: (id, kind, rows, seconds), from the fastest of ``repeats`` passes over the whole
    registry. Each pass starts from a fresh ``EvaluationSplits`` (an empty evaluation context), so the
    statistics statements share are paid once per pass, by the first statement that needs them, as
    in ``ltbounds evaluate``; reusing one context across passes would time cached lookups."""
    for statement in statements.STATEMENTS.values():
        statement.evaluate(warmup, delta)  # imports (SymPy, SciPy) and first-call costs, untimed
    best_rows, best_total = [], math.inf
    for _ in range(repeats):
        fresh = EvaluationSplits(train=splits.train, heldout=splits.heldout, test=splits.test)
        rows = []
        for statement_id, statement in statements.STATEMENTS.items():
            start = time.perf_counter()
            results = statement.evaluate(fresh, delta)
            rows.append((statement_id, statement.kind, len(results), time.perf_counter() - start))
        total = sum(row[3] for row in rows)
        if total < best_total:
            best_rows, best_total = rows, total
    return best_rows


def time_forward_pass(samples: int, num_classes: int, batch: int, device: str) -> float:
    from training.models import build_model

    model = build_model({"name": "resnet32", "num_classes": num_classes}).to(device).eval()
    generator = torch.Generator().manual_seed(0)
    elapsed = 0.0
    with torch.inference_mode():
        model(torch.randn(batch, 3, 32, 32, generator=generator).to(device))  # warm-up
        done = 0
        while done < samples:
            size = min(batch, samples - done)
            images = torch.randn(size, 3, 32, 32, generator=generator).to(device)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(images)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            elapsed += time.perf_counter() - start
            done += size
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=50_000, help="training samples (and images forwarded)")
    parser.add_argument("--heldout", type=int, default=10_000, help="balanced held-out / test samples")
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--dim", type=int, default=64, help="embedding dimension")
    parser.add_argument("--batch", type=int, default=1000, help="images per forward batch")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per statement (best is kept)")
    parser.add_argument("--delta", type=float, default=0.05)
    parser.add_argument("--device", default="cpu", help="device of the forward pass (bounds always run on CPU)")
    args = parser.parse_args()

    splits = make_splits(args.samples, args.heldout, args.classes, args.dim)
    warmup = make_splits(20 * args.classes, 4 * args.classes, args.classes, args.dim)
    rows = time_statements(splits, warmup, args.delta, args.repeats)
    forward = time_forward_pass(args.samples, args.classes, args.batch, args.device)
    total = sum(row[3] for row in rows)

    print(
        f"bounds on {args.samples} train + {args.heldout} held-out samples, {args.classes} classes, "
        f"dim {args.dim}; torch threads {torch.get_num_threads()}, forward on {args.device}"
    )
    width = max(len(row[0]) for row in rows)
    print(f"{'statement':<{width}}  {'kind':<10}  {'rows':>5}  {'seconds':>9}  {'% fwd':>7}")
    for statement_id, kind, count, seconds in sorted(rows, key=lambda row: -row[3]):
        print(f"{statement_id:<{width}}  {kind:<10}  {count:>5}  {seconds:>9.4f}  {100 * seconds / forward:>6.1f}%")
    print(f"{'total_bounds':<{width}}  {'':<10}  {sum(r[2] for r in rows):>5}  {total:>9.4f}")
    print(f"{'forward_pass (resnet32)':<{width}}  {'':<10}  {'':>5}  {forward:>9.4f}")
    ratio = total / forward
    print(f"ratio total_bounds / forward_pass = {ratio:.3f}  (target < 1: {'met' if ratio < 1 else 'NOT met'})")


if __name__ == "__main__":
    main()

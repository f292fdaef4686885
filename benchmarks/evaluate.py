"""What the bounds cost next to the inference passes they need (target: bounds <= 20% of inference).

A ResNet-32 (``training.models.build_model({"name": "resnet32", "num_classes": 10})``) on a
CIFAR-10-LT-sized problem with synthetic images: a long-tailed training split (n_max = 5000,
rho = 100: 12,406 images) and a balanced test split (10,000 images), 3 x 32 x 32. In one process:

1. inference: ``Outputs.from_module`` on the train and test splits (one batched pass each, under
   ``torch.inference_mode()``) -- exactly what ``ltbounds evaluate`` runs on a checkpoint;
2. bounds: every statement of ``STATEMENTS`` on those outputs plus the per-class table
   (``ltbounds.evaluation.bound_table`` + ``per_class_table``), i.e. everything else ``evaluate`` does
   before writing files.

Prints the time of each, the ten slowest statements, and the ratio bounds / inference.

    .venv/bin/python benchmarks/evaluate.py                 # full size, CPU
    .venv/bin/python benchmarks/evaluate.py --device cuda   # inference on the GPU
    .venv/bin/python benchmarks/evaluate.py --scale 0.2     # a fifth of the samples (quick look)
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/evaluate.py --threads 1   # one core each
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def long_tail_counts(n_max: int, classes: int, rho: float) -> np.ndarray:
    return np.array([int(n_max * rho ** (-i / (classes - 1))) for i in range(classes)], dtype=np.int64)


def synchronise(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the CIFAR-10-LT sizes (default 1)")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--delta", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (set OMP/OPENBLAS_NUM_THREADS alike for NumPy)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from ltbounds.evaluation import bound_table, per_class_table
    from ltbounds.outputs import Outputs
    from ltbounds.statements import STATEMENTS, EvaluationSplits
    from training.models import build_model

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    classes = 10
    counts = long_tail_counts(max(2, round(5000 * args.scale)), classes, 100.0)
    test_per_class = max(2, round(1000 * args.scale))
    train_labels = np.repeat(np.arange(classes), counts)
    test_labels = np.repeat(np.arange(classes), test_per_class)
    x_train = torch.randn(train_labels.size, 3, 32, 32, generator=generator)
    x_test = torch.randn(test_labels.size, 3, 32, 32, generator=generator)
    # Class-dependent shift so embeddings and logits carry class structure, as a trained model's would.
    shift = torch.randn(classes, 3, 1, 1, generator=generator)
    x_train += shift[torch.as_tensor(train_labels)]
    x_test += shift[torch.as_tensor(test_labels)]

    model = build_model({"name": "resnet32", "num_classes": classes}).to(args.device).eval()
    with torch.inference_mode():  # warm-up (kernel selection, allocator) outside the timed region
        model(x_test[: min(64, len(x_test))].to(args.device))
    synchronise(args.device)

    started = time.perf_counter()
    options = {"batch_size": args.batch_size, "device": args.device, "name": "resnet32", "method": "ce"}
    train = Outputs.from_module(model, x_train, train_labels, counts, split="train", **options)
    test = Outputs.from_module(model, x_test, test_labels, counts, split="test", **options)
    synchronise(args.device)
    inference = time.perf_counter() - started

    splits = EvaluationSplits(train=train, heldout=test, test=test)
    per_statement = {}
    for statement_id, statement in STATEMENTS.items():  # warm imports (SymPy, SciPy) untimed
        started = time.perf_counter()
        bound_table("resnet32", splits, args.delta, {statement_id: statement})
        per_statement[statement_id] = time.perf_counter() - started
    started = time.perf_counter()
    table = bound_table("resnet32", splits, args.delta, STATEMENTS)
    per_class_table("resnet32", splits)
    bound_time = time.perf_counter() - started

    print(
        f"ResNet-32, {train.num_samples} train + {test.num_samples} test images (3x32x32, synthetic), "
        f"device {args.device}, torch threads {torch.get_num_threads()}, embedding dim {train.embeddings.shape[1]}"
    )
    print(f"{'part':<44}{'seconds':>10}")
    print(f"{'inference passes (train + test)':<44}{inference:>10.3f}")
    print(f"{'bounds (' + str(len(STATEMENTS)) + ' statements) + per-class table':<44}{bound_time:>10.3f}")
    print(
        f"{'  rows (ok / not evaluated)':<44}{(table['status'] == 'ok').sum():>5} / {(table['status'] != 'ok').sum()}"
    )
    print("slowest statements (first, cold call):")
    for statement_id, seconds in sorted(per_statement.items(), key=lambda item: -item[1])[:10]:
        print(f"  {statement_id:<42}{seconds:>10.3f}")
    ratio = bound_time / inference
    print(f"ratio bounds / inference = {ratio:.3f} (target <= 0.20: {'met' if ratio <= 0.20 else 'NOT met'})")


if __name__ == "__main__":
    main()

"""Benchmark: chunked ELM pull and centroid-based DRO-LT against straightforward unchunked versions.

Run: ``.venv/bin/python benchmarks/losses.py`` (``--quick`` for small sizes only; ``--one-class 50000``
adds the ELM pull on a single class of 5,000 / 20,000 / 50,000 embeddings, minutes on a laptop CPU).

Each measurement runs in a fresh subprocess (one forward + backward pass, float32, d = 64, one torch
thread, fixed seed). Peak memory = the process's peak resident set size during the pass (``ru_maxrss``)
minus its resident size just before the pass (inputs already built), i.e. the extra memory the loss
needed. tracemalloc cannot see torch's allocations, and torch has no CPU allocator statistics, hence
RSS; workers run with MALLOC_MMAP_THRESHOLD_=131072 so freed blocks leave the RSS at once. Times are
one cold pass each (includes one-time overheads; both paths pay them alike).

ELM pull: 10 classes with an exponential long-tail profile (rho = 10), N embeddings in total; the
fast path (``losses.elm_pull``) works in 2048 x 2048 blocks in forward and backward; the baseline
builds each class's full n_c x n_c distance matrix under autograd. DRO-LT: 100 classes (exp profile,
rho = 10), N samples; the fast path (``losses.dro_lt_loss``) needs only the K x N sample-to-centroid
distances; the baseline builds the N x N matrix of d(mu_{y_i}, z_j). A baseline whose estimated
memory exceeds ~4 GB is skipped and the table says so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

LIMIT_BYTES = 4 * 1024**3
DIM = 64


def exp_counts(total: int, classes: int, ratio: float) -> np.ndarray:
    shares = ratio ** (-np.arange(classes) / (classes - 1))
    counts = np.maximum(np.round(total * shares / shares.sum()), 2).astype(np.int64)
    return counts


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def baseline_pull(embeddings, labels, alpha):
    """Straightforward ELM pull: the full n_c x n_c matrix of each class, under autograd."""
    import torch

    out = torch.zeros(embeddings.shape[0], dtype=embeddings.dtype)
    pieces, indices = [], []
    for cls in torch.unique(labels).tolist():
        members = torch.nonzero(labels == cls).squeeze(1)
        points = embeddings[members]
        squared = torch.cdist(points, points) ** 2 - alpha[cls]
        squared = squared.masked_fill(torch.eye(len(members), dtype=torch.bool), float("-inf"))
        with_one = torch.cat([torch.zeros(len(members), 1, dtype=points.dtype), squared], dim=1)
        pieces.append(torch.logsumexp(with_one, dim=1))
        indices.append(members)
    return out.index_put((torch.cat(indices),), torch.cat(pieces))


def baseline_dro(embeddings, labels, centroids, radii):
    """Straightforward DRO-LT (drolt eq. 18): the N x N matrix d(mu_{y_i}, z_j), Euclidean."""
    import torch

    own_centroids = centroids[labels]
    distances = torch.cdist(own_centroids, embeddings)
    same = labels[:, None] == labels[None, :]
    exponent = -(distances + 2.0 * radii[labels][:, None] * same)
    own = distances.diagonal()
    per_sample = own + 2.0 * radii[labels] + torch.logsumexp(exponent, dim=1)
    weight = 1.0 / torch.bincount(labels)[labels].to(per_sample.dtype)
    return (weight * per_sample).sum() / weight.sum()


def worker(kind: str, path: str, total: int) -> dict:
    import torch

    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    from ltbounds import losses

    if kind in ("elm", "elm_one_class"):
        counts = exp_counts(total, 10, 10.0) if kind == "elm" else np.array([total])
        labels = torch.repeat_interleave(torch.arange(len(counts)), torch.as_tensor(counts))
        embeddings = torch.randn(len(labels), DIM, generator=generator).requires_grad_(True)
        alpha = torch.full((len(counts),), 2.0 * DIM)  # pairs of N(0, I) points sit at squared distance ~2d

        def run():
            if path == "fast":
                return losses.elm_pull(embeddings, labels, alpha).sum()
            return baseline_pull(embeddings, labels, alpha).sum()
    else:
        counts = exp_counts(total, 100, 10.0)
        labels = torch.repeat_interleave(torch.arange(100), torch.as_tensor(counts))
        embeddings = torch.randn(len(labels), DIM, generator=generator).requires_grad_(True)
        centroids, _ = losses.class_centroids(embeddings.detach(), labels, 100)
        radii = torch.full((100,), 1.0, requires_grad=True)

        def run():
            if path == "fast":
                return losses.dro_lt_loss(embeddings, labels, centroids, radii)
            return baseline_dro(embeddings, labels, centroids, radii)

    before = current_rss_bytes()
    start = time.perf_counter()
    value = run()
    value.backward()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    grad_norm = float(embeddings.grad.norm())
    return {
        "seconds": seconds,
        "peak_extra_mb": max(peak - before, 0) / 2**20,
        "value": float(value.detach()),
        "grad_norm": grad_norm,
        "n": int(len(labels)),
        "largest_class": int(counts.max()),
    }


def estimated_baseline_bytes(kind: str, total: int) -> int:
    if kind == "elm_one_class":
        return 6 * 4 * total**2
    counts = exp_counts(total, 10 if kind == "elm" else 100, 10.0)
    # ~6 live float32 matrices of the pairwise size under autograd (distances, powers, masks, softmax)
    pairwise = int((counts.astype(np.int64) ** 2).sum()) if kind == "elm" else int(counts.sum()) ** 2
    return 6 * 4 * pairwise


def measure(kind: str, path: str, total: int) -> dict:
    command = [sys.executable, __file__, "--worker", kind, path, str(total)]
    # A fixed mmap threshold makes glibc return every large block to the OS when freed, so the peak RSS
    # tracks the peak of live tensors instead of heap fragmentation (the dynamic threshold otherwise
    # keeps freed 16 MB blocks resident and the numbers drift from run to run).
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument(
        "--one-class",
        type=int,
        metavar="N",
        help="also run the ELM pull on ONE class of N embeddings (slow: N^2 pairs)",
    )
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, path, total = args.worker
        print(json.dumps(worker(kind, path, int(total))))
        return 0
    plans = [("elm", n) for n in ((1000, 5000) if args.quick else (1000, 5000, 20000, 50000))]
    plans += [("dro_lt", n) for n in ((1000, 4000) if args.quick else (1000, 4000, 10000, 40000))]
    if args.one_class:
        plans += [("elm_one_class", n) for n in (5000, 20000, args.one_class)]
    header = (
        f"{'loss':7} {'N':>6} {'largest':>7} | {'fast s':>7} {'fast MB':>8} | {'base s':>7} {'base MB':>8} | "
        f"{'speedup':>7} {'mem ratio':>9} | agree"
    )
    print(header)
    print("-" * len(header))
    for kind, total in plans:
        fast = measure(kind, "fast", total)
        row = f"{kind:13} {fast['n']:>6} {fast['largest_class']:>7} | "
        row += f"{fast['seconds']:>7.2f} {fast['peak_extra_mb']:>8.1f} | "
        estimate = estimated_baseline_bytes(kind, total)
        if estimate > LIMIT_BYTES:
            row += f"{'skipped':>7} {'':>8} | {'':>7} {'':>9} | baseline needs ~{estimate / 2**30:.1f} GB (> 4 GB)"
        else:
            base = measure(kind, "baseline", total)
            agree = abs(fast["value"] - base["value"]) <= 1e-4 * max(1.0, abs(base["value"]))
            agree = agree and abs(fast["grad_norm"] - base["grad_norm"]) <= 1e-3 * max(1.0, base["grad_norm"])
            speedup = base["seconds"] / fast["seconds"]
            ratio = base["peak_extra_mb"] / max(fast["peak_extra_mb"], 0.1)
            row += (
                f"{base['seconds']:>7.2f} {base['peak_extra_mb']:>8.1f} | {speedup:>6.2f}x {ratio:>8.1f}x | "
                f"{'yes' if agree else 'NO'}"
            )
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training throughput: ResNet-32 on CIFAR-shaped data, batch 128, our loop against a straightforward baseline.

Baseline (in this file): a ``torch.utils.data.DataLoader`` over uint8 HWC images with per-image numpy
pad / random crop / flip and normalisation in ``__getitem__``, default collation, an NCHW float32
model, plain SGD steps. Ours: ``training.loop.train`` (data resident as tensors, batched crop + flip,
channels_last), in float32 and, opt-in, with bf16 autocast (``--cpu-bf16``). Same model, batch size,
optimiser and thread count, one process; images per second of training steps (ours: the loop's own
per-epoch training time, excluding its per-epoch evaluation). On CUDA it also reports CIFAR-10-LT
(rho = 100, 12,406 training images) epochs per second.

    .venv/bin/python benchmarks/train_throughput.py --threads 1   # about 2-3 minutes on 2 busy CPU cores
    .venv/bin/python benchmarks/train_throughput.py --steps 3 --rounds 1  # quicker, noisier
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from training.config import TrainConfig
from training.data import DatasetSpec, LongTailData, Split
from training.loop import train
from training.models import build_model

BATCH = 128
MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)


class _PerImageCifar(torch.utils.data.Dataset):
    """The textbook pipeline: one image at a time, numpy crop/flip, then normalise and transpose."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, seed: int = 0) -> None:
        self.images, self.labels = images, labels
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        image = np.pad(self.images[index], ((4, 4), (4, 4), (0, 0)))
        top, left = self.rng.integers(0, 9, size=2)
        image = image[top : top + 32, left : left + 32]
        if self.rng.random() < 0.5:
            image = image[:, ::-1]
        image = (image.astype(np.float32) / 255.0 - MEAN) / STD
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))), int(self.labels[index])


def baseline_images_per_second(images: np.ndarray, labels: np.ndarray, steps: int, device: torch.device) -> float:
    torch.manual_seed(0)
    model = build_model({"name": "resnet32", "num_classes": 10}).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    loader = torch.utils.data.DataLoader(_PerImageCifar(images, labels), batch_size=BATCH, shuffle=True, drop_last=True)
    done, start = 0, None
    for number, (x, y) in enumerate(loader):
        if number == 1:  # the first step (allocations, kernel selection) is warm-up
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        if number >= 1:
            done += len(y)
        if number == steps:
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return done / (time.perf_counter() - start)


def synthetic_data(images: np.ndarray, labels: np.ndarray, device: torch.device) -> LongTailData:
    x = torch.from_numpy(((images.astype(np.float32) / 255.0 - MEAN) / STD).transpose(0, 3, 1, 2).copy())
    y = torch.from_numpy(labels.astype(np.int64))
    tiny = Split(x[:20].to(device), y[:20].to(device))
    return LongTailData(
        spec=DatasetSpec("cifar10", imbalance=1.0),
        train=Split(x.to(device), y.to(device)),
        val=tiny,
        test=tiny,
        class_counts=np.bincount(labels, minlength=10),
        num_classes=10,
        input_shape=(3, 32, 32),
        mean=tuple(MEAN.tolist()),
        std=tuple(STD.tolist()),
        augment_padding=4,
    )


def ours_images_per_second(data: LongTailData, device: torch.device, bf16: bool, compile_model: bool) -> float:
    config = TrainConfig(
        method="ce", dataset="cifar10", epochs=2, batch_size=BATCH, lr=0.1, warmup_epochs=0, progress=False,
        device=str(device), amp=bf16, cpu_amp=bf16, compile=compile_model, augment=True, seed=0,
    )  # fmt: skip
    result = train(config, data=data)
    # epoch 1 is warm-up (oneDNN / cuDNN kernel selection, compilation); epoch 2 is timed
    return len(data.train.y) // BATCH * BATCH / result.metrics[1]["epoch_time_s"]


def cifar10_lt_epochs_per_second(device: torch.device, compile_model: bool) -> float:
    counts = np.array([round(5000 * 100 ** (-i / 9)) for i in range(10)])  # Cao et al.'s CIFAR-10-LT, rho = 100
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), counts)
    images = rng.integers(0, 256, size=(len(labels), 32, 32, 3), dtype=np.uint8)
    data = synthetic_data(images, labels, device)
    config = TrainConfig(
        method="ldam_drw", dataset="cifar10", epochs=4, batch_size=BATCH, progress=False, device=str(device),
        compile=compile_model, augment=True, seed=0,
    )  # fmt: skip
    result = train(config, data=data)
    times = [m["epoch_time_s"] for m in result.metrics[1:]]
    return 1.0 / float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per contender and round (default 6)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--compile", action="store_true", help="torch.compile in our loop (CUDA)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    rng = np.random.default_rng(0)
    samples = (args.steps + 1) * BATCH
    images = rng.integers(0, 256, size=(samples, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=samples)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    shape = f"batch {BATCH}, {args.steps} timed steps x {args.rounds} rounds"
    print(f"ResNet-32, CIFAR-shaped synthetic data, {shape}, {name}")
    data = synthetic_data(images, labels, device)
    bf16_label = "ours: + bf16 autocast" + (" (default on CUDA)" if device.type == "cuda" else " (--cpu-bf16)")
    labels_and_runs = [
        ("baseline: DataLoader + per-image numpy crop/flip, NCHW fp32",
         lambda: baseline_images_per_second(images, labels, args.steps, device)),
        ("ours: resident tensors, batched crop/flip, channels_last, fp32",
         lambda: ours_images_per_second(data, device, bf16=False, compile_model=args.compile)),
        (bf16_label, lambda: ours_images_per_second(data, device, bf16=True, compile_model=args.compile)),
    ]  # fmt: skip
    # Rounds interleave the contenders so that load from other processes hits them alike; medians are reported.
    measured: list[list[float]] = [[] for _ in labels_and_runs]
    for _ in range(args.rounds):
        for index, (_, run) in enumerate(labels_and_runs):
            measured[index].append(run())
    rows = [
        (label, float(np.median(values)), values) for (label, _), values in zip(labels_and_runs, measured, strict=True)
    ]
    base = rows[0][1]
    print(f"{'contender':66s} {'images/s (median)':>17s} {'ratio':>7s}  rounds")
    for label, value, values in rows:
        print(f"{label:66s} {value:17.1f} {value / base:6.2f}x  {', '.join(f'{v:.1f}' for v in values)}")
    if device.type == "cuda":
        rate = cifar10_lt_epochs_per_second(device, args.compile)
        print(f"CIFAR-10-LT (rho=100, 12406 images), LDAM-DRW loop: {rate:.2f} epochs/s")


if __name__ == "__main__":
    main()

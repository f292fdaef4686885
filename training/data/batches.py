"""Batches over device-resident tensors: a per-epoch index order from a generator, optional augmentation.

``BatchIterator.epoch(generator)`` draws *all* of the epoch's randomness (the order, and the crop
shifts and flips when augmenting) at once, on the generator's device, before returning; the
generator's state after the call therefore does not depend on how many batches the caller consumes,
which keeps a resumed run (generator state saved at an epoch boundary) bitwise equal to an
uninterrupted one on the CPU. Under DDP every rank passes the same generator state and its
``rank`` / ``world_size``: rank r gets the r-th contiguous chunk of every global batch, so the
global batches equal the single-process ones.

Sampling: "shuffle" (a random permutation per epoch), "sequential" (evaluation order), or
"class_balanced" (Kang et al. 2020, used by cRT and class-balanced re-sampling: each draw picks a
class uniformly, then a sample of that class uniformly, with replacement; an epoch has N draws).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, get_args

import torch

from ltbounds.checks import InputError

from .augment import crop_flip, pad_images
from .spec import Split

Sampling = Literal["shuffle", "sequential", "class_balanced"]
SAMPLINGS: tuple[str, ...] = get_args(Sampling)


def epoch_order(num_samples: int, generator: torch.Generator | None, shuffle: bool = True) -> torch.Tensor:
    """A permutation of 0..N-1 (identity when ``shuffle`` is False), on the generator's device."""
    device = generator.device if generator is not None else torch.device("cpu")
    if not shuffle:
        return torch.arange(num_samples, device=device)
    return torch.randperm(num_samples, generator=generator, device=device)


def class_balanced_order(
    labels: torch.Tensor, num_classes: int, generator: torch.Generator | None, num_draws: int | None = None
) -> torch.Tensor:
    """``num_draws`` (default N) indices: class c ~ Uniform{classes present}, then an index ~ Uniform{i : y_i = c}.

    Vectorised: indices sorted by class, class start offsets, one uniform per draw. Classes with no
    samples are never drawn. Drawn on the generator's device, returned on the labels' device.
    """
    device = generator.device if generator is not None else torch.device("cpu")
    labels_here = labels.to(device)
    num_draws = labels_here.shape[0] if num_draws is None else int(num_draws)
    counts = torch.bincount(labels_here, minlength=num_classes)
    present = torch.nonzero(counts > 0).flatten()
    if present.numel() == 0:
        raise InputError("class-balanced sampling needs at least one labelled sample")
    by_class = torch.argsort(labels_here, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    classes = present[torch.randint(0, present.numel(), (num_draws,), generator=generator, device=device)]
    within = (torch.rand(num_draws, generator=generator, device=device, dtype=torch.float64) * counts[classes]).long()
    within = torch.minimum(within, counts[classes] - 1)  # rand() < 1, but guard float rounding at the top
    return by_class[starts[classes] + within].to(labels.device)


@dataclass(frozen=True)
class EpochPlan:
    """One epoch's draws: sample ``order`` and, when augmenting, per-position crop ``shifts`` and ``flips``."""

    order: torch.Tensor
    shifts: torch.Tensor | None
    flips: torch.Tensor | None


class BatchIterator:
    """Mini-batches of a ``Split`` already on the device.

    ``padding`` > 0 turns on random-crop augmentation (the images are padded once here, with ``fill``,
    e.g. ``LongTailData.padding_fill()``); ``flip`` adds horizontal flips. ``drop_last`` drops a final
    short batch. ``channels_last`` keeps the padded images in that layout (faster convolutions on CUDA
    and oneDNN CPUs; the values are the same). ``len(iterator)`` is the number of batches per epoch.
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        sampling: Sampling = "shuffle",
        drop_last: bool = False,
        padding: int = 0,
        flip: bool = False,
        fill: torch.Tensor | float | None = None,
        num_classes: int | None = None,
        channels_last: bool = False,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        if sampling not in SAMPLINGS:
            raise InputError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
        if len(split) == 0:
            raise InputError("cannot iterate over an empty split")
        if (padding or flip) and split.x.ndim != 4:
            raise InputError(f"crop/flip augmentation needs (N, C, H, W) images, got shape {tuple(split.x.shape)}")
        self.split = split
        self.batch_size = batch_size
        self.sampling = sampling
        self.drop_last = drop_last
        self.padding = int(padding)
        self.flip = bool(flip)
        self.num_classes = int(split.y.max()) + 1 if num_classes is None else int(num_classes)
        self.augment = self.padding > 0 or self.flip
        self.padded = pad_images(split.x, self.padding, fill) if self.augment else None
        if self.padded is not None and channels_last:
            self.padded = self.padded.contiguous(memory_format=torch.channels_last)

    def __len__(self) -> int:
        count = len(self.split)
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)

    def plan(self, generator: torch.Generator | None) -> EpochPlan:
        """Draw the epoch: order, then shifts (N, 2), then flips (N,), all from ``generator``."""
        count = len(self.split)
        if self.sampling == "class_balanced":
            order = class_balanced_order(self.split.y, self.num_classes, generator, count)
        else:
            order = epoch_order(count, generator, shuffle=self.sampling == "shuffle")
        shifts = flips = None
        if self.augment:
            device = generator.device if generator is not None else torch.device("cpu")
            shifts = torch.randint(0, 2 * self.padding + 1, (count, 2), generator=generator, device=device)
            if self.flip:
                flips = torch.randint(0, 2, (count,), generator=generator, device=device).bool()
        device = self.split.x.device
        return EpochPlan(
            order.to(device),
            None if shifts is None else shifts.to(device),
            None if flips is None else flips.to(device),
        )

    def epoch(
        self, generator: torch.Generator | None, rank: int = 0, world_size: int = 1
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches (x, y) of one epoch; this rank's contiguous chunk of each global batch under DDP."""
        if not (isinstance(world_size, int) and world_size >= 1 and isinstance(rank, int) and 0 <= rank < world_size):
            raise InputError(f"need 0 <= rank < world_size, got rank={rank!r}, world_size={world_size!r}")
        return self._batches(self.plan(generator), rank, world_size)

    def _batches(self, plan: EpochPlan, rank: int, world_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for number in range(len(self)):
            positions = torch.arange(number * self.batch_size, min((number + 1) * self.batch_size, len(self.split)))
            positions = torch.tensor_split(positions, world_size)[rank].to(plan.order.device)
            indices = plan.order[positions]
            labels = self.split.y[indices]
            if self.augment:
                flips = None if plan.flips is None else plan.flips[positions]
                images = crop_flip(self.padded, plan.shifts[positions], flips, self.padding, indices)
            else:
                images = self.split.x[indices]
            yield images, labels

"""Random crop with zero padding and horizontal flip, as one batched gather on the device.

The standard CIFAR augmentation (``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip``, as in
Cao et al.'s code) without per-image Python: pad the training images once (``pad_images``), then
per batch draw one shift (dy, dx) in [0, 2p]^2 and one flip bit per image and read every output
pixel with a single advanced-indexing gather (``augment_batch``). The result has the
channels_last memory layout (shape N, C, H, W), which convolutions on GPUs prefer.
Deterministic given a ``torch.Generator``: the random draws happen on the generator's device.
"""

from __future__ import annotations

import torch

from ltbounds.checks import InputError


def pad_images(images: torch.Tensor, padding: int = 4, fill: torch.Tensor | float | None = None) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, H + 2p, W + 2p) with a constant border.

    ``fill``: per-channel values (C,) or a scalar; for normalised images pass ``LongTailData.padding_fill()``,
    the normalised value of a black pixel, so the border equals torchvision's zero padding before normalising.
    """
    _check_images(images, "images")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise InputError(f"padding must be a non-negative integer (pixels), got {padding!r}")
    count, channels, height, width = images.shape
    padded = images.new_empty((count, channels, height + 2 * padding, width + 2 * padding))
    if fill is None:
        padded.zero_()
    elif isinstance(fill, torch.Tensor) and fill.numel() == channels:
        padded.copy_(fill.to(images).reshape(1, channels, 1, 1).expand_as(padded))
    elif isinstance(fill, (int, float)):
        padded.fill_(float(fill))
    else:
        raise InputError(f"fill must be None, a number or a tensor of {channels} per-channel values, got {fill!r}")
    padded[:, :, padding : padding + height, padding : padding + width] = images
    return padded


def augment_batch(
    padded: torch.Tensor,
    generator: torch.Generator | None,
    padding: int = 4,
    flip: bool = True,
    indices: torch.Tensor | None = None,
) -> torch.Tensor:
    """Random (H, W) crops of pre-padded images, each flipped left-right with probability 1/2.

    ``padded`` is (N, C, H + 2p, W + 2p); ``indices`` (optional, int64) selects the batch rows so the
    selection and the crop are one gather. Output pixel (c, i, j) of image n is
    padded[n, c, dy_n + i, dx_n + (W - 1 - j if flip_n else j)], with dy_n, dx_n uniform on {0..2p}.
    Draw order per call: shifts (batch, 2), then flips (batch,), from ``generator``.
    """
    _check_images(padded, "padded")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise InputError(f"padding must be a non-negative integer (pixels), got {padding!r}")
    count, _, padded_height, padded_width = padded.shape
    height, width = padded_height - 2 * padding, padded_width - 2 * padding
    if height < 1 or width < 1:
        raise InputError(f"padded images of size {padded_height}x{padded_width} are too small for padding={padding}")
    draw_device = generator.device if generator is not None else torch.device("cpu")
    batch = count if indices is None else int(indices.shape[0])
    shifts = torch.randint(0, 2 * padding + 1, (batch, 2), generator=generator, device=draw_device)
    flips = torch.randint(0, 2, (batch,), generator=generator, device=draw_device).bool() if flip else None
    return crop_flip(padded, shifts, flips, padding, indices)


def crop_flip(
    padded: torch.Tensor,
    shifts: torch.Tensor,
    flips: torch.Tensor | None,
    padding: int,
    indices: torch.Tensor | None = None,
) -> torch.Tensor:
    """The deterministic half of ``augment_batch``: crops at given ``shifts`` (B, 2) = (dy, dx), flips (B,) bool."""
    count, _, padded_height, padded_width = padded.shape
    height, width = padded_height - 2 * padding, padded_width - 2 * padding
    device = padded.device
    rows_of_batch = torch.arange(count, device=device) if indices is None else indices.to(device, torch.int64)
    batch = rows_of_batch.shape[0]
    shifts = shifts.to(device)
    column_offsets = torch.arange(width, device=device).expand(batch, width)
    if flips is not None:
        column_offsets = torch.where(flips.to(device)[:, None], width - 1 - column_offsets, column_offsets)
    rows = shifts[:, 0:1] + torch.arange(height, device=device)  # (B, H)
    columns = shifts[:, 1:2] + column_offsets  # (B, W)
    # Advanced indices around a slice put the indexed dimensions first: (B, H, W, C), a channels_last NCHW view.
    gathered = padded[rows_of_batch[:, None, None], :, rows[:, :, None], columns[:, None, :]]
    return gathered.permute(0, 3, 1, 2)


def _check_images(images: torch.Tensor, name: str) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise InputError(f"{name} must be a (N, C, H, W) tensor of images, got {shape}")

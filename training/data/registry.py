"""``load_dataset``: the one pipeline from a ``DatasetSpec`` to long-tailed tensors on the device.

Every loader in ``DATASETS`` returns a ``RawData`` (balanced pool + test set); this module holds out
the balanced validation split, picks the long-tailed training subset (``longtail.long_tail_split``),
normalises and moves everything to the device once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ltbounds.checks import InputError

from . import cifar, embedded, gaussian, imagefolder
from .longtail import long_tail_counts, long_tail_split
from .raw import RawData, option_bool, option_int, resolve_options
from .spec import DATASET_NAMES, DatasetSpec, LongTailData, Split

Loader = Callable[[DatasetSpec, "str | None", Mapping[str, Any]], RawData]

DATASETS: dict[str, Loader] = {
    "mnist5k": embedded.load_mnist5k,
    "digits": embedded.load_digits,
    "gaussian": gaussian.load_gaussian,
    "two_moons": embedded.load_two_moons,
    "cifar10": cifar.load_cifar10,
    "cifar100": cifar.load_cifar100,
    "imagefolder": imagefolder.load_imagefolder,
}

DATASET_OPTIONS: dict[str, dict[str, Any]] = {
    "mnist5k": embedded.MNIST5K_OPTIONS,
    "digits": embedded.DIGITS_OPTIONS,
    "gaussian": gaussian.GAUSSIAN_OPTIONS,
    "two_moons": embedded.TWO_MOONS_OPTIONS,
    "cifar10": cifar.CIFAR_OPTIONS,
    "cifar100": cifar.CIFAR_OPTIONS,
    "imagefolder": imagefolder.IMAGEFOLDER_OPTIONS,
}


def load_dataset(spec: DatasetSpec, data_root: str | None = None, device: str | torch.device = "cpu") -> LongTailData:
    """Load ``spec`` as long-tailed train / balanced val / balanced test tensors on ``device``.

    Per class c of the balanced pool: val = the last round(val_fraction * min_c |pool_c|) samples of the
    seeded permutation, train = the first n_c of it with n = long_tail_counts(n_max, C, rho, profile) and
    n_max = min_c |pool_c| - |val_c| (or option ``n_max`` when smaller). The spec returned carries every
    option resolved to its value. ``data_root`` is needed by the local datasets (cifar10, cifar100, imagefolder).
    """
    if not isinstance(spec, DatasetSpec):
        raise InputError(f"spec must be a training.data.DatasetSpec, got {type(spec).__name__}")
    if spec.name not in DATASETS:
        raise InputError(f"unknown dataset {spec.name!r}; valid names: {', '.join(DATASETS)}")
    device = _check_device(device)
    options = resolve_options(spec.name, spec.options, DATASET_OPTIONS[spec.name])
    spec = replace(spec, options=options)
    raw = DATASETS[spec.name](spec, data_root, options)

    if raw.long_tail == "given":
        train_x, train_y = raw.pool_x, raw.pool_y
        if raw.val_x is None or raw.val_y is None:
            val_x, val_y = raw.pool_x[:0], raw.pool_y[:0]
        else:
            val_x, val_y = raw.val_x, raw.val_y
        class_counts = np.bincount(train_y, minlength=raw.num_classes).astype(np.int64)
    else:
        pool_sizes = np.bincount(raw.pool_y, minlength=raw.num_classes)
        smallest = int(pool_sizes.min())
        val_per_class = int(round(spec.val_fraction * smallest))
        n_max = smallest - val_per_class
        if options.get("n_max") is not None:
            requested = option_int(options, "n_max")
            if requested > n_max:
                raise InputError(
                    f"option n_max={requested} exceeds the {n_max} samples per class left in the pool of "
                    f"{spec.name!r} after holding out {val_per_class} per class for validation"
                )
            n_max = requested
        if n_max < 1:
            raise InputError(
                f"val_fraction={spec.val_fraction} leaves no training samples in the pool of {spec.name!r}"
            )
        class_counts = long_tail_counts(n_max, raw.num_classes, spec.imbalance, spec.profile)
        train_positions, val_positions = long_tail_split(raw.pool_y, class_counts, val_per_class, spec.seed)
        train_x, train_y = raw.pool_x[train_positions], raw.pool_y[train_positions]
        val_x, val_y = raw.pool_x[val_positions], raw.pool_y[val_positions]

    flatten = option_bool(options, "flatten") if "flatten" in options else False
    splits = [
        _to_split(x, y, raw, device, flatten) for x, y in ((train_x, train_y), (val_x, val_y), (raw.test_x, raw.test_y))
    ]
    return LongTailData(
        spec=spec,
        train=splits[0],
        val=splits[1],
        test=splits[2],
        class_counts=class_counts,
        num_classes=raw.num_classes,
        input_shape=tuple(splits[2].x.shape[1:]),
        population=raw.population,
        class_names=tuple(raw.class_names),
        mean=raw.mean,
        std=raw.std,
        augment_padding=0 if flatten else raw.augment_padding,
    )


def normalise(x: np.ndarray, raw: RawData, device: torch.device) -> torch.Tensor:
    """(x / scale - mean[channel]) / std[channel] as float32 on ``device`` (converted there, not on the host)."""
    tensor = torch.from_numpy(np.ascontiguousarray(x)).to(device)
    tensor = tensor.to(torch.float32)
    if raw.scale != 1.0:
        tensor = tensor / raw.scale
    if raw.mean is not None and raw.std is not None:
        shape = (1, len(raw.mean)) + (1,) * (tensor.ndim - 2)
        mean = torch.tensor(raw.mean, dtype=torch.float32, device=device).reshape(shape)
        std = torch.tensor(raw.std, dtype=torch.float32, device=device).reshape(shape)
        tensor = (tensor - mean) / std
    return tensor.contiguous()


def _to_split(x: np.ndarray, y: np.ndarray, raw: RawData, device: torch.device, flatten: bool) -> Split:
    tensor = normalise(x, raw, device)
    if flatten:
        tensor = tensor.reshape(tensor.shape[0], -1)
    labels = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)).to(device)
    return Split(tensor, labels)


def _check_device(device: str | torch.device) -> torch.device:
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise InputError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}") from error


assert set(DATASETS) <= set(DATASET_NAMES), "every registered dataset must be named in spec.DATASET_NAMES"

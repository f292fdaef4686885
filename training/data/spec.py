"""The data contracts: what a dataset is (``DatasetSpec``) and what loading gives (``LongTailData``).

A checkpoint stores ``dataclasses.asdict(spec)``; ``DatasetSpec.from_dict`` rebuilds it. The spec
returned inside ``LongTailData`` has every dataset option filled in with its default, so a stored
spec alone reproduces the data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch

from ltbounds.checks import InputError

DATASET_NAMES = ("mnist5k", "digits", "gaussian", "two_moons", "cifar10", "cifar100", "imagefolder")
PROFILES = ("exp", "step")


@dataclass(frozen=True)
class DatasetSpec:
    """Which data, how long-tailed, and with which seed.

    ``imbalance`` is rho = n_max / n_min (1 = balanced); ``profile`` is Cao et al.'s "exp" or "step";
    ``seed`` drives the per-class shuffle that picks the long-tailed subset; ``val_fraction`` of the
    balanced per-class pool is held out as a balanced validation split *before* the long-tail
    subsampling (never trained on; 0 gives Cao et al.'s protocol exactly, with an empty val split);
    ``options`` are dataset-specific (see ``training.data.DATASET_OPTIONS``).
    """

    name: str
    imbalance: float = 100.0
    profile: str = "exp"
    seed: int = 0
    val_fraction: float = 0.1
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in DATASET_NAMES:
            raise InputError(f"unknown dataset {self.name!r}; valid names: {', '.join(DATASET_NAMES)}")
        check_imbalance(self.imbalance)
        if self.profile not in PROFILES:
            raise InputError(f"profile must be one of {', '.join(PROFILES)}, got {self.profile!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise InputError(f"seed must be a non-negative integer, got {self.seed!r}")
        try:
            val_fraction = float(self.val_fraction)
        except (TypeError, ValueError) as error:
            raise InputError(f"val_fraction must be a number in [0, 1), got {self.val_fraction!r}") from error
        if not (0.0 <= val_fraction < 1.0):
            raise InputError(f"val_fraction must lie in [0, 1), got {self.val_fraction!r}; e.g. val_fraction=0.1")
        if not isinstance(self.options, Mapping) or not all(isinstance(key, str) for key in self.options):
            raise InputError(f"options must be a dict with string keys, got {self.options!r}")
        # Normalise types so asdict() is plain and equality does not depend on int vs float input.
        object.__setattr__(self, "imbalance", float(self.imbalance))
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "val_fraction", val_fraction)
        object.__setattr__(self, "options", dict(self.options))

    def __hash__(self) -> int:
        # The options dict is unhashable; hash its canonical JSON so specs can key caches.
        options = json.dumps(self.options, sort_keys=True, default=repr)
        return hash((self.name, self.imbalance, self.profile, self.seed, self.val_fraction, options))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DatasetSpec:
        """Rebuild a spec from ``dataclasses.asdict(spec)`` (e.g. read from a checkpoint)."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"dataset spec has unknown field(s) {unknown}; valid fields: {sorted(known)}")
        if "name" not in values:
            raise InputError("dataset spec needs a 'name'")
        return cls(**dict(values))


def check_imbalance(imbalance: Any, name: str = "imbalance") -> float:
    """rho = n_max / n_min: a finite number >= 1."""
    try:
        value = float(imbalance)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name} (rho = n_max / n_min) must be a number >= 1, got {imbalance!r}") from error
    if math.isnan(value) or math.isinf(value) or value < 1.0:
        raise InputError(
            f"{name} (rho = n_max / n_min) must be a finite number >= 1 (1 = balanced), got {imbalance!r}; "
            "e.g. 100 for CIFAR-10-LT"
        )
    return value


@dataclass(frozen=True)
class Split:
    """One split on the device: ``x`` float32 normalised, (N, C, H, W) images or (N, d) vectors; ``y`` int64."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to(self, device: str | torch.device) -> Split:
        return Split(self.x.to(device), self.y.to(device))


@dataclass(frozen=True)
class LongTailData:
    """A loaded long-tailed dataset.

    Fields after ``population`` are additions to the design contract, all with defaults:
    ``class_names``; ``mean`` / ``std`` (per channel, the normalisation applied, None if none);
    ``augment_padding`` (pixels of zero-image padding for random-crop augmentation, 0 = no crop/flip
    augmentation is customary for this data).
    """

    spec: DatasetSpec
    train: Split
    val: Split
    test: Split
    class_counts: np.ndarray
    num_classes: int
    input_shape: tuple[int, ...]
    population: object | None = None
    class_names: tuple[str, ...] = ()
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    augment_padding: int = 0

    def padding_fill(self) -> torch.Tensor | None:
        """Per-channel value of a black (all-zero) pixel after normalisation: the fill for crop padding."""
        if self.mean is None or self.std is None:
            return None
        mean = torch.tensor(self.mean, dtype=torch.float32)
        std = torch.tensor(self.std, dtype=torch.float32)
        return (-mean / std).to(self.train.x.device)

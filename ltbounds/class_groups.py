"""The Many / Medium / Few class groups of long-tail reporting, derived from training class counts.

One definition for the library, the trainer and the studies (``training`` and ``studies`` import
it from here, since ``ltbounds`` never imports ``training``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ltbounds.checks import InputError


def class_groups(class_counts: Any, many_above: int = 100, few_below: int = 20) -> np.ndarray:
    """Many (n > 100) / Medium (20 <= n <= 100) / Few (n < 20) label of each class, from *training* counts.

    The thresholds of Liu et al. (2019, OLTR), used by the decoupling and DRO-LT tables (drolt, tutorial).
    Returns an array of the strings "many", "medium", "few", index = class id.
    """
    counts = np.asarray(class_counts)
    if counts.ndim != 1 or counts.size == 0 or counts.dtype.kind not in "iuf":
        raise InputError(f"class_counts must be a non-empty 1-D array of per-class counts, got {counts!r}")
    if counts.dtype.kind == "f" and not np.all(np.isfinite(counts)):
        raise InputError("class_counts must be finite")
    if np.any(counts < 0):
        raise InputError(f"class_counts must be >= 0, got {counts.tolist()[:10]}")
    if not few_below <= many_above:
        raise InputError(f"few_below ({few_below}) must be <= many_above ({many_above})")
    groups = np.full(counts.shape, "medium", dtype="<U6")
    groups[counts > many_above] = "many"
    groups[counts < few_below] = "few"
    return groups

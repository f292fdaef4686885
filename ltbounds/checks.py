"""Input validation shared by losses, bounds and evaluation.

Every check raises ``InputError`` (a ``ValueError``) whose message names the offending argument and
says how to fix it, so a user never meets a silent NaN or a traceback from deep inside. The CLI
turns ``InputError`` into one line on stderr and exit code 2.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np


class InputError(ValueError):
    """Bad user input: the message names the argument and the fix."""


def _as_numpy(value: Any) -> np.ndarray:
    # Accept torch tensors without importing torch here.
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def check_delta(delta: float, name: str = "delta") -> float:
    """Confidence level: must be a finite number strictly inside (0, 1)."""
    try:
        value = float(delta)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name} must be a number in (0, 1), got {delta!r}") from error
    if not (0.0 < value < 1.0) or math.isnan(value):
        raise InputError(f"{name} must lie strictly inside (0, 1), got {delta!r}; e.g. {name}=0.05")
    return value


def check_chunk_size(chunk_size: Any, name: str = "chunk_size") -> int | None:
    """Rows per chunk of the chunked statistics: None (the default size) or a whole number >= 1."""
    if chunk_size is None:
        return None
    try:
        whole = not isinstance(chunk_size, bool) and int(chunk_size) == chunk_size
    except (TypeError, ValueError, OverflowError):  # "12", nan and inf are no number of rows
        whole = False
    if not whole or int(chunk_size) < 1:
        raise InputError(f"{name} must be a positive number of rows, got {chunk_size!r}; e.g. 4096")
    return int(chunk_size)


def _finite_sum(values: np.ndarray) -> bool:
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(values.sum()))


def check_finite(array: Any, name: str) -> np.ndarray:
    """Array with no NaN or infinity."""
    values = _as_numpy(array)
    # a finite sum means no NaN or infinity (either would make it non-finite): one pass without the (n, C)
    # boolean array; only a sum that overflows or is not finite needs the entrywise check
    if values.dtype.kind in "fc" and not _finite_sum(values) and not np.all(np.isfinite(values)):
        bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        raise InputError(f"{name} contains {bad} non-finite value(s) (NaN or inf); clean them first")
    return values


def check_matrix(array: Any, name: str, rows: int | None = None, columns: int | None = None) -> np.ndarray:
    """A finite 2-D float64 array, optionally with a given number of rows and/or columns."""
    values = check_finite(array, name)
    if values.ndim != 2:
        raise InputError(f"{name} must be 2-D (samples x features), got shape {values.shape}")
    if rows is not None and values.shape[0] != rows:
        raise InputError(f"{name} has {values.shape[0]} rows but {rows} were expected (one per sample)")
    if columns is not None and values.shape[1] != columns:
        raise InputError(f"{name} has {values.shape[1]} columns but {columns} were expected")
    return values.astype(np.float64, copy=False)


def check_class_counts(class_counts: Any, name: str = "class_counts", minimum: int = 1) -> np.ndarray:
    """1-D integer array of per-class training counts (index = class id), each >= ``minimum``."""
    counts = _as_numpy(class_counts)
    if counts.ndim != 1 or counts.size == 0:
        raise InputError(f"{name} must be a non-empty 1-D array of per-class counts, got shape {counts.shape}")
    if counts.dtype.kind == "f":
        if not np.all(np.isfinite(counts)) or not np.all(counts == np.round(counts)):
            raise InputError(f"{name} must hold whole numbers, got {counts.tolist()}")
    elif counts.dtype.kind not in "iu":
        raise InputError(f"{name} must be numeric, got dtype {counts.dtype}")
    counts = counts.astype(np.int64)
    small = np.flatnonzero(counts < minimum)
    if small.size:
        raise InputError(
            f"{name} must be >= {minimum} for every class; class(es) {small.tolist()[:10]} have "
            f"{counts[small].tolist()[:10]}: drop empty classes or merge them"
        )
    return counts


def check_labels(labels: Any, num_classes: int, name: str = "labels", length: int | None = None) -> np.ndarray:
    """1-D integer labels in [0, num_classes), optionally of a given length."""
    values = _as_numpy(labels)
    if values.ndim != 1:
        raise InputError(f"{name} must be 1-D (one class id per sample), got shape {values.shape}")
    if values.dtype.kind not in "iu":
        if values.dtype.kind == "f" and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            values = values.astype(np.int64)
        else:
            raise InputError(f"{name} must hold integer class ids, got dtype {values.dtype}")
    if length is not None and values.shape[0] != length:
        raise InputError(f"{name} has {values.shape[0]} entries but {length} samples were given")
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        raise InputError(f"{name} must lie in [0, {num_classes}); found {int(values.min())}..{int(values.max())}")
    return values.astype(np.int64, copy=False)


def _listed(values: Any) -> str:
    listed = np.asarray(values).tolist()
    return str(listed) if len(listed) <= 8 else f"{listed[:4]} ... {listed[-2:]} ({len(listed)} classes)"


def check_counts_match_labels(class_counts: Any, labels: Any, name: str = "class_counts", where: str = "train") -> None:
    """``class_counts`` must be the per-class counts of the training labels, ``np.bincount(labels)``.

    Every prior, margin and Many/Medium/Few group derives from ``class_counts``, while the empirical
    terms of a bound come from the training split's samples: when the two disagree (e.g. 10/10/10/10
    given for a split of 50/20/8/2) the bound mixes two datasets, so this is refused."""
    counts = np.asarray(class_counts, dtype=np.int64).reshape(-1)
    values = np.asarray(labels, dtype=np.int64).reshape(-1)
    if values.size and (values.min() < 0 or values.max() >= counts.size):
        raise InputError(f"the {where} labels must lie in [0, {counts.size}) to match {name}")
    actual = np.bincount(values, minlength=counts.size)
    if not np.array_equal(actual, counts):
        raise InputError(
            f"{name} {_listed(counts)} disagree with the per-class counts of the {where} labels "
            f"{_listed(actual)}: class_counts are the TRAINING counts, np.bincount(train labels); "
            "give the counts of the split you pass as 'train', or pass the whole training split"
        )


def check_every_class_present(labels: Any, num_classes: int, name: str = "test split") -> np.ndarray:
    """Per-class sample counts of ``labels``; the split must be non-empty and hold every class.

    A balanced risk is the mean over all C classes of the per-class risks: on a split missing a class
    it is undefined, and averaging over the classes present silently measures another quantity."""
    values = np.asarray(labels, dtype=np.int64).reshape(-1)
    if values.size == 0:
        raise InputError(
            f"the {name} is empty (0 samples): measured risks need a non-empty split with every class; "
            "export outputs on the balanced test set"
        )
    samples = np.bincount(values, minlength=num_classes)
    missing = np.flatnonzero(samples == 0)
    if missing.size:
        raise InputError(
            f"the {name} has no sample of class(es) {_listed(missing)} of {num_classes}: the balanced error "
            "averages over every class, so add samples of these classes to the split (or drop the classes "
            "from the model and from class_counts)"
        )
    return samples


def check_positive(value: Any, name: str, allow_zero: bool = False) -> float:
    """A finite number > 0 (>= 0 with ``allow_zero``), e.g. a hyper-parameter or a loss cap."""
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name} must be a number, got {value!r}") from error
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def error_reason(error: BaseException) -> str:
    """The first whole sentence of an exception's text, for one-line messages (never cut mid-word).

    torch.load's weights_only refusal opens with a generic paragraph; its line naming the refused
    global ("WeightsUnpickler error: Unsupported global: ...") is the reason, so that line is taken.
    """
    text = _ANSI.sub("", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    line = next((item for item in lines if "Unsupported global" in item or "WeightsUnpickler" in item), lines[0])
    match = re.match(r"(.+?[.!?])(\s|$)", line)
    return match.group(1) if match else line


def check_device(choice: str, option: str = "--device") -> str:
    """A torch device string that exists here: ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``, ...

    Refuses unknown names and devices this machine lacks (``cuda`` without CUDA, ``cuda:3`` with two
    GPUs) with one line naming ``option``, instead of torch's traceback at first use.
    """
    import torch

    if choice == "auto":
        return choice
    try:
        device = torch.device(choice)
    except (RuntimeError, TypeError, ValueError) as error:
        raise InputError(f"{option} {choice!r} is not a device; use auto, cpu, cuda or cuda:N") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"{option} {choice!r}: CUDA is not available on this machine; use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(
                f"{option} {choice!r}: this machine has {torch.cuda.device_count()} CUDA device(s) (0-based)"
            )
    elif device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise InputError(f"{option} {choice!r}: MPS is not available on this machine; use --device cpu or auto")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise InputError(f"{option} {choice!r}: ltbounds runs on cpu, cuda or mps; use one of those")
    return choice


def resolve_device(choice: str, option: str = "--device") -> str:
    """``check_device``, then ``auto`` made concrete: cuda when available, else cpu."""
    if check_device(choice, option) != "auto":
        return choice
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"

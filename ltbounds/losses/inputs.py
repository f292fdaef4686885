"""Validation of loss inputs (tensors) and the priors every loss derives from ``class_counts``.

Every check raises ``ltbounds.checks.InputError`` (a ``ValueError``) naming the argument, so a bad
call fails at the boundary instead of producing a silent NaN deep inside a training step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ltbounds.checks import InputError, check_class_counts

REDUCTIONS = ("mean", "sum", "none")


def as_counts(class_counts: Any, name: str = "class_counts") -> np.ndarray:
    """``class_counts`` as a 1-D int64 array with every count >= 1 (a prior needs positive counts)."""
    return check_class_counts(class_counts, name=name, minimum=1)


def priors(class_counts: Any) -> np.ndarray:
    """Empirical class priors pi_y = n_y / sum_k n_k (float64), from strictly positive counts."""
    counts = as_counts(class_counts).astype(np.float64)
    return counts / counts.sum()


def check_logits(logits: Any, name: str = "logits") -> torch.Tensor:
    """A finite floating tensor of shape (n, C) with C >= 2."""
    if not isinstance(logits, torch.Tensor):
        raise InputError(f"{name} must be a torch.Tensor of shape (n, C), got {type(logits).__name__}")
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise InputError(f"{name} must have shape (n, C) with C >= 2 classes, got {tuple(logits.shape)}")
    if not logits.is_floating_point():
        raise InputError(f"{name} must be a floating tensor (float32/float64), got {logits.dtype}")
    if not bool(torch.isfinite(logits).all()):
        bad = int((~torch.isfinite(logits)).sum())
        raise InputError(f"{name} contains {bad} non-finite value(s) (NaN or inf); check the model's outputs")
    return logits


def check_embeddings(embeddings: Any, rows: int | None = None, name: str = "embeddings") -> torch.Tensor:
    """A finite floating tensor of shape (n, d), optionally with ``rows`` rows."""
    if not isinstance(embeddings, torch.Tensor):
        raise InputError(f"{name} must be a torch.Tensor of shape (n, d), got {type(embeddings).__name__}")
    if embeddings.ndim != 2:
        raise InputError(f"{name} must have shape (n, d), got {tuple(embeddings.shape)}")
    if not embeddings.is_floating_point():
        raise InputError(f"{name} must be a floating tensor, got {embeddings.dtype}")
    if rows is not None and embeddings.shape[0] != rows:
        raise InputError(f"{name} has {embeddings.shape[0]} rows but labels has {rows} entries (one per sample)")
    if not bool(torch.isfinite(embeddings).all()):
        raise InputError(f"{name} contains non-finite values (NaN or inf)")
    return embeddings


def check_label_tensor(labels: Any, num_classes: int, length: int, name: str = "labels") -> torch.Tensor:
    """Integer class ids in [0, num_classes) of shape (length,), as int64."""
    if not isinstance(labels, torch.Tensor):
        raise InputError(f"{name} must be a torch.Tensor of int64 class ids, got {type(labels).__name__}")
    if labels.ndim != 1:
        raise InputError(f"{name} must be 1-D (one class id per sample), got shape {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.dtype == torch.bool or labels.is_complex():
        raise InputError(f"{name} must hold integer class ids, got dtype {labels.dtype}")
    if labels.shape[0] != length:
        raise InputError(f"{name} has {labels.shape[0]} entries but {length} samples were given")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise InputError(f"{name} must lie in [0, {num_classes}); found {int(labels.min())}..{int(labels.max())}")
    return labels.long()


def check_class_vector(values: Any, num_classes: int, name: str, like: torch.Tensor) -> torch.Tensor:
    """A per-class vector (C,) as a tensor on ``like``'s device and dtype; must be finite."""
    tensor = torch.as_tensor(values, dtype=like.dtype, device=like.device)
    if tensor.ndim == 0:
        tensor = tensor.expand(num_classes)
    if tensor.shape != (num_classes,):
        raise InputError(f"{name} must have one entry per class, shape ({num_classes},), got {tuple(tensor.shape)}")
    if not bool(torch.isfinite(tensor).all()):
        raise InputError(f"{name} contains non-finite values")
    return tensor


def check_counts_match(class_counts: np.ndarray, num_classes: int, name: str = "class_counts") -> None:
    """``class_counts`` must have one entry per logit column."""
    if class_counts.shape[0] != num_classes:
        raise InputError(
            f"{name} has {class_counts.shape[0]} classes but logits have {num_classes} columns; "
            "pass the training counts of the same classes"
        )


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise InputError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def reduce(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    """``mean`` is the plain batch mean (1/m) sum_i loss_i, as in wang23 Algorithm 1 line 9."""
    check_reduction(reduction)
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return per_sample.sum()
    return per_sample.mean()


def check_choice(value: str, choices: tuple[str, ...], name: str) -> str:
    if value not in choices:
        raise InputError(f"{name} must be one of {choices}, got {value!r}")
    return value

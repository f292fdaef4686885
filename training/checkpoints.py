"""Self-describing checkpoints: written atomically, loadable with ``torch.load(weights_only=True)``.

Format (docs/design.md, "Checkpoints")::

    {"format": "ltbounds.checkpoint", "format_version": 1,
     "model": {...build_model spec...}, "method": {"name", "hparams", "training", "hparams_id", ...},
     "dataset": {...DatasetSpec as a dict...}, "class_counts": [ints], "epoch": int, "epochs": int,
     "metrics": {...last epoch...}, "state": {"model", "optimizer", "loss", "rng"}, "versions": {...}}

``epoch`` is the number of finished epochs. Only tensors, numbers, strings, lists, dicts and None
are stored, so ``weights_only=True`` loads it without unpickling code. ``load_checkpoint`` fails
loudly (``InputError`` naming the path) on a missing, truncated, corrupt or foreign file; it never
falls back to a fresh model (a resume that silently ignores load errors is a known trap).
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ltbounds.artifacts import atomic_write_bytes, json_safe
from ltbounds.checks import InputError, error_reason

FORMAT = "ltbounds.checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("model", "method", "dataset", "class_counts", "epoch", "epochs", "metrics", "state", "versions")


def versions() -> dict[str, str]:
    from ltbounds import __version__

    return {
        "ltbounds": str(__version__),
        "torch": str(torch.__version__),
        "numpy": str(np.__version__),
        "python": sys.version.split()[0],
    }


def make_checkpoint(
    *,
    model_spec: dict[str, Any],
    method: dict[str, Any],
    dataset: dict[str, Any],
    class_counts: Any,
    epoch: int,
    epochs: int,
    metrics: dict[str, Any],
    state: dict[str, Any],
) -> dict[str, Any]:
    """Assemble the checkpoint dict; tensors in ``state`` are moved to the CPU."""

    def to_cpu(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu()
        if isinstance(value, dict):
            return {k: to_cpu(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [to_cpu(v) for v in value]
        return json_safe(value)

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": json_safe(model_spec),
        "method": json_safe(method),
        "dataset": json_safe(dataset),
        "class_counts": [int(c) for c in np.asarray(class_counts).tolist()],
        "epoch": int(epoch),
        "epochs": int(epochs),
        "metrics": json_safe(metrics),
        "state": to_cpu(state),
        "versions": versions(),
    }


def save_checkpoint(checkpoint: dict[str, Any], path: str | os.PathLike) -> Path:
    """Serialise to memory, then write via a temporary sibling and ``os.replace`` (never half-written)."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and validate an ltbounds checkpoint on the CPU with ``weights_only=True``."""
    target = Path(path)
    if not target.is_file():
        raise InputError(f"checkpoint {str(target)!r} does not exist (expected a .pt file written by ltbounds train)")
    try:
        checkpoint = torch.load(target, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means a bad file
        reason = error_reason(error)  # the whole first sentence (torch's explanation), never cut mid-word
        raise InputError(
            f"checkpoint {str(target)!r} is corrupt, truncated or not an ltbounds checkpoint ({reason})"
        ) from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise InputError(f"checkpoint {str(target)!r} is not an ltbounds checkpoint (no format={FORMAT!r} field)")
    if checkpoint.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"checkpoint {str(target)!r} has format_version {checkpoint.get('format_version')!r}; "
            f"this ltbounds reads version {FORMAT_VERSION}"
        )
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing or not isinstance(checkpoint.get("state"), dict) or "model" not in checkpoint["state"]:
        raise InputError(f"checkpoint {str(target)!r} is incomplete: missing {missing or ['state.model']}")
    return checkpoint


def model_from_checkpoint(checkpoint: dict[str, Any], device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model of a checkpoint, load its weights, return it in eval mode."""
    from training.models import build_model

    model = build_model(dict(checkpoint["model"]))
    try:
        model.load_state_dict(checkpoint["state"]["model"])
    except RuntimeError as error:
        raise InputError(f"checkpoint weights do not fit the model spec {checkpoint['model']!r}: {error}") from error
    return model.to(device).eval()

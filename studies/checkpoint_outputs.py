"""Checkpoint -> ``Outputs`` for the studies (through ``ltbounds.outputs.outputs_from_checkpoint``)."""

from __future__ import annotations

from pathlib import Path

from studies.runner import MissingPiece, available


def checkpoint_outputs(path: str | Path, splits: tuple[str, ...] = ("train", "test"), data_root: str | None = None):
    """(dict split -> Outputs, the checkpoint dict) for a checkpoint written by ``ltbounds train``."""
    if not available("training.checkpoints", "load_checkpoint"):
        raise MissingPiece("needs training.checkpoints.load_checkpoint")
    if not available("ltbounds.outputs", "outputs_from_checkpoint"):
        raise MissingPiece("needs ltbounds.outputs.outputs_from_checkpoint (checkpoint -> Outputs)")
    from ltbounds.outputs import outputs_from_checkpoint
    from training.checkpoints import load_checkpoint

    checkpoint = load_checkpoint(path)
    return outputs_from_checkpoint(checkpoint, splits, data_root=data_root, name=Path(path).stem), checkpoint

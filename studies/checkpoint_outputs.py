"""Checkpoint -> ``Outputs`` for the studies, through whichever constructor the library provides."""

from __future__ import annotations

from pathlib import Path

from studies.runner import MissingPiece, available


def checkpoint_outputs(path: str | Path, split: str = "train", data_root: str | None = None):
    """(Outputs of ``split``, the checkpoint dict) for a checkpoint written by ``ltbounds train``."""
    if not available("training.checkpoints", "load_checkpoint"):
        raise MissingPiece("needs training.checkpoints.load_checkpoint")
    from training.checkpoints import load_checkpoint

    checkpoint = load_checkpoint(path)
    if available("ltbounds.outputs", "outputs_from_checkpoint"):
        from ltbounds.outputs import outputs_from_checkpoint

        outputs = outputs_from_checkpoint(path, split=split, data_root=data_root)
        if isinstance(outputs, dict):
            outputs = outputs[split]
        return outputs, checkpoint
    raise MissingPiece("needs ltbounds.outputs.outputs_from_checkpoint (checkpoint -> Outputs)")

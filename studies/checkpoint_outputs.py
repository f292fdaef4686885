"""Checkpoint -> ``Outputs`` for the studies, reusing the process's loaded datasets.

The studies read many checkpoints of one dataset (snapshots through training), so each dataset is
loaded once (``studies.training_runs.dataset``) and handed to
``training.checkpoint_outputs.outputs_from_checkpoint``, which also records the training loss's parameters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studies.runner import MissingPiece
from studies.training_runs import dataset


def checkpoint_outputs(path: str | Path, splits: tuple[str, ...] = ("train", "test"), data_root: str | None = None):
    """(dict split -> Outputs, the checkpoint dict) for a checkpoint written by ``ltbounds train``."""
    from training.checkpoint_outputs import outputs_from_checkpoint
    from training.checkpoints import load_checkpoint

    checkpoint = load_checkpoint(path)
    spec = dict(checkpoint["dataset"])
    data = dataset(
        spec["name"],
        spec.get("imbalance", 100.0),
        spec.get("seed", 0),
        spec.get("options") or {},
        data_root,
        spec.get("profile", "exp"),
        spec.get("val_fraction", 0.1),
    )
    outputs = outputs_from_checkpoint(checkpoint, splits, data=data, name=Path(path).parent.name)
    return outputs, checkpoint


def layer_embeddings(checkpoint: dict, x) -> list[np.ndarray]:
    """The output of every ReLU of the model's embedding body (an MLP's hidden layers, a CNN's
    stages), flattened, for nearest-centroid accuracy by layer (drolt, Figure 3)."""
    import torch

    from training.checkpoints import model_from_checkpoint

    model = model_from_checkpoint(checkpoint, "cpu").eval()
    captured: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: captured.append(out.detach().flatten(1)))
        for m in model.modules()
        if isinstance(m, torch.nn.ReLU)
    ]
    layers: list[list[torch.Tensor]] = []
    try:
        with torch.inference_mode():
            for start in range(0, x.shape[0], 1024):
                captured.clear()
                model.embed(x[start : start + 1024])
                layers.append(list(captured))
    finally:
        for hook in hooks:
            hook.remove()
    if not layers or not layers[0]:
        raise MissingPiece("the model has no ReLU layers to read embeddings from")
    return [torch.cat([batch[i] for batch in layers]).double().numpy() for i in range(len(layers[0]))]

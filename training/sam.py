"""Sharpness-aware minimisation (Foret et al. 2021), usable on top of any method (wang23, Sec. 4.1).

One SAM step: g = grad L(w); move to w + e with e = rho * g / ||g||_2 (the worst case in an
L2 ball of radius rho to first order); take the gradient there; come back to w; let the base
optimiser step with that gradient. During the second forward pass BatchNorm running statistics are
frozen so the perturbed weights do not leak into the evaluation statistics.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch
from torch import nn


def _wide(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))


class SAM:
    """Ascent/restore around a base optimiser step; ``rho`` is the radius of the ball."""

    def __init__(self, params: Iterable[torch.nn.Parameter], rho: float = 0.05) -> None:
        if rho < 0:
            raise ValueError(f"rho must be >= 0, got {rho}")
        self.params = [p for p in params if p.requires_grad]
        self.rho = float(rho)
        self._offsets: list[tuple[torch.nn.Parameter, torch.Tensor]] = []

    @torch.no_grad()
    def ascend(self) -> None:
        """w <- w + rho g / ||g||, remembering the offset; call after the first backward."""
        grads = [p.grad for p in self.params if p.grad is not None]
        if not grads:
            return
        # Norms in at least float32 so bf16/fp16 gradients do not overflow; float64 stays float64.
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(_wide(g)) for g in grads]))
        scale = self.rho / (norm + 1e-12)
        self._offsets = []
        for p in self.params:
            if p.grad is None:
                continue
            offset = (_wide(p.grad) * scale).to(p.dtype)
            p.add_(offset)
            self._offsets.append((p, offset))

    @torch.no_grad()
    def restore(self) -> None:
        """Back to w; call after the second backward, before the base optimiser's step."""
        for p, offset in self._offsets:
            p.sub_(offset)
        self._offsets = []


@contextlib.contextmanager
def frozen_batch_norm_statistics(model: nn.Module) -> Iterator[None]:
    """BatchNorm layers normalise with the batch but do not update their running statistics."""
    saved = []
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            saved.append((module, module.momentum))
            module.momentum = 0.0
    try:
        yield
    finally:
        for module, momentum in saved:
            module.momentum = momentum

"""Learning-rate schedules of the papers, as pure functions of the epoch.

The step recipe is Cao et al.'s LDAM-DRW code (its public repository): a linear warm-up over the first
``warmup_epochs`` epochs (lr * (e + 1) / warmup), then the base lr times ``lr_decays[k]`` from
milestone k on (0-based epochs: 160 and 180 of 200 with factors 0.01 and 0.0001). The cosine recipe
(elm, Table 3, image folders) follows the same warm-up with lr * (1 + cos(pi * t)) / 2, t the
fraction of post-warm-up epochs done. The lr changes once per epoch, as in the reference code, so
the schedule has no state of its own and a resumed run lands on the same values.

The loss-side switches (DRW / ADRW re-weighting and TLA from epoch T0, wang23 Algorithm 1) live in the
loss modules and are driven by ``set_epoch``: on from 0-based epoch T0 on (the LDAM-DRW code's
``epoch // 160``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def learning_rate(
    epoch: int,
    *,
    base_lr: float,
    epochs: int,
    warmup_epochs: int = 0,
    schedule: str = "step",
    milestones: Sequence[int] = (),
    lr_decays: Sequence[float] = (),
) -> float:
    """The lr of 0-based ``epoch``: linear warm-up, then step decay or cosine annealing."""
    if epoch < warmup_epochs:
        return base_lr * (epoch + 1) / warmup_epochs
    if schedule == "cosine":
        span = max(epochs - warmup_epochs, 1)
        progress = min(max(epoch - warmup_epochs, 0) / span, 1.0)
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule != "step":
        raise ValueError(f"schedule must be 'step' or 'cosine', got {schedule!r}")
    factor = 1.0
    for milestone, decay in zip(milestones, lr_decays, strict=True):
        if epoch >= milestone:
            factor = decay
    return base_lr * factor

"""``EvaluationSplits``: what a statement evaluator sees for one checkpoint, and the evaluation
context computed once per checkpoint (instead of global caches in the maths modules).

Two rules every evaluator shares live here and nowhere else:

- ``fixed_model_samples``: which split certifies a bound that needs a model fixed before the sample
  (the held-out split, when there is one and it holds every class; the training split follows,
  for illustration only: the model was fitted on it).
- ``measurement_split``: the split on which the quantity a bound is about is measured (test, else
  held-out).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from ltbounds.outputs import Outputs

T = TypeVar("T")


@dataclass(frozen=True)
class EvaluationSplits:
    """What a statement evaluator sees for one checkpoint.

    ``train``: the training split (empirical terms). ``heldout``: a split the model never trained on,
    used for bounds that need a fixed model (certified there). ``test``: the balanced test split on
    which ``measured`` risks are computed. ``heldout`` and ``test`` may be the same object.
    """

    train: Outputs
    heldout: Outputs | None = None
    test: Outputs | None = None
    # rows per chunk of the chunked statistics (``statements.statistics``); None: about 2^20 entries a block
    chunk_size: int | None = field(default=None, compare=False)
    # progress(total, label) -> a bar with update(n)/close() over a statistic's chunks; None: silent
    progress: Callable[[int, str], Any] | None = field(default=None, compare=False, repr=False)
    # quantities computed once per checkpoint and shared by every statement (see ``computed``)
    _context: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def computed(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for on these splits, the same value afterwards.

        Keys name what is computed and from which split, e.g. ``("elm.pull", "train")``.
        """
        if key not in self._context:
            self._context[key] = compute()
        return self._context[key]

    def fixed_model_samples(self) -> list[tuple[Outputs, bool]]:
        """(outputs, certifies): the held-out split certifies a fixed-model bound when it exists and
        holds every class; the training split follows and only illustrates (the model saw it)."""
        samples: list[tuple[Any, bool]] = []
        heldout = self.heldout
        if heldout is not None and np.all(np.bincount(heldout.labels, minlength=heldout.num_classes) > 0):
            samples.append((heldout, True))
        samples.append((self.train, False))
        return samples

    def measurement_split(self) -> Outputs | None:
        """The split on which measured risks are computed: test, else held-out (None: nothing to measure)."""
        return self.test if self.test is not None else self.heldout

"""Public Hypothesis strategies for property-testing long-tail losses (yours or ours).

Each strategy is deterministic under Hypothesis' control (no hidden global RNG), so failures shrink
and replay. Class counts follow the two standard long-tail profiles with imbalance ratio
rho = n_max / n_min up to 1000 and may include a class with exactly two samples; logits include
ties and huge values (|f| up to 1e4 by default); embeddings are clustered by class.

Types: ``labels``, ``logits``, ``embeddings`` are torch tensors; ``class_counts`` is a NumPy int64
array, as every ``ltbounds`` loss and bound takes it (``losses.REGISTRY[name](class_counts)``,
``Outputs.class_counts``): convert it with ``torch.as_tensor`` where your own loss wants a tensor.

Example -- property-test your own loss (the README's example, run by ``tests/test_habits.py``)::

    import torch
    from hypothesis import given
    from ltbounds import strategies as lts

    def my_loss(logits, labels, class_counts):  # logit-adjusted CE, as an example
        prior = torch.as_tensor(class_counts, dtype=logits.dtype) / int(class_counts.sum())
        return torch.nn.functional.cross_entropy(logits + torch.log(prior), labels)

    @given(lts.loss_inputs())
    def test_my_loss_is_finite(case):
        assert torch.isfinite(my_loss(case.logits, case.labels, case.class_counts)).all()

Strategies: ``class_counts``, ``labels``, ``logits``, ``embeddings``, ``loss_inputs`` (a ``LossCase``).

Synthetic checkpoints: ``gaussian_outputs`` builds one split's ``ltbounds.outputs.Outputs`` of a linear head
on Gaussian classes, without training (the one builder the tests and benchmarks share, issue 13).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ltbounds.checks import InputError

if TYPE_CHECKING:
    from ltbounds.outputs import Outputs

PROFILES = ("exp", "step")


def long_tail_profile(num_classes: int, n_min: int, ratio: float, profile: str) -> np.ndarray:
    """Counts (descending, class 0 = head) with n_C = n_min and n_1 = round(n_min * ratio):
    "exp" n_i = n_min ratio^{(C-1-i)/(C-1)}; "step" the first half n_min ratio, the rest n_min."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    index = np.arange(num_classes)
    if profile == "exp":
        exponent = (num_classes - 1 - index) / max(num_classes - 1, 1)
        counts = n_min * np.power(float(ratio), exponent)
    else:
        counts = np.where(index < (num_classes + 1) // 2, n_min * float(ratio), float(n_min))
    return np.maximum(np.round(counts), n_min).astype(np.int64)


@st.composite
def class_counts(
    draw,
    min_classes: int = 2,
    max_classes: int = 10,
    max_ratio: float = 1000.0,
    profiles: tuple[str, ...] = PROFILES,
    min_count: int = 2,
    max_min_count: int = 20,
    shuffle: bool = False,
) -> np.ndarray:
    """Long-tailed training counts (1-D int64): profile "exp" or "step", ratio rho in [1, ``max_ratio``]
    (the extremes 1 and ``max_ratio`` are drawn explicitly), smallest count in [``min_count``,
    ``max_min_count``] (shrinks to ``min_count`` = 2: a class with exactly two samples). Descending
    unless ``shuffle``."""
    num_classes = draw(st.integers(min_classes, max_classes))
    profile = draw(st.sampled_from(profiles))
    ratio = draw(st.one_of(st.sampled_from([1.0, float(max_ratio)]), st.floats(1.0, float(max_ratio))))
    n_min = draw(st.integers(min_count, max(min_count, max_min_count)))
    counts = long_tail_profile(num_classes, n_min, ratio, profile)
    if shuffle:
        counts = np.asarray(draw(st.permutations(counts.tolist())), dtype=np.int64)
    return counts


@st.composite
def labels(draw, class_counts: np.ndarray, size: int | None = None, max_size: int = 64, cover: bool = False):
    """Class ids (int64 tensor) drawn from the prior pi = class_counts / sum: uniform draws u in [0, 1)
    mapped through the prior's CDF (so Hypothesis can shrink them). ``size`` fixed or in [1, max_size];
    ``cover`` prepends one sample of every class."""
    counts = np.asarray(class_counts, dtype=np.float64)
    cdf = np.cumsum(counts) / counts.sum()
    n = size if size is not None else draw(st.integers(1, max_size))
    uniforms = draw(hnp.arrays(np.float64, n, elements=st.floats(0.0, 1.0, exclude_max=True)))
    ids = np.minimum(np.searchsorted(cdf, uniforms, side="right"), counts.shape[0] - 1)
    if cover:
        ids = np.concatenate([np.arange(counts.shape[0]), ids])
    return torch.as_tensor(ids, dtype=torch.int64)


@st.composite
def logits(
    draw,
    num_samples: int,
    num_classes: int,
    max_magnitude: float = 1e4,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Logits (num_samples, num_classes): finite floats in [-max_magnitude, max_magnitude], mixed with
    exact ties (0, +-1) and the extremes +-max_magnitude. Hypothesis' array fill repeats values, so
    whole rows of ties are common."""
    special = st.sampled_from([0.0, 1.0, -1.0, float(max_magnitude), -float(max_magnitude)])
    small = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)
    wide = st.floats(-float(max_magnitude), float(max_magnitude), allow_nan=False, allow_infinity=False)
    values = draw(hnp.arrays(np.float64, (num_samples, num_classes), elements=st.one_of(special, small, wide)))
    return torch.as_tensor(values, dtype=dtype)


@st.composite
def embeddings(
    draw,
    labels: torch.Tensor,
    dim: int = 3,
    num_classes: int | None = None,
    separation: float = 4.0,
    spread: float = 1.0,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Embeddings (n, dim) clustered by class: a class centre in [-separation, separation]^dim plus a
    per-sample offset in [-spread, spread]^dim (offsets may repeat: coincident points are drawn too)."""
    label_array = np.asarray(labels)
    classes = num_classes if num_classes is not None else int(label_array.max()) + 1 if label_array.size else 1
    box = st.floats(-float(separation), float(separation), allow_nan=False)
    centres = draw(hnp.arrays(np.float64, (classes, dim), elements=box))
    offset = st.floats(-float(spread), float(spread), allow_nan=False)
    offsets = draw(hnp.arrays(np.float64, (label_array.shape[0], dim), elements=offset))
    return torch.as_tensor(centres[label_array] + offsets, dtype=dtype)


@dataclass(frozen=True)
class LossCase:
    """One drawn input: training ``class_counts`` (NumPy int64 array, not a tensor), a batch of
    ``labels`` (int64 tensor), ``logits`` (n, C) and clustered ``embeddings`` (n, d) (tensors)."""

    class_counts: np.ndarray
    labels: torch.Tensor
    logits: torch.Tensor
    embeddings: torch.Tensor


@st.composite
def loss_inputs(
    draw,
    max_classes: int = 8,
    max_batch: int = 32,
    max_ratio: float = 1000.0,
    max_magnitude: float = 1e4,
    dim: int = 3,
    dtype: torch.dtype = torch.float64,
) -> LossCase:
    """A whole ``LossCase``: long-tailed counts, a batch of labels drawn from them, logits with ties and
    values up to ``max_magnitude``, and embeddings clustered by class."""
    counts = draw(class_counts(max_classes=max_classes, max_ratio=max_ratio))
    batch_labels = draw(labels(counts, max_size=max_batch))
    batch_logits = draw(logits(batch_labels.shape[0], counts.shape[0], max_magnitude, dtype))
    batch_embeddings = draw(embeddings(batch_labels, dim=dim, num_classes=counts.shape[0], dtype=dtype))
    return LossCase(counts, batch_labels, batch_logits, batch_embeddings)


def gaussian_outputs(
    class_counts: Any,
    per_class: Any,
    split: str = "train",
    *,
    seed: int | np.random.Generator = 0,
    means: Any = None,
    dim: int = 8,
    spread: float = 1.5,
    means_seed: int = 1234,
    noise: float = 1.0,
    head: str | tuple[Any, Any] = "bayes",
    **fields: Any,
) -> Outputs:
    """One split of a synthetic checkpoint: a linear head on Gaussian classes, drawn without training.

    Samples: ``per_class[y]`` points of class y (labels sorted by class, a scalar means that many of every
    class), x = mu_y + noise * N(0, I) drawn with ``seed`` (a ``np.random.Generator`` is drawn from as it is,
    so one generator can draw a head and then several splits). Class means mu (C, d): ``means`` if given, else
    ``spread * N(0, I)`` drawn with ``means_seed`` (one model's splits share its means: vary ``seed`` only).

    Head (the ``head_weight``/``head_bias`` of the outputs; logits = x W^T + b):

    - ``"bayes"``: W = mu, b_y = log pi_y - |mu_y|^2 / 2 with pi = class_counts / N. With noise = 1 these
      are the exact training posterior's logits up to a constant, so post-hoc logit adjustment is the
      Bayes-balanced rule (tutorial, Theorem 1's premise).
    - ``"means"``: W = mu, b = 0.
    - a pair (W, b) given by the caller.

    ``class_counts`` are the model's training counts (the split's own sizes are ``per_class``); ``fields``
    go to ``Outputs`` as they are (name, method, metadata, head_kind, ...). Deterministic in its arguments.
    """
    from ltbounds.outputs import Outputs  # lazily: `import ltbounds.strategies` stays torch + NumPy only

    counts = np.asarray(class_counts)
    classes = counts.shape[0]
    if means is None:
        means = np.random.default_rng(means_seed).normal(size=(classes, dim)) * spread
    means = np.asarray(means, dtype=np.float64)
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), per_class)
    embeddings = means[labels] + rng.normal(size=(labels.size, means.shape[1])) * noise
    if head == "bayes":
        weight, bias = means, np.log(counts / counts.sum()) - 0.5 * (means**2).sum(axis=1)
    elif head == "means":
        weight, bias = means, np.zeros(classes)
    elif isinstance(head, tuple) and len(head) == 2:
        weight, bias = (np.asarray(part, dtype=np.float64) for part in head)
    else:
        raise InputError(f"head must be 'bayes', 'means' or a (weight, bias) pair, got {head!r}")
    # Outputs(logits, embeddings, labels, head_weight, head_bias, class_counts, split, ...)
    return Outputs(embeddings @ weight.T + bias, embeddings, labels, weight, bias, counts, split, **fields)

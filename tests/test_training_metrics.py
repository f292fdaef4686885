"""training.metrics: the torch twin of ltbounds.per_class gives the same per-class values on random logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ltbounds import per_class
from ltbounds.checks import InputError
from training import metrics

NUM_CLASSES = 4

# float64 logits with ties and extremes (0, +-1, +-1e4 repeat), labels that often leave a class empty.
logits_and_labels = st.integers(1, 12).flatmap(
    lambda n: st.tuples(
        arrays(
            np.float64,
            (n, NUM_CLASSES),
            elements=st.sampled_from([0.0, 1.0, -1.0, 1e4, -1e4, 0.5]) | st.floats(-1e4, 1e4),
        ),
        arrays(np.int64, n, elements=st.integers(0, NUM_CLASSES - 1)),
    )
)


def _same(torch_values: torch.Tensor, numpy_values: np.ndarray) -> None:
    """Equal per class, NaN exactly where NumPy has NaN (an empty class)."""
    got = torch_values.cpu().numpy()
    assert got.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(got), np.isnan(numpy_values))
    np.testing.assert_allclose(got, numpy_values, rtol=1e-12, atol=0.0, equal_nan=True)


@given(logits_and_labels)
def test_torch_twin_equals_numpy_per_class(pair):
    logits, labels = pair
    tl, ty = torch.from_numpy(logits), torch.from_numpy(labels)
    np.testing.assert_array_equal(
        metrics.class_sizes(ty, NUM_CLASSES).numpy(), per_class.class_sizes(labels, NUM_CLASSES)
    )
    _same(metrics.class_accuracy(tl, ty, NUM_CLASSES), per_class.class_accuracy(logits, labels, NUM_CLASSES))
    lower, upper = metrics.logit_extremes(tl, ty, NUM_CLASSES)
    lower_np, upper_np = per_class.logit_extremes(logits, labels, NUM_CLASSES)
    _same(lower, lower_np)
    _same(upper, upper_np)
    _same(metrics.class_margins(tl, ty, NUM_CLASSES), per_class.class_margins(logits, labels, NUM_CLASSES))
    values = logits[:, 0]
    _same(
        metrics.class_means(torch.from_numpy(values), ty, NUM_CLASSES),
        per_class.class_means(values, labels, NUM_CLASSES),
    )


def test_an_empty_class_is_nan_never_zero():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 1.0]])
    labels = torch.tensor([0, 1])
    lower, upper = metrics.logit_extremes(logits, labels, 3)
    assert torch.isnan(lower[2]) and torch.isnan(upper[2]) and torch.isnan(metrics.class_margins(logits, labels, 3)[2])
    assert torch.isnan(metrics.class_accuracy(logits, labels, 3)[2])
    assert lower[:2].tolist() == [2.0, 3.0] and upper[:2].tolist() == [0.0, 1.0]


def test_one_class_logits_are_refused():
    with pytest.raises(InputError, match="at least 2 classes"):
        metrics.class_margins(torch.zeros(3, 1), torch.zeros(3, dtype=torch.int64), 1)

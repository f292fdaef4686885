"""training.metrics: per-sample values on the device, reduced by ltbounds.per_class, equal the NumPy originals."""

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


def _same(got: np.ndarray, expected: np.ndarray) -> None:
    """Equal per class or sample, NaN exactly where NumPy has NaN (an empty class)."""
    assert got.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0.0, equal_nan=True)


@given(logits_and_labels)
def test_device_metrics_equal_numpy_per_class(pair):
    logits, labels = pair
    tl, ty = torch.from_numpy(logits), torch.from_numpy(labels)
    _same(metrics.target_logits(tl, ty).numpy(), per_class.target_logits(logits, labels))
    _same(metrics.other_max_logits(tl, ty).numpy(), per_class.other_max_logits(logits, labels))
    _same(metrics.class_accuracy(tl, ty, NUM_CLASSES), per_class.class_accuracy(logits, labels, NUM_CLASSES))
    lower, upper = metrics.logit_extremes(tl, ty, NUM_CLASSES)
    lower_np, upper_np = per_class.logit_extremes(logits, labels, NUM_CLASSES)
    _same(lower, lower_np)
    _same(upper, upper_np)
    _same(metrics.class_margins(tl, ty, NUM_CLASSES), per_class.class_margins(logits, labels, NUM_CLASSES))


def test_an_empty_class_is_nan_never_zero():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 1.0]])
    labels = torch.tensor([0, 1])
    lower, upper = metrics.logit_extremes(logits, labels, 3)
    assert np.isnan(lower[2]) and np.isnan(upper[2]) and np.isnan(metrics.class_margins(logits, labels, 3)[2])
    assert np.isnan(metrics.class_accuracy(logits, labels, 3)[2])
    assert lower[:2].tolist() == [2.0, 3.0] and upper[:2].tolist() == [0.0, 1.0]


def test_one_class_logits_are_refused():
    with pytest.raises(InputError, match="at least 2 classes"):
        metrics.class_margins(torch.zeros(3, 1), torch.zeros(3, dtype=torch.int64), 1)

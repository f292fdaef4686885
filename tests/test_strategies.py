"""The public Hypothesis strategies: they produce what their docstrings promise, including the nasty
cases (a class with exactly two samples, rho = 1000, ties, 1e4-sized logits), and the README example
(property-testing a user's loss in three lines) runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import find, given, settings
from hypothesis import strategies as st

from ltbounds import losses
from ltbounds import strategies as lts
from ltbounds.checks import InputError


@given(lts.class_counts(max_ratio=1000.0))
def test_class_counts_are_long_tailed_with_ratio_at_most_max_and_at_least_two_per_class(counts):
    assert counts.dtype == np.int64 and counts.ndim == 1 and 2 <= counts.shape[0] <= 10
    assert counts.min() >= 2
    assert np.all(np.diff(counts) <= 0)  # descending: class 0 is the head
    assert counts.max() / counts.min() <= 1000.0 * (1 + 1e-9) + 1.0 / counts.min()


def test_class_counts_reach_a_class_with_exactly_two_samples_and_ratio_1000():
    assert find(lts.class_counts(), lambda c: c.min() == 2).min() == 2
    extreme = find(lts.class_counts(), lambda c: c.max() / c.min() >= 1000.0)
    assert extreme.max() / extreme.min() >= 1000.0


@pytest.mark.parametrize("profile", ["exp", "step"])
def test_long_tail_profiles_have_the_requested_shape(profile):
    counts = lts.long_tail_profile(10, 5, 100.0, profile)
    assert counts[0] == 500 and counts[-1] == 5
    if profile == "step":
        assert set(counts.tolist()) == {500, 5}
    else:
        assert np.allclose(np.log(counts), np.linspace(np.log(500), np.log(5), 10), atol=0.1)


@given(st.data())
def test_labels_lie_in_range_and_cover_every_class_when_asked(data):
    counts = data.draw(lts.class_counts())
    drawn = data.draw(lts.labels(counts, cover=True))
    assert drawn.dtype == torch.int64
    assert int(drawn.min()) >= 0 and int(drawn.max()) < counts.shape[0]
    assert set(drawn.tolist()) == set(range(counts.shape[0]))


def test_labels_map_uniform_draws_through_the_prior_cdf():
    # u in [0, 0.9) -> class 0, [0.9, 0.99) -> class 1, [0.99, 1) -> class 2 for counts 900/90/10
    counts = np.array([900, 90, 10])
    low = find(lts.labels(counts, size=3), lambda x: True)  # the minimal draw: every u = 0
    assert low.tolist() == [0, 0, 0]
    rare = find(lts.labels(counts, size=1), lambda x: int(x[0]) == 2)
    assert rare.tolist() == [2]


@given(st.data())
def test_logits_are_finite_bounded_and_shaped(data):
    rows, cols = data.draw(st.integers(1, 6)), data.draw(st.integers(2, 5))
    values = data.draw(lts.logits(rows, cols, max_magnitude=1e4, dtype=torch.float32))
    assert values.shape == (rows, cols) and values.dtype == torch.float32
    assert torch.isfinite(values).all() and float(values.abs().max()) <= 1e4


def test_logits_include_ties_and_huge_values():
    tie = find(lts.logits(3, 4), lambda x: bool((x.max(dim=1).values == x.min(dim=1).values).any()))
    assert bool((tie.max(dim=1).values == tie.min(dim=1).values).any())
    huge = find(lts.logits(3, 4), lambda x: float(x.abs().max()) >= 1e4)
    assert float(huge.abs().max()) == 1e4


@settings(max_examples=30)
@given(st.data())
def test_embeddings_are_clustered_by_class(data):
    counts = data.draw(lts.class_counts(max_classes=5))
    drawn = data.draw(lts.labels(counts, max_size=20))
    points = data.draw(lts.embeddings(drawn, dim=4, num_classes=counts.shape[0], separation=4.0, spread=0.5))
    assert points.shape == (drawn.shape[0], 4)
    for cls in torch.unique(drawn).tolist():
        members = points[drawn == cls]
        assert float((members.max(0).values - members.min(0).values).max()) <= 2 * 0.5 + 1e-9


@settings(max_examples=30)
@given(lts.loss_inputs())
def test_loss_inputs_are_mutually_consistent(case):
    n = case.labels.shape[0]
    assert case.logits.shape == (n, case.class_counts.shape[0])
    assert case.embeddings.shape[0] == n
    assert int(case.labels.max()) < case.class_counts.shape[0]


# The README example, verbatim in spirit: a user's own loss, property-tested in three lines.
def my_loss(logits, labels, class_counts):
    return losses.logit_adjusted_loss(logits, labels, class_counts, tau=1.0)


@settings(max_examples=30)
@given(lts.loss_inputs())
def test_readme_example_property_tests_a_users_loss(case):
    assert torch.isfinite(my_loss(case.logits, case.labels, case.class_counts)).all()


# ---------------------------------------------------------------- the synthetic-checkpoint builder


def test_gaussian_outputs_draws_the_documented_model_and_heads():
    counts = np.array([40, 10, 3])
    out = lts.gaussian_outputs(counts, [5, 4, 2], "val", seed=3, dim=4, spread=2.0, means_seed=7, name="m")
    means = np.random.default_rng(7).normal(size=(3, 4)) * 2.0
    x = means[np.repeat(np.arange(3), [5, 4, 2])] + np.random.default_rng(3).normal(size=(11, 4))
    bias = np.log(counts / counts.sum()) - 0.5 * (means**2).sum(axis=1)
    np.testing.assert_array_equal(out.labels, [0] * 5 + [1] * 4 + [2] * 2)
    np.testing.assert_allclose(out.embeddings, x)
    np.testing.assert_allclose(out.logits, x @ means.T + bias)
    assert out.split == "val" and out.name == "m" and list(out.class_counts) == [40, 10, 3]
    # "bayes": argmax of the logits is the training posterior's, log pi_y + log N(x; mu_y, I)
    posterior = np.log(counts / counts.sum()) - 0.5 * ((x[:, None, :] - means[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(out.logits.argmax(axis=1), posterior.argmax(axis=1))
    zero = lts.gaussian_outputs(counts, 2, means=means, head="means")
    assert zero.labels.tolist() == [0, 0, 1, 1, 2, 2] and not zero.head_bias.any()
    given_head = lts.gaussian_outputs(counts, 2, means=means, head=(means * 0.5, np.ones(3)))
    np.testing.assert_allclose(given_head.logits, given_head.embeddings @ (means * 0.5).T + 1.0)
    with pytest.raises(InputError, match="head"):
        lts.gaussian_outputs(counts, 2, head="cosine")

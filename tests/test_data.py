"""training.data: long-tail counts and subsets (Cao et al.'s protocol), groups, embedded datasets, specs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltbounds.checks import InputError
from training.data import (
    DATASETS,
    DatasetSpec,
    class_groups,
    load_dataset,
    long_tail_counts,
    long_tail_split,
)

imbalances = st.one_of(st.sampled_from([1.0, 10.0, 100.0, 1000.0]), st.floats(1.0, 1000.0))


# -- counts --------------------------------------------------------------------------------------
def test_exp_counts_match_cao_et_al_cifar10_lt():
    assert long_tail_counts(5000, 10, 100, "exp").tolist() == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert long_tail_counts(5000, 10, 10, "exp").tolist() == [5000, 3871, 2997, 2320, 1796, 1391, 1077, 834, 645, 500]


def test_step_counts_are_half_head_half_tail():
    assert long_tail_counts(5000, 10, 100, "step").tolist() == [5000] * 5 + [50] * 5
    assert long_tail_counts(100, 3, 10, "step").tolist() == [100, 100, 10]


@given(
    n_max=st.integers(1, 6000),
    num_classes=st.integers(1, 120),
    imbalance=imbalances,
    profile=st.sampled_from(["exp", "step"]),
)
def test_counts_are_non_increasing_from_n_max_to_n_max_over_rho(n_max, num_classes, imbalance, profile):
    if num_classes > 1 and int(n_max * (1.0 / imbalance)) < 1:
        with pytest.raises(InputError, match="imbalance"):
            long_tail_counts(n_max, num_classes, imbalance, profile)
        return
    counts = long_tail_counts(n_max, num_classes, imbalance, profile)
    assert counts.dtype == np.int64 and counts.shape == (num_classes,)
    assert counts[0] == n_max
    assert np.all(np.diff(counts) <= 0)
    assert counts.min() >= 1
    if num_classes > 1:
        # int() floors; the float expression may land a hair under an integer, hence the 1-sample slack.
        assert abs(counts[-1] - n_max / imbalance) <= 1


@given(
    n_max=st.integers(1, 2000),
    num_classes=st.integers(2, 50),
    low=imbalances,
    high=imbalances,
    profile=st.sampled_from(["exp", "step"]),
)
def test_counts_shrink_as_rho_grows(n_max, num_classes, low, high, profile):
    low, high = sorted((low, high))
    if int(n_max * (1.0 / high)) < 1:
        return
    assert np.all(
        long_tail_counts(n_max, num_classes, high, profile) <= long_tail_counts(n_max, num_classes, low, profile)
    )


@pytest.mark.parametrize("bad", [0.5, 0.0, -3, float("nan"), float("inf"), "ten"])
def test_rho_below_one_or_not_a_number_is_refused(bad):
    with pytest.raises(InputError, match="imbalance"):
        long_tail_counts(100, 10, bad, "exp")
    with pytest.raises(InputError, match="imbalance"):
        DatasetSpec("mnist5k", imbalance=bad)


def test_bad_profile_and_unknown_dataset_are_refused_with_the_valid_ones():
    with pytest.raises(InputError, match="exp, step"):
        long_tail_counts(100, 10, 10, "linear")
    with pytest.raises(InputError, match="mnist5k"):
        DatasetSpec("mnist")
    with pytest.raises(InputError, match="val_fraction"):
        DatasetSpec("mnist5k", val_fraction=1.0)
    with pytest.raises(InputError, match="seed"):
        DatasetSpec("mnist5k", seed=-1)


# -- subsets ---------------------------------------------------------------------------------------
@given(
    seed=st.integers(0, 2**32 - 1),
    num_classes=st.integers(1, 12),
    pool=st.integers(1, 80),
    val_fraction=st.floats(0.0, 0.5),
    low=imbalances,
    high=imbalances,
    profile=st.sampled_from(["exp", "step"]),
)
@settings(max_examples=40)
def test_larger_rho_subset_is_a_per_class_prefix_and_val_is_fixed(
    seed, num_classes, pool, val_fraction, low, high, profile
):
    low, high = sorted((low, high))
    rng = np.random.default_rng(seed % 1000)
    labels = rng.permutation(np.repeat(np.arange(num_classes), pool))
    val_per_class = int(round(val_fraction * pool))
    n_max = pool - val_per_class
    if n_max < 1 or int(n_max * (1.0 / high)) < 1:
        return
    train_low, val_low = long_tail_split(
        labels, long_tail_counts(n_max, num_classes, low, profile), val_per_class, seed
    )
    train_high, val_high = long_tail_split(
        labels, long_tail_counts(n_max, num_classes, high, profile), val_per_class, seed
    )
    assert np.array_equal(val_low, val_high)
    assert not set(train_low) & set(val_low)
    assert np.bincount(labels[val_low], minlength=num_classes).tolist() == [val_per_class] * num_classes
    for class_id in range(num_classes):
        low_part = train_low[labels[train_low] == class_id]
        high_part = train_high[labels[train_high] == class_id]
        assert np.array_equal(low_part[: high_part.size], high_part)


def test_subset_depends_on_seed_and_pool_too_small_is_explained():
    labels = np.repeat(np.arange(3), 50)
    counts = long_tail_counts(40, 3, 10, "exp")
    first, _ = long_tail_split(labels, counts, 5, seed=0)
    second, _ = long_tail_split(labels, counts, 5, seed=1)
    assert not np.array_equal(first, second)
    with pytest.raises(InputError, match="class 0 has 50 pool samples"):
        long_tail_split(labels, long_tail_counts(48, 3, 10, "exp"), 5, seed=0)


# -- groups ----------------------------------------------------------------------------------------
@given(counts=st.lists(st.integers(0, 5000), min_size=1, max_size=200))
def test_groups_follow_the_many_medium_few_thresholds(counts):
    groups = class_groups(np.array(counts))
    for count, group in zip(counts, groups, strict=True):
        assert group == ("many" if count > 100 else "few" if count < 20 else "medium")


def test_group_boundaries():
    assert class_groups(np.array([101, 100, 20, 19, 1])).tolist() == ["many", "medium", "medium", "few", "few"]


# -- embedded datasets ----------------------------------------------------------------------------------
def test_mnist5k_splits_shapes_and_normalisation():
    data = load_dataset(DatasetSpec("mnist5k", imbalance=10, seed=3))
    assert data.num_classes == 10 and data.input_shape == (1, 28, 28)
    assert data.class_counts.tolist() == long_tail_counts(360, 10, 10, "exp").tolist()
    assert data.train.x.dtype == torch.float32 and data.train.y.dtype == torch.int64
    assert torch.bincount(data.train.y, minlength=10).tolist() == data.class_counts.tolist()
    assert torch.bincount(data.val.y, minlength=10).tolist() == [40] * 10
    assert torch.bincount(data.test.y, minlength=10).tolist() == [100] * 10
    # Normalised with MNIST's constants: a black pixel maps to -0.1307 / 0.3081.
    assert torch.isclose(data.train.x.min(), torch.tensor(-0.1307 / 0.3081), atol=1e-6)
    assert abs(float(data.test.x.mean())) < 0.1
    _assert_disjoint(data)
    assert data.spec.options == {"flatten": False, "test_per_class": 100, "n_max": None}


def test_mnist5k_test_set_does_not_depend_on_seed_or_rho_and_flatten_gives_vectors():
    first = load_dataset(DatasetSpec("mnist5k", imbalance=100, seed=0))
    second = load_dataset(DatasetSpec("mnist5k", imbalance=10, seed=1, options={"flatten": True}))
    assert torch.equal(first.test.x.reshape(1000, -1), second.test.x)
    assert second.train.x.shape[1:] == (784,) and second.input_shape == (784,)
    assert not torch.equal(first.train.x[:10].reshape(10, -1), second.train.x[:10])


def test_digits_and_two_moons_load_balanced_val_and_test():
    digits = load_dataset(DatasetSpec("digits", imbalance=10))
    assert digits.input_shape == (1, 8, 8)
    assert torch.bincount(digits.test.y).tolist() == [50] * 10
    assert digits.class_counts[0] == 112
    moons = load_dataset(DatasetSpec("two_moons", imbalance=19))
    assert moons.num_classes == 2 and moons.input_shape == (2,)
    assert moons.class_counts.tolist() == [900, 47]
    assert torch.bincount(moons.test.y).tolist() == [1000, 1000]


def test_unknown_option_lists_the_valid_ones_and_spec_round_trips():
    with pytest.raises(InputError, match="test_per_class"):
        load_dataset(DatasetSpec("mnist5k", options={"flaten": True}))
    data = load_dataset(DatasetSpec("gaussian", imbalance=10, options={"classes": 3, "dim": 4}))
    assert DatasetSpec.from_dict(dataclasses.asdict(data.spec)) == data.spec
    assert hash(DatasetSpec.from_dict(dataclasses.asdict(data.spec))) == hash(data.spec)
    with pytest.raises(InputError, match="unknown field"):
        DatasetSpec.from_dict({"name": "gaussian", "rho": 10})
    again = load_dataset(DatasetSpec.from_dict(dataclasses.asdict(data.spec)))
    assert torch.equal(again.train.x, data.train.x)


def test_registry_names_every_embedded_dataset():
    assert {"mnist5k", "digits", "gaussian", "two_moons"} <= set(DATASETS)


def _assert_disjoint(data):
    def rows(split):
        return {bytes(row) for row in split.x.reshape(len(split), -1).numpy()}

    assert not rows(data.train) & rows(data.val)


def test_rho_100_training_set_is_a_per_class_prefix_of_rho_10_on_real_images():
    small = load_dataset(DatasetSpec("mnist5k", imbalance=100, seed=5, options={"flatten": True}))
    large = load_dataset(DatasetSpec("mnist5k", imbalance=10, seed=5, options={"flatten": True}))
    assert torch.equal(small.val.x, large.val.x)
    for class_id in range(10):
        head = large.train.x[large.train.y == class_id]
        tail = small.train.x[small.train.y == class_id]
        assert torch.equal(head[: tail.shape[0]], tail)


def test_step_profile_and_impossible_rho_through_load_dataset():
    data = load_dataset(DatasetSpec("digits", imbalance=8, profile="step"))
    assert data.class_counts.tolist() == [112] * 5 + [14] * 5
    assert class_groups(data.class_counts).tolist() == ["many"] * 5 + ["few"] * 5
    with pytest.raises(InputError, match="imbalance <= 360"):
        load_dataset(DatasetSpec("mnist5k", imbalance=1000))
    with pytest.raises(InputError, match="n_max=400 exceeds"):
        load_dataset(DatasetSpec("mnist5k", options={"n_max": 400}))
    assert load_dataset(DatasetSpec("mnist5k", imbalance=1, options={"n_max": 30})).class_counts.tolist() == [30] * 10


def test_device_argument_is_checked():
    with pytest.raises(InputError, match="device"):
        load_dataset(DatasetSpec("two_moons"), device="gpu0")
    data = load_dataset(DatasetSpec("two_moons"), device=torch.device("cpu"))
    assert data.train.x.device.type == "cpu" and data.padding_fill() is None

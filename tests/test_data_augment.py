"""training.data.augment and training.data.batches: batched crop/flip and deterministic epoch iteration."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltbounds.checks import InputError
from training.data import BatchIterator, Split, augment_batch, class_balanced_order, crop_flip, pad_images


def _images(count=6, channels=3, size=8, seed=0):
    return torch.randn(count, channels, size, size, generator=torch.Generator().manual_seed(seed))


def test_pad_images_puts_the_fill_on_the_border_and_keeps_the_centre():
    images = _images()
    fill = torch.tensor([-1.0, -2.0, -3.0])
    padded = pad_images(images, 2, fill)
    assert padded.shape == (6, 3, 12, 12)
    assert torch.equal(padded[:, :, 2:10, 2:10], images)
    assert torch.equal(padded[:, :, 0, :], fill.reshape(1, 3, 1).expand(6, 3, 12))
    assert torch.equal(pad_images(images, 0), images)


@given(
    padding=st.integers(0, 4),
    size=st.integers(1, 9),
    channels=st.integers(1, 4),
    count=st.integers(1, 7),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=30)
def test_crop_of_a_padded_image_is_a_shifted_copy(padding, size, channels, count, seed):
    images = _images(count, channels, size, seed)
    padded = pad_images(images, padding, 0.0)
    generator = torch.Generator().manual_seed(seed)
    shifts = torch.randint(0, 2 * padding + 1, (count, 2), generator=generator)
    flips = torch.randint(0, 2, (count,), generator=generator).bool()
    out = crop_flip(padded, shifts, flips, padding)
    assert out.shape == images.shape and out.dtype == images.dtype
    for n in range(count):
        dy, dx = shifts[n].tolist()
        expected = padded[n, :, dy : dy + size, dx : dx + size]
        if flips[n]:
            expected = expected.flip(-1)
        assert torch.equal(out[n], expected)
        # The same crop described without padding: out[i, j] = image[i + dy - p, j + dx - p], 0 outside the image.
        shifted = torch.zeros(channels, size, size)
        for i in range(size):
            for j in range(size):
                source_row, source_column = i + dy - padding, j + dx - padding
                if 0 <= source_row < size and 0 <= source_column < size:
                    shifted[:, i, j] = images[n, :, source_row, source_column]
        unflipped = out[n].flip(-1) if flips[n] else out[n]
        assert torch.equal(unflipped, shifted)


def test_augment_batch_is_deterministic_under_a_seeded_generator_and_keeps_shape_dtype():
    padded = pad_images(_images(16, 3, 8), 4)
    first = augment_batch(padded, torch.Generator().manual_seed(7), padding=4)
    second = augment_batch(padded, torch.Generator().manual_seed(7), padding=4)
    other = augment_batch(padded, torch.Generator().manual_seed(8), padding=4)
    assert first.shape == (16, 3, 8, 8) and first.dtype == torch.float32
    assert torch.equal(first, second) and not torch.equal(first, other)
    assert first.is_contiguous(memory_format=torch.channels_last)
    half = augment_batch(padded.to(torch.bfloat16), torch.Generator().manual_seed(7), padding=4)
    assert half.dtype == torch.bfloat16 and torch.equal(half, first.to(torch.bfloat16))
    selected = augment_batch(padded, torch.Generator().manual_seed(7), padding=4, indices=torch.tensor([3, 3, 0]))
    assert selected.shape == (3, 3, 8, 8)


def test_augment_refuses_non_images():
    with pytest.raises(InputError, match=r"\(N, C, H, W\)"):
        augment_batch(torch.zeros(3, 8), None)
    with pytest.raises(InputError, match="too small"):
        augment_batch(torch.zeros(1, 1, 6, 6), None, padding=3)


# -- batches ------------------------------------------------------------------------------------------
def _split(count=23, classes=3):
    labels = torch.arange(count) % classes
    return Split(torch.arange(count, dtype=torch.float32)[:, None].repeat(1, 2), labels)


def test_shuffle_epoch_visits_every_sample_once_and_is_reproducible():
    split = _split()
    iterator = BatchIterator(split, batch_size=5)
    assert len(iterator) == 5
    batches = list(iterator.epoch(torch.Generator().manual_seed(1)))
    seen = torch.cat([x[:, 0] for x, _ in batches]).long()
    assert sorted(seen.tolist()) == list(range(23))
    assert all(torch.equal(y, split.y[x[:, 0].long()]) for x, y in batches)
    again = list(iterator.epoch(torch.Generator().manual_seed(1)))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again, strict=True))
    assert len(BatchIterator(split, batch_size=5, drop_last=True)) == 4


def test_generator_state_after_an_epoch_does_not_depend_on_how_many_batches_were_used():
    iterator = BatchIterator(Split(_images(12, 1, 4), torch.arange(12) % 2), batch_size=4, padding=1, flip=True)
    full, partial = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    list(iterator.epoch(full))
    next(iter(iterator.epoch(partial)))
    assert torch.equal(full.get_state(), partial.get_state())


def test_ranks_split_each_global_batch_into_contiguous_chunks():
    split = _split(20)
    iterator = BatchIterator(split, batch_size=8)
    single = [x for x, _ in iterator.epoch(torch.Generator().manual_seed(5))]
    ranks = [[x for x, _ in iterator.epoch(torch.Generator().manual_seed(5), rank, 2)] for rank in range(2)]
    for number, global_batch in enumerate(single):
        assert torch.equal(torch.cat([ranks[0][number], ranks[1][number]]), global_batch)


def test_augmented_batches_equal_crop_flip_of_the_plan():
    images = _images(10, 3, 6)
    iterator = BatchIterator(Split(images, torch.arange(10) % 2), batch_size=4, padding=2, flip=True)
    plan = iterator.plan(torch.Generator().manual_seed(9))
    batches = list(iterator.epoch(torch.Generator().manual_seed(9)))
    expected = crop_flip(pad_images(images, 2), plan.shifts, plan.flips, 2, plan.order)
    assert torch.equal(torch.cat([x for x, _ in batches]), expected)


@given(counts=st.lists(st.integers(0, 50), min_size=2, max_size=8), seed=st.integers(0, 2**31))
@settings(max_examples=30)
def test_class_balanced_draws_only_real_samples_of_present_classes(counts, seed):
    if sum(counts) == 0:
        return
    labels = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    labels = labels[torch.randperm(labels.numel(), generator=torch.Generator().manual_seed(seed))]
    indices = class_balanced_order(labels, len(counts), torch.Generator().manual_seed(seed), num_draws=200)
    assert indices.min() >= 0 and indices.max() < labels.numel()
    drawn = set(labels[indices].tolist())
    assert drawn <= {c for c, n in enumerate(counts) if n > 0}


def test_class_balanced_sampling_equalises_classes():
    labels = torch.tensor([0] * 1000 + [1] * 10 + [2] * 2)
    indices = class_balanced_order(labels, 3, torch.Generator().manual_seed(0), num_draws=30_000)
    frequencies = np.bincount(labels[indices].numpy(), minlength=3) / 30_000
    # Each class has probability 1/3; 6 standard deviations of a binomial proportion at n = 30000 is 0.016.
    assert np.all(np.abs(frequencies - 1 / 3) < 0.016)
    iterator = BatchIterator(Split(torch.zeros(1012, 1), labels), batch_size=100, sampling="class_balanced")
    assert sum(len(y) for _, y in iterator.epoch(torch.Generator().manual_seed(0))) == 1012


def test_batch_iterator_refuses_bad_arguments():
    with pytest.raises(InputError, match="batch_size"):
        BatchIterator(_split(), batch_size=0)
    with pytest.raises(InputError, match="sampling must be one of"):
        BatchIterator(_split(), batch_size=4, sampling="balanced")
    with pytest.raises(InputError, match="augmentation needs"):
        BatchIterator(_split(), batch_size=4, padding=4)
    with pytest.raises(InputError, match="rank"):
        BatchIterator(_split(), batch_size=4).epoch(None, rank=2, world_size=2)

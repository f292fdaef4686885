"""training.loop, training.schedules, training.config: metrics, schedules, seeding, resume, checkpoints on disk."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ltbounds.checks import InputError
from training.checkpoints import load_checkpoint
from training.config import TrainConfig, resolve_config
from training.data import DatasetSpec, LongTailData, Split
from training.data.batches import class_balanced_order, epoch_order
from training.loop import epoch_generator, epoch_learning_rate, train
from training.metrics import class_accuracy, class_margins, logit_extremes
from training.schedules import learning_rate


def tiny_images(
    num_classes: int = 3, counts=(12, 6, 3), side: int = 8, seed: int = 0, channels: int = 1
) -> LongTailData:
    """A long-tailed image set whose classes differ by mean brightness, as LongTailData."""
    generator = torch.Generator().manual_seed(seed)

    def split(per_class):
        labels = torch.cat([torch.full((n,), c, dtype=torch.int64) for c, n in enumerate(per_class)])
        x = torch.randn(len(labels), channels, side, side, generator=generator) + labels[:, None, None, None].float()
        return Split(x, labels)

    return LongTailData(
        spec=DatasetSpec("gaussian", imbalance=counts[0] / counts[-1], seed=seed),
        train=split(counts),
        val=split([4] * num_classes),
        test=split([5] * num_classes),
        class_counts=np.array(counts),
        num_classes=num_classes,
        input_shape=(channels, side, side),
        augment_padding=2,
    )


# --- metrics against brute force -----------------------------------------------------------------

logits_and_labels = st.integers(1, 12).flatmap(
    lambda n: st.tuples(
        arrays(
            np.float32,
            (n, 4),
            elements=st.sampled_from([0.0, 1.0, -1.0, 1e4, -1e4, 0.5]) | st.floats(-1e4, 1e4, width=32),
        ),
        arrays(np.int64, n, elements=st.integers(0, 3)),
    )
)


@given(logits_and_labels)
def test_b_y_and_minimal_margins_match_brute_force(pair):
    logits, labels = pair
    b_y, _ = logit_extremes(torch.from_numpy(logits), torch.from_numpy(labels), 4)
    margins = class_margins(torch.from_numpy(logits), torch.from_numpy(labels), 4)
    for c in range(4):
        rows = np.flatnonzero(labels == c)
        if rows.size == 0:
            assert math.isnan(b_y[c]) and math.isnan(margins[c])
            continue
        assert b_y[c] == min(float(logits[i, c]) for i in rows)
        expected = min(float(logits[i, c]) - max(float(logits[i, j]) for j in range(4) if j != c) for i in rows)
        assert margins[c] == pytest.approx(expected, abs=1e-3)


@given(logits_and_labels)
def test_per_class_accuracy_matches_brute_force(pair):
    logits, labels = pair
    predictions = torch.from_numpy(logits).argmax(1)
    accuracy = class_accuracy(torch.from_numpy(logits), torch.from_numpy(labels), 4)
    for c in range(4):
        rows = np.flatnonzero(labels == c)
        if rows.size == 0:
            assert math.isnan(accuracy[c])
        else:
            assert accuracy[c] == pytest.approx(np.mean(predictions.numpy()[rows] == c))


# --- schedules and config ------------------------------------------------------------------------


def test_step_schedule_is_the_ldam_drw_reference():
    config = resolve_config(TrainConfig(dataset="cifar10"))
    for epoch in range(200):
        # Cao et al.'s adjust_learning_rate with its 1-based epoch = epoch + 1
        e = epoch + 1
        reference = 0.1 * e / 5 if e <= 5 else 0.1 * 0.0001 if e > 180 else 0.1 * 0.01 if e > 160 else 0.1
        assert epoch_learning_rate(config, epoch) == pytest.approx(reference, rel=1e-12)


@settings(max_examples=30)
@given(st.integers(1, 300), st.integers(0, 10))
def test_cosine_schedule_warms_up_then_decays_to_zero(epochs, warmup):
    lrs = [learning_rate(e, base_lr=0.2, epochs=epochs, warmup_epochs=warmup, schedule="cosine") for e in range(epochs)]
    assert all(0 <= lr <= 0.2 + 1e-12 for lr in lrs)
    after = lrs[warmup:]
    assert all(a >= b - 1e-15 for a, b in zip(after, after[1:], strict=False))
    if after:
        assert after[0] == pytest.approx(0.2)


def test_short_runs_keep_the_recipe_proportions():
    config = resolve_config(TrainConfig(dataset="mnist5k", epochs=10))
    assert config.milestones == (8, 9) and config.drw_epoch == 8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"epochs": -3}, "epochs must be a positive whole number"),
        ({"epochs": 0}, "epochs must be a positive whole number"),
        ({"imbalance": 0.5}, "must be >= 1"),
        ({"loss_overrides": {"lambda_pull": -1.0}}, r"lambda\) must be >= 0"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"schedule": "linear"}, "schedule must be"),
        ({"milestones": (5,)}, "same length"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
    ],
)
def test_out_of_range_settings_are_refused_with_the_reason(change, message):
    with pytest.raises(InputError, match=message):
        resolve_config(TrainConfig(**change))


# --- batches -------------------------------------------------------------------------------------


def test_epoch_order_depends_on_seed_and_epoch_only():
    labels = torch.tensor([0] * 50 + [1] * 5)
    first = epoch_order(len(labels), epoch_generator(3, 4))
    assert torch.equal(first, epoch_order(len(labels), epoch_generator(3, 4)))
    assert not torch.equal(first, epoch_order(len(labels), epoch_generator(3, 5)))
    assert sorted(first.tolist()) == list(range(55))


def test_class_balanced_sampler_draws_classes_equally():
    labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
    order = class_balanced_order(labels, 3, epoch_generator(0, 0))
    share = torch.bincount(labels[order], minlength=3).double() / len(order)
    assert torch.allclose(share, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.05)


# --- the loop on disk ----------------------------------------------------------------------------


def _config(**kwargs) -> TrainConfig:
    values = dict(
        method="ldam_drw", dataset="gaussian", epochs=4, batch_size=8, lr=0.05, progress=False,
        model="cnn", model_options={"channels": [4, 4], "embedding_dim": 8}, augment=True, seed=5,
    )  # fmt: skip
    values.update(kwargs)
    return TrainConfig(**values)


def test_resume_reproduces_the_uninterrupted_run_exactly(tmp_path):
    data = tiny_images()
    full = train(_config(), data=data, out=tmp_path / "full")
    killed = train(_config(), data=data, out=tmp_path / "resumed", stop_after_epoch=2)
    assert load_checkpoint(tmp_path / "resumed" / "last.pt")["epoch"] == 2
    assert len(killed.metrics) == 2
    resumed = train(_config(), data=data, out=tmp_path / "resumed", resume=True)
    for (name, a), (_, b) in zip(full.model.state_dict().items(), resumed.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    lines = [json.loads(line) for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2, 3, 4]
    full_lines = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert [m["train_loss"] for m in lines] == [m["train_loss"] for m in full_lines]


def test_metrics_lines_carry_every_field(tmp_path):
    train(_config(epochs=2, save_every=1), data=tiny_images(), out=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_001.pt", "epoch_002.pt", "last.pt", "metrics.jsonl"]
    line = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    for key in (
        "epoch", "lr", "train_loss", "test_balanced_accuracy", "val_balanced_accuracy", "test_per_class_accuracy",
        "test_many_accuracy", "test_medium_accuracy", "test_few_accuracy", "B_y", "min_margin", "epoch_time_s",
        "wall_time_s",
    ):  # fmt: skip
        assert key in line, key
    assert len(line["test_per_class_accuracy"]) == len(line["B_y"]) == 3
    checkpoint = load_checkpoint(tmp_path / "last.pt")
    assert checkpoint["epoch"] == 2 and checkpoint["epochs"] == 2
    assert checkpoint["model"]["head"] == "normed" and checkpoint["method"]["name"] == "ldam_drw"
    assert checkpoint["class_counts"] == [12, 6, 3]
    assert checkpoint["metrics"]["epoch"] == 2


def test_an_existing_run_is_never_overwritten_silently(tmp_path):
    data = tiny_images()
    train(_config(epochs=1), data=data, out=tmp_path)
    with pytest.raises(InputError, match="pass --resume"):
        train(_config(epochs=1), data=data, out=tmp_path)
    with pytest.raises(InputError, match="cannot resume.*seed"):
        train(_config(epochs=1, seed=6), data=data, out=tmp_path, resume=True)
    (tmp_path / "last.pt").write_bytes(b"\x00" * 10)
    with pytest.raises(InputError, match="corrupt"):
        train(_config(epochs=1), data=data, out=tmp_path, resume=True)


def test_same_seed_same_weights_different_seed_different_weights():
    data = tiny_images()
    a = train(_config(epochs=1, method="ce"), data=data).model
    b = train(_config(epochs=1, method="ce"), data=data).model
    c = train(_config(epochs=1, method="ce", seed=6), data=data).model
    assert torch.equal(a.head.weight, b.head.weight)
    assert not torch.equal(a.head.weight, c.head.weight)


def test_augmentation_needs_images():
    from training.data import load_dataset

    options = {"classes": 3, "dim": 4, "pool_per_class": 20, "test_per_class": 5}
    data = load_dataset(DatasetSpec("gaussian", imbalance=2, options=options))
    with pytest.raises(InputError, match="needs image data"):
        train(TrainConfig(dataset="gaussian", epochs=1, augment=True, progress=False), data=data)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_path_bf16_channels_last_trains_resnet32():
    data = tiny_images(counts=(20, 10, 4), side=32, channels=3)
    result = train(TrainConfig(method="vs_tla_adrw", dataset="cifar10", epochs=2, batch_size=16, progress=False,
                               device="cuda", augment=True), data=data)  # fmt: skip
    assert next(result.model.parameters()).device.type == "cuda"
    assert np.isfinite(result.metrics[-1]["train_loss"])


# --- the run's identity: HParams hash, checked on resume ------------------------------------------


def test_hparams_identity_is_the_hparams_content_and_nothing_else():
    config = resolve_config(_config())
    same = resolve_config(_config(device="cpu", progress=True, save_every=3, compile=True, channels_last=False))
    assert config.identity() == same.identity()  # RunConfig fields never change the identity
    assert config.hparams == same.hparams and config.run != same.run
    assert resolve_config(_config(imbalance=10)).identity() == resolve_config(_config(imbalance=10.0)).identity()
    for change in ({"seed": 6}, {"lr": 0.01}, {"loss_overrides": {"tau": 2.0}}, {"model_options": {"channels": [4]}}):
        assert resolve_config(_config(**change)).identity() != config.identity(), change
    assert TrainConfig.of(config.hparams, config.run) == config


def test_resume_checks_the_stored_identity_and_names_every_differing_field(tmp_path):
    data = tiny_images()
    result = train(_config(epochs=2), data=data, out=tmp_path, stop_after_epoch=1)
    assert result.checkpoint["method"]["hparams_id"] == resolve_config(_config(epochs=2)).identity()
    with pytest.raises(
        InputError, match=r"cannot resume.*seed: checkpoint 5 vs now 7, lr: checkpoint 0\.05 vs now 0\.01\)"
    ):
        train(_config(epochs=2, seed=7, lr=0.01), data=data, out=tmp_path, resume=True)
    # execution settings are not the run's identity: a resume with other ones continues it
    resumed = train(_config(epochs=2, save_every=1, channels_last=False), data=data, out=tmp_path, resume=True)
    assert [m["epoch"] for m in resumed.metrics] == [1, 2]


def test_a_checkpoint_without_the_identity_hash_still_resumes_bit_for_bit(tmp_path):
    """Checkpoints written before ``hparams_id`` existed: their recorded fields are compared instead."""
    from training.checkpoints import save_checkpoint

    data = tiny_images()
    full = train(_config(epochs=3), data=data, out=tmp_path / "full")
    train(_config(epochs=3), data=data, out=tmp_path / "old", stop_after_epoch=2)
    old = load_checkpoint(tmp_path / "old" / "last.pt")
    del old["method"]["hparams_id"]
    save_checkpoint(old, tmp_path / "old" / "last.pt")
    with pytest.raises(InputError, match="cannot resume.*seed: checkpoint 5 vs now 6"):
        train(_config(epochs=3, seed=6), data=data, out=tmp_path / "old", resume=True)
    resumed = train(_config(epochs=3), data=data, out=tmp_path / "old", resume=True)
    for (name, a), (_, b) in zip(full.model.state_dict().items(), resumed.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_a_final_single_sample_batch_is_dropped_under_batch_norm():
    """21 samples in batches of 10 leave one sample: BatchNorm cannot train on it, so the loop drops it."""
    data = tiny_images()
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in train(_config(epochs=1), data=data).model.modules())
    result = train(_config(epochs=1, batch_size=10, method="ce"), data=data)
    assert np.isfinite(result.metrics[-1]["train_loss"])


def test_identity_differences_reads_the_hash_then_the_recorded_fields():
    from training.config import identity_differences

    config = resolve_config(_config())
    recorded = config.to_dict()
    assert identity_differences({"hparams_id": config.identity(), "training": {}}, config.hparams) == []
    assert identity_differences({"training": recorded}, config.hparams) == []  # before the hash existed
    other = resolve_config(_config(momentum=0.5))
    assert identity_differences({"hparams_id": other.identity(), "training": other.to_dict()}, config.hparams) == [
        "momentum"
    ]
    # the hashes differ but no recorded field does (a field this version does not record): None, not "same"
    assert identity_differences({"hparams_id": other.identity(), "training": {}}, config.hparams) is None

"""training.methods: every recipe trains end to end on embedded data; recipes carry the papers' settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ltbounds import losses
from ltbounds.checks import InputError
from training.checkpoints import model_from_checkpoint
from training.config import TrainConfig, resolve_config
from training.data import DatasetSpec, load_dataset
from training.loop import train
from training.methods import (
    CLASSIFIER_STAGES,
    ELM_SETTINGS,
    NON_NEGATIVE_HPARAMS,
    RECIPES,
    EpochOf,
    Sampler,
    build_loss,
    get_recipe,
    resolved_hparams,
)


@pytest.fixture(scope="module")
def gaussian():
    options = {"classes": 4, "dim": 8, "pool_per_class": 60, "test_per_class": 40}
    return load_dataset(DatasetSpec("gaussian", imbalance=10, seed=0, options=options), device="cpu")


def _config(method: str, **kwargs) -> TrainConfig:
    values = dict(
        method=method, dataset="gaussian", epochs=2, batch_size=32, progress=False,
        model_options={"hidden": [16]}, classifier_epochs=1,
    )  # fmt: skip
    values.update(kwargs)
    return TrainConfig(**values)


def test_every_recipe_names_a_provided_loss_a_sampler_and_a_known_stage():
    for recipe in RECIPES.values():
        assert recipe.loss in losses.REGISTRY, recipe.name
        assert isinstance(recipe.sampler, Sampler), recipe.name
        assert recipe.classifier_stage in (None, *CLASSIFIER_STAGES), recipe.name
        assert recipe.lambda_name is None or recipe.lambda_name in NON_NEGATIVE_HPARAMS, recipe.name


def test_epoch_markers_resolve_from_the_config_and_are_stored_as_plain_strings():
    hparams = resolved_hparams(get_recipe("vs_tla_adrw"), epochs=10, drw_epoch=7)
    assert hparams["reweight_epoch"] == hparams["tla_epoch"] == 7
    assert resolved_hparams(get_recipe("dro_lt"), epochs=10, drw_epoch=7)["dro_start_epoch"] == 5  # 0.5 * 10
    stored = get_recipe("dro_lt").to_dict()
    assert stored["hparams"]["dro_start_epoch"] == "T_warm" and type(stored["hparams"]["dro_start_epoch"]) is str
    assert type(get_recipe("resample").to_dict()["sampler"]) is str
    assert EpochOf(stored["hparams"]["dro_start_epoch"]) is EpochOf.WARMUP_END  # back at the boundary


def test_only_declared_non_negative_hparams_are_refused_below_zero():
    with pytest.raises(InputError, match=r"lambda_center \(lambda\) must be >= 0"):
        resolved_hparams(get_recipe("center"), 10, 8, overrides={"lambda_center": -0.1})
    # not declared non-negative: passed through to the loss (which checks its own ranges)
    assert resolved_hparams(get_recipe("la"), 10, 8, overrides={"tau": -1.0})["tau"] == -1.0


@pytest.mark.parametrize("method", sorted(RECIPES))
def test_every_method_trains_end_to_end_on_embedded_data(method, gaussian):
    torch.manual_seed(0)
    initial = train(_config(method, epochs=1, lr=1e-12, classifier_epochs=0), data=gaussian).model
    result = train(_config(method), data=gaussian)
    training_epochs = [m for m in result.metrics if "train_loss" in m]
    assert [m["epoch"] for m in training_epochs] == [1, 2]
    assert all(np.isfinite(m["train_loss"]) for m in training_epochs)
    final = result.metrics[-1]
    assert 0.0 <= final["test_balanced_accuracy"] <= 1.0
    assert len(final["B_y"]) == len(final["min_margin"]) == 4
    # the weights moved, and the checkpoint rebuilds exactly the returned model
    body = [name for name, _ in result.model.named_parameters() if not name.startswith("head")]
    assert any(
        not torch.equal(dict(result.model.named_parameters())[n], dict(initial.named_parameters())[n]) for n in body
    )
    rebuilt = model_from_checkpoint(result.checkpoint)
    torch.testing.assert_close(rebuilt(gaussian.test.x), result.model(gaussian.test.x), rtol=0, atol=0)
    stage = get_recipe(method).classifier_stage
    assert result.checkpoint["method"]["stage"] == stage
    if stage is not None:
        assert result.metrics[-1]["stage"] == stage and isinstance(result.model.head, torch.nn.Linear)


def test_sam_trains_on_top_of_a_method(gaussian):
    plain = train(_config("vs_tla_adrw"), data=gaussian)
    sharp = train(_config("vs_tla_adrw", sam=True, sam_rho=0.5), data=gaussian)
    assert np.isfinite(sharp.metrics[-1]["train_loss"])
    assert sharp.checkpoint["method"]["training"]["sam"] is True
    assert not torch.equal(plain.model.head.weight, sharp.model.head.weight)


def test_ldam_drw_defaults_are_the_reference_recipe():
    config = resolve_config(TrainConfig(method="ldam_drw", dataset="cifar10"))
    assert (config.epochs, config.batch_size, config.lr, config.momentum) == (200, 128, 0.1, 0.9)
    assert (config.weight_decay, config.warmup_epochs, config.schedule) == (2e-4, 5, "step")
    assert config.milestones == (160, 180) and config.lr_decays == (0.01, 0.0001) and config.drw_epoch == 160
    recipe = get_recipe("ldam_drw")
    hparams = resolved_hparams(recipe, config.epochs, config.drw_epoch, config.dataset)
    assert hparams == {"max_margin": 0.5, "scale": 30.0, "reweighting": "drw", "reweight_epoch": 160, "cb_beta": 0.9999}
    assert recipe.head == "normed"
    assert resolve_config(TrainConfig(dataset="imagefolder")).schedule == "cosine"


def test_t0_and_warm_up_are_taken_from_the_config():
    assert resolved_hparams(get_recipe("vs_tla_adrw"), 10, 7)["tla_epoch"] == 7
    assert resolved_hparams(get_recipe("vs_tla_adrw"), 10, 7)["reweight_epoch"] == 7
    assert resolved_hparams(get_recipe("dro_lt"), 10, 7)["dro_start_epoch"] == 5


def test_elm_settings_follow_appendix_a2():
    recipe = get_recipe("elm")
    assert resolved_hparams(recipe, 10, 8, "cifar10")["alpha_base"] == "prior"
    assert resolved_hparams(recipe, 10, 8, "cifar100")["alpha_exponent"] == 0.5
    assert resolved_hparams(recipe, 10, 8, "imagefolder")["lambda_pull"] == 0.001
    assert resolved_hparams(recipe, 10, 8, "mnist5k") == {**ELM_SETTINGS["default"]}
    assert resolved_hparams(recipe, 10, 8, "mnist5k", {"lambda_pull": 0.5})["lambda_pull"] == 0.5


def test_drw_switches_the_loss_at_t0():
    counts = np.array([50, 10, 2])
    loss = build_loss(get_recipe("ldam_drw"), counts, epochs=6, drw_epoch=3)
    logits = torch.tensor([[0.5, 0.1, -0.2], [0.2, 0.3, 0.1], [0.1, 0.2, 0.4], [0.9, -0.5, 0.0]])
    labels = torch.tensor([0, 1, 2, 2])
    values = []
    for epoch in range(6):
        loss.set_epoch(epoch)
        values.append(float(loss(logits, labels)))
    assert values[0] == values[1] == values[2]
    assert values[3] == values[4] == values[5]
    assert values[3] != values[2]


def test_bad_method_and_hyper_parameters_are_refused_with_the_reason(gaussian):
    with pytest.raises(InputError, match="unknown method 'ldam-drw'; valid methods: .*ldam_drw"):
        get_recipe("ldam-drw")
    with pytest.raises(InputError, match=r"lambda_pull \(lambda\) must be >= 0"):
        resolved_hparams(get_recipe("elm"), 10, 8, overrides={"lambda_pull": -0.1})
    with pytest.raises(InputError, match="lambda_ce must lie in"):
        train(_config("dro_lt", loss_overrides={"lambda_ce": 1.5}), data=gaussian)
    with pytest.raises(InputError, match="rejected hyper-parameters"):
        train(_config("ce", loss_overrides={"no_such_knob": 1}), data=gaussian)


@pytest.mark.parametrize("method", ["ldam_drw", "vs_tla_adrw", "elm", "dro_lt_learned", "resample", "ncm", "tau_norm"])
def test_rho_1000_with_a_two_sample_class_stays_finite(method):
    from training.data import LongTailData, Split

    generator = torch.Generator().manual_seed(0)
    counts = (1000, 30, 2)  # rho = 500 between the extremes of a 3-class set; a 2-sample tail class

    def split(per_class):
        y = torch.cat([torch.full((n,), c, dtype=torch.int64) for c, n in enumerate(per_class)])
        return Split(torch.randn(len(y), 4, generator=generator) + 2 * y[:, None].float(), y)

    data = LongTailData(
        spec=DatasetSpec("gaussian", imbalance=500.0), train=split(counts), val=split((5, 5, 5)),
        test=split((10, 10, 10)), class_counts=np.array(counts), num_classes=3, input_shape=(4,),
    )  # fmt: skip
    result = train(_config(method, batch_size=128, drw_epoch=1), data=data)
    final = result.metrics[-1]
    assert all(np.isfinite(m["train_loss"]) for m in result.metrics if "train_loss" in m)
    assert all(v is not None and np.isfinite(v) for v in final["B_y"] + final["min_margin"])
    assert all(torch.isfinite(p).all() for p in result.model.parameters())

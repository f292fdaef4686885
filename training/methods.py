"""The registry of named training recipes: name -> ``Recipe`` (loss + hparams, sampler, head, stages).

A recipe says *what* a method is; ``TrainConfig`` says *how long and how fast* (epochs, lr, T0).
``build_loss`` turns a recipe into the ``ltbounds.losses`` module the loop drives, filling the
epoch-dependent switches (``EpochOf.DRW``: DRW / ADRW re-weighting and TLA from T0, wang23 Algorithm 1;
``EpochOf.WARMUP_END``: the end of DRO-LT's CE warm-up, drolt Sec. 5) from the config and ELM's
per-dataset settings (elm App. A.2).
Defaults are the papers' values (see each ``source``);
``TrainConfig.loss_overrides`` overrides any loss hyper-parameter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from torch import nn

from ltbounds.checks import InputError


class Sampler(str, Enum):
    """How a recipe draws its training batches (Kang et al. 2020's two samplers)."""

    INSTANCE = "instance"  # instance-balanced: every sample once per epoch, shuffled
    CLASS_BALANCED = "class_balanced"  # a class uniformly, then one of its samples (N draws per epoch)

    @property
    def sampling(self) -> str:
        """The ``training.data.BatchIterator`` sampling that implements it."""
        return "shuffle" if self is Sampler.INSTANCE else "class_balanced"


class EpochOf(str, Enum):
    """An hparam whose value is an epoch the config decides, resolved by ``resolved_hparams``.

    Stored in checkpoints as its value string (``weights_only`` loads no enums); the strings are the
    papers' names."""

    DRW = "T0"  # DRW / ADRW re-weighting and TLA start (wang23, Algorithm 1): TrainConfig.drw_epoch
    WARMUP_END = "T_warm"  # the end of DRO-LT's CE warm-up (drolt, Sec. 5): round(ce_warmup * epochs)


# The loss hyper-parameters that must be >= 0 (the lambdas weighting a second loss term); checked for
# the config's overrides. Every recipe's ``lambda_name`` is one of them (tests/test_methods.py).
NON_NEGATIVE_HPARAMS = frozenset({"lambda_pull", "lambda_ce", "lambda_center"})

CLASSIFIER_STAGES = ("crt", "tau_norm", "lws", "ncm", "la_posthoc", "balanced_finetune")


@dataclass(frozen=True)
class Recipe:
    """One method. ``hparams`` are the loss's keyword arguments (an ``EpochOf`` value is resolved from the
    config: ``"reweight_epoch": EpochOf.DRW`` or ``"tla_epoch": EpochOf.DRW``); ``classifier_stage`` runs
    after the main training on the frozen embedding (decoupling, tutorial; DRO-LT's balanced classifier, drolt)."""

    name: str
    summary: str
    source: str
    loss: str
    hparams: tuple[tuple[str, Any], ...] = ()
    sampler: Sampler = Sampler.INSTANCE
    head: str = "linear"  # "normed": LDAM's cosine head
    ce_warmup: float = 0.0  # fraction of the epochs trained with plain CE first (DRO-LT; "T_warm")
    lambda_name: str | None = None  # the loss's lambda (what --lam sets)
    classifier_stage: str | None = None
    stage_options: tuple[tuple[str, Any], ...] = ()

    def loss_hparams(self) -> dict[str, Any]:
        return dict(self.hparams)

    def to_dict(self) -> dict[str, Any]:
        """Plain strings for the enums (checkpoints load with ``weights_only=True``)."""
        out = dataclasses.asdict(self)
        out["hparams"] = {k: v.value if isinstance(v, Enum) else v for k, v in self.hparams}
        out["stage_options"] = dict(self.stage_options)
        out["sampler"] = self.sampler.value
        return out


def _r(name: str, summary: str, source: str, loss: str, **kwargs: Any) -> Recipe:
    hparams = tuple(sorted(kwargs.pop("hparams", {}).items()))
    stage_options = tuple(sorted(kwargs.pop("stage_options", {}).items()))
    return Recipe(name, summary, source, loss, hparams=hparams, stage_options=stage_options, **kwargs)


# CB weights (effective number, beta = 0.9999, normalised to sum C) are what the LDAM-DRW code uses
# for DRW, not the 1/n of the paper's text (Cao et al.'s code). ADRW's nu and the VS/CDT gamma, tau are
# ltbounds.losses' defaults (nu = 0.5, gamma = 0.3, tau = 1); override with --loss-arg.
_DRW = {"reweighting": "drw", "reweight_epoch": EpochOf.DRW, "cb_beta": 0.9999}
_ADRW = {"reweighting": "adrw", "reweight_epoch": EpochOf.DRW}
# LDAM: max_m = 0.5, s = 30 (Cao et al.'s code); the scale is applied by the loss to the cosine head.
_LDAM = {"max_margin": 0.5, "scale": 30.0}
# DRO-LT: first stage CE alone (lambda = 1), then the joint loss (19) with lambda = 0.5 (drolt Sec. 5, 7.4).
_DRO = {"lambda_ce": 0.5, "dro_start_epoch": EpochOf.WARMUP_END}


def _ldam(name: str, summary: str, source: str, reweighting: dict[str, Any] | None = None) -> Recipe:
    """An LDAM recipe (Cao et al. 2019): every variant trains the LDAM loss (``_LDAM``) on the cosine head it
    needs ("normed"); they differ only in the ``reweighting`` schedule added to the loss (none, DRW, ADRW)."""
    return _r(name, summary, source, "ldam", hparams={**_LDAM, **(reweighting or {})}, head="normed")


def _dro_lt(name: str, summary: str, source: str, radius: str, epsilon: float) -> Recipe:
    """A DRO-LT recipe (drolt, Sec. 4-5): every variant shares the protocol (CE warm-up over half the
    epochs, the joint loss (19) weighted by lambda_ce, a balanced classifier fine-tune); only the radius
    rule and epsilon differ."""
    return _r(
        name,
        summary,
        source,
        "dro_lt",
        hparams={**_DRO, "radius": radius, "epsilon": epsilon},
        ce_warmup=0.5,
        classifier_stage="balanced_finetune",
        lambda_name="lambda_ce",
    )


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        _r("ce", "cross-entropy (empirical risk minimisation)", "wang23, Table 1", "ce"),
        _r(
            "focal",
            "focal loss, gamma = 1 (as in the LDAM-DRW comparisons)",
            "wang23, Table 1; Lin et al. 2017",
            "focal",
            hparams={"gamma": 1.0},
        ),
        _r(
            "cb",
            "class-balanced CE, effective-number weights, beta = 0.9999",
            "tutorial; Cui et al. 2019",
            "cb",
            hparams={"beta": 0.9999},
        ),
        _r(
            "reweight",
            "CE re-weighted by inverse class frequency from the start",
            "tutorial; wang23 Sec. 3",
            "reweight",
        ),
        _r("resample", "CE with class-balanced re-sampling", "tutorial", "ce", sampler=Sampler.CLASS_BALANCED),
        _ldam("ldam", "LDAM, max_m = 0.5, s = 30, normalised head", "wang23, Table 1; Cao et al. 2019"),
        _ldam(
            "ldam_drw", "LDAM + deferred re-weighting (CB weights) from T0", "wang23, Table 1; Cao et al. 2019", _DRW
        ),
        _r("la", "logit-adjusted loss, tau = 1", "tutorial; Menon et al. 2021", "la", hparams={"tau": 1.0}),
        _r(
            "la_posthoc",
            "CE, then post-hoc logit adjustment b_y -= tau log pi_y, tau = 1",
            "tutorial; Menon et al. 2021",
            "ce",
            classifier_stage="la_posthoc",
            stage_options={"tau": 1.0},
        ),
        _r("balanced_softmax", "balanced softmax (logits + log pi_y)", "Ren et al. 2020", "balanced_softmax"),
        _r("cdt", "class-dependent temperatures", "wang23 eq. (3); Ye et al. 2020", "cdt"),
        _r("vs", "vector-scaling loss", "wang23, Table 1; Kini et al. 2021", "vs"),
        _r("vs_drw", "VS + DRW from T0", "wang23, Table 1", "vs", hparams=_DRW),
        _r("ce_adrw", "CE + ADRW (alpha_y ~ pi_y^-nu from T0)", "wang23, Table 1, Algorithm 1", "ce", hparams=_ADRW),
        _ldam("ldam_adrw", "LDAM + ADRW", "wang23, Table 1, Algorithm 1", _ADRW),
        _r(
            "vs_tla_drw",
            "VS + truncated logit adjustment + DRW from T0",
            "wang23, Table 1, Algorithm 1",
            "vs",
            hparams={**_DRW, "tla_epoch": EpochOf.DRW},
        ),
        _r(
            "vs_tla_adrw",
            "VS + TLA + ADRW from T0 (wang23's method)",
            "wang23, Table 1, Algorithm 1",
            "vs",
            hparams={**_ADRW, "tla_epoch": EpochOf.DRW},
        ),
        _r("fisher", "Fisher-consistent loss family, delta = pi", "wang23 eq. (4)", "fisher"),
        _r(
            "center",
            "CE + 0.01 * center loss (batch centres)",
            "Wen et al. 2016",
            "center",
            lambda_name="lambda_center",
        ),
        # ELM's alpha_y and lambda depend on the dataset (elm App. A.2): see ELM_SETTINGS.
        _r(
            "elm",
            "ELM: logit-adjusted margin loss + lambda * Omega_pull, alpha_y ~ P(y)^a",
            "elm, eq. (4), App. A.2",
            "elm",
            lambda_name="lambda_pull",
        ),
        _dro_lt(
            "dro_lt",
            "DRO-LT, shared radius; CE warm-up; joint loss (19); balanced classifier",
            "drolt, Sec. 4-5",
            "shared",
            1.0,
        ),
        _dro_lt(
            "dro_lt_sqrt_n", "DRO-LT with per-class radius epsilon / sqrt(n_c)", "drolt, Sec. 5", "inv_sqrt_n", 10.0
        ),
        _dro_lt("dro_lt_learned", "DRO-LT with learned per-class radii", "drolt, Sec. 5", "learned", 1.0),
        _r(
            "crt",
            "decoupling: CE representation, then classifier re-training with balanced sampling",
            "tutorial; Kang et al. 2020",
            "ce",
            classifier_stage="crt",
        ),
        _r(
            "tau_norm",
            "decoupling: CE, then w_j / |w_j|^tau, tau chosen on the validation split",
            "tutorial; Kang et al. 2020",
            "ce",
            classifier_stage="tau_norm",
        ),
        _r(
            "lws",
            "decoupling: CE, then learnable per-class weight scaling with balanced sampling",
            "tutorial; Kang et al. 2020",
            "ce",
            classifier_stage="lws",
        ),
        _r(
            "ncm",
            "decoupling: CE, then the nearest-class-mean classifier on the embedding",
            "tutorial; Kang et al. 2020",
            "ce",
            classifier_stage="ncm",
        ),
        # The prior mean is trained with this recipe's loss on S_prior; the posterior and the certificate
        # are training.certify.train_pbb's (``ltbounds train`` dispatches on the name).
        _r(
            "pbb",
            "PAC-Bayes by backprop: LA prior on S_prior, Gaussian posterior trained on the balanced bound",
            "Perez-Ortiz et al. (JMLR 2021); issue 12",
            "la",
            hparams={"tau": 1.0},
        ),
    )
}

# elm App. A.2: CIFAR-10-LT alpha_y = P(y), lambda = 0.01; CIFAR-100-LT and iNaturalist alpha_y =
# sqrt(n_y), lambda = 0.01; ImageNet-LT alpha_y = 10 sqrt(P(y)), lambda = 0.001; elsewhere the
# all-round choice the authors recommend, alpha_y = n_y with lambda = 0.01.
ELM_SETTINGS: dict[str, dict[str, Any]] = {
    "cifar10": {"alpha_base": "prior", "alpha_exponent": 1.0, "alpha_scale": 1.0, "lambda_pull": 0.01},
    "cifar100": {"alpha_base": "count", "alpha_exponent": 0.5, "alpha_scale": 1.0, "lambda_pull": 0.01},
    "imagefolder": {"alpha_base": "prior", "alpha_exponent": 0.5, "alpha_scale": 10.0, "lambda_pull": 0.001},
    "default": {"alpha_base": "count", "alpha_exponent": 1.0, "alpha_scale": 1.0, "lambda_pull": 0.01},
}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise InputError(f"unknown method {name!r}; valid methods: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]


def resolved_hparams(
    recipe: Recipe, epochs: int, drw_epoch: int, dataset: str = "", overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The loss's keyword arguments: ``EpochOf.DRW`` -> the DRW epoch, ``EpochOf.WARMUP_END`` -> the end of
    the CE warm-up, the dataset's ELM settings, then the overrides (checked by ``check_loss_overrides``)."""
    warm = round(recipe.ce_warmup * epochs)
    hparams = {}
    if recipe.loss == "elm":
        hparams.update(ELM_SETTINGS.get(dataset, ELM_SETTINGS["default"]))
    epochs_of = {EpochOf.DRW: drw_epoch, EpochOf.WARMUP_END: warm}
    for key, value in recipe.hparams:
        hparams[key] = epochs_of[value] if isinstance(value, EpochOf) else value
    check_loss_overrides(overrides or {})
    hparams.update(overrides or {})
    return hparams


def check_loss_overrides(overrides: dict[str, Any]) -> None:
    """Refuse a negative value for a hyper-parameter declared non-negative (``NON_NEGATIVE_HPARAMS``)."""
    for key, value in overrides.items():
        if key in NON_NEGATIVE_HPARAMS and isinstance(value, (int, float)) and value < 0:
            raise InputError(f"loss hyper-parameter {key} (lambda) must be >= 0, got {value!r}")


def build_loss(
    recipe: Recipe,
    class_counts: np.ndarray,
    epochs: int,
    drw_epoch: int,
    dataset: str = "",
    overrides: dict[str, Any] | None = None,
) -> nn.Module:
    """The loss module of ``recipe`` from ``ltbounds.losses.REGISTRY``."""
    from ltbounds import losses

    if recipe.loss not in losses.REGISTRY:
        raise InputError(f"method {recipe.name!r} needs loss {recipe.loss!r}, which ltbounds.losses does not provide")
    hparams = resolved_hparams(recipe, epochs, drw_epoch, dataset, overrides)
    counts = np.asarray(class_counts, dtype=np.int64)
    try:
        loss = losses.REGISTRY[recipe.loss](counts, **hparams)
    except TypeError as error:
        raise InputError(f"loss {recipe.loss!r} rejected hyper-parameters {sorted(hparams)}: {error}") from error
    return loss

"""The registry of named training recipes: name -> ``Recipe`` (loss + hparams, sampler, head, stages).

A recipe says *what* a method is; ``TrainConfig`` says *how long and how fast* (epochs, lr, T0).
``build_loss`` turns a recipe into the ``ltbounds.losses`` module the loop drives, filling the
epoch-dependent switches (DRW / ADRW re-weighting and TLA from T0, 003 Algorithm 1; the CE warm-up
of DRO-LT, 001 Sec. 5) from the config. Defaults are the papers' values (see each ``source``);
``TrainConfig.loss_overrides`` overrides any loss hyper-parameter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ltbounds.checks import InputError

SAMPLERS = ("instance", "class_balanced")
CLASSIFIER_STAGES = ("crt", "tau_norm", "lws", "ncm", "la_posthoc", "balanced_finetune")


@dataclass(frozen=True)
class Recipe:
    """One method. ``hparams`` are the loss's keyword arguments (``T0`` is resolved from the config:
    ``"reweight_epoch": "T0"`` or ``"tla_epoch": "T0"``); ``classifier_stage`` runs after the main
    training on the frozen embedding (decoupling, 002; DRO-LT's balanced classifier, 001)."""

    name: str
    summary: str
    source: str
    loss: str
    hparams: tuple[tuple[str, Any], ...] = ()
    sampler: str = "instance"
    head: str = "linear"  # "normed": LDAM's cosine head
    ce_warmup: float = 0.0  # fraction of the epochs trained with plain CE first (DRO-LT)
    classifier_stage: str | None = None
    stage_options: tuple[tuple[str, Any], ...] = ()

    def loss_hparams(self) -> dict[str, Any]:
        return dict(self.hparams)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["hparams"] = dict(self.hparams)
        out["stage_options"] = dict(self.stage_options)
        return out


def _r(name: str, summary: str, source: str, loss: str, **kwargs: Any) -> Recipe:
    hparams = tuple(sorted(kwargs.pop("hparams", {}).items()))
    stage_options = tuple(sorted(kwargs.pop("stage_options", {}).items()))
    return Recipe(name, summary, source, loss, hparams=hparams, stage_options=stage_options, **kwargs)


# CB weights (effective number, beta = 0.9999, normalised to sum C) are what the LDAM-DRW code uses
# for DRW, not the 1/n of the paper's text (FIELD_NOTES).
_DRW = {"reweighting": "drw", "reweight_epoch": "T0", "cb_beta": 0.9999}
_ADRW = {"reweighting": "adrw", "reweight_epoch": "T0", "nu": 1.0}
_LDAM = {"max_m": 0.5, "s": 30.0}
# VS: Delta_y = (n_max / n_y)^gamma, iota_y = tau log pi_y (Kini et al. 2021); gamma = 0.2, tau = 1
# are the values of their CIFAR-10-LT runs that 003 keeps as the baseline setting.
_VS = {"gamma": 0.2, "tau": 1.0}

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        _r("ce", "cross-entropy (empirical risk minimisation)", "003, Table 1", "ce"),
        _r(
            "focal",
            "focal loss, gamma = 1 (as in the LDAM-DRW comparisons)",
            "003, Table 1; Lin et al. 2017",
            "focal",
            hparams={"gamma": 1.0},
        ),
        _r(
            "cb",
            "class-balanced CE, effective-number weights, beta = 0.9999",
            "002; Cui et al. 2019",
            "cb",
            hparams={"beta": 0.9999},
        ),
        _r("reweight", "CE re-weighted by inverse class frequency from the start", "002; 003 Sec. 3", "reweight"),
        _r("resample", "CE with class-balanced re-sampling", "002", "ce", sampler="class_balanced"),
        _r(
            "ldam",
            "LDAM, max_m = 0.5, s = 30, normalised head",
            "003, Table 1; Cao et al. 2019",
            "ldam",
            hparams=_LDAM,
            head="normed",
        ),
        _r(
            "ldam_drw",
            "LDAM + deferred re-weighting (CB weights) from T0",
            "003, Table 1; Cao et al. 2019",
            "ldam",
            hparams={**_LDAM, **_DRW},
            head="normed",
        ),
        _r("la", "logit-adjusted loss, tau = 1", "002; Menon et al. 2021", "la", hparams={"tau": 1.0}),
        _r(
            "la_posthoc",
            "CE, then post-hoc logit adjustment b_y -= tau log pi_y, tau = 1",
            "002; Menon et al. 2021",
            "ce",
            classifier_stage="la_posthoc",
            stage_options={"tau": 1.0},
        ),
        _r("balanced_softmax", "balanced softmax (logits + log pi_y)", "Ren et al. 2020", "balanced_softmax"),
        _r(
            "cdt",
            "class-dependent temperatures, gamma = 0.2",
            "003 eq. (3); Ye et al. 2020",
            "cdt",
            hparams={"gamma": 0.2},
        ),
        _r("vs", "vector-scaling loss", "003, Table 1; Kini et al. 2021", "vs", hparams=_VS),
        _r("vs_drw", "VS + DRW from T0", "003, Table 1", "vs", hparams={**_VS, **_DRW}),
        _r("ce_adrw", "CE + ADRW (alpha_y ~ pi_y^-nu from T0)", "003, Table 1, Algorithm 1", "ce", hparams=_ADRW),
        _r("ldam_adrw", "LDAM + ADRW", "003, Table 1, Algorithm 1", "ldam", hparams={**_LDAM, **_ADRW}, head="normed"),
        _r(
            "vs_tla_drw",
            "VS + truncated logit adjustment + DRW from T0",
            "003, Table 1, Algorithm 1",
            "vs",
            hparams={**_VS, **_DRW, "tla_epoch": "T0"},
        ),
        _r(
            "vs_tla_adrw",
            "VS + TLA + ADRW from T0 (003's method)",
            "003, Table 1, Algorithm 1",
            "vs",
            hparams={**_VS, **_ADRW, "tla_epoch": "T0"},
        ),
        # 000 App. A.2: CIFAR-10-LT alpha_y = P(y) (a = 1), lambda = 0.01; the LA part with tau = 1.
        _r(
            "elm",
            "ELM: logit-adjusted margin loss + lambda * Omega_pull, alpha_y ~ P(y)^a",
            "000, eq. (4), App. A.2",
            "elm",
            hparams={"lam": 0.01, "a": 1.0},
        ),
        _r(
            "dro_lt",
            "DRO-LT, shared radius; CE warm-up; joint loss (19) lambda = 0.5; balanced classifier",
            "001, Sec. 4-5",
            "dro_lt",
            hparams={"radius": "shared", "epsilon": 1.0, "lam": 0.5},
            ce_warmup=0.5,
            classifier_stage="balanced_finetune",
        ),
        _r(
            "dro_lt_sqrt_n",
            "DRO-LT with per-class radius epsilon / sqrt(n_c)",
            "001, Sec. 5",
            "dro_lt",
            hparams={"radius": "sqrt_n", "epsilon": 10.0, "lam": 0.5},
            ce_warmup=0.5,
            classifier_stage="balanced_finetune",
        ),
        _r(
            "dro_lt_learned",
            "DRO-LT with learned per-class radii",
            "001, Sec. 5",
            "dro_lt",
            hparams={"radius": "learned", "epsilon": 1.0, "lam": 0.5},
            ce_warmup=0.5,
            classifier_stage="balanced_finetune",
        ),
        _r(
            "crt",
            "decoupling: CE representation, then classifier re-training with balanced sampling",
            "002; Kang et al. 2020",
            "ce",
            classifier_stage="crt",
        ),
        _r(
            "tau_norm",
            "decoupling: CE, then w_j / |w_j|^tau, tau chosen on the validation split",
            "002; Kang et al. 2020",
            "ce",
            classifier_stage="tau_norm",
        ),
        _r(
            "lws",
            "decoupling: CE, then learnable per-class weight scaling with balanced sampling",
            "002; Kang et al. 2020",
            "ce",
            classifier_stage="lws",
        ),
        _r(
            "ncm",
            "decoupling: CE, then the nearest-class-mean classifier on the embedding",
            "002; Kang et al. 2020",
            "ce",
            classifier_stage="ncm",
        ),
    )
}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise InputError(f"unknown method {name!r}; valid methods: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]


def resolved_hparams(recipe: Recipe, drw_epoch: int, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The loss's keyword arguments with ``"T0"`` replaced by the config's DRW epoch and overrides applied."""
    hparams = {key: (drw_epoch if value == "T0" else value) for key, value in recipe.hparams}
    for key, value in (overrides or {}).items():
        if key.lower().startswith("lam") and isinstance(value, (int, float)) and value < 0:
            raise InputError(f"loss hyper-parameter {key} (lambda) must be >= 0, got {value!r}")
        hparams[key] = value
    return hparams


class CEWarmup(nn.Module):
    """Plain CE for the first ``warmup_epochs`` epochs, then ``main`` (DRO-LT: lambda = 1, then < 1; 001 Sec. 5).

    Forwards ``needs_embeddings`` / ``update_centroids`` / parameters of ``main`` so the loop sees one loss.
    """

    def __init__(self, main: nn.Module, warmup_epochs: int) -> None:
        super().__init__()
        self.main = main
        self.warmup_epochs = int(warmup_epochs)
        self.epoch = 0
        self.needs_embeddings = bool(getattr(main, "needs_embeddings", False))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.main.set_epoch(epoch)

    @property
    def warming_up(self) -> bool:
        return self.epoch < self.warmup_epochs

    def update_centroids(self, embeddings: torch.Tensor, labels: torch.Tensor) -> None:
        if hasattr(self.main, "update_centroids"):
            self.main.update_centroids(embeddings, labels)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, embeddings: torch.Tensor | None = None):
        if self.warming_up:
            return nn.functional.cross_entropy(logits, labels)
        if self.needs_embeddings:
            return self.main(logits, labels, embeddings)
        return self.main(logits, labels)


def build_loss(
    recipe: Recipe, class_counts: np.ndarray, epochs: int, drw_epoch: int, overrides: dict[str, Any] | None = None
) -> nn.Module:
    """The loss module of ``recipe`` from ``ltbounds.losses.REGISTRY`` (with DRO-LT's CE warm-up)."""
    from ltbounds import losses

    if recipe.loss not in losses.REGISTRY:
        raise InputError(f"method {recipe.name!r} needs loss {recipe.loss!r}, which ltbounds.losses does not provide")
    hparams = resolved_hparams(recipe, drw_epoch, overrides)
    counts = np.asarray(class_counts, dtype=np.int64)
    try:
        loss = losses.REGISTRY[recipe.loss](counts, **hparams)
    except TypeError as error:
        raise InputError(f"loss {recipe.loss!r} rejected hyper-parameters {sorted(hparams)}: {error}") from error
    if recipe.ce_warmup > 0:
        loss = CEWarmup(loss, round(recipe.ce_warmup * epochs))
    return loss

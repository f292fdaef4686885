"""A training run's settings: ``HParams`` (what the run computes) and ``RunConfig`` (how it executes).

``HParams`` holds everything that changes the result: its content hash (``HParams.identity``) is the
run's identity, stored in every checkpoint and checked on ``--resume`` (a resume with other HParams
is refused, naming the fields that differ). ``RunConfig`` holds the execution settings (device,
autocast, compile, layout, output cadence, progress bar): changing them never makes another run.
This is the split of robust-generalization-measures (Dziugaite et al. 2020; ``HParams`` / ``Config``).
``TrainConfig`` is both in one flat frozen dataclass, the shape the CLI and the studies fill in;
``config.hparams`` and ``config.run`` are its two halves.

Fields left ``None`` are filled by ``resolve_config`` from the dataset family, following the
papers: CIFAR-LT uses Cao et al.'s LDAM-DRW recipe (200 epochs, batch 128, SGD 0.9, wd 2e-4,
lr 0.1, 5-epoch linear warm-up, lr x0.01 at 160 and x0.0001 at 180, DRW at 160); image folders use
a cosine schedule (elm, Table 3; 90 epochs, wd 5e-4); the embedded data use the CIFAR recipe's
shape scaled to 30 epochs (milestones and T0 at 80 % and 90 % of the run, as 160/200 and 180/200).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ltbounds.artifacts import json_safe
from ltbounds.checks import InputError

CIFAR_DATASETS = ("cifar10", "cifar100")
IMAGE_FOLDER_DATASETS = ("imagefolder",)


def _canonical(value: Any) -> Any:
    """The form hashed and compared: plain, and a whole float equal to its int (imbalance 100 == 100.0)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True)
class HParams:
    """Everything that changes a run's result: data, model, method, optimisation, augmentation, stages."""

    method: str = "ce"
    dataset: str = "mnist5k"
    imbalance: float = 100.0
    profile: str = "exp"
    seed: int = 0
    val_fraction: float = 0.1
    dataset_options: dict[str, Any] = field(default_factory=dict)
    # model: None -> ResNet-32 for CIFAR, ResNet-50 for image folders, CNN for images, MLP for vectors
    model: str | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    # optimisation (None -> the dataset family's paper default)
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float | None = None
    warmup_epochs: int | None = None
    schedule: str | None = None  # "step" | "cosine"
    milestones: tuple[int, ...] | None = None
    lr_decays: tuple[float, ...] = (0.01, 0.0001)  # lr factor (w.r.t. the base lr) from each milestone on
    drw_epoch: int | None = None  # T0 of DRW / ADRW / TLA (wang23, Algorithm 1)
    loss_overrides: dict[str, Any] = field(default_factory=dict)
    augment: bool | None = None  # None -> crop + flip for CIFAR and image folders, none for the rest
    sam: bool = False
    sam_rho: float = 0.05
    classifier_epochs: int = 10  # second-stage epochs (cRT, LWS, DRO-LT balanced classifier; Kang et al.: 10)

    def hparams_dict(self) -> dict[str, Any]:
        """The HParams fields only, plain (tuples become lists)."""
        return {f.name: json_safe(getattr(self, f.name)) for f in dataclasses.fields(HParams)}

    def identity(self) -> str:
        """The run's identity: SHA-256 of the canonical JSON of the HParams (sorted keys, whole floats as
        ints). Equal identities <=> equal HParams; only meaningful on a resolved config (``resolve_config``)."""
        text = json.dumps(_canonical(self.hparams_dict()), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RunConfig:
    """How a run executes: paths, device, numerics of the device, output cadence, progress display."""

    data_root: str | None = None  # where the data live (not what they are: that is HParams.dataset)
    device: str = "auto"
    amp: bool = True  # bf16 autocast on CUDA
    cpu_amp: bool = False  # bf16 autocast on the CPU too (opt-in: ~1.7x for ResNet-32 on CPUs with AVX512-BF16)
    compile: bool = False
    channels_last: bool = True  # images in channels_last layout (CUDA and oneDNN CPU convolutions prefer it)
    sync_batch_norm: bool = False  # DDP: BatchNorm statistics over the global batch
    save_every: int = 0
    progress: bool = True


@dataclass(frozen=True)
class TrainConfig(RunConfig, HParams):
    """``HParams`` and ``RunConfig`` in one flat frozen dataclass (the CLI's view): ``TrainConfig(method=...,
    device=...)``; ``config.hparams`` / ``config.run`` are the halves, ``config.identity()`` the run's hash."""

    @classmethod
    def of(cls, hparams: HParams, run: RunConfig | None = None) -> TrainConfig:
        values = {f.name: getattr(hparams, f.name) for f in dataclasses.fields(HParams)}
        run = run or RunConfig()
        values.update({f.name: getattr(run, f.name) for f in dataclasses.fields(RunConfig)})
        return cls(**values)

    @property
    def hparams(self) -> HParams:
        """The half that is the run's identity."""
        return HParams(**{f.name: getattr(self, f.name) for f in dataclasses.fields(HParams)})

    @property
    def run(self) -> RunConfig:
        """The execution half."""
        return RunConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(RunConfig)})

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON- and ``weights_only``-safe (tuples become lists): the checkpoint's ``training``."""
        return {f.name: json_safe(getattr(self, f.name)) for f in dataclasses.fields(self)}


def identity_differences(stored: dict[str, Any], hparams: HParams) -> list[str] | None:
    """The HParams fields in which a checkpoint's run differs from ``hparams`` (empty: the same run).

    ``stored`` is the checkpoint's ``method`` dict: ``hparams_id`` (the identity hash) and ``training``
    (every field). A checkpoint written before the identity hash existed has only ``training``: its
    HParams fields that it records are compared one by one. Returns None when the hashes differ but no
    recorded field does (a field this version does not know): the caller reports the hashes.
    """
    training = stored.get("training") or {}
    now = _canonical(hparams.hparams_dict())
    differing = [name for name, value in now.items() if name in training and _canonical(training[name]) != value]
    stored_id = stored.get("hparams_id")
    if stored_id is None or stored_id == hparams.identity():
        return differing if stored_id is None else []
    return differing or None


FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "cifar": {
        "epochs": 200,
        "batch_size": 128,
        "lr": 0.1,
        "weight_decay": 2e-4,
        "warmup_epochs": 5,
        "schedule": "step",
    },
    "imagefolder": {
        "epochs": 90,
        "batch_size": 256,
        "lr": 0.1,
        "weight_decay": 5e-4,
        "warmup_epochs": 5,
        "schedule": "cosine",
    },
    "embedded": {
        "epochs": 30,
        "batch_size": 128,
        "lr": 0.05,
        "weight_decay": 5e-4,
        "warmup_epochs": 1,
        "schedule": "step",
    },
}


def dataset_family(dataset: str) -> str:
    if dataset in CIFAR_DATASETS:
        return "cifar"
    if dataset in IMAGE_FOLDER_DATASETS:
        return "imagefolder"
    return "embedded"


def resolve_config(config: TrainConfig) -> TrainConfig:
    """Fill every ``None`` from the family defaults and validate; bad values raise ``InputError``."""
    defaults = FAMILY_DEFAULTS[dataset_family(config.dataset)]
    updates = {key: value for key, value in defaults.items() if getattr(config, key) is None}
    config = dataclasses.replace(config, **updates)
    epochs = config.epochs
    if not isinstance(epochs, int) or epochs < 1:
        raise InputError(f"epochs must be a positive whole number, got {epochs!r}")
    if config.milestones is None:
        # 160 and 180 of 200 in the LDAM-DRW recipe: keep the proportions when the run is shorter.
        config = dataclasses.replace(config, milestones=(round(0.8 * epochs), round(0.9 * epochs)))
    if config.drw_epoch is None:
        config = dataclasses.replace(config, drw_epoch=round(0.8 * epochs))
    config = dataclasses.replace(config, milestones=tuple(int(m) for m in config.milestones))
    validate_config(config)
    return config


def validate_config(config: TrainConfig) -> None:
    """Refuse out-of-range values with the reason."""
    if config.imbalance is None or not config.imbalance >= 1.0:
        raise InputError(f"imbalance rho = n_max / n_min must be >= 1 (1 = balanced), got {config.imbalance!r}")
    if config.profile not in ("exp", "step"):
        raise InputError(f"profile must be 'exp' or 'step', got {config.profile!r}")
    if not 0.0 <= config.val_fraction < 1.0:
        raise InputError(f"val_fraction must lie in [0, 1), got {config.val_fraction!r}")
    if config.batch_size is not None and config.batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {config.batch_size!r}")
    if config.lr is not None and not config.lr > 0:
        raise InputError(f"lr must be > 0, got {config.lr!r}")
    if config.weight_decay is not None and config.weight_decay < 0:
        raise InputError(f"weight_decay must be >= 0, got {config.weight_decay!r}")
    if not 0.0 <= config.momentum < 1.0:
        raise InputError(f"momentum must lie in [0, 1), got {config.momentum!r}")
    if config.warmup_epochs is not None and config.warmup_epochs < 0:
        raise InputError(f"warmup_epochs must be >= 0, got {config.warmup_epochs!r}")
    if config.schedule is not None and config.schedule not in ("step", "cosine"):
        raise InputError(f"schedule must be 'step' or 'cosine', got {config.schedule!r}")
    if config.milestones is not None:
        if len(config.milestones) != len(config.lr_decays):
            raise InputError(
                f"milestones {list(config.milestones)} and lr_decays {list(config.lr_decays)} must have the same length"
            )
        if any(m < 0 for m in config.milestones) or list(config.milestones) != sorted(config.milestones):
            raise InputError(f"milestones must be non-negative and increasing, got {list(config.milestones)}")
    if any(not d > 0 for d in config.lr_decays):
        raise InputError(f"lr_decays must be > 0, got {list(config.lr_decays)}")
    if config.drw_epoch is not None and config.drw_epoch < 0:
        raise InputError(f"drw_epoch (T0) must be >= 0, got {config.drw_epoch!r}")
    if config.drw_epoch is not None and isinstance(config.epochs, int) and config.drw_epoch > config.epochs:
        # T0 = epochs is allowed (never re-weight, the drw_timing study's end point); past it is a typo.
        raise InputError(
            f"--drw-epoch (T0) {config.drw_epoch} is past --epochs {config.epochs}; give T0 in [0, {config.epochs}]"
        )
    if config.sam_rho < 0:
        raise InputError(f"sam_rho must be >= 0, got {config.sam_rho!r}")
    if config.classifier_epochs < 0:
        raise InputError(f"classifier_epochs must be >= 0, got {config.classifier_epochs!r}")
    if config.save_every < 0:
        raise InputError(f"save_every must be >= 0 (0 = only last.pt), got {config.save_every!r}")
    from training.methods import check_loss_overrides  # here: methods imports torch, config stays light

    check_loss_overrides(config.loss_overrides)

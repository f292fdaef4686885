"""``ltbounds train`` checkpoint -> ``Outputs``: rebuild the model and its data, run one inference pass.

The adapter between the checkpoints of this package and the model-agnostic ``ltbounds.outputs``
(which never imports ``training``). It records on the ``Outputs`` the parameters of the training
loss at the checkpoint's last epoch (``LossParameters``) and fails loudly: a checkpoint that does not
match its data, or a known loss that cannot be rebuilt, raises ``InputError``; a loss this toolkit
cannot read is recorded as unknown, with the reason, and never read as plain CE.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ltbounds.checks import InputError
from ltbounds.outputs import LossParameters, Outputs, checkpoint_name
from training.checkpoints import load_checkpoint, model_from_checkpoint
from training.data import DatasetSpec, load_dataset


def outputs_from_checkpoint(
    checkpoint: str | os.PathLike | Mapping[str, Any],
    splits: tuple[str, ...] = ("train", "test"),
    *,
    data_root: str | os.PathLike | None = None,
    device: Any = "cpu",
    batch_size: int = 512,
    name: str | None = None,
    data: Any = None,
) -> dict[str, Outputs]:
    """Outputs of an ``ltbounds train`` checkpoint on the requested splits of its own dataset.

    Rebuilds the model (``training.checkpoints.model_from_checkpoint``) and the data
    (``training.data.load_dataset`` with the stored ``DatasetSpec``, or ``data``: an already loaded
    ``LongTailData`` of that spec, for callers reading many checkpoints of one dataset), checks that
    the stored class counts are those of the data, then runs one batched inference pass per split.
    Each ``Outputs`` carries ``training_loss_parameters`` of the checkpoint as ``loss_parameters``.
    """
    if data_root is not None and not Path(data_root).is_dir():
        raise InputError(f"--data-root {data_root} is not a directory; point it at the folder holding the dataset")
    if isinstance(checkpoint, Mapping):
        ckpt, label = dict(checkpoint), name or "checkpoint"
    else:
        ckpt, label = load_checkpoint(checkpoint), name or checkpoint_name(checkpoint)
    for key in ("model", "dataset", "class_counts", "state"):
        if key not in ckpt:
            raise InputError(f"checkpoint {label} lacks {key!r}: not a complete ltbounds checkpoint")
    try:
        from_dict = getattr(DatasetSpec, "from_dict", None)
        spec = from_dict(ckpt["dataset"]) if from_dict else DatasetSpec(**ckpt["dataset"])
    except TypeError as error:
        raise InputError(f"checkpoint {label}: its dataset spec {ckpt['dataset']!r} is not valid ({error})") from error
    if data is None:
        data = load_dataset(spec, None if data_root is None else str(data_root), device)
    stored = np.asarray(ckpt["class_counts"], dtype=np.int64)
    actual = np.asarray(data.class_counts, dtype=np.int64)
    if stored.shape != actual.shape or not np.array_equal(stored, actual):
        raise InputError(
            f"checkpoint {label}: its class_counts ({_short(stored)}) do not match the training counts of "
            f"dataset {spec.name!r} ({_short(actual)}); was it trained on other data or another --data-root?"
        )
    model = model_from_checkpoint(ckpt, device)
    method = ckpt.get("method") or {}
    method_name = str(method.get("name", "unknown")) if isinstance(method, Mapping) else str(method)
    loss_parameters = training_loss_parameters(ckpt, stored)
    result: dict[str, Outputs] = {}
    for split in splits:
        if not hasattr(data, split):
            raise InputError(f"dataset {spec.name!r} has no split {split!r}; choose from train, val, test")
        part = getattr(data, split)
        if len(part.y) == 0:
            raise InputError(
                f"dataset {spec.name!r} of checkpoint {label} has an empty {split!r} split "
                f"(val_fraction={spec.val_fraction}); use --heldout test"
            )
        result[split] = Outputs.from_module(
            model,
            part.x,
            part.y.cpu().numpy(),
            stored,
            batch_size=batch_size,
            device=device,
            split=split,
            name=label,
            method=method_name,
            loss_parameters=loss_parameters,
        )
    return result


def training_loss_parameters(checkpoint: Mapping[str, Any], class_counts: np.ndarray) -> LossParameters:
    """Per-class parameters of the loss in force at a checkpoint's last epoch.

    The VS family L = -alpha_y log softmax(beta * f + Delta)_y (wang23, eq. 3): ``alpha`` (re-weighting
    after DRW/ADRW switches, the loss's ``class_weights``), ``beta`` and ``logit_shift`` (Delta; a VS
    loss's ``scales``/``offsets``, or the ``logit_shift`` a loss exposes, e.g. logit adjustment's
    tau log pi); ELM: its pull margins as ``elm_alpha``. The loss is rebuilt from
    ``ltbounds.losses.REGISTRY`` with the stored hyper-parameters and moved to the last trained epoch.

    Never a silent CE fallback: a method this toolkit does not know (no recipe, or a loss outside the
    registry), or a loss that exposes none of these parameters, gives ``LossParameters.unknown(reason)``,
    and the statements that need the VS parameters report "not applicable" with that reason
    (``statements.wang23.vs_parameters_of``); a known loss that cannot be rebuilt from its stored
    hyper-parameters raises ``InputError``.
    """
    from ltbounds import losses

    method = checkpoint.get("method") or {}
    if not isinstance(method, Mapping) or not (method.get("recipe") or method.get("name")):
        return LossParameters.unknown("the checkpoint records no training method, so its loss is unknown")
    name = str(method.get("name"))
    recipe = method.get("recipe") or {}
    loss_name = recipe.get("loss") if isinstance(recipe, Mapping) else None
    if loss_name is None:
        from training.methods import RECIPES

        if name not in RECIPES:
            return LossParameters.unknown(
                f"method {name!r} is neither a recipe of training.methods nor records its recipe's loss, so the "
                "VS parameters of its loss are unknown"
            )
        loss_name = RECIPES[name].loss
    if loss_name not in losses.REGISTRY:
        return LossParameters.unknown(
            f"loss {loss_name!r} of method {name!r} is not in ltbounds.losses.REGISTRY, so its VS parameters are "
            "unknown",
            loss=str(loss_name),
        )
    hparams = dict(method.get("hparams") or {})
    try:
        loss = losses.REGISTRY[loss_name](np.asarray(class_counts), **hparams)
        if hasattr(loss, "set_epoch"):
            loss.set_epoch(max(int(checkpoint.get("epoch") or 1) - 1, 0))
    except (InputError, TypeError, ValueError) as error:
        raise InputError(
            f"checkpoint method {name!r}: its loss {loss_name!r} cannot be rebuilt from the stored hyper-parameters "
            f"{sorted(hparams)} ({error}); the bounds that need its parameters would otherwise use plain CE's"
        ) from error
    loss = getattr(loss, "main", loss)
    found: dict[str, Any] = {}
    weights = getattr(loss, "class_weights", None)
    if weights is not None:
        found["alpha"] = weights
    if getattr(loss, "scales", None) is not None and getattr(loss, "offsets", None) is not None:
        found["beta"], found["logit_shift"] = loss.scales, loss.offsets
    elif getattr(loss, "logit_shift", None) is not None:  # e.g. LogitAdjustedLoss: beta = 1, Delta = tau log pi
        found["logit_shift"] = loss.logit_shift
    if getattr(loss, "alpha", None) is not None and "elm" in str(loss_name).lower():
        found["elm_alpha"] = loss.alpha
    if not {"alpha", "beta", "logit_shift"} & set(found):
        # e.g. balanced softmax or Fisher (VS losses whose parameters this reader does not extract), DRO-LT:
        # reading them as CE's (alpha = beta = 1, Delta = 0) would be silently wrong
        found["unknown_reason"] = (
            f"loss {loss_name!r} of method {name!r} exposes no VS parameters that ltbounds reads (class_weights, "
            "scales/offsets or logit_shift)"
        )
    return LossParameters(loss=str(loss_name), **found)


def _short(values: np.ndarray) -> str:
    listed = values.tolist()
    return str(listed) if len(listed) <= 8 else f"{listed[:4]} ... {listed[-2:]} ({len(listed)} classes)"

"""``ltbounds train`` checkpoint -> ``Outputs``: rebuild the model and its data, run one inference pass.

``outputs_from_checkpoint`` holds each split's outputs in memory; ``export_checkpoint`` (``ltbounds
export``) streams them batch by batch to an outputs directory (docs/outputs_format.md) that ``ltbounds
evaluate DIR`` reads memory-mapped. Both rebuild and check the model and data in one place (``_rebuild``).

The adapter between the checkpoints of this package and the model-agnostic ``ltbounds.outputs``
(which never imports ``training``). It records on the ``Outputs`` the parameters of the training
loss at the checkpoint's last epoch (``LossParameters``) and fails loudly: a checkpoint that does not
match its data, or a known loss that cannot be rebuilt, raises ``InputError``; a loss this toolkit
cannot read is recorded as unknown, with the reason, and never read as plain CE.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ltbounds.artifacts import file_sha256
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
    Every split is held in memory; ``export_checkpoint`` streams them to disk instead.
    """
    rebuilt = _rebuild(checkpoint, data_root=data_root, device=device, name=name, data=data)
    parts = {split: rebuilt.split(split) for split in splits}
    return {
        split: Outputs.from_module(
            rebuilt.model,
            part.x,
            part.y.cpu().numpy(),
            rebuilt.class_counts,
            batch_size=batch_size,
            device=device,
            split=split,
            **rebuilt.identity_keywords,
        )
        for split, part in parts.items()
    }


def export_checkpoint(
    checkpoint: str | os.PathLike | Mapping[str, Any],
    directory: str | os.PathLike,
    splits: tuple[str, ...] | None = None,
    *,
    data_root: str | os.PathLike | None = None,
    device: Any = "cpu",
    batch_size: int = 512,
    dtype: Any = np.float32,
    name: str | None = None,
    data: Any = None,
    progress: bool = False,
) -> Path:
    """Stream the outputs of an ``ltbounds train`` checkpoint on its splits to an outputs directory.

    The model and data are rebuilt and checked as in ``outputs_from_checkpoint``; then
    ``ltbounds.outputs.export_module`` writes each batch as it is computed (one batch of logits and
    embeddings in memory at a time, never a whole split), as ``dtype`` (float32 or float64) ``.npy`` files
    (docs/outputs_format.md). The directory records what ``ltbounds evaluate CHECKPOINT`` would use: the
    name (``checkpoint_name``), the method, the training loss's ``LossParameters``, and, under
    ``metadata.source``, the dataset, imbalance, seed and epoch of the checkpoint.

    ``splits`` (None): train, val when the dataset has a non-empty one, and test, the splits
    ``ltbounds evaluate CHECKPOINT`` reads with ``--heldout auto``. The model runs in float32, so float32
    storage keeps its logits and embeddings exactly. ``progress``: a tqdm bar over batches on stderr,
    shown only when stderr is a terminal. An earlier outputs directory at ``directory`` is replaced
    (``OutputsWriter``); anything else there is refused.
    """
    from tqdm.auto import tqdm

    from ltbounds.outputs import export_module

    rebuilt = _rebuild(checkpoint, data_root=data_root, device=device, name=name, data=data)
    if splits is None:
        splits = ("train", "val", "test") if len(rebuilt.data.val.y) else ("train", "test")
    parts = {split: rebuilt.split(split) for split in splits}  # every split checked before anything is written
    batches = sum(-(-len(part.y) // max(int(batch_size), 1)) for part in parts.values())
    # disable=None: tqdm shows the bar only when stderr is a terminal (never in logs or tests)
    with tqdm(total=batches, desc="export", unit="batch", leave=False, disable=None if progress else True) as bar:

        def advance(split: str, _rows: int) -> None:
            bar.set_postfix_str(split, refresh=False)
            bar.update(1)

        return export_module(
            directory,
            rebuilt.model,
            {split: (part.x, part.y.cpu().numpy()) for split, part in parts.items()},
            rebuilt.class_counts,
            batch_size=batch_size,
            device=device,
            dtype=dtype,
            **rebuilt.identity_keywords,
            metadata={"source": _exported_source(checkpoint, rebuilt)},
            on_batch=advance,
        )


def _exported_source(checkpoint: str | os.PathLike | Mapping[str, Any], rebuilt: _RebuiltCheckpoint) -> dict:
    """``metadata.source`` of an exported directory: the checkpoint's dataset, imbalance, seed and epoch, and the
    sha256 of its file, by which ``ltbounds evaluate --certificates`` finds the checkpoint's certificate."""
    if isinstance(checkpoint, Mapping):
        return dict(rebuilt.source)
    return {**rebuilt.source, "checkpoint_sha256": file_sha256(checkpoint)}


@dataclass(frozen=True)
class _RebuiltCheckpoint:
    """A checkpoint's model and data, checked against each other (``_rebuild``)."""

    label: str  # the row key in reports (``checkpoint_name`` of the file, or the caller's name)
    spec: DatasetSpec
    data: Any  # training.data.LongTailData
    model: Any  # torch.nn.Module in eval mode, on the device
    class_counts: np.ndarray  # the stored training counts (equal to the data's)
    method: str
    loss_parameters: LossParameters
    source: dict[str, Any]  # dataset, imbalance, seed, epoch: what evaluate reports of a checkpoint

    @property
    def identity_keywords(self) -> dict[str, Any]:
        """``name``, ``method`` and ``loss_parameters`` for ``Outputs.from_module`` and ``export_module``: one
        source for both, so 'ltbounds evaluate CHECKPOINT' and 'ltbounds export' + 'evaluate DIR' give a
        checkpoint the same row key and read the same training-loss parameters."""
        return {"name": self.label, "method": self.method, "loss_parameters": self.loss_parameters}

    def split(self, split: str) -> Any:
        """The data of ``split``, refused when the dataset has no such split or it is empty."""
        if not hasattr(self.data, split):
            raise InputError(f"dataset {self.spec.name!r} has no split {split!r}; choose from train, val, test")
        part = getattr(self.data, split)
        if len(part.y) == 0:
            raise InputError(
                f"dataset {self.spec.name!r} of checkpoint {self.label} has an empty {split!r} split "
                f"(val_fraction={self.spec.val_fraction}); use --heldout test"
            )
        return part


def _rebuild(
    checkpoint: str | os.PathLike | Mapping[str, Any],
    *,
    data_root: str | os.PathLike | None,
    device: Any,
    name: str | None,
    data: Any,
) -> _RebuiltCheckpoint:
    """Load a checkpoint, rebuild its data (or take ``data``) and model, and check that the stored class
    counts are the data's; every problem is an ``InputError`` naming the checkpoint."""
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
    stored_spec = ckpt["dataset"] if isinstance(ckpt["dataset"], Mapping) else {}
    source = {key: stored_spec.get(key) for key in ("name", "imbalance", "seed")}
    source = {"dataset": source.pop("name"), **source, "epoch": ckpt.get("epoch")}
    return _RebuiltCheckpoint(
        label=label,
        spec=spec,
        data=data,
        model=model,
        class_counts=stored,
        method=method_name,
        loss_parameters=training_loss_parameters(ckpt, stored),
        source=source,
    )


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
    if getattr(loss, "margins", None) is not None:
        # LDAM subtracts s m_y from the label's own logit only (a margin that depends on the label), on s times
        # the cosine head: no alpha, beta, Delta of the VS family give this loss, and reading only its weights
        # (as weighted CE on the unscaled cosines) would report bounds of another loss as the training loss's
        return LossParameters.unknown(
            f"loss {loss_name!r} of method {name!r} is LDAM: its margin applies to the label's own logit only, "
            "which is not a VS loss (wang23, eq. 3), so it has no VS parameters",
            loss=str(loss_name),
        )
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

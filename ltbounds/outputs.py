"""``Outputs``: the model-agnostic input of every bound.

One ``Outputs`` holds one split of one model: logits, penultimate embeddings, labels, the linear
head (W, b) and the *training* class counts (the one source of truth for imbalance, also on the
test split). Arrays are float64 NumPy (bounds compute in float64).

Logits are ``embeddings @ head_weight.T + head_bias`` for a plain linear head; for a cosine
(normalised) head, ``head_kind == "cosine"`` and ``head_scale`` is the logit scale s.

Three ways in:

- ``Outputs(...)`` from arrays you already have;
- ``Outputs.from_module(model, x, labels, class_counts, features=..., head=...)`` from any
  ``torch.nn.Module`` (one batched pass under ``torch.inference_mode()``);
- ``training.checkpoint_outputs.outputs_from_checkpoint(path)`` from an ``ltbounds train`` checkpoint
  (rebuilds model and data; this module never imports ``training``);
- ``load_outputs(path)`` from an ``.npz`` / ``.pt`` file exported by your own code, in the format of
  ``docs/outputs_format.md`` (``save_outputs`` writes it), or from an outputs directory of memory-mapped
  ``.npy`` files (``open_outputs_dir``; ``save_outputs_dir`` and ``export_module`` write one, through
  ``ltbounds.outputs_layout``, the on-disk layout, which imports nothing from this module).

The file format (version 1), one model, one or more splits::

    format          "ltbounds.outputs"      optional in files you write yourself
    format_version  1                       optional
    class_counts    (C,) int                required: TRAINING counts, index = class id
    head_weight     (C, d) float            required
    head_bias       (C,) float              optional, zeros when absent
    head_kind       "linear" | "cosine"     optional, "linear"
    head_scale      float                   optional, 1.0 (the logit scale s of a cosine head)
    name, method    str                     optional: the row key and method name in reports
    loss, loss_alpha, loss_beta, loss_logit_shift, loss_elm_alpha, loss_unknown_reason
                                            optional: ``Outputs.loss_parameters`` (``LossParameters``)
    features_independent_of_train, head_fixed_to_simplex_etf
                    bool                    optional: ``Outputs.provenance`` (``Provenance``)
    <split>/embeddings  (n, d) float        required for each split (train, val, test, ...)
    <split>/labels      (n,) int            required
    <split>/logits      (n, C) float        optional for a linear head (computed as E W^T + b)

A single split may be written without the ``<split>/`` prefix (keys ``embeddings``, ``labels``,
``logits``) with its name in the string key ``split`` (default ``"train"``). Files of an older version
that carry the loss parameters under their ``Outputs.metadata`` names (``alpha``, ``beta``,
``logit_shift`` / ``Delta``, ``elm_alpha``, ``loss_parameters_missing``) still load
(``annotations_from_record`` converts them).
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ltbounds.checks import InputError, check_class_counts, check_counts_match_labels, check_labels, check_matrix
from ltbounds.outputs_layout import (
    OUTPUTS_FORMAT,
    OUTPUTS_FORMAT_VERSION,
    SPLIT_NAME,
    OutputsWriter,
    as_numpy,
    block_rows,
    check_mapped_matrix,
    read_outputs_dir,
    release_mapped_arrays,
    row_blocks,
)

CHECKPOINT_FORMAT = "ltbounds.checkpoint"
_SPLIT_NAME = SPLIT_NAME  # the one rule (ltbounds.outputs_layout), under its older name
_SPLIT_KEYS = ("embeddings", "labels", "logits")
_MODEL_KEYS = ("class_counts", "head_weight", "head_bias", "head_kind", "head_scale", "name", "method")


def _per_class_tuple(values: Any, name: str) -> tuple[float, ...] | None:
    if values is None:
        return None
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
        raise InputError(f"{name} must be a non-empty finite vector, one entry per class; got shape {array.shape}")
    return tuple(float(value) for value in array)


@dataclass(frozen=True)
class LossParameters:
    """Per-class parameters of the loss a model was trained with, as the bounds read them.

    The VS family L = -alpha_y log softmax(beta * f + Delta)_y (wang23, eq. 3): ``alpha`` (re-weighting,
    e.g. after a DRW switch), ``beta`` (logit scales, 1 after TLA) and ``logit_shift`` (Delta; logit
    adjustment: tau log pi_y); ELM's pull margins ``elm_alpha`` (elm, eq. 6). Each is C finite floats,
    or None where the loss has none: the readers then use CE's (alpha = beta = 1, Delta = 0) and
    alpha_y = pi_y for ELM. ``loss`` is the loss's name in ``ltbounds.losses.REGISTRY`` (None: not recorded).

    ``unknown_reason`` is set when the parameters could not be read (a method or loss this toolkit does
    not know): statements that need the VS parameters then report "not applicable" with it, and are
    never evaluated with CE's in its place.
    """

    loss: str | None = None
    alpha: tuple[float, ...] | None = None
    beta: tuple[float, ...] | None = None
    logit_shift: tuple[float, ...] | None = None
    elm_alpha: tuple[float, ...] | None = None
    unknown_reason: str | None = None

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "logit_shift", "elm_alpha"):
            object.__setattr__(self, name, _per_class_tuple(getattr(self, name), f"loss_parameters.{name}"))
        if self.loss is not None:
            object.__setattr__(self, "loss", str(self.loss))
        if self.unknown_reason is not None:
            object.__setattr__(self, "unknown_reason", str(self.unknown_reason))

    @classmethod
    def unknown(cls, reason: str, loss: str | None = None) -> LossParameters:
        """The parameters of a loss that could not be read, and why."""
        return cls(loss=loss, unknown_reason=reason)

    @property
    def has_vs_parameters(self) -> bool:
        """Whether any of alpha, beta, Delta was recorded."""
        return any(value is not None for value in (self.alpha, self.beta, self.logit_shift))


@dataclass(frozen=True)
class Provenance:
    """What the code that made the outputs recorded about how they were made (absent: False).

    ``features_independent_of_train``: the embeddings do not depend on the training sample (raw inputs,
    or a backbone trained on other data); wang23's certified forms assume it (``frozen_features``).
    ``head_fixed_to_simplex_etf``: the head was set to a simplex ETF, not learned (the tutorial's ETF statements).
    Nothing can check these on the arrays, so only the code that made them may set them."""

    features_independent_of_train: bool = False
    head_fixed_to_simplex_etf: bool = False

    def __post_init__(self) -> None:
        for name in ("features_independent_of_train", "head_fixed_to_simplex_etf"):
            object.__setattr__(self, name, bool(getattr(self, name)))  # numpy bools, 0-d arrays


# File keys (docs/outputs_format.md) of LossParameters and Provenance, and the ``Outputs.metadata``
# keys an older version used for them (still read: files and callers that give them are converted here).
LOSS_KEYS = {
    "loss": "loss",
    "loss_alpha": "alpha",
    "loss_beta": "beta",
    "loss_logit_shift": "logit_shift",
    "loss_elm_alpha": "elm_alpha",
    "loss_unknown_reason": "unknown_reason",
}
PROVENANCE_KEYS = ("features_independent_of_train", "head_fixed_to_simplex_etf")
LEGACY_LOSS_KEYS = {
    "alpha": "alpha",
    "beta": "beta",
    "logit_shift": "logit_shift",
    "Delta": "logit_shift",
    "elm_alpha": "elm_alpha",
    "loss_parameters_missing": "unknown_reason",
}


def annotations_from_record(
    record: Mapping[str, Any], source: str = "outputs"
) -> tuple[LossParameters | None, Provenance]:
    """(LossParameters or None, Provenance) from a file's keys (``LOSS_KEYS``, ``PROVENANCE_KEYS``) or
    an older ``Outputs.metadata`` mapping (``LEGACY_LOSS_KEYS``; ``logit_shift`` and ``Delta`` alias).
    Other keys are ignored. A parameter given twice (new and old key, or ``logit_shift`` and ``Delta``)
    raises ``InputError``."""
    fields: dict[str, Any] = {}
    for mapping in (LOSS_KEYS, LEGACY_LOSS_KEYS):
        for key, attribute in mapping.items():
            if key not in record or record[key] is None:
                continue
            if attribute in fields:
                raise InputError(f"{source}: loss parameter {attribute!r} is given twice (key {key!r}); give it once")
            value = record[key]
            if attribute in ("loss", "unknown_reason"):
                value = str(np.asarray(value).item()) if isinstance(value, np.ndarray) else str(value)
            fields[attribute] = value
    try:
        loss_parameters = LossParameters(**fields) if fields else None
    except InputError as error:
        raise InputError(f"{source}: {error}") from error
    provenance = Provenance(**{key: bool(np.asarray(record[key])) for key in PROVENANCE_KEYS if key in record})
    return loss_parameters, provenance


def annotations_record(outputs: Outputs) -> dict[str, Any]:
    """The file keys of ``outputs.loss_parameters`` and ``outputs.provenance`` (JSON-safe: str, bool,
    lists of float); the inverse of ``annotations_from_record``. Keys of unset parameters are left out."""
    return annotation_keys(outputs.loss_parameters, outputs.provenance)


def annotation_keys(parameters: LossParameters | None, provenance: Provenance) -> dict[str, Any]:
    """``annotations_record`` of a loss's parameters and a provenance not (yet) held by an ``Outputs``
    (``export_module`` writes them before any ``Outputs`` exists)."""
    record: dict[str, Any] = {key: getattr(provenance, key) for key in PROVENANCE_KEYS}
    if parameters is not None:
        for key, attribute in LOSS_KEYS.items():
            value = getattr(parameters, attribute)
            if value is not None:
                record[key] = list(value) if isinstance(value, tuple) else value
    return record


@dataclass(frozen=True, eq=False)
class Outputs:
    """One split of one model's outputs, validated on construction."""

    logits: np.ndarray  # (n, C) float64
    embeddings: np.ndarray  # (n, d) float64, the penultimate layer
    labels: np.ndarray  # (n,) int64 in [0, C)
    head_weight: np.ndarray  # (C, d) float64
    head_bias: np.ndarray  # (C,) float64 (zeros when the head has none)
    class_counts: np.ndarray  # (C,) int64: training-set counts, index = class id
    split: str = "train"  # "train" | "val" | "test" | any user name
    name: str = "model"  # checkpoint or model name, used as the row key in reports
    method: str = "unknown"  # training method name, when known
    head_kind: str = "linear"  # "linear" | "cosine"
    head_scale: float = 1.0  # logit scale s of a cosine head
    # the training loss's parameters (None: not recorded; the VS readers then use CE's, 1, 1, 0)
    loss_parameters: LossParameters | None = None
    provenance: Provenance = field(default_factory=Provenance)
    # An older version's string-keyed annotations ({"alpha": ..., "features_independent_of_train": True,
    # ...}): converted here into loss_parameters and provenance (annotations_from_record), not stored.
    metadata: InitVar[Mapping[str, Any] | None] = None

    def __post_init__(self, metadata: Mapping[str, Any] | None = None) -> None:
        if metadata:
            if self.loss_parameters is not None or self.provenance != Provenance():
                raise InputError("give loss_parameters/provenance or the older metadata mapping, not both")
            loss_parameters, provenance = annotations_from_record(metadata, "metadata")
            object.__setattr__(self, "loss_parameters", loss_parameters)
            object.__setattr__(self, "provenance", provenance)
        if self.loss_parameters is not None and not isinstance(self.loss_parameters, LossParameters):
            raise InputError(
                f"loss_parameters must be a LossParameters or None, got {type(self.loss_parameters).__name__}"
            )
        if not isinstance(self.provenance, Provenance):
            raise InputError(f"provenance must be a Provenance, got {type(self.provenance).__name__}")
        counts = check_class_counts(self.class_counts, "class_counts")
        num_classes = counts.shape[0]
        # memory-mapped float32/float64 arrays (an outputs directory, open_outputs_dir) stay mapped:
        # converting them to float64 here would load them whole; chunked statistics convert per block
        logits = _matrix(self.logits, "logits", columns=num_classes)
        n = logits.shape[0]
        embeddings = _matrix(self.embeddings, "embeddings", rows=n)
        labels = check_labels(self.labels, num_classes, "labels", length=n)
        weight = check_matrix(self.head_weight, "head_weight", rows=num_classes, columns=embeddings.shape[1])
        bias = np.asarray(self.head_bias, dtype=np.float64).reshape(-1)
        if bias.shape != (num_classes,) or not np.all(np.isfinite(bias)):
            raise InputError(f"head_bias must be a finite vector of length {num_classes}, got shape {bias.shape}")
        if self.head_kind not in ("linear", "cosine"):
            raise InputError(f"head_kind must be 'linear' or 'cosine', got {self.head_kind!r}")
        try:
            scale = float(self.head_scale)
        except (TypeError, ValueError) as error:
            raise InputError(f"head_scale must be a number, got {self.head_scale!r}") from error
        if not math.isfinite(scale) or (self.head_kind == "cosine" and scale <= 0):
            raise InputError(
                f"head_scale must be a finite number > 0 (the logit scale s of a cosine head, logits = "
                f"s cos(e, w_j)), got {self.head_scale!r}; give the scale the head multiplies the cosines by"
            )
        for attribute, value in (
            ("class_counts", counts),
            ("logits", logits),
            ("embeddings", embeddings),
            ("labels", labels),
            ("head_weight", weight),
            ("head_bias", bias),
        ):
            object.__setattr__(self, attribute, value)

    @property
    def num_classes(self) -> int:
        return int(self.class_counts.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.labels.shape[0])

    @property
    def priors(self) -> np.ndarray:
        """Training class priors pi_y = n_y / N."""
        return self.class_counts / self.class_counts.sum()

    @classmethod
    def from_module(
        cls,
        model: Any,
        x: Any,
        labels: Any,
        class_counts: Any,
        *,
        features: str | Callable[[Any], Any] | None = None,
        head: str | Any | None = None,
        batch_size: int = 512,
        device: Any = None,
        split: str = "test",
        name: str = "model",
        method: str = "unknown",
        loss_parameters: LossParameters | None = None,
        provenance: Provenance | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Outputs:
        """Outputs of any ``torch.nn.Module`` on inputs ``x``: one batched pass under inference mode.

        The feature/head hook (how the penultimate embeddings and the head are found):

        - ``features=None`` (default): ``model.embed(x)`` gives the embeddings (every model of
          ``training.models`` has it), ``head`` defaults to ``model.head``, logits = ``head(embeddings)``;
        - ``features=callable``: ``features(x_batch)`` gives the embeddings, logits = ``head(embeddings)``;
        - ``features="layer.name"``: a forward hook on that sub-module captures its output
          (flattened) while ``model(x_batch)`` gives the logits; e.g. a torchvision ResNet uses
          ``features="avgpool", head="fc"``.

        ``head`` is an ``nn.Linear`` (W, b), a cosine head with ``weight`` and ``scale`` (LDAM's
        normalised linear layer), or the dotted name of such a sub-module. The model is put in eval
        mode for the pass and its previous mode restored. ``class_counts`` are the TRAINING counts.
        ``loss_parameters`` and ``provenance`` are recorded on the result as given (``metadata``: an older
        version's string-keyed form of them, converted).
        """
        import torch

        head_module, (weight, bias, head_kind, head_scale) = _checked_module_head(model, head, batch_size)
        if device is None:
            device = _module_device(model)
        x_tensor = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
        if x_tensor.ndim < 1 or x_tensor.shape[0] == 0:
            raise InputError(f"x must hold at least one sample along its first axis, got shape {tuple(x_tensor.shape)}")
        embed = _embedding_function(model, features, head_module)
        parameter_dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
        was_training = model.training
        model.eval()
        embedding_batches, logit_batches = [], []
        try:
            with torch.inference_mode():
                for start in range(0, x_tensor.shape[0], int(batch_size)):
                    batch = x_tensor[start : start + int(batch_size)].to(device, non_blocking=True)
                    if batch.is_floating_point() and parameter_dtype is not None and batch.dtype != parameter_dtype:
                        batch = batch.to(parameter_dtype)  # float64 NumPy inputs meet float32 weights
                    embeddings, logits = embed(batch)
                    embedding_batches.append(embeddings.reshape(embeddings.shape[0], -1).double().cpu())
                    logit_batches.append(logits.reshape(logits.shape[0], -1).double().cpu())
        finally:
            model.train(was_training)
        return cls(
            logits=torch.cat(logit_batches).numpy(),
            embeddings=torch.cat(embedding_batches).numpy(),
            labels=labels,
            head_weight=weight,
            head_bias=bias,
            class_counts=class_counts,
            split=split,
            name=name,
            method=method,
            head_kind=head_kind,
            head_scale=head_scale,
            loss_parameters=loss_parameters,
            provenance=Provenance() if provenance is None else provenance,
            metadata=metadata,
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write this single split to ``path``: ``.npz`` or ``.pt`` (``save_outputs``), or, for a path
        without one of these suffixes, an outputs directory of ``.npy`` files (``save_outputs_dir``)."""
        if Path(path).suffix.lower() not in (".npz", ".pt"):
            return save_outputs_dir(path, self)
        return save_outputs(path, self)


def _matrix(array: Any, name: str, rows: int | None = None, columns: int | None = None) -> np.ndarray:
    if isinstance(array, np.memmap):
        return check_mapped_matrix(array, name, rows=rows, columns=columns)
    return check_matrix(array, name, rows=rows, columns=columns)


# Relative tolerance of the head check below. float32 storage or a float32 matmul errs by ~1e-6 of the
# logits' scale, bf16 storage by ~4e-3; logits of another head or model, or shifted post hoc (e.g. by
# tau log pi), are off by O(10%) or more. 1e-2 admits the first and refuses the second.
HEAD_RTOL = 1e-2


_HEAD_CHECK_ROWS = 8192


def _head_logits(outputs: Outputs, embeddings: np.ndarray) -> np.ndarray:
    """The logits the head (W, b) gives on some rows' float64 embeddings (overflow gives inf, not a warning).

    linear: ``E W^T + b``; cosine: ``s cos(e_i, w_j) + b_j`` with ``F.normalize``'s convention (a zero
    vector has cosine 0; LDAM's cosine head has b = 0). Rows are divided by their largest entry first,
    so that embeddings near the float64 limit do not overflow in the norm."""
    weight, bias = outputs.head_weight, outputs.head_bias
    with np.errstate(over="ignore", invalid="ignore"):
        if outputs.head_kind == "linear":
            return embeddings @ weight.T + bias
        return float(outputs.head_scale) * _unit_rows(embeddings) @ _unit_rows(weight).T + bias


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    largest = np.max(np.abs(matrix), axis=1, keepdims=True, initial=0.0)
    scaled = matrix / np.where(largest > 0, largest, 1.0)
    norms = np.linalg.norm(scaled, axis=1, keepdims=True)
    return scaled / np.where(norms > 0, norms, 1.0)


# np.allclose's tolerances for "the head reproduces the logits" (wang23's box reads the logits as the head's)
REPRODUCE_RTOL = 1e-4


@dataclass(frozen=True)
class HeadAgreement:
    """How a split's logits L compare with its head's logits H = head(E), over every entry, from one pass.

    ``largest``: max |L_ij|. ``consistency_excess``: the largest |L_ij - H_ij| among the entries that exceed
    HEAD_RTOL times their own terms sum_k |e_ik w_jk| + |b_j| (-inf: none); such an entry breaks
    ``check_head_consistency``'s rule exactly when it also exceeds HEAD_RTOL * largest. ``allclose_excess``:
    max of |L_ij - H_ij| - REPRODUCE_RTOL |L_ij| (-inf for no entry), or for rows already within the
    tolerance an upper bound of it that is within too (``_head_agreement_of_rows``): the two verdicts are
    exact either way. Entries where H overflows are skipped.
    """

    largest: float
    consistency_excess: float
    allclose_excess: float

    @property
    def consistent(self) -> bool:
        """``check_head_consistency``'s rule: |L - H| <= HEAD_RTOL * max(terms, largest) for every entry."""
        return not self.consistency_excess > HEAD_RTOL * self.largest

    @property
    def reproduces(self) -> bool:
        """np.allclose(H, L, rtol=REPRODUCE_RTOL, atol=REPRODUCE_RTOL * max(1, largest))."""
        return bool(self.allclose_excess <= REPRODUCE_RTOL * max(1.0, self.largest))

    def merge(self, other: HeadAgreement) -> HeadAgreement:
        """The agreement of two sets of rows together."""
        return HeadAgreement(
            max(self.largest, other.largest),
            max(self.consistency_excess, other.consistency_excess),
            max(self.allclose_excess, other.allclose_excess),
        )


_NO_ROWS = HeadAgreement(0.0, -math.inf, -math.inf)


def _head_terms(outputs: Outputs, embeddings: np.ndarray) -> np.ndarray:
    """Per entry, the size of what the head's dot product sums (what a rounding error is relative to):
    sum_k |e_ik w_jk| + |b_j| (linear), |s| + |b_j| (cosine)."""
    if outputs.head_kind == "linear":
        return np.abs(embeddings) @ np.abs(outputs.head_weight).T + np.abs(outputs.head_bias)
    shape = (embeddings.shape[0], outputs.num_classes)
    return np.broadcast_to(abs(float(outputs.head_scale)) + np.abs(outputs.head_bias), shape)


def _head_agreement_of_rows(
    outputs: Outputs,
    embeddings: np.ndarray,
    logits: np.ndarray,
    expected: np.ndarray,
    largest_so_far: float,
    largest_here: float,
) -> HeadAgreement:
    """``HeadAgreement`` of some rows: float64 ``embeddings`` and ``logits``, ``expected`` = their head logits.

    ``largest_here``: ``largest_abs_logit(logits)``, read once by the caller. ``largest_so_far``: max |L| over
    every row read so far, these included (<= the split's). An entry with
    |L - H| <= HEAD_RTOL * largest_so_far satisfies the rule whatever the terms, so the terms (a second
    matrix product, as costly as the head's) are computed only for a block holding another entry: never
    for logits that are the head's up to rounding."""
    with np.errstate(over="ignore", invalid="ignore"):
        error = np.subtract(logits, expected)
        np.abs(error, out=error)
        worst = float(error.max(initial=0.0))
        # logits that are the head's up to rounding (the usual case): every entry within both rules as they
        # stand with the largest |logit| read so far (the split's is larger or equal), H finite. Then the
        # block's worst error stands for its allclose excess (an upper bound that already passes), and no
        # entry is suspect, so the entrywise work below is skipped.
        if worst <= HEAD_RTOL * largest_so_far and worst <= REPRODUCE_RTOL * max(1.0, largest_so_far):
            if bool(np.isfinite(expected.sum())):
                return HeadAgreement(largest_here, -math.inf, worst)
        finite = np.isfinite(expected)
        suspect = finite & ~(error <= HEAD_RTOL * largest_so_far)
        consistency = -math.inf
        if suspect.any():
            terms = _head_terms(outputs, embeddings)
            beyond = suspect & np.isfinite(terms) & ~(error <= HEAD_RTOL * terms)
            if beyond.any():
                worst = float(np.max(error[beyond]))  # NaN (a NaN logit) breaks the rule
                consistency = math.inf if math.isnan(worst) else worst
        slack = np.where(finite, error - REPRODUCE_RTOL * np.abs(logits), -np.inf)
        allclose = float(np.max(slack, initial=-np.inf))
    return HeadAgreement(largest_here, consistency, math.inf if math.isnan(allclose) else allclose)


def largest_abs_logit(logits: np.ndarray) -> float:
    """max |L| ignoring NaN (a NaN logit breaks the rule through its error, not through the scale)."""
    largest = max(float(logits.max(initial=0.0)), -float(logits.min(initial=0.0)))  # two reads, no |L| array
    if math.isnan(largest):
        return float(np.max(np.abs(logits), where=~np.isnan(logits), initial=0.0))
    return largest


def head_agreement(
    outputs: Outputs,
    blocks: Iterable[slice] | None = None,
    on_block: Callable[[slice, np.ndarray], None] | None = None,
) -> HeadAgreement:
    """``HeadAgreement`` of a whole split, block by block (memory: a few (block, C) arrays).

    ``blocks``: the row slices (default: blocks of 8,192 rows). ``on_block(rows, H)`` receives each block's
    head logits, for a caller that needs more of them than the agreement (``statements.statistics.head_pass``)
    without a second matrix product."""
    total = _NO_ROWS
    for rows in _row_slices(outputs.num_samples, _HEAD_CHECK_ROWS) if blocks is None else blocks:
        embeddings = np.asarray(outputs.embeddings[rows], dtype=np.float64)
        logits = np.asarray(outputs.logits[rows], dtype=np.float64)
        here = largest_abs_logit(logits)
        expected = _head_logits(outputs, embeddings)
        agreement = _head_agreement_of_rows(outputs, embeddings, logits, expected, max(total.largest, here), here)
        total = total.merge(agreement)
        if on_block is not None:
            on_block(rows, expected)
        release_mapped_pages(outputs)  # a memory-mapped split's pages leave resident memory block by block
    return total


def check_head_consistency(outputs: Outputs, source: str = "outputs", agreement: HeadAgreement | None = None) -> None:
    """The logits must be the head applied to the embeddings: ``|logits - head(E)| <= HEAD_RTOL * scale``.

    ``scale`` is, per entry, the larger of the largest |logit| of the split and sum_k |e_k w_jk| + |b_j|
    (the size of the terms the dot product sums, which a rounding error is relative to). Bounds that
    use the head's norm (Rademacher complexities, ELM's Lemma 5, Wang et al.'s box) are about the
    function E -> head(E): with logits from elsewhere their value and the measured margins describe two
    different models, so such outputs are refused, not reported. ``agreement``: the split's
    ``HeadAgreement`` when already computed (``head_agreement``, one pass over blocks of rows; memory stays
    a few (block, C) arrays however many samples there are). Only when the rule fails is a second pass
    made, to count the entries that break it and name one."""
    if outputs.num_samples == 0:
        return
    agreement = head_agreement(outputs) if agreement is None else agreement
    if agreement.consistent:
        return
    largest, logits = agreement.largest, outputs.logits
    wrong_count, example = 0, None
    for start in range(0, outputs.num_samples, _HEAD_CHECK_ROWS):
        rows = slice(start, start + _HEAD_CHECK_ROWS)
        embeddings = np.asarray(outputs.embeddings[rows], dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            expected = _head_logits(outputs, embeddings)
            scale = np.maximum(_head_terms(outputs, embeddings), largest)
            error = np.abs(logits[rows] - expected)
            # where the float64 recomputation itself overflows nothing can be checked (not a mismatch)
            wrong = np.isfinite(expected) & np.isfinite(scale) & ~(error <= HEAD_RTOL * scale)
        release_mapped_pages(outputs)
        if wrong.any():
            wrong_count += int(wrong.sum())
            if example is None:
                row, column = (int(i) for i in np.argwhere(wrong)[0])
                example = (start + row, column, float(expected[row, column]))
    if example is not None:
        row, column, given = example
        formula = "E W^T + b" if outputs.head_kind == "linear" else "head_scale * cos(E, W) + b"
        raise InputError(
            f"{source}: split {outputs.split!r}: logits are not {formula} of the {outputs.head_kind} head "
            f"({wrong_count} of {logits.size} entries differ by more than {HEAD_RTOL:g} of their scale; "
            f"e.g. sample {row}, class {column}: logit {logits[row, column]:.6g}, head gives {given:.6g}); "
            "export the logits of this head on these embeddings, or omit the logits of a linear head (they "
            "are then computed)"
        )


def release_mapped_pages(outputs: Outputs) -> None:
    """Unmap the pages of ``outputs``' memory-mapped logits/embeddings that this process has read
    (``outputs_layout.release_mapped_arrays``); in-memory arrays are left alone."""
    release_mapped_arrays(outputs.logits, outputs.embeddings)


def _row_slices(num_rows: int, rows: int):
    return (slice(start, start + rows) for start in range(0, num_rows, rows))


def _resolve_head(model: Any, head: Any) -> Any:
    if head is None:
        if not hasattr(model, "head"):
            raise InputError(
                "the model has no 'head' attribute: pass head=<the final linear layer> or its name, e.g. head='fc'"
            )
        return model.head
    if isinstance(head, str):
        return _submodule(model, head, "head")
    return head


def _submodule(model: Any, dotted: str, argument: str) -> Any:
    try:
        return model.get_submodule(dotted)
    except AttributeError as error:
        names = [name for name, _ in model.named_modules() if name][:12]
        raise InputError(f"{argument}={dotted!r} is not a sub-module of the model; some names: {names}") from error


def _checked_module_head(
    model: Any, head: Any, batch_size: int
) -> tuple[Any, tuple[np.ndarray, np.ndarray, str, float]]:
    """The inputs of a pass over a module, checked (model, then batch_size, then head): (the head module,
    its ``_head_parameters``)."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if int(batch_size) < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    head_module = _resolve_head(model, head)
    return head_module, _head_parameters(head_module)


def _head_parameters(head: Any) -> tuple[np.ndarray, np.ndarray, str, float]:
    """(W (C, d), b (C,), kind, scale) of a linear or cosine head."""
    import torch

    weight = getattr(head, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
        raise InputError(
            f"head must be an nn.Linear or a cosine head with a 2-D 'weight', got {type(head).__name__}; "
            "pass head=<final layer>"
        )
    weight = weight.detach().double().cpu().numpy()
    scale = getattr(head, "scale", getattr(head, "s", None))
    if isinstance(head, torch.nn.Linear) or scale is None:
        bias = getattr(head, "bias", None)
        bias = np.zeros(weight.shape[0]) if bias is None else bias.detach().double().cpu().numpy()
        return weight, bias, "linear", 1.0
    # A cosine head may store W as (d, C) (LDAM's reference NormedLinear) or (C, d).
    out_features = getattr(head, "out_features", None)
    if out_features is not None and weight.shape[0] != out_features and weight.shape[1] == out_features:
        weight = weight.T
    scale_value = float(scale.detach().cpu().item() if isinstance(scale, torch.Tensor) else scale)
    return np.ascontiguousarray(weight), np.zeros(weight.shape[0]), "cosine", scale_value


def _module_device(model: Any) -> Any:
    import torch

    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


def _embedding_function(model: Any, features: Any, head: Any) -> Callable[[Any], tuple[Any, Any]]:
    """A function batch -> (embeddings, logits) implementing the documented feature hook."""
    if features is None:
        if not callable(getattr(model, "embed", None)):
            raise InputError(
                "the model has no embed(x) method: pass features=<callable x -> embeddings> or the "
                "name of the penultimate sub-module, e.g. features='avgpool'"
            )
        return lambda batch: _embed_then_head(model.embed, head, batch)
    if callable(features):
        return lambda batch: _embed_then_head(features, head, batch)
    if isinstance(features, str):
        layer = _submodule(model, features, "features")
        captured: list[Any] = []

        def run(batch: Any) -> tuple[Any, Any]:
            handle = layer.register_forward_hook(lambda _module, _inputs, output: captured.append(output))
            try:
                logits = model(batch)
            finally:
                handle.remove()
            if not captured:
                raise InputError(f"features={features!r} did not run during model(x); name a layer on the forward path")
            embeddings = captured.pop()
            captured.clear()
            return embeddings.flatten(1), logits

        return run
    raise InputError(f"features must be None, a callable or a sub-module name, got {type(features).__name__}")


def _embed_then_head(embed: Callable[[Any], Any], head: Any, batch: Any) -> tuple[Any, Any]:
    embeddings = embed(batch)
    return embeddings, head(embeddings)


def _check_same_model(split: str, item: Outputs, first: Outputs, holder: str) -> None:
    """One saved file or directory (``holder``) holds one model: every split has the first one's class counts
    and head."""
    if not (
        np.array_equal(item.class_counts, first.class_counts)
        and np.array_equal(item.head_weight, first.head_weight)
        and np.array_equal(item.head_bias, first.head_bias)
    ):
        raise InputError(f"split {split!r} has another head or other class_counts: one {holder} holds one model")


def save_outputs(path: str | os.PathLike, outputs: Outputs | Mapping[str, Outputs]) -> Path:
    """Write one model's outputs (one ``Outputs`` or a mapping split -> ``Outputs``) to ``path``.

    ``.npz`` (NumPy, no pickle) or ``.pt`` (``torch.save`` of tensors and strings, loadable with
    ``weights_only=True``), in the format of the module docstring / ``docs/outputs_format.md``.
    Every split must share the head and class counts. Written atomically.
    """
    from ltbounds.artifacts import atomic_write_bytes

    splits = {outputs.split: outputs} if isinstance(outputs, Outputs) else dict(outputs)
    if not splits:
        raise InputError("outputs must hold at least one split")
    first = next(iter(splits.values()))
    record: dict[str, Any] = {
        "format": OUTPUTS_FORMAT,
        "format_version": OUTPUTS_FORMAT_VERSION,
        "class_counts": first.class_counts,
        "head_weight": first.head_weight,
        "head_bias": first.head_bias,
        "head_kind": first.head_kind,
        "head_scale": float(first.head_scale),
        "name": first.name,
        "method": first.method,
        **annotations_record(first),
    }
    for split, item in splits.items():
        if not isinstance(item, Outputs):
            raise InputError(f"outputs[{split!r}] must be an Outputs, got {type(item).__name__}")
        if not _SPLIT_NAME.match(str(split)):
            raise InputError(f"split name {split!r} must use letters, digits, '_' or '-' only")
        _check_same_model(split, item, first, "file")
        if item.loss_parameters != first.loss_parameters or item.provenance != first.provenance:
            raise InputError(f"split {split!r} has other loss_parameters or provenance: one file holds one model")
        record[f"{split}/embeddings"] = item.embeddings
        record[f"{split}/labels"] = item.labels
        record[f"{split}/logits"] = item.logits
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".npz":
        import io

        buffer = io.BytesIO()
        np.savez(buffer, **{key: np.asarray(value) for key, value in record.items()})
        return atomic_write_bytes(target, buffer.getvalue())
    if suffix == ".pt":
        import io

        import torch

        tensors = {
            key: torch.as_tensor(value) if isinstance(value, np.ndarray) else value for key, value in record.items()
        }
        buffer = io.BytesIO()
        torch.save(tensors, buffer)
        return atomic_write_bytes(target, buffer.getvalue())
    raise InputError(f"outputs path must end in .npz or .pt, got {str(path)!r}")


def read_record(path: str | os.PathLike) -> dict[str, Any]:
    """The raw key -> value record of an ``.npz`` or ``.pt`` file (arrays as NumPy, strings as str).

    Raises ``InputError`` naming the file when it is missing, corrupt or not a dictionary.
    """
    source = Path(path)
    if not source.exists():
        raise InputError(f"{source}: no such file")
    if source.is_dir():
        raise InputError(f"{source} is a directory; give a checkpoint (.pt) or an outputs file (.npz/.pt)")
    suffix = source.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(source, allow_pickle=False) as archive:
                return {key: _plain(archive[key]) for key in archive.files}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as error:
            raise InputError(f"{source} is not a readable .npz file ({type(error).__name__}: {error})") from error
    import pickle

    import torch

    try:
        loaded = torch.load(source, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
        from ltbounds.checks import error_reason

        reason = error_reason(error)  # the whole first sentence, not cut mid-word
        raise InputError(f"{source} is corrupt or not a plain torch file of tensors ({reason})") from error
    if not isinstance(loaded, dict):
        raise InputError(f"{source} holds a {type(loaded).__name__}, not a dictionary: not an ltbounds file")
    return {key: _plain(value) for key, value in loaded.items()}


def _plain(value: Any) -> Any:
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "USO":
        return str(value.item())
    return value


def is_outputs_record(record: Mapping[str, Any]) -> bool:
    """Whether a raw record looks like an outputs file (and not a checkpoint)."""
    if record.get("format") == OUTPUTS_FORMAT:
        return True
    if "format" in record:
        return False
    return "class_counts" in record and any(key == "embeddings" or key.endswith("/embeddings") for key in record)


def outputs_from_record(record: Mapping[str, Any], source: str = "outputs") -> dict[str, Outputs]:
    """Validate a raw outputs record (see the module docstring) into split name -> ``Outputs``."""
    if record.get("format", OUTPUTS_FORMAT) != OUTPUTS_FORMAT:
        raise InputError(f"{source}: format is {record.get('format')!r}, expected {OUTPUTS_FORMAT!r}")
    version = record.get("format_version", OUTPUTS_FORMAT_VERSION)
    if int(np.asarray(version)) != OUTPUTS_FORMAT_VERSION:
        raise InputError(f"{source}: format_version {version!r} is not supported (expected {OUTPUTS_FORMAT_VERSION})")
    for key in ("class_counts", "head_weight"):
        if key not in record:
            raise InputError(f"{source}: missing required key {key!r} (see docs/outputs_format.md)")
    split_names = sorted({key.split("/", 1)[0] for key in record if "/" in key})
    flat = {key: record[key] for key in _SPLIT_KEYS if key in record}
    if flat:
        if split_names:
            raise InputError(f"{source}: mixes flat keys {sorted(flat)} with per-split keys; use one layout")
        flat_split = str(record.get("split", "train"))
        record = {**record, **{f"{flat_split}/{key}": value for key, value in flat.items()}}
        split_names = [flat_split]
    if not split_names:
        raise InputError(f"{source}: no split found; expected keys like 'train/embeddings' and 'train/labels'")
    head_weight = np.asarray(record["head_weight"], dtype=np.float64)
    head_bias = record.get("head_bias")
    head_kind = str(record.get("head_kind", "linear"))
    common = {
        "head_weight": head_weight,
        "head_bias": np.zeros(head_weight.shape[0]) if head_bias is None else head_bias,
        "class_counts": record["class_counts"],
        "name": str(record.get("name", Path(source).stem)),
        "method": str(record.get("method", "unknown")),
        "head_kind": head_kind,
        "head_scale": float(np.asarray(record.get("head_scale", 1.0))),
    }
    # older files and .pt dicts may carry the annotations as Outputs.metadata keys, or a "metadata" dict
    legacy = record.get("metadata")
    annotations = {**record, **legacy} if isinstance(legacy, Mapping) else record
    common["loss_parameters"], common["provenance"] = annotations_from_record(annotations, source)
    splits: dict[str, Outputs] = {}
    for split in split_names:
        unknown = {key for key in record if key.startswith(f"{split}/")} - {f"{split}/{k}" for k in _SPLIT_KEYS}
        if unknown:
            raise InputError(f"{source}: unknown key(s) {sorted(unknown)}; per-split keys are {list(_SPLIT_KEYS)}")
        for key in ("embeddings", "labels"):
            if f"{split}/{key}" not in record:
                raise InputError(f"{source}: split {split!r} lacks {split}/{key}")
        embeddings = record[f"{split}/embeddings"]
        logits = record.get(f"{split}/logits")
        if logits is None:
            if head_kind != "linear":
                raise InputError(f"{source}: split {split!r} lacks {split}/logits, required for a {head_kind} head")
            embeddings = check_matrix(embeddings, f"{split}/embeddings")
            if embeddings.shape[1] != head_weight.shape[-1]:
                raise InputError(
                    f"{source}: {split}/embeddings has {embeddings.shape[1]} columns but head_weight has "
                    f"{head_weight.shape[-1]}"
                )
            logits = embeddings @ head_weight.T + np.asarray(common["head_bias"], dtype=np.float64)
        try:
            splits[split] = Outputs(
                logits=logits, embeddings=embeddings, labels=record[f"{split}/labels"], split=split, **common
            )
        except InputError as error:
            raise InputError(f"{source}, split {split!r}: {error}") from error
        if f"{split}/logits" in record:  # computed logits match by construction
            check_head_consistency(splits[split], source)
    _check_train_counts(splits, source)
    return splits


def _check_train_counts(splits: Mapping[str, Outputs], source: Any) -> None:
    """A loaded training split's labels must count to the stored class counts (errors name ``source``)."""
    if "train" in splits:
        try:
            check_counts_match_labels(splits["train"].class_counts, splits["train"].labels)
        except InputError as error:
            raise InputError(f"{source}: {error}") from error


def load_outputs(path: str | os.PathLike) -> dict[str, Outputs]:
    """Read an exported outputs file (``.npz`` or ``.pt``): split name -> ``Outputs``.

    The format is in the module docstring and ``docs/outputs_format.md``. A file that is corrupt,
    is a checkpoint, or misses a required key raises ``InputError`` naming the file.
    """
    if Path(path).is_dir():  # an outputs directory of .npy files, memory-mapped (ltbounds.outputs_layout)
        return open_outputs_dir(path)
    record = read_record(path)
    if record.get("format") == CHECKPOINT_FORMAT:
        raise InputError(
            f"{path} is a training checkpoint, not an outputs file: read it with "
            "training.checkpoint_outputs.outputs_from_checkpoint (or ltbounds evaluate)"
        )
    if not is_outputs_record(record):
        raise InputError(
            f"{path} is neither an ltbounds checkpoint nor an outputs file (keys: {sorted(record)[:8]}); "
            "see docs/outputs_format.md"
        )
    return outputs_from_record(record, str(path))


def save_outputs_dir(path: str | os.PathLike, outputs: Outputs | Mapping[str, Outputs], dtype: Any = None) -> Path:
    """Write one ``Outputs`` or a mapping split -> ``Outputs`` (one model) as an outputs directory
    (the layout of ``ltbounds.outputs_layout``, written by its ``OutputsWriter``).

    ``dtype``: float32 or float64 storage of logits and embeddings (default: that of the first split's
    logits). Copied in row blocks, so mapped inputs are never loaded whole."""
    splits = {outputs.split: outputs} if isinstance(outputs, Outputs) else dict(outputs)
    if not splits:
        raise InputError("outputs must hold at least one split")
    first = next(iter(splits.values()))
    for split, item in splits.items():
        if not isinstance(item, Outputs):
            raise InputError(f"outputs[{split!r}] must be an Outputs, got {type(item).__name__}")
        _check_same_model(split, item, first, "directory")
    with OutputsWriter(
        path,
        class_counts=first.class_counts,
        head_weight=first.head_weight,
        head_bias=first.head_bias,
        splits={split: item.num_samples for split, item in splits.items()},
        dtype=first.logits.dtype if dtype is None else dtype,
        head_kind=first.head_kind,
        head_scale=first.head_scale,
        name=first.name,
        method=first.method,
        metadata=annotations_record(first),  # loss parameters and provenance, as the file keys
    ) as writer:
        for split, item in splits.items():
            step = block_rows(max(item.num_classes, item.embeddings.shape[1]))
            for start in range(0, item.num_samples, step):
                rows = slice(start, start + step)
                writer.append(split, item.logits[rows], item.embeddings[rows], item.labels[rows])
        return writer.close()


def open_outputs_dir(path: str | os.PathLike) -> dict[str, Outputs]:
    """Open an outputs directory: split name -> ``Outputs`` whose logits and embeddings are memory-mapped.

    ``InputError`` naming the directory and the file when ``outputs.json`` or an array is missing, the
    metadata is not this format, or the arrays disagree in shape or with the declared sample counts
    (``outputs_layout.read_outputs_dir``), or a split's values are not valid ``Outputs``."""
    directory = read_outputs_dir(path)
    source, record = directory.path, directory.record
    splits: dict[str, Outputs] = {}
    for split, (logits, embeddings, labels) in directory.splits.items():
        try:
            splits[split] = Outputs(
                logits=logits,
                embeddings=embeddings,
                labels=labels,
                head_weight=directory.head_weight,
                head_bias=directory.head_bias,
                class_counts=directory.class_counts,
                split=split,
                name=str(record.get("name", source.name)),
                method=str(record.get("method", "unknown")),
                head_kind=str(record.get("head_kind", "linear")),
                head_scale=float(record.get("head_scale", 1.0)),
                metadata=dict(record.get("metadata") or {}),
            )
        except InputError as error:
            raise InputError(f"{source}, split {split!r}: {error}") from error
    _check_train_counts(splits, source)
    return splits


def export_module(
    path: str | os.PathLike,
    model: Any,
    splits: Mapping[str, tuple[Any, Any]],
    class_counts: Any,
    *,
    features: Any = None,
    head: Any = None,
    batch_size: int = 512,
    device: Any = None,
    dtype: Any = np.float32,
    name: str = "model",
    method: str = "unknown",
    loss_parameters: LossParameters | None = None,
    provenance: Provenance | None = None,
    metadata: Mapping[str, Any] | None = None,
    on_batch: Callable[[str, int], None] | None = None,
) -> Path:
    """Stream a ``torch.nn.Module``'s outputs on ``splits`` (split -> (x, labels)) to an outputs
    directory batch by batch: the same pass as ``Outputs.from_module`` (inference mode, eval mode,
    the feature/head hook), but each batch is written to disk (``OutputsWriter``) instead of being kept.

    ``loss_parameters`` and ``provenance`` are written as their file keys into ``outputs.json``'s
    ``metadata`` (``annotation_keys``), where ``open_outputs_dir`` reads them back; ``metadata`` may add
    other JSON-safe keys (an older version's annotation names among them are converted on reading).
    ``on_batch(split, rows)`` is called after each batch is written (e.g. to advance a progress bar)."""
    import torch

    head_module, (weight, bias, head_kind, head_scale) = _checked_module_head(model, head, batch_size)
    metadata = {**(metadata or {}), **annotation_keys(loss_parameters, provenance or Provenance())}
    annotations_from_record(metadata, "metadata")  # a parameter given twice is refused before any pass
    device = _module_device(model) if device is None else device
    embed = _embedding_function(model, features, head_module)
    parameter_dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
    sizes = {split: int(np.asarray(as_numpy(labels)).reshape(-1).shape[0]) for split, (_x, labels) in splits.items()}
    was_training = model.training
    model.eval()
    try:
        with (
            OutputsWriter(
                path,
                class_counts=class_counts,
                head_weight=weight,
                head_bias=bias,
                splits=sizes,
                dtype=dtype,
                head_kind=head_kind,
                head_scale=head_scale,
                name=name,
                method=method,
                metadata=metadata,
            ) as writer,
            torch.inference_mode(),
        ):
            for split, (x, labels) in splits.items():
                x_tensor = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
                y = np.asarray(as_numpy(labels)).reshape(-1)
                if x_tensor.shape[0] != y.shape[0]:
                    raise InputError(f"split {split!r}: x has {x_tensor.shape[0]} samples but labels {y.shape[0]}")
                for rows in row_blocks(y.shape[0], int(batch_size)):
                    batch = x_tensor[rows].to(device, non_blocking=True)
                    if batch.is_floating_point() and parameter_dtype is not None and batch.dtype != parameter_dtype:
                        batch = batch.to(parameter_dtype)
                    embeddings, logits = embed(batch)
                    writer.append(split, logits.double(), embeddings.reshape(embeddings.shape[0], -1).double(), y[rows])
                    if on_batch is not None:
                        on_batch(split, int(y[rows].shape[0]))
            return writer.close()
    finally:
        model.train(was_training)


def checkpoint_name(path: str | os.PathLike) -> str:
    """Report key of a checkpoint file: ``parent/stem`` (``runs/vs/last.pt`` -> ``vs/last``)."""
    source = Path(path)
    parent = source.parent.name
    return f"{parent}/{source.stem}" if parent and parent not in (".", "") else source.stem

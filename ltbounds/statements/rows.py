"""Small helpers that build ``BoundResult`` rows, shared by every paper's declarations."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np

from ltbounds.bounds.result import Assumption, BoundResult, Form
from ltbounds.checks import check_delta


def forms_and_deltas(delta: float, *grid_sizes: int) -> tuple[tuple[Form, float], ...]:
    """(form, delta to use): the certified form pays a union bound over every fixed grid its
    model-dependent constants were stratified on (delta / product of grid sizes); the as-printed form
    uses delta as the paper does."""
    delta = check_delta(delta)
    certified = delta / float(np.prod([float(size) for size in grid_sizes])) if grid_sizes else delta
    return (("certified", certified), ("as_printed", delta))


def row_factory(*, statement: str, split: str, **shared: object) -> Callable[..., BoundResult]:
    """``BoundResult`` with what every row an evaluator builds shares filled in once: the statement id, the
    split, and any other field in ``shared`` (e.g. ``form``); each call gives the rest."""
    return partial(BoundResult, statement=statement, split=split, **shared)


def balanced(values: np.ndarray) -> float:
    """Mean over classes, nan unless every class has a finite value (never averaged over a subset)."""
    values = np.asarray(values, dtype=np.float64)
    return float(np.mean(values)) if values.size and np.all(np.isfinite(values)) else math.nan


def per_class_rows(
    *,
    statement: str,
    form: Form,
    values: Sequence[float] | np.ndarray,
    measured: Sequence[float] | np.ndarray | None = None,
    terms: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    assumptions: tuple[Assumption, ...] = (),
    split: str = "",
    note: str = "",
) -> list[BoundResult]:
    """One ``BoundResult`` per class y: ``value = values[y]``, ``measured = measured[y]`` (nan when
    not given) and ``terms = {name: array[y]}``."""
    values = np.asarray(values, dtype=np.float64)
    measured_values = np.full(values.shape, np.nan) if measured is None else np.asarray(measured, dtype=np.float64)
    term_arrays = {name: np.asarray(array, dtype=np.float64) for name, array in (terms or {}).items()}
    return [
        BoundResult(
            statement=statement,
            form=form,
            value=float(values[y]),
            measured=float(measured_values[y]),
            terms={name: float(array[y]) for name, array in term_arrays.items()},
            assumptions=assumptions,
            class_index=y,
            split=split,
            note=note,
        )
        for y in range(values.shape[0])
    ]


def relative_gaps(reference: np.ndarray | float, other: np.ndarray | float) -> np.ndarray:
    """|reference - other| / max(1, |reference|), elementwise: how far two sides of an identity are apart,
    relative where the reference is large and absolute where it is near 0 (what ``identity_row`` reports)."""
    return np.abs(reference - other) / np.maximum(1.0, np.abs(reference))


def identity_row(
    *,
    statement: str,
    gap: float,
    tolerance: float,
    terms: Mapping[str, float],
    split: str,
    note: str,
    form: Form = "as_printed",
) -> BoundResult:
    """The row of an identity (an exact equation) checked numerically: ``measured`` = the gap between its
    two sides (relative or scaled, as ``note`` says), ``value`` = the floating-point tolerance the gap must
    stay under; no assumption, about all classes."""
    return BoundResult(
        statement=statement,
        form=form,
        value=tolerance,
        measured=gap,
        terms=terms,
        split=split,
        note=note,
    )


def violations_row(*, statement: str, count: float, terms: Mapping[str, float], split: str, note: str) -> BoundResult:
    """The row of a statement checked by counting its violations, as printed: ``measured`` = the count,
    ``value`` = 0 (the statement says there are none); no assumption, about all classes."""
    return BoundResult(
        statement=statement,
        form="as_printed",
        value=0.0,
        measured=float(count),
        terms=terms,
        split=split,
        note=note,
    )

"""Result types shared by every bound evaluator.

Convention: a ``BoundResult`` states ``measured <= value``. ``value`` is the bound (an upper bound
on a risk, or the right-hand side of an inequality); ``measured`` is the quantity it is about (the
risk measured on a held-out or test split, or the left-hand side). ``slack = value - measured``.
A statement whose natural direction is ``>=`` is reported with its sides swapped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

# ``diagnostic``: a reading or heuristic consequence of a statement, not the statement itself; a
# failing diagnostic row never refutes the paper.
Form = Literal["as_printed", "certified", "corrected", "shape", "diagnostic"]
FORMS: tuple[str, ...] = get_args(Form)

# What code knows of an assumption on these inputs.
AssumptionStatus = Literal["satisfied", "failed", "unknown"]
ASSUMPTION_STATUSES: tuple[str, ...] = get_args(AssumptionStatus)


@dataclass(frozen=True)
class Assumption:
    """One assumption a statement relies on, and whether these inputs satisfy it.

    ``satisfied`` is True only when code checked the assumption on these inputs and it held, False
    when code checked it and it failed, and None (``unknown``) when nothing checked it (e.g. a bound
    on the population that no finite sample can confirm). A row with an unknown assumption is never
    counted or drawn as a certified guarantee.
    """

    name: str
    description: str
    satisfied: bool | None

    def __post_init__(self) -> None:
        if self.satisfied is not None and not isinstance(self.satisfied, bool):
            # numpy bools and ints would slip through `is True` checks downstream
            object.__setattr__(self, "satisfied", bool(self.satisfied))

    @property
    def status(self) -> AssumptionStatus:
        """One of ASSUMPTION_STATUSES."""
        if self.satisfied is None:
            return "unknown"
        return "satisfied" if self.satisfied else "failed"


@dataclass(frozen=True, kw_only=True)
class BoundResult:
    """One evaluated statement: the bound, its terms and its assumptions (``measured <= value``)."""

    statement: str  # statement id "<paper tag>.<name>" (tags: docs/papers.md)
    form: Form
    value: float  # the bound / right-hand side
    measured: float = math.nan  # the bounded quantity / left-hand side (nan: not measured)
    # The value any bound on that quantity gets for free, where the evaluator knows it: the cap M of a
    # loss in [0, M] (a mean of such values is <= M), 1 for a 0-1 risk. None: unknown, and then
    # non-vacuity (``value < trivial``) is not judged.
    trivial: float | None = None
    terms: Mapping[str, float] = field(default_factory=dict)
    assumptions: tuple[Assumption, ...] = ()
    class_index: int | None = None  # None: the statement is about all classes
    split: str = ""  # split the bound was computed on
    note: str = ""

    def __post_init__(self) -> None:
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {self.form!r}")
        if self.trivial is not None:
            object.__setattr__(self, "trivial", float(self.trivial))  # numpy scalars -> float

    @property
    def valid(self) -> bool:
        """Every assumption was checked on these inputs and held (an unknown one makes this False)."""
        return all(assumption.satisfied is True for assumption in self.assumptions)

    @property
    def assumption_status(self) -> AssumptionStatus:
        """ "failed" when a checked assumption failed, else "unknown" when one was not checked, else
        "satisfied"."""
        statuses = {assumption.status for assumption in self.assumptions}
        if "failed" in statuses:
            return "failed"
        return "unknown" if "unknown" in statuses else "satisfied"

    @property
    def is_guarantee(self) -> bool:
        """A certified form whose every assumption was checked and held: the only rows that may be
        counted or drawn as certified guarantees."""
        return self.form == "certified" and self.assumption_status == "satisfied"

    @property
    def assumptions_violated(self) -> tuple[str, ...]:
        """Assumptions checked and failed."""
        return tuple(a.name for a in self.assumptions if a.satisfied is False)

    @property
    def assumptions_unknown(self) -> tuple[str, ...]:
        """Assumptions that no code checked on these inputs."""
        return tuple(a.name for a in self.assumptions if a.satisfied is None)

    @property
    def slack(self) -> float:
        return self.value - self.measured

    @property
    def holds(self) -> bool | None:
        """``measured <= value`` (with a 1e-12 relative tolerance); None when nothing was measured or
        either side is not finite (NaN or inf: an overflow, never evidence that the bound holds)."""
        if not (math.isfinite(self.measured) and math.isfinite(self.value)):
            return None
        return self.measured <= self.value + 1e-12 * max(1.0, abs(self.value))

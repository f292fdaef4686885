"""``Statement``: everything about one claim of a seed paper, declared once, where it is evaluated.

A declaration holds the statement id, where the paper states it, the statement as printed, the
errata verdict (with its explanation, stored counterexample and the id of the corrected statement)
and the evaluator that adapts ``Outputs`` to the maths in ``ltbounds.bounds``. The errata registry
(``ltbounds.errata``) is read from these declarations; there is no second list.

Each paper module of this package declares its statements with a ``Declarations`` object:

    DECLARED = Declarations("wang23")

    @DECLARED.statement(
        id="wang23.lemma2", source="003, Lemma 2", kind="bound", summary="...",
        printed="...", verdict="holds", explanation="...",
    )
    def evaluate_lemma2(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
        ...

or, for a printed statement and its correction sharing one evaluator ``rows(splits, delta, *, corrected)``,
``DECLARED.add_corrected_pair(rows, printed=dict(...), corrected=dict(...))``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import partial
from typing import TYPE_CHECKING, Literal, get_args

from ltbounds.bounds.result import BoundResult

if TYPE_CHECKING:
    from ltbounds.statements.context import EvaluationSplits

# "bound": probabilistic, with delta; "inequality": deterministic; "identity": an equality;
# "symbolic": checked by SymPy (its evaluator reports the check on the checkpoint's class counts).
Kind = Literal["bound", "inequality", "identity", "symbolic"]
Verdict = Literal["holds", "false_as_printed", "holds_with_extra_assumption", "ambiguous"]
KINDS: tuple[str, ...] = get_args(Kind)

VERDICTS: tuple[str, ...] = get_args(Verdict)

Evaluator = Callable[["EvaluationSplits", float], list[BoundResult]]


@dataclass(frozen=True)
class Erratum:
    """The verdict on one printed statement."""

    id: str  # statement id, e.g. "elm.prop1"
    source: str  # the paper (its seed number, docs/papers.md) and location, e.g. "000, Proposition 1 (Section 4.1)"
    printed: str  # the statement as printed (cleaned of extraction damage, not of errors)
    verdict: Verdict  # one of VERDICTS
    explanation: str  # one paragraph: why
    counterexample: str | None = None  # file name under counterexamples/, when there is one
    corrected_by: str | None = None  # id of the corrected statement, when there is one

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict of {self.id} must be one of {VERDICTS}, got {self.verdict!r}")


@dataclass(frozen=True, kw_only=True)
class Statement:
    """One claim of a seed paper: its evaluator on concrete outputs and its errata verdict.

    ``evaluate(splits, delta)`` returns the statement's results for one checkpoint (per class and/or
    overall, in each applicable form).
    """

    id: str  # "<paper tag>.<name>", e.g. "wang23.lemma4" (tags: docs/papers.md)
    source: str  # the paper (its seed number, docs/papers.md) and its numbering, e.g. "003, Lemma 4 (eq. 15)"
    kind: Kind
    summary: str  # one line: what the evaluator computes
    evaluate: Evaluator
    # The errata part. Every statement of a seed paper has it (``Declarations`` insists); a user's
    # own statement passed to ``ltbounds.evaluate`` may leave it out.
    printed: str = ""  # the statement as printed (cleaned of extraction damage, not of errors)
    verdict: Verdict | None = None
    explanation: str = ""  # one paragraph: why the verdict
    counterexample: str | None = None  # file under ltbounds/errata/counterexamples/, when there is one
    corrected_by: str | None = None  # id of the corrected statement, when there is one

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind of {self.id} must be one of {KINDS}, got {self.kind!r}")
        if self.verdict is not None:
            self.erratum()  # Erratum validates the verdict

    def erratum(self) -> Erratum:
        """The errata entry of this statement: every field of ``Erratum`` is the same-named field of the
        statement."""
        if self.verdict is None:
            raise ValueError(f"statement {self.id!r} has no errata verdict")
        return Erratum(**{field.name: getattr(self, field.name) for field in fields(Erratum)})


class Declarations:
    """The statements one paper module declares, in declaration order."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self._statements: dict[str, Statement] = {}

    def add(self, **fields) -> Statement:
        """Declare one statement (keyword arguments of ``Statement``)."""
        statement = Statement(**fields)
        if statement.verdict is None or not statement.printed or not statement.explanation:
            raise ValueError(f"statement {statement.id!r} needs its printed text, verdict and explanation")
        if not statement.id.startswith(self.tag + "."):
            raise ValueError(f"statement {statement.id!r} is declared in the {self.tag!r} module")
        if statement.id in self._statements:
            raise ValueError(f"statement id {statement.id!r} is declared twice")
        self._statements[statement.id] = statement
        return statement

    def add_corrected_pair(
        self, evaluate: Callable[..., list[BoundResult]], *, printed: dict, corrected: dict
    ) -> tuple[Statement, Statement]:
        """Declare a printed statement and, right after it, its correction, both evaluated by one function
        ``evaluate(splits, delta, *, corrected)``: the printed statement with ``corrected=False``, the
        correction with ``corrected=True``. ``printed`` and ``corrected`` are the other keyword arguments of
        ``Statement``; the printed statement's ``corrected_by`` is the correction's id."""
        if "corrected_by" in printed or "evaluate" in printed or "evaluate" in corrected:
            raise ValueError(f"statement {printed.get('id')!r}: evaluate and corrected_by come from the pair")
        return (
            self.add(evaluate=partial(evaluate, corrected=False), corrected_by=corrected["id"], **printed),
            self.add(evaluate=partial(evaluate, corrected=True), **corrected),
        )

    def statement(self, **fields) -> Callable[[Evaluator], Evaluator]:
        """Decorator form of ``add``: the decorated function is the evaluator (returned unchanged)."""

        def register(evaluate: Evaluator) -> Evaluator:
            self.add(evaluate=evaluate, **fields)
            return evaluate

        return register

    def __getitem__(self, statement_id: str) -> Statement:
        """The declared statement with this id (the declaring module exports it as a constant, so code
        elsewhere refers to the object, never spells the id)."""
        return self._statements[statement_id]

    def __iter__(self):
        return iter(self._statements.values())

    def __len__(self) -> int:
        return len(self._statements)

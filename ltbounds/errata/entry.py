"""``Erratum``: the verdict on one printed statement (kept apart so entry modules can import it)."""

from __future__ import annotations

from dataclasses import dataclass

VERDICTS = ("holds", "false_as_printed", "holds_with_extra_assumption", "ambiguous")


@dataclass(frozen=True)
class Erratum:
    """The verdict on one printed statement."""

    id: str  # statement id, e.g. "elm.prop1"
    source: str  # seed file and location, e.g. "000, Proposition 1 (Section 4.1)"
    printed: str  # the statement as printed (cleaned of extraction damage, not of errors)
    verdict: str  # one of VERDICTS
    explanation: str  # one paragraph: why
    counterexample: str | None = None  # file name under counterexamples/, when there is one
    corrected_by: str | None = None  # id of the corrected statement, when there is one

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict of {self.id} must be one of {VERDICTS}, got {self.verdict!r}")

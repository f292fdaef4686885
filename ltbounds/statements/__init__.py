"""Every claim of the four seed papers, declared once: ``STATEMENTS`` maps a statement id to its
``Statement`` (source, printed text, errata verdict, counterexample, corrected_by and the evaluator
that adapts ``Outputs`` to the maths of ``ltbounds.bounds``).

One module per paper (tags and citations: docs/papers.md):

- ``elm``       seed 000 (ELM, Jitkrittum et al. 2022)
- ``drolt``     seed 001 (DRO-LT, Samuel & Chechik 2021)
- ``tutorial``  seed 002 (Yao, tutorial on imbalanced learning)
- ``wang23``    seed 003 (Wang et al., NeurIPS 2023)

``ltbounds.evaluate``, the errata registry and the studies iterate over ``STATEMENTS`` rather than
over a hand-kept list. The registry is built on first use (the paper modules import the maths, the
maths never import this package).
"""

from __future__ import annotations

from typing import Any

from ltbounds.statements.context import EvaluationSplits
from ltbounds.statements.declaration import KINDS, Declarations, Kind, Statement, Verdict

__all__ = ["KINDS", "STATEMENTS", "Declarations", "EvaluationSplits", "Kind", "Statement", "Verdict"]

PAPERS = ("elm", "drolt", "tutorial", "wang23")


def _collect() -> dict[str, Statement]:
    import importlib

    registry: dict[str, Statement] = {}
    for paper in PAPERS:
        declared = list(importlib.import_module(f"ltbounds.statements.{paper}").DECLARED)
        for statement in declared + _legacy_statements(paper, {s.id for s in declared}):
            if statement.id in registry:
                raise RuntimeError(f"statement id {statement.id!r} is declared twice")
            registry[statement.id] = statement
    return registry


def _legacy_statements(paper: str, declared: set[str]) -> list[Statement]:
    """Transitional: statements still split between ``ltbounds.bounds.<paper>.STATEMENTS`` and
    ``ltbounds.errata.<paper>.ENTRIES`` (removed once every paper is declared in this package), in
    the order of the errata entries."""
    import importlib

    maths = importlib.import_module(f"ltbounds.bounds.{paper}")
    old_statements = {old.id: old for old in getattr(maths, "STATEMENTS", ())}
    try:
        entries = list(getattr(importlib.import_module(f"ltbounds.errata.{paper}"), "ENTRIES", ()))
    except ModuleNotFoundError as error:
        if error.name != f"ltbounds.errata.{paper}":
            raise
        entries = []  # the paper's errata module is gone: every statement is declared in ltbounds.statements
    missing = sorted(set(old_statements) - {entry.id for entry in entries})
    if missing:
        raise RuntimeError(f"statements without an errata entry: {missing}")
    statements = []
    for entry in entries:
        if entry.id in declared:
            raise RuntimeError(f"statement id {entry.id!r} is declared in ltbounds.statements and in ltbounds.errata")
        old = old_statements.get(entry.id)
        if old is None:
            raise RuntimeError(f"errata entry {entry.id!r} has no statement")
        statements.append(
            Statement(
                id=old.id,
                source=entry.source,  # the errata source (the more detailed of the two)
                kind=old.kind,
                summary=old.summary,
                evaluate=old.evaluate,
                printed=entry.printed,
                verdict=entry.verdict,
                explanation=entry.explanation,
                counterexample=entry.counterexample,
                corrected_by=entry.corrected_by,
            )
        )
    return statements


def __getattr__(name: str) -> Any:
    if name == "STATEMENTS":
        registry = _collect()
        globals()["STATEMENTS"] = registry
        return registry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

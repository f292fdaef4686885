"""Every claim of the four seed papers, declared once: ``STATEMENTS`` maps a statement id to its
``Statement`` (source, printed text, errata verdict, counterexample, corrected_by and the evaluator
that adapts ``Outputs`` to the maths of ``ltbounds.bounds``).

One module per paper (tags and citations: docs/papers.md):

- ``elm``       ELM, Jitkrittum et al. 2022
- ``drolt``     DRO-LT, Samuel & Chechik 2021
- ``tutorial``  Yao, tutorial on imbalanced learning
- ``wang23``    Wang et al., NeurIPS 2023

``ltbounds.evaluate``, the errata registry and the studies iterate over ``STATEMENTS`` rather than
over a hand-kept list. The registry is built on first use (the paper modules import the maths, the
maths never import this package).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ltbounds.statements.context import EvaluationSplits
from ltbounds.statements.declaration import KINDS, Declarations, Kind, Statement, Verdict

__all__ = ["KINDS", "STATEMENTS", "Declarations", "EvaluationSplits", "Kind", "Statement", "Verdict"]

PAPERS = ("elm", "drolt", "tutorial", "wang23")


@cache
def _collect() -> dict[str, Statement]:
    """statement id -> ``Statement`` of every paper module, in the order of ``PAPERS`` (built once, on first use)."""
    import importlib

    registry: dict[str, Statement] = {}
    for paper in PAPERS:
        for statement in importlib.import_module(f"ltbounds.statements.{paper}").DECLARED:
            if statement.id in registry:
                raise RuntimeError(f"statement id {statement.id!r} is declared twice")
            registry[statement.id] = statement
    return registry


def __getattr__(name: str) -> Any:
    if name == "STATEMENTS":
        return _collect()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

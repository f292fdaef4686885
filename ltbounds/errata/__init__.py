"""The errata registry: the verdict on each printed statement of the seeds.

One ``Erratum`` per statement id, read from the statement declarations of ``ltbounds.statements``
(each declaration carries its verdict, explanation, counterexample and corrected_by): there is no
second list. A counterexample found by Hypothesis is stored, shrunk, as JSON in
``counterexamples/<statement id>.json`` and loaded with ``load_counterexample``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import cache
from importlib import resources
from typing import Any

from ltbounds.statements.declaration import VERDICTS, Erratum

__all__ = ["REGISTRY", "VERDICTS", "Erratum", "as_records", "load_counterexample", "registry"]


@cache
def registry() -> dict[str, Erratum]:
    """statement id -> its ``Erratum``, in declaration order (built once, on first use; ``REGISTRY``)."""
    from ltbounds.statements import STATEMENTS

    return {statement_id: statement.erratum() for statement_id, statement in STATEMENTS.items()}


def __getattr__(name: str) -> Any:
    if name == "REGISTRY":
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_counterexample(statement_id: str) -> dict[str, Any]:
    """The stored counterexample of ``statement_id`` (a JSON object of named arrays and scalars)."""
    entry = registry().get(statement_id)
    if entry is None or entry.counterexample is None:
        raise KeyError(f"no stored counterexample for {statement_id!r}")
    text = resources.files("ltbounds.errata").joinpath("counterexamples", entry.counterexample).read_text()
    return json.loads(text)


def as_records() -> list[dict[str, Any]]:
    """The registry as JSON-ready dicts with keys id, source, verdict, counterexample, corrected_by, explanation."""
    records = []
    for entry in registry().values():
        record = asdict(entry)
        record["counterexample"] = load_counterexample(entry.id) if entry.counterexample else None
        records.append(record)
    return records

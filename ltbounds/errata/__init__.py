"""The errata registry: the verdict on each printed statement of the seeds.

One ``Erratum`` per statement id (the same id as in ``ltbounds.bounds.STATEMENTS`` and the tests).
Entries live beside this file, one module per seed (``elm``, ``drolt``, ``tutorial``, ``wang23``),
each with a tuple ``ENTRIES``. A counterexample found by Hypothesis is stored, shrunk, as JSON in
``counterexamples/<statement id>.json`` and loaded with ``load_counterexample``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from importlib import resources
from typing import Any

from ltbounds.errata import drolt, elm, tutorial, wang23
from ltbounds.errata.entry import VERDICTS, Erratum

__all__ = ["REGISTRY", "VERDICTS", "Erratum", "as_records", "load_counterexample"]


def _collect() -> dict[str, Erratum]:
    registry: dict[str, Erratum] = {}
    for module in (elm, drolt, tutorial, wang23):
        for entry in module.ENTRIES:
            if entry.id in registry:
                raise RuntimeError(f"errata id {entry.id!r} is defined twice")
            registry[entry.id] = entry
    return registry


REGISTRY: dict[str, Erratum] = _collect()


def load_counterexample(statement_id: str) -> dict[str, Any]:
    """The stored counterexample of ``statement_id`` (a JSON object of named arrays and scalars)."""
    entry = REGISTRY.get(statement_id)
    if entry is None or entry.counterexample is None:
        raise KeyError(f"no stored counterexample for {statement_id!r}")
    text = resources.files("ltbounds.errata").joinpath("counterexamples", entry.counterexample).read_text()
    return json.loads(text)


def as_records() -> list[dict[str, Any]]:
    """The registry as JSON-ready dicts with keys id, source, verdict, counterexample, corrected_by, explanation."""
    records = []
    for entry in REGISTRY.values():
        record = asdict(entry)
        record["counterexample"] = load_counterexample(entry.id) if entry.counterexample else None
        records.append(record)
    return records

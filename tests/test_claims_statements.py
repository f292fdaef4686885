"""docs/statements.md stays in step with the registries: every id it names exists, every id is named, and the
verdict counts it quotes are the registry's."""

from __future__ import annotations

import collections
import re
from pathlib import Path

from ltbounds import errata, statements

DOC = Path(__file__).resolve().parents[1] / "docs" / "statements.md"
ID = re.compile(r"`((?:elm|drolt|tutorial|wang23)\.[a-z0-9_]+)`")


def test_every_id_named_in_the_statements_table_exists():
    named = set(ID.findall(DOC.read_text()))
    assert named, "docs/statements.md names no statement id"
    assert sorted(named - set(statements.STATEMENTS)) == []


def test_every_statement_id_is_mapped_from_a_claim():
    named = set(ID.findall(DOC.read_text()))
    assert sorted(set(statements.STATEMENTS) - named) == []


def test_quoted_verdict_counts_match_the_registry():
    text = DOC.read_text()
    counts = collections.Counter(entry.verdict for entry in errata.REGISTRY.values())
    quoted = re.search(
        r"Verdicts today \((\d+) ids\): (\d+) `holds`, (\d+) `holds_with_extra_assumption`, (\d+) "
        r"`false_as_printed`,\s+(\d+) `ambiguous`",
        text,
    )
    assert quoted, "the verdict summary line of docs/statements.md changed shape"
    total, holds, extra, false, ambiguous = (int(group) for group in quoted.groups())
    assert total == len(errata.REGISTRY)
    assert (holds, extra, false, ambiguous) == (
        counts["holds"],
        counts["holds_with_extra_assumption"],
        counts["false_as_printed"],
        counts["ambiguous"],
    )

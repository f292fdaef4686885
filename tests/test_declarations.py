"""``Declarations``: a printed statement and its correction declared as one pair, and the errata entry
read from a declaration (issue 13)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from ltbounds.statements import STATEMENTS
from ltbounds.statements.declaration import Declarations, Erratum


def _texts(statement_id: str, verdict: str = "holds") -> dict:
    return {
        "id": statement_id,
        "source": "test",
        "kind": "identity",
        "summary": "a claim",
        "printed": "the claim as printed",
        "verdict": verdict,
        "explanation": "why",
    }


def _rows_recording(calls: list[bool]):
    def rows(splits, delta, *, corrected: bool) -> list:
        calls.append(corrected)
        return []

    return rows


def test_corrected_pair_shares_one_evaluator_and_links_the_correction():
    calls: list[bool] = []
    declared = Declarations("paper")
    printed, corrected = declared.add_corrected_pair(
        _rows_recording(calls),
        printed=_texts("paper.claim", "false_as_printed"),
        corrected=_texts("paper.claim_corrected"),
    )
    assert [statement.id for statement in declared] == ["paper.claim", "paper.claim_corrected"]
    assert printed.corrected_by == "paper.claim_corrected"
    assert corrected.corrected_by is None
    printed.evaluate(None, 0.05)
    corrected.evaluate(None, 0.05)
    assert calls == [False, True]


@pytest.mark.parametrize(
    ("printed_extra", "corrected_extra"),
    [({"corrected_by": "paper.other"}, {}), ({"evaluate": print}, {}), ({}, {"evaluate": print})],
)
def test_corrected_pair_refuses_an_evaluator_or_corrected_by_of_its_own(printed_extra, corrected_extra):
    with pytest.raises(ValueError, match="come from the pair"):
        Declarations("paper").add_corrected_pair(
            _rows_recording([]),
            printed={**_texts("paper.claim", "false_as_printed"), **printed_extra},
            corrected={**_texts("paper.claim_corrected"), **corrected_extra},
        )


def test_every_corrected_by_names_a_statement_of_the_same_paper():
    """The seed papers' corrected pairs: corrected_by names a declared statement of the same paper."""
    for statement in STATEMENTS.values():
        if statement.corrected_by is not None:
            assert statement.corrected_by in STATEMENTS
            assert statement.corrected_by.split(".")[0] == statement.id.split(".")[0]


def test_erratum_carries_the_declarations_errata_fields():
    for statement in STATEMENTS.values():
        erratum = statement.erratum()
        assert {field.name: getattr(erratum, field.name) for field in fields(Erratum)} == {
            field.name: getattr(statement, field.name) for field in fields(Erratum)
        }

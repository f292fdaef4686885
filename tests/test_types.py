"""Types instead of strings (issue 13): the closed sets of strings (form, kind, verdict, assumption
status, wang23's reading) are ``Literal`` types, their tuples are read from them, and the public
signatures use them."""

from __future__ import annotations

import sys
import typing

import numpy as np
import pytest

from ltbounds.bounds import drolt as drolt_maths
from ltbounds.bounds import vs_family
from ltbounds.bounds import wang23 as wang23_maths
from ltbounds.bounds.result import ASSUMPTION_STATUSES, FORMS, Assumption, AssumptionStatus, BoundResult, Form
from ltbounds.checks import InputError
from ltbounds.statements import KINDS, STATEMENTS, Kind, Statement, Verdict
from ltbounds.statements.declaration import VERDICTS, Erratum


def test_the_tuples_are_the_literal_types_values():
    assert FORMS == typing.get_args(Form) == ("as_printed", "certified", "corrected", "shape", "diagnostic")
    assert ASSUMPTION_STATUSES == typing.get_args(AssumptionStatus)
    assert KINDS == typing.get_args(Kind) and VERDICTS == typing.get_args(Verdict)
    assert vs_family.READINGS == typing.get_args(vs_family.Reading) == ("as_printed", "corrected")
    assert set(typing.get_args(wang23_maths.BoundForm)) <= set(FORMS)
    assert set(typing.get_args(drolt_maths.Theorem1Form)) <= set(FORMS)


def annotation(owner, name: str):
    """One annotation of a class or function, resolved in its module (others may name types imported
    only for type checking, which ``typing.get_type_hints`` cannot resolve)."""
    raw = owner.__annotations__[name]
    return eval(raw, vars(sys.modules[owner.__module__])) if isinstance(raw, str) else raw


def test_signatures_use_the_literal_types():
    from ltbounds import evaluation
    from ltbounds.statements import wang23

    assert annotation(BoundResult, "form") == Form
    assert annotation(Statement, "kind") == Kind
    assert annotation(Erratum, "verdict") == Verdict
    assert annotation(Assumption.status.fget, "return") == AssumptionStatus
    for function in (vs_family.vs_local_lipschitz, wang23.vs_local_lipschitz_of, evaluation.local_lipschitz):
        assert annotation(function, "reading") == vs_family.Reading, function.__name__
    assert annotation(vs_family.LocalLipschitz, "reading") == vs_family.Reading
    assert annotation(wang23_maths.union_bound, "form") == wang23_maths.BoundForm
    assert annotation(drolt_maths.dro_lt_theorem1, "form") == drolt_maths.Theorem1Form


def test_values_outside_the_types_are_refused():
    with pytest.raises(ValueError, match="form must be one of"):
        BoundResult(statement="x", form="printed", value=1.0)
    with pytest.raises(InputError, match="reading must be one of"):
        vs_family.vs_lipschitz_constants(np.zeros(2), np.zeros(2), reading="printed")
    with pytest.raises(ValueError, match="verdict"):
        Erratum(id="x.y", source="", printed="", verdict="wrong", explanation="")
    with pytest.raises(ValueError, match="kind"):
        Statement(id="x.y", source="", kind="lemma", summary="", evaluate=lambda splits, delta: [])


def test_every_declared_statement_uses_the_declared_kinds_and_verdicts():
    for statement in STATEMENTS.values():
        assert statement.kind in KINDS and statement.verdict in VERDICTS, statement.id

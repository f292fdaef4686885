"""Cross-cutting checks over ``statements.STATEMENTS`` and ``errata.REGISTRY`` (every seed's module, as it lands).

Parametrised from the registries at collection time, so a new statement is checked without editing
this file: it must have an erratum (and vice versa), its corrected statement must exist, its stored
counterexample must load, and its evaluator must run on a small synthetic checkpoint and return
``BoundResult``s with finite bounds and its own statement id.
"""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import pytest

from ltbounds import bounds, errata, statements
from ltbounds.bounds.result import FORMS, BoundResult
from ltbounds.errata import VERDICTS
from ltbounds.outputs import Outputs
from ltbounds.statements import EvaluationSplits, Statement
from ltbounds.strategies import gaussian_outputs

STATEMENT_IDS = sorted(statements.STATEMENTS)
ERRATA_IDS = sorted(errata.REGISTRY)
WITH_COUNTEREXAMPLE = sorted(i for i, entry in errata.REGISTRY.items() if entry.counterexample)
SEED_TAGS = {"elm": "000", "drolt": "001", "tutorial": "002", "wang23": "003"}
KINDS = ("bound", "inequality", "identity", "symbolic")


def test_registries_are_not_empty():
    assert STATEMENT_IDS and ERRATA_IDS


def test_every_statement_has_an_erratum():
    missing = [statement_id for statement_id in STATEMENT_IDS if statement_id not in errata.REGISTRY]
    assert missing == []


def test_every_erratum_has_a_statement():
    orphans = [erratum_id for erratum_id in ERRATA_IDS if erratum_id not in statements.STATEMENTS]
    assert orphans == []


@pytest.mark.parametrize("erratum_id", STATEMENT_IDS)  # the same ids as ERRATA_IDS (tests above)
def test_statement_and_its_erratum_are_well_formed(erratum_id):
    statement, entry = statements.STATEMENTS[erratum_id], errata.REGISTRY[erratum_id]
    assert statement.id == entry.id == erratum_id
    assert statement.kind in KINDS and callable(statement.evaluate) and statement.summary.strip()
    assert entry.verdict in VERDICTS
    assert entry.printed.strip() and entry.explanation.strip()
    assert erratum_id.split(".", 1)[0] in SEED_TAGS, "errata ids are seedtag.name"
    assert entry.source.strip()
    if entry.corrected_by is not None:
        assert entry.corrected_by in statements.STATEMENTS, f"corrected_by {entry.corrected_by!r} is not a statement"
        assert entry.corrected_by != erratum_id
        assert errata.REGISTRY[entry.corrected_by].verdict == "holds", "a correction must itself hold"
    if entry.verdict == "false_as_printed":
        assert entry.counterexample is not None, "a false statement needs its stored counterexample"
        assert entry.corrected_by is not None, "a false statement needs its corrected statement"


@pytest.mark.parametrize("erratum_id", WITH_COUNTEREXAMPLE)
def test_stored_counterexample_loads(erratum_id):
    entry = errata.REGISTRY[erratum_id]
    assert entry.counterexample == f"{erratum_id}.json", "design.md: counterexamples/<statement id>.json"
    case = errata.load_counterexample(erratum_id)
    assert isinstance(case, dict) and case
    json.dumps(case)


def test_every_counterexample_file_belongs_to_an_erratum():
    folder = resources.files("ltbounds.errata").joinpath("counterexamples")
    files = sorted(item.name for item in folder.iterdir() if item.name.endswith(".json"))
    referenced = {entry.counterexample for entry in errata.REGISTRY.values() if entry.counterexample}
    assert [name for name in files if name not in referenced] == []


def test_bound_submodules_export_distinct_names():
    # bounds/__init__ merges every submodule's __all__ into one namespace: a clash would silently shadow
    seen: dict[str, str] = {}
    clashes = []
    for module in bounds._SOURCES:
        for name in module.__all__:
            if name in seen:
                clashes.append(f"{name} ({seen[name]} and {module.__name__})")
            seen[name] = module.__name__
    assert clashes == []


# ----------------------------------------------------------------------------------------------
# every evaluator on a small synthetic checkpoint
# ----------------------------------------------------------------------------------------------

CLASS_COUNTS = np.array([64, 32, 16, 8, 4])


def _outputs(per_class: np.ndarray, split: str, seed: int, class_counts: np.ndarray = CLASS_COUNTS) -> Outputs:
    """Gaussian classes N(mu_y, I) in 8 dimensions with a linear head at the class means."""
    return gaussian_outputs(class_counts, per_class, split, seed=seed, name="synthetic", method="ce")


@pytest.fixture(scope="module")
def synthetic_splits() -> EvaluationSplits:
    return EvaluationSplits(
        train=_outputs(CLASS_COUNTS, "train", 0),
        heldout=_outputs(np.full(5, 30), "val", 1),
        test=_outputs(np.full(5, 40), "test", 2),
    )


@pytest.mark.parametrize("statement_id", STATEMENT_IDS)
def test_evaluator_runs_on_a_synthetic_checkpoint(statement_id, synthetic_splits):
    results = statements.STATEMENTS[statement_id].evaluate(synthetic_splits, 0.05)
    assert isinstance(results, list)
    for result in results:
        assert isinstance(result, BoundResult)
        assert result.statement == statement_id
        assert result.form in FORMS
        assert math.isfinite(result.value), f"{statement_id}: non-finite value {result.value}"
        assert not math.isinf(result.measured), f"{statement_id}: infinite measured value"
        for name, term in result.terms.items():
            assert not math.isinf(float(term)), f"{statement_id}: term {name} is infinite"
        assert result.class_index is None or 0 <= result.class_index < CLASS_COUNTS.shape[0]
        assert all(assumption.satisfied in (True, False, None) for assumption in result.assumptions)


# ----------------------------------------------------------------------------------------------
# an evaluator that returns no row on valid input is a failure (issue 11, section 3)
# ----------------------------------------------------------------------------------------------

BINARY_COUNTS = np.array([64, 16])


@pytest.fixture(scope="module")
def valid_checkpoints(synthetic_splits) -> dict[str, EvaluationSplits]:
    """Valid inputs for every statement: the five-class checkpoint above and a binary one (for the statements
    that are binary as printed, e.g. elm.prop2). Both have train, held-out and test splits with every class."""
    binary = EvaluationSplits(
        train=_outputs(BINARY_COUNTS, "train", 0, BINARY_COUNTS),
        heldout=_outputs(np.full(2, 30), "val", 1, BINARY_COUNTS),
        test=_outputs(np.full(2, 40), "test", 2, BINARY_COUNTS),
    )
    return {"five_classes": synthetic_splits, "binary": binary}


def _rows_on_valid_input(statement, checkpoints: dict[str, EvaluationSplits]) -> dict[str, int]:
    """Rows the evaluator returns on each valid checkpoint; fails when it returns none on all of them."""
    counts = {name: len(statement.evaluate(splits, 0.05)) for name, splits in checkpoints.items()}
    assert any(counts.values()), f"{statement.id}: the evaluator returned no row on any valid checkpoint {counts}"
    return counts


@pytest.mark.parametrize("statement_id", STATEMENT_IDS)
def test_evaluator_returns_rows_on_valid_input(statement_id, valid_checkpoints):
    counts = _rows_on_valid_input(statements.STATEMENTS[statement_id], valid_checkpoints)
    # a statement that is not binary-only must also report on the five-class checkpoint
    binary_only = {"elm.prop2", "elm.prop2_corrected"}
    assert counts["five_classes"] or statement_id in binary_only, (statement_id, counts)


def test_an_evaluator_returning_no_rows_fails_the_registry_check(valid_checkpoints):
    # power check: the helper above must reject an evaluator that returns [] on valid input
    silent = Statement(
        id="tutorial.silent",
        source="none",
        kind="identity",
        summary="returns nothing",
        evaluate=lambda splits, delta: [],
    )
    with pytest.raises(AssertionError, match="no row"):
        _rows_on_valid_input(silent, valid_checkpoints)

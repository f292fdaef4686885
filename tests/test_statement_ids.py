"""Grepping a statement id finds its declaration, its tests and nothing else (issue 13).

Code outside ``ltbounds/statements/`` refers to a statement through the object its declaring module
exports (e.g. ``ltbounds.statements.drolt.THEOREM1``) or reads the id from data (the rows carry it);
docstrings of the maths cite the paper's numbering, never an id.
"""

from __future__ import annotations

import re
from pathlib import Path

from ltbounds.statements import STATEMENTS

ROOT = Path(__file__).resolve().parents[1]
SOURCE_FOLDERS = ("ltbounds", "studies", "paper_figures", "training", "benchmarks")
# the declarations themselves
DECLARING = ROOT / "ltbounds" / "statements"
# data, not code: each stored counterexample names the statement it refutes (read by the errata tests)
DATA_ALLOWED = (ROOT / "ltbounds" / "errata" / "counterexamples",)


def _id_pattern() -> re.Pattern[str]:
    ids = sorted(STATEMENTS, key=len, reverse=True)
    # a whole id: not part of a longer name (elm.prop1 inside elm.prop1_corrected or x.elm.prop1)
    return re.compile(r"(?<![\w.])(" + "|".join(re.escape(i) for i in ids) + r")(?!\w)")


def _source_files() -> list[Path]:
    files = []
    for folder in SOURCE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file() or path.suffix in (".pyc",) or "__pycache__" in path.parts:
                continue
            if DECLARING in path.parents or any(allowed in path.parents for allowed in DATA_ALLOWED):
                continue
            if ".egg-info" in str(path):
                continue
            files.append(path)
    return files


def test_pattern_finds_ids():
    # the check itself can fail: it finds an id in a line that spells one, not a prefix of a longer name
    pattern = _id_pattern()
    statement_id = next(iter(STATEMENTS))
    assert pattern.search(f'x = "{statement_id}"')
    assert pattern.search(f"see {statement_id}.")
    assert not pattern.search(f"{statement_id}_not_an_id")


def test_no_statement_id_outside_declarations_and_tests():
    pattern = _id_pattern()
    found = []
    for path in _source_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            match = pattern.search(line)
            if match:
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(1)}")
    assert not found, (
        "statement ids spelled outside ltbounds/statements/ (refer to the object the declaring module exports, "
        "or read the id from data):\n" + "\n".join(found)
    )


def test_every_id_is_declared_in_its_paper_module():
    # the declaration is where the id is spelled: its paper module under ltbounds/statements/
    for statement_id in STATEMENTS:
        tag = statement_id.split(".", 1)[0]
        text = (DECLARING / f"{tag}.py").read_text(encoding="utf-8")
        assert f'id="{statement_id}"' in text, statement_id

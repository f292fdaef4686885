"""The layer contracts of pyproject.toml ([tool.importlinter]) hold, so a plain pytest run sees a broken one.

`make test` also runs `lint-imports` itself; this test is the same check for whoever runs pytest alone, plus a
guard that the contracts of docs/design.md are still written down (an emptied config would pass trivially).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
# issue 13, Deliver 5: top first; a module may import from the layers below its own, never above.
LAYERS_TOP_FIRST = (
    ("ltbounds.commands",),
    ("studies", "paper_figures"),
    ("ltbounds.evaluation",),
    ("ltbounds.statements",),
    ("ltbounds.outputs",),
    ("ltbounds.bounds", "ltbounds.losses"),
    ("ltbounds.checks",),
)


def _contracts(kind: str) -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return [contract for contract in config["contracts"] if contract["type"] == kind]


def _position(layers: list[str], module: str) -> int:
    return next(i for i, layer in enumerate(layers) if module in layer.replace("|", ":").replace(" ", "").split(":"))


def test_the_design_contracts_are_declared():
    (layered,) = _contracts("layers")
    positions = [{_position(layered["layers"], m) for m in group} for group in LAYERS_TOP_FIRST]
    assert all(len(p) == 1 for p in positions), positions  # names given as one layer share one
    flat = [p.pop() for p in positions]
    assert flat == sorted(flat) and len(set(flat)) == len(flat), layered["layers"]
    forbidden = {tuple(c["source_modules"]): set(c["forbidden_modules"]) for c in _contracts("forbidden")}
    assert {"ltbounds.evaluation", "ltbounds.statements", "studies"} <= forbidden[("training",)]
    assert {"training", "studies"} <= forbidden[("paper_figures",)]
    (acyclic,) = _contracts("acyclic_siblings")
    assert {"ltbounds", "training", "studies", "paper_figures"} <= set(acyclic["ancestors"])


def test_lint_imports_keeps_every_contract():
    # A subprocess without the cache: it reads the tree as it is and writes nothing into the repository.
    command = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    run = subprocess.run(
        [sys.executable, "-c", command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]

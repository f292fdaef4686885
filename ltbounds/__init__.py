"""ltbounds: long-tail learning theory, implemented, evaluated with explicit constants, verified.

Submodules (imported lazily so ``import ltbounds`` stays light):

- ``ltbounds.losses``      every loss of the seed papers, pure PyTorch functions + a registry
- ``ltbounds.strategies``  public Hypothesis strategies for property-testing losses
- ``ltbounds.bounds``      every inequality of the seeds, evaluable on concrete outputs
- ``ltbounds.errata``      the verdict on each printed statement, with counterexamples
- ``ltbounds.outputs``     ``Outputs``: the model-agnostic input of every bound
- ``ltbounds.evaluation``  outputs/checkpoints -> tidy tables of bounds vs measured risk;
                           ``ltbounds.evaluate(...)`` is its entry point

``ltbounds`` never imports the ``training`` package at module level: a user with their own model
exports outputs and uses the bounds without our training code.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY_MODULES = {"losses", "strategies", "bounds", "errata", "outputs", "checks"}
_LAZY_ATTRIBUTES = {"Outputs": "ltbounds.outputs", "evaluate": "ltbounds.evaluation"}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f"ltbounds.{name}")
    if name in _LAZY_ATTRIBUTES:
        module = importlib.import_module(_LAZY_ATTRIBUTES[name])
        return getattr(module, name)
    raise AttributeError(f"module 'ltbounds' has no attribute {name!r}")

"""Declarations of seed tutorial's statements (see ltbounds/statements/declaration.py)."""

from __future__ import annotations

from ltbounds.statements.declaration import Declarations

DECLARED = Declarations("tutorial")

"""(to be written: see ltbounds/bounds/__init__.py for what this module holds)."""

__all__: list[str] = []
STATEMENTS: tuple = ()

"""(to be written: errata entries for this seed; see ltbounds/errata/__init__.py)."""

ENTRIES: tuple = ()

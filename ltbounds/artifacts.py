"""Writing results: atomic files and directories, tidy CSV tables, ``manifest.json``.

Nothing half-written: files go to a temporary sibling and are renamed into place; a results
directory is filled in a temporary sibling directory and moved into place at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same directory and ``os.replace``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return target


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory; on success it replaces ``path`` whole, on error it is removed.

    An existing ``path`` is only removed once the new content is complete.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    backup = None
    if target.exists():
        backup = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, backup)
    os.replace(staging, target)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def package_versions() -> dict[str, str]:
    """Versions of Python and the main dependencies, for manifests."""
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("ltbounds", "torch", "numpy", "scipy", "pandas", "sympy", "matplotlib"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing optional package is simply not listed
            continue
    return versions


def write_manifest(
    directory: str | os.PathLike,
    *,
    command: str | list[str] | None = None,
    seeds: Any = None,
    wall_time_s: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``directory/manifest.json``: versions, seeds, command line, wall time, and ``extra``."""
    manifest = {
        "command": command if command is not None else " ".join(sys.argv),
        "seeds": seeds,
        "wall_time_s": wall_time_s,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": package_versions(),
    }
    if extra:
        manifest.update(extra)
    return atomic_write_text(Path(directory) / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")

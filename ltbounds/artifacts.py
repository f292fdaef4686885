"""Writing results: atomic files and directories, tidy CSV tables, ``manifest.json``.

Nothing half-written: files go to a temporary sibling and are renamed into place; a results
directory is filled in a temporary sibling directory and moved into place at the end.

Temporaries are named ``.NAME.PID-HOST.RANDOM.tmp`` (files) and ``.NAME.PID-HOST.RANDOM.partial``
(directories), where HOST is a short hash of the host name, so ``clean_stale_temporaries`` can
remove exactly those left by a killed process of this host and never a live writer's. Files and
directories get the mode ``open()`` / ``mkdir()`` would give them (0666 / 0777 less the umask), not
the 0600 / 0700 of ``mkstemp`` / ``mkdtemp``: teammates on a shared server can read the results.

``RunLock`` is an exclusive lock file (``.ltbounds.lock``, holding pid and host) that keeps a second
writer out of a run folder; a lock left by a killed process of this host is taken over.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ltbounds.checks import InputError

LOCK_NAME = ".ltbounds.lock"


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _host_key() -> str:
    """8 hex digits naming this host in temporary names (host names may hold dots or odd characters)."""
    return hashlib.sha1(socket.gethostname().encode("utf-8")).hexdigest()[:8]


def _temporary_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}-{_host_key()}."


# .NAME.PID-HOST.RANDOM.tmp|partial (our naming), and the pre-lock naming .NAME.RANDOM.tmp of mkstemp.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<host>[0-9a-f]{8})\.[A-Za-z0-9_]+\.(?P<kind>tmp|partial)$")
_LEGACY_TEMPORARY = re.compile(r"^\.(last\.pt|epoch_\d+\.pt|metrics\.jsonl|manifest\.json)\.[a-z0-9_]{8}\.tmp$")
_BACKUP = re.compile(r"^\.(?P<name>.+)\.old-(?P<pid>\d+)$")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (signal 0 probes without signalling)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def clean_stale_temporaries(directory: str | os.PathLike, legacy: bool = False) -> list[Path]:
    """Remove temporaries that killed writers of this host left in ``directory``; return what was removed.

    Only names of our exact pattern (``.NAME.PID-HOST.RANDOM.tmp`` / ``.partial``, and ``.NAME.old-PID``
    backups whose NAME still exists) whose PID is gone on this host are removed: a live writer's
    temporaries and other hosts' are kept. ``legacy`` also removes the older ``.NAME.XXXXXXXX.tmp`` of
    ``mkstemp``; only pass it while holding the folder's ``RunLock`` (no one else may be writing).
    """
    folder = Path(directory)
    if not folder.is_dir():
        return []
    removed = []
    host = _host_key()
    for entry in folder.iterdir():
        match = _TEMPORARY.match(entry.name)
        stale = match is not None and match["host"] == host and not pid_alive(int(match["pid"]))
        if match is None and legacy:
            stale = _LEGACY_TEMPORARY.match(entry.name) is not None
        backup = _BACKUP.match(entry.name)
        if backup is not None:
            # Only when the folder it backed up is in place: else the backup is the user's last report.
            stale = (folder / backup["name"]).exists() and not pid_alive(int(backup["pid"]))
        if not stale:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
        removed.append(entry)
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same directory and ``os.replace``.

    The file gets 0666 less the umask, as ``open()`` would give it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=_temporary_prefix(target.name), suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(handle, 0o666 & ~_umask())
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


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes: how ``ltbounds evaluate`` matches a checkpoint (or the outputs directory
    ``ltbounds export`` made of it) to its certificate."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def json_safe(value: Any) -> Any:
    """``value`` with NumPy arrays and scalars turned into Python lists and numbers, tuples into lists and
    mapping keys into strings, recursively: what ``json.dumps`` and ``torch.load(weights_only=True)`` accept
    (outputs metadata, checkpoint specs and metrics, training configs). Anything else is returned as is."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory; on success it replaces ``path`` whole, on error it is removed.

    An existing ``path`` is only removed once the new content is complete; callers check first that
    it holds nothing of the user's (``evaluation.check_output_directory``). The directory gets 0777
    less the umask, as ``mkdir()`` would give it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=_temporary_prefix(target.name), suffix=".partial", dir=target.parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())
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


class RunLock:
    """An exclusive lock on a folder: the file ``FOLDER/.ltbounds.lock`` holds ``{"pid", "host", ...}``.

    ``acquire`` creates it whole (written to a temporary, then ``os.link``-ed into place, which fails
    when the name exists, so no reader ever sees a half-written lock). A lock held by a live process,
    or by any process of another host (whose pids this host cannot check), refuses with an
    ``InputError`` naming the holder. A lock whose pid is gone on this host (a killed run) is stale:
    it is taken over. ``release`` removes the file only while it is still ours. Use as a context
    manager. ``option`` names the command-line option in messages (``--out``).
    """

    def __init__(self, directory: str | os.PathLike, option: str = "--out") -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self.option = option
        self.taken_over: dict[str, Any] | None = None
        self._record = {"pid": os.getpid(), "host": socket.gethostname()}

    def holder(self) -> dict[str, Any] | None:
        """The lock file's content, ``{}`` when unreadable, None when there is no lock."""
        try:
            content = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}
        return content if isinstance(content, dict) else {}

    def _stale(self, holder: dict[str, Any]) -> bool:
        if holder.get("host") != socket.gethostname():
            return False
        try:
            return not pid_alive(int(holder.get("pid")))
        except (TypeError, ValueError):
            return False

    def acquire(self) -> RunLock:
        record = dict(self._record, started=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        for _ in range(3):  # a take-over race with another starter is retried a few times, then refused
            try:
                temporary = atomic_write_text(
                    self.directory / f"{_temporary_prefix('ltbounds.lock')}link.tmp", json.dumps(record) + "\n"
                )
            except OSError as error:
                raise _unwritable(self.option, self.directory, error) from error
            try:
                os.link(temporary, self.path)
                return self
            except FileExistsError:
                pass
            except OSError as error:
                raise _unwritable(self.option, self.directory, error) from error
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
            holder = self.holder()
            if holder is None:
                continue  # released meanwhile
            if not self._stale(holder):
                who = (
                    f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}"
                    if holder
                    else "an unknown process"
                )
                raise InputError(
                    f"{self.option} {self.directory} is in use by another ltbounds run ({who}, lock file {self.path}); "
                    "wait for it to finish or choose another folder (delete the lock file only if that process is gone)"
                )
            # Move the stale lock aside under a name only we use: of two starters, one wins the rename.
            aside = self.path.with_name(f"{LOCK_NAME}.stale-{os.getpid()}")
            try:
                os.replace(self.path, aside)
            except FileNotFoundError:
                continue
            self.taken_over = holder
            with contextlib.suppress(FileNotFoundError):
                aside.unlink()
        raise InputError(f"{self.option} {self.directory}: could not take the lock file {self.path}; try again")

    def release(self) -> None:
        holder = self.holder()
        if holder and holder.get("pid") == self._record["pid"] and holder.get("host") == self._record["host"]:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _unwritable(option: str, directory: Path, error: OSError) -> InputError:
    reason = error.strerror or type(error).__name__
    if error.errno == errno.EROFS:
        reason = "read-only file system"
    return InputError(f"{option} {directory} cannot be written ({reason}); choose a writable folder")


def make_writable_directory(path: str | os.PathLike, option: str = "--out") -> Path:
    """Create ``path`` (and parents) as a folder, or refuse in one line: a file there, or a place that
    cannot be written (permissions, read-only file system)."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError(f"{option} {target} is a file; give a folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:
        raise InputError(f"{option} {target}: a part of the path is a file, not a folder") from error
    except NotADirectoryError as error:
        raise InputError(f"{option} {target}: a part of the path is a file, not a folder") from error
    except OSError as error:
        raise _unwritable(option, target, error) from error
    if not os.access(target, os.W_OK | os.X_OK):
        raise _unwritable(option, target, PermissionError(errno.EACCES, "permission denied"))
    return target


def check_writable_location(path: str | os.PathLike, option: str = "--out", shown: str | None = None) -> Path:
    """Refuse in one line, before any work, a ``path`` that could not be created or written: its
    nearest existing ancestor is a file, or is not writable (permissions; ``os.access`` also answers
    no on a read-only file system). Creates nothing. ``shown`` is the path named in messages."""
    target = Path(path)
    named = Path(shown) if shown is not None else target
    ancestor = target
    while not ancestor.exists() and ancestor.parent != ancestor:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise InputError(f"{option} {named}: a part of the path ({ancestor}) is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        reason = "read-only file system or permission denied"  # access(2) answers EROFS and EACCES alike
        raise InputError(f"{option} {named} cannot be written ({reason} at {ancestor}); choose a writable folder")
    return target

"""The machinery every study shares: runs, resume, tidy CSV and ``manifest.json``.

A study module defines

- ``NAME`` and ``QUESTION`` (one line each), ``FIGURES`` (names in ``paper_figures.registry``),
  optionally ``VERSION`` (an int, bumped when the rows a run writes change meaning: old caches are
  then not reused);
- ``Settings``: a frozen dataclass, with the two instances ``QUICK`` (2 CPU cores, a few minutes)
  and ``FULL`` (the papers' setting);
- ``runs(settings) -> list[Run]``: the independent units of work, each with a file-safe ``key``;
- ``execute(run, settings, context) -> list[dict]``: the tidy rows of one run (one row per run x
  quantity; ``run`` and the run's ``params`` are added as columns by the runner);
- optionally ``summarize(table, settings) -> dict[str, DataFrame]``: extra tables written as
  ``<name>.csv`` next to the main one (e.g. violation rates with their intervals);

``run_study`` writes ``results/<study>/<study>.csv``, the summaries and ``manifest.json``. Each
finished run is cached as ``results/<study>/runs/<settings fingerprint>/<key>.csv`` (written
atomically), so a second invocation with the same settings redoes nothing and an interrupted one
resumes where it stopped. A run that raises ``MissingPiece`` (its inputs cannot give what it
measures, e.g. a model without the layers it reads) or ``InputError`` is recorded in the manifest
under ``failed_runs`` with the reason and retried next time; every other exception propagates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from ltbounds.artifacts import atomic_write_text, write_manifest
from ltbounds.checks import InputError

STUDY_MODULES: dict[str, str] = {
    "coverage": "studies.coverage",
    "sharpness": "studies.sharpness",
    "drw_timing": "studies.drw_timing",
    "vs_drw": "studies.vs_drw",
    "elm_geometry": "studies.elm_geometry",
    "drolt": "studies.drolt",
    "methods_table": "studies.methods_table",
    "demo": "studies.demo",
    "certificates": "studies.certificates",
}


class MissingPiece(RuntimeError):
    """This run cannot measure what it is for on these inputs (the message says why); recorded, not raised."""


@dataclass(frozen=True)
class Run:
    """One independent unit of work of a study; ``params`` become columns of its rows."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.key or any(c in self.key for c in "/\\ \t\n") or self.key.startswith("."):
            raise InputError(f"run key {self.key!r} must be a non-empty file-safe name (no slashes or spaces)")


@dataclass(frozen=True)
class StudyContext:
    """What a run may use besides its settings: where to write scratch files, data, progress."""

    directory: Path  # results/<study>/
    data_root: str | None = None
    progress: bool = True
    quick: bool = True

    def scratch(self, key: str) -> Path:
        """A per-run scratch folder (checkpoints etc.), kept so that finished training is reused."""
        path = self.directory / "scratch" / key
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass(frozen=True)
class StudyResult:
    directory: Path
    table: pd.DataFrame
    summaries: dict[str, pd.DataFrame]
    runs_done: int
    runs_reused: int
    failed_runs: dict[str, str]
    missing: list[str]
    manifest: Path


def load_study(name: str) -> ModuleType:
    """The study module called ``name``; an unknown name lists the valid ones."""
    if name not in STUDY_MODULES:
        raise InputError(f"unknown study {name!r}; valid studies: {', '.join(STUDY_MODULES)}")
    return importlib.import_module(STUDY_MODULES[name])


def settings_fingerprint(settings: Any, version: int = 1) -> str:
    """A short stable hash of a settings dataclass and the study's ``VERSION`` (bumped when a study's rows
    change meaning): any change gives a fresh run cache."""
    text = json.dumps([dataclasses.asdict(settings), version], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _progress(iterable, total: int, description: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=description, unit="run", file=sys.stderr, dynamic_ncols=True)


def _plan(module: ModuleType, settings: Any, data_root: str | None) -> list[Run]:
    """``module.runs(settings)``, or ``runs(settings, data_root)`` for studies whose runs depend on local data."""
    import inspect

    if "data_root" in inspect.signature(module.runs).parameters:
        return list(module.runs(settings, data_root))
    return list(module.runs(settings))


def run_study(
    study: str | ModuleType,
    *,
    quick: bool = True,
    out: str | Path = "results",
    data_root: str | None = None,
    settings: Any = None,
    progress: bool = True,
    command: str | list[str] | None = None,
    on_run: Callable[[Run], None] | None = None,
    directory: str | Path | None = None,
) -> StudyResult:
    """Run (or resume) a study and write ``out/<study>/`` (or ``directory``): the tidy CSV, summaries,
    manifest."""
    module = load_study(study) if isinstance(study, str) else study
    if settings is None:
        settings = module.QUICK if quick else module.FULL
    if not isinstance(settings, module.Settings):
        raise InputError(f"settings must be a {module.__name__}.Settings, got {type(settings).__name__}")
    directory = Path(directory) if directory is not None else Path(out) / module.NAME
    fingerprint = settings_fingerprint(settings, getattr(module, "VERSION", 1))
    cache = directory / "runs" / fingerprint
    cache.mkdir(parents=True, exist_ok=True)
    context = StudyContext(directory=directory, data_root=data_root, progress=progress, quick=quick)
    missing: list[str] = []

    started = time.perf_counter()
    planned = list(_plan(module, settings, data_root))
    keys = [run.key for run in planned]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"study {module.NAME} planned duplicate run keys")
    frames: list[pd.DataFrame] = []
    failed: dict[str, str] = {}
    done = reused = 0
    for run in _progress(planned, len(planned), module.NAME, progress):
        cached = cache / f"{run.key}.csv"
        if cached.exists():
            frames.append(pd.read_csv(cached))
            reused += 1
            continue
        if on_run is not None:
            on_run(run)
        try:
            rows = module.execute(run, settings, context)
        except (MissingPiece, InputError) as error:
            failed[run.key] = f"{type(error).__name__}: {error}"
            continue
        frame = pd.DataFrame(rows)
        if frame.empty:
            frame = pd.DataFrame({"quantity": pd.Series(dtype=str)})
        for position, (name, value) in enumerate({"run": run.key, **dict(run.params)}.items()):
            if name not in frame.columns:
                frame.insert(position, name, value)
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False)
        atomic_write_text(cached, buffer.getvalue())
        frames.append(frame)
        done += 1

    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"run": pd.Series(dtype=str)})
    summaries = dict(module.summarize(table, settings)) if hasattr(module, "summarize") and not table.empty else {}
    atomic_write_text(directory / f"{module.NAME}.csv", table.to_csv(index=False))
    for name, frame in summaries.items():
        atomic_write_text(directory / f"{name}.csv", frame.to_csv(index=False))
    wall = time.perf_counter() - started
    manifest = write_manifest(
        directory,
        command=command,
        seeds=getattr(settings, "seeds", None),
        wall_time_s=round(wall, 3),
        extra={
            "study": module.NAME,
            "question": module.QUESTION,
            "setting": "quick" if quick else "full",
            "settings": dataclasses.asdict(settings),
            "settings_fingerprint": fingerprint,
            "tables": [f"{module.NAME}.csv"] + [f"{name}.csv" for name in summaries],
            "figures": list(getattr(module, "FIGURES", ())),
            "runs_planned": len(planned),
            "runs_done_now": done,
            "runs_reused": reused,
            "failed_runs": failed,
            "missing": missing,
            "complete": not failed and not missing,
        },
    )
    return StudyResult(directory, table, summaries, done, reused, failed, missing, manifest)

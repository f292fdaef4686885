"""Checkpoints or exported outputs -> tidy tables of every bound next to the risk measured.

``evaluate(sources, delta=0.05, heldout="auto")`` returns an ``Evaluation`` with three pandas
tables and the text of ``report.md``:

- ``bounds``: one row per (checkpoint, bound id, form, class or "all"): ``value`` (the bound),
  ``measured`` (the quantity it is about), ``slack = value - measured``, ``valid`` (every
  assumption checked and held), ``assumption_status`` (satisfied | failed | unknown), ``guarantee``
  (a certified form whose assumptions were all checked and held: the only rows counted or drawn as
  certified), ``assumptions_violated`` / ``assumptions_unknown``, ``trivial`` / ``non_vacuous`` / ``tight`` / ``holds``,
  ``status`` (ok | non_finite | not_applicable | error; ``non_finite``: the value is NaN or inf, or
  the measured side is inf, and the row is never counted as holding) and ``note``. A statement that
  cannot be evaluated on these inputs (its evaluator raised ``InputError``) is one row with
  ``valid=False`` and the reason.
- ``per_class``: per checkpoint and class: training count, Many/Medium/Few group, train and test
  accuracy, B_y(f), minimal margin, variance trace of the embeddings, Omega_pull, ELM Prop. 1's
  left side, mu_y (``mu_y_missing``: why it is nan where it is).
- ``checkpoints``: one row per checkpoint: balanced test error, Many/Medium/Few accuracy.

A source is a checkpoint path, an exported outputs file (``.npz``/``.pt``, docs/outputs_format.md),
a mapping split -> ``Outputs``, or an ``EvaluationSplits``. ``Evaluation.write(directory)`` writes
bounds.csv, per_class.csv, checkpoints.csv, report.md, the plots and manifest.json atomically.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ltbounds.artifacts import file_sha256
from ltbounds.bounds.result import BoundResult
from ltbounds.bounds.vs_family import Reading
from ltbounds.checks import InputError, check_chunk_size, check_delta, resolve_device
from ltbounds.class_groups import class_groups
from ltbounds.outputs import (
    CHECKPOINT_FORMAT,
    OUTPUTS_FORMAT,
    Outputs,
    checkpoint_name,
    is_outputs_record,
    load_outputs,
    read_record,
)
from ltbounds.outputs_layout import exported_source
from ltbounds.report import CERTIFICATE_PREFIX
from ltbounds.statements import EvaluationSplits, Statement

HELDOUT_CHOICES = ("auto", "val", "test")
BOUND_COLUMNS = (
    "checkpoint",
    "method",
    "bound",
    "source",
    "kind",
    "form",
    "class",
    "split",
    "value",
    "measured",
    "slack",
    "valid",
    "assumption_status",
    "guarantee",
    "assumptions_violated",
    "assumptions_unknown",
    "assumption_details",
    "holds",
    "trivial",
    "non_vacuous",
    "tight",
    "status",
    "note",
    "terms",
)


@dataclass(frozen=True)
class Evaluation:
    """The tables of one evaluation run and the text of its report."""

    bounds: pd.DataFrame
    per_class: pd.DataFrame
    checkpoints: pd.DataFrame
    report_text: str
    delta: float
    heldout: str
    timings: Mapping[str, float] = field(default_factory=dict)

    def write(
        self,
        directory: str | os.PathLike,
        *,
        plots: bool = True,
        command: str | list[str] | None = None,
        wall_time_s: float | None = None,
        inputs: Sequence[str | os.PathLike] = (),
    ) -> Path:
        """Write every artefact into ``directory`` atomically (a temporary sibling moved into place).

        ``directory`` must be new, empty, or an earlier report holding only its own files, and hold
        none of ``inputs`` (``check_output_directory``): nothing of the user's is ever deleted."""
        from ltbounds.artifacts import atomic_directory, write_manifest

        check_output_directory(directory, inputs=inputs)
        started = time.perf_counter()
        with atomic_directory(directory) as staging:
            self.bounds.to_csv(staging / "bounds.csv", index=False)
            self.per_class.to_csv(staging / "per_class.csv", index=False)
            self.checkpoints.to_csv(staging / "checkpoints.csv", index=False)
            figures: list[str] = []
            if plots:
                from ltbounds.evaluation_plots import write_plots

                figures = [path.name for path in write_plots(self, staging)]
            report = self.report_text
            if figures:
                report = report.rstrip("\n") + "\n\n## Figures\n\n" + "".join(f"- `{f}`\n" for f in figures)
            (staging / "report.md").write_text(report, encoding="utf-8")
            seeds = sorted({int(s) for s in self.checkpoints.get("seed", pd.Series(dtype=float)).dropna()})
            write_manifest(
                staging,
                command=command,
                seeds=seeds or None,
                wall_time_s=(wall_time_s or 0.0) + (time.perf_counter() - started),
                extra={
                    "delta": self.delta,
                    "heldout": self.heldout,
                    "checkpoints": self.checkpoints["checkpoint"].tolist(),
                    # Everything this report wrote, read back from the folder: the next evaluate may
                    # replace the folder only if it holds exactly these (check_output_directory).
                    "files": sorted(
                        str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file() or p.is_dir()
                    ),
                    "timings_s": dict(self.timings),
                },
            )
        return Path(directory)


REPORT_MARKERS = ("manifest.json", "bounds.csv")


def check_output_directory(directory: str | os.PathLike, inputs: Sequence[str | os.PathLike] = ()) -> Path:
    """``directory`` may be new, empty, or an earlier report holding nothing but the files its
    ``manifest.json`` lists (it is replaced whole); anything else is refused and left untouched, so
    ``--out`` can never delete a file of the user's. An input inside ``directory`` is refused too."""
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise InputError(f"--out {target} is a file; give a directory for the report")
    if not target.is_dir() or not any(target.iterdir()):
        return target
    if not all((target / name).exists() for name in REPORT_MARKERS):
        raise InputError(
            f"--out {target} exists and is not an earlier ltbounds evaluate report (it would be replaced whole); "
            "choose a new or empty directory"
        )
    try:
        listed = json.loads((target / "manifest.json").read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        listed = None
    if not isinstance(listed, list):
        raise InputError(
            f"--out {target}: its manifest.json does not list the report's files, so other files there cannot be "
            "told apart; choose a new or empty directory"
        )
    known = {str(name) for name in listed} | {"manifest.json"}
    foreign = sorted(str(p.relative_to(target)) for p in target.rglob("*") if str(p.relative_to(target)) not in known)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise InputError(
            f"--out {target} is an earlier report but also holds files it did not write ({shown}); "
            "they would be deleted: move them out or choose another --out"
        )
    _refuse_inputs_inside(target, inputs)  # even a file the manifest lists, once it is an input
    return target


def _refuse_inputs_inside(target: Path, inputs: Sequence[str | os.PathLike]) -> None:
    """An input inside the report folder would be deleted with it: refuse before anything is read."""
    resolved = target.resolve()
    for item in inputs:
        source = Path(item).resolve()
        if source == resolved or resolved in source.parents:
            raise InputError(
                f"--out {target} holds the input {item} and would be replaced whole; "
                "move the input out or choose another --out"
            )


def evaluate(
    checkpoints_or_outputs: Any,
    delta: float = 0.05,
    heldout: str = "auto",
    *,
    data_root: str | os.PathLike | None = None,
    device: Any = "cpu",
    batch_size: int = 512,
    statements: Mapping[str, Statement] | None = None,
    strict: bool = False,
    progress: bool = True,
    chunk_size: int | None = None,
    certificates: Sequence[str | os.PathLike] = (),
) -> Evaluation:
    """Evaluate every statement of ``statements`` (default ``statements.STATEMENTS``) on each source.

    ``checkpoints_or_outputs``: one source or a list of them (checkpoint path, outputs file path,
    mapping split -> ``Outputs``, ``EvaluationSplits``). ``heldout`` ("val", "test", or "auto": val
    when the source has a non-empty val split, else test) is the split a fixed-model bound is
    certified on; measured risks come from the balanced test split. Certifying on test measures on
    the very sample the bound was computed from, so "auto" prefers val.
    ``strict=True`` re-raises an evaluator's unexpected exception instead of recording it as a row.
    ``progress``: a tqdm bar on stderr, one step per checkpoint's loading, statement and per-class
    table, naming the checkpoint and statement at work; shown only when stderr is a terminal, never
    with ``progress=False``; a second bar counts the row chunks of each per-split statistic
    (``statements.statistics``). ``chunk_size``: rows per chunk of those statistics (None: about 2^20
    entries of the widest (chunk, C) or (chunk, d) block); memory is O(chunk x C + C x d) for them.
    ``certificates``: folders written by ``ltbounds certify``; a checkpoint certified there (matched by the
    sha256 of its file) gets its certificate's rows too (``certificate_table``: bound ``pacbayes.balanced_<form>``,
    form certified, measured = the test error of the same stochastic predictor). A folder that certifies none
    of the sources is refused before any inference.
    """
    delta = check_delta(delta)
    chunk_size = check_chunk_size(chunk_size)
    if heldout not in HELDOUT_CHOICES:
        raise InputError(f"heldout must be one of {HELDOUT_CHOICES}, got {heldout!r}")
    if statements is None:
        from ltbounds.statements import STATEMENTS

        statements = STATEMENTS
    sources = _as_source_list(checkpoints_or_outputs)
    if not sources:
        raise InputError("give at least one checkpoint or outputs file to evaluate")
    certified = _match_certificates(sources, certificates)
    timings = {"load_and_inference_s": 0.0, "bounds_s": 0.0, "per_class_s": 0.0}
    bound_frames, class_frames, summaries = [], [], []
    used_names: set[str] = set()
    bar = _Progress(len(sources) * (len(statements) + 2), enabled=progress)
    try:
        for position, source in enumerate(sources):
            bar.start(f"{position + 1}/{len(sources)} loading {_source_label(source)}")
            started = time.perf_counter()
            # chunk_size and progress: the chunked statistics' (statements.statistics), whose context starts with
            # the input checks (the head pass they make is the one the statements read)
            name, splits, info = load_splits(
                source,
                heldout,
                data_root=data_root,
                device=device,
                batch_size=batch_size,
                position=position,
                chunk_size=chunk_size,
                progress=_chunk_bar(progress),
            )
            timings["load_and_inference_s"] += time.perf_counter() - started
            name = _unique(name, used_names)
            started = time.perf_counter()
            bound_frames.append(bound_table(name, splits, delta, statements, strict=strict, progress=bar))
            if position in certified:
                bound_frames.append(certificate_table(name, splits.train.method, certified[position], splits, delta))
            timings["bounds_s"] += time.perf_counter() - started
            bar.start(f"{name}: per-class tables")
            started = time.perf_counter()
            class_frames.append(per_class_table(name, splits))
            summaries.append(checkpoint_summary(name, splits, info))
            timings["per_class_s"] += time.perf_counter() - started
    finally:
        bar.close()
    bounds_table = pd.concat(bound_frames, ignore_index=True) if bound_frames else _empty_bounds()
    per_class = pd.concat(class_frames, ignore_index=True)
    checkpoints = pd.DataFrame(summaries)
    from ltbounds.report import build_report

    report_text = build_report(bounds_table, per_class, checkpoints, delta=delta, heldout=heldout)
    return Evaluation(bounds_table, per_class, checkpoints, report_text, delta, heldout, timings)


def _match_certificates(sources: list[Any], directories: Sequence[str | os.PathLike]) -> dict[int, Any]:
    """Position of a source -> its ``CertificateRecord`` (``read_certificates``; matched by the checkpoint file's
    sha256, or for an outputs directory by the sha256 ``ltbounds export`` recorded of its checkpoint)."""
    if isinstance(directories, (str, os.PathLike)):
        directories = [directories]
    if not directories:
        return {}
    records = read_certificates(directories)
    matched = {}
    for position, source in enumerate(sources):
        path = Path(source) if isinstance(source, (str, os.PathLike)) else None
        if path is not None and path.is_file():
            record = records.get(file_sha256(path))
        elif path is not None and path.is_dir():
            record = records.get(exported_source(path).get("checkpoint_sha256"))
        else:
            continue
        if record is not None:
            matched[position] = record
    used = {str(record.directory) for record in matched.values()}
    unused = [str(d) for d in directories if str(Path(d)) not in used]
    if unused:
        raise InputError(
            f"--certificates {unused[0]}: it certifies none of the checkpoints given (matched by the checkpoint "
            "file's sha256: a checkpoint retrained or changed since 'ltbounds certify' no longer matches); "
            "certify these checkpoints again or drop the folder"
        )
    return matched


def _chunk_bar(enabled: bool) -> Any:
    """progress(total, label) for ``EvaluationSplits.progress``: a tqdm bar over one statistic's row chunks,
    below the evaluation's bar, shown only when stderr is a terminal and ``enabled``."""

    def bar(total: int, label: str) -> Any:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=label, unit="chunk", leave=False, position=1, disable=None if enabled else True)

    return bar


class _Progress:
    """One tqdm bar over the evaluation's steps; ``start(label)`` counts the step before as done."""

    def __init__(self, total: int, enabled: bool) -> None:
        from tqdm.auto import tqdm

        # disable=None: tqdm shows the bar only when stderr is a terminal (never in logs or tests)
        self.bar = tqdm(total=total, desc="evaluate", unit="step", leave=False, disable=None if enabled else True)
        self.running = False

    def start(self, label: str) -> None:
        if self.running:
            self.bar.update(1)
        self.running = True
        self.bar.set_postfix_str(label)

    def close(self) -> None:
        if self.running:
            self.bar.update(1)
        self.bar.close()


def _outputs_from_checkpoint() -> Any:
    """``training.checkpoint_outputs.outputs_from_checkpoint``, imported only when a checkpoint is read."""
    try:
        from training.checkpoint_outputs import outputs_from_checkpoint
    except ImportError as error:
        raise InputError(
            f"reading a checkpoint needs the 'training' package of ltbounds ({error}); install the full "
            "distribution, or export outputs from your own code (docs/outputs_format.md)"
        ) from error
    return outputs_from_checkpoint


def _source_label(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return type(source).__name__


def _as_source_list(value: Any) -> list[Any]:
    if isinstance(value, (str, os.PathLike, EvaluationSplits, Outputs)) or isinstance(value, Mapping):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    raise InputError(
        f"checkpoints_or_outputs must be a path, a mapping split -> Outputs, EvaluationSplits or a list of them, "
        f"got {type(value).__name__}"
    )


def _unique(name: str, used: set[str]) -> str:
    candidate, index = name, 2
    while candidate in used:
        candidate, index = f"{name}#{index}", index + 1
    used.add(candidate)
    return candidate


def load_splits(
    source: Any,
    heldout: str = "auto",
    *,
    data_root: str | os.PathLike | None = None,
    device: Any = "cpu",
    batch_size: int = 512,
    position: int = 0,
    chunk_size: int | None = None,
    progress: Any = None,
) -> tuple[str, EvaluationSplits, dict[str, Any]]:
    """(name, EvaluationSplits, info) of one source; checkpoints get one inference pass per split.

    ``chunk_size`` and ``progress`` go to the ``EvaluationSplits`` (a fresh evaluation context)."""
    info: dict[str, Any] = {}
    if isinstance(source, EvaluationSplits):
        source = dataclasses.replace(source, chunk_size=chunk_size, progress=progress)
        check_evaluation_inputs(source.train.name, source)
        return source.train.name, source, {"method": source.train.method}
    if isinstance(source, Outputs):
        raise InputError(
            "a single Outputs is one split; give a mapping {'train': ..., 'test': ...} so bounds can use both"
        )
    if isinstance(source, Mapping):
        outputs = dict(source)
        name = next(iter(outputs.values())).name if outputs else f"model{position}"
    else:
        path = Path(source)
        # an outputs directory (memory-mapped .npy files, ltbounds.outputs_store) has no record to read
        record = {"format": OUTPUTS_FORMAT} if path.is_dir() else read_record(path)
        if record.get("format") == CHECKPOINT_FORMAT:
            if heldout == "auto":
                has_val = float((record.get("dataset") or {}).get("val_fraction") or 0.0) > 0.0
                heldout = "val" if has_val else "test"
            needed = tuple(dict.fromkeys(("train", heldout, "test")))
            read = _outputs_from_checkpoint()
            device = resolve_device(device, "device")  # "auto" here: only a checkpoint needs torch
            outputs = read(path, needed, data_root=data_root, device=device, batch_size=batch_size)
            name = checkpoint_name(path)
            dataset = record.get("dataset") or {}
            info.update(dataset=dataset.get("name"), imbalance=dataset.get("imbalance"), seed=dataset.get("seed"))
            info.update(epoch=record.get("epoch"))
        elif is_outputs_record(record):
            outputs = load_outputs(path)
            name = next(iter(outputs.values())).name
            if path.is_dir():  # 'ltbounds export' recorded the checkpoint's dataset, imbalance, seed and epoch
                exported = exported_source(path)
                info.update({key: exported.get(key) for key in ("dataset", "imbalance", "seed", "epoch")})
        else:
            found = record.get("format")
            what = f"its format is {found!r}" if found else f"its keys are {sorted(record)[:6]}"
            raise InputError(
                f"{path} is neither an ltbounds checkpoint nor an outputs file ({what}); see docs/outputs_format.md"
            )
    for split, item in outputs.items():
        if not isinstance(item, Outputs):
            raise InputError(f"split {split!r} must be an Outputs, got {type(item).__name__}")
    if "train" not in outputs:
        raise InputError(f"{name}: no 'train' split; the bounds need the training split's outputs")
    if heldout == "auto":
        heldout = "val" if "val" in outputs and outputs["val"].num_samples > 0 else "test"
    if heldout not in outputs:
        raise InputError(f"{name}: no {heldout!r} split for --heldout {heldout}; available: {sorted(outputs)}")
    train = outputs["train"]
    for split, item in outputs.items():
        if not np.array_equal(item.class_counts, train.class_counts):
            raise InputError(f"{name}: split {split!r} has other class_counts than 'train'; one model per source")
    info.setdefault("method", train.method)
    splits = EvaluationSplits(
        train=train,
        heldout=outputs[heldout],
        test=outputs.get("test", outputs[heldout]),
        chunk_size=chunk_size,
        progress=progress,
    )
    check_evaluation_inputs(name, splits)
    return name, splits, info


def check_evaluation_inputs(name: str, splits: EvaluationSplits) -> None:
    """What ``evaluate`` refuses rather than answer silently wrong (``InputError`` naming the fix):

    - ``class_counts`` that are not the per-class counts of the train split's labels;
    - splits with another head (kind, scale, W or b) than the train split's: one model per source, and the
      statements compute what depends only on the head (ELM's loss ranges and spectral norm, wang23's head
      radius) once per checkpoint;
    - logits of any split that are not the head applied to its embeddings (``check_head_consistency``);
    - an empty held-out split, and a test split (where risks are measured) that is empty or lacks a
      class: the balanced error is a mean over every class, and a mean over the classes present
      would be another quantity reported under its name. There is no option to average over the
      classes present: a user who wants that drops the class from the model and the counts.
    """
    from ltbounds.checks import check_counts_match_labels, check_every_class_present
    from ltbounds.outputs import check_head_consistency
    from ltbounds.statements.statistics import head_pass

    test = splits.test if splits.test is not None else splits.heldout
    if test is None:
        raise InputError(f"{name}: no test or held-out split; measured risks need the balanced test split")
    try:
        check_counts_match_labels(splits.train.class_counts, splits.train.labels)
        for item in (s for s in (splits.heldout, test) if s is not None):
            _check_same_head(splits.train, item)
        for item in dict.fromkeys(s for s in (splits.train, splits.heldout, test) if s is not None):
            # one pass over the head's logits per split, kept in the context for the statements that need them
            check_head_consistency(item, name, agreement=head_pass(splits, item).agreement)
        if splits.heldout is not None and splits.heldout is not test and splits.heldout.num_samples == 0:
            raise InputError(
                f"the held-out split {splits.heldout.split!r} is empty; give a non-empty one or --heldout test"
            )
        check_every_class_present(test.labels, test.num_classes, f"{test.split!r} split (where risks are measured)")
    except InputError as error:
        message = str(error)
        raise InputError(message if message.startswith(f"{name}:") else f"{name}: {message}") from error


def _check_same_head(train: Outputs, other: Outputs) -> None:
    """InputError unless ``other`` has the train split's head (the same kind, scale, W and b)."""
    same = (train.head_kind, float(train.head_scale)) == (other.head_kind, float(other.head_scale))
    for mine, theirs in ((train.head_weight, other.head_weight), (train.head_bias, other.head_bias)):
        same = same and (mine is theirs or np.array_equal(mine, theirs))
    if not same:
        raise InputError(
            f"split {other.split!r} has another head than 'train' (head_kind, head_scale, head_weight or "
            "head_bias differ); the splits of one source are one model's outputs"
        )


def bound_table(
    name: str,
    splits: EvaluationSplits,
    delta: float,
    statements: Mapping[str, Statement],
    *,
    strict: bool = False,
    progress: Any = None,
) -> pd.DataFrame:
    """The rows of ``bounds.csv`` for one checkpoint (one per statement result, or one per failure).

    ``progress``: None, or an object whose ``start(label)`` is called as each statement begins."""
    method = splits.train.method
    # one small frame per statement: 244,000 per-class rows at 8,142 classes held as dicts (boxed floats)
    # until the end were about 1 GB of the peak memory
    frames = []
    for statement_id, statement in statements.items():
        if progress is not None:
            progress.start(f"{name}: {statement_id}")
        rows = _statement_rows(name, method, statement_id, statement, splits, delta, strict)
        if rows:
            frames.append(pd.DataFrame(rows, columns=list(BOUND_COLUMNS)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(BOUND_COLUMNS))


def _statement_rows(
    name: str,
    method: str,
    statement_id: str,
    statement: Statement,
    splits: EvaluationSplits,
    delta: float,
    strict: bool,
) -> list[dict[str, Any]]:
    """``bound_table``'s rows of one statement: one per result, or one failure row."""
    try:
        results = list(statement.evaluate(splits, delta))
    except InputError as error:
        return [_failure_row(name, method, statement_id, statement, "not_applicable", str(error))]
    except Exception as error:  # noqa: BLE001 - one broken evaluator must not kill the report
        if strict:
            raise
        message = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        return [_failure_row(name, method, statement_id, statement, "error", message)]
    rows = []
    for result in results:
        if not isinstance(result, BoundResult):
            returned = f"returned {type(result).__name__}"
            rows.append(_failure_row(name, method, statement_id, statement, "error", returned))
            continue
        rows.append(result_row(name, method, result.statement or statement_id, statement.source, statement.kind,
                               result))  # fmt: skip
    return rows


def result_row(name: str, method: str, bound: str, source: str, kind: str, result: BoundResult) -> dict[str, Any]:
    """One row of ``bounds.csv`` from one ``BoundResult`` (judged by ``report.classify_row``)."""
    from ltbounds.report import classify_row

    row = {
        "checkpoint": name,
        "method": method,
        "bound": bound,
        "source": source,
        "kind": kind,
        "form": result.form,
        "class": "all" if result.class_index is None else int(result.class_index),
        "split": result.split,
        "value": float(result.value),
        "measured": float(result.measured),
        "slack": float(result.slack),
        "valid": bool(result.valid),
        "assumption_status": result.assumption_status,
        "guarantee": bool(result.is_guarantee),
        "assumptions_violated": ";".join(result.assumptions_violated),
        "assumptions_unknown": ";".join(result.assumptions_unknown),
        "assumption_details": " | ".join(
            f"{a.name} ({a.status}): {a.description}" for a in result.assumptions if a.satisfied is not True
        ),
        "holds": result.holds,
        "status": "ok",
        "note": result.note,
        "terms": json.dumps({k: _json_number(v) for k, v in dict(result.terms).items()}, sort_keys=True),
    }
    row.update(classify_row(row, result.trivial))
    return _mark_non_finite(row)


NON_FINITE = "non_finite"


def _mark_non_finite(row: dict[str, Any]) -> dict[str, Any]:
    """Status ``non_finite`` for a row whose value is NaN or inf, or whose measured side is inf.

    Such a number is an overflow or a degenerate input (e.g. embeddings of size 1e200), not a bound:
    ``inf <= inf`` must never count as ``holds``, and a NaN or infinite value certifies nothing, so
    ``holds``, ``non_vacuous`` and ``tight`` are None and ``guarantee`` is False. ``measured`` NaN
    alone stays ``ok``: it is the documented "nothing measured" of a value-only row."""
    value, measured = float(row["value"]), float(row["measured"])
    if math.isfinite(value) and not math.isinf(measured):
        return row
    sides = [f"value {value}"] if not math.isfinite(value) else []
    sides += [f"measured {measured}"] if math.isinf(measured) else []
    note = f"non-finite {' and '.join(sides)} (an overflow or degenerate input): not judged"
    row.update(
        status=NON_FINITE,
        holds=None,
        non_vacuous=None,
        tight=None,
        guarantee=False,
        note=f"{note}; {row['note']}" if row.get("note") else note,
    )
    return row


def _json_number(value: Any) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(number)


def _failure_row(name: str, method: str, statement_id: str, statement: Statement, status: str, note: str) -> dict:
    return {
        "checkpoint": name,
        "method": method,
        "bound": statement_id,
        "source": statement.source,
        "kind": statement.kind,
        "form": "",
        "class": "all",
        "split": "",
        "value": math.nan,
        "measured": math.nan,
        "slack": math.nan,
        "valid": False,
        "assumption_status": "unknown",
        "guarantee": False,
        "assumptions_violated": "",
        "assumptions_unknown": "",
        "assumption_details": "",
        "holds": None,
        "trivial": math.nan,
        "non_vacuous": None,
        "tight": None,
        "status": status,
        "note": note,
        "terms": "{}",
    }


def _empty_bounds() -> pd.DataFrame:
    return pd.DataFrame(columns=list(BOUND_COLUMNS))


# ---------------------------------------------------------------- certificates of ltbounds certify (issue 12)

CERTIFICATE_SOURCE = "ltbounds certify (docs/certificates.md): our PAC-Bayes certificate, not a seed statement"
CERTIFICATE_SPLIT = "train (S_bound)"


@dataclass(frozen=True)
class CertificateRecord:
    """One checkpoint's certificate: its rows of ``certificate.csv`` and what certify's manifest says of it."""

    directory: Path
    checkpoint: str  # the path as ``ltbounds certify`` was given it (the key of certificate.csv and the manifest)
    rows: pd.DataFrame
    split: Mapping[str, Any]  # manifest "splits": prior_indices, bound_indices, certified_on, train_samples
    delta: float  # the PAC-Bayes delta + the Monte-Carlo delta_mc: each form holds w.p. >= 1 - delta
    prior: str


def read_certificates(directories: Sequence[str | os.PathLike]) -> dict[str, CertificateRecord]:
    """sha256 of the checkpoint file -> its ``CertificateRecord``, from directories ``ltbounds certify`` wrote.

    A directory without certificate.csv and a manifest listing the certified checkpoints' sha256 (written
    by ``ltbounds certify`` since evaluate reads certificates), or a checkpoint certified in two of them,
    is refused (InputError naming the fix)."""
    found: dict[str, CertificateRecord] = {}
    for item in directories:
        directory = Path(item)
        try:
            manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            table = pd.read_csv(directory / "certificate.csv", dtype={"class": str, "checkpoint": str})
        except (OSError, ValueError) as error:
            raise InputError(
                f"--certificates {directory}: not a folder written by ltbounds certify ({type(error).__name__}: "
                f"{str(error).splitlines()[0][:120]}); give the --out of 'ltbounds certify CKPT --out DIR'"
            ) from error
        identities, splits = manifest.get("checkpoints"), manifest.get("splits")
        settings = manifest.get("settings") or {}
        if not isinstance(identities, dict) or not isinstance(splits, dict):
            raise InputError(
                f"--certificates {directory}: its manifest.json does not record the certified checkpoints' sha256 "
                "(an older ltbounds certify); run 'ltbounds certify' again into a new --out"
            )
        for checkpoint, identity in identities.items():
            sha = str(identity.get("sha256"))
            if sha in found:
                raise InputError(
                    f"--certificates: {checkpoint} is certified in both {found[sha].directory} and {directory}; "
                    "give one of them"
                )
            found[sha] = CertificateRecord(
                directory=directory,
                checkpoint=checkpoint,
                rows=table[table["checkpoint"] == checkpoint],
                split=dict(splits.get(checkpoint) or {}),
                delta=float(settings.get("delta", math.nan)) + float(settings.get("delta_mc", math.nan)),
                prior=str(identity.get("prior", "")),
            )
    return found


def certificate_assumptions(record: CertificateRecord, splits: EvaluationSplits, delta: float) -> tuple:
    """The assumptions a certificate row relies on, each checked against certify's manifest (None: not recorded).

    - ``prior_independent_of_s_bound``: a data-free prior (no S_prior), or S_prior and S_bound disjoint;
    - ``certified_on_training_data_only``: the certificate used the train split only (val and test unused):
      its S_bound indices lie in this checkpoint's train split, whose size certify recorded, and their
      count is the certificate's n_bound;
    - ``confidence_at_report_delta``: the certificate holds w.p. >= 1 - (delta + delta_mc) and that is at
      least the report's 1 - delta.
    """
    from ltbounds.bounds.result import Assumption

    split = record.split
    prior, bound = split.get("prior_indices"), split.get("bound_indices")
    independent = None
    if isinstance(prior, list) and isinstance(bound, list):
        data_free = not prior and record.prior.startswith("data-free")
        independent = bool(data_free or (prior and not set(prior) & set(bound)))
    training_only = None
    train_samples, balanced = split.get("train_samples"), record.rows[record.rows["class"] == "balanced"]
    if isinstance(bound, list) and train_samples is not None and not balanced.empty:
        n_bound = {int(v) for v in balanced["n_bound"]}
        training_only = bool(
            split.get("certified_on") == "train"
            and int(train_samples) == splits.train.num_samples
            and all(0 <= int(i) < int(train_samples) for i in bound)
            and n_bound == {len(bound)}
        )
    confident = None if math.isnan(record.delta) else bool(record.delta <= delta * (1 + 1e-9))
    return (
        Assumption(
            "prior_independent_of_s_bound",
            "the PAC-Bayes prior does not depend on S_bound: a data-free prior (the recorded initialisation) or one "
            "trained on S_prior, disjoint from S_bound (certify's manifest.json, 'splits')",
            independent,
        ),
        Assumption(
            "certified_on_training_data_only",
            "the certificate used training data only (val and test unused): S_bound lies in this checkpoint's "
            "train split and has the certificate's n_bound samples (certify's manifest.json)",
            training_only,
        ),
        Assumption(
            "confidence_at_report_delta",
            f"the certificate holds w.p. >= 1 - (delta + delta_mc) = {1 - record.delta:g}, at least the report's "
            f"1 - delta = {1 - delta:g} (certify --delta/--delta-mc)",
            confident,
        ),
    )


def certificate_results(record: CertificateRecord, splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    """The rows of one checkpoint's certificate as ``BoundResult``s: bound ``pacbayes.balanced_<form>``,
    form ``certified``; measured = the test error of the same stochastic predictor (certify's MC estimate),
    balanced (class ``all``) or per class (the per-class form's class rows); trivial = 1 (a 0-1 risk)."""
    assumptions = certificate_assumptions(record, splits, delta)
    results = []
    for row in record.rows.to_dict("records"):
        per_class = str(row["class"]) != "balanced"
        results.append(
            BoundResult(
                statement=CERTIFICATE_PREFIX + str(row["form"]),
                form="certified",
                value=float(row["certificate"]),
                measured=float(row["measured_test_error"]),
                trivial=1.0,
                terms={
                    "empirical_risk": float(row["empirical_risk"]),
                    "kl": float(row["kl"]),
                    "n_bound": float(row["n_bound"]),
                    "measured_test_error_mean_predictor": float(row["measured_test_error_mean_predictor"]),
                    "delta_total": record.delta,
                },
                assumptions=assumptions,
                class_index=int(row["class"]) if per_class else None,
                split=CERTIFICATE_SPLIT,
                note=f"{record.directory / 'certificate.csv'} ({record.prior} prior); measured: "
                + ("class" if per_class else "balanced")
                + " test error of the same stochastic predictor (Monte Carlo)",
            )
        )
    return results


def certificate_table(name: str, method: str, record: CertificateRecord, splits: EvaluationSplits, delta: float):
    """The rows of ``bounds.csv`` for one checkpoint's certificate (``certificate_results``)."""
    rows = [
        result_row(name, method, result.statement, CERTIFICATE_SOURCE, "bound", result)
        for result in certificate_results(record, splits, delta)
    ]
    return pd.DataFrame(rows, columns=list(BOUND_COLUMNS))


# ---------------------------------------------------------------- per-class quantities (NumPy)


def per_class_accuracy(outputs: Outputs, splits: EvaluationSplits | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy per class, samples per class) of argmax predictions (first maximiser); nan where a class has
    none. From the chunked per-sample hits (``statistics.predictions_correct``) of ``splits`` (default: a fresh
    context on ``outputs``), never the whole logits at once."""
    from ltbounds import per_class
    from ltbounds.statements import statistics

    labels, classes = outputs.labels, outputs.num_classes
    hits = statistics.predictions_correct(EvaluationSplits(train=outputs) if splits is None else splits, outputs)
    return per_class.class_means(hits, labels, classes), per_class.class_sizes(labels, classes)


def minimal_predictions(outputs: Outputs) -> tuple[np.ndarray, np.ndarray]:
    """(B_y(f), margin_y) per class: B_y(f) = min_{x in S_y} f(x)_y (wang23, Lemma 4) and
    margin_y = min_{x in S_y} (f(x)_y - max_{j != y} f(x)_j) (wang23, Remark 2); nan if S_y is empty.
    Both from ``ltbounds.per_class``."""
    from ltbounds import per_class

    logits, labels, classes = outputs.logits, outputs.labels, outputs.num_classes
    b_y = per_class.class_minimum(per_class.target_logits(logits, labels), labels, classes)
    return b_y, per_class.class_margins(logits, labels, classes)


def class_geometry(outputs: Outputs) -> tuple[np.ndarray, np.ndarray]:
    """(tr C_y, ||mu_y||): trace of the empirical (1/n) covariance of the class's embeddings, i.e.
    sum_j V_hat[Phi_j | y] of elm, Proposition 1, and the norm of its centroid mu_y; nan if empty
    (``per_class.class_scatter``)."""
    from ltbounds import per_class

    trace, centroids = per_class.class_scatter(outputs.embeddings, outputs.labels, outputs.num_classes)
    return trace, np.linalg.norm(centroids, axis=1)


def elm_alpha(train: Outputs) -> np.ndarray:
    """ELM pull margins alpha_y: the training loss's own (``loss_parameters.elm_alpha``, an ELM checkpoint),
    else alpha_y = pi_y, the choice of the ``elm.*`` statement evaluators (elm, App. A.2, CIFAR10-LT)."""
    given = None if train.loss_parameters is None else train.loss_parameters.elm_alpha
    if given is not None:
        values = np.asarray(given, dtype=np.float64).reshape(-1)
        if values.shape == (train.num_classes,) and np.all(np.isfinite(values)):
            return values
    return train.priors


def elm_prop1_sides(train: Outputs, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) of elm, Proposition 1 per class from ``bounds.elm_prop1``; nan where n_y < 2.

    left = 2 n/(n-1) tr C_y - alpha_y + log(n-1), right = mean Omega_pull(y). The bounds function
    needs two samples in every class, so it is called on the classes that have them."""
    from ltbounds import bounds

    sizes = np.bincount(train.labels, minlength=train.num_classes)
    eligible = np.flatnonzero(sizes >= 2)
    left = np.full(train.num_classes, np.nan)
    right = np.full(train.num_classes, np.nan)
    if eligible.size == 0:
        return left, right
    keep = sizes[train.labels] >= 2
    relabel = np.cumsum(sizes >= 2) - 1  # old class id -> index among eligible classes
    sides = bounds.elm_prop1(train.embeddings[keep], relabel[train.labels[keep]], alpha[eligible], eligible.size)
    left[eligible] = sides.left
    right[eligible] = sides.right
    return left, right


def local_lipschitz(train: Outputs, reading: Reading, splits: EvaluationSplits | None = None) -> tuple[np.ndarray, str]:
    """(mu_y, why missing) of wang23, Lemma 4 (eq. 15) from ``statements.wang23.vs_local_lipschitz_of`` (which owns the
    reading of "softmax(beta_y B_y(f) + Delta_y)"), with the training loss's VS parameters
    (``Outputs.loss_parameters``). Where it cannot be computed (e.g. a class without training samples, or a
    checkpoint whose loss parameters are unknown) mu_y is nan and ``why`` says why (per_class.csv's ``mu_y_missing``);
    ``why`` is "" otherwise. Any other exception is a bug and propagates."""
    from ltbounds.statements.wang23 import vs_local_lipschitz_of

    try:
        values = np.asarray(vs_local_lipschitz_of(train, reading, splits=splits).mu, dtype=np.float64)
    except InputError as error:
        return np.full(train.num_classes, np.nan), str(error)
    if values.shape != (train.num_classes,):
        return np.full(train.num_classes, np.nan), f"mu_y has shape {values.shape}, not ({train.num_classes},)"
    return values, ""


def _elm_prop1_sides_chunked(splits: EvaluationSplits, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``elm_prop1_sides`` from the context: left from the chunked tr Ĉ_y, right = bar Omega_pull(y) gathered one
    class at a time (the elm statements' own when alpha = pi); nan where n_y < 2."""
    from ltbounds.bounds.elm import prop1_left, pull_terms
    from ltbounds.statements import statistics

    train = splits.train
    moments = statistics.class_moments(splits, train)
    eligible = moments.sizes >= 2
    if np.array_equal(alpha, train.priors):
        from ltbounds.statements.elm import _pull

        pull = _pull(splits)
    else:
        pull = splits.computed(
            ("evaluation.pull", alpha.tobytes()),
            lambda: pull_terms(statistics.MappedRows(train.embeddings), train.labels, alpha, train.num_classes),
        )
    left = np.where(eligible, prop1_left(moments.trace, moments.sizes.astype(np.float64), alpha), np.nan)
    return left, np.where(eligible, pull.soft_mean, np.nan)


def per_class_table(name: str, splits: EvaluationSplits) -> pd.DataFrame:
    """The rows of ``per_class.csv`` for one checkpoint (training quantities on the train split)."""
    train, test = splits.train, splits.test if splits.test is not None else splits.heldout
    counts = train.class_counts
    train_accuracy, train_samples = per_class_accuracy(train, splits)
    test_accuracy, test_samples = per_class_accuracy(test, splits)
    # the chunked statistics of the evaluation context (statements.statistics): the values of
    # minimal_predictions, class_geometry and elm_prop1_sides without (n, C) or (n, d) copies
    from ltbounds.statements import statistics

    b_y, _ = statistics.logit_extremes(splits, train)
    margin = statistics.class_margins(splits, train)
    moments = statistics.class_moments(splits, train)
    trace, centroid_norm = moments.trace, np.linalg.norm(moments.centroids, axis=1)
    alpha = elm_alpha(train)
    prop1_left, omega = _elm_prop1_sides_chunked(splits, alpha)
    mu, mu_missing = local_lipschitz(train, "corrected", splits)
    return pd.DataFrame(
        {
            "checkpoint": name,
            "method": train.method,
            "class": np.arange(train.num_classes),
            "train_count": counts,
            "train_samples": train_samples,
            "test_samples": test_samples,
            "group": class_groups(counts),
            "train_accuracy": train_accuracy,
            "test_accuracy": test_accuracy,
            "B_y": b_y,
            "min_margin": margin,
            "variance_trace": trace,
            "centroid_norm": centroid_norm,
            "alpha_y": alpha,
            "omega_pull": omega,
            "elm_prop1_left": prop1_left,
            "mu_y": mu,
            "mu_y_as_printed": local_lipschitz(train, "as_printed", splits)[0],
            "mu_y_missing": mu_missing,
        }
    )


def checkpoint_summary(name: str, splits: EvaluationSplits, info: Mapping[str, Any]) -> dict[str, Any]:
    """One row of ``checkpoints.csv``: balanced test error and Many/Medium/Few accuracy."""
    test = splits.test if splits.test is not None else splits.heldout
    accuracy, samples = per_class_accuracy(test, splits)
    groups = class_groups(splits.train.class_counts)
    present = samples > 0
    row = {
        "checkpoint": name,
        "method": splits.train.method,
        "dataset": info.get("dataset"),
        "imbalance": info.get("imbalance"),
        "seed": info.get("seed"),
        "epoch": info.get("epoch"),
        "heldout_split": splits.heldout.split if splits.heldout is not None else None,
        "num_classes": splits.train.num_classes,
        "train_samples": splits.train.num_samples,
        "test_split": test.split,
        "test_samples": test.num_samples,
        "balanced_error": float(1.0 - np.mean(accuracy[present])) if present.any() else math.nan,
    }
    for group in ("many", "medium", "few"):
        chosen = present & (groups == group)
        row[f"{group}_accuracy"] = float(np.mean(accuracy[chosen])) if chosen.any() else math.nan
    return row

"""The on-disk layout of an outputs directory, in plain arrays and dicts (no ``Outputs`` here).

The layout (format ``ltbounds.outputs`` version 1, directory form; docs/outputs_format.md)::

    DIR/outputs.json              {"format": "ltbounds.outputs", "format_version": 1, "layout": "directory",
                                   "name", "method", "head_kind", "head_scale", "splits": {split: n}, "metadata"}
    DIR/class_counts.npy          (C,) int       TRAINING counts, index = class id
    DIR/head_weight.npy           (C, d) float
    DIR/head_bias.npy             (C,) float
    DIR/<split>/logits.npy        (n, C) float32 or float64
    DIR/<split>/embeddings.npy    (n, d) float32 or float64
    DIR/<split>/labels.npy        (n,) int

``outputs.json`` is written last (``OutputsWriter.close``), into a temporary directory renamed onto
``DIR``: a directory without it is an unfinished export and is refused (``read_outputs_dir``). Logits and
embeddings are opened with ``np.load(mmap_mode="r")`` and stay memory-mapped (float32 storage is kept as
float32 on disk); labels, the head and the counts are small and read into memory.

This module sits below ``ltbounds.outputs`` and imports nothing from it: ``ltbounds.outputs`` builds
``Outputs`` from what ``read_outputs_dir`` returns and writes them with ``OutputsWriter``;
``ltbounds.outputs_store`` gathers the public names of the directory form for callers.
"""

from __future__ import annotations

import json
import mmap
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ltbounds.artifacts import json_safe
from ltbounds.checks import InputError

# the format's name and version, shared by the single-file form (ltbounds.outputs) and this directory form
OUTPUTS_FORMAT = "ltbounds.outputs"
OUTPUTS_FORMAT_VERSION = 1
# a split name is a file-system-safe word: it is a directory here and a key prefix ("train/labels") in a file
SPLIT_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
METADATA_FILE = "outputs.json"
LAYOUT = "directory"
_STORED_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# rows of a finiteness check or a copy per block: (block, width) float64 stays ~16 MB whatever n is
_BLOCK_ELEMENTS = 1 << 21


def is_outputs_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory (an outputs directory or an unfinished one)."""
    return Path(path).is_dir()


def block_rows(width: int, elements: int = _BLOCK_ELEMENTS) -> int:
    """Rows per block so that a (rows, width) float64 block holds about ``elements`` entries."""
    return max(1, elements // max(int(width), 1))


def check_mapped_matrix(
    array: np.ndarray, name: str, rows: int | None = None, columns: int | None = None
) -> np.ndarray:
    """``checks.check_matrix`` for a memory-mapped array, without loading it: a 2-D float32/float64
    array, finite (checked block by block), with the given rows/columns. Returned as is (still mapped);
    a mapped array of another dtype is refused (converting it would load it whole)."""
    if array.ndim != 2:
        raise InputError(f"{name} must be 2-D (samples x features), got shape {array.shape}")
    if array.dtype not in _STORED_FLOATS:
        raise InputError(f"{name} is stored as {array.dtype}; store it as float32 or float64")
    if rows is not None and array.shape[0] != rows:
        raise InputError(f"{name} has {array.shape[0]} rows but {rows} were expected (one per sample)")
    if columns is not None and array.shape[1] != columns:
        raise InputError(f"{name} has {array.shape[1]} columns but {columns} were expected")
    step = block_rows(array.shape[1])
    for start in range(0, array.shape[0], step):
        block = array[start : start + step]
        if not np.all(np.isfinite(block)):
            bad = int(block.size - np.count_nonzero(np.isfinite(block)))
            raise InputError(
                f"{name} contains non-finite value(s) (NaN or inf) from row {start} ({bad} in that "
                "block); clean them first"
            )
        # block by block: the pages read stay in the page cache but leave this process's resident memory
        # (released only at the end, a 14 GB iNaturalist-2018 logits file was resident at once)
        release_mapped_arrays(array)
    return array


def release_mapped_arrays(*arrays: Any) -> None:
    """Unmap the pages of memory-mapped arrays that this process has read (``madvise(MADV_DONTNEED)``);
    arrays that are not memory-mapped are ignored.

    The files are read-only, so the pages stay in the page cache and a later read is a soft fault; without this
    every page a pass touched would count in the process's resident memory until the end."""
    for array in arrays:
        handle = getattr(array, "_mmap", None)
        if handle is not None and hasattr(handle, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            try:
                handle.madvise(mmap.MADV_DONTNEED)
            except (OSError, ValueError):  # a closed map, or a platform without it: only memory is at stake
                pass


class OutputsWriter:
    """Write one model's outputs to an outputs directory batch by batch (never every batch at once).

    ``splits`` maps split name -> number of samples; ``append(split, logits, embeddings, labels)`` writes
    the next rows of that split; ``close()`` checks that every row was written, writes ``outputs.json``
    and moves the directory onto ``path`` (replacing an earlier outputs directory there, never anything
    else). Use it as a context manager: on an exception the partial directory is removed.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        class_counts: Any,
        head_weight: Any,
        head_bias: Any | None = None,
        splits: Mapping[str, int],
        dtype: Any = np.float32,
        head_kind: str = "linear",
        head_scale: float = 1.0,
        name: str = "model",
        method: str = "unknown",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not (self.path.is_dir() and (self.path / METADATA_FILE).is_file()):
            raise InputError(f"{self.path} exists and is not an outputs directory; choose a new path")
        self.dtype = np.dtype(dtype)
        if self.dtype not in _STORED_FLOATS:
            raise InputError(f"dtype must be float32 or float64, got {self.dtype}")
        weight = np.asarray(head_weight, dtype=np.float64)
        if weight.ndim != 2:
            raise InputError(f"head_weight must be (C, d), got shape {weight.shape}")
        counts = np.asarray(class_counts, dtype=np.int64).reshape(-1)
        bias = np.zeros(weight.shape[0]) if head_bias is None else np.asarray(head_bias, dtype=np.float64).reshape(-1)
        if counts.shape[0] != weight.shape[0] or bias.shape[0] != weight.shape[0]:
            raise InputError(
                f"class_counts ({counts.shape[0]}), head_weight ({weight.shape[0]} rows) and head_bias "
                f"({bias.shape[0]}) must have one entry per class"
            )
        for split, size in splits.items():
            if not SPLIT_NAME.match(str(split)):
                raise InputError(f"split name {split!r} must use letters, digits, '_' or '-' only")
            if int(size) < 0:
                raise InputError(f"split {split!r}: the number of samples must be >= 0, got {size}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent))
        num_classes, dim = weight.shape
        np.save(self.staging / "class_counts.npy", counts)
        np.save(self.staging / "head_weight.npy", weight)
        np.save(self.staging / "head_bias.npy", bias)
        self.sizes = {str(split): int(size) for split, size in splits.items()}
        self.cursor = dict.fromkeys(self.sizes, 0)
        self.arrays: dict[str, dict[str, _RowFile]] = {}
        for split, size in self.sizes.items():
            (self.staging / split).mkdir()
            self.arrays[split] = {
                "logits": _open_new(self.staging / split / "logits.npy", self.dtype, (size, num_classes)),
                "embeddings": _open_new(self.staging / split / "embeddings.npy", self.dtype, (size, dim)),
                "labels": _open_new(self.staging / split / "labels.npy", np.dtype(np.int64), (size,)),
            }
        self.record = {
            "format": OUTPUTS_FORMAT,
            "format_version": OUTPUTS_FORMAT_VERSION,
            "layout": LAYOUT,
            "name": str(name),
            "method": str(method),
            "head_kind": str(head_kind),
            "head_scale": float(head_scale),
            "splits": dict(self.sizes),
            "metadata": json_safe(dict(metadata or {})),
        }
        self.closed = False

    def append(self, split: str, logits: Any, embeddings: Any, labels: Any) -> None:
        """Write the next rows of ``split`` (any array-likes; torch tensors are moved to the CPU)."""
        if split not in self.arrays:
            raise InputError(f"split {split!r} was not declared; declared: {sorted(self.arrays)}")
        logits, embeddings, labels = (as_numpy(value) for value in (logits, embeddings, labels))
        rows = labels.reshape(-1).shape[0]
        start = self.cursor[split]
        if start + rows > self.sizes[split]:
            raise InputError(f"split {split!r}: {start + rows} rows appended but {self.sizes[split]} were declared")
        target = self.arrays[split]
        for key, value in (("logits", logits), ("embeddings", embeddings)):
            value = value.reshape(rows, -1)
            if value.shape[1] != target[key].shape[1]:
                raise InputError(
                    f"split {split!r}: {key} batch has {value.shape[1]} columns, expected {target[key].shape[1]}"
                )
            target[key].write(start, value)
        target["labels"].write(start, labels.reshape(-1))
        self.cursor[split] = start + rows

    def close(self) -> Path:
        """Flush, check every declared row was written, write ``outputs.json`` and move into place."""
        short = {split: (self.cursor[split], size) for split, size in self.sizes.items() if self.cursor[split] != size}
        if short:
            raise InputError(f"outputs directory {self.path}: rows written / declared per split {short}")
        self._close_files()
        (self.staging / METADATA_FILE).write_text(json.dumps(self.record, indent=1, sort_keys=True))
        if self.path.exists():
            shutil.rmtree(self.path)  # an earlier outputs directory (checked in __init__)
        os.replace(self.staging, self.path)
        self.closed = True
        return self.path

    def _close_files(self) -> None:
        for arrays in self.arrays.values():
            for array in arrays.values():
                array.close()
        self.arrays.clear()

    def abort(self) -> None:
        self._close_files()
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> OutputsWriter:
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if self.closed:
            return
        if kind is not None:
            self.abort()
            return
        try:
            self.close()
        except BaseException:
            self.abort()  # an unfinished export leaves nothing behind
            raise


class _RowFile:
    """A new ``.npy`` file of a given shape, written by rows with ordinary file writes.

    Not a writable memory map: the dirty pages of a mapping count in the writer's resident memory until
    they are flushed, so an export through one would grow to the size of the file."""

    def __init__(self, path: Path, dtype: np.dtype, shape: tuple[int, ...]) -> None:
        header = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)  # header + sparse file
        self.offset, self.shape, self.dtype = header.offset, shape, dtype
        self.row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        del header
        self.handle = open(path, "r+b")  # noqa: SIM115 - kept open across appends, closed in close()

    def write(self, start: int, block: np.ndarray) -> None:
        self.handle.seek(self.offset + start * self.row_bytes)
        self.handle.write(np.ascontiguousarray(block, dtype=self.dtype).tobytes())

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.close()


def _open_new(path: Path, dtype: np.dtype, shape: tuple[int, ...]) -> _RowFile:
    return _RowFile(path, dtype, shape)


def as_numpy(value: Any) -> np.ndarray:
    """A NumPy array of an array-like; a torch tensor is detached and moved to the CPU (bfloat16 as float32)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        return value.numpy()
    return np.asarray(value)


@dataclass(frozen=True)
class OutputsDirectory:
    """What an outputs directory holds, checked for shape but not yet an ``Outputs`` (``ltbounds.outputs``
    validates the values when it builds one per split).

    ``record``: the parsed ``outputs.json``; ``class_counts`` (C,), ``head_weight`` (C, d) float64,
    ``head_bias`` (C,) float64; ``splits``: split name -> (logits (n, C), embeddings (n, d), labels (n,)),
    logits and embeddings memory-mapped as stored (float32 or float64)."""

    path: Path
    record: dict[str, Any]
    class_counts: np.ndarray
    head_weight: np.ndarray
    head_bias: np.ndarray
    splits: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def read_outputs_record(path: str | os.PathLike) -> dict[str, Any]:
    """The parsed ``outputs.json`` of an outputs directory, checked to be this format and version
    (``InputError`` naming the file otherwise)."""
    source = Path(path)
    meta_path = source / METADATA_FILE
    if not meta_path.is_file():
        raise InputError(
            f"{source}: incomplete outputs directory, no {METADATA_FILE} (written last by the export: was it "
            "interrupted?); re-export it (docs/outputs_format.md, 'Outputs that do not fit in memory')"
        )
    try:
        record = json.loads(meta_path.read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"{meta_path} is not readable JSON ({error})") from error
    if not isinstance(record, dict) or record.get("format") != OUTPUTS_FORMAT or record.get("layout") != LAYOUT:
        raise InputError(f"{meta_path}: not an ltbounds outputs directory (format/layout keys)")
    if int(record.get("format_version", 0)) != OUTPUTS_FORMAT_VERSION:
        raise InputError(
            f"{meta_path}: format_version {record.get('format_version')!r} is not supported "
            f"(expected {OUTPUTS_FORMAT_VERSION})"
        )
    return record


def exported_source(path: str | os.PathLike) -> dict[str, Any]:
    """What ``ltbounds export`` recorded, under ``metadata.source``, of the checkpoint an outputs directory was
    made from (dataset, imbalance, seed, epoch, checkpoint_sha256); {} for a directory written otherwise."""
    source = (read_outputs_record(path).get("metadata") or {}).get("source")
    return dict(source) if isinstance(source, dict) else {}


def read_outputs_dir(path: str | os.PathLike) -> OutputsDirectory:
    """Open an outputs directory: its ``outputs.json`` record and its arrays (logits/embeddings memory-mapped).

    ``InputError`` naming the directory and the file when ``outputs.json`` or an array is missing, the
    metadata is not this format, or the arrays disagree in shape or with the declared sample counts."""
    source = Path(path)
    record = read_outputs_record(source)
    meta_path = source / METADATA_FILE
    declared = record.get("splits")
    if not isinstance(declared, dict) or not declared:
        raise InputError(f"{meta_path}: 'splits' must map each split name to its number of samples")
    counts = _load(source, "class_counts.npy")
    weight = np.asarray(_load(source, "head_weight.npy"), dtype=np.float64)
    bias = np.asarray(_load(source, "head_bias.npy"), dtype=np.float64)
    if weight.ndim != 2 or counts.shape != (weight.shape[0],) or bias.shape != (weight.shape[0],):
        raise InputError(
            f"{source}: class_counts.npy {counts.shape}, head_weight.npy {weight.shape} and head_bias.npy "
            f"{bias.shape} disagree: expected (C,), (C, d) and (C,)"
        )
    num_classes, dim = weight.shape
    splits: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for split, size in declared.items():
        logits = _load(source, f"{split}/logits.npy", mapped=True)
        embeddings = _load(source, f"{split}/embeddings.npy", mapped=True)
        labels = np.asarray(_load(source, f"{split}/labels.npy"))
        expected = {"logits.npy": (size, num_classes), "embeddings.npy": (size, dim), "labels.npy": (size,)}
        for name, array in (("logits.npy", logits), ("embeddings.npy", embeddings), ("labels.npy", labels)):
            if array.shape != expected[name]:
                raise InputError(
                    f"{source}: {split}/{name} has shape {array.shape}, expected {expected[name]} ({size} samples "
                    f"declared in {METADATA_FILE}, {num_classes} classes and {dim} dims from head_weight.npy)"
                )
        splits[split] = (logits, embeddings, labels)
    return OutputsDirectory(
        path=source, record=record, class_counts=counts, head_weight=weight, head_bias=bias, splits=splits
    )


def _load(source: Path, name: str, mapped: bool = False) -> np.ndarray:
    file = source / name
    if not file.is_file():
        raise InputError(f"{source}: incomplete outputs directory, {name} is missing (docs/outputs_format.md)")
    try:
        return np.load(file, mmap_mode="r" if mapped else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise InputError(f"{source}: {name} is not a readable .npy file ({error})") from error


def row_blocks(num_rows: int, rows: int) -> Iterator[slice]:
    """Consecutive row slices of at most ``rows`` rows covering 0..num_rows."""
    for start in range(0, num_rows, max(int(rows), 1)):
        yield slice(start, min(start + int(rows), num_rows))

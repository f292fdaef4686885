"""CIFAR-10 / CIFAR-100 from the user's local copy of the "Python version" of the datasets.

Expected layout (the archives' own, unpacked under ``data_root``; ``data_root`` may also be the
inner folder itself)::

    data_root/cifar-10-batches-py/{data_batch_1, ..., data_batch_5, test_batch, batches.meta}
    data_root/cifar-100-python/{train, test, meta}

Each batch file is a pickled dict with b"data" (N, 3072) uint8 (1024 red, 1024 green, 1024 blue
values per image, rows in order) and b"labels" (CIFAR-10) or b"fine_labels" (CIFAR-100); the meta
file holds b"label_names" / b"fine_label_names" (optional here). The pickles are read with an
unpickler that only admits numpy arrays, so a foreign pickle cannot run code.
The 50000 training images form the balanced pool (5000 / 500 per class); the 10000 test images
are the balanced test set. Normalised with the usual per-channel constants.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ltbounds.checks import InputError

from .raw import RawData
from .spec import DatasetSpec

CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN, CIFAR100_STD = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)
CIFAR_OPTIONS: dict[str, Any] = {"flatten": False, "n_max": None}

_LAYOUT = {
    "cifar10": {
        "folder": "cifar-10-batches-py",
        "train": [f"data_batch_{number}" for number in range(1, 6)],
        "test": ["test_batch"],
        "meta": "batches.meta",
        "label_key": b"labels",
        "names_key": b"label_names",
        "classes": 10,
        "what": "the Python version of CIFAR-10, https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    },
    "cifar100": {
        "folder": "cifar-100-python",
        "train": ["train"],
        "test": ["test"],
        "meta": "meta",
        "label_key": b"fine_labels",
        "names_key": b"fine_label_names",
        "classes": 100,
        "what": "the Python version of CIFAR-100, https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    },
}

_ALLOWED_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Admits numpy arrays, dtypes and builtins only (the content of the CIFAR pickles)."""

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core") :]
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of a CIFAR pickle")
        return super().find_class(module, name)


def read_pickle(path: Path, expected: str) -> Any:
    """Unpickle a CIFAR file (bytes keys, as the Python-2 pickles need), or an InputError saying what was expected."""
    if not path.is_file():
        raise InputError(f"expected {path} ({expected}); got no such file")
    try:
        with path.open("rb") as stream:
            return _ArrayUnpickler(io.BufferedReader(stream), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as error:
        raise InputError(f"expected {path} to be a pickle of {expected}; could not read it: {error}") from error


def load_cifar(name: str, data_root: str | None) -> RawData:
    """Read a CIFAR folder: (N, 3, 32, 32) uint8 pool (train) and test arrays with int64 labels."""
    layout = _LAYOUT[name]
    folder = _find_folder(name, data_root)
    train_x, train_y = _read_batches(folder, layout["train"], layout)
    test_x, test_y = _read_batches(folder, layout["test"], layout)
    meta_path = folder / layout["meta"]
    names: tuple[str, ...] = tuple(f"class {c}" for c in range(layout["classes"]))
    if meta_path.is_file():
        meta = read_pickle(meta_path, f"the class names of {layout['what']}")
        raw_names = meta.get(layout["names_key"]) if isinstance(meta, dict) else None
        if not isinstance(raw_names, list) or len(raw_names) != layout["classes"]:
            raise InputError(
                f"expected {meta_path} to hold {layout['names_key']!r}: a list of {layout['classes']} class names"
            )
        names = tuple(item.decode() if isinstance(item, bytes) else str(item) for item in raw_names)
    mean, std = (CIFAR10_MEAN, CIFAR10_STD) if name == "cifar10" else (CIFAR100_MEAN, CIFAR100_STD)
    return RawData(
        train_x, train_y, test_x, test_y, layout["classes"], names, scale=255.0, mean=mean, std=std, augment_padding=4
    )


def load_cifar10(spec: DatasetSpec, data_root: str | None, options: Mapping[str, Any]) -> RawData:
    return load_cifar("cifar10", data_root)


def load_cifar100(spec: DatasetSpec, data_root: str | None, options: Mapping[str, Any]) -> RawData:
    return load_cifar("cifar100", data_root)


def _find_folder(name: str, data_root: str | None) -> Path:
    layout = _LAYOUT[name]
    if data_root is None:
        raise InputError(
            f"dataset {name!r} is read from a local folder: pass data_root (--data-root) containing "
            f"{layout['folder']}/ ({layout['what']})"
        )
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise InputError(f"data_root {root} is not a directory; expected it to contain {layout['folder']}/")
    if (root / layout["train"][0]).is_file() and not (root / layout["folder"]).is_dir():
        return root
    return root / layout["folder"]


def _read_batches(folder: Path, files: list[str], layout: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for file_name in files:
        path = folder / file_name
        expected = layout["what"]
        batch = read_pickle(path, expected)
        key = layout["label_key"]
        if not isinstance(batch, dict) or b"data" not in batch or key not in batch:
            keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
            raise InputError(f"expected {path} to be a dict with keys b'data' and {key!r} ({expected}); got {keys}")
        data = batch[b"data"]
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            shape = getattr(data, "shape", None)
            dtype = getattr(data, "dtype", type(data).__name__)
            raise InputError(f"expected b'data' in {path} to be a (N, 3072) uint8 array; got {shape} of {dtype}")
        label_values = np.asarray(batch[key])
        if label_values.shape != (data.shape[0],) or label_values.dtype.kind not in "iu":
            raise InputError(
                f"expected {key!r} in {path} to hold {data.shape[0]} integer labels; got {label_values.shape}"
            )
        if label_values.size and (label_values.min() < 0 or label_values.max() >= layout["classes"]):
            raise InputError(
                f"expected labels in [0, {layout['classes']}) in {path}; "
                f"found {label_values.min()}..{label_values.max()}"
            )
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(label_values.astype(np.int64))
    return np.concatenate(images), np.concatenate(labels)

"""ImageNet-LT / iNaturalist style image folders with split list files (Liu et al. 2019; Kang et al. 2020).

Layout: ``data_root`` holds the list files and (under ``image_root``, default ``data_root``) the
images. A list file has one ``relative/path.jpg label`` per line (the path may contain spaces; the
label is the last field, an integer class id; blank lines and lines starting with # are skipped).
Options (defaults in ``IMAGEFOLDER_OPTIONS``):

- ``train_list``, ``val_list``, ``test_list``: file names relative to ``data_root`` (or absolute);
  ImageNet-LT's ``ImageNet_LT_{train,val,test}.txt`` by default. iNaturalist 2018 as distributed
  by the decoupling code has only train and val lists: pass ``test_list="iNaturalist18_val.txt"``
  and ``val_list=None`` (then the val split is empty, never a copy of the test set).
- ``long_tail``: "given" (default): the train list is the long-tailed training set as it is
  (``spec.imbalance`` and ``spec.profile`` are then not applied; the true counts are in
  ``LongTailData.class_counts``); "subsample": the train list is a balanced pool and Cao et al.'s
  protocol is applied to it (val held out of it, the val list is not read).
- ``image_size``: images are loaded with PIL, converted to RGB, resized so the shorter side is
  ``image_size`` (bilinear) and centre-cropped to a square; all of them live in memory as float32
  (3 * image_size^2 * 4 bytes each: ~49 KB at 64 px, ~600 KB at 224 px).
- ``num_classes``: default 1 + the largest label in the lists.

Normalised with the ImageNet mean and std; crop augmentation pads by image_size // 8 pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ltbounds.checks import InputError

from .raw import RawData, option_int
from .spec import DatasetSpec

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
IMAGEFOLDER_OPTIONS: dict[str, Any] = {
    "train_list": "ImageNet_LT_train.txt",
    "val_list": "ImageNet_LT_val.txt",
    "test_list": "ImageNet_LT_test.txt",
    "image_root": None,
    "image_size": 64,
    "long_tail": "given",
    "num_classes": None,
    "flatten": False,
    "n_max": None,
}
LIST_FORMAT = "a split list: one 'relative/path.jpg label' per line"


def read_split_list(path: Path) -> tuple[list[str], np.ndarray]:
    """(relative image paths, int64 labels) of a list file; InputError naming the line when malformed."""
    if not path.is_file():
        raise InputError(f"expected {path} ({LIST_FORMAT}); got no such file")
    paths, labels = [], []
    with path.open("r", encoding="utf-8") as stream:
        for line_number, line in enumerate(stream, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            parts = text.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit() or int(parts[1]) < 0:
                raise InputError(f"expected {path} line {line_number} to be 'relative/path.jpg label'; got {text!r}")
            paths.append(parts[0])
            labels.append(int(parts[1]))
    if not paths:
        raise InputError(f"expected {path} ({LIST_FORMAT}); got no entries")
    return paths, np.asarray(labels, dtype=np.int64)


def load_image(path: Path, size: int) -> np.ndarray:
    """(3, size, size) uint8: RGB, shorter side resized to ``size`` (bilinear), centre crop."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise InputError(f"expected an image at {path} (listed in a split list); got no such file")
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            width, height = image.size
            scale = size / min(width, height)
            resized = (max(size, round(width * scale)), max(size, round(height * scale)))
            image = image.resize(resized, Image.BILINEAR)
            left, top = (resized[0] - size) // 2, (resized[1] - size) // 2
            image = image.crop((left, top, left + size, top + size))
            return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy()
    except (UnidentifiedImageError, OSError) as error:
        raise InputError(f"expected {path} to be an image PIL can read; got {error}") from error


def load_images(root: Path, relative_paths: list[str], size: int) -> np.ndarray:
    """(N, 3, size, size) uint8; decoded by a few threads (PIL releases the GIL while decoding)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        images = list(pool.map(lambda relative: load_image(root / relative, size), relative_paths))
    return np.stack(images) if images else np.zeros((0, 3, size, size), dtype=np.uint8)


def load_imagefolder(spec: DatasetSpec, data_root: str | None, options: Mapping[str, Any]) -> RawData:
    if data_root is None:
        raise InputError(
            "dataset 'imagefolder' is read from a local folder: pass data_root (--data-root) holding the split "
            f"lists {options['train_list']!r} / {options['test_list']!r} ({LIST_FORMAT}) and the images"
        )
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise InputError(f"data_root {root} is not a directory; expected the split lists and images there")
    image_root = root if options["image_root"] is None else (root / str(options["image_root"]))
    size = option_int(options, "image_size", minimum=8)
    if options["long_tail"] not in ("given", "subsample"):
        raise InputError(f"option 'long_tail' must be 'given' or 'subsample', got {options['long_tail']!r}")
    for key in ("train_list", "test_list"):
        if not isinstance(options[key], str):
            raise InputError(f"option {key!r} must be a file name, got {options[key]!r}")
    lists = {
        "train": read_split_list(root / options["train_list"]),
        "test": read_split_list(root / options["test_list"]),
    }
    if options["long_tail"] == "given" and options["val_list"] is not None:
        lists["val"] = read_split_list(root / str(options["val_list"]))
    largest = max(int(labels.max()) for _, labels in lists.values())
    num_classes = largest + 1 if options["num_classes"] is None else option_int(options, "num_classes")
    if largest >= num_classes:
        raise InputError(f"the split lists hold label {largest} but option num_classes={num_classes}")
    arrays = {name: (load_images(image_root, paths, size), labels) for name, (paths, labels) in lists.items()}
    val_x, val_y = arrays["val"] if "val" in arrays else (None, None)
    return RawData(
        arrays["train"][0],
        arrays["train"][1],
        arrays["test"][0],
        arrays["test"][1],
        num_classes,
        tuple(f"class {c}" for c in range(num_classes)),
        scale=255.0,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        augment_padding=size // 8,
        long_tail=options["long_tail"],
        val_x=val_x,
        val_y=val_y,
    )

"""training.data on local folders: tiny CIFAR pickles and image folders generated in exactly the real formats."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from ltbounds.checks import InputError
from training.data import DatasetSpec, load_dataset, long_tail_counts
from training.data.cifar import CIFAR10_MEAN, CIFAR10_STD


def _write_cifar10(root, per_class_train=6, per_class_test=2, corrupt=None):
    """The layout of cifar-10-python.tar.gz with 5 tiny training batches. Pixel 0 of image i encodes i."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), per_class_train)
    rng.shuffle(labels)
    data = rng.integers(0, 256, size=(labels.size, 3072), dtype=np.uint8)
    for number, part in enumerate(np.array_split(np.arange(labels.size), 5), start=1):
        batch = {b"batch_label": b"training batch", b"data": data[part], b"labels": labels[part].tolist()}
        (folder / f"data_batch_{number}").write_bytes(pickle.dumps(batch, protocol=2))
    test_labels = np.repeat(np.arange(10), per_class_test)
    test = {
        b"data": rng.integers(0, 256, size=(test_labels.size, 3072), dtype=np.uint8),
        b"labels": test_labels.tolist(),
    }
    (folder / "test_batch").write_bytes(pickle.dumps(test, protocol=2))
    names = [name.encode() for name in ("airplane automobile bird cat deer dog frog horse ship truck".split())]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names, b"num_vis": 3072}, protocol=2))
    return data, labels, test


def test_cifar10_reads_the_python_pickles_and_builds_the_long_tail(tmp_path):
    data, labels, test = _write_cifar10(tmp_path)
    loaded = load_dataset(DatasetSpec("cifar10", imbalance=5, val_fraction=1 / 6), data_root=str(tmp_path))
    assert loaded.num_classes == 10 and loaded.input_shape == (3, 32, 32)
    assert loaded.class_names[0] == "airplane" and loaded.class_names[9] == "truck"
    assert loaded.class_counts.tolist() == long_tail_counts(5, 10, 5, "exp").tolist()
    assert loaded.class_counts[0] == 5 and loaded.class_counts[-1] == 1
    assert torch.bincount(loaded.val.y, minlength=10).tolist() == [1] * 10
    assert torch.bincount(loaded.test.y, minlength=10).tolist() == [2] * 10
    assert loaded.augment_padding == 4
    # The test images come back in file order, decoded as (3, 32, 32) and normalised with the CIFAR-10 constants.
    expected = torch.from_numpy(test[b"data"].reshape(-1, 3, 32, 32).astype(np.float32) / 255)
    mean = torch.tensor(CIFAR10_MEAN).reshape(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).reshape(1, 3, 1, 1)
    assert torch.allclose(loaded.test.x, (expected - mean) / std, atol=1e-6)
    # Every training image is one of the pool's images with its own label.
    pool = {bytes(row): label for row, label in zip(data, labels, strict=True)}
    raw_train = torch.round((loaded.train.x * std + mean) * 255).to(torch.uint8).reshape(len(loaded.train), -1)
    for row, label in zip(raw_train.numpy(), loaded.train.y.tolist(), strict=True):
        assert pool[bytes(row)] == label


def test_cifar10_inner_folder_as_data_root_works(tmp_path):
    _write_cifar10(tmp_path)
    loaded = load_dataset(
        DatasetSpec("cifar10", imbalance=5, val_fraction=0.0), data_root=str(tmp_path / "cifar-10-batches-py")
    )
    assert loaded.class_counts[0] == 6 and len(loaded.val) == 0


def test_cifar100_reads_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name, per_class in (("train", 3), ("test", 1)):
        fine = np.repeat(np.arange(100), per_class)
        batch = {
            b"data": rng.integers(0, 256, size=(fine.size, 3072), dtype=np.uint8),
            b"fine_labels": fine.tolist(),
            b"coarse_labels": (fine // 5).tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    names = [f"fine{c}".encode() for c in range(100)]
    (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": names, b"coarse_label_names": []}, protocol=2))
    loaded = load_dataset(DatasetSpec("cifar100", imbalance=3, val_fraction=0.0), data_root=str(tmp_path))
    assert loaded.num_classes == 100 and loaded.class_names[42] == "fine42"
    assert loaded.class_counts[0] == 3 and loaded.class_counts[-1] == 1
    assert len(loaded.test) == 100


def test_missing_cifar_folder_says_what_was_expected_where(tmp_path):
    with pytest.raises(
        InputError, match=r"cifar-10-batches-py/data_batch_1 \(the Python version of CIFAR-10.*no such file"
    ):
        load_dataset(DatasetSpec("cifar10"), data_root=str(tmp_path))
    with pytest.raises(InputError, match="pass data_root"):
        load_dataset(DatasetSpec("cifar100"))
    with pytest.raises(InputError, match="not a directory"):
        load_dataset(DatasetSpec("cifar10"), data_root=str(tmp_path / "nowhere"))


def test_malformed_cifar_batches_are_refused(tmp_path):
    _write_cifar10(tmp_path)
    batch_path = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch_path.write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="data_batch_3 to be a pickle"):
        load_dataset(DatasetSpec("cifar10", imbalance=5), data_root=str(tmp_path))
    batch_path.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(InputError, match=r"\(N, 3072\) uint8"):
        load_dataset(DatasetSpec("cifar10", imbalance=5), data_root=str(tmp_path))
    batch_path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [0, 1]}))
    with pytest.raises(InputError, match="b'labels'"):
        load_dataset(DatasetSpec("cifar10", imbalance=5), data_root=str(tmp_path))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    _write_cifar10(tmp_path)

    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({b"data": Payload(), b"labels": []}))
    with pytest.raises(InputError, match="refusing to load builtins.print"):
        load_dataset(DatasetSpec("cifar10", imbalance=5), data_root=str(tmp_path))


# -- image folders ------------------------------------------------------------------------------------
def _write_imagefolder(root, train_per_class=(5, 3, 1), val_per_class=1, test_per_class=2, prefix="ImageNet_LT"):
    """Images of solid colours (class c has red = 40 c) in class folders, plus the three split lists."""
    lines = {"train": [], "val": [], "test": []}
    for split, per_class in (("train", train_per_class), ("val", [val_per_class] * 3), ("test", [test_per_class] * 3)):
        for class_id, count in enumerate(per_class):
            folder = root / split / f"n0{class_id}"
            folder.mkdir(parents=True, exist_ok=True)
            for number in range(count):
                path = folder / f"img {number}.jpg" if number == 0 else folder / f"img_{number}.png"
                size = (20 + 3 * number, 12 + number)  # non-square: exercises resize + centre crop
                Image.new("RGB", size, (40 * class_id, 100, 200)).save(path)
                lines[split].append(f"{path.relative_to(root)} {class_id}")
    for split, entries in lines.items():
        (root / f"{prefix}_{split}.txt").write_text("\n".join(entries) + "\n")


def test_imagefolder_loads_lists_resizes_and_keeps_the_given_long_tail(tmp_path):
    _write_imagefolder(tmp_path)
    loaded = load_dataset(DatasetSpec("imagefolder", options={"image_size": 8}), data_root=str(tmp_path))
    assert loaded.class_counts.tolist() == [5, 3, 1]
    assert loaded.input_shape == (3, 8, 8) and loaded.augment_padding == 1
    assert torch.bincount(loaded.val.y).tolist() == [1, 1, 1]
    assert torch.bincount(loaded.test.y).tolist() == [2, 2, 2]
    # Solid colours survive resizing (JPEG may shift a value by a few levels).
    red = loaded.test.x[:, 0] * 0.229 + 0.485
    assert torch.allclose(red.mean(dim=(1, 2)), 40 * loaded.test.y.float() / 255, atol=4 / 255)


def test_imagefolder_subsample_mode_and_inaturalist_style_lists(tmp_path):
    _write_imagefolder(tmp_path, train_per_class=(6, 6, 6), prefix="iNaturalist18")
    options = {
        "train_list": "iNaturalist18_train.txt",
        "val_list": None,
        "test_list": "iNaturalist18_val.txt",
        "image_size": 8,
        "long_tail": "subsample",
    }
    loaded = load_dataset(
        DatasetSpec("imagefolder", imbalance=5, val_fraction=1 / 6, options=options), data_root=str(tmp_path)
    )
    assert loaded.class_counts.tolist() == [5, 2, 1]
    assert torch.bincount(loaded.val.y).tolist() == [1, 1, 1]
    assert len(loaded.test) == 3


def test_imagefolder_errors_name_the_file_and_the_format(tmp_path):
    with pytest.raises(InputError, match=r"ImageNet_LT_train.txt \(a split list: one 'relative/path.jpg label'"):
        load_dataset(DatasetSpec("imagefolder"), data_root=str(tmp_path))
    _write_imagefolder(tmp_path)
    (tmp_path / "ImageNet_LT_test.txt").write_text("train/n00/img_1.png\n")
    with pytest.raises(InputError, match="line 1 to be 'relative/path.jpg label'"):
        load_dataset(DatasetSpec("imagefolder", options={"image_size": 8}), data_root=str(tmp_path))
    (tmp_path / "ImageNet_LT_test.txt").write_text("missing/picture.jpg 0\n")
    with pytest.raises(InputError, match="missing/picture.jpg"):
        load_dataset(DatasetSpec("imagefolder", options={"image_size": 8}), data_root=str(tmp_path))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    (tmp_path / "ImageNet_LT_test.txt").write_text("broken.jpg 0\n")
    with pytest.raises(InputError, match="broken.jpg to be an image"):
        load_dataset(DatasetSpec("imagefolder", options={"image_size": 8}), data_root=str(tmp_path))

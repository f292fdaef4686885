"""Issue 15: outputs directories (memory-mapped .npy) and chunked per-class statistics.

The chunked path must give the numbers of the in-memory path (1e-10) whatever the chunk size, and an
incomplete or inconsistent outputs directory must be refused in one line (exit 2 from the CLI)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ltbounds.checks import InputError
from ltbounds.cli import main
from ltbounds.outputs import Outputs, load_outputs
from ltbounds.outputs_store import OutputsWriter, open_outputs_dir, save_outputs_dir


def _outputs(counts: np.ndarray, split: str, seed: int, dim: int = 5) -> Outputs:
    """Gaussian class clusters and the linear head at the class means (logits = E W^T + b exactly)."""
    num_classes = counts.shape[0]
    means = np.random.default_rng(7).normal(size=(num_classes, dim))
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(num_classes), counts))
    embeddings = means[labels] + rng.normal(size=(labels.size, dim))
    bias = np.log(COUNTS / COUNTS.sum())
    return Outputs(
        logits=embeddings @ means.T + bias,
        embeddings=embeddings,
        labels=labels,
        head_weight=means,
        head_bias=bias,
        class_counts=counts if split == "train" else COUNTS,
        split=split,
        name="toy",
        method="ce",
    )


COUNTS = np.array([40, 17, 9, 5, 3])  # class 4's 3 samples fit in one chunk of 7 rows


def _splits() -> dict[str, Outputs]:
    return {"train": _outputs(COUNTS, "train", 0), "test": _outputs(np.full(5, 12), "test", 1)}


# ------------------------------------------------------------------------------------------ outputs directory


def test_directory_round_trip_stays_memory_mapped(tmp_path):
    splits = _splits()
    path = save_outputs_dir(tmp_path / "toy", splits, dtype=np.float32)
    loaded = load_outputs(path)
    assert sorted(loaded) == ["test", "train"]
    train = loaded["train"]
    # float32 storage is kept mapped (not converted to an in-memory float64 copy)
    assert isinstance(train.logits, np.memmap) and train.logits.dtype == np.float32
    assert isinstance(train.embeddings, np.memmap) and train.embeddings.dtype == np.float32
    np.testing.assert_allclose(train.logits, splits["train"].logits, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(train.labels, splits["train"].labels)
    # in-memory arrays still become float64 ndarrays, as before
    assert splits["train"].logits.dtype == np.float64 and not isinstance(splits["train"].logits, np.memmap)


def test_outputs_save_to_a_directory_and_float64_storage(tmp_path):
    train = _splits()["train"]
    path = train.save(tmp_path / "single")
    loaded = load_outputs(path)["train"]
    assert loaded.logits.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(loaded.logits), train.logits)


def test_writer_appends_batches(tmp_path):
    train = _splits()["train"]
    writer = OutputsWriter(
        tmp_path / "w",
        class_counts=train.class_counts,
        head_weight=train.head_weight,
        head_bias=train.head_bias,
        splits={"train": train.num_samples},
    )
    with writer:
        for start in range(0, train.num_samples, 11):
            rows = slice(start, start + 11)
            writer.append("train", train.logits[rows], train.embeddings[rows], train.labels[rows])
    loaded = open_outputs_dir(tmp_path / "w")["train"]
    np.testing.assert_allclose(loaded.embeddings, train.embeddings, rtol=1e-6, atol=1e-6)


def test_writer_refuses_missing_rows_and_leaves_nothing(tmp_path):
    train = _splits()["train"]
    with pytest.raises(InputError, match="rows written / declared"):
        with OutputsWriter(
            tmp_path / "w", class_counts=train.class_counts, head_weight=train.head_weight, splits={"train": 10}
        ) as writer:
            writer.append("train", train.logits[:4], train.embeddings[:4], train.labels[:4])
    assert not (tmp_path / "w").exists() and not list(tmp_path.iterdir())


def test_incomplete_directory_is_refused(tmp_path):
    path = save_outputs_dir(tmp_path / "toy", _splits())
    (path / "test" / "embeddings.npy").unlink()
    with pytest.raises(InputError, match="embeddings.npy is missing"):
        load_outputs(path)
    (path / "outputs.json").unlink()
    with pytest.raises(InputError, match="incomplete outputs directory, no outputs.json"):
        load_outputs(path)


def test_shape_disagreement_is_refused(tmp_path):
    path = save_outputs_dir(tmp_path / "toy", _splits())
    np.save(path / "train" / "labels.npy", np.zeros(3, dtype=np.int64))
    with pytest.raises(InputError, match=r"train/labels.npy has shape \(3,\), expected \(74,\)"):
        load_outputs(path)


def test_cli_exit_2_on_an_incomplete_directory(tmp_path, capsys):
    path = save_outputs_dir(tmp_path / "toy", _splits())
    meta = json.loads((path / "outputs.json").read_text())
    meta["splits"]["test"] = 99
    (path / "outputs.json").write_text(json.dumps(meta))
    assert main(["evaluate", str(path), "--out", str(tmp_path / "report"), "--no-plots"]) == 2
    assert "test/logits.npy has shape" in capsys.readouterr().err


def test_non_finite_mapped_values_are_refused(tmp_path):
    path = save_outputs_dir(tmp_path / "toy", _splits())
    logits = np.load(path / "train" / "logits.npy")
    logits[5, 2] = math.nan
    np.save(path / "train" / "logits.npy", logits)
    with pytest.raises(InputError, match="non-finite"):
        load_outputs(path)

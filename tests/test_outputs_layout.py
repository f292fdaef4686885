"""The outputs directory's on-disk layout (ltbounds.outputs_layout) stands below ltbounds.outputs: it reads and
writes plain arrays, and the directory form's public names (ltbounds.outputs_store) are the ones of the modules
that define them (no second copy that could drift)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import ltbounds.outputs as outputs_module
import ltbounds.outputs_layout as layout
import ltbounds.outputs_store as store
from ltbounds.checks import InputError


def test_the_layout_loads_without_outputs():
    # a fresh interpreter: importing the layout must not pull in ltbounds.outputs (that would be the old cycle)
    command = "import sys, ltbounds.outputs_layout; sys.exit('ltbounds.outputs' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", command], timeout=120).returncode == 0


def test_store_names_are_the_defining_modules_objects():
    for name in ("open_outputs_dir", "save_outputs_dir", "export_module", "release_mapped_pages"):
        assert getattr(store, name) is getattr(outputs_module, name), name
    for name in ("OutputsWriter", "check_mapped_matrix", "row_blocks", "block_rows", "read_outputs_dir"):
        assert getattr(store, name) is getattr(layout, name), name
    assert outputs_module.OUTPUTS_FORMAT == layout.OUTPUTS_FORMAT
    assert outputs_module._SPLIT_NAME is layout.SPLIT_NAME


def test_read_outputs_dir_gives_the_written_arrays(tmp_path):
    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(3, 4)), rng.normal(size=3)
    embeddings = rng.normal(size=(5, 4))
    logits = embeddings @ weight.T + bias
    labels = np.array([0, 1, 2, 1, 0])
    with layout.OutputsWriter(
        tmp_path / "out",
        class_counts=[2, 2, 1],
        head_weight=weight,
        head_bias=bias,
        splits={"train": 5},
        dtype=np.float64,
    ) as writer:
        writer.append("train", logits[:2], embeddings[:2], labels[:2])
        writer.append("train", logits[2:], embeddings[2:], labels[2:])
    directory = layout.read_outputs_dir(tmp_path / "out")
    read_logits, read_embeddings, read_labels = directory.splits["train"]
    assert isinstance(read_logits, np.memmap) and isinstance(read_embeddings, np.memmap)
    np.testing.assert_array_equal(read_logits, logits)
    np.testing.assert_array_equal(read_embeddings, embeddings)
    np.testing.assert_array_equal(read_labels, labels)
    np.testing.assert_array_equal(directory.head_weight, weight)
    assert directory.record["splits"] == {"train": 5}
    (tmp_path / "out" / layout.METADATA_FILE).unlink()
    with pytest.raises(InputError, match="incomplete outputs directory"):
        layout.read_outputs_dir(tmp_path / "out")

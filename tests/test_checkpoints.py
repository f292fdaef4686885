"""training.checkpoints: the format, weights_only loading, atomic writes, loud failures."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ltbounds.artifacts import json_safe
from ltbounds.checks import InputError
from training.checkpoints import (
    FORMAT,
    load_checkpoint,
    make_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from training.models import build_model

SPEC = {"name": "mlp", "num_classes": 3, "input_shape": [4], "hidden": [8], "head": "linear"}


def _checkpoint(model):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    return make_checkpoint(
        model_spec=SPEC,
        method={"name": "ce", "hparams": {"tau": np.float64(1.0)}},
        dataset={"name": "gaussian", "imbalance": 10.0, "profile": "exp", "seed": 3, "options": {"dim": 4}},
        class_counts=np.array([9, 3, 1]),
        epoch=2,
        epochs=5,
        metrics={"test_balanced_accuracy": np.float32(0.5), "B_y": np.array([1.0, 2.0, 3.0])},
        state={"model": model.state_dict(), "optimizer": optimizer.state_dict(), "rng": torch.get_rng_state()},
    )


def test_roundtrip_with_weights_only_rebuilds_the_same_model(tmp_path):
    torch.manual_seed(0)
    model = build_model(SPEC).eval()
    path = save_checkpoint(_checkpoint(model), tmp_path / "run" / "last.pt")
    raw = torch.load(path, weights_only=True)  # the contract: no code is unpickled
    assert raw["format"] == FORMAT and raw["format_version"] == 1
    assert set(raw) >= {"model", "method", "dataset", "class_counts", "epoch", "epochs", "metrics", "state", "versions"}
    assert raw["class_counts"] == [9, 3, 1] and raw["dataset"]["seed"] == 3
    assert isinstance(raw["metrics"]["test_balanced_accuracy"], float)
    loaded = load_checkpoint(path)
    rebuilt = model_from_checkpoint(loaded)
    assert not rebuilt.training
    x = torch.randn(7, 4)
    torch.testing.assert_close(rebuilt(x), model(x), rtol=0, atol=0)
    assert os.listdir(tmp_path / "run") == ["last.pt"]  # no temporary file left behind


def test_truncated_file_fails_loudly_naming_the_path(tmp_path):
    torch.manual_seed(0)
    path = save_checkpoint(_checkpoint(build_model(SPEC)), tmp_path / "last.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="last.pt.*corrupt, truncated"):
        load_checkpoint(path)


def test_garbage_and_foreign_files_fail_loudly(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(InputError, match="garbage.pt"):
        load_checkpoint(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    with pytest.raises(InputError, match="foreign.pt.*not an ltbounds checkpoint"):
        load_checkpoint(foreign)
    pickled_code = tmp_path / "code.pt"
    torch.save({"format": FORMAT, "object": np.random.default_rng(0)}, pickled_code)
    with pytest.raises(InputError, match="code.pt"):
        load_checkpoint(pickled_code)
    with pytest.raises(InputError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_wrong_version_and_incomplete_checkpoints_are_refused(tmp_path):
    torch.manual_seed(0)
    checkpoint = _checkpoint(build_model(SPEC))
    newer = dict(checkpoint, format_version=2)
    save_checkpoint(newer, tmp_path / "newer.pt")
    with pytest.raises(InputError, match="format_version 2"):
        load_checkpoint(tmp_path / "newer.pt")
    incomplete = {k: v for k, v in checkpoint.items() if k != "class_counts"}
    save_checkpoint(incomplete, tmp_path / "incomplete.pt")
    with pytest.raises(InputError, match="incomplete.*class_counts"):
        load_checkpoint(tmp_path / "incomplete.pt")


def test_weights_that_do_not_fit_the_spec_are_refused(tmp_path):
    torch.manual_seed(0)
    checkpoint = _checkpoint(build_model(SPEC))
    checkpoint["model"] = dict(SPEC, hidden=[9])
    with pytest.raises(InputError, match="do not fit"):
        model_from_checkpoint(checkpoint)


@given(
    arrays(np.float64, st.integers(0, 5), elements=st.floats(allow_nan=False, allow_infinity=False)),
    st.integers(-(2**40), 2**40),
)
def test_json_safe_turns_numpy_into_python_values(values, integer):
    out = json_safe({"a": values, "b": (np.int64(integer), [np.float32(1.5)]), 3: "x"})
    assert out == {"a": values.tolist(), "b": [integer, [1.5]], "3": "x"}
    assert type(out["b"][0]) is int

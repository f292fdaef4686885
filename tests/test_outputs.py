"""ltbounds.outputs: constructors from modules, the exported file format, and its errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn

from ltbounds.checks import InputError
from ltbounds.outputs import (
    LossParameters,
    Outputs,
    Provenance,
    annotations_from_record,
    load_outputs,
    outputs_from_record,
    save_outputs,
)

finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def model_outputs(draw, splits=("train", "test")):
    """One model's outputs on several splits: shared head, logits E W^T + b, and class counts that
    are those of the train split's labels (every class present there), as ``load_outputs`` checks."""
    classes = draw(st.integers(2, 6))
    dim = draw(st.integers(1, 5))
    weight = draw(arrays(np.float64, (classes, dim), elements=finite))
    bias = draw(arrays(np.float64, classes, elements=finite))
    labels = {}
    for split in splits:
        drawn = draw(arrays(np.int64, draw(st.integers(1, 12)), elements=st.integers(0, classes - 1)))
        labels[split] = np.concatenate([np.arange(classes), drawn]) if split == "train" else drawn
    counts = np.bincount(labels.get("train", np.arange(classes)), minlength=classes)
    per_class = arrays(np.float64, classes, elements=st.floats(0.1, 10.0, width=64))
    loss_parameters = draw(
        st.none()
        | st.builds(
            LossParameters,
            loss=st.none() | st.sampled_from(["vs", "la", "elm"]),
            alpha=st.none() | per_class,
            beta=st.none() | per_class,
            logit_shift=st.none() | arrays(np.float64, classes, elements=finite),
            elm_alpha=st.none() | per_class,
            # NumPy strings drop trailing NULs, so control characters are left out of the reasons drawn
            unknown_reason=st.none() | st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20),
        )
    )
    provenance = draw(st.builds(Provenance, st.booleans(), st.booleans()))
    result = {}
    for split in splits:
        embeddings = draw(arrays(np.float64, (labels[split].size, dim), elements=finite))
        result[split] = Outputs(
            logits=embeddings @ weight.T + bias,
            embeddings=embeddings,
            labels=labels[split],
            head_weight=weight,
            head_bias=bias,
            class_counts=counts,
            split=split,
            name="exported",
            method="vs",
            loss_parameters=loss_parameters,
            provenance=provenance,
        )
    return result


def assert_same_outputs(left: Outputs, right: Outputs) -> None:
    for attribute in ("logits", "embeddings", "labels", "head_weight", "head_bias", "class_counts"):
        np.testing.assert_array_equal(getattr(left, attribute), getattr(right, attribute), err_msg=attribute)
    assert (left.split, left.name, left.method, left.head_kind, left.head_scale) == (
        right.split,
        right.name,
        right.method,
        right.head_kind,
        right.head_scale,
    )
    # typed annotations survive the file bit for bit (floats as float64, strings and flags as written)
    assert left.loss_parameters == right.loss_parameters
    assert left.provenance == right.provenance


@settings(max_examples=25)
@given(outputs=model_outputs(), suffix=st.sampled_from([".npz", ".pt"]))
def test_save_then_load_returns_every_split_bit_for_bit(tmp_path_factory, outputs, suffix):
    path = tmp_path_factory.mktemp("outputs") / f"model{suffix}"
    save_outputs(path, outputs)
    loaded = load_outputs(path)
    assert sorted(loaded) == sorted(outputs)
    for split, item in outputs.items():
        assert_same_outputs(item, loaded[split])


def test_flat_single_split_file_without_logits_computes_them_from_the_linear_head(tmp_path):
    rng = np.random.default_rng(0)
    embeddings, weight, bias = rng.normal(size=(7, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)
    path = tmp_path / "mine.npz"
    np.savez(
        path,
        embeddings=embeddings,
        labels=np.array([0, 1, 2, 3, 0, 1, 2]),
        head_weight=weight,
        head_bias=bias,
        class_counts=np.array([50, 20, 5, 2]),
        split="test",
    )
    loaded = load_outputs(path)
    assert list(loaded) == ["test"]
    np.testing.assert_allclose(loaded["test"].logits, embeddings @ weight.T + bias, rtol=1e-12)
    assert loaded["test"].name == "mine"


def test_corrupt_npz_and_pt_files_raise_input_error_naming_the_file(tmp_path):
    for suffix in (".npz", ".pt"):
        path = tmp_path / f"broken{suffix}"
        path.write_bytes(b"PK\x03\x04 this is not a real archive")
        with pytest.raises(InputError, match="broken"):
            load_outputs(path)


def test_checkpoint_and_foreign_files_are_refused_by_load_outputs(tmp_path):
    checkpoint = tmp_path / "ckpt.pt"
    torch.save({"format": "ltbounds.checkpoint", "format_version": 1}, checkpoint)
    with pytest.raises(InputError, match="checkpoint"):
        load_outputs(checkpoint)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(InputError, match="neither"):
        load_outputs(foreign)


def test_missing_labels_and_mixed_layouts_are_clear_errors():
    base = {"class_counts": np.array([3, 2]), "head_weight": np.eye(2)}
    with pytest.raises(InputError, match="train/labels"):
        outputs_from_record({**base, "train/embeddings": np.zeros((2, 2))})
    with pytest.raises(InputError, match="one layout"):
        outputs_from_record({**base, "embeddings": np.zeros((2, 2)), "test/embeddings": np.zeros((2, 2))})
    with pytest.raises(InputError, match="class_counts"):
        outputs_from_record({"head_weight": np.eye(2), "train/embeddings": np.zeros((2, 2))})


class TinyNet(nn.Module):
    """A model with the documented hook: embed(x) and head."""

    def __init__(self, dim_in: int = 5, dim: int = 4, classes: int = 3) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim_in, dim), nn.BatchNorm1d(dim), nn.ReLU())
        self.head = nn.Linear(dim, classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def test_from_module_matches_the_model_and_does_not_depend_on_batch_size():
    torch.manual_seed(0)
    model = TinyNet().double()
    model.train()
    x = torch.randn(37, 5, dtype=torch.float64)
    labels = torch.randint(0, 3, (37,))
    one = Outputs.from_module(model, x, labels, [20, 10, 2], batch_size=1)
    many = Outputs.from_module(model, x, labels, [20, 10, 2], batch_size=1000)
    assert model.training, "the model's train/eval mode must be restored"
    model.eval()
    with torch.no_grad():
        np.testing.assert_allclose(one.logits, model(x).numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(one.embeddings, model.embed(x).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(one.logits, many.logits, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(one.logits, one.embeddings @ one.head_weight.T + one.head_bias, rtol=1e-9, atol=1e-9)
    assert one.head_kind == "linear" and one.split == "test"


def test_from_module_accepts_float64_numpy_inputs_for_a_float32_model():
    torch.manual_seed(2)
    model = TinyNet().eval()
    x = np.random.default_rng(0).normal(size=(6, 5))
    outputs = Outputs.from_module(model, x, [0, 1, 2, 0, 1, 2], [3, 2, 1], batch_size=4)
    with torch.no_grad():
        np.testing.assert_allclose(outputs.logits, model(torch.as_tensor(x, dtype=torch.float32)).double().numpy())


def test_from_module_with_a_named_feature_layer_hook_reads_the_penultimate_output():
    torch.manual_seed(1)
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(nn.Linear(6, 4), nn.Tanh()))
    model.add_module("fc", nn.Linear(4, 2))
    x = torch.randn(9, 6)
    outputs = Outputs.from_module(model, x, np.zeros(9, dtype=int), [5, 5], features="features", head="fc")
    with torch.no_grad():
        np.testing.assert_allclose(outputs.embeddings, model.features(x).double().numpy(), rtol=1e-6)
        np.testing.assert_allclose(outputs.logits, model(x).double().numpy(), rtol=1e-6)
    np.testing.assert_allclose(outputs.head_weight, model.fc.weight.detach().double().numpy())


def test_from_module_reads_a_cosine_head_as_cosine_with_its_scale():
    class Cosine(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(3, 4))
            self.scale = 16.0
            self.out_features = 3

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.scale * nn.functional.normalize(z, dim=1) @ nn.functional.normalize(self.weight, dim=1).T

    model = TinyNet(dim=4)
    model.head = Cosine()
    outputs = Outputs.from_module(model, torch.randn(8, 5), np.arange(8) % 3, [4, 3, 1])
    assert outputs.head_kind == "cosine" and outputs.head_scale == 16.0
    assert np.all(np.abs(outputs.logits) <= 16.0 + 1e-9)


def test_from_module_without_the_hook_names_the_fix():
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(InputError, match="head"):
        Outputs.from_module(model, torch.randn(4, 3), [0, 1, 0, 1], [2, 2])
    with pytest.raises(InputError, match="features"):
        Outputs.from_module(model, torch.randn(4, 3), [0, 1, 0, 1], [2, 2], head="0")
    with pytest.raises(InputError, match="sub-module"):
        Outputs.from_module(model, torch.randn(4, 3), [0, 1, 0, 1], [2, 2], head="nope")


def _plain_record(**extra) -> dict:
    rng = np.random.default_rng(1)
    embeddings, weight = rng.normal(size=(6, 2)), rng.normal(size=(3, 2))
    return {
        "class_counts": np.array([2, 2, 2]),
        "head_weight": weight,
        "train/embeddings": embeddings,
        "train/labels": np.array([0, 1, 2, 0, 1, 2]),
        **extra,
    }


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_an_older_file_with_metadata_keys_loads_into_typed_loss_parameters_and_provenance(tmp_path, suffix):
    legacy = {
        "loss": "vs",
        "alpha": np.array([1.0, 2.0, 4.0]),
        "beta": np.array([1.0, 0.8, 0.5]),
        "Delta": np.array([0.5, 0.0, -0.5]),  # the older alias of logit_shift
        "elm_alpha": np.array([0.5, 0.3, 0.2]),
        "features_independent_of_train": True,
        "head_fixed_to_simplex_etf": np.bool_(False),
    }
    path = tmp_path / f"old{suffix}"
    if suffix == ".npz":
        np.savez(path, **_plain_record(**legacy))
    else:  # a .pt dict may carry them as one "metadata" dict
        tensors = {key: torch.as_tensor(value) for key, value in _plain_record().items()}
        metadata = {key: value.tolist() if hasattr(value, "tolist") else value for key, value in legacy.items()}
        torch.save({**tensors, "metadata": metadata}, path)
    train = load_outputs(path)["train"]
    assert train.loss_parameters == LossParameters(
        loss="vs", alpha=(1.0, 2.0, 4.0), beta=(1.0, 0.8, 0.5), logit_shift=(0.5, 0.0, -0.5), elm_alpha=(0.5, 0.3, 0.2)
    )
    assert train.provenance == Provenance(features_independent_of_train=True, head_fixed_to_simplex_etf=False)


def test_an_older_unknown_loss_reason_and_a_file_without_annotations():
    missing = outputs_from_record(_plain_record(loss_parameters_missing="method 'x' is unknown"))["train"]
    assert missing.loss_parameters == LossParameters.unknown("method 'x' is unknown")
    plain = outputs_from_record(_plain_record())["train"]
    assert plain.loss_parameters is None and plain.provenance == Provenance()


def test_the_older_metadata_keyword_is_converted_and_never_mixed_with_the_typed_fields():
    plain = outputs_from_record(_plain_record())["train"]  # no typed annotations (the test above)
    converted = replace(plain, metadata={"logit_shift": [0.1, 0.2, 0.3], "head_fixed_to_simplex_etf": True})
    assert converted.loss_parameters == LossParameters(logit_shift=(0.1, 0.2, 0.3))
    assert converted.provenance.head_fixed_to_simplex_etf and not converted.provenance.features_independent_of_train
    with pytest.raises(InputError, match="not both"):
        replace(plain, provenance=Provenance(True), metadata={"alpha": [1.0, 1.0, 1.0]})
    with pytest.raises(InputError, match="given twice"):
        annotations_from_record({"logit_shift": [0.0] * 3, "Delta": [0.0] * 3})
    with pytest.raises(InputError, match="given twice"):
        annotations_from_record({"loss_alpha": [1.0] * 3, "alpha": [1.0] * 3})
    with pytest.raises(InputError, match="loss_parameters must be a LossParameters"):
        replace(plain, loss_parameters={"alpha": [1.0, 1.0, 1.0]})
    with pytest.raises(InputError, match="provenance must be a Provenance"):
        replace(plain, provenance={"features_independent_of_train": True})


@pytest.mark.parametrize("bad", [[1.0, np.nan], [[1.0, 2.0]], [], [1.0, np.inf]])
def test_loss_parameters_must_be_finite_per_class_vectors(bad):
    with pytest.raises(InputError, match="loss_parameters.alpha"):
        LossParameters(alpha=bad)


def test_the_outputs_module_never_imports_training():
    """The checkpoint adapter lives in training.checkpoint_outputs; ltbounds.outputs stays model-agnostic."""
    import ast

    import ltbounds.outputs

    tree = ast.parse(Path(ltbounds.outputs.__file__).read_text())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name == "training" or name.startswith("training.")]


@pytest.mark.parametrize("holder", ["file", "directory"])
def test_one_saved_file_or_directory_holds_one_model(tmp_path, holder):
    from dataclasses import replace

    from ltbounds.outputs import save_outputs_dir
    from ltbounds.strategies import gaussian_outputs

    counts = np.array([5, 3])
    train = gaussian_outputs(counts, counts, "train")
    other_head = replace(gaussian_outputs(counts, 2, "test"), head_bias=train.head_bias + 1.0)
    save = save_outputs if holder == "file" else save_outputs_dir
    with pytest.raises(InputError, match=f"split 'test' has another head.*one {holder} holds one model"):
        save(tmp_path / "outputs", {"train": train, "test": other_head})


@pytest.mark.parametrize("holder", ["file", "directory"])
def test_loading_a_train_split_whose_labels_do_not_count_to_its_class_counts_fails(tmp_path, holder):
    from ltbounds.outputs import open_outputs_dir, save_outputs_dir
    from ltbounds.strategies import gaussian_outputs

    train = gaussian_outputs(np.array([5, 3]), np.array([4, 3]), "train")  # 4 labels of class 0, counts say 5
    save, load = (save_outputs, load_outputs) if holder == "file" else (save_outputs_dir, open_outputs_dir)
    path = save(tmp_path / ("outputs.npz" if holder == "file" else "outputs"), {"train": train})
    expected = r"outputs(\.npz)?: class_counts \[5, 3\] disagree with .* train labels \[4, 3\]"
    with pytest.raises(InputError, match=expected):
        load(path)

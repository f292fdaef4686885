"""training.models: the embedding/head contract, the cosine head, the registry and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ltbounds.checks import InputError
from training.models import MODELS, NormedLinear, build_model, default_model_name

SPECS = [
    {"name": "mlp", "num_classes": 5, "input_shape": [7], "hidden": [16, 8]},
    {"name": "mlp", "num_classes": 3, "input_shape": [1, 8, 8], "head": "normed", "batch_norm": False},
    {"name": "cnn", "num_classes": 4, "input_shape": [1, 28, 28], "channels": [4, 8], "embedding_dim": 12},
    {"name": "cnn", "num_classes": 4, "input_shape": [1, 8, 8], "channels": [4, 8], "embedding_dim": 12},
    {"name": "resnet32", "num_classes": 10, "input_shape": [3, 32, 32]},
    {"name": "resnet32", "num_classes": 10, "input_shape": [3, 32, 32], "head": "normed"},
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s['name']}-{s.get('head', 'linear')}")
def test_forward_is_head_of_embedding(spec):
    torch.manual_seed(0)
    model = build_model(spec).eval()
    x = torch.randn(3, *spec["input_shape"])
    embeddings = model.embed(x)
    assert embeddings.shape == (3, model.embedding_dim)
    logits = model(x)
    assert logits.shape == (3, spec["num_classes"])
    torch.testing.assert_close(logits, model.head(embeddings))
    assert model.head.weight.shape == (spec["num_classes"], model.embedding_dim)
    assert isinstance(model.head, NormedLinear if spec.get("head") == "normed" else torch.nn.Linear)


def test_resnet32_has_the_cifar_resnet32_size():
    model = build_model({"name": "resnet32", "num_classes": 10})
    parameters = sum(p.numel() for p in model.parameters())
    # He et al. report 0.46M parameters for ResNet-32 on CIFAR-10 (option-A shortcuts, no shortcut weights).
    assert 460_000 < parameters < 470_000
    assert model.embedding_dim == 64
    convolutions = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convolutions) + 1 == 32  # 31 conv layers + the linear head


def test_resnet50_embeds_2048_and_has_the_resnet50_size():
    model = build_model({"name": "resnet50", "num_classes": 1000, "input_shape": [3, 64, 64]}).eval()
    parameters = sum(p.numel() for p in model.parameters())
    assert 25_000_000 < parameters < 26_000_000  # torchvision's resnet50: 25.56M
    with torch.no_grad():
        assert model.embed(torch.randn(1, 3, 64, 64)).shape == (1, 2048)


@given(
    arrays(np.float32, (6, 5), elements=st.floats(-1e4, 1e4, width=32)),
    st.floats(0.5, 64.0),
)
def test_normed_head_logits_are_scaled_cosines(embeddings, scale):
    torch.manual_seed(1)
    head = NormedLinear(5, 3, scale=scale)
    z = torch.from_numpy(embeddings).double()
    w = head.weight.detach().double()
    logits = head.double()(z).detach()
    norms = torch.linalg.vector_norm(z, dim=1, keepdim=True)
    expected = scale * (z / norms.clamp_min(1e-12)) @ (w / torch.linalg.vector_norm(w, dim=1, keepdim=True)).T
    torch.testing.assert_close(logits, expected, rtol=1e-9, atol=1e-9)
    assert torch.all(logits.abs() <= scale * (1 + 1e-9))


@settings(max_examples=20)
@given(st.integers(2, 6), st.integers(1, 4))
def test_mlp_embedding_dimension_is_last_hidden_width(num_classes, width):
    model = build_model({"name": "mlp", "num_classes": num_classes, "input_shape": [3], "hidden": [width]})
    assert model.embedding_dim == width
    assert model(torch.zeros(2, 3)).shape == (2, num_classes)


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(InputError, match="valid models: cnn, mlp, resnet32, resnet50"):
        build_model({"name": "vgg", "num_classes": 10})


def test_bad_specs_are_refused_with_the_reason():
    with pytest.raises(InputError, match="num_classes must be >= 2"):
        build_model({"name": "mlp", "num_classes": 1, "input_shape": [2]})
    with pytest.raises(InputError, match="does not accept"):
        build_model({"name": "mlp", "num_classes": 3, "input_shape": [2], "depth": 3})
    with pytest.raises(InputError, match="head must be"):
        build_model({"name": "mlp", "num_classes": 3, "input_shape": [2], "head": "etf"})
    with pytest.raises(InputError, match="image inputs"):
        build_model({"name": "cnn", "num_classes": 3, "input_shape": [16]})
    with pytest.raises(InputError, match="'name' and 'num_classes'"):
        build_model({"name": "mlp"})


def test_default_models_follow_the_papers():
    assert default_model_name("cifar10", (3, 32, 32)) == "resnet32"
    assert default_model_name("cifar100", (3, 32, 32)) == "resnet32"
    assert default_model_name("imagefolder", (3, 224, 224)) == "resnet50"
    assert default_model_name("mnist5k", (1, 28, 28)) == "cnn"
    assert default_model_name("gaussian", (16,)) == "mlp"
    assert set(MODELS) == {"resnet32", "resnet50", "mlp", "cnn"}

"""training.decoupling: NCM, tau-norm, cRT, LWS and post-hoc LA as linear heads on a frozen embedding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ltbounds.checks import InputError
from training.decoupling import TAU_GRID, choose_tau, ncm_head, tau_normalised, train_head

embeddings_and_labels = st.integers(3, 20).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, (n, 3), elements=st.floats(-100, 100) | st.sampled_from([0.0, 1.0])),
        arrays(np.int64, n, elements=st.integers(0, 2)).filter(lambda y: len(set(y.tolist())) == 3),
    )
)


@settings(max_examples=30)
@given(embeddings_and_labels)
def test_ncm_linear_head_is_the_nearest_class_mean(pair):
    z, y = (torch.from_numpy(a) for a in pair)
    weight, bias = ncm_head(z, y, 3)
    means = torch.stack([z[y == c].mean(0) for c in range(3)])
    distances = torch.cdist(z, means) ** 2
    scores = z @ weight.T + bias
    # score_j = -||z - mu_j||^2 + ||z||^2: same ordering, same gaps
    torch.testing.assert_close(scores - scores[:, :1], -(distances - distances[:, :1]), rtol=1e-7, atol=1e-6)


def test_ncm_needs_every_class():
    with pytest.raises(InputError, match="classes \\[2\\] are empty"):
        ncm_head(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]), 3)


@given(
    arrays(np.float64, (4, 3), elements=st.floats(-1e4, 1e4)).filter(lambda w: np.all(np.linalg.norm(w, axis=1) > 1e-3))
)
def test_tau_normalisation_interpolates_between_raw_and_unit_norms(weight):
    w = torch.from_numpy(weight)
    torch.testing.assert_close(tau_normalised(w, 0.0), w)
    torch.testing.assert_close(torch.linalg.vector_norm(tau_normalised(w, 1.0), dim=1), torch.ones(4, dtype=w.dtype))
    half = torch.linalg.vector_norm(tau_normalised(w, 0.5), dim=1)
    torch.testing.assert_close(half, torch.linalg.vector_norm(w, dim=1).sqrt())


def test_tau_is_chosen_on_validation_over_zero_to_two():
    assert TAU_GRID[0] == 0.0 and TAU_GRID[-1] == 2.0 and len(TAU_GRID) == 21
    # A head whose head-class weight is 10x longer: raw logits always say class 0; tau >= 1 fixes it.
    weight = torch.tensor([[10.0, 0.0], [0.0, 1.0]])
    z = torch.tensor([[1.0, 0.2], [0.3, 1.0], [0.9, 0.1], [0.2, 0.8]])
    y = torch.tensor([0, 1, 0, 1])
    tau, table = choose_tau(weight, z, y, 2)
    assert [t for t, _ in table] == list(TAU_GRID)
    best = max(accuracy for _, accuracy in table)
    assert dict(table)[0.0] == 0.5 and best == 1.0
    assert tau == min(t for t, accuracy in table if accuracy == best) > 0
    with pytest.raises(InputError, match="validation split, which is empty"):
        choose_tau(weight, z[:0], y[:0], 2)


@settings(max_examples=5)
@given(st.integers(0, 3))
def test_crt_and_lws_learn_a_balanced_head_on_separable_features(seed):
    generator = torch.Generator().manual_seed(seed)
    counts = [200, 20, 4]
    y = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    centres = torch.eye(3) * 4
    z = centres[y] + 0.3 * torch.randn(len(y), 3, generator=generator)
    weight, bias = train_head(z, y, 3, epochs=5, lr=0.1, batch_size=32, seed=seed)
    predictions = (z @ weight.T + bias).argmax(1)
    assert all(bool((predictions[y == c] == c).float().mean() > 0.9) for c in range(3))
    # LWS keeps each class direction and only rescales it
    start = (torch.randn(3, 3, generator=generator), torch.zeros(3))
    scaled, _ = train_head(z, y, 3, epochs=2, lr=0.05, batch_size=32, seed=seed, init=start, scales_only=True)
    cosine = torch.nn.functional.cosine_similarity(scaled, start[0], dim=1)
    assert torch.allclose(cosine.abs(), torch.ones(3), atol=1e-6)


def test_la_posthoc_and_stages_through_the_loop():
    from training.config import TrainConfig
    from training.data import DatasetSpec, load_dataset
    from training.loop import train

    options = {"classes": 3, "dim": 4, "pool_per_class": 40, "test_per_class": 20}
    data = load_dataset(DatasetSpec("gaussian", imbalance=10, options=options))
    config = dict(dataset="gaussian", epochs=2, batch_size=16, progress=False, model_options={"hidden": [8]})
    ce = train(TrainConfig(method="ce", **config), data=data).model
    adjusted = train(TrainConfig(method="la_posthoc", **config), data=data).model
    priors = torch.as_tensor(data.class_counts / data.class_counts.sum(), dtype=torch.float32)
    torch.testing.assert_close(adjusted.head.bias, ce.head.bias - torch.log(priors))
    torch.testing.assert_close(adjusted.head.weight, ce.head.weight)
    tau = train(TrainConfig(method="tau_norm", **config), data=data)
    info = tau.metrics[-1]["stage_info"]
    assert info["tau"] in TAU_GRID and len(info["val_balanced_accuracy_by_tau"]) == 21


def test_weight_rescaling_stages_refuse_a_cosine_head():
    from training.decoupling import _require_linear
    from training.models import NormedLinear

    with pytest.raises(InputError, match="LWS needs a linear head"):
        _require_linear(NormedLinear(2, 2), "LWS")

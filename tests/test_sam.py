"""training.sam: the SAM ascent/restore step and BatchNorm statistics during the second pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from training.sam import SAM, frozen_batch_norm_statistics

vectors = arrays(np.float64, 4, elements=st.floats(-1e3, 1e3)).filter(lambda v: np.linalg.norm(v) > 1e-3)


@given(vectors, st.just(0.0) | st.floats(1e-3, 2.0))
def test_ascent_moves_by_rho_along_the_gradient_and_restore_returns_exactly(start, rho):
    w = torch.nn.Parameter(torch.tensor(start))
    (0.5 * (w**2).sum()).backward()  # gradient = w
    sam = SAM([w], rho=rho)
    before = w.detach().clone()
    sam.ascend()
    moved = w.detach() - before
    assert torch.isclose(torch.linalg.vector_norm(moved), torch.tensor(rho, dtype=torch.float64), atol=1e-9)
    if rho > 0:
        torch.testing.assert_close(moved / rho, before / torch.linalg.vector_norm(before))
    sam.restore()
    torch.testing.assert_close(w.detach(), before, rtol=0, atol=1e-9)


@settings(max_examples=30)
@given(vectors, st.floats(0.01, 1.0))
def test_sam_gradient_is_taken_at_the_perturbed_point(start, rho):
    # L(w) = 0.5 w^T A w: grad at w + e is A (w + e), e = rho * A w / ||A w||.
    a = torch.diag(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64))
    w = torch.nn.Parameter(torch.tensor(start))
    loss = lambda: 0.5 * w @ a @ w  # noqa: E731
    loss().backward()
    g = w.grad.detach().clone()
    sam = SAM([w], rho=rho)
    sam.ascend()
    w.grad = None
    loss().backward()
    sam.restore()
    expected = a @ (torch.tensor(start) + rho * g / torch.linalg.vector_norm(g))
    torch.testing.assert_close(w.grad, expected, rtol=1e-9, atol=1e-9)


def test_sam_with_zero_radius_is_the_base_optimiser_step():
    torch.manual_seed(0)
    x, y = torch.randn(16, 3), torch.randint(0, 2, (16,))
    models = [torch.nn.Linear(3, 2) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    for index, model in enumerate(models):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sam = SAM(model.parameters(), rho=0.0) if index == 1 else None
        for _ in range(3):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            if sam is not None:
                sam.ascend()
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                sam.restore()
            optimizer.step()
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_second_pass_does_not_touch_batch_norm_running_statistics():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).train()
    x = torch.randn(8, 3) * 5 + 2
    model(x)
    mean, var = model[1].running_mean.clone(), model[1].running_var.clone()
    with frozen_batch_norm_statistics(model):
        model(x + 10)
    torch.testing.assert_close(model[1].running_mean, mean, rtol=0, atol=0)
    torch.testing.assert_close(model[1].running_var, var, rtol=0, atol=0)
    assert model[1].momentum == 0.1  # restored
    model(x + 10)
    assert not torch.equal(model[1].running_mean, mean)


def test_negative_radius_is_refused():

    with pytest.raises(ValueError, match="rho must be >= 0"):
        SAM([torch.nn.Parameter(torch.zeros(1))], rho=-0.1)

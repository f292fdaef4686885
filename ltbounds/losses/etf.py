"""A fixed simplex-ETF classifier and the dot-regression loss [tutorial, "The special constant classifier
geometry"; Yang et al. 2022]."""

from __future__ import annotations

from typing import Any

import torch

from ltbounds.checks import InputError, check_positive
from ltbounds.losses.inputs import check_embeddings, check_label_tensor, reduce


def etf_classifier(
    num_classes: int,
    dim: int,
    energy: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Simplex equiangular tight frame, returned as classifier weights (K, d) whose rows are the columns
    of sqrt(E_W) M with M = sqrt(K/(K-1)) U (I_K - 1_K 1_K^T / K) [tutorial]: U (d, K) has orthonormal
    columns (random, from ``generator``), so w_k^T w_k' = E_W (K/(K-1) delta_kk' - 1/(K-1)). Needs d >= K."""
    if int(num_classes) < 2:
        raise InputError(f"num_classes must be >= 2, got {num_classes!r}")
    if int(dim) < int(num_classes):
        raise InputError(f"dim must be >= num_classes for this ETF construction, got dim={dim}, K={num_classes}")
    energy = check_positive(energy, "energy")
    k, d = int(num_classes), int(dim)
    gaussian = torch.randn(d, k, generator=generator, dtype=dtype)
    u, _ = torch.linalg.qr(gaussian)  # (d, K) orthonormal columns
    centring = torch.eye(k, dtype=dtype) - torch.full((k, k), 1.0 / k, dtype=dtype)
    m = (k / (k - 1)) ** 0.5 * u @ centring
    return (energy**0.5) * m.T


def dot_regression_loss(
    embeddings: Any, labels: Any, classifier: Any, energy_w: float = 1.0, energy_h: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """Dot-regression loss L_DR(h, W*) = (w_c^T h - sqrt(E_W E_H))^2 / (2 sqrt(E_W E_H)) [tutorial], with
    ``classifier`` the fixed ETF weights (K, d) and c the label. Its gradient is (w_c^T h - sqrt(E_W E_H))
    w_c / sqrt(E_W E_H); tutorial prints -(1 - cos(h, w_c)) w_c, which equals it only when ||w_c||^2 = E_W and
    ||h||^2 = E_H (features normalised to energy E_H), as tested."""
    embeddings = check_embeddings(embeddings)
    weights = check_embeddings(classifier, name="classifier")
    if weights.shape[1] != embeddings.shape[1]:
        raise InputError(f"classifier has dimension {weights.shape[1]}, embeddings {embeddings.shape[1]}")
    labels = check_label_tensor(labels, weights.shape[0], embeddings.shape[0])
    target = (check_positive(energy_w, "energy_w") * check_positive(energy_h, "energy_h")) ** 0.5
    projection = (weights.to(embeddings.dtype)[labels] * embeddings).sum(dim=1)
    return reduce((projection - target) ** 2 / (2.0 * target), reduction)

"""drolt (Samuel and Chechik 2021; docs/papers.md): the KL radius (10), Theorem 1 (eqs. 11, 16-17), the
NLL loss (8), the robust loss (18) and the standard error of a class centroid (Sec. 6).

Model of the paper (eq. 6): the normalised likelihood of a sample z of class c given a centroid mu is
P(z | mu) = exp(-d(mu, z)) / sum_{z' in Z} exp(-d(mu, z')), Z all embeddings (z included).
Theorem 1 bounds -log P(z | mu_c) for the unknown true centroid mu_c from the empirical centroid
hat mu_c, provided mu_c lies in the uncertainty ball of radius r_c around hat mu_c.

Radius convention here: ``radius`` r_c is always a Euclidean distance, r_c >= ||mu_c - hat mu_c||.
For d = squared Euclidean we read the printed theorem with every d squared, including the ball
d(mu_c, hat mu_c) <= eps_c, so its eps_c = r_c^2. All arrays float64; distances to the C centroids
are one (N, C) matrix. Pure functions of arrays: the statements that evaluate them on a checkpoint
are declared in ``ltbounds.statements.drolt``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from ltbounds.bounds.elm import logsumexp
from ltbounds.checks import InputError, check_delta, check_finite, check_labels, check_matrix
from ltbounds.per_class import class_means, class_scatter, class_sizes

__all__ = [
    "DroLtTheorem1",
    "centroid_distances",
    "centroid_standard_error",
    "drolt_centroid_radius",
    "drolt_kl_radius",
    "drolt_nll",
    "drolt_nll_from_distances",
    "drolt_nll_loss",
    "drolt_robust_loss",
    "dro_lt_theorem1",
    "dro_lt_theorem1_from_distances",
    "gaussian_kl",
    "kl_same_variance_gaussians",
]

METRICS = ("euclidean", "squared_euclidean")
Theorem1Form = Literal["as_printed", "corrected"]
THEOREM1_FORMS: tuple[str, ...] = get_args(Theorem1Form)


def kl_same_variance_gaussians(mu_q: Any, mu_p: Any, sigma: float) -> float:
    """drolt, the step before eq. (10):

    D_KL(N(mu_q, sigma^2 I) || N(mu_p, sigma^2 I)) = ||mu_q - mu_p||^2 / (2 sigma^2).

    sigma is the standard deviation (the paper calls sigma_c a "variance" in Theorem 1; the formula
    needs the standard deviation). Units: nats.
    """
    q = check_finite(np.asarray(mu_q, dtype=np.float64), "mu_q").reshape(-1)
    p = check_finite(np.asarray(mu_p, dtype=np.float64), "mu_p").reshape(-1)
    if q.shape != p.shape:
        raise InputError(f"mu_q and mu_p must have the same dimension, got {q.shape} and {p.shape}")
    if not (math.isfinite(float(sigma)) and float(sigma) > 0):
        raise InputError(f"sigma must be a finite standard deviation > 0, got {sigma!r}")
    return float(np.sum((q - p) ** 2) / (2.0 * float(sigma) ** 2))


def gaussian_kl(mu_1: Any, cov_1: Any, mu_2: Any, cov_2: Any) -> float:
    """The general Gaussian KL divergence D_KL(N(mu_1, S_1) || N(mu_2, S_2)) =

    1/2 [tr(S_2^-1 S_1) + (mu_2 - mu_1)^T S_2^-1 (mu_2 - mu_1) - k + ln det S_2 - ln det S_1].

    Used to check drolt eq. (10)'s closed form independently. Covariances must be symmetric positive
    definite. Units: nats.
    """
    m1 = check_finite(np.asarray(mu_1, dtype=np.float64), "mu_1").reshape(-1)
    m2 = check_finite(np.asarray(mu_2, dtype=np.float64), "mu_2").reshape(-1)
    s1 = check_matrix(cov_1, "cov_1", rows=m1.shape[0], columns=m1.shape[0])
    s2 = check_matrix(cov_2, "cov_2", rows=m1.shape[0], columns=m1.shape[0])
    try:
        l2 = np.linalg.cholesky(s2)
        np.linalg.cholesky(s1)
    except np.linalg.LinAlgError as error:
        raise InputError("cov_1 and cov_2 must be symmetric positive definite") from error
    inverse = np.linalg.inv(s2)
    diff = m2 - m1
    _, logdet1 = np.linalg.slogdet(s1)
    logdet2 = 2.0 * np.sum(np.log(np.diag(l2)))
    return float(0.5 * (np.trace(inverse @ s1) + diff @ inverse @ diff - m1.shape[0] + logdet2 - logdet1))


def drolt_kl_radius(epsilon: Any, sigma: Any) -> np.ndarray:
    """drolt, eq. (10): D_KL <= eps_c  <=>  ||mu_q - hat mu_c|| <= sigma_c sqrt(2 eps_c) (the centroid radius).

    epsilon: KL budget(s) >= 0 (nats); sigma: standard deviation(s) > 0. Broadcasts.
    """
    eps = check_finite(np.asarray(epsilon, dtype=np.float64), "epsilon")
    sig = check_finite(np.asarray(sigma, dtype=np.float64), "sigma")
    if np.any(eps < 0):
        raise InputError("epsilon must be >= 0 (a KL divergence budget)")
    if np.any(sig <= 0):
        raise InputError("sigma must be > 0 (a standard deviation)")
    return sig * np.sqrt(2.0 * eps)


def drolt_centroid_radius(class_sizes: Any, max_norm: float, delta: float) -> np.ndarray:
    """A radius r_c with P(||mu_c - hat mu_c|| <= r_c for every class c) >= 1 - delta, for ||z|| <= R:

    r_c = R / sqrt(n_c) * (1 + sqrt(2 ln(C / delta))).

    Proof: E||hat mu - mu|| <= sqrt(E||z - mu||^2 / n) <= R / sqrt(n) (Jensen); ||hat mu - mu|| has
    bounded differences 2R/n, so McDiarmid (1989) adds R sqrt(2 ln(1/delta')/n); union over C classes
    at delta' = delta/C. This turns drolt Theorem 1's "with probability p(eps)" into p(eps) >= 1 - delta.
    """
    delta = check_delta(delta)
    sizes = check_finite(np.asarray(class_sizes, dtype=np.float64), "class_sizes").reshape(-1)
    if sizes.size == 0 or np.any(sizes < 1):
        raise InputError("class_sizes must hold at least 1 sample per class")
    if not (math.isfinite(float(max_norm)) and float(max_norm) >= 0):
        raise InputError(f"max_norm must be a finite bound >= 0 on ||z||, got {max_norm!r}")
    return float(max_norm) / np.sqrt(sizes) * (1.0 + math.sqrt(2.0 * math.log(sizes.shape[0] / delta)))


def _inputs(embeddings: Any, labels: Any, centroids: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu = check_matrix(centroids, "centroids")
    z = check_matrix(embeddings, "embeddings", columns=mu.shape[1])
    y = check_labels(labels, mu.shape[0], "labels", length=z.shape[0])
    if z.shape[0] == 0:
        raise InputError("embeddings is empty: Z needs at least one sample")
    return z, y, mu


def centroid_distances(embeddings: Any, centroids: Any) -> np.ndarray:
    """(N, C) Euclidean distances ||z_i - mu_c|| between the N embeddings and the C centroids, computed
    once and shared by the metrics and forms of drolt eq. (6) and Theorem 1."""
    mu = check_matrix(centroids, "centroids")
    z = check_matrix(embeddings, "embeddings", columns=mu.shape[1])
    return np.sqrt(squared_centroid_distances(z, mu, np.einsum("ij,ij->i", mu, mu)))


def squared_centroid_distances(z: np.ndarray, mu: np.ndarray, mu_squared_norms: np.ndarray) -> np.ndarray:
    """``centroid_distances`` squared, max(||z||^2 + ||mu_c||^2 - 2 z . mu_c, 0), on checked float64 inputs
    with ||mu_c||^2 given: for row chunks of one split against fixed centroids, which are checked once, not
    once per chunk (a (C, d) scan per chunk was most of drolt's time at 8,142 classes)."""
    sq = (-2.0 * z) @ mu.T  # scaling by -2 is exact, and costs (rows, d) instead of (rows, C)
    sq += mu_squared_norms[None, :]
    sq += np.einsum("ij,ij->i", z, z)[:, None]
    return np.maximum(sq, 0.0, out=sq)


def _metric(distance: np.ndarray, metric: str) -> np.ndarray:
    if metric == "euclidean":
        return distance
    if metric == "squared_euclidean":
        return distance**2
    raise InputError(f"metric must be one of {METRICS}, got {metric!r}")


def drolt_nll(embeddings: Any, labels: Any, centroids: Any, metric: str = "euclidean") -> np.ndarray:
    """drolt, eq. (6): per-sample -log P(z | mu_c) = d(mu_c, z) + log sum_{z' in Z} exp(-d(mu_c, z')).

    c is the label of z; Z is every row of ``embeddings``. Units: nats.
    """
    z, y, mu = _inputs(embeddings, labels, centroids)
    return drolt_nll_from_distances(centroid_distances(z, mu), y, metric)


def drolt_nll_from_distances(distance: np.ndarray, labels: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """``drolt_nll`` from the (N, C) Euclidean distances of ``centroid_distances`` (labels already checked)."""
    d = _metric(distance, metric)
    return d[np.arange(labels.shape[0]), labels] + logsumexp(-d, axis=0)[labels]


@dataclass(frozen=True)
class DroLtTheorem1:
    """Per-sample right side of drolt Theorem 1 (the bound on -log P(z | mu_c)) and its class means."""

    bound: np.ndarray  # (N,)
    class_bound: np.ndarray  # (C,) mean over the samples of each class (nan when empty)
    radius: np.ndarray  # (C,) Euclidean radius r_c
    metric: str
    form: Theorem1Form


def dro_lt_theorem1(
    embeddings: Any,
    labels: Any,
    centroids: Any,
    radius: Any,
    metric: str = "euclidean",
    form: Theorem1Form = "as_printed",
) -> DroLtTheorem1:
    """drolt, Theorem 1: a bound on -log P(z | mu_c) valid for every mu_c with ||mu_c - hat mu_c|| <= r_c.

    centroids = hat mu (C, K); radius r_c (Euclidean, scalar or per class). With d the metric and
    eps_c = r_c (Euclidean) or r_c^2 (squared Euclidean, the literal reading):

    as_printed (eq. 11/17):  d(hat mu_c, z) + 2 eps_c + log sum_{z'} exp(-d(hat mu_c, z') - 2 eps_c [z' in class c])
    corrected, Euclidean:    d(hat mu_c, z) + 2 r_c   + log sum_{z'} exp(-d(hat mu_c, z'))
        (what the triangle inequalities (14)-(15) prove: numerator and *every* denominator term move by r_c)
    corrected, squared:      (D_z + r_c)^2 + log sum_{z'} exp(-[D_z' - r_c]_+^2),   D = ||hat mu_c - .||
        (the triangle inequality on D, then squaring the monotone bounds)

    The printed denominator lowers the same-class terms by 2 eps_c; that is not implied by (15) and
    is false for either metric (the errata store a counterexample). Units: nats.
    """
    z, y, mu = _inputs(embeddings, labels, centroids)
    return dro_lt_theorem1_from_distances(centroid_distances(z, mu), y, radius, metric, form)


def dro_lt_theorem1_from_distances(
    distance: np.ndarray, labels: np.ndarray, radius: Any, metric: str = "euclidean", form: Theorem1Form = "as_printed"
) -> DroLtTheorem1:
    """``dro_lt_theorem1`` from the (N, C) Euclidean distances to hat mu of ``centroid_distances``
    (labels already checked against C)."""
    if form not in THEOREM1_FORMS:
        raise InputError(f"form must be 'as_printed' or 'corrected', got {form!r}")
    if metric not in METRICS:
        raise InputError(f"metric must be one of {METRICS}, got {metric!r}")
    num_classes = distance.shape[1]
    r = check_finite(np.asarray(radius, dtype=np.float64), "radius").reshape(-1)
    if r.size == 1:
        r = np.full(num_classes, float(r[0]))
    if r.shape[0] != num_classes or np.any(r < 0):
        raise InputError(f"radius must be >= 0, a scalar or one value per class ({num_classes})")
    y = labels
    rows = np.arange(y.shape[0])
    if form == "as_printed":
        d = _metric(distance, metric)
        eps = r if metric == "euclidean" else r**2
        same_class = y[:, None] == np.arange(num_classes)[None, :]
        denominator = logsumexp(-d - 2.0 * eps[None, :] * same_class, axis=0)
        bound = d[rows, y] + 2.0 * eps[y] + denominator[y]
    elif metric == "euclidean":
        bound = distance[rows, y] + 2.0 * r[y] + logsumexp(-distance, axis=0)[y]
    else:
        shrunk = np.maximum(distance - r[None, :], 0.0) ** 2
        bound = (distance[rows, y] + r[y]) ** 2 + logsumexp(-shrunk, axis=0)[y]
    return DroLtTheorem1(bound, class_means(bound, y, num_classes), r, metric, form)


def _class_weights(y: np.ndarray, num_classes: int, weights: Any) -> np.ndarray:
    counts = class_sizes(y, num_classes)
    if weights is None:
        # w(c) = 1/|S_c|, the paper's choice (Sec. 5.2); empty classes contribute nothing
        return 1.0 / np.maximum(counts, 1)
    w = check_finite(np.asarray(weights, dtype=np.float64), "weights").reshape(-1)
    if w.shape[0] != num_classes or np.any(w < 0):
        raise InputError(f"weights must hold one value >= 0 per class ({num_classes}), got {w.tolist()[:10]}")
    return w


def drolt_nll_loss(
    embeddings: Any, labels: Any, centroids: Any, weights: Any = None, metric: str = "euclidean"
) -> float:
    """drolt, eq. (8): L_NLL = sum_c w(c) sum_{z in S_c} -log P(z | mu_c); default w(c) = 1/|S_c| (equal class
    weight). ``centroids`` are the centroids the likelihood (6) uses (the true mu_c in Theorem 1). Units: nats.
    """
    z, y, mu = _inputs(embeddings, labels, centroids)
    w = _class_weights(y, mu.shape[0], weights)
    return float(np.sum(w[y] * drolt_nll_from_distances(centroid_distances(z, mu), y, metric)))


def drolt_robust_loss(
    embeddings: Any,
    labels: Any,
    centroids: Any,
    radius: Any,
    weights: Any = None,
    metric: str = "euclidean",
    form: Theorem1Form = "as_printed",
) -> float:
    """drolt, eq. (18): L_Robust = sum_c w(c) sum_{z in S_c} (Theorem 1's bound at z), from the empirical centroids.

    ``form`` "as_printed" is eq. (18) itself; "corrected" sums the corrected per-sample bound of Theorem 1
    (``dro_lt_theorem1``), which makes L_Robust >= L_NLL (8) whenever every true centroid lies within
    ``radius`` of its empirical one (a non-negative weighted sum of per-sample inequalities). Units: nats.
    """
    z, y, mu = _inputs(embeddings, labels, centroids)
    w = _class_weights(y, mu.shape[0], weights)
    return float(np.sum(w[y] * dro_lt_theorem1(z, y, mu, radius, metric, form).bound))


def centroid_standard_error(embeddings: Any, labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Plug-in standard error of each class centroid, sqrt(tr Sigma^_c / n_c) (NaN for classes with < 2 samples).

    The corrected reading of drolt, Sec. 6 ('the standard error of the mean decays as 1/sqrt(n)'): for n iid
    vectors with covariance Sigma, E ||mean - mu||^2 = tr Sigma / n. Sigma^_c is the unbiased covariance,
    tr Sigma^_c = n_c tr C^_c / (n_c - 1) with tr C^_c the scatter of ``ltbounds.per_class.class_scatter``;
    so the standard error is sqrt(tr C^_c / (n_c - 1)). Units: those of the embeddings.
    """
    z = check_matrix(embeddings, "embeddings")
    c = int(np.max(labels)) + 1 if num_classes is None else int(num_classes)
    y = check_labels(labels, c, "labels", length=z.shape[0])
    scatter, _ = class_scatter(z, y, c)
    sizes = class_sizes(y, c)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sizes >= 2, np.sqrt(scatter / (sizes - 1.0)), np.nan)

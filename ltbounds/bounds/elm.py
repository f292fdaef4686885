"""elm (Jitkrittum et al. 2022, docs/papers.md): the pull regulariser, Proposition 1, Lemmas 3-5 and the
claims of Sections 2-4; Proposition 2 and its loss range are in ``ltbounds.bounds.elm_risk_bound``.

Notation of the paper: S_y the samples of class y (n_y = |S_y|), Phi(x) the embedding, alpha_y the
pull margin, hat V the *empirical* variance with divisor n_y (App. C.1 defines it so; Ĉ_y likewise),
P(y) the class prior (we use the training priors pi_y = class_counts / N). Everything is float64.

Pairwise work (Omega_pull) is done per class on centred embeddings in row chunks, so a class of
50,000 embeddings never materialises an n_y x n_y matrix; per-class statistics use ``ltbounds.per_class``
(no Python loop over samples).

Multi-class reading used for Lemmas 4-5 and Prop. 2 (the paper states them for binary y = +-1):
the logit-adjusted loss is ell(y, f) = -log softmax(f + log pi)_y = log(1 + exp(-m_y)) with the
one-vs-rest log-odds m_y = (f_y + log pi_y) - logsumexp_{y' != y}(f_y' + log pi_y'). For two classes
(labels 0 <-> -1, 1 <-> +1) m_y = y (f + Delta) with f = f_1 - f_0 and Delta = log(pi_1 / pi_0),
which is exactly the paper's ell_log(y, f(x) + Delta_y). Derivation of the multi-class Prop. 2:
docs/elm_prop2_multiclass.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import softmax

from ltbounds.checks import InputError, check_delta, check_finite, check_labels, check_matrix
from ltbounds.per_class import class_members, class_scatter, class_sizes

__all__ = [
    "ElmProp1",
    "PullTerms",
    "VarianceComparison",
    "binary_la_minimiser",
    "class_statistics",
    "class_weighted_gap",
    "elm_dro_regulariser",
    "elm_gaussian_posterior",
    "elm_gaussian_softmax_printed",
    "elm_lemma3_as_printed",
    "elm_lemma4",
    "elm_lemma5",
    "elm_prop1",
    "elm_prop1_expanded",
    "elm_pull",
    "gaussian_posterior_from_products",
    "gaussian_posterior_from_squared_distances",
    "gaussian_squared_distances",
    "gaussian_softmax_printed_from_products",
    "isotropic_gaussian_nll",
    "isotropic_gaussian_nll_of_squares",
    "logit_adjusted_loss",
    "margin_loss_sandwich",
    "one_vs_rest_log_odds",
    "pairwise_variance_identity",
    "zero_one_risks",
]

# Rows x columns of one block of pairwise distances (32 MiB of float64).
_BLOCK_ELEMENTS = 4_000_000


def logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    """log sum exp along ``axis`` (max-shifted; rows of -inf give -inf). 15x faster than scipy's on (N, C)."""
    largest = np.max(values, axis=axis, keepdims=True)
    largest = np.where(np.isfinite(largest), largest, 0.0)
    shifted = values - largest
    with np.errstate(divide="ignore"):
        total = np.log(np.sum(np.exp(shifted, out=shifted), axis=axis, keepdims=True)) + largest
    return np.squeeze(total, axis=axis)


# ---------------------------------------------------------------------------------------------
# validation and per-class statistics


def _embeddings_labels(embeddings: Any, labels: Any, num_classes: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    z = check_matrix(embeddings, "embeddings")
    raw = np.asarray(labels.detach().cpu().numpy() if hasattr(labels, "detach") else labels)
    if num_classes is None:
        if raw.size == 0:
            raise InputError("labels is empty: pass at least one sample per class")
        num_classes = int(np.max(raw)) + 1
    y = check_labels(raw, num_classes, "labels", length=z.shape[0])
    return z, y, num_classes


def per_class_alpha(alpha: Any, num_classes: int) -> np.ndarray:
    """The pull margins alpha_y as one float64 per class (a scalar is the same margin for every class)."""
    values = check_finite(np.asarray(alpha, dtype=np.float64), "alpha")
    if values.ndim == 0:
        return np.full(num_classes, float(values))
    values = values.reshape(-1)
    if values.shape[0] != num_classes:
        raise InputError(f"alpha must be a scalar or one margin per class ({num_classes}), got {values.shape[0]}")
    return values


def require_samples(counts: np.ndarray, minimum: int, statement: str, present_only: bool = False) -> None:
    """Every class (or, with ``present_only``, every class that has samples) has >= ``minimum`` samples."""
    short = np.flatnonzero((counts < minimum) & ((counts > 0) | (not present_only)))
    if short.size:
        raise InputError(
            f"{statement} needs at least {minimum} samples in every class of labels; class(es) "
            f"{short.tolist()[:10]} have {counts[short].tolist()[:10]}"
        )


def class_statistics(embeddings: Any, labels: Any, num_classes: int | None = None) -> dict[str, np.ndarray]:
    """Per-class counts n_y, centroids mu_y and the biased trace tr(Ĉ_y) = (1/n_y) sum_{x in S_y} ||Phi(x) - mu_y||^2.

    elm, App. C.1/C.2 notation (Ĉ_y with divisor n_y), computed by ``ltbounds.per_class.class_scatter``
    (two-pass: centre, then square). Classes without samples get count 0, mean 0, trace 0.
    """
    z, y, num_classes = _embeddings_labels(embeddings, labels, num_classes)
    trace, means = class_scatter(z, y, num_classes)
    squared = np.einsum("ij,ij->i", z - means[y], z - means[y])
    empty = class_sizes(y, num_classes) == 0
    trace[empty], means[empty] = 0.0, 0.0
    return {"counts": class_sizes(y, num_classes), "means": means, "trace": trace, "squared_deviation": squared}


# ---------------------------------------------------------------------------------------------
# Omega_pull and its hard version (elm, Section 3.1)


@dataclass(frozen=True)
class PullTerms:
    """Per-sample Omega_pull(x, y) (soft) and Omega~_pull(x, y) (hard), and their class means."""

    soft: np.ndarray  # (n,) log[1 + sum_{x+ in S_y \\ x} exp(||Phi(x) - Phi(x+)||^2 - alpha_y)]
    hard: np.ndarray  # (n,) max_{x+ in S_y \\ x} [||Phi(x) - Phi(x+)||^2 - alpha_y]_+
    class_sizes: np.ndarray  # (C,)
    soft_mean: np.ndarray  # (C,) bar Omega_pull(y) (nan for empty classes)
    hard_mean: np.ndarray  # (C,)
    pairwise_mean: np.ndarray  # (C,) (1/n_y^2) sum_{x, x+ in S_y} ||Phi(x) - Phi(x+)||^2, summed in float64


def pull_terms(z: np.ndarray, y: np.ndarray, alpha: np.ndarray, num_classes: int) -> PullTerms:
    """``elm_pull`` on inputs already checked (float64 (n, K) embeddings, labels in 0..C-1, one alpha per
    class); a class with fewer than 2 samples gets Omega_pull = Omega~_pull = 0 (empty sum, [.]_+ of an
    empty max) instead of an error, so a caller can report the other classes."""
    n = z.shape[0]
    soft = np.zeros(n)
    hard = np.zeros(n)
    pair_sum = np.zeros(num_classes)
    counts = np.bincount(y, minlength=num_classes)
    members = class_members(y, num_classes)
    for c in np.flatnonzero(counts >= 2):
        index = members[c]
        block = z[index]
        # Centring first keeps the Gram-form distances accurate (no large ||x||^2 to cancel).
        block = block - block.mean(axis=0)
        norms = np.einsum("ij,ij->i", block, block)
        size = block.shape[0]
        rows = max(1, _BLOCK_ELEMENTS // size)
        for start in range(0, size, rows):
            stop = min(size, start + rows)
            # ||x||^2 + ||x+||^2 - 2 x . x+, evaluated in that order, in place on two (rows, size) arrays (each
            # fresh array of a large class's block costs page faults as well as a pass: issue 15)
            products = block[start:stop] @ block.T
            products *= 2.0  # exact
            distances = norms[start:stop, None] + norms[None, :]
            np.subtract(distances, products, out=distances)
            np.maximum(distances, 0.0, out=distances)
            local = np.arange(stop - start)
            distances[local, start + local] = 0.0
            pair_sum[c] += distances.sum()
            exponents = np.subtract(distances, alpha[c], out=distances)  # the distances are not read again
            exponents[local, start + local] = -np.inf
            largest = np.maximum(exponents.max(axis=1), 0.0)
            # log(1 + sum e^a) = m + log(e^-m + sum e^(a - m)), m = max(0, max a): no overflow at 1e8.
            exponents -= largest[:, None]
            soft[index[start:stop]] = largest + np.log(np.exp(-largest) + np.exp(exponents, out=exponents).sum(axis=1))
            hard[index[start:stop]] = largest
    with np.errstate(invalid="ignore", divide="ignore"):
        soft_mean = np.bincount(y, weights=soft, minlength=num_classes) / counts
        hard_mean = np.bincount(y, weights=hard, minlength=num_classes) / counts
        pairwise_mean = pair_sum / counts.astype(np.float64) ** 2
    return PullTerms(soft, hard, counts, soft_mean, hard_mean, pairwise_mean)


def elm_pull(embeddings: Any, labels: Any, alpha: Any, num_classes: int | None = None) -> PullTerms:
    """Omega_pull and Omega~_pull per sample (elm, Section 3.1), chunked per class in float64.

    Omega_pull(x, y) = log[1 + sum_{x+ in S_y \\ {x}} exp(||Phi(x) - Phi(x+)||_2^2 - alpha_y)],
    Omega~_pull(x, y) = max_{x+ in S_y \\ {x}} [||Phi(x) - Phi(x+)||_2^2 - alpha_y]_+.
    alpha: scalar or one margin per class (any real). Every class present needs >= 2 samples.
    Memory: one block of at most 4e6 distances at a time, whatever the class size.
    """
    z, y, num_classes = _embeddings_labels(embeddings, labels, num_classes)
    alphas = per_class_alpha(alpha, num_classes)
    counts = np.bincount(y, minlength=num_classes)
    require_samples(counts, 2, "elm_pull (Omega_pull compares each sample with another of its class)", True)
    return pull_terms(z, y, alphas, num_classes)


# ---------------------------------------------------------------------------------------------
# Proposition 1 and the identity of App. C.1


@dataclass(frozen=True)
class ElmProp1:
    """Per-class sides of elm, Proposition 1: left <= right."""

    left: np.ndarray  # 2 n_y/(n_y - 1) sum_j hatV[Phi_j | y] - alpha_y + log(n_y - 1)
    right: np.ndarray  # bar Omega_pull(y)
    variance_sum: np.ndarray  # sum_j hatV[Phi_j | y] = tr(Ĉ_y) (divisor n_y)
    class_sizes: np.ndarray
    alpha: np.ndarray


def prop1_left(trace: np.ndarray, counts: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Left side of Proposition 1 from tr(Ĉ_y) (divisor n_y), n_y and alpha_y; nan/-inf where n_y < 2."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 * counts / (counts - 1.0) * trace - alpha + np.log(counts - 1.0)


def elm_prop1(embeddings: Any, labels: Any, alpha: Any, num_classes: int | None = None) -> ElmProp1:
    """elm, Proposition 1 (proof App. C.1), per class y:

    2 n_y / (n_y - 1) * sum_j hatV[Phi_j(x) | y] - alpha_y + log(n_y - 1) <= bar Omega_pull(y),

    hatV the empirical variance with divisor n_y, as App. C.1 defines it (with divisor n_y - 1 the
    statement is false: see the errata entry). Needs n_y >= 2 in every class; alpha any reals.
    """
    z, y, num_classes = _embeddings_labels(embeddings, labels, num_classes)
    alphas = per_class_alpha(alpha, num_classes)
    stats = class_statistics(z, y, num_classes)
    require_samples(stats["counts"], 2, "elm_prop1 (the variance and log(n_y - 1))")
    pull = pull_terms(z, y, alphas, num_classes)
    left = prop1_left(stats["trace"], stats["counts"], alphas)
    return ElmProp1(left, pull.soft_mean, stats["trace"], stats["counts"], alphas)


def elm_prop1_expanded(
    embeddings: Any, labels: Any, alpha: Any, num_classes: int | None = None, corrected: bool = False
) -> ElmProp1:
    """The expansion printed after elm, Proposition 1 (Section 4.2), per class y:

    as printed:  2 n_y/(n_y - 1) * sum_{x in S_y} ||Phi(x) - mu_y||^2 - alpha_y + log(n_y - 1) <= bar Omega_pull(y)
    corrected:   2/(n_y - 1)     * sum_{x in S_y} ||Phi(x) - mu_y||^2 - alpha_y + log(n_y - 1) <= bar Omega_pull(y)

    mu_y the empirical centroid. The printed form multiplies Prop. 1's left side by n_y (the sum is
    not divided by n_y) and is false; the corrected form equals Prop. 1's left side.
    """
    z, y, num_classes = _embeddings_labels(embeddings, labels, num_classes)
    alphas = per_class_alpha(alpha, num_classes)
    stats = class_statistics(z, y, num_classes)
    require_samples(stats["counts"], 2, "elm_prop1_expanded")
    pull = pull_terms(z, y, alphas, num_classes)
    counts = stats["counts"].astype(np.float64)
    total = stats["trace"] * counts  # sum_x ||Phi(x) - mu_y||^2
    factor = 2.0 / (counts - 1.0) if corrected else 2.0 * counts / (counts - 1.0)
    left = factor * total - alphas + np.log(counts - 1.0)
    return ElmProp1(left, pull.soft_mean, stats["trace"], stats["counts"], alphas)


def pairwise_variance_identity(
    embeddings: Any, labels: Any, num_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Both sides of the identity of elm, App. C.1, per class:

    (1/n_y^2) sum_{x, x+ in S_y} ||Phi(x) - Phi(x+)||^2  =  (2/n_y) sum_{x in S_y} ||Phi(x) - mu_y||^2.

    The left side is summed pairwise (chunked, never n_y x n_y at once); the right from the centroid.
    Needs n_y >= 1.
    """
    z, y, num_classes = _embeddings_labels(embeddings, labels, num_classes)
    stats = class_statistics(z, y, num_classes)
    require_samples(stats["counts"], 1, "pairwise_variance_identity")
    pull = pull_terms(z, y, np.zeros(num_classes), num_classes)
    left = np.where(stats["counts"] >= 2, pull.pairwise_mean, 0.0)
    return left, 2.0 * stats["trace"]


# ---------------------------------------------------------------------------------------------
# Section 4.2: Gaussian class-conditionals and the softmax


def _gaussian_inputs(z: Any, means: Any, variances: Any, priors: Any) -> tuple[np.ndarray, ...]:
    mu = check_matrix(means, "means")
    points = check_matrix(z, "z", columns=mu.shape[1])
    var = check_finite(np.asarray(variances, dtype=np.float64), "variances").reshape(-1)
    if var.size == 1:
        var = np.full(mu.shape[0], float(var[0]))
    prior = check_finite(np.asarray(priors, dtype=np.float64), "priors").reshape(-1)
    if var.shape[0] != mu.shape[0] or prior.shape[0] != mu.shape[0]:
        raise InputError(f"variances and priors need one entry per class ({mu.shape[0]} rows of means)")
    if np.any(var <= 0):
        raise InputError("variances must be > 0 (sigma_y^2 of N(mu_y, sigma_y^2 I))")
    if np.any(prior <= 0):
        raise InputError("priors must be > 0")
    return points, mu, var, prior


def elm_gaussian_posterior(z: Any, means: Any, variances: Any, priors: Any) -> np.ndarray:
    """Exact Bayes posterior P(y | z) for Z | Y=y ~ N(mu_y, sigma_y^2 I_K) and prior P(y):

    log P(y | z) = -K/2 log(2 pi sigma_y^2) - ||z - mu_y||^2 / (2 sigma_y^2) + log P(y) - normaliser.
    """
    points, mu, var, prior = _gaussian_inputs(z, means, variances, priors)
    squares = np.einsum("ij,ij->i", points, points)
    return gaussian_posterior_from_products(
        points @ mu.T, squares, np.einsum("ij,ij->i", mu, mu), var, prior, mu.shape[1]
    )


def elm_gaussian_softmax_printed(z: Any, means: Any, variances: Any, priors: Any) -> np.ndarray:
    """The posterior as printed in elm, Section 4.2.

    P(y | z) = softmax_y(z^T mu_y / sigma_y^2 - ||mu_y||^2 / (2 sigma_y^2) + log P(y)).

    Equal to ``elm_gaussian_posterior`` when all sigma_y are equal (the dropped terms
    -||z||^2/(2 sigma^2) - K log sigma do not depend on y); not otherwise (the errata entry of elm, Section 4.2).
    """
    points, mu, var, prior = _gaussian_inputs(z, means, variances, priors)
    return gaussian_softmax_printed_from_products(points @ mu.T, np.einsum("ij,ij->i", mu, mu), var, prior)


# The two posteriors from the products z_i . mu_y, so that one (n, K) @ (K, C) GEMM serves both, for any
# number of variance choices (ltbounds.statements.elm.gaussian_softmax_rows: per-class and pooled sigma).


def gaussian_posterior_from_products(
    products: np.ndarray,
    point_squares: np.ndarray,
    mean_squares: np.ndarray,
    variances: np.ndarray,
    priors: np.ndarray,
    dim: int,
) -> np.ndarray:
    """``elm_gaussian_posterior`` on checked float64 inputs: products[i, y] = z_i . mu_y, point_squares[i] =
    ||z_i||^2, mean_squares[y] = ||mu_y||^2, variances[y] = sigma_y^2, priors[y] = P(y), dim = K:

    log P(y | z) = -K/2 log(2 pi sigma_y^2) - ||z - mu_y||^2 / (2 sigma_y^2) + log P(y) - normaliser,
    ||z - mu_y||^2 = ||z||^2 + ||mu_y||^2 - 2 z . mu_y (clamped at 0: rounding can make it negative),

    the Bayes posterior of the Gaussian class-conditionals N(mu_y, sigma_y^2 I_K) of elm, Section 4.2.
    """
    return gaussian_posterior_from_squared_distances(
        gaussian_squared_distances(products, point_squares, mean_squares), variances, priors, dim
    )


def gaussian_squared_distances(products: np.ndarray, point_squares: np.ndarray, mean_squares: np.ndarray) -> np.ndarray:
    """||z_i - mu_y||^2 = ||z_i||^2 + ||mu_y||^2 - 2 z_i . mu_y, clamped at 0 (rounding can make it negative), from
    the products of ``gaussian_posterior_from_products``: computed once for every choice of the variances."""
    return np.maximum(point_squares[:, None] + mean_squares[None, :] - 2.0 * products, 0.0)


def gaussian_posterior_from_squared_distances(
    squared_distances: np.ndarray, variances: np.ndarray, priors: np.ndarray, dim: int
) -> np.ndarray:
    """``gaussian_posterior_from_products`` from ``gaussian_squared_distances``: softmax_y(-K/2 log(2 pi sigma_y^2)
    - ||z - mu_y||^2 / (2 sigma_y^2) + log P(y))."""
    log_joint = (
        -0.5 * dim * np.log(2 * np.pi * variances)[None, :]
        - squared_distances / (2 * variances)[None, :]
        + np.log(priors)
    )
    return softmax(log_joint, axis=1)


def gaussian_softmax_printed_from_products(
    products: np.ndarray, mean_squares: np.ndarray, variances: np.ndarray, priors: np.ndarray
) -> np.ndarray:
    """``elm_gaussian_softmax_printed`` on checked float64 inputs: products[i, y] = z_i . mu_y, mean_squares[y] =
    ||mu_y||^2, variances[y] = sigma_y^2, priors[y] = P(y); elm, Section 4.2, as printed:

    P(y | z) = softmax_y((z . mu_y) / sigma_y^2 - ||mu_y||^2 / (2 sigma_y^2) + log P(y)).
    """
    return softmax(products / variances - mean_squares / (2 * variances) + np.log(priors), axis=1)


# ---------------------------------------------------------------------------------------------
# Lemma 3 (as printed) and the logit-adjusted loss


def elm_lemma3_as_printed(samples: Any, delta: float, upper: float) -> float:
    """elm, Lemma 3 exactly as printed (App. C.2), for Z_1..Z_n in [0, B]:

    E Z <= mean + sqrt( 2 hatV[Z] ln(2/delta) / n  +  7 B ln(2/delta) / (3 (n - 1)) ),

    read literally: the range term *under* the square root, hatV with divisor n (the paper's hatV).
    Maurer and Pontil's Theorem 4 (``empirical_bernstein``) has the range term outside the root and
    divisor n - 1; the literal form is false (``ltbounds errata``, stored counterexample).
    """
    delta = check_delta(delta)
    values = check_finite(samples, "samples").astype(np.float64).reshape(-1)
    n = values.shape[0]
    if n < 2:
        raise InputError(f"Lemma 3 needs at least 2 samples (it divides by n - 1), got {n}")
    if not (math.isfinite(float(upper)) and float(upper) > 0):
        raise InputError(f"upper must be a finite positive number (Z in [0, upper]), got {upper!r}")
    if values.min() < 0 or values.max() > float(upper) * (1 + 1e-12):
        raise InputError(f"samples must lie in [0, upper] = [0, {float(upper):g}]; raise upper to the range of Z")
    log_term = math.log(2.0 / delta)
    inside = 2.0 * float(np.var(values)) * log_term / n + 7.0 * float(upper) * log_term / (3.0 * (n - 1))
    return float(values.mean() + math.sqrt(inside))


def logit_adjusted_loss(logits: Any, labels: Any, adjustment: Any | None = None) -> np.ndarray:
    """Per-sample ell(y, f) = -log softmax(f + adjustment)_y = log[1 + sum_{y' != y} e^{Delta_yy' + f_y' - f_y}].

    elm, eq. (3) with Delta_yy' = adjustment_y' - adjustment_y; adjustment = log pi gives the
    logit-adjusted loss, None the plain cross-entropy. Float64, stable for logits ~1e4.
    """
    f = check_matrix(logits, "logits")
    y = check_labels(labels, f.shape[1], "labels", length=f.shape[0])
    if adjustment is not None:
        shift = check_finite(np.asarray(adjustment, dtype=np.float64), "adjustment").reshape(-1)
        if shift.shape[0] != f.shape[1]:
            raise InputError(f"adjustment needs one entry per class ({f.shape[1]}), got {shift.shape[0]}")
        f = f + shift
    return logsumexp(f, axis=1) - f[np.arange(f.shape[0]), y]


def one_vs_rest_log_odds(f: np.ndarray, y: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """m_y = f_y - logsumexp_{y' != y} f_y', so that -log softmax(f)_y = log(1 + e^{-m_y}). ``overwrite``: f is
    a scratch array the caller no longer needs (its label entries become -inf), which saves an (n, C) copy."""
    rows = np.arange(f.shape[0])
    target = f[rows, y]  # a copy (fancy indexing), read before ``others`` may overwrite it
    others = f if overwrite else f.copy()
    others[rows, y] = -np.inf
    return target - logsumexp(others, axis=1)


def class_variance(values: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Biased (divisor n_y) variance of ``values`` within each class, two-pass."""
    num_classes = counts.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.bincount(y, weights=values, minlength=num_classes) / counts
        squared = (values - means[y]) ** 2
        return np.bincount(y, weights=squared, minlength=num_classes) / counts


@dataclass(frozen=True)
class VarianceComparison:
    """Per-class sides of a variance inequality left <= right (elm, Lemmas 4-5), variances with divisor n_y."""

    left: np.ndarray
    right: np.ndarray
    class_sizes: np.ndarray
    terms: dict[str, Any] = field(default_factory=dict)


def elm_lemma4(logits: Any, labels: Any, adjustment: Any | None = None) -> VarianceComparison:
    """elm, Lemma 4, on the empirical class-conditional distribution, per class y:

    V_{x|y}[ell_log(y, f(x))] <= V_{x|y}[ell_lin(y, f(x))],  ell_log = log(1 + e^{-m}), ell_lin = -m,

    m = y f(x) in the binary case. Multi-class reading: m = m_y(x), the one-vs-rest log-odds of the
    (adjusted) logits, so ell_log is exactly the softmax cross-entropy and the proof (softplus is
    1-Lipschitz) applies unchanged. Variances with divisor n_y on both sides (any common divisor works).
    """
    f = check_matrix(logits, "logits")
    y = check_labels(labels, f.shape[1], "labels", length=f.shape[0])
    if f.shape[1] < 2:
        raise InputError("logits need at least 2 columns (classes) for Lemma 4")
    if adjustment is not None:
        shift = check_finite(np.asarray(adjustment, dtype=np.float64), "adjustment").reshape(-1)
        if shift.shape[0] != f.shape[1]:
            raise InputError(f"adjustment needs one entry per class ({f.shape[1]}), got {shift.shape[0]}")
        f = f + shift
    counts = np.bincount(y, minlength=f.shape[1])
    m = one_vs_rest_log_odds(f, y)
    loss = np.logaddexp(0.0, -m)
    return VarianceComparison(class_variance(loss, y, counts), class_variance(m, y, counts), counts)


def centred_spectral_norm(head_weight: np.ndarray) -> float:
    """||W - 1 wbar^T||_2: softmax is invariant to a common shift of the logits, so only the centred head matters.

    sigma_max(W_c) = sqrt(lambda_max(G)) with G the smaller Gram matrix (W_c^T W_c, or W_c W_c^T when C < d):
    one GEMM and the largest eigenvalue of a symmetric min(C, d)-square matrix (LAPACK syevr), about a third of
    the time of the full SVD at 8,142 x 2,048. Backward stable: lambda_max errs by O(min(C, d) u) relative, so
    the norm agrees with the SVD's to rounding (3e-15 relative on an iNaturalist-2018-sized head)."""
    from scipy.linalg import eigh

    centred = head_weight - head_weight.mean(axis=0, keepdims=True)
    peak = float(np.max(np.abs(centred))) if centred.size else 0.0
    if peak == 0.0:
        return 0.0
    # divided by a power of two near its largest entry (exact), so that the Gram matrix neither overflows nor
    # underflows whatever the head's scale
    scale = 2.0 ** math.floor(math.log2(peak))
    centred = centred / scale
    gram = centred.T @ centred if centred.shape[0] >= centred.shape[1] else centred @ centred.T
    last = gram.shape[0] - 1
    largest = eigh(gram, eigvals_only=True, subset_by_index=[last, last], check_finite=False)[0]
    return scale * float(np.sqrt(max(float(largest), 0.0)))


def check_head(
    embeddings: Any, labels: Any, head_weight: Any, head_bias: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(z, y, W, b) of a linear head f = W Phi + b, checked: one bias and one label range per row of W."""
    w = check_matrix(head_weight, "head_weight")
    z = check_matrix(embeddings, "embeddings", columns=w.shape[1])
    b = check_finite(np.asarray(head_bias, dtype=np.float64), "head_bias").reshape(-1)
    if b.shape[0] != w.shape[0]:
        raise InputError(f"head_bias needs one entry per class ({w.shape[0]}), got {b.shape[0]}")
    y = check_labels(labels, w.shape[0], "labels", length=z.shape[0])
    return z, y, w, b


def elm_lemma5(
    embeddings: Any, labels: Any, head_weight: Any, head_bias: Any, adjustment: Any | None = None
) -> VarianceComparison:
    """elm, Lemma 5 (binary) and its multi-class form, on the empirical class-conditional distribution:

    V_{x|y}[ell(y, f(x) + Delta_y)] <= L^2 tr(Ĉ_y),  L^2 = 2 ||W - 1 wbar^T||_2^2,

    f = W Phi + b linear. For two classes L^2 = ||w_1 - w_0||^2 = ||w||^2, the printed constant.
    Multi-class: z -> -log softmax(Wz + b + Delta)_y has gradient W^T (p - e_y) = (W - 1 wbar^T)^T (p - e_y)
    and ||p - e_y||_2 <= sqrt(2), so it is sqrt(2) ||W_c||_2-Lipschitz; then V <= E(ell(z) - ell(mu))^2
    <= L^2 E||z - mu||^2 as in the paper's proof. Ĉ_y with divisor n_y, as is the left variance.
    """
    z, y, w, b = check_head(embeddings, labels, head_weight, head_bias)
    logits = z @ w.T + b
    loss = logit_adjusted_loss(logits, y, adjustment)
    stats = class_statistics(z, y, w.shape[0])
    counts = stats["counts"]
    lipschitz_squared = 2.0 * centred_spectral_norm(w) ** 2
    return VarianceComparison(
        class_variance(loss, y, counts),
        lipschitz_squared * stats["trace"],
        counts,
        {"lipschitz_squared": lipschitz_squared, "trace": stats["trace"]},
    )


# ---------------------------------------------------------------------------------------------
# Proposition 2


# ---------------------------------------------------------------------------------------------
# Sections 2-4: the zero-one loss, the margin loss, the centre loss, the remarks after Prop. 2, eq. (5)


def zero_one_risks(logits: Any, labels: Any) -> tuple[float, float]:
    """Sample means of the printed l_01 = 1[y in argmax f] and of the misclassification 1[y not in argmax f].

    elm, Sec. 2.1: the printed indicator is that of a *correct* prediction (ties count as correct), so its
    risk is the accuracy, not the misclassification error the text says (1) coincides with.
    """
    f = check_matrix(logits, "logits")
    y = check_labels(labels, f.shape[1], "labels", length=f.shape[0])
    correct = label_in_argmax(f, y)
    return float(np.mean(correct)), float(np.mean(~correct))


def label_in_argmax(f: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per sample, the printed l_01 of elm Sec. 2.1: 1[y in argmax f] (ties count as correct), checked inputs."""
    return f[np.arange(y.shape[0]), y] >= f.max(axis=1)


def margin_loss_sandwich(logits: Any, labels: Any, margins: Any) -> tuple[np.ndarray, np.ndarray]:
    """(max_{y' != y} [Delta_yy' + f_y' - f_y]_+, l_mar(y, f)) per sample, elm, eq. (3) with a margin matrix.

    l_mar = log[1 + sum_{y' != y} e^{Delta_yy' + f_y' - f_y}] lies in [hinge, hinge + log L]: the 'soft
    approximation' of Sec. 2.2.
    """
    f = check_matrix(logits, "logits")
    y = check_labels(labels, f.shape[1], "labels", length=f.shape[0])
    delta_matrix = check_matrix(margins, "margins", rows=f.shape[1], columns=f.shape[1])
    return margin_loss_sandwich_of_rows(f, y, delta_matrix[y])


def margin_loss_sandwich_of_rows(
    f: np.ndarray, y: np.ndarray, margin_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``margin_loss_sandwich`` on checked inputs, given each sample's row of the margin matrix,
    margin_rows[i, y'] = Delta_{y_i y'}: no (C, C) matrix is needed when Delta has a closed form (ELM's
    log P(y')/P(y) is 0.5 GB as a matrix at C = 8,142)."""
    rows = np.arange(y.shape[0])
    gaps = margin_rows + f - f[rows, y][:, None]
    gaps[rows, y] = -np.inf
    hinge = np.maximum(gaps.max(axis=1), 0.0)
    return hinge, np.logaddexp(0.0, logsumexp(gaps, axis=1))


def isotropic_gaussian_nll(embeddings: Any, mean: Any, variance: float) -> np.ndarray:
    """-log N(z; mu, sigma^2 I) = ||z - mu||^2 / (2 sigma^2) + (K/2) log(2 pi sigma^2), per row."""
    z = check_matrix(embeddings, "embeddings")
    mu = np.asarray(check_finite(mean, "mean"), dtype=np.float64).reshape(-1)
    if mu.shape[0] != z.shape[1] or not (math.isfinite(variance) and variance > 0):
        raise InputError("mean must have one entry per embedding dimension and variance must be > 0")
    return isotropic_gaussian_nll_of_squares(np.sum((z - mu) ** 2, axis=1), z.shape[1], variance)


def isotropic_gaussian_nll_of_squares(squared: np.ndarray, dim: int, variance: float) -> np.ndarray:
    """``isotropic_gaussian_nll`` from ||z - mu||^2 (checked inputs, K = dim): ||z - mu||^2 / (2 sigma^2) +
    (K/2) log(2 pi sigma^2), for a caller that has the squared distances already."""
    return squared / (2.0 * variance) + 0.5 * dim * math.log(2.0 * math.pi * variance)


def class_weighted_gap(losses: Any, labels: Any, priors: Any) -> tuple[float, float]:
    """|(1/N) sum l - sum_y P(y)/|S_y| sum_{S_y} l| and its bound max|l| sum_y | |S_y|/N - P(y) | (elm, after Prop. 2).

    The bound tends to 0 as N -> infinity because |S_y|/N -> P(y) almost surely (strong law of large numbers).
    Classes without samples contribute |P(y)| to the bound and nothing to the weighted sum.
    """
    values = np.asarray(check_finite(losses, "losses"), dtype=np.float64).reshape(-1)
    p = np.asarray(check_finite(priors, "priors"), dtype=np.float64).reshape(-1)
    y = check_labels(labels, p.shape[0], "labels", length=values.shape[0])
    counts = np.bincount(y, minlength=p.shape[0])
    sums = np.bincount(y, weights=values, minlength=p.shape[0])
    present = counts > 0
    weighted = float(np.sum(p[present] / counts[present] * sums[present]))
    gap = abs(float(values.mean()) - weighted)
    bound = float(np.abs(values).max(initial=0.0)) * float(np.sum(np.abs(counts / values.shape[0] - p)))
    return gap, bound


def binary_la_minimiser(eta: float, prior_positive: float) -> float:
    """Minimiser over f of eta l_log(+1, f + Delta) + (1 - eta) l_log(-1, f + Delta), Delta = log(pi_+/pi_-).

    Closed form f* = log(eta/(1 - eta)) - log(pi_+/pi_-): the logistic loss is minimised at f + Delta = the
    log-odds. sign f* = sign(eta/pi_+ - (1 - eta)/pi_-), the balanced Bayes rule (elm, the remark after Prop. 2).
    """
    if not (0.0 < eta < 1.0 and 0.0 < prior_positive < 1.0):
        raise InputError("eta and prior_positive must be in (0, 1)")
    return math.log(eta / (1.0 - eta)) - math.log(prior_positive / (1.0 - prior_positive))


def elm_dro_regulariser(embeddings: Any, labels: Any, centroids: Any, margins: Any) -> np.ndarray:
    """elm, eq. (5), per sample: log sum_{(x', y')} e^{-||Phi(x') - mu_y||^2 + ||Phi(x) - mu_y||^2 + eps_y 1[y' != y]}.

    The sum runs over the whole sample S (x itself included), mu_y is the centroid of the sample's own class y.
    """
    z = check_matrix(embeddings, "embeddings")
    mu = check_matrix(centroids, "centroids", columns=z.shape[1])
    y = check_labels(labels, mu.shape[0], "labels", length=z.shape[0])
    eps = np.asarray(check_finite(margins, "margins"), dtype=np.float64).reshape(-1)
    # (N, C) squared distances by expansion: no (N, C, K) intermediate
    squared = np.maximum(np.sum(z**2, axis=1)[:, None] + np.sum(mu**2, axis=1)[None, :] - 2.0 * z @ mu.T, 0.0)
    own = squared[np.arange(y.shape[0]), y]
    exponent = -squared[:, y].T + own[:, None] + eps[y][:, None] * (y[None, :] != y[:, None])
    return logsumexp(exponent, axis=1)

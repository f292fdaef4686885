"""elm (Jitkrittum et al. 2022, docs/papers.md), Proposition 2 (Section 4.3, proof App. C.2): the
generalisation bound of the logit-adjusted loss through the pull term, as printed (binary) and our
multi-class extension (docs/elm_prop2_multiclass.md), with the loss range B_y of Lemma 3 and the
embedding radius R (a fixed grid, clipping: docs/elm_radius.md).

Notation and the multi-class reading as in ``ltbounds.bounds.elm``; everything is float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ltbounds.bounds.concentration import empirical_bernstein_terms
from ltbounds.bounds.elm import (
    centred_spectral_norm,
    check_head,
    class_statistics,
    class_variance,
    logit_adjusted_loss,
    logsumexp,
    per_class_alpha,
    pull_terms,
    require_samples,
)
from ltbounds.checks import InputError, check_delta, check_finite, check_matrix

__all__ = [
    "ElmProp2",
    "RADIUS_GRID",
    "clip_embeddings",
    "elm_loss_range",
    "elm_prop2",
    "elm_prop2_multiclass",
    "select_radius",
]


# float64 constants of the rounding allowances below (Higham 2002, Section 2.2): the unit roundoff u and the
# smallest subnormal, which bounds the absolute error of a product that underflows.
_ROUNDOFF = 2.0**-53
_SMALLEST_SUBNORMAL = 2.0**-1074
# Rows whose Gram-path B_y is not within this relative width of the truth are recomputed from explicit
# differences (rows with near-duplicate classes of large centred norm; none in the usual case).
_RANGE_RELATIVE_WIDTH = 2.0**-36


def _gamma(n: int) -> float:
    """gamma_n = n u / (1 - n u) (Higham 2002, Lemma 3.1), for float64."""
    if n * _ROUNDOFF >= 0.01:
        raise InputError(f"{n} features is too many for the rounding allowance of elm_loss_range (n u >= 0.01)")
    return n * _ROUNDOFF / (1.0 - n * _ROUNDOFF)


def _gram_distance_bounds(
    centred: np.ndarray, squares: np.ndarray, norm_bounds: np.ndarray, rows: slice, columns: slice
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) on ||w_i - w_j|| for i in ``rows``, j in ``columns``, from one GEMM on the centred head.

    c = fl(W - 1 m^T) for any m (distances are shift-invariant); q_i = fl(||c_i||^2); r_i >= ||c_i||.
    With s = fl(q_i + q_j - 2 fl(c_i . c_j)), the dot-product bound |fl(x . y) - x . y| <= gamma_n |x|.|y|
    (Higham 2002, eq. (3.5), any summation order, FMA included) with Cauchy-Schwarz for the three terms,
    the rounding of the two additions and the absolute error of underflowed products (n * 2^-1074 each):

        ||c_i - c_j||^2 <= s + (gamma_n + 4u) (r_i + r_j)^2 + 16 n 2^-1074        (=: s + A),

    and centring moves each row by at most u/(1-u) ||c_i|| (fl(a - b) = (a - b)(1 + delta), exact when
    subnormal), so ||w_i - w_j|| <= sqrt(max(s + A, 0)) + u/(1-u) (r_i + r_j). The final factor 1 + 16u
    covers the rounding of evaluating this bound (< 6 operations, each a relative u on a value >= 0).
    ``lower`` mirrors it (sqrt(max(s - A, 0)) - ...), for the width check only.
    """
    n = centred.shape[1]
    slack = _gamma(n) + 4 * _ROUNDOFF
    shift = _ROUNDOFF / (1 - _ROUNDOFF)
    pair = norm_bounds[rows, None] + norm_bounds[None, columns]
    allowance = slack * pair * pair + 16 * n * _SMALLEST_SUBNORMAL
    centred_gap = shift * pair
    estimate = squares[rows, None] + squares[None, columns] - 2.0 * (centred[rows] @ centred[columns].T)
    upper = (np.sqrt(np.maximum(estimate + allowance, 0.0)) + centred_gap) * (1 + 16 * _ROUNDOFF)
    lower = np.maximum(np.sqrt(np.maximum(estimate - allowance, 0.0)) - centred_gap, 0.0) * (1 - 16 * _ROUNDOFF)
    return lower, upper


def _explicit_distance_upper(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Upper bound on ||w_j - w_i|| for i in ``rows``, all j, from the explicit differences (block, C, d).

    d^ = fl(||fl(w_j - w_i)||) satisfies ||w_j - w_i|| <= (d^ / (1 - u) + sqrt(n 2^-1074)) / ((1 - u) sqrt(1 - gamma_n))
    (standard model, Higham 2002 Section 2.2, and the dot-product bound (3.5) for the sum of squares); the
    factor 1 + gamma_n + 8u covers it and the rounding of applying it.
    """
    n = w.shape[1]
    explicit = np.linalg.norm(w[None, :, :] - w[rows, None, :], axis=2)
    return (explicit + 2 * math.sqrt(n * _SMALLEST_SUBNORMAL)) * (1 + _gamma(n) + 8 * _ROUNDOFF)


def _range_from_distances(distances: np.ndarray, radius: float, shift: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """log(1 + sum_{y' != y} exp(R d_yy' + shift_y' - shift_y)) for the rows y in ``rows``, rounded up.

    The float64 evaluation (the gaps, C exponentials and their sum, two logarithms) errs by a few u times
    C + |largest gap| relative to the result (relative, since the result is >= max(largest gap, 0) when the
    largest gap m >= 0, and ~ e^m with relative error ~ u |m| when m < 0; u = 2^-53). It is multiplied by
    1 + 4u (C + 16 + max(-m, 0)), which covers that (an upper bound must not come out an ulp low: 1e-12
    relative at C = 8,142). An underflowed 0 stays 0."""
    gaps = radius * distances + shift[None, :] - shift[rows, None]
    gaps[np.arange(rows.size), rows] = -np.inf
    return _rounded_up_range(logsumexp(gaps, axis=1), gaps.max(axis=1, initial=-np.inf), gaps.shape[1])


def _rounded_up_range(log_sum: np.ndarray, largest: np.ndarray, num_classes: int) -> np.ndarray:
    """log(1 + e^{log_sum}) times 1 + 4u (C + 16 + max(-m, 0)), m = ``largest`` gap: the rounding-up of
    ``_range_from_distances``, also for the streamed log-sum-exp of ``_gram_ranges`` (which adds one rescaling,
    a few u relative, per block of columns, fewer than C: that factor's 4u C covers it with room to spare)."""
    safety = 4 * _ROUNDOFF * (num_classes + 16 + np.maximum(-np.where(np.isfinite(largest), largest, 0.0), 0.0))
    return np.logaddexp(0.0, log_sum) * (1 + safety)


class _StreamedLogSumExp:
    """Per row, log sum_j exp(g_j) over blocks of columns given one at a time (the running maximum m and
    sum_j exp(g_j - m), rescaled when m grows), so no row of C gaps is held whole. Rows of -inf give -inf;
    a nan or +inf gap makes the row's result non-finite."""

    def __init__(self, num_rows: int) -> None:
        self.peak = np.full(num_rows, -np.inf)
        self.total = np.zeros(num_rows)

    def add(self, rows: slice, gaps: np.ndarray) -> None:
        peak = np.maximum(self.peak[rows], gaps.max(axis=1, initial=-np.inf))
        finite = np.where(np.isfinite(peak), peak, 0.0)
        rescaled = self.total[rows] * np.exp(self.peak[rows] - finite)
        self.total[rows] = rescaled + np.exp(gaps - finite[:, None]).sum(axis=1)
        self.peak[rows] = peak

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(log sum exp, the largest gap) per row."""
        finite = np.where(np.isfinite(self.peak), self.peak, 0.0)
        with np.errstate(divide="ignore"):
            return np.log(self.total) + finite, self.peak


def _gram_ranges(
    centred: np.ndarray, squares: np.ndarray, norm_bounds: np.ndarray, radius: float, shift: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(high, low): ``_range_from_distances`` of the upper and of the lower distance bounds of
    ``_gram_distance_bounds``, for every row, from the upper block triangle of the Gram matrix.

    The bounds on ||w_i - w_j|| are symmetric in (i, j) (q_i + q_j - 2 c_i . c_j and r_i + r_j), so each block
    (I, J), J > I, of one GEMM serves rows I (columns J) and, transposed, rows J (columns I): half the GEMM
    work of the full block rows, and no (C, C) array (each row's log-sum-exp is accumulated over the column
    blocks, ``_StreamedLogSumExp``)."""
    num_classes = centred.shape[0]
    step = 1024  # (step, step) blocks: 8 MiB each
    high, low = _StreamedLogSumExp(num_classes), _StreamedLogSumExp(num_classes)
    for first in range(0, num_classes, step):
        rows = slice(first, min(first + step, num_classes))
        for second in range(first, num_classes, step):
            columns = slice(second, min(second + step, num_classes))
            bounds = _gram_distance_bounds(centred, squares, norm_bounds, rows, columns)
            for distances, streamed in zip(bounds, (low, high), strict=True):
                gaps = radius * distances + shift[None, columns] - shift[rows, None]
                if first == second:
                    np.fill_diagonal(gaps, -np.inf)  # y' != y
                streamed.add(rows, gaps)
                if first != second:
                    streamed.add(columns, radius * distances.T + shift[None, rows] - shift[columns, None])
    return _rounded_up_range(*high.result(), num_classes), _rounded_up_range(*low.result(), num_classes)


def elm_loss_range(head_weight: Any, head_bias: Any, radius: float, adjustment: Any | None = None) -> np.ndarray:
    """B_y >= sup_{||z|| <= R} ell(y, Wz + b + Delta), per class y (the range of Lemma 3's Z):

    B_y = log(1 + sum_{y' != y} exp(R ||w_y' - w_y|| + (b_y' + Delta_y') - (b_y + Delta_y))),

    each logit difference maximised separately over the ball (an upper bound on the joint sup).
    Assumes every embedding, in the population too, has norm <= R.

    The distances come from the Gram matrix of the centred head, ||c_i||^2 + ||c_j||^2 - 2 c_i . c_j (one
    GEMM per block (I, J >= I) of its upper block triangle, serving rows I and, transposed, rows J:
    ``_gram_ranges``; no (block, C, d) arrays of differences, no (C, C) array), rounded *up* by the
    rigorous allowance of ``_gram_distance_bounds`` (the classical dot-product error bound
    |fl(x . y) - x . y| <= gamma_n sum |x_k y_k| <= gamma_n ||x|| ||y||, gamma_n = n u / (1 - n u),
    Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed. 2002, eq. (3.5)), so no distance is
    below the true one because of rounding. Rows whose B_y the allowance could move by more than
    2^-36 relative (near-duplicate classes far from the mean), or whose Gram path overflows, are
    recomputed from explicit differences (also rounded up). The log-sum-exp itself is evaluated in
    floating point (a few ulps, not covered).
    """
    w = check_matrix(head_weight, "head_weight")
    b = check_finite(np.asarray(head_bias, dtype=np.float64), "head_bias").reshape(-1)
    if b.shape[0] != w.shape[0]:
        raise InputError(f"head_bias needs one entry per class ({w.shape[0]}), got {b.shape[0]}")
    if not (math.isfinite(float(radius)) and float(radius) >= 0):
        raise InputError(f"radius must be a finite number >= 0 (a bound on ||Phi(x)||), got {radius!r}")
    shift = b.copy()
    if adjustment is not None:
        shift = shift + check_finite(np.asarray(adjustment, dtype=np.float64), "adjustment").reshape(-1)
    num_classes, n = w.shape
    radius = float(radius)
    gamma = _gamma(n)
    with np.errstate(over="ignore", invalid="ignore"):
        centred = w - w.mean(axis=0)
        squares = np.einsum("ij,ij->i", centred, centred)
        norm_bounds = np.sqrt((squares + n * _SMALLEST_SUBNORMAL) / (1 - gamma))
    with np.errstate(over="ignore", invalid="ignore"):
        ranges, low = _gram_ranges(centred, squares, norm_bounds, radius, shift)
        loose = ~np.isfinite(ranges) | ~(ranges - low <= _RANGE_RELATIVE_WIDTH * ranges)
    for row in np.flatnonzero(loose):
        single = np.array([row])
        ranges[row] = _range_from_distances(_explicit_distance_upper(w, single), radius, shift, single)[0]
    return ranges


# The embedding radius R of the certified forms is a point of this grid, fixed before any data is seen
# (docs/elm_radius.md): powers of two from 2^-10 to 2^40, so rounding up costs at most a factor 2 in R.
RADIUS_GRID: tuple[float, ...] = tuple(2.0**k for k in range(-10, 41))


def clip_embeddings(embeddings: Any, radius: float) -> np.ndarray:
    """Project every embedding onto the ball of radius R: Phi_R(x) = Phi(x) min(1, R / ||Phi(x)||).

    ||Phi_R(x)|| <= R for every x, in the population too (by construction, not by assumption), and the
    projection onto a convex set is 1-Lipschitz, so ||Phi_R(x) - Phi_R(x')|| <= ||Phi(x) - Phi(x')||.
    Lemmas 3-5 and Proposition 2 therefore hold for the clipped model f_R = W Phi_R + b with range
    B_y(R) from ``elm_loss_range`` and no assumption on the tail of ||Phi|| (docs/elm_radius.md).
    """
    z = check_matrix(embeddings, "embeddings")
    if not (math.isfinite(float(radius)) and float(radius) > 0):
        raise InputError(f"radius must be a finite number > 0 (the clipping radius R), got {radius!r}")
    norms = np.sqrt(np.einsum("ij,ij->i", z, z))
    with np.errstate(divide="ignore"):
        scale = np.minimum(1.0, float(radius) / norms)
    return z * scale[:, None]


def select_radius(embeddings: Any, grid: tuple[float, ...] = RADIUS_GRID) -> float:
    """R = the smallest point of ``grid`` >= the largest norm of ``embeddings`` (the largest point if none is).

    Pass embeddings of a sample the bound does NOT use (the evaluators pass the training split and
    certify on the held-out split): R is then fixed with respect to the certifying sample and no
    confidence is spent on choosing it (docs/elm_radius.md). The grid makes R a round number.
    """
    z = check_matrix(embeddings, "embeddings")
    largest = float(np.sqrt(np.einsum("ij,ij->i", z, z)).max()) if z.shape[0] else 0.0
    above = [point for point in grid if point >= largest]
    return float(above[0]) if above else float(grid[-1])


@dataclass(frozen=True)
class ElmProp2:
    """An evaluated Prop. 2 bound: ``value`` bounds the weighted class-conditional risk sum_y weight_y R_y."""

    value: float
    terms: dict[str, float]
    class_weights: np.ndarray
    class_sizes: np.ndarray
    per_class_bound: np.ndarray  # (C,) upper bound on each class-conditional risk (multi-class form), else nan


@dataclass(frozen=True)
class Prop2Inputs:
    """What both forms of Proposition 2 read of a sample and a fixed head, per class: ``_prop2_inputs`` computes it
    from the arrays, ``ltbounds.statements.elm`` from chunked statistics of the clipped model. Float64 throughout."""

    delta: float  # confidence of the risk bound, checked in (0, 1)
    head_weight: np.ndarray  # (C, d) W
    labels: np.ndarray  # (n,) y, int64
    priors: np.ndarray  # (C,) training priors pi_y = P(y)
    alpha: np.ndarray  # (C,) pull margins alpha_y
    counts: np.ndarray  # (C,) n_y, as floats (each >= 2)
    loss: np.ndarray  # (n,) the logit-adjusted loss of each sample, adjustment log pi
    loss_mean: np.ndarray  # (C,) L-hat_y, its mean over each class
    pull_mean: np.ndarray  # (C,) bar Omega_pull(y), the soft pull term's class mean
    radius: float  # R: the embeddings are within R (or clipped to it)
    ranges: np.ndarray  # (C,) B_y of ``elm_loss_range`` at R
    # ||W_c||_2 of ``centred_spectral_norm(head_weight)`` when the caller has it (an SVD of the (C, d) head:
    # seconds at 8,142 x 2,048, the same for every split of a checkpoint); None: computed here
    spectral_norm: float | None = None


def _prop2_inputs(
    embeddings: Any,
    labels: Any,
    head_weight: Any,
    head_bias: Any,
    class_counts: Any,
    delta: float,
    alpha: Any,
    radius: float | None,
    clip: bool = False,
) -> Prop2Inputs:
    delta = check_delta(delta)
    z, y, w, b = check_head(embeddings, labels, head_weight, head_bias)
    if clip:
        if radius is None:
            raise InputError("clip=True needs a radius: pass radius=R (e.g. select_radius(training embeddings))")
        # the clipped model f_R = W Phi_R + b: every quantity below is computed on Phi_R
        z = clip_embeddings(z, radius)
    num_classes = w.shape[0]
    priors_counts = check_finite(np.asarray(class_counts, dtype=np.float64), "class_counts").reshape(-1)
    if priors_counts.shape[0] != num_classes or np.any(priors_counts <= 0):
        raise InputError(f"class_counts must hold {num_classes} positive training counts (one per class)")
    priors = priors_counts / priors_counts.sum()
    alphas = per_class_alpha(alpha, num_classes)
    stats = class_statistics(z, y, num_classes)
    require_samples(stats["counts"], 2, "Proposition 2 (n_y - 1 in the denominator and log(n_y - 1))")
    norms = np.sqrt(np.einsum("ij,ij->i", z, z))
    observed = float(norms.max()) if norms.size else 0.0
    if radius is None:
        radius = observed
    elif float(radius) < observed * (1 - 1e-12):
        raise InputError(
            f"radius {radius!r} is smaller than the largest embedding norm {observed:g}; pass radius >= it"
        )
    adjustment = np.log(priors)
    loss = logit_adjusted_loss(z @ w.T + b, y, adjustment)
    pull = pull_terms(z, y, alphas, num_classes)
    counts = stats["counts"].astype(np.float64)
    return Prop2Inputs(
        delta=delta,
        head_weight=w,
        labels=y,
        priors=priors,
        alpha=alphas,
        counts=counts,
        loss=loss,
        loss_mean=np.bincount(y, weights=loss, minlength=num_classes) / counts,
        pull_mean=pull.soft_mean,
        radius=float(radius),
        ranges=elm_loss_range(w, b, float(radius), adjustment),
    )


def elm_prop2(
    embeddings: Any,
    labels: Any,
    head_weight: Any,
    head_bias: Any,
    class_counts: Any,
    delta: float,
    alpha: Any,
    radius: float | None = None,
    log_factor: float = 2.0,
    clip: bool = False,
) -> ElmProp2:
    """elm, Proposition 2 as printed (binary: class 1 <-> y = +1, class 0 <-> y = -1), for a *fixed* f:

    E_{(x,y)~P} ell_log(y, f(x) + Delta_y) <= 7 B ln(2/delta)/3 * sum_y P(y)/(n_y - 1)
        + sum_y P(y)/n_y sum_{x in S_y} ell_log(y, f(x) + Delta_y)
        + ||w|| sqrt( ln(2/delta) * sum_y P(y)/n_y [bar Omega_pull(y) + alpha_y] ),

    w = w_1 - w_0 and f = w^T Phi + (b_1 - b_0) from a two-row head, Delta_y = log(pi_1/pi_0)
    (so ell_log is the logit-adjusted 2-class softmax loss), P(y) = training priors pi_y,
    B = max_y B_y from ``elm_loss_range`` (embeddings within ``radius``). ``log_factor=4`` gives
    the corrected statement: the proof applies Lemma 3 to each class at delta/2, so its union bound needs
    ln(4/delta), not the printed ln(2/delta).

    Radius: with ``clip=False`` the bound assumes ||Phi(x)|| <= R almost surely (default R = the largest
    norm in this sample, which no sample can confirm: a rare far embedding breaks it, docs/elm_radius.md).
    ``clip=True`` bounds the clipped model f_R = W clip_embeddings(Phi, R) + b instead, with no
    assumption on the tail of ||Phi||; R must then not depend on this sample (``select_radius`` on another).
    """
    data = _prop2_inputs(embeddings, labels, head_weight, head_bias, class_counts, delta, alpha, radius, clip)
    rows = data.head_weight.shape[0]
    if rows != 2:
        raise InputError(f"Proposition 2 as printed is binary: head_weight needs 2 rows, got {rows}")
    priors, counts = data.priors, data.counts
    log_term = math.log(log_factor / data.delta)
    bound_b = float(data.ranges.max())
    w_norm = float(np.linalg.norm(data.head_weight[1] - data.head_weight[0]))
    range_term = 7.0 * bound_b * log_term / 3.0 * float(np.sum(priors / (counts - 1.0)))
    empirical = float(np.sum(priors * data.loss_mean))
    pull_term = w_norm * math.sqrt(log_term * float(np.sum(priors / counts * (data.pull_mean + data.alpha))))
    terms = {
        "range_term": range_term,
        "empirical_risk": empirical,
        "pull_term": pull_term,
        "B": bound_b,
        "w_norm": w_norm,
        "radius": data.radius,
        "log_term": log_term,
    }
    return ElmProp2(range_term + empirical + pull_term, terms, priors, counts.astype(np.int64), np.full(2, np.nan))


def elm_prop2_multiclass(
    embeddings: Any,
    labels: Any,
    head_weight: Any,
    head_bias: Any,
    class_counts: Any,
    delta: float,
    alpha: Any,
    radius: float | None = None,
    weights: Any | None = None,
    clip: bool = False,
) -> ElmProp2:
    """Multi-class Proposition 2 for the logit-adjusted loss (our derivation: docs/elm_prop2_multiclass.md).

    For a fixed linear head f = W Phi + b, with probability >= 1 - delta over the sample (S_y i.i.d.
    from P(x | y) given the counts n_y >= 2), simultaneously for every y (union bound, delta/C each):

    R_y <= L̂_y + sqrt(2 V_y ln(2C/delta) / n_y) + 7 B_y ln(2C/delta) / (3 (n_y - 1))      (Maurer-Pontil Thm 4)
    V_y  = n_y/(n_y - 1) hatV_y <= 2 n_y/(n_y - 1) ||W_c||_2^2 tr(Ĉ_y)                      (Lemma 5, multi-class)
         <= ||W_c||_2^2 (bar Omega_pull(y) + alpha_y - log(n_y - 1))                         (Prop. 1)

    R_y = E_{x|y} ell(y, f(x)), ell the logit-adjusted loss (adjustment log pi), L̂_y its sample
    mean, B_y from ``elm_loss_range``, W_c the row-centred head. ``value`` = sum_y weight_y * bound_y
    bounds sum_y weight_y R_y: weights None = 1/C gives the balanced risk (elm, eq. 2).
    ``terms["value_with_loss_variance"]`` uses the sample variance of the loss itself for V_y
    (Maurer-Pontil directly; tighter, same guarantee).

    ``radius`` and ``clip`` as in ``elm_prop2``: ``clip=True`` (what the multi-class statement's evaluator
    uses) bounds the clipped model's risks E_{x|y} ell(y, W Phi_R(x) + b) with no assumption on ||Phi||.
    """
    data = _prop2_inputs(embeddings, labels, head_weight, head_bias, class_counts, delta, alpha, radius, clip)
    return elm_prop2_multiclass_from_inputs(data, weights)


def elm_prop2_multiclass_from_inputs(data: Prop2Inputs, weights: Any | None = None) -> ElmProp2:
    """``elm_prop2_multiclass`` from its per-class inputs, for callers that computed them in chunks
    (``ltbounds.statements.elm``); ``data.priors`` is not read (the class weights are ``weights``)."""
    num_classes = data.head_weight.shape[0]
    if weights is None:
        class_weights = np.full(num_classes, 1.0 / num_classes)
    else:
        class_weights = check_finite(np.asarray(weights, dtype=np.float64), "weights").reshape(-1)
        if class_weights.shape[0] != num_classes or np.any(class_weights < 0) or not np.isclose(class_weights.sum(), 1):
            raise InputError(f"weights must be {num_classes} non-negative numbers summing to 1")
    counts = data.counts
    spectral = centred_spectral_norm(data.head_weight) if data.spectral_norm is None else data.spectral_norm
    pull_variance = spectral**2 * np.maximum(data.pull_mean + data.alpha - np.log(counts - 1.0), 0.0)
    class_delta = data.delta / num_classes
    via_pull = empirical_bernstein_terms(data.loss_mean, pull_variance, counts, class_delta, data.ranges)
    loss_variance = class_variance(data.loss, data.labels, counts.astype(np.int64)) * counts / (counts - 1.0)
    direct = empirical_bernstein_terms(data.loss_mean, loss_variance, counts, class_delta, data.ranges)
    terms = {
        "empirical_risk": float(np.sum(class_weights * data.loss_mean)),
        "variance_term": float(np.sum(class_weights * via_pull["variance_term"])),
        "range_term": float(np.sum(class_weights * via_pull["range_term"])),
        "value_with_loss_variance": float(np.sum(class_weights * direct["value"])),
        "centred_head_spectral_norm": spectral,
        "max_B": float(data.ranges.max()),
        "radius": data.radius,
        "log_term": math.log(2.0 / class_delta),
    }
    value = float(np.sum(class_weights * via_pull["value"]))
    return ElmProp2(value, terms, class_weights, counts.astype(np.int64), via_pull["value"])

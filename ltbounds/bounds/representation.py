"""The tutorial's representation-side statements (tag ``tutorial``, docs/papers.md), as pure functions of arrays.

How each printed statement was read from the machine-extracted slides (slide titles cited):

- Simplex ETF and dot-regression loss (slides "The special constant classifier geometry", "Simplex
  Equiangular Tight Frame" and "Dot-Regression Loss", Yang et al. 2022):
  ``M = sqrt(K/(K-1)) U (I_K - 1_K 1_K^T / K)`` has ``m_i^T m_j = K/(K-1) delta_ij - 1/(K-1)``;
  ``L_DR(h, W*) = (w_c^T h - sqrt(E_W E_H))^2 / (2 sqrt(E_W E_H))`` has gradient
  ``dL_DR/dh = -(1 - cos(h, w_c)) w_c``. The slide leaves ``U`` undefined (it needs ``U^T U = I_K``)
  and states the gradient without the norm condition it needs (``||w_c|| ||h|| = sqrt(E_W E_H)``).
- Geometric uniform structure (slide "GH: Geometric Harmonization", Definition 3.1 and Theorem 3.4):
  K unit vectors with pairwise inner product C, and the per-sample cross-entropy at uniformity.
- Contrastive learning: the cosine temperature schedule (slide "TS: Temperature Schedules") and BCL's
  memorisation score (slide "BCL: Boosted Contrastive Learning").

The errata verdicts and the evaluators on a checkpoint are declared in ``ltbounds.statements.tutorial``.
All maths is float64 NumPy; ``etf_gram_symbolic`` imports SymPy lazily.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy.special import logsumexp

from ltbounds.checks import InputError, check_finite, check_matrix

__all__ = [
    "bcl_memorization_scores",
    "bcl_moving_average",
    "dot_regression_central_differences",
    "dot_regression_gradient",
    "dot_regression_gradient_printed",
    "dot_regression_loss",
    "etf_gram_deviation",
    "etf_gram_printed",
    "etf_gram_printed_entries",
    "etf_gram_symbolic",
    "gh_uniform_loss",
    "pairwise_cosine_summary",
    "simplex_etf",
    "ts_temperature",
    "uniform_structure",
    "uniform_structure_exists",
]

# ---------------------------------------------------------------------------------------------
# simplex ETF and the dot-regression loss
# ---------------------------------------------------------------------------------------------


def simplex_etf(num_classes: int, dim: int | None = None, rotation: Any = None, seed: int = 0) -> np.ndarray:
    """Simplex ETF ``M = sqrt(K/(K-1)) U (I_K - 1_K 1_K^T / K)`` as a (dim, K) matrix (columns ``m_k``).

    Source: tutorial, slide "Simplex Equiangular Tight Frame" (Yang et al. 2022). ``U`` (dim, K) must have
    orthonormal columns (``U^T U = I_K``, so dim >= K); if not given, a random one is drawn: the first K
    columns of the Householder reflection I - 2 v v^T of a uniformly random unit direction v (``seed``),
    orthonormal by construction in O(dim K) (a QR of a Gaussian matrix is O(dim K^2): minutes and 1.5 GB
    at K = 8,142). Then ``M^T M = K/(K-1) (I_K - 1 1^T / K)``: unit columns, pairwise cosine ``-1/(K-1)``.
    ``U (I_K - 1 1^T / K)`` is computed as U minus its row means (no K x K matrix).
    """
    if int(num_classes) != num_classes or num_classes < 2:
        raise InputError(f"num_classes must be an integer >= 2 for a simplex ETF, got {num_classes!r}")
    k = int(num_classes)
    if rotation is None:
        d = k if dim is None else int(dim)
        if d < k:
            raise InputError(f"dim={d} < num_classes={k}: U with U^T U = I_K needs dim >= K (the slide's construction)")
        direction = np.random.default_rng(seed).standard_normal(d)
        direction /= np.linalg.norm(direction)
        etf = np.outer(direction, direction[:k])
        etf *= -2.0
        etf[np.arange(k), np.arange(k)] += 1.0
    else:
        basis = check_matrix(rotation, "rotation", columns=k)
        if not np.allclose(basis.T @ basis, np.eye(k), atol=1e-10):
            raise InputError("rotation U must have orthonormal columns (U^T U = I_K)")
        etf = basis.copy()
    etf -= etf.mean(axis=1, keepdims=True)  # in place: one (dim, K) array, 0.5 GB at K = 8,142
    etf *= math.sqrt(k / (k - 1))
    return etf


def etf_gram_deviation(columns: np.ndarray, entries: tuple[float, float]) -> float:
    """max_ij |m_i^T m_j - G_ij| for the K columns m_i of ``columns`` (dim, K) and the Gram G with diagonal
    ``entries[0]`` and off-diagonal ``entries[1]`` (``etf_gram_printed_entries``), in blocks of columns
    (memory O(block x K), never a K x K matrix).

    Both the Gram and G are symmetric, so only the upper block triangle (columns ``start:`` of the block
    of rows ``start:stop``) is computed: every entry i <= j is the same dot product m_i^T m_j, at half the
    O(d K^2) flops of the full Gram (15 s at d = K = 8,142). The entry (j, i) the full product also formed
    is m_j^T m_i, equal to m_i^T m_j up to the summation order of BLAS, so the maximum can differ from the
    full product's in the last bits only."""
    k = columns.shape[1]
    diagonal, off_diagonal = entries
    deviation = 0.0
    step = max(1, (1 << 22) // max(k, 1))
    for start in range(0, k, step):
        stop = min(start + step, k)
        block = columns[:, start:stop].T @ columns[:, start:]
        block -= off_diagonal
        own = np.arange(stop - start)  # the diagonal m_i^T m_i sits at column i - start of the block
        block[own, own] -= diagonal - off_diagonal
        deviation = max(deviation, float(block.max()), -float(block.min()))
    return deviation


def etf_gram_printed(num_classes: int) -> np.ndarray:
    """The printed Gram matrix ``m_i^T m_j = K/(K-1) delta_ij - 1/(K-1)`` (K x K). Source: tutorial, ETF slide."""
    if int(num_classes) != num_classes or num_classes < 2:
        raise InputError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    diagonal, off_diagonal = etf_gram_printed_entries(num_classes)
    k = int(num_classes)
    return (diagonal - off_diagonal) * np.eye(k) + off_diagonal


def etf_gram_printed_entries(num_classes: int) -> tuple[float, float]:
    """(m_i^T m_i, m_i^T m_j for i != j) of the printed Gram: (K/(K-1) - 1/(K-1), -1/(K-1)) = (1, -1/(K-1))."""
    if int(num_classes) != num_classes or num_classes < 2:
        raise InputError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    k = int(num_classes)
    return k / (k - 1) - 1.0 / (k - 1), -1.0 / (k - 1)


def _check_dot_regression(features: Any, class_weights: Any, energy_w: float, energy_h: float):
    h = np.atleast_2d(np.asarray(check_finite(features, "features"), dtype=np.float64))
    w = np.atleast_2d(np.asarray(check_finite(class_weights, "class_weights"), dtype=np.float64))
    if h.ndim != 2 or w.shape != h.shape:
        raise InputError(f"features and class_weights must have the same shape (n, d), got {h.shape} and {w.shape}")
    for name, value in (("energy_w", energy_w), ("energy_h", energy_h)):
        if not (math.isfinite(float(value)) and float(value) > 0):
            raise InputError(f"{name} (E_W / E_H) must be positive and finite, got {value!r}")
    return h, w, math.sqrt(float(energy_w) * float(energy_h))


def dot_regression_loss(features: Any, class_weights: Any, energy_w: float, energy_h: float) -> np.ndarray:
    """Dot-regression loss ``L_DR = (w_c^T h - sqrt(E_W E_H))^2 / (2 sqrt(E_W E_H))`` per row.

    Source: tutorial, slide "Dot-Regression Loss" (Yang et al. 2022). ``features`` h (n, d),
    ``class_weights`` w_c (n, d): the fixed ETF column of each sample's class.
    """
    h, w, root = _check_dot_regression(features, class_weights, energy_w, energy_h)
    return _dot_regression_loss(h, w, root)


def _dot_regression_loss(h: np.ndarray, w: np.ndarray, root: float) -> np.ndarray:
    """``dot_regression_loss`` on checked (n, d) arrays, ``root`` = sqrt(E_W E_H)."""
    return (np.einsum("nd,nd->n", w, h) - root) ** 2 / (2.0 * root)


def dot_regression_central_differences(
    features: Any, class_weights: Any, energy_w: float, energy_h: float, step: float
) -> np.ndarray:
    """Central differences ``(L_DR(h + s e_j) - L_DR(h - s e_j)) / (2 s)`` along every coordinate j of each row h
    (``dot_regression_loss``, w_c the rows of ``class_weights``): the gradient up to round-off, L_DR being
    quadratic in h. O(n d^2): 2d evaluations of L_DR on (n, d) arrays.

    The inputs are checked once, and two copies of h are shifted one column at a time (the column put back
    after use) rather than h +- s e_j built afresh for each j: the same evaluations, so the same numbers,
    without 2d (n, d) temporaries and 4d checks of the inputs (5 s -> 1.5 s for 256 x 2,048).
    """
    h, w, root = _check_dot_regression(features, class_weights, energy_w, energy_h)
    if not (math.isfinite(float(step)) and float(step) > 0):
        raise InputError(f"step must be positive and finite, got {step!r}")
    numeric = np.empty_like(h)
    plus, minus = h.copy(), h.copy()
    for j in range(h.shape[1]):
        plus[:, j] += step
        minus[:, j] -= step
        numeric[:, j] = (_dot_regression_loss(plus, w, root) - _dot_regression_loss(minus, w, root)) / (2 * step)
        plus[:, j] = h[:, j]
        minus[:, j] = h[:, j]
    return numeric


def dot_regression_gradient(features: Any, class_weights: Any, energy_w: float, energy_h: float) -> np.ndarray:
    """Exact gradient ``dL_DR/dh = (w_c^T h / sqrt(E_W E_H) - 1) w_c`` (any h): the corrected statement.

    Source: tutorial, slide "Dot-Regression Loss", differentiated (the corrected statement). It equals
    the printed ``-(1 - cos(h, w_c)) w_c`` iff ``||w_c|| ||h|| = sqrt(E_W E_H)`` or ``w_c^T h = 0``.
    """
    h, w, root = _check_dot_regression(features, class_weights, energy_w, energy_h)
    return (np.einsum("nd,nd->n", w, h) / root - 1.0)[:, None] * w


def dot_regression_gradient_printed(features: Any, class_weights: Any, energy_w: float, energy_h: float) -> np.ndarray:
    """The printed gradient ``-(1 - cos(h, w_c)) w_c``. Source: tutorial, slide "Dot-Regression Loss".

    Valid only where ``||w_c|| ||h|| = sqrt(E_W E_H)`` (e.g. ``||w_c||^2 = E_W`` and ``||h||^2 = E_H``)
    or ``h`` is orthogonal to ``w_c``; needs non-zero h and w_c (the cosine).
    """
    h, w, _ = _check_dot_regression(features, class_weights, energy_w, energy_h)
    norms = np.linalg.norm(h, axis=1) * np.linalg.norm(w, axis=1)
    if np.any(norms == 0):
        raise InputError("features and class_weights must be non-zero: the printed gradient uses cos(h, w_c)")
    cosine = np.einsum("nd,nd->n", w, h) / norms
    return -(1.0 - cosine)[:, None] * w


def etf_gram_symbolic(num_classes: int = 3) -> bool:
    """SymPy: ``(I - 11^T/K)^2 = I - 11^T/K``, so ``M^T M = K/(K-1)(I - 11^T/K)`` equals the printed Gram exactly.

    Source: tutorial, ETF slide; exact rational arithmetic for the given K (with U^T U = I_K factored out).
    """
    import sympy as sp

    k = int(num_classes)
    centring = sp.eye(k) - sp.ones(k, k) / k
    gram = sp.Rational(k, k - 1) * centring.T * centring
    printed = sp.Matrix(k, k, lambda i, j: sp.Rational(k, k - 1) * (1 if i == j else 0) - sp.Rational(1, k - 1))
    return sp.simplify(gram - printed) == sp.zeros(k, k)


# ---------------------------------------------------------------------------------------------
# geometric uniform structure (GH)
# ---------------------------------------------------------------------------------------------


def uniform_structure_exists(num_vectors: int, inner_product: float) -> bool:
    """K unit vectors with every pairwise inner product C exist iff -1/(K-1) <= C <= 1 (tutorial, slide 'GH').

    Their Gram (1 - C) I + C 11^T has eigenvalues 1 - C (K-1 times) and 1 + (K-1) C; it is a Gram iff both >= 0.
    """
    k = int(num_vectors)
    if k < 2:
        raise InputError("num_vectors must be >= 2")
    return bool(-1.0 / (k - 1) - 1e-12 <= float(inner_product) <= 1.0 + 1e-12)


def pairwise_cosine_summary(vectors: np.ndarray) -> tuple[float, float, float]:
    """(min, max, mean) of the cosines v_i . v_j / (||v_i|| ||v_j||) over the pairs i != j of the K >= 2
    non-zero rows of ``vectors`` (K, d): all equal iff the normalised rows form a geometric uniform structure.

    The cosine matrix is symmetric, so the pairs i < j hold every value: they are formed a block of rows at
    a time over the upper block triangle only, half the O(K^2 d) flops of the full K x K product, in memory
    O(block x K) instead of that K x K matrix and its off-diagonal copy (1 GB at K = 8,142). The mean is
    2 sum_{i<j} / (K (K-1)), the mean over the off-diagonal entries up to rounding.
    """
    rows = check_matrix(vectors, "vectors")
    k = rows.shape[0]
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    if k < 2 or np.any(norms == 0):
        raise InputError("pairwise cosines need >= 2 rows, all non-zero")
    unit = rows / norms
    smallest, largest, total = math.inf, -math.inf, 0.0
    for block_rows in _row_blocks(k, k):
        start, size = block_rows.start, block_rows.stop - block_rows.start
        block = unit[block_rows] @ unit[start:].T  # columns j >= start: the pairs i < j, and some j <= i
        within = block[:, :size][np.triu_indices(size, 1)]  # i < j among the block's own rows
        beyond = block[:, size:]  # j >= stop > i
        for values in (within, beyond):
            if values.size:
                smallest = min(smallest, float(values.min()))
                largest = max(largest, float(values.max()))
                total += float(values.sum())
    return smallest, largest, 2.0 * total / (k * (k - 1))


def uniform_structure(num_vectors: int, inner_product: float) -> np.ndarray:
    """K unit vectors (rows) in R^K with pairwise inner products C: v_i = a e_i + b 1, a = sqrt(1 - C),
    b = (sqrt(1 + (K - 1) C) - a) / K, the symmetric square root of the Gram (1 - C) I + C 11^T in closed
    form (||v_i||^2 - v_i . v_j = a^2 = 1 - C and v_i . v_j = 2ab + K b^2 = C). O(K^2): an eigen-
    decomposition of the Gram is O(K^3), a minute at K = 8,142."""
    k = int(num_vectors)
    a, b = _uniform_structure_coefficients(k, inner_product)
    return _uniform_structure_rows(k, a, b, slice(0, k))


def _uniform_structure_coefficients(num_vectors: int, inner_product: float) -> tuple[float, float]:
    """(a, b) of ``uniform_structure``'s v_i = a e_i + b 1 (InputError when no such K vectors exist)."""
    k, c = int(num_vectors), float(inner_product)
    if not uniform_structure_exists(k, c):
        raise InputError(f"no {k} unit vectors have pairwise inner product {c}: need -1/(K-1) <= C <= 1")
    a = math.sqrt(max(1.0 - c, 0.0))
    return a, (math.sqrt(max(1.0 + (k - 1) * c, 0.0)) - a) / k


def _uniform_structure_rows(num_vectors: int, a: float, b: float, rows: slice) -> np.ndarray:
    """The rows ``rows`` of V = a I + b 11^T (K columns): b everywhere, a + b on the diagonal."""
    block = np.full((rows.stop - rows.start, num_vectors), b)
    block[np.arange(rows.stop - rows.start), np.arange(rows.start, rows.stop)] += a
    return block


def _uniform_structure_gram_rows(num_vectors: int, a: float, b: float, rows: slice) -> np.ndarray:
    """The rows ``rows`` of V V^T for V = a I + b 11^T, from the rows of V and the structure of V^T.

    V is symmetric, so V^T = a I + b 11^T and V[rows] V^T = a V[rows] + b (V[rows] 1) 1^T: the same
    entries v_i . v_j as the dense product V[rows] @ V.T (which sums K products per entry, O(K^3) in all:
    about 10 s at K = 8,142) up to rounding, in O(K) per row.
    """
    block = _uniform_structure_rows(num_vectors, a, b, rows)
    sums = block.sum(axis=1)  # V[rows] 1
    block *= a
    block += (b * sums)[:, None]
    return block


def _row_blocks(num_rows: int, width: int) -> Iterator[slice]:
    """Slices of rows so that a (rows, width) float64 block holds about 2^22 entries (32 MB)."""
    step = max(1, (1 << 22) // max(width, 1))
    return (slice(start, min(start + step, num_rows)) for start in range(0, num_rows, step))


def uniform_structure_gram_gap(num_vectors: int, inner_product: float) -> float:
    """max |V V^T - ((1 - C) I + C 11^T)| over every entry for V = ``uniform_structure(K, C)``.

    Built a block of rows at a time (memory O(block x K): neither V nor V V^T is held whole), each block of
    V V^T as a V[rows] + b (V[rows] 1) 1^T (``_uniform_structure_gram_rows``: V is symmetric with the closed
    form a I + b 11^T), O(K^2) in all instead of the dense product's O(K^3).
    """
    k, c = int(num_vectors), float(inner_product)
    a, b = _uniform_structure_coefficients(k, c)
    gap = 0.0
    for rows in _row_blocks(k, k):
        block = _uniform_structure_gram_rows(k, a, b, rows)
        block -= c
        block[np.arange(block.shape[0]), np.arange(rows.start, rows.stop)] -= 1.0 - c
        gap = max(gap, float(block.max()), -float(block.min()))
    return gap


def gh_uniform_loss(num_vectors: int, inner_product: float) -> tuple[float, float]:
    """Per-sample GH cross-entropy at category-level uniformity: (computed, printed).

    A feature equal to its prototype M_y scores the prototypes by M_y^T M_k (1 for k = y, C otherwise), so
    -log softmax_y = log(1 + (K-1) e^{C-1}), the printed -log(1 / (1 + (K-1) exp(C-1))) of Theorem 3.4 (5).
    ``computed`` is the mean over the K prototypes M_y = v_y of ``uniform_structure(K, C)`` of the cross-entropy
    of the scores v_y . v_k, formed a block of rows at a time by ``_uniform_structure_gram_rows`` (O(K^2)).
    """
    k = int(num_vectors)
    a, b = _uniform_structure_coefficients(k, inner_product)
    losses = []
    for rows in _row_blocks(k, k):  # the (K, K) scores a block of rows at a time
        scores = _uniform_structure_gram_rows(k, a, b, rows)
        losses.append(logsumexp(scores, axis=1) - scores[np.arange(scores.shape[0]), np.arange(rows.start, rows.stop)])
    computed = float(np.mean(np.concatenate(losses)))
    printed = -math.log(1.0 / (1.0 + (num_vectors - 1) * math.exp(inner_product - 1.0)))
    return computed, printed


# ---------------------------------------------------------------------------------------------
# contrastive learning: temperature schedule (TS) and memorisation score (BCL)
# ---------------------------------------------------------------------------------------------


def ts_temperature(t: Any, period: float, tau_low: float, tau_high: float) -> np.ndarray:
    """tau_cos(t) = (tau_+ - tau_-) (1 + cos(2 pi t / T)) / 2 + tau_- (tutorial, slide 'TS: Temperature Schedules')."""
    steps = np.asarray(check_finite(t, "t"), dtype=np.float64)
    if not (period > 0 and 0 < tau_low <= tau_high):
        raise InputError("need period T > 0 and 0 < tau_- <= tau_+")
    return (tau_high - tau_low) * (1.0 + np.cos(2.0 * np.pi * steps / period)) / 2.0 + tau_low


def bcl_memorization_scores(losses: Any) -> np.ndarray:
    """BCL's M_i = (1/2) ((L_i - mean L) / max_j |L_j - mean L| + 1) (tutorial, slide 'BCL'), in [0, 1].

    Undefined (0/0) when all losses are equal: InputError (the slide's extra assumption).
    """
    values = np.asarray(check_finite(losses, "losses"), dtype=np.float64).reshape(-1)
    deviation = values - values.mean()
    spread = float(np.max(np.abs(deviation), initial=0.0))
    # equal losses leave only rounding noise in the deviation (the mean of equal floats need not equal them)
    if spread <= 1e-12 * max(1.0, abs(float(values.mean()))):
        raise InputError("losses are all equal: BCL's memorization score is 0/0 (needs two different losses)")
    return 0.5 * (deviation / spread + 1.0)


def bcl_moving_average(losses: Any, beta: float) -> np.ndarray:
    """L^m_{i,t} = beta L^m_{i,t-1} + (1 - beta) L_{i,t}, L^m_{i,0} = L_{i,0}: rows = epochs (tutorial, slide 'BCL')."""
    history = check_matrix(losses, "losses")
    if not 0.0 <= beta <= 1.0:
        raise InputError(f"beta must be in [0, 1], got {beta!r}")
    averaged = history.copy()
    for t in range(1, history.shape[0]):
        averaged[t] = beta * averaged[t - 1] + (1 - beta) * history[t]
    return averaged

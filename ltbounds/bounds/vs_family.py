"""The VS loss family of wang23 (Wang et al., NeurIPS 2023; docs/papers.md): the loss (eq. 3), its gradient,
its bound M, the local Lipschitz constants of Lemma 4 (eq. 15), the special cases of Sec. 2.1, the Fisher
family (eq. 4) and the insights (In3) and (In4-a) of Sec. 3.2.

Pure functions of arrays (float64 NumPy, vectorised per class); every function raises ``InputError``
naming the argument on bad input. The bounds that use these constants are in ``ltbounds.bounds.wang23``.

    vs_local_lipschitz(logits, labels, class_counts=None, *, alpha=None, beta=None, logit_shift=None,
                       reading="corrected") -> LocalLipschitz (``.mu`` per class)
        wang23, Lemma 4, eq. (15), as printed or corrected (see ``vs_lipschitz_constants``).

How the Lemma 4 expression is read. "softmax(beta_y B_y(f) + Delta_y)" applies softmax to a scalar,
which is identically 1 and would give mu_y = 0. The only reading that yields a number determined by f
(as a Lipschitz constant must be) is the y-th entry of the softmax of the C-vector whose k-th entry is
beta_k B_k(f) + Delta_k, with B_k(f) = min_{x in S_k} f(x)_k, the minimal target logit of class k (our
``reading="as_printed"``). It is false: at a sample of class y the *other* logits f(x)_k are not
bounded by B_k(f), and the gradient norm there exceeds mu_y (counterexample stored in the errata).
The corrected constant (``reading="corrected"``) uses, for class y, the box b_y <= f(x)_y and
f(x)_k <= a_y (k != y) over x in S_y, with b_y = B_y(f) and a_y = A_y(f) := max_{x in S_y, k != y} f(x)_k
(the quantity of Remark 2): mu_y = alpha_y beta~_y (1 - q_y), q_y = e^{beta_y b_y + Delta_y} /
(e^{beta_y b_y + Delta_y} + sum_{k != y} e^{beta_k a_y + Delta_k}). It is a Lipschitz constant on the whole
box (which is convex), hence for every f whose training logits lie in it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from ltbounds.checks import InputError, check_class_counts, check_finite, check_labels, check_matrix
from ltbounds.per_class import logit_extremes

__all__ = [
    "LocalLipschitz",
    "beta_tilde",
    "beta_tilde_discordant_pairs",
    "beta_tilde_order_identity",
    "beta_tilde_order_identity_gap",
    "checked_logit_extremes",
    "fisher_family_mismatch",
    "fisher_loss",
    "in3_monotonicity_violations",
    "leave_one_out_logsumexp",
    "vs_family_parameters",
    "vs_gradient_norm",
    "vs_lipschitz_constants",
    "vs_local_lipschitz",
    "vs_loss",
    "vs_loss_and_gradient_norm",
    "vs_loss_bound",
    "vs_parameters",
]

# how Lemma 4's "softmax(beta_y B_y(f) + Delta_y)" is read (module docstring)
Reading = Literal["as_printed", "corrected"]
READINGS: tuple[str, ...] = get_args(Reading)
# the losses ``vs_family_parameters`` recovers (wang23, Sec. 2.1)
VS_FAMILY_MEMBERS = ("ce", "balanced", "class_balanced", "logit_adjusted", "cdt")


def _per_class(values, name: str, num_classes: int, nonnegative: bool = True) -> np.ndarray:
    array = check_finite(np.asarray(values, dtype=np.float64), name)
    if array.ndim == 0:
        array = np.full(num_classes, float(array))
    if array.shape != (num_classes,):
        raise InputError(f"{name} must hold one value per class ({num_classes}), got shape {array.shape}")
    if nonnegative and np.any(array < 0):
        raise InputError(f"{name} must be >= 0, got min {array.min()}")
    return array


def _scalar(value, name: str, nonnegative: bool = True) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name} must be a number, got {value!r}") from error
    if not math.isfinite(number) or (nonnegative and number < 0):
        raise InputError(f"{name} must be a finite number{' >= 0' if nonnegative else ''}, got {value!r}")
    return number


def vs_parameters(num_classes: int, alpha=None, beta=None, logit_shift=None) -> tuple[np.ndarray, ...]:
    """Validated VS parameters (alpha_y > 0, beta_y > 0, Delta_y finite); None -> CE (1, 1, 0). wang23, eq. (3)."""
    alpha = _per_class(1.0 if alpha is None else alpha, "alpha", num_classes)
    beta = _per_class(1.0 if beta is None else beta, "beta", num_classes)
    shift = _per_class(0.0 if logit_shift is None else logit_shift, "logit_shift", num_classes, nonnegative=False)
    if np.any(alpha <= 0):
        raise InputError("alpha must be > 0 for every class (re-weighting terms of the VS loss)")
    if np.any(beta <= 0):
        raise InputError("beta must be > 0 for every class (Lemma 4's monotonicity needs positive scales)")
    return alpha, beta, shift


def _logits_labels(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    z = check_matrix(logits, "logits")
    y = check_labels(labels, z.shape[1], "labels", length=z.shape[0])
    return z, y


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log softmax, (z - max) - log sum e^{z - max}, computed in one (n, C) array plus one temporary."""
    top = z.max(axis=1, keepdims=True)
    shifted = z - top
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def leave_one_out_logsumexp(values: np.ndarray) -> np.ndarray:
    """out_i = log sum_{k != i} e^{values_k} for a 1-d array (-inf where no other value), in O(n).

    out_i = logaddexp(log sum_{k < i} e^{v_k}, log sum_{k > i} e^{v_k}), both sides from one prefix and one
    suffix ``np.logaddexp.accumulate``. The same quantity as reducing, row by row, the (n, n) matrix of the
    values with -inf on the diagonal (which costs O(n^2) time and memory); equal to it up to rounding, since
    the additions are grouped differently. -inf and +inf entries are allowed (logaddexp handles them).
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    prefix = np.full(v.size, -np.inf)
    suffix = np.full(v.size, -np.inf)
    if v.size > 1:
        prefix[1:] = np.logaddexp.accumulate(v[:-1])
        suffix[:-1] = np.logaddexp.accumulate(v[:0:-1])[::-1]
    return np.logaddexp(prefix, suffix)


def vs_loss(logits, labels, alpha=None, beta=None, logit_shift=None) -> np.ndarray:
    """Per-sample VS loss -alpha_y log softmax(beta * f(x) + Delta)_y (wang23, eq. 3). Float64, stable."""
    z, y = _logits_labels(logits, labels)
    alpha, beta, shift = vs_parameters(z.shape[1], alpha, beta, logit_shift)
    scaled = _centred_vs_logits(z, beta, shift)
    target = scaled[np.arange(y.size), y]
    np.exp(scaled, out=scaled)  # in place too: the target entries were read first
    log_partition = np.log(scaled.sum(axis=1))
    return alpha[y] * (log_partition - target)


def vs_gradient_norm(logits, labels, alpha=None, beta=None, logit_shift=None) -> np.ndarray:
    """Per-sample ||grad_f L_VS(f, y)||_2 = alpha_y sqrt(beta_y^2 (1 - p_y)^2 + sum_{k != y} beta_k^2 p_k^2).

    p = softmax(beta * f + Delta); d L / d f_k = alpha_y beta_k (p_k - 1[k = y]) (wang23, App. E; checked
    with SymPy and autograd in the tests). 1 - p_y is computed as sum_{k != y} p_k (no cancellation).
    """
    z, y = _logits_labels(logits, labels)
    alpha, beta, shift = vs_parameters(z.shape[1], alpha, beta, logit_shift)
    return _gradient_norms(np.exp(log_softmax(z * beta + shift)), y, alpha, beta)


def _centred_vs_logits(z: np.ndarray, beta: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """s = beta * f + Delta - max_k (beta * f + Delta)_k per row, in one fresh (n, C) array (the shift added and
    the maximum taken off in place: the same sums as (z * beta + shift) - top)."""
    scaled = z * beta
    scaled += shift
    scaled -= scaled.max(axis=1)[:, None]
    return scaled


def _gradient_norms(p: np.ndarray, y: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """alpha_y ||grad_f L_VS||_2 from the softmax probabilities p (``vs_gradient_norm``'s formula, 1 - p_y as
    sum_{k != y} p_k). Overwrites p with the gradient / alpha_y."""
    rows = np.arange(y.size)
    p[rows, y] = 0.0
    one_minus = p.sum(axis=1)
    p *= beta
    p[rows, y] = -beta[y] * one_minus
    return alpha[y] * np.linalg.norm(p, axis=1)


def vs_loss_and_gradient_norm(logits, labels, alpha=None, beta=None, logit_shift=None) -> tuple[np.ndarray, ...]:
    """(``vs_loss``, ``vs_gradient_norm``) per sample from one softmax: the same arrays, bit for bit.

    Both start from s = beta * f + Delta - max_k (beta * f + Delta)_k and log Z = log sum_k e^{s_k}: the loss
    is alpha_y (log Z - s_y) and the gradient's p is e^{s - log Z} (``log_softmax``'s own operations, in the
    same order). One pass over a chunk of logits where the two functions make two.
    """
    z, y = _logits_labels(logits, labels)
    alpha, beta, shift = vs_parameters(z.shape[1], alpha, beta, logit_shift)
    scaled = _centred_vs_logits(z, beta, shift)
    p = np.exp(scaled)  # one (n, C) buffer, reused for p below (no fresh temporaries per step)
    log_partition = np.log(p.sum(axis=1))
    loss = alpha[y] * (log_partition - scaled[np.arange(y.size), y])
    np.subtract(scaled, log_partition[:, None], out=p)
    del scaled
    np.exp(p, out=p)  # p = e^{s - log Z}, the same operations as exp(log_softmax)
    return loss, _gradient_norms(p, y, alpha, beta)


def vs_loss_bound(logit_bound, alpha=None, beta=None, logit_shift=None, num_classes: int | None = None) -> np.ndarray:
    """Per class, the largest VS loss over logit vectors with |f_k| <= U: the loss bound M of wang23, Prop. 3.

    M_y = alpha_y log(1 + sum_{k != y} exp(beta_k U + Delta_k + beta_y U - Delta_y)), attained at
    f_y = -U and f_k = U (the loss decreases in f_y and increases in f_k when beta > 0). Vectorised over y.
    The number of classes comes from ``num_classes`` or from the first per-class parameter given.
    """
    u = _scalar(logit_bound, "logit_bound")
    if num_classes is None:
        sizes = [np.size(p) for p in (alpha, beta, logit_shift) if p is not None and np.ndim(p) > 0]
        if not sizes:
            raise InputError("vs_loss_bound needs num_classes or a per-class alpha, beta or logit_shift")
        num_classes = sizes[0]
    alpha, beta, shift = vs_parameters(int(num_classes), alpha, beta, logit_shift)
    # sum_{k != y} e^{beta_k U + Delta_k + beta_y U - Delta_y} = e^{beta_y U - Delta_y} sum_{k != y} e^{beta_k U +
    # Delta_k}: one leave-one-out log-sum-exp of a C-vector (O(C)), not a (C, C) matrix reduced row by row
    others = (beta * u - shift) + leave_one_out_logsumexp(beta * u + shift)
    return alpha * np.logaddexp(0.0, others)


def beta_tilde(beta) -> np.ndarray:
    """beta~_y = sqrt(beta_y^2 + (sum_{k != y} beta_k)^2) (wang23, Lemma 4)."""
    b = check_finite(np.asarray(beta, dtype=np.float64), "beta").reshape(-1)
    return np.sqrt(b**2 + (b.sum() - b) ** 2)


def checked_logit_extremes(logits, labels, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(B_y(f), A_y(f)) of wang23, Lemma 4 and Remark 2 (``ltbounds.per_class.logit_extremes``), after checking
    that every class has a sample (B_y needs S_y non-empty) and that there are at least 2 classes."""
    z, y = _logits_labels(logits, labels)
    c = z.shape[1] if num_classes is None else int(num_classes)
    if c != z.shape[1]:
        raise InputError(f"logits have {z.shape[1]} columns but num_classes={c}")
    counts = np.bincount(y, minlength=c)
    if np.any(counts < 1):
        missing = np.flatnonzero(counts < 1).tolist()[:10]
        raise InputError(f"labels must contain every class (B_y needs S_y non-empty); missing class(es) {missing}")
    if c < 2:
        raise InputError("logits need at least 2 classes")
    return logit_extremes(z, y, c)


def vs_lipschitz_constants(
    lower, upper=None, alpha=None, beta=None, logit_shift=None, reading: Reading = "corrected"
) -> np.ndarray:
    """Local Lipschitz constants mu_y of the VS loss (wang23, Lemma 4, eq. 15), vectorised over classes.

    mu_y = alpha_y beta~_y (1 - q_y), where
    - reading "as_printed": q = softmax(beta * lower + Delta) (lower = B(f), all classes at once);
    - reading "corrected": q_y = [softmax(v^(y))]_y with v^(y)_y = beta_y lower_y + Delta_y and
      v^(y)_k = beta_k upper_y + Delta_k (k != y): valid for every logit vector with target >= lower_y
      and non-targets <= upper_y (proof: ||grad|| <= alpha_y beta~_y (1 - p_y), and p_y is increasing in
      the target and decreasing in the others when beta > 0). ``upper`` is required here.
    Units: loss per unit Euclidean change of the logit vector. O(C) memory; time O(C) for the printed reading
    and O(C m) for the corrected one, m the number of distinct betas (``_log_sum_others``).
    """
    if reading not in READINGS:
        raise InputError(f"reading must be one of {READINGS}, got {reading!r}")
    # -inf / +inf are allowed for an unbounded side of the box (then mu_y is the global alpha_y beta~_y)
    lo = np.asarray(lower, dtype=np.float64).reshape(-1)
    if np.any(np.isnan(lo)) or np.any(lo == np.inf):
        raise InputError("lower must hold numbers (or -inf), no NaN or +inf")
    c = lo.size
    if c < 2:
        raise InputError("lower must hold one value per class (at least 2 classes)")
    alpha, beta, shift = vs_parameters(c, alpha, beta, logit_shift)
    bt = beta_tilde(beta)
    if reading == "as_printed":
        v = beta * lo + shift
        one_minus = np.exp(leave_one_out_logsumexp(v) - np.logaddexp.reduce(v))
        return alpha * bt * one_minus
    if upper is None:
        raise InputError("upper (the bound on non-target logits per class, A_y) is required for reading='corrected'")
    up = np.asarray(upper, dtype=np.float64).reshape(-1)
    if up.shape != (c,) or np.any(np.isnan(up)) or np.any(up == -np.inf):
        raise InputError(f"upper must hold one number (or +inf) per class ({c}), no NaN or -inf")
    diagonal = beta * lo + shift
    log_others = _log_sum_others(beta, shift, up)
    # 1 - q_y = e^{others} / (e^{target} + e^{others}) = sigmoid(others - target), computed stably.
    one_minus = 1.0 / (1.0 + np.exp(np.clip(diagonal - log_others, -700, 700)))
    return alpha * bt * one_minus


# rows of y per block of ``_log_sum_others`` (a (rows, distinct beta values) array: at most 2^22 entries)
_OTHERS_BLOCK_ENTRIES = 1 << 22


def _log_sum_others(beta: np.ndarray, shift: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """log sum_{k != y} e^{beta_k upper_y + Delta_k} for every class y, grouped by the distinct values of beta.

    With b_1 < ... < b_m the distinct betas and G_g = {k : beta_k = b_g}, the sum is sum_g e^{b_g upper_y}
    sum_{k in G_g, k != y} e^{Delta_k}: per group one log-sum-exp of the shifts (leaving y out of its own
    group), then a (C, m) log-sum-exp over the groups, in row blocks. O(C m) time and no (C, C) array
    (m = 1 for CE, LA, the balanced and CB losses; m = C at worst, the cost of the direct (C, C) form). The
    same quantity as the (C, C) matrix beta_k upper_y + Delta_k with -inf on the diagonal reduced by rows;
    equal to it up to rounding (the terms are added in another order).
    """
    values, group = np.unique(beta, return_inverse=True)
    m = values.size
    group_total = np.full(m, -np.inf)  # log sum_{k in G_g} e^{Delta_k}
    own_group = np.full(beta.size, -np.inf)  # log sum_{k in G_{g(y)}, k != y} e^{Delta_k}
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(m + 1))
    for g in range(m):
        members = order[starts[g] : starts[g + 1]]
        group_total[g] = np.logaddexp.reduce(shift[members])
        own_group[members] = leave_one_out_logsumexp(shift[members])
    rows = np.arange(beta.size)
    log_others = np.empty(beta.size)
    step = max(1, _OTHERS_BLOCK_ENTRIES // m)
    for start in range(0, beta.size, step):
        block = rows[start : start + step]
        terms = values[None, :] * upper[block, None] + group_total[None, :]
        # y's own group without y: -inf when y is alone in it (not b_g upper_y - inf, NaN for upper_y = +inf)
        own = own_group[block]
        with np.errstate(invalid="ignore"):  # that NaN is computed, then replaced by np.where
            own_terms = np.where(own == -np.inf, -np.inf, values[group[block]] * upper[block] + own)
        terms[np.arange(block.size), group[block]] = own_terms
        log_others[block] = np.logaddexp.reduce(terms, axis=1)
    return log_others


@dataclass(frozen=True)
class LocalLipschitz:
    """Per-class local Lipschitz constants of the VS loss and the logit extremes they came from."""

    mu: np.ndarray
    lower: np.ndarray  # B_y(f)
    upper: np.ndarray  # A_y(f)
    beta_tilde: np.ndarray
    reading: Reading


def vs_local_lipschitz(
    logits,
    labels,
    class_counts=None,
    *,
    alpha=None,
    beta=None,
    logit_shift=None,
    reading: Reading = "corrected",
) -> LocalLipschitz:
    """mu_y of wang23, Lemma 4 from a model's logits on S, as printed or corrected.

    B_y, A_y come from ``checked_logit_extremes``; see ``vs_lipschitz_constants`` for the formula and the
    reading. ``class_counts`` (if given) only fixes the number of classes. Default parameters: CE (1, 1, 0).
    """
    z, y = _logits_labels(logits, labels)
    num_classes = z.shape[1]
    if class_counts is not None:
        num_classes = check_class_counts(class_counts).size
        if num_classes != z.shape[1]:
            raise InputError(f"class_counts has {num_classes} classes but logits have {z.shape[1]} columns")
    lower, upper = checked_logit_extremes(z, y, num_classes)
    mu = vs_lipschitz_constants(lower, upper, alpha, beta, logit_shift, reading)
    return LocalLipschitz(
        mu=mu,
        lower=lower,
        upper=upper,
        beta_tilde=beta_tilde(vs_parameters(num_classes, alpha, beta, logit_shift)[1]),
        reading=reading,
    )


def vs_family_parameters(class_counts, member: str, tau: float = 1.0, p: float = 0.9999, gamma: float = 0.5):
    """wang23, Sec. 2.1: the VS parameters (alpha, beta, Delta) that recover a named loss.

    ``member``: "ce" (1, 1, 0), "balanced" (1/pi, 1, 0), "class_balanced" ((1 - p)/(1 - p^{N_y}), 1, 0),
    "logit_adjusted" (1, 1, tau log pi), "cdt" (1, (N_y/N_1)^gamma, 0; the printed "alpha_1 = 1" read as
    alpha_y = 1, N_1 the largest count). Returns three float64 arrays.
    """
    counts = check_class_counts(class_counts, "class_counts").astype(np.float64)
    pi = counts / counts.sum()
    ones, zeros = np.ones_like(pi), np.zeros_like(pi)
    if member == "ce":
        return ones, ones, zeros
    if member == "balanced":
        return 1.0 / pi, ones, zeros
    if member == "class_balanced":
        if not 0.0 < p < 1.0:
            raise InputError(f"p must be in (0, 1), got {p!r}")
        return -math.expm1(math.log(p)) / -np.expm1(counts * math.log(p)), ones, zeros
    if member == "logit_adjusted":
        return ones, ones, _scalar(tau, "tau") * np.log(pi)
    if member == "cdt":
        return ones, (counts / counts.max()) ** _scalar(gamma, "gamma"), zeros
    raise InputError(f"member must be one of {', '.join(VS_FAMILY_MEMBERS)}; got {member!r}")


def fisher_loss(logits, labels, priors, delta_weights) -> np.ndarray:
    """wang23, eq. (4): (delta_y / pi_y) log[1 + sum_{y' != y} (delta_y'/delta_y) e^{f_y' - f_y}], per sample.

    Equal to the VS loss with alpha = delta/pi, beta = 1, Delta = log delta (wang23, Sec. 2.1).
    """
    z, y = _logits_labels(logits, labels)
    pi = _per_class(priors, "priors", z.shape[1])
    d = _per_class(delta_weights, "delta_weights", z.shape[1])
    if np.any(pi <= 0) or np.any(d <= 0):
        raise InputError("priors and delta_weights must be > 0 (eq. 4 divides by both)")
    rows = np.arange(y.size)
    exponent = z - z[rows, y][:, None]  # then in place, in the order of f_y' - f_y + log d_y' - log d_y
    exponent += np.log(d)[None, :]
    exponent -= np.log(d[y])[:, None]
    exponent[rows, y] = -np.inf
    # log sum_{y' != y} e^{exponent}, shifted by the row's largest term (one exp per entry; logaddexp.reduce
    # would take an exp and a log1p per entry). The clamp keeps a row with no other class (C = 1) at -inf.
    top = np.maximum(exponent.max(axis=1), np.finfo(np.float64).min)
    exponent -= top[:, None]
    np.exp(exponent, out=exponent)
    with np.errstate(divide="ignore"):  # log(0) = -inf only for such a row
        log_others = top + np.log(exponent.sum(axis=1))
    return d[y] / pi[y] * np.logaddexp(0.0, log_others)


def fisher_family_mismatch(priors, alpha, logit_shift) -> float:
    """How far a VS loss with beta = 1 is from the Fisher family (4), in logit units.

    VS(alpha, 1, Delta) is in the family iff alpha_y = c delta_y / pi_y and Delta_y = log delta_y + c' for one
    delta > 0, i.e. iff Delta_y - log(alpha_y pi_y) is constant. Returns max - min of that vector (0: in the
    family). Source: wang23, eq. (4) and the ADRW remark of Sec. 3.3.
    """
    pi = check_finite(np.asarray(priors, dtype=np.float64), "priors").reshape(-1)
    alpha, _, shift = vs_parameters(pi.size, alpha, None, logit_shift)
    if np.any(pi <= 0):
        raise InputError("priors must be > 0")
    residual = shift - np.log(alpha * pi)
    return float(residual.max() - residual.min())


def beta_tilde_order_identity(beta) -> np.ndarray:
    """|left - right| per pair (C, C) of beta~_y^2 - beta~_k^2 = 2 (beta_y - beta_k)(beta_y + beta_k - sum_j beta_j).

    wang23, Lemma 4's beta~ and insight (In4-a). Returns |left - right| per pair (0 up to rounding). The sign of
    the right side gives the correction: for C >= 3 and beta > 0, beta_y + beta_k < sum_j beta_j, so a larger
    beta_y gives a *smaller* beta~_y.
    """
    b = check_finite(np.asarray(beta, dtype=np.float64), "beta").reshape(-1)
    bt2 = beta_tilde(b) ** 2
    left = bt2[:, None] - bt2[None, :]
    right = 2.0 * (b[:, None] - b[None, :]) * (b[:, None] + b[None, :] - b.sum())
    return np.abs(left - right)


# rows per block of ``beta_tilde_order_identity_gap`` (a (rows, distinct betas) array: at most 2^22 entries)
_IDENTITY_BLOCK_ENTRIES = 1 << 22


def beta_tilde_order_identity_gap(beta) -> float:
    """``beta_tilde_order_identity(beta).max()``, the same float, without the (C, C) array.

    The gap of a pair (y, k) is a function of (beta_y, beta_k) alone (sum_j beta_j is one number for every
    pair, and beta~_y^2 is computed from beta_y and that sum by the same operations), so the maximum over the
    C^2 class pairs is the maximum over the m^2 pairs of distinct values (m = 1 for CE: all betas equal).
    Computed in row blocks of the (m, m) table.
    """
    b = check_finite(np.asarray(beta, dtype=np.float64), "beta").reshape(-1)
    total = b.sum()
    values = np.unique(b)
    bt2 = np.sqrt(values**2 + (total - values) ** 2) ** 2  # beta_tilde's operations, on the distinct values
    step = max(1, _IDENTITY_BLOCK_ENTRIES // values.size)
    gap = 0.0
    for start in range(0, values.size, step):
        rows = slice(start, start + step)
        left = bt2[rows, None] - bt2[None, :]
        right = 2.0 * (values[rows, None] - values[None, :]) * (values[rows, None] + values[None, :] - total)
        gap = max(gap, float(np.abs(left - right).max()))
    return gap


def beta_tilde_discordant_pairs(priors, beta) -> int:
    """Pairs (y, k) with pi_y > pi_k and beta_y >= beta_k but beta~_y < beta~_k: each one contradicts (In4-a).

    (In4-a) claims beta~ inherits the increase of beta with pi_y (and so weakens alpha_y, which decreases).
    """
    pi = check_finite(np.asarray(priors, dtype=np.float64), "priors").reshape(-1)
    b = check_finite(np.asarray(beta, dtype=np.float64), "beta").reshape(-1)
    pi, b, bt = np.broadcast_arrays(pi, b, beta_tilde(b))
    # whether a pair is discordant depends only on the classes' (pi, beta) (beta~ is a function of beta): count
    # over the distinct (pi, beta) rows, each pair weighted by how many classes share each row
    _, first, multiplicity = np.unique(np.stack([pi, b], axis=1), axis=0, return_index=True, return_counts=True)
    pi, b, bt = pi[first], b[first], bt[first]

    def discordant(rows: slice) -> np.ndarray:
        bigger = (pi[rows, None] > pi[None, :]) & (b[rows, None] >= b[None, :])
        return bigger & (bt[rows, None] < bt[None, :] * (1 - 1e-12))

    return _weighted_pair_count(multiplicity, discordant)


def _weighted_pair_count(multiplicity: np.ndarray, pairs: Callable[[slice], np.ndarray]) -> int:
    """sum_{i, j} m_i m_j [pairs(rows)[i - rows.start, j]], over row blocks of at most 2^22 entries.

    The number of ordered class pairs (y, k) with a property that depends only on the classes' values, when
    item i stands for the m_i classes that share its values: the same count as the (C, C) mask's
    ``np.count_nonzero``, from an (m, m) one.
    """
    step = max(1, _IDENTITY_BLOCK_ENTRIES // max(multiplicity.size, 1))
    total = 0
    for start in range(0, multiplicity.size, step):
        rows = slice(start, start + step)
        total += int(multiplicity[rows] @ (pairs(rows) @ multiplicity))
    return total


def in3_monotonicity_violations(class_counts, tau: float = 1.0, gamma: float = 0.5, p: float = 0.9999) -> dict:
    """Pairs of classes (pi_y > pi_k) where a cited choice of (In3) does not move with pi as (In3) says.

    alpha_y = 1/pi_y and (1 - p)/(1 - p^{N_y}) must not increase with pi_y; LDAM's Delta_y = -N_y^{-1/4}, LA's
    tau log pi_y and CDT's beta_y = (N_y/N_1)^gamma must not decrease (tau, gamma > 0). Returns counts per choice.
    """
    counts = check_class_counts(class_counts, "class_counts").astype(np.float64)
    if np.any(counts <= 0) or tau <= 0 or gamma <= 0:
        raise InputError("need positive class counts, tau > 0 and gamma > 0")
    pi = counts / counts.sum()
    choices = {
        "balanced_alpha": (1.0 / pi, -1),
        "class_balanced_alpha": (vs_family_parameters(counts, "class_balanced", p=p)[0], -1),
        "ldam_delta": (-(counts**-0.25), 1),
        "la_delta": (tau * np.log(pi), 1),
        "cdt_beta": (vs_family_parameters(counts, "cdt", gamma=gamma)[1], 1),
    }
    # every value is a function of N_y: count the pairs over the distinct counts (``_weighted_pair_count``)
    _, first, multiplicity = np.unique(counts, return_index=True, return_counts=True)
    distinct_pi = pi[first]
    result = {}
    for name, (values, direction) in choices.items():
        threshold = -1e-12 * np.maximum(1.0, np.abs(values).max())
        distinct = values[first]

        def violating(rows: slice, distinct=distinct, direction=direction, threshold=threshold) -> np.ndarray:
            step = direction * (distinct[rows, None] - distinct[None, :])
            return (distinct_pi[rows, None] > distinct_pi[None, :]) & (step < threshold)

        result[name] = _weighted_pair_count(multiplicity, violating)
    return result

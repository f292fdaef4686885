"""Seed 003 (Wang, Xu, Yang, He, Cao, Huang, NeurIPS 2023): Proposition 1 to Remark 2, evaluable.

Public signatures (all float64 NumPy, vectorised per class; ``class_counts`` = training N_y; every
function raises ``InputError`` naming the argument on bad input):

    union_bound(class_counts, empirical_risks, loss_class_complexities, loss_bound, delta, form="certified")
        003 Prop. 1, eq. (7). Per class y: R^_y + c R_{S_y}(G) + 3M sqrt(ln(2C/delta)/(2N_y)), averaged
        over y; c = 2 (certified, Mohri et al. Thm 3.3 + a union bound over the C classes) or 1 (as printed).
        ``loss_class_complexities``: per-class R_{S_y}(G) of the loss class; from a Lipschitz constant use
        ``contracted_complexities(lipschitz, hypothesis_complexities)``.
    contraction_bound(class_counts, empirical_risks, lipschitz, hypothesis_complexities, loss_bound, delta,
                      form="certified", full_complexity=None)
        003 Thm 1, eq. (14) (Lemma 2 + Lemma 3). Certified:
        1/(C pi_C) [ sum_y pi_y R^_y + 2 sum_y pi_y sqrt(2) mu_y R^vec_{S_y}(F) + 3M sqrt(ln(2/delta)/(2N)) ].
        As printed: Phi(L, delta) + C_S(F)/(C pi_C) sum_y mu_y sqrt(pi_y) with C_S(F) = ``full_complexity``.
    vs_local_lipschitz(logits, labels, class_counts, *, alpha=None, beta=None, logit_shift=None,
                       reading="corrected", outputs=None) -> LocalLipschitz (``.mu`` per class)
        003 Lemma 4, eq. (15), as printed or corrected (see ``vs_lipschitz_constants``).

Both bound functions return a ``GeneralizationBound`` (``value``, ``per_class``, ``terms``, ``form``).
For the studies: pass per-class arrays (e.g. hypothesis_complexities = K / sqrt(N_y) under Asm. 1,
full_complexity = K / sqrt(N)); nothing needs an ``Outputs``.

How the Lemma 4 expression is read. "softmax(beta_y B_y(f) + Delta_y)" applies softmax to a scalar,
which is identically 1 and would give mu_y = 0. The only reading that yields a number determined by f
(as a Lipschitz constant must be) is the y-th entry of the softmax of the C-vector whose k-th entry is
beta_k B_k(f) + Delta_k, with B_k(f) = min_{x in S_k} f(x)_k, the minimal target logit of class k (our
``reading="as_printed"``). It is false: at a sample of class y the *other* logits f(x)_k are not
bounded by B_k(f), and the gradient norm there exceeds mu_y (counterexample stored in the errata).
The corrected constant (``reading="corrected"``, id wang23.lemma4_corrected) uses, for class y, the
box b_y <= f(x)_y and f(x)_k <= a_y (k != y) over x in S_y, with b_y = B_y(f) and
a_y = A_y(f) := max_{x in S_y, k != y} f(x)_k (the quantity of Remark 2):
mu_y = alpha_y beta~_y (1 - q_y), q_y = e^{beta_y b_y + Delta_y} / (e^{beta_y b_y + Delta_y}
+ sum_{k != y} e^{beta_k a_y + Delta_k}). It is a Lipschitz constant on the whole box (which is convex),
hence for every f whose training logits lie in it.

Certified evaluation on ``Outputs`` (the ``STATEMENTS`` evaluators): hypothesis class = linear heads
(W, b) of Frobenius radius r on the frozen penultimate embeddings (bias as a constant-1 feature;
cosine heads: unit-norm features, radius s sqrt(C)); the loss is the VS loss truncated at M,
min(L_VS, M) (bounded, as the Rademacher bound needs), M from the logit bound U = r max_i ||[x_i, 1]||
(``vs_loss_bound``). r and M are chosen from fixed finite grids (smallest grid value >= the model's
norm / M(U)) and delta is split uniformly
over the grid (a union bound: the certified bound holds simultaneously for every grid point, so a
data-dependent choice is allowed). Prop. 3's certified form additionally stratifies the logit box
(b, a) over a fixed grid and bounds the risk of the box-clipped truncated VS loss. ``measured`` is
the balanced (class-averaged) risk of the same loss on ``splits.test``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ltbounds.bounds.complexity import linear_complexity_closed_form, rademacher_confidence_term
from ltbounds.bounds.result import Assumption, BoundResult, EvaluationSplits, Statement
from ltbounds.checks import InputError, check_class_counts, check_delta, check_finite, check_labels, check_matrix

__all__ = [
    "GeneralizationBound",
    "LocalLipschitz",
    "beta_tilde",
    "contracted_complexities",
    "contraction_bound",
    "data_dependent_contraction",
    "lemma2_bound",
    "logit_extremes",
    "prop2_complexity_terms",
    "prop2_corrected",
    "prop2_kappa_threshold_symbolic",
    "remark2_sides",
    "union_bound",
    "vs_contraction_bound",
    "vs_gradient_norm",
    "vs_lipschitz_constants",
    "vs_local_lipschitz",
    "vs_loss",
    "vs_loss_bound",
    "vs_parameters",
]

FORMS_OF_BOUNDS = ("certified", "as_printed", "shape")
READINGS = ("as_printed", "corrected")
SQRT2 = math.sqrt(2.0)


# ---------------------------------------------------------------------------------------------
# validation


def _form(form: str) -> str:
    if form not in FORMS_OF_BOUNDS:
        raise InputError(f"form must be one of {FORMS_OF_BOUNDS}, got {form!r}")
    return form


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
    """Validated VS parameters (alpha_y > 0, beta_y > 0, Delta_y finite); None -> CE (1, 1, 0). 003, eq. (3)."""
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


# ---------------------------------------------------------------------------------------------
# the VS loss and its gradient (003, eq. 3)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    top = z.max(axis=1, keepdims=True)
    return z - top - np.log(np.exp(z - top).sum(axis=1, keepdims=True))


def vs_loss(logits, labels, alpha=None, beta=None, logit_shift=None) -> np.ndarray:
    """Per-sample VS loss -alpha_y log softmax(beta * f(x) + Delta)_y (003, eq. 3). Float64, stable."""
    z, y = _logits_labels(logits, labels)
    alpha, beta, shift = vs_parameters(z.shape[1], alpha, beta, logit_shift)
    scaled = z * beta + shift
    top = scaled.max(axis=1)
    scaled -= top[:, None]
    log_partition = np.log(np.exp(scaled).sum(axis=1))
    return alpha[y] * (log_partition - scaled[np.arange(y.size), y])


def vs_gradient_norm(logits, labels, alpha=None, beta=None, logit_shift=None) -> np.ndarray:
    """Per-sample ||grad_f L_VS(f, y)||_2 = alpha_y sqrt(beta_y^2 (1 - p_y)^2 + sum_{k != y} beta_k^2 p_k^2).

    p = softmax(beta * f + Delta); d L / d f_k = alpha_y beta_k (p_k - 1[k = y]) (003, App. E; checked
    with SymPy and autograd in the tests). 1 - p_y is computed as sum_{k != y} p_k (no cancellation).
    """
    z, y = _logits_labels(logits, labels)
    alpha, beta, shift = vs_parameters(z.shape[1], alpha, beta, logit_shift)
    p = np.exp(_log_softmax(z * beta + shift))
    rows = np.arange(y.size)
    others = p.copy()
    others[rows, y] = 0.0
    one_minus = others.sum(axis=1)
    gradient = others * beta
    gradient[rows, y] = -beta[y] * one_minus
    return alpha[y] * np.linalg.norm(gradient, axis=1)


def vs_loss_bound(logit_bound, alpha=None, beta=None, logit_shift=None, num_classes: int | None = None) -> np.ndarray:
    """Per class, the largest VS loss over logit vectors with |f_k| <= U: the loss bound M of 003, Prop. 3.

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
    others = beta[None, :] * u + shift[None, :] + (beta * u - shift)[:, None]
    np.fill_diagonal(others, -np.inf)
    return alpha * np.logaddexp(0.0, np.logaddexp.reduce(others, axis=1))


def beta_tilde(beta) -> np.ndarray:
    """beta~_y = sqrt(beta_y^2 + (sum_{k != y} beta_k)^2) (003, Lemma 4)."""
    b = check_finite(np.asarray(beta, dtype=np.float64), "beta").reshape(-1)
    return np.sqrt(b**2 + (b.sum() - b) ** 2)


# ---------------------------------------------------------------------------------------------
# Lemma 4 and Remark 2


def logit_extremes(logits, labels, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per class y: B_y(f) = min_{x in S_y} f(x)_y and A_y(f) = max_{x in S_y, k != y} f(x)_k (003, Lemma 4, Remark 2).

    Every class needs at least one sample in ``labels``.
    """
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
    rows = np.arange(y.size)
    target = z[rows, y]
    masked = z.copy()
    masked[rows, y] = -np.inf
    other_max = masked.max(axis=1)
    lower = np.full(c, np.inf)
    upper = np.full(c, -np.inf)
    np.minimum.at(lower, y, target)
    np.maximum.at(upper, y, other_max)
    return lower, upper


def vs_lipschitz_constants(
    lower, upper=None, alpha=None, beta=None, logit_shift=None, reading: str = "corrected"
) -> np.ndarray:
    """Local Lipschitz constants mu_y of the VS loss (003, Lemma 4, eq. 15), vectorised over classes.

    mu_y = alpha_y beta~_y (1 - q_y), where
    - reading "as_printed": q = softmax(beta * lower + Delta) (lower = B(f), all classes at once);
    - reading "corrected": q_y = [softmax(v^(y))]_y with v^(y)_y = beta_y lower_y + Delta_y and
      v^(y)_k = beta_k upper_y + Delta_k (k != y): valid for every logit vector with target >= lower_y
      and non-targets <= upper_y (proof: ||grad|| <= alpha_y beta~_y (1 - p_y), and p_y is increasing in
      the target and decreasing in the others when beta > 0). ``upper`` is required here.
    Units: loss per unit Euclidean change of the logit vector. O(C^2) memory.
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
        others = np.tile(v, (c, 1))
        np.fill_diagonal(others, -np.inf)
        one_minus = np.exp(np.logaddexp.reduce(others, axis=1) - np.logaddexp.reduce(v))
        return alpha * bt * one_minus
    if upper is None:
        raise InputError("upper (the bound on non-target logits per class, A_y) is required for reading='corrected'")
    up = np.asarray(upper, dtype=np.float64).reshape(-1)
    if up.shape != (c,) or np.any(np.isnan(up)) or np.any(up == -np.inf):
        raise InputError(f"upper must hold one number (or +inf) per class ({c}), no NaN or -inf")
    v = beta[None, :] * up[:, None] + shift[None, :]
    diagonal = beta * lo + shift
    np.fill_diagonal(v, -np.inf)
    log_others = np.logaddexp.reduce(v, axis=1)
    # 1 - q_y = e^{others} / (e^{target} + e^{others}) = sigmoid(others - target), computed stably.
    one_minus = 1.0 / (1.0 + np.exp(np.clip(diagonal - log_others, -700, 700)))
    return alpha * bt * one_minus


@dataclass(frozen=True)
class LocalLipschitz:
    """Per-class local Lipschitz constants of the VS loss and the logit extremes they came from."""

    mu: np.ndarray
    lower: np.ndarray  # B_y(f)
    upper: np.ndarray  # A_y(f)
    beta_tilde: np.ndarray
    reading: str


def vs_local_lipschitz(
    logits=None,
    labels=None,
    class_counts=None,
    *,
    alpha=None,
    beta=None,
    logit_shift=None,
    reading: str = "corrected",
    outputs=None,
) -> LocalLipschitz:
    """mu_y of 003 Lemma 4 from a model's logits on S (or ``outputs``), as printed or corrected.

    B_y, A_y come from ``logit_extremes``; see ``vs_lipschitz_constants`` for the formula and the reading.
    ``class_counts`` (if given) only fixes the number of classes. Default parameters: CE (1, 1, 0), or
    those in ``outputs.metadata`` ("alpha", "beta", "logit_shift") when ``outputs`` is given.
    """
    if outputs is not None:
        logits, labels = outputs.logits, outputs.labels
        class_counts = outputs.class_counts
        alpha, beta, logit_shift = _vs_from_metadata(outputs, alpha, beta, logit_shift)
    if logits is None or labels is None:
        raise InputError("vs_local_lipschitz needs logits and labels (or outputs=...)")
    z, y = _logits_labels(logits, labels)
    num_classes = z.shape[1]
    if class_counts is not None:
        num_classes = check_class_counts(class_counts).size
        if num_classes != z.shape[1]:
            raise InputError(f"class_counts has {num_classes} classes but logits have {z.shape[1]} columns")
    lower, upper = logit_extremes(z, y, num_classes)
    mu = vs_lipschitz_constants(lower, upper, alpha, beta, logit_shift, reading)
    return LocalLipschitz(
        mu=mu,
        lower=lower,
        upper=upper,
        beta_tilde=beta_tilde(vs_parameters(num_classes, alpha, beta, logit_shift)[1]),
        reading=reading,
    )


def remark2_sides(logits, labels, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """003, Remark 2, per class: left = B_y(f) - margin_y, right = max_{x in S_y, j != y} f(x)_j.

    margin_y = min_{x in S_y} (f(x)_y - max_{j != y} f(x)_j). The remark claims left <= right.
    """
    z, y = _logits_labels(logits, labels)
    lower, upper = logit_extremes(z, y, num_classes)
    rows = np.arange(y.size)
    masked = z.copy()
    masked[rows, y] = -np.inf
    margins = z[rows, y] - masked.max(axis=1)
    margin = np.full(lower.size, np.inf)
    np.minimum.at(margin, y, margins)
    return lower - margin, upper


# ---------------------------------------------------------------------------------------------
# the bounds


@dataclass(frozen=True)
class GeneralizationBound:
    """An upper bound on the balanced risk R_bal^L(f) = (1/C) sum_y R_y^L(f): ``value``, its terms."""

    value: float
    form: str
    per_class: np.ndarray | None = None  # per-class bounds (union bound) when the bound has them
    terms: dict = field(default_factory=dict)


def _counts(class_counts) -> np.ndarray:
    return check_class_counts(class_counts, "class_counts", minimum=1)


def contracted_complexities(lipschitz, hypothesis_complexities, form: str = "certified") -> np.ndarray:
    """Per-class loss-class complexities from Lipschitz constants: sqrt(2) mu_y R^vec_{S_y}(F) (certified,
    Maurer's vector contraction) or mu_y C_{S_y}(F) (003 Lemma 1 as printed / shape)."""
    mu = check_finite(np.asarray(lipschitz, dtype=np.float64), "lipschitz")
    rad = check_finite(np.asarray(hypothesis_complexities, dtype=np.float64), "hypothesis_complexities")
    if mu.shape != rad.shape:
        raise InputError(f"lipschitz {mu.shape} and hypothesis_complexities {rad.shape} must have the same shape")
    if np.any(mu < 0) or np.any(rad < 0):
        raise InputError("lipschitz and hypothesis_complexities must be >= 0")
    return (SQRT2 if _form(form) == "certified" else 1.0) * mu * rad


def union_bound(
    class_counts, empirical_risks, loss_class_complexities, loss_bound, delta, form: str = "certified"
) -> GeneralizationBound:
    """003 Prop. 1 (eq. 7): R_bal <= (1/C) sum_y [R^_y + c R_{S_y}(G) + 3M sqrt(ln(2C/delta)/(2 N_y))].

    Certified (c = 2): conditionally on the labels, S_y is an iid sample of size N_y from D_y; apply the
    Rademacher bound (Mohri et al. Thm 3.3) to each class at level delta/C and take a union bound over the
    C classes. As printed / shape: c = 1. Loss values in [0, M]. Per-class bounds in ``per_class``.
    """
    counts = _counts(class_counts)
    c = counts.size
    form = _form(form)
    delta = check_delta(delta)
    risks = _per_class(empirical_risks, "empirical_risks", c)
    rad = _per_class(loss_class_complexities, "loss_class_complexities", c)
    m = _scalar(loss_bound, "loss_bound")
    factor = 2.0 if form == "certified" else 1.0
    confidence = rademacher_confidence_term(m, counts, delta / c)
    per_class = risks + factor * rad + confidence
    return GeneralizationBound(
        value=float(per_class.mean()),
        form=form,
        per_class=per_class,
        terms={
            "empirical": float(risks.mean()),
            "complexity": float(factor * rad.mean()),
            "confidence": float(confidence.mean()),
        },
    )


def _imbalance_factor(counts: np.ndarray) -> float:
    # 1 / (C pi_C) = N / (C N_min); pi_C is the smallest prior (003 sorts N_1 >= ... >= N_C).
    return float(counts.sum() / (counts.size * counts.min()))


def lemma2_bound(
    class_counts, empirical_risk, loss_class_complexity, loss_bound, delta, form: str = "certified"
) -> GeneralizationBound:
    """003 Lemma 2 (eq. 11): R_bal <= 1/(C pi_C) [R^ + c R_S(G) + 3M sqrt(ln(2/delta)/(2N))].

    Proof (certified, c = 2): (1/C) R_y <= pi_y R_y / (C pi_C) since R_y >= 0 and pi_y >= pi_C, so
    R_bal <= (sum_y pi_y R_y)/(C pi_C); conditionally on the labels, sum_y pi_y R_y is the mean of
    E[L | x_i ~ D_{y_i}] over N independent samples, bounded by Mohri et al. Thm 3.3. As printed: c = 1.
    ``empirical_risk`` = (1/N) sum over S (unweighted), ``loss_class_complexity`` = R_S(G) on all of S.
    """
    counts = _counts(class_counts)
    form = _form(form)
    delta = check_delta(delta)
    risk = _scalar(empirical_risk, "empirical_risk")
    rad = _scalar(loss_class_complexity, "loss_class_complexity")
    m = _scalar(loss_bound, "loss_bound")
    factor = 2.0 if form == "certified" else 1.0
    scale = _imbalance_factor(counts)
    confidence = float(rademacher_confidence_term(m, counts.sum(), delta))
    value = scale * (risk + factor * rad + confidence)
    return GeneralizationBound(
        value=value,
        form=form,
        terms={
            "imbalance_factor": scale,
            "empirical": scale * risk,
            "complexity": scale * factor * rad,
            "confidence": scale * confidence,
        },
    )


def data_dependent_contraction(
    class_counts, lipschitz, hypothesis_complexities=None, full_complexity=None, form: str = "certified"
) -> float:
    """003 Lemma 3 (eq. 13), the right-hand side bounding R_S(G).

    Certified: sum_y pi_y sqrt(2) mu_y R^vec_{S_y}(F). Proof: split the Rademacher sum by class
    (sup of a sum <= sum of sups), then Maurer's vector contraction on each S_y with the local constant
    mu_y. No Assumption 1 needed. As printed / shape: C_S(F) sum_y mu_y sqrt(pi_y), which follows from the
    certified form when R^vec_{S_y}(F) = C_S(F)/sqrt(pi_y) (Asm. 1 with one constant), up to sqrt(2).
    """
    counts = _counts(class_counts)
    c = counts.size
    form = _form(form)
    mu = _per_class(lipschitz, "lipschitz", c)
    priors = counts / counts.sum()
    if form == "certified":
        if hypothesis_complexities is None:
            raise InputError("hypothesis_complexities (per-class R^vec_{S_y}(F)) is required for form='certified'")
        rad = _per_class(hypothesis_complexities, "hypothesis_complexities", c)
        return float(np.sum(priors * SQRT2 * mu * rad))
    if full_complexity is None:
        raise InputError("full_complexity (C_S(F) on all of S) is required for the printed form")
    return float(_scalar(full_complexity, "full_complexity") * np.sum(mu * np.sqrt(priors)))


def contraction_bound(
    class_counts,
    empirical_risks,
    lipschitz,
    hypothesis_complexities,
    loss_bound,
    delta,
    form: str = "certified",
    full_complexity=None,
) -> GeneralizationBound:
    """003 Thm 1 (eq. 14): R_bal <= Phi(L, delta) + complexity term (see the module docstring).

    Certified: 1/(C pi_C) [sum_y pi_y R^_y + 2 sum_y pi_y sqrt(2) mu_y R^vec_{S_y}(F)
    + 3M sqrt(ln(2/delta)/(2N))] (Lemma 2 certified + Lemma 3 certified). Valid when mu_y are local
    Lipschitz constants of L(., y) on S_y for *every* f in F (Def. 2), fixed before seeing S or
    stratified. As printed / shape: Phi + C_S(F)/(C pi_C) sum_y mu_y sqrt(pi_y); ``full_complexity`` =
    C_S(F); if omitted, max_y R^vec_{S_y}(F) sqrt(pi_y) (Asm. 1 inverted).
    """
    counts = _counts(class_counts)
    c = counts.size
    form = _form(form)
    delta = check_delta(delta)
    risks = _per_class(empirical_risks, "empirical_risks", c)
    mu = _per_class(lipschitz, "lipschitz", c)
    rad = _per_class(hypothesis_complexities, "hypothesis_complexities", c)
    m = _scalar(loss_bound, "loss_bound")
    priors = counts / counts.sum()
    scale = _imbalance_factor(counts)
    empirical = float(np.sum(priors * risks))
    confidence = float(rademacher_confidence_term(m, counts.sum(), delta))
    if form == "certified":
        complexity = 2.0 * data_dependent_contraction(counts, mu, rad, form="certified")
    else:
        full = float(np.max(rad * np.sqrt(priors))) if full_complexity is None else full_complexity
        complexity = data_dependent_contraction(counts, mu, full_complexity=full, form="as_printed")
    value = scale * (empirical + complexity + confidence)
    return GeneralizationBound(
        value=value,
        form=form,
        terms={
            "imbalance_factor": scale,
            "empirical": scale * empirical,
            "complexity": scale * complexity,
            "confidence": scale * confidence,
        },
    )


def vs_contraction_bound(
    class_counts,
    empirical_risks,
    lower,
    upper,
    hypothesis_complexities,
    loss_bound,
    delta,
    alpha=None,
    beta=None,
    logit_shift=None,
    form: str = "certified",
    full_complexity=None,
) -> GeneralizationBound:
    """003 Prop. 3 (eq. 16): Thm 1 with mu_y from Lemma 4.

    form "certified": mu_y from the corrected Lemma 4 on the box (lower, upper), i.e. valid for every f
    whose logits on S_y lie in the box; the caller must fix the box before seeing S or stratify it (the
    ``STATEMENTS`` evaluator does, over a finite grid). form "as_printed"/"shape": mu_y from the printed
    Lemma 4 reading (``upper`` ignored) and the printed Thm 1.
    """
    reading = "corrected" if _form(form) == "certified" else "as_printed"
    mu = vs_lipschitz_constants(lower, upper, alpha, beta, logit_shift, reading)
    return contraction_bound(
        class_counts, empirical_risks, mu, hypothesis_complexities, loss_bound, delta, form, full_complexity
    )


# ---------------------------------------------------------------------------------------------
# Proposition 2


def prop2_complexity_terms(class_counts, lipschitz, complexity_constant: float = 1.0) -> dict[str, float]:
    """The complexity terms compared by 003 Prop. 2, under Asm. 1 with one constant K (C_S'(F) = K/sqrt(|S'|)).

    contraction (Thm 1): K/sqrt(N) / (C pi_C) sum_y mu_y sqrt(pi_y) = (K/(C N_C)) sum_y mu_y sqrt(N_y);
    union_global (Prop. 1 + Lemma 1 with one global constant max_y mu_y): (1/C) sum_y max(mu) K/sqrt(N_y);
    union_local (Prop. 1 with each class's own mu_y, also valid): (1/C) sum_y mu_y K/sqrt(N_y).
    """
    counts = _counts(class_counts)
    mu = _per_class(lipschitz, "lipschitz", counts.size)
    k = _scalar(complexity_constant, "complexity_constant")
    n = counts.astype(np.float64)
    c = counts.size
    return {
        "contraction": float(k * np.sum(mu * np.sqrt(n)) / (c * n.min())),
        "union_global": float(k * mu.max() * np.sum(1.0 / np.sqrt(n)) / c),
        "union_local": float(k * np.sum(mu / np.sqrt(n)) / c),
    }


def prop2_kappa_threshold_symbolic() -> dict[str, object]:
    """SymPy: with mu_y = N_y^{-kappa}, the per-class ratio contraction/union_global is r^{1 - kappa}, r = N_y/N_C.

    Returns the simplified ratio and the solution set of ratio < 1 in kappa for r > 1 (expected: kappa > 1),
    the set for ratio <= 1 (kappa >= 1), and the ratio against union_local (r: never below 1).
    """
    import sympy as sp

    r, kappa, n_c = sp.symbols("r kappa N_C", positive=True)
    n_y = r * n_c
    # per-class summands (common factors K / C dropped): contraction mu_y sqrt(N_y)/N_C, union mu_C / sqrt(N_y)
    contraction = n_y ** (-kappa) * sp.sqrt(n_y) / n_c
    union_global = n_c ** (-kappa) / sp.sqrt(n_y)
    union_local = n_y ** (-kappa) / sp.sqrt(n_y)
    ratio = sp.simplify(sp.powsimp(contraction / union_global, force=True))
    ratio_local = sp.simplify(sp.powsimp(contraction / union_local, force=True))
    s = sp.symbols("s", positive=True)  # r = 1 + s > 1
    log_ratio = sp.expand_log(sp.log(ratio.subs(r, 1 + s)), force=True)
    strict = sp.solve_univariate_inequality(log_ratio < 0, kappa, relational=False, domain=sp.S.Reals)
    weak = sp.solve_univariate_inequality(log_ratio <= 0, kappa, relational=False, domain=sp.S.Reals)
    return {"ratio": ratio, "ratio_local": ratio_local, "sharper_set": strict, "not_looser_set": weak}


def prop2_corrected(class_counts, kappa: float, complexity_constant: float = 1.0) -> dict[str, object]:
    """wang23.prop2_corrected: what Prop. 2 proves, with mu_y = N_y^{-kappa} and Asm. 1 (one constant K).

    (i) contraction <= union_global for every count vector iff kappa >= 1 (per class the ratio is
    (N_y/N_C)^{1 - kappa}); strictly smaller iff kappa > 1 and the counts are not all equal;
    (ii) contraction >= union_local for every kappa (per-class ratio N_y/N_C >= 1): against a union bound
    that also uses the local constants, Thm 1 is never sharper; (iii) only complexity terms are compared:
    Thm 1's empirical and confidence terms carry the factor N/(C N_C) and can dominate (see the errata).
    Returns the three terms and the booleans ``sharper_than_global``, ``not_sharper_than_local``,
    ``predicted_sharper`` (kappa > 1 and imbalanced), ``predicted_not_looser`` (kappa >= 1).
    """
    counts = _counts(class_counts)
    kappa = _scalar(kappa, "kappa", nonnegative=False)
    mu = counts.astype(np.float64) ** (-kappa)
    terms = prop2_complexity_terms(counts, mu, complexity_constant)
    tolerance = 1e-12 * max(terms.values())
    return {
        **terms,
        "sharper_than_global": terms["contraction"] < terms["union_global"] - tolerance,
        "not_looser_than_global": terms["contraction"] <= terms["union_global"] + tolerance,
        "not_sharper_than_local": terms["contraction"] >= terms["union_local"] - tolerance,
        "predicted_sharper": bool(kappa > 1 and counts.min() < counts.max()),
        "predicted_not_looser": bool(kappa >= 1 or counts.min() == counts.max()),
    }


# ---------------------------------------------------------------------------------------------
# certified evaluation on Outputs: grids (fixed before seeing any data) and the truncated VS loss

RADIUS_GRID = 2.0 ** (np.arange(-40, 81) / 2.0)  # Frobenius radius of [W, b]: 121 values, 1e-6 .. 1.1e12
LOSS_CAP_GRID = 2.0 ** (np.arange(-20, 61) / 2.0)  # truncation level M: 81 values
BOX_GRID = np.concatenate(
    [[-np.inf], -(2.0 ** (np.arange(40, -21, -1) / 2.0)), [0.0], 2.0 ** (np.arange(-20, 41) / 2.0), [np.inf]]
)


def _grid_up(grid: np.ndarray, value: float) -> float:
    """Smallest grid value >= value (the last one if none is)."""
    index = int(np.searchsorted(grid, value, side="left"))
    return float(grid[min(index, grid.size - 1)])


def _grid_down(grid: np.ndarray, value: float) -> float:
    index = int(np.searchsorted(grid, value, side="right")) - 1
    return float(grid[max(index, 0)])


def _vs_from_metadata(outputs, alpha=None, beta=None, logit_shift=None):
    meta = outputs.metadata or {}
    missing = meta.get("loss_parameters_missing")
    if missing and alpha is None and beta is None and logit_shift is None:
        # the checkpoint's loss could not be read (ltbounds.outputs.training_loss_parameters): never assume CE
        raise InputError(f"the training loss's VS parameters are unknown: {missing}; pass alpha, beta and logit_shift")
    alpha = meta.get("alpha") if alpha is None else alpha
    beta = meta.get("beta") if beta is None else beta
    logit_shift = meta.get("logit_shift", meta.get("Delta")) if logit_shift is None else logit_shift
    return vs_parameters(outputs.num_classes, alpha, beta, logit_shift)


def _head(outputs) -> tuple[np.ndarray, float]:
    """Features the head acts on (bias as a constant-1 column) and the head's Frobenius radius."""
    if outputs.head_kind == "cosine":
        norms = np.linalg.norm(outputs.embeddings, axis=1, keepdims=True)
        features = outputs.embeddings / np.maximum(norms, 1e-300)
        return features, float(outputs.head_scale * math.sqrt(outputs.num_classes))
    features = np.hstack([outputs.embeddings, np.ones((outputs.num_samples, 1))])
    return features, float(np.linalg.norm(np.hstack([outputs.head_weight, outputs.head_bias[:, None]])))


def _head_reproduces_logits(outputs) -> bool:
    if outputs.head_kind == "cosine":
        w = outputs.head_weight / np.maximum(np.linalg.norm(outputs.head_weight, axis=1, keepdims=True), 1e-300)
        features, _ = _head(outputs)
        predicted = outputs.head_scale * features @ w.T
    else:
        predicted = outputs.embeddings @ outputs.head_weight.T + outputs.head_bias
    scale = max(1.0, float(np.abs(outputs.logits).max(initial=0.0)))
    return bool(np.allclose(predicted, outputs.logits, rtol=1e-4, atol=1e-4 * scale))


def _clip_box(logits: np.ndarray, labels: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """Clamp target logits to >= lower and the others to <= upper (the projection onto Prop. 3's box)."""
    clipped = np.minimum(logits, upper)
    rows = np.arange(labels.size)
    clipped[rows, labels] = np.maximum(logits[rows, labels], lower)
    return clipped


def _class_means(values: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    sums = np.bincount(labels, weights=values, minlength=num_classes)
    counts = np.bincount(labels, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


@dataclass(frozen=True)
class _Setup:
    """Everything the certified evaluators share for one model."""

    counts_train: np.ndarray  # per-class samples in the training split (N_y of the bound)
    features: np.ndarray
    radius: float  # grid radius r_j >= ||[W, b]||_F
    loss_cap: float  # grid M_k >= the VS loss bound at the logit bound U (so >= every training loss)
    logit_bound: float  # U = r max_i ||[x_i, 1]|| over the training split
    alpha: np.ndarray
    beta: np.ndarray
    shift: np.ndarray
    global_mu: np.ndarray  # alpha_y beta~_y: Lipschitz constant for every f
    per_class_vector_complexity: np.ndarray  # R^vec_{S_y}(F_r), closed form
    full_vector_complexity: float
    train_losses: np.ndarray  # truncated VS loss per training sample
    assumptions: tuple[Assumption, ...]


@functools.lru_cache(maxsize=2)
def _setup(outputs) -> _Setup:
    # Outputs hash by identity (eq=False) and are frozen: the evaluators of one checkpoint share this work.
    train = outputs
    c = train.num_classes
    counts = np.bincount(train.labels, minlength=c)
    if np.any(counts < 1):
        missing = np.flatnonzero(counts < 1).tolist()[:10]
        raise InputError(f"the training split must contain every class (per-class bounds); missing {missing}")
    alpha, beta, shift = _vs_from_metadata(train)
    features, norm = _head(train)
    radius = _grid_up(RADIUS_GRID, norm)
    losses = vs_loss(train.logits, train.labels, alpha, beta, shift)
    # |f(x)_k| <= ||[w_k, b_k]|| ||[x, 1]|| <= r max_i ||[x_i, 1]||: the logit bound U on the training points
    logit_bound = radius * float(np.sqrt(np.max(np.einsum("ij,ij->i", features, features))))
    worst = float(vs_loss_bound(logit_bound, alpha, beta, shift).max())
    loss_cap = _grid_up(LOSS_CAP_GRID, max(worst, float(losses.max())))
    # closed form per class, (r / N_y) sqrt(C sum_{i in S_y} ||x_i||^2), from one pass over the features
    squared = np.bincount(train.labels, weights=np.einsum("ij,ij->i", features, features), minlength=c)
    per_class = radius * np.sqrt(c * squared) / counts
    full = linear_complexity_closed_form(features, radius, c)
    # Read from the provenance the code that made the features recorded (metadata
    # "features_independent_of_train"; the coverage study sets it for its raw Gaussian inputs). Absent, the
    # features are a trained backbone's (this toolkit trains end to end), which fails the assumption.
    independent = bool((train.metadata or {}).get("features_independent_of_train", False))
    assumptions = (
        Assumption(
            "frozen_features",
            "the certified forms bound a linear head fitted on fixed features that do not depend on the training "
            "sample (e.g. cRT on a backbone trained on other data, or raw inputs): the uniform bound is over heads "
            "only. A network trained end to end (backbone fitted on this sample) fails this and nothing is "
            "certified for it; the metadata flag features_independent_of_train records the features' provenance",
            independent,
        ),
        Assumption(
            "linear_head",
            "the logits are the (linear or cosine) head applied to the embeddings",
            _head_reproduces_logits(train),
        ),
        Assumption("radius_in_grid", "the head's norm is inside the radius grid", bool(norm <= RADIUS_GRID[-1])),
        # The sampling model (samples of class y iid from D_y given the labels) is the premise of every
        # probability-(1 - delta) statement, as for elm/concentration, not a property of these inputs: it is
        # stated in docs/certified_constants.md, not reported here as a checked assumption (nothing checks it).
    )
    return _Setup(
        counts_train=counts,
        features=features,
        radius=radius,
        loss_cap=loss_cap,
        logit_bound=logit_bound,
        alpha=alpha,
        beta=beta,
        shift=shift,
        global_mu=alpha * beta_tilde(beta),
        per_class_vector_complexity=per_class,
        full_vector_complexity=full,
        train_losses=np.minimum(losses, loss_cap),
        assumptions=assumptions,
    )


def _test_class_risks(splits: EvaluationSplits, setup: _Setup, box: tuple[float, float] | None = None) -> np.ndarray:
    test = splits.test
    c = setup.counts_train.size
    if test is None:
        return np.full(c, np.nan)
    logits = test.logits if box is None else _clip_box(test.logits, test.labels, *box)
    losses = np.minimum(vs_loss(logits, test.labels, setup.alpha, setup.beta, setup.shift), setup.loss_cap)
    return _class_means(losses, test.labels, c)


def _balanced(values: np.ndarray) -> float:
    return float(np.mean(values)) if np.all(np.isfinite(values)) else math.nan


def _grid_delta(delta: float, *grid_sizes: int) -> float:
    return delta / float(np.prod([float(size) for size in grid_sizes]))


def _evaluate_prop1(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    delta = check_delta(delta)
    setup = _setup(splits.train)
    c = setup.counts_train.size
    risks = _class_means(setup.train_losses, splits.train.labels, c)
    test = _test_class_risks(splits, setup)
    results = []
    for form, d in (("certified", _grid_delta(delta, RADIUS_GRID.size, LOSS_CAP_GRID.size)), ("as_printed", delta)):
        complexity = contracted_complexities(setup.global_mu, setup.per_class_vector_complexity, form)
        bound = union_bound(setup.counts_train, risks, complexity, setup.loss_cap, d, form)
        terms = {
            **bound.terms,
            "loss_cap_M": setup.loss_cap,
            "logit_bound_U": setup.logit_bound,
            "radius": setup.radius,
            "delta_used": d,
        }
        results.append(
            BoundResult(
                "wang23.prop1",
                form,
                bound.value,
                _balanced(test),
                terms,
                setup.assumptions,
                None,
                "train",
                "balanced risk of the VS loss truncated at M",
            )
        )
        for y in range(c):
            results.append(
                BoundResult(
                    "wang23.prop1",
                    form,
                    float(bound.per_class[y]),
                    float(test[y]),
                    {"empirical": float(risks[y]), "complexity": float(complexity[y])},
                    setup.assumptions,
                    y,
                    "train",
                )
            )
    return results


def _evaluate_lemma2(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    delta = check_delta(delta)
    setup = _setup(splits.train)
    test = _test_class_risks(splits, setup)
    empirical = float(setup.train_losses.mean())
    results = []
    for form, d in (("certified", _grid_delta(delta, RADIUS_GRID.size, LOSS_CAP_GRID.size)), ("as_printed", delta)):
        # one Lipschitz constant over all of S (vector contraction over the whole sample)
        factor = SQRT2 if form == "certified" else 1.0
        complexity = factor * float(setup.global_mu.max()) * setup.full_vector_complexity
        bound = lemma2_bound(setup.counts_train, empirical, complexity, setup.loss_cap, d, form)
        results.append(
            BoundResult(
                "wang23.lemma2",
                form,
                bound.value,
                _balanced(test),
                {**bound.terms, "loss_cap_M": setup.loss_cap, "delta_used": d},
                setup.assumptions,
                None,
                "train",
                "balanced risk of the VS loss truncated at M",
            )
        )
    return results


def _fixed_model_assumption(split_name: str, heldout: bool) -> Assumption:
    return Assumption("fixed_model", "mu_y computed on a split the model never trained on", heldout)


def _fixed_model_candidates(splits: EvaluationSplits) -> list[tuple[object, bool]]:
    """(outputs, is_heldout): the held-out split when it holds every class (certified there), then train."""
    heldout = splits.heldout
    usable = heldout is not None and np.all(np.bincount(heldout.labels, minlength=heldout.num_classes) > 0)
    return ([(heldout, True)] if usable else []) + [(splits.train, False)]


def _evaluate_lemma3(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    results = []
    candidates = _fixed_model_candidates(splits)
    for outputs, heldout in candidates:
        setup = _setup(outputs)
        local = vs_local_lipschitz(outputs=outputs, reading="corrected")
        assumptions = setup.assumptions + (_fixed_model_assumption(outputs.split, heldout),)
        priors = setup.counts_train / setup.counts_train.sum()
        if heldout:
            value = data_dependent_contraction(setup.counts_train, local.mu, setup.per_class_vector_complexity)
            results.append(
                BoundResult(
                    "wang23.lemma3",
                    "certified",
                    value,
                    math.nan,
                    {
                        "global_mu_version": data_dependent_contraction(
                            setup.counts_train, setup.global_mu, setup.per_class_vector_complexity
                        )
                    },
                    assumptions,
                    None,
                    outputs.split,
                    "R_S(G) of the heads whose logits on S stay in the box of the corrected Lemma 4",
                )
            )
        printed = vs_local_lipschitz(outputs=outputs, reading="as_printed")
        value = data_dependent_contraction(
            setup.counts_train, printed.mu, full_complexity=setup.full_vector_complexity, form="as_printed"
        )
        results.append(
            BoundResult(
                "wang23.lemma3",
                "as_printed",
                value,
                math.nan,
                {"sum_mu_sqrt_pi": float(np.sum(printed.mu * np.sqrt(priors)))},
                assumptions,
                None,
                outputs.split,
            )
        )
    return results


def _evaluate_thm1(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    delta = check_delta(delta)
    setup = _setup(splits.train)
    c = setup.counts_train.size
    risks = _class_means(setup.train_losses, splits.train.labels, c)
    test = _test_class_risks(splits, setup)
    results = []
    for form, d in (("certified", _grid_delta(delta, RADIUS_GRID.size, LOSS_CAP_GRID.size)), ("as_printed", delta)):
        bound = contraction_bound(
            setup.counts_train,
            risks,
            setup.global_mu,
            setup.per_class_vector_complexity,
            setup.loss_cap,
            d,
            form,
            full_complexity=setup.full_vector_complexity,
        )
        results.append(
            BoundResult(
                "wang23.thm1",
                form,
                bound.value,
                _balanced(test),
                {**bound.terms, "loss_cap_M": setup.loss_cap, "delta_used": d},
                setup.assumptions,
                None,
                "train",
                "mu_y = alpha_y beta~_y (valid for every f); balanced risk of the VS loss truncated at M",
            )
        )
    return results


def _evaluate_prop2(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    results = []
    candidates = _fixed_model_candidates(splits)
    counts = splits.train.class_counts
    for outputs, heldout in candidates:
        mu = vs_local_lipschitz(outputs=outputs, reading="corrected").mu
        kappa = (
            -float(np.polyfit(np.log(counts), np.log(np.maximum(mu, 1e-300)), 1)[0]) if np.ptp(counts) > 0 else math.nan
        )
        terms = prop2_complexity_terms(counts, mu)
        assumptions = (
            Assumption("kappa_above_one", "mu_y ~ N_y^{-kappa} with fitted kappa > 1", bool(kappa > 1)),
            _fixed_model_assumption(outputs.split, heldout),
        )
        results.append(
            BoundResult(
                "wang23.prop2",
                "shape" if heldout else "as_printed",
                terms["union_global"],
                terms["contraction"],
                {**terms, "fitted_kappa": kappa},
                assumptions,
                None,
                outputs.split,
                "measured = Thm 1 complexity term, value = union-bound term with the global constant",
            )
        )
    return results


def _evaluate_prop2_corrected(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    counts = splits.train.class_counts
    results = []
    for kappa in (0.5, 1.0, 2.0):
        check = prop2_corrected(counts, kappa)
        terms = {k: float(v) for k, v in check.items()}
        results.append(
            BoundResult(
                "wang23.prop2_corrected",
                "corrected",
                check["union_global"],
                check["contraction"],
                {**terms, "kappa": kappa},
                (Assumption("kappa_at_least_one", "kappa >= 1", kappa >= 1),),
                None,
                "train",
                "mu_y = N_y^-kappa on the training counts; measured = Thm 1 term, value = union (global mu)",
            )
        )
    return results


def _lemma4_rows(splits: EvaluationSplits, delta: float, reading: str, form: str, statement: str) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    alpha, beta, shift = _vs_from_metadata(outputs)
    gradients = vs_gradient_norm(outputs.logits, outputs.labels, alpha, beta, shift)
    c = outputs.num_classes
    largest = np.full(c, -np.inf)
    np.maximum.at(largest, outputs.labels, gradients)
    mu = vs_local_lipschitz(outputs=outputs, reading=reading).mu
    return [
        BoundResult(
            statement,
            form,
            float(mu[y]),
            float(largest[y]),
            {"beta_tilde": float(beta_tilde(beta)[y])},
            (),
            y,
            outputs.split,
            "measured = largest gradient norm of the VS loss over S_y",
        )
        for y in range(c)
    ]


def _evaluate_lemma4(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    return _lemma4_rows(splits, delta, "as_printed", "as_printed", "wang23.lemma4")


def _evaluate_lemma4_corrected(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    return _lemma4_rows(splits, delta, "corrected", "corrected", "wang23.lemma4_corrected")


def _evaluate_prop3(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    delta = check_delta(delta)
    setup = _setup(splits.train)
    c = setup.counts_train.size
    lower, upper = logit_extremes(splits.train.logits, splits.train.labels, c)
    b = _grid_down(BOX_GRID, float(lower.min()))
    a = _grid_up(BOX_GRID, float(upper.max()))
    d = _grid_delta(delta, RADIUS_GRID.size, LOSS_CAP_GRID.size, BOX_GRID.size, BOX_GRID.size)
    risks = _class_means(setup.train_losses, splits.train.labels, c)  # box holds on S: clipping is inactive there
    test = _test_class_risks(splits, setup, box=(b, a))
    certified = vs_contraction_bound(
        setup.counts_train,
        risks,
        np.full(c, b),
        np.full(c, a),
        setup.per_class_vector_complexity,
        setup.loss_cap,
        d,
        setup.alpha,
        setup.beta,
        setup.shift,
        form="certified",
    )
    printed = vs_contraction_bound(
        setup.counts_train,
        risks,
        lower,
        upper,
        setup.per_class_vector_complexity,
        setup.loss_cap,
        delta,
        setup.alpha,
        setup.beta,
        setup.shift,
        form="as_printed",
        full_complexity=setup.full_vector_complexity,
    )
    plain_test = _balanced(_test_class_risks(splits, setup))
    return [
        BoundResult(
            "wang23.prop3",
            "certified",
            certified.value,
            _balanced(test),
            {**certified.terms, "box_lower": b, "box_upper": a, "delta_used": d},
            setup.assumptions,
            None,
            "train",
            "balanced risk of the box-clipped VS loss truncated at M (<= the VS risk)",
        ),
        BoundResult(
            "wang23.prop3",
            "as_printed",
            printed.value,
            plain_test,
            dict(printed.terms),
            setup.assumptions,
            None,
            "train",
            "mu_y from the printed Lemma 4 (not a valid Lipschitz constant in general)",
        ),
    ]


def _evaluate_remark2(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    left, right = remark2_sides(outputs.logits, outputs.labels, outputs.num_classes)
    return [
        BoundResult(
            "wang23.remark2",
            "as_printed",
            float(right[y]),
            float(left[y]),
            {},
            (),
            y,
            outputs.split,
            "B_y(f) - margin_y <= max_{x in S_y, j != y} f(x)_j",
        )
        for y in range(left.size)
    ]


STATEMENTS = (
    Statement(
        "wang23.prop1",
        "003, Proposition 1 (eq. 7)",
        "bound",
        "union bound over class-wise Rademacher bounds (certified: a linear head on sample-independent features)",
        _evaluate_prop1,
    ),
    Statement(
        "wang23.lemma2",
        "003, Lemma 2 (eq. 11)",
        "bound",
        "balanced risk <= (1/(C pi_C)) x imbalanced-risk bound (certified: a linear head on fixed features)",
        _evaluate_lemma2,
    ),
    Statement(
        "wang23.lemma3", "003, Lemma 3 (eq. 13)", "inequality", "data-dependent contraction of R_S(G)", _evaluate_lemma3
    ),
    Statement(
        "wang23.thm1",
        "003, Theorem 1 (eq. 14)",
        "bound",
        "data-dependent bound for imbalanced learning (certified: a linear head on features independent of the sample)",
        _evaluate_thm1,
    ),
    Statement(
        "wang23.prop2",
        "003, Proposition 2",
        "inequality",
        "Thm 1 sharper than the union bound when mu_y ~ N_y^-kappa, kappa > 1",
        _evaluate_prop2,
    ),
    Statement(
        "wang23.lemma4",
        "003, Lemma 4 (eq. 15)",
        "inequality",
        "local Lipschitz constants of the VS loss (printed reading)",
        _evaluate_lemma4,
    ),
    Statement(
        "wang23.lemma4_corrected",
        "003, Lemma 4 (corrected here)",
        "inequality",
        "local Lipschitz constants of the VS loss on the logit box [B_y, A_y]",
        _evaluate_lemma4_corrected,
    ),
    Statement(
        "wang23.prop2_corrected",
        "003, Proposition 2 (corrected here)",
        "inequality",
        "complexity terms: Thm 1 <= union (global mu) iff kappa >= 1; never below union (local mu)",
        _evaluate_prop2_corrected,
    ),
    Statement(
        "wang23.prop3",
        "003, Proposition 3 (eq. 16)",
        "bound",
        "data-dependent bound for the VS loss (certified: a linear head on features independent of the sample)",
        _evaluate_prop3,
    ),
    Statement(
        "wang23.remark2",
        "003, Remark 2",
        "inequality",
        "B_y(f) - margin_y <= max_{x in S_y, j != y} f(x)_j",
        _evaluate_remark2,
    ),
)


# ---------------------------------------------------------------------------------------------
# Statements added by the completeness pass (issue 11, section 2): Lemma 1, the VS family, the
# prior sum of eq. (14), the ADRW remark of Sec. 3.3 and insight (In4-a). Appended here so the
# evaluators above stay untouched.

_MAX_ENUMERATED_SIGNS = 16  # 2^16 sign vectors: exact Rademacher averages stay a few milliseconds


def _all_signs(count: int) -> np.ndarray:
    """Every vector in {-1, +1}^count, one per row (2^count rows)."""
    if count > _MAX_ENUMERATED_SIGNS:
        raise InputError(f"exact Rademacher averages enumerate 2^n signs; n = {count} > {_MAX_ENUMERATED_SIGNS}")
    bits = (np.arange(2**count)[:, None] >> np.arange(count)[None, :]) & 1
    return 2.0 * bits - 1.0


def finite_class_rademacher(values) -> float:
    """Exact empirical Rademacher complexity of a finite real class, E_xi max_j (1/n) sum_i xi_i g_j(z_i).

    ``values`` (m, n): row j = the values of g_j on the n samples. Definition of 003, Prop. 1 (no absolute
    value). Enumerates all 2^n signs (n <= 16). Units: those of g.
    """
    v = check_finite(np.asarray(values, dtype=np.float64), "values")
    if v.ndim != 2 or v.shape[0] < 1 or v.shape[1] < 1:
        raise InputError(f"values must be (functions, samples) with both >= 1, got shape {v.shape}")
    signs = _all_signs(v.shape[1])
    return float(np.mean(np.max(signs @ v.T, axis=1)) / v.shape[1])


def finite_class_vector_rademacher(values) -> float:
    """Exact vector Rademacher complexity E_xi max_j (1/n) sum_i sum_k xi_ik f_j(x_i)_k of a finite class.

    ``values`` (m, n, C): the C outputs of f_j on the n samples. One independent sign per sample and output,
    the quantity Maurer's (2016) vector contraction needs. Enumerates 2^(nC) signs (nC <= 16).
    """
    v = check_finite(np.asarray(values, dtype=np.float64), "values")
    if v.ndim != 3 or min(v.shape) < 1:
        raise InputError(f"values must be (functions, samples, outputs) with all >= 1, got shape {v.shape}")
    n = v.shape[1]
    return finite_class_rademacher(v.reshape(v.shape[0], -1)) * (v.shape[1] * v.shape[2]) / n


def lipschitz_on_class(hypothesis_values, loss_values) -> float:
    """Smallest mu with |L(f(x_i)) - L(f'(x_i))| <= mu ||f(x_i) - f'(x_i)|| for all f, f' in the class and all i.

    ``hypothesis_values`` (m, n, C), ``loss_values`` (m, n): 003, Def. 1 on a finite class. Pairs with equal
    outputs must have equal losses (else no finite mu exists: InputError).
    """
    f = check_finite(np.asarray(hypothesis_values, dtype=np.float64), "hypothesis_values")
    g = check_finite(np.asarray(loss_values, dtype=np.float64), "loss_values")
    if f.ndim != 3 or g.shape != f.shape[:2]:
        raise InputError(f"hypothesis_values (m, n, C) and loss_values (m, n) disagree: {f.shape} vs {g.shape}")
    difference = f[:, None] - f[None, :]
    # scaled Euclidean norm: squaring tiny differences would underflow to a distance of 0
    largest = np.max(np.abs(difference), axis=3, keepdims=True)
    safe = np.where(largest > 0, largest, 1.0)
    distance = largest[..., 0] * np.sqrt(np.sum((difference / safe) ** 2, axis=3))
    change = np.abs(g[:, None] - g[None, :])
    if np.any((distance == 0) & (change > 0)):
        raise InputError("loss_values differ where the hypothesis values agree: L is not a function of f(x)")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(distance > 0, change / np.where(distance > 0, distance, 1.0), 0.0)
    return float(ratio.max(initial=0.0))


def contraction_lemma_sides(hypothesis_values, loss_values, lipschitz=None) -> dict[str, float]:
    """003, Lemma 1 (eq. 9) on a finite class, exactly: R_S(G), mu R^vec_S(F) (printed) and sqrt(2) mu R^vec_S(F).

    The printed ``C^_S(G) <= mu C^_S(F)`` is false with R^vec read for C^_S(F) (errata wang23.lemma1);
    Maurer (2016, Cor. 1) proves it with the factor sqrt(2) (wang23.lemma1_corrected). mu defaults to the
    tight constant ``lipschitz_on_class``.
    """
    mu = lipschitz_on_class(hypothesis_values, loss_values) if lipschitz is None else _scalar(lipschitz, "lipschitz")
    loss_complexity = finite_class_rademacher(loss_values)
    vector = finite_class_vector_rademacher(hypothesis_values)
    return {
        "loss_class_complexity": loss_complexity,
        "vector_complexity": vector,
        "lipschitz": mu,
        "printed_bound": mu * vector,
        "maurer_bound": SQRT2 * mu * vector,
    }


def _lemma1_class(outputs) -> tuple[np.ndarray, np.ndarray]:
    """A finite class from a checkpoint: F = {0, f} on a few training samples and k <= 4 logit coordinates.

    k and the sample count keep n k <= 16 (exact enumeration); samples are the first ones with a label < k,
    L is cross-entropy on the k coordinates. Returns (hypothesis values (2, n, k), losses (2, n)).
    """
    k = min(outputs.num_classes, 4)
    rows = np.flatnonzero(outputs.labels < k)[: max(1, _MAX_ENUMERATED_SIGNS // k)]
    logits = outputs.logits[rows][:, :k]
    labels = outputs.labels[rows]
    values = np.stack([np.zeros_like(logits), logits])
    losses = np.stack([vs_loss(v, labels) for v in values])
    return values, losses


def _evaluate_lemma1(statement: str):
    def evaluate(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
        check_delta(delta)
        outputs = splits.train
        values, losses = _lemma1_class(outputs)
        if values.shape[1] == 0:
            raise InputError("wang23.lemma1 needs a training sample with label < 4")
        sides = contraction_lemma_sides(values, losses)
        printed = statement == "wang23.lemma1"
        form, value = ("as_printed", sides["printed_bound"]) if printed else ("corrected", sides["maurer_bound"])
        return [
            BoundResult(
                statement,
                form,
                float(value),
                sides["loss_class_complexity"],
                {**sides, "samples": float(values.shape[1]), "outputs": float(values.shape[2])},
                (Assumption("lipschitz_on_class", "mu: the tight Lipschitz constant of L on the class", True),),
                None,
                outputs.split,
                "F = {0, f} on the first training samples and <= 4 logit coordinates, L = CE; exact Rademacher "
                "averages over all signs: R_S(L o F) (measured) <= "
                + ("mu R^vec_S(F) (printed)" if form == "as_printed" else "sqrt(2) mu R^vec_S(F) (Maurer 2016)"),
            )
        ]

    return evaluate


def vs_family_parameters(class_counts, member: str, tau: float = 1.0, p: float = 0.9999, gamma: float = 0.5):
    """003, Sec. 2.1: the VS parameters (alpha, beta, Delta) that recover a named loss.

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
    raise InputError(f"member must be one of ce, balanced, class_balanced, logit_adjusted, cdt; got {member!r}")


def fisher_loss(logits, labels, priors, delta_weights) -> np.ndarray:
    """003, eq. (4): (delta_y / pi_y) log[1 + sum_{y' != y} (delta_y'/delta_y) e^{f_y' - f_y}], per sample.

    Equal to the VS loss with alpha = delta/pi, beta = 1, Delta = log delta (``wang23.vs_family``).
    """
    z, y = _logits_labels(logits, labels)
    pi = _per_class(priors, "priors", z.shape[1])
    d = _per_class(delta_weights, "delta_weights", z.shape[1])
    if np.any(pi <= 0) or np.any(d <= 0):
        raise InputError("priors and delta_weights must be > 0 (eq. 4 divides by both)")
    rows = np.arange(y.size)
    exponent = z - z[rows, y][:, None] + np.log(d)[None, :] - np.log(d[y])[:, None]
    exponent[rows, y] = -np.inf
    return d[y] / pi[y] * np.logaddexp(0.0, np.logaddexp.reduce(exponent, axis=1))


_VS_MEMBERS = ("ce", "balanced", "class_balanced", "logit_adjusted", "cdt")


def _cdt_beta_tilde_rows(counts: np.ndarray, gamma: float = 0.5) -> np.ndarray:
    return beta_tilde(vs_family_parameters(counts, "cdt", gamma=gamma)[1])


def _evaluate_vs_family(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    z, y, counts = outputs.logits, outputs.labels, outputs.class_counts
    pi = outputs.priors
    rows = np.arange(y.size)
    log_softmax = _log_softmax(z)
    references = {
        "ce": -log_softmax[rows, y],
        "balanced": -log_softmax[rows, y] / pi[y],
        "class_balanced": -log_softmax[rows, y] * vs_family_parameters(counts, "class_balanced")[0][y],
        "logit_adjusted": -_log_softmax(z + np.log(pi))[rows, y],
        "cdt": -_log_softmax(z * vs_family_parameters(counts, "cdt")[1])[rows, y],
    }
    results = []
    for member in _VS_MEMBERS:
        vs = vs_loss(z, y, *vs_family_parameters(counts, member))
        gap = float(np.max(np.abs(vs - references[member]) / np.maximum(1.0, np.abs(references[member]))))
        results.append(
            BoundResult(
                "wang23.vs_family",
                "as_printed",
                1e-9,
                gap,
                {"max_relative_gap": gap},
                (),
                None,
                outputs.split,
                f"identity: VS loss with the {member} parameters vs the {member} loss written directly",
            )
        )
    fisher_delta = np.sqrt(pi)  # any positive delta; sqrt(pi) sits between balanced (1) and LA (pi)
    fisher = fisher_loss(z, y, pi, fisher_delta)
    vs = vs_loss(z, y, fisher_delta / pi, 1.0, np.log(fisher_delta))
    gap = float(np.max(np.abs(vs - fisher) / np.maximum(1.0, np.abs(fisher))))
    results.append(
        BoundResult(
            "wang23.vs_family",
            "as_printed",
            1e-9,
            gap,
            {"max_relative_gap": gap},
            (),
            None,
            outputs.split,
            "identity: eq. (4) with delta = sqrt(pi) vs the VS loss (alpha = delta/pi, beta = 1, Delta = log delta)",
        )
    )
    return results


def _evaluate_sqrt_prior_sum(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    total = float(np.sqrt(outputs.priors).sum())
    several = int(np.count_nonzero(outputs.class_counts)) >= 2
    return [
        BoundResult(
            "wang23.sqrt_prior_sum",
            "as_printed",
            total,
            1.0,
            {"sum_sqrt_priors": total, "sqrt_num_classes": math.sqrt(outputs.num_classes)},
            (Assumption("two_classes", "at least two classes have samples (else the sum is exactly 1)", several),),
            None,
            outputs.split,
            "1 (measured) < sum_y sqrt(pi_y) (value) <= sqrt(C), Sec. 3.1 after eq. (14)",
        )
    ]


def fisher_family_mismatch(priors, alpha, logit_shift) -> float:
    """How far a VS loss with beta = 1 is from the Fisher family (4), in logit units.

    VS(alpha, 1, Delta) is in the family iff alpha_y = c delta_y / pi_y and Delta_y = log delta_y + c' for one
    delta > 0, i.e. iff Delta_y - log(alpha_y pi_y) is constant. Returns max - min of that vector (0: in the
    family). Source: 003, eq. (4) and the ADRW remark of Sec. 3.3.
    """
    pi = check_finite(np.asarray(priors, dtype=np.float64), "priors").reshape(-1)
    alpha, _, shift = vs_parameters(pi.size, alpha, None, logit_shift)
    if np.any(pi <= 0):
        raise InputError("priors must be > 0")
    residual = shift - np.log(alpha * pi)
    return float(residual.max() - residual.min())


def _evaluate_adrw_fisher(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    pi = outputs.priors
    results = []
    for nu in (0.5, 1.0, 2.0):
        alpha = pi**-nu
        readings = (("Delta = 0 (CE + ADRW)", np.zeros_like(pi)), ("Delta = (1 - nu) log pi", (1 - nu) * np.log(pi)))
        for reading, shift in readings:
            mismatch = fisher_family_mismatch(pi, alpha, shift)
            results.append(
                BoundResult(
                    "wang23.adrw_fisher",
                    "as_printed" if reading.startswith("Delta = 0") else "corrected",
                    1e-9 * max(1.0, float(np.abs(np.log(pi)).max())),
                    mismatch,
                    {"nu": nu, "fisher_family_mismatch": mismatch},
                    (),
                    None,
                    outputs.split,
                    f"alpha_y = pi_y^-nu, beta = 1, {reading}: distance from the Fisher family (4) (0 = a member, "
                    "Fisher consistent); on these class counts",
                )
            )
    return results


def beta_tilde_order_identity(beta) -> np.ndarray:
    """|left - right| per pair (C, C) of beta~_y^2 - beta~_k^2 = 2 (beta_y - beta_k)(beta_y + beta_k - sum_j beta_j).

    003, Lemma 4's beta~ and insight (In4-a). Returns |left - right| per pair (0 up to rounding). The sign of
    the right side gives the correction: for C >= 3 and beta > 0, beta_y + beta_k < sum_j beta_j, so a larger
    beta_y gives a *smaller* beta~_y.
    """
    b = check_finite(np.asarray(beta, dtype=np.float64), "beta").reshape(-1)
    bt2 = beta_tilde(b) ** 2
    left = bt2[:, None] - bt2[None, :]
    right = 2.0 * (b[:, None] - b[None, :]) * (b[:, None] + b[None, :] - b.sum())
    return np.abs(left - right)


def beta_tilde_discordant_pairs(priors, beta) -> int:
    """Pairs (y, k) with pi_y > pi_k and beta_y >= beta_k but beta~_y < beta~_k: each one contradicts (In4-a).

    (In4-a) claims beta~ inherits the increase of beta with pi_y (and so weakens alpha_y, which decreases).
    """
    pi = check_finite(np.asarray(priors, dtype=np.float64), "priors").reshape(-1)
    b = check_finite(np.asarray(beta, dtype=np.float64), "beta").reshape(-1)
    bt = beta_tilde(b)
    bigger = (pi[:, None] > pi[None, :]) & (b[:, None] >= b[None, :])
    return int(np.count_nonzero(bigger & (bt[:, None] < bt[None, :] * (1 - 1e-12))))


def _evaluate_in4a(corrected: bool):
    def evaluate(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
        check_delta(delta)
        outputs = splits.train
        _, own_beta, _ = _vs_from_metadata(outputs)
        results = []
        cdt_beta = vs_family_parameters(outputs.class_counts, "cdt")[1]
        for name, beta in (("checkpoint", own_beta), ("cdt_gamma_0.5", cdt_beta)):
            if corrected:
                gap = float(beta_tilde_order_identity(beta).max())
                scale = float(np.max(beta_tilde(beta) ** 2))
                results.append(
                    BoundResult(
                        "wang23.in4a_corrected",
                        "corrected",
                        1e-12 * max(1.0, scale),
                        gap,
                        {"max_identity_gap": gap},
                        (),
                        None,
                        outputs.split,
                        f"beta = {name}: beta~_y^2 - beta~_k^2 = 2 (beta_y - beta_k)(beta_y + beta_k - sum beta)",
                    )
                )
            else:
                discordant = beta_tilde_discordant_pairs(outputs.priors, beta)
                results.append(
                    BoundResult(
                        "wang23.in4a",
                        "as_printed",
                        0.0,
                        float(discordant),
                        {"discordant_pairs": float(discordant)},
                        (),
                        None,
                        outputs.split,
                        f"beta = {name}: pairs where the more frequent class (beta at least as large) has the smaller "
                        "beta~; (In4-a) says there are none",
                    )
                )
        return results

    return evaluate


__all__ += [
    "beta_tilde_discordant_pairs",
    "beta_tilde_order_identity",
    "contraction_lemma_sides",
    "finite_class_rademacher",
    "finite_class_vector_rademacher",
    "fisher_family_mismatch",
    "fisher_loss",
    "lipschitz_on_class",
    "vs_family_parameters",
]

STATEMENTS = STATEMENTS + (
    Statement(
        "wang23.lemma1",
        "003, Lemma 1 (eq. 9), Sec. 2.2",
        "inequality",
        "contraction lemma as printed: C^_S(G) <= mu C^_S(F) for a mu-Lipschitz loss of a vector-valued class",
        _evaluate_lemma1("wang23.lemma1"),
    ),
    Statement(
        "wang23.lemma1_corrected",
        "003, Lemma 1 (corrected: Maurer 2016, Cor. 1)",
        "inequality",
        "R_S(G) <= sqrt(2) mu R^vec_S(F), R^vec with one sign per sample and output",
        _evaluate_lemma1("wang23.lemma1_corrected"),
    ),
    Statement(
        "wang23.vs_family",
        "003, Sec. 2.1 (eq. 3 special cases and eq. 4)",
        "identity",
        "the VS loss recovers CE, the balanced, CB, LA and CDT losses, and contains the Fisher family (4)",
        _evaluate_vs_family,
    ),
    Statement(
        "wang23.sqrt_prior_sum",
        "003, Sec. 3.1, the remark after eq. (14)",
        "inequality",
        "sum_y sqrt(pi_y) > 1 (at least two non-empty classes), and <= sqrt(C)",
        _evaluate_sqrt_prior_sum,
    ),
    Statement(
        "wang23.adrw_fisher",
        "003, Sec. 3.3 (ADRW: 'also follows the Fisher consistency property')",
        "identity",
        "alpha_y ~ pi_y^-nu with beta = 1 is in the Fisher family (4) iff Delta_y = (1 - nu) log pi_y + const",
        _evaluate_adrw_fisher,
    ),
    Statement(
        "wang23.in4a",
        "003, Sec. 3.2, insight (In4-a)",
        "inequality",
        "beta_y increasing in pi_y makes beta~_y increasing in pi_y (so beta~ weakens alpha_y), as printed",
        _evaluate_in4a(False),
    ),
    Statement(
        "wang23.in4a_corrected",
        "003, Sec. 3.2, insight (In4-a) (corrected here)",
        "identity",
        "beta~_y^2 - beta~_k^2 = 2 (beta_y - beta_k)(beta_y + beta_k - sum beta): for C >= 3 a larger beta_y gives a "
        "smaller beta~_y; for C = 2 beta~ is the same for both classes",
        _evaluate_in4a(True),
    ),
)


def imbalance_factor_excess(class_counts) -> float:
    """1/(C pi_C) - 1 >= 0, zero iff the counts are balanced (003, Remark 1: Lemma 2's factor grows with imbalance).

    pi_C = N_C/N is the smallest prior; C pi_C <= sum_y pi_y = 1 because every pi_y >= pi_C.
    """
    counts = check_class_counts(class_counts, "class_counts").astype(np.float64)
    if np.any(counts <= 0):
        raise InputError("class_counts must be > 0 for every class (pi_C is the smallest prior)")
    return float(counts.sum() / (counts.size * counts.min()) - 1.0)


def _evaluate_remark1(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    counts = outputs.class_counts
    excess = imbalance_factor_excess(counts)
    return [
        BoundResult(
            "wang23.remark1",
            "as_printed",
            excess,
            0.0,
            {"imbalance_ratio": float(counts.max() / counts.min()), "one_over_C_pi_C": excess + 1.0},
            (),
            None,
            outputs.split,
            "0 (measured) <= 1/(C pi_C) - 1 (value), 0 iff the class counts are balanced",
        )
    ]


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
    more = pi[:, None] > pi[None, :]
    result = {}
    for name, (values, direction) in choices.items():
        step = direction * (values[:, None] - values[None, :])
        result[name] = int(np.count_nonzero(more & (step < -1e-12 * np.maximum(1.0, np.abs(values).max()))))
    return result


def _evaluate_in3(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    violations = in3_monotonicity_violations(outputs.class_counts)
    return [
        BoundResult(
            "wang23.in3",
            "as_printed",
            0.0,
            float(count),
            {"violating_pairs": float(count)},
            (),
            None,
            outputs.split,
            f"{name}: class pairs where it moves against (In3)'s direction in pi_y (measured) <= 0",
        )
        for name, count in violations.items()
    ]


__all__ += ["imbalance_factor_excess", "in3_monotonicity_violations"]

STATEMENTS = STATEMENTS + (
    Statement(
        "wang23.remark1",
        "003, Remark 1 (after Lemma 2)",
        "inequality",
        "1/(C pi_C) >= 1, with equality iff balanced: Lemma 2's factor grows with the imbalance",
        _evaluate_remark1,
    ),
    Statement(
        "wang23.in3",
        "003, Section 3.2, insight (In3)",
        "inequality",
        "the cited re-weighting terms decrease and the cited logit adjustments increase with pi_y",
        _evaluate_in3,
    ),
)

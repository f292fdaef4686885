"""wang23 (Wang et al., NeurIPS 2023; docs/papers.md): the generalisation bounds, Proposition 1 to Remark 2.

Pure functions of arrays (float64 NumPy, vectorised per class; ``class_counts`` = training N_y); every
function raises ``InputError`` naming the argument on bad input. The VS loss, its Lipschitz constants
(Lemma 4) and its special cases live in ``ltbounds.bounds.vs_family``; the evaluators that adapt a
model's outputs to these functions are declared in ``ltbounds.statements.wang23``.

    union_bound(class_counts, empirical_risks, loss_class_complexities, loss_bound, delta, form="certified")
        wang23, Prop. 1, eq. (7). Per class y: R^_y + c R_{S_y}(G) + 3M sqrt(ln(2C/delta)/(2N_y)), averaged
        over y; c = 2 (certified, Mohri et al. Thm 3.3 + a union bound over the C classes) or 1 (as printed).
        ``loss_class_complexities``: per-class R_{S_y}(G) of the loss class; from a Lipschitz constant use
        ``contracted_complexities(lipschitz, hypothesis_complexities)``.
    contraction_bound(class_counts, empirical_risks, lipschitz, hypothesis_complexities, loss_bound, delta,
                      form="certified", full_complexity=None)
        wang23, Thm 1, eq. (14) (Lemma 2 + Lemma 3). Certified:
        1/(C pi_C) [ sum_y pi_y R^_y + 2 sum_y pi_y sqrt(2) mu_y R^vec_{S_y}(F) + 3M sqrt(ln(2/delta)/(2N)) ].
        As printed: Phi(L, delta) + C_S(F)/(C pi_C) sum_y mu_y sqrt(pi_y) with C_S(F) = ``full_complexity``.
    vs_contraction_bound(...)
        wang23, Prop. 3, eq. (16): Thm 1 with the Lemma 4 constants of ``vs_family.vs_lipschitz_constants``.

Both bound functions return a ``GeneralizationBound`` (``value``, ``per_class``, ``terms``, ``form``).
For the studies: pass per-class arrays (e.g. hypothesis_complexities = K / sqrt(N_y) under Asm. 1,
full_complexity = K / sqrt(N)).

Lemma 1 (the contraction lemma) is checked exactly on finite classes (``contraction_lemma_sides``): the
Rademacher averages enumerate every sign vector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from ltbounds.bounds.complexity import rademacher_confidence_term
from ltbounds.bounds.vs_family import (
    _logits_labels,
    _per_class,
    _scalar,
    checked_logit_extremes,
    vs_lipschitz_constants,
)
from ltbounds.checks import InputError, check_class_counts, check_delta, check_finite
from ltbounds.per_class import class_margins

__all__ = [
    "GeneralizationBound",
    "contracted_complexities",
    "contraction_bound",
    "contraction_lemma_sides",
    "data_dependent_contraction",
    "finite_class_rademacher",
    "finite_class_vector_rademacher",
    "imbalance_factor_excess",
    "lemma2_bound",
    "lipschitz_on_class",
    "prop2_complexity_terms",
    "prop2_corrected",
    "prop2_kappa_threshold_symbolic",
    "remark2_sides",
    "union_bound",
    "vs_contraction_bound",
]

# the forms these bounds are computed in (a subset of ``bounds.result.Form``)
BoundForm = Literal["certified", "as_printed", "shape"]
FORMS_OF_BOUNDS: tuple[str, ...] = get_args(BoundForm)
SQRT2 = math.sqrt(2.0)


def _form(form: str) -> BoundForm:
    if form not in FORMS_OF_BOUNDS:
        raise InputError(f"form must be one of {FORMS_OF_BOUNDS}, got {form!r}")
    return form


def remark2_sides(logits, labels, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """wang23, Remark 2, per class: left = B_y(f) - margin_y, right = max_{x in S_y, j != y} f(x)_j.

    margin_y = min_{x in S_y} (f(x)_y - max_{j != y} f(x)_j). The remark claims left <= right.
    """
    z, y = _logits_labels(logits, labels)
    lower, upper = checked_logit_extremes(z, y, num_classes)
    return lower - class_margins(z, y, lower.size), upper


@dataclass(frozen=True)
class GeneralizationBound:
    """An upper bound on the balanced risk R_bal^L(f) = (1/C) sum_y R_y^L(f): ``value``, its terms."""

    value: float
    form: BoundForm
    per_class: np.ndarray | None = None  # per-class bounds (union bound) when the bound has them
    terms: dict = field(default_factory=dict)


def _counts(class_counts) -> np.ndarray:
    return check_class_counts(class_counts, "class_counts", minimum=1)


def contracted_complexities(lipschitz, hypothesis_complexities, form: BoundForm = "certified") -> np.ndarray:
    """Per-class loss-class complexities from Lipschitz constants: sqrt(2) mu_y R^vec_{S_y}(F) (certified,
    Maurer's vector contraction) or mu_y C_{S_y}(F) (wang23, Lemma 1 as printed / shape)."""
    mu = check_finite(np.asarray(lipschitz, dtype=np.float64), "lipschitz")
    rad = check_finite(np.asarray(hypothesis_complexities, dtype=np.float64), "hypothesis_complexities")
    if mu.shape != rad.shape:
        raise InputError(f"lipschitz {mu.shape} and hypothesis_complexities {rad.shape} must have the same shape")
    if np.any(mu < 0) or np.any(rad < 0):
        raise InputError("lipschitz and hypothesis_complexities must be >= 0")
    return (SQRT2 if _form(form) == "certified" else 1.0) * mu * rad


def _class_bound_inputs(
    class_counts, form, delta, empirical_risks
) -> tuple[np.ndarray, int, BoundForm, float, np.ndarray]:
    """Checked inputs of a bound from per-class training risks: (counts, C, form, delta, risks), checked in
    that order (the first bad one is named)."""
    counts = _counts(class_counts)
    c = counts.size
    return counts, c, _form(form), check_delta(delta), _per_class(empirical_risks, "empirical_risks", c)


def _imbalance_scaled(
    form: BoundForm, scale: float, empirical: float, complexity: float, confidence: float
) -> GeneralizationBound:
    """The shape of wang23's Lemma 2 and Thm 1: 1/(C pi_C) x (empirical + complexity + confidence), each term
    reported scaled by ``scale`` = 1/(C pi_C)."""
    return GeneralizationBound(
        value=scale * (empirical + complexity + confidence),
        form=form,
        terms={
            "imbalance_factor": scale,
            "empirical": scale * empirical,
            "complexity": scale * complexity,
            "confidence": scale * confidence,
        },
    )


def union_bound(
    class_counts, empirical_risks, loss_class_complexities, loss_bound, delta, form: BoundForm = "certified"
) -> GeneralizationBound:
    """wang23, Prop. 1 (eq. 7): R_bal <= (1/C) sum_y [R^_y + c R_{S_y}(G) + 3M sqrt(ln(2C/delta)/(2 N_y))].

    Certified (c = 2): conditionally on the labels, S_y is an iid sample of size N_y from D_y; apply the
    Rademacher bound (Mohri et al. Thm 3.3) to each class at level delta/C and take a union bound over the
    C classes. As printed / shape: c = 1. Loss values in [0, M]. Per-class bounds in ``per_class``.
    """
    counts, c, form, delta, risks = _class_bound_inputs(class_counts, form, delta, empirical_risks)
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
    # 1 / (C pi_C) = N / (C N_min); pi_C is the smallest prior (wang23, sorts N_1 >= ... >= N_C).
    return float(counts.sum() / (counts.size * counts.min()))


def lemma2_bound(
    class_counts, empirical_risk, loss_class_complexity, loss_bound, delta, form: BoundForm = "certified"
) -> GeneralizationBound:
    """wang23, Lemma 2 (eq. 11): R_bal <= 1/(C pi_C) [R^ + c R_S(G) + 3M sqrt(ln(2/delta)/(2N))].

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
    return _imbalance_scaled(form, scale, risk, factor * rad, confidence)


def data_dependent_contraction(
    class_counts, lipschitz, hypothesis_complexities=None, full_complexity=None, form: BoundForm = "certified"
) -> float:
    """wang23, Lemma 3 (eq. 13), the right-hand side bounding R_S(G).

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
    form: BoundForm = "certified",
    full_complexity=None,
) -> GeneralizationBound:
    """wang23, Thm 1 (eq. 14): R_bal <= Phi(L, delta) + complexity term (see the module docstring).

    Certified: 1/(C pi_C) [sum_y pi_y R^_y + 2 sum_y pi_y sqrt(2) mu_y R^vec_{S_y}(F)
    + 3M sqrt(ln(2/delta)/(2N))] (Lemma 2 certified + Lemma 3 certified). Valid when mu_y are local
    Lipschitz constants of L(., y) on S_y for *every* f in F (Def. 2), fixed before seeing S or
    stratified. As printed / shape: Phi + C_S(F)/(C pi_C) sum_y mu_y sqrt(pi_y); ``full_complexity`` =
    C_S(F); if omitted, max_y R^vec_{S_y}(F) sqrt(pi_y) (Asm. 1 inverted).
    """
    counts, c, form, delta, risks = _class_bound_inputs(class_counts, form, delta, empirical_risks)
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
    return _imbalance_scaled(form, scale, empirical, complexity, confidence)


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
    form: BoundForm = "certified",
    full_complexity=None,
) -> GeneralizationBound:
    """wang23, Prop. 3 (eq. 16): Thm 1 with mu_y from Lemma 4.

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


def prop2_complexity_terms(class_counts, lipschitz, complexity_constant: float = 1.0) -> dict[str, float]:
    """The complexity terms compared by wang23, Prop. 2, under Asm. 1 with one constant K (C_S'(F) = K/sqrt(|S'|)).

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
    """wang23, Proposition 2 as corrected: what Prop. 2 proves, with mu_y = N_y^{-kappa} and Asm. 1 (one constant K).

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


MAX_ENUMERATED_SIGNS = 16  # 2^16 sign vectors: exact Rademacher averages stay a few milliseconds


def _all_signs(count: int) -> np.ndarray:
    """Every vector in {-1, +1}^count, one per row (2^count rows)."""
    if count > MAX_ENUMERATED_SIGNS:
        raise InputError(f"exact Rademacher averages enumerate 2^n signs; n = {count} > {MAX_ENUMERATED_SIGNS}")
    bits = (np.arange(2**count)[:, None] >> np.arange(count)[None, :]) & 1
    return 2.0 * bits - 1.0


def finite_class_rademacher(values) -> float:
    """Exact empirical Rademacher complexity of a finite real class, E_xi max_j (1/n) sum_i xi_i g_j(z_i).

    ``values`` (m, n): row j = the values of g_j on the n samples. Definition of wang23, Prop. 1 (no absolute
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

    ``hypothesis_values`` (m, n, C), ``loss_values`` (m, n): wang23, Def. 1 on a finite class. Pairs with equal
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
    """wang23, Lemma 1 (eq. 9) on a finite class, exactly: R_S(G), mu R^vec_S(F) (printed) and sqrt(2) mu R^vec_S(F).

    The printed ``C^_S(G) <= mu C^_S(F)`` is false with R^vec read for C^_S(F) (see the errata);
    Maurer (2016, Cor. 1) proves it with the factor sqrt(2) (the corrected Lemma 1). mu defaults to the
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


def imbalance_factor_excess(class_counts) -> float:
    """1/(C pi_C) - 1 >= 0, zero iff the counts are balanced (wang23, Remark 1: Lemma 2's factor grows with imbalance).

    pi_C = N_C/N is the smallest prior; C pi_C <= sum_y pi_y = 1 because every pi_y >= pi_C.
    """
    counts = check_class_counts(class_counts, "class_counts").astype(np.float64)
    if np.any(counts <= 0):
        raise InputError("class_counts must be > 0 for every class (pi_C is the smallest prior)")
    return float(counts.sum() / (counts.size * counts.min()) - 1.0)

"""Declarations of elm's statements (Jitkrittum et al. 2022; tag and citation: docs/papers.md).

Each statement is declared once, in the order of ``ltbounds errata``, with its source, printed text,
errata verdict and the evaluator that adapts ``Outputs`` to the maths of ``ltbounds.bounds.elm`` and
``ltbounds.bounds.elm_risk_bound``. A printed statement and its correction share one evaluator,
``partial(rows, corrected=...)``.

Conventions shared by the evaluators: the pull margin is alpha_y = pi_y (the paper's CIFAR10-LT
choice, elm App. A.2; Proposition 1 and 2 hold for any alpha); the loss is the logit-adjusted loss
with adjustment log pi; Omega_pull of the training split is computed once per checkpoint
(``EvaluationSplits.computed``). The bounds of Lemma 3 and Proposition 2 need a model fixed before
the sample: they certify the held-out split (``EvaluationSplits.fixed_model_samples``) for the model
clipped at a radius R chosen on the training split (docs/elm_radius.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ltbounds.bounds.concentration import clopper_pearson_upper, empirical_bernstein_terms
from ltbounds.bounds.elm import (
    PullTerms,
    VarianceComparison,
    binary_la_minimiser,
    centred_spectral_norm,
    class_variance,
    class_weighted_gap,
    elm_dro_regulariser,
    elm_lemma3_as_printed,
    gaussian_posterior_from_squared_distances,
    gaussian_softmax_printed_from_products,
    gaussian_squared_distances,
    isotropic_gaussian_nll_of_squares,
    label_in_argmax,
    logit_adjusted_loss,
    logsumexp,
    margin_loss_sandwich_of_rows,
    per_class_alpha,
    prop1_left,
    pull_terms,
    require_samples,
)
from ltbounds.bounds.elm_risk_bound import (
    RADIUS_GRID,
    Prop2Inputs,
    clip_embeddings,
    elm_loss_range,
    elm_prop2,
    elm_prop2_multiclass_from_inputs,
)
from ltbounds.bounds.result import Assumption, BoundResult, Form
from ltbounds.checks import InputError, check_delta
from ltbounds.per_class import class_maximum, class_means, class_members, class_sizes
from ltbounds.statements.declaration import Declarations
from ltbounds.statements.rows import identity_row, per_class_rows, relative_gaps, row_factory, violations_row
from ltbounds.statements.statistics import (
    MappedRows,
    adjusted_log_odds,
    chunk_rows,
    class_moments,
    cross_entropy,
    embedding_norms,
    head_pass,
    per_sample,
    row_chunks,
    symbolic_rows,
)

if TYPE_CHECKING:
    from ltbounds.outputs import Outputs
    from ltbounds.statements.context import EvaluationSplits

DECLARED = Declarations("elm")

_FIXED_F = "f fixed before the sample"
_RADIUS = "bounded embeddings"


# ---------------------------------------------------------------------------------------------
# shared by the evaluators


def _default_alpha(outputs: Outputs) -> np.ndarray:
    """alpha_y = P(y) = pi_y, the paper's CIFAR10-LT choice (elm, App. A.2); Prop. 1-2 hold for any alpha."""
    return outputs.priors


def _pull(splits: EvaluationSplits) -> PullTerms:
    """Omega_pull of the training split with alpha_y = pi_y, once per checkpoint (the pairwise identity
    reuses its pair sums, which do not depend on alpha)."""
    train = splits.train
    return splits.computed(
        ("elm.pull", "train"),
        # one class's rows at a time, as float64 (MappedRows): never the whole (n, d) array
        lambda: pull_terms(MappedRows(train.embeddings), train.labels, _default_alpha(train), train.num_classes),
    )


def _statistics(splits: EvaluationSplits) -> dict[str, np.ndarray]:
    """n_y, mu_y and tr(Ĉ_y) (divisor n_y) of the training split, once per checkpoint."""
    train = splits.train

    def compute() -> dict[str, np.ndarray]:
        # bounds.elm.class_statistics's values (0 for an empty class) from the chunked moments
        moments = class_moments(splits, train)
        empty = moments.sizes == 0
        return {
            "counts": moments.sizes,
            # the moments' own array when no class is empty (a copy is 133 MB at 8,142 classes x 2,048 dims)
            "means": np.where(empty[:, None], 0.0, moments.centroids) if empty.any() else moments.centroids,
            "trace": np.where(empty, 0.0, moments.trace),
        }

    return splits.computed(("elm.class_statistics", "train"), compute)


def _measured_on(splits: EvaluationSplits) -> Outputs:
    """The split an identity is checked on: the measurement split (test, else held-out), else train."""
    target = splits.measurement_split()
    return splits.train if target is None else target


def _eligible(outputs: Outputs, minimum: int = 2) -> tuple[np.ndarray, np.ndarray]:
    counts = class_sizes(outputs.labels, outputs.num_classes)
    return counts, counts >= minimum


def _size_assumption(counts: np.ndarray, minimum: int) -> Assumption:
    short = np.flatnonzero(counts < minimum)
    return Assumption(
        name=f"n_y >= {minimum}",
        description=f"every class has at least {minimum} samples in this split (classes {short.tolist()[:10]} skipped)"
        if short.size
        else f"every class has at least {minimum} samples in this split",
        satisfied=not short.size,
    )


def _class_rows(
    *,
    statement: str,
    form: str,
    measured: np.ndarray,
    value: np.ndarray,
    mask: np.ndarray,
    split: str,
    assumptions: tuple[Assumption, ...],
    terms: dict[str, np.ndarray] | None = None,
    note: str = "",
    overall: bool = True,
) -> list[BoundResult]:
    """One row per eligible class (``mask``); and an overall row 'max_y (measured - value) <= 0' when asked."""
    rows = [
        row
        for row in per_class_rows(
            statement=statement,
            form=form,
            values=value,
            measured=measured,
            terms=terms,
            assumptions=assumptions,
            split=split,
            note=note,
        )
        if mask[row.class_index]
    ]
    if overall and mask.any():
        rows.append(
            BoundResult(
                statement=statement,
                form=form,
                value=0.0,
                measured=float(np.max(measured[mask] - value[mask])),
                terms={"classes": float(mask.sum())},
                assumptions=assumptions,
                split=split,
                note="all classes: measured = max_y (left_y - right_y), holds when <= 0",
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Section 3.1, Proposition 1 and App. C.1


@DECLARED.statement(
    id="elm.hard_pull_below_soft",
    source="000, Section 3.1",
    kind="inequality",
    summary="Omega~_pull(x, y) < Omega_pull(x, y): the hard pull is below its soft relaxation",
    printed=(
        "Omega~_pull(x, y) < Omega_pull(x, y), with Omega~_pull = max_{x+ in S_y \\ x} [||Phi(x) - Phi(x+)||^2 "
        "- alpha_y]_+ and Omega_pull = log[1 + sum_{x+ in S_y \\ x} exp(||Phi(x) - Phi(x+)||^2 - alpha_y)]"
    ),
    verdict="holds_with_extra_assumption",
    explanation=(
        "Strict inequality needs |S_y| >= 2: then, with m = max_{x+} a(x+), 1 + sum e^a > max(1, e^m), "
        "so Omega_pull - Omega~_pull >= log(1 + e^{-|m|}) > 0. With |S_y| = 1 the sum is empty, Omega_pull = 0 and the "
        "max over an empty set is undefined (0 by the [.]_+ convention), so '<' fails. In float64 the gap "
        "log(1 + e^{-|m|}) falls below the float64 resolution of Omega_pull ~ |m| once |m| > ~33 (float32: ~16), so "
        "numerically only '<=' is observable there; tests check the "
        "exact lower bound on the gap where it is representable."
    ),
)
def evaluate_hard_pull(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    counts, mask = _eligible(outputs)
    pull = _pull(splits)
    gap = pull.hard - pull.soft
    worst = class_maximum(gap, outputs.labels, outputs.num_classes)
    return _class_rows(
        statement="elm.hard_pull_below_soft",
        form="as_printed",
        measured=worst,
        value=np.zeros(outputs.num_classes),
        mask=mask,
        split=outputs.split,
        assumptions=(_size_assumption(counts, 2),),
        terms={"mean_hard": pull.hard_mean, "mean_soft": pull.soft_mean},
        note="measured = max_x [Omega~_pull(x, y) - Omega_pull(x, y)] (strictly < 0 in exact arithmetic); "
        "alpha_y = pi_y",
    )


def _left_side_vs_mean_pull(
    splits: EvaluationSplits,
    *,
    statement: str,
    form: Form,
    left: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, dict[str, np.ndarray]]],
    note: str,
) -> list[BoundResult]:
    """Per-class rows of Proposition 1's shape on the training split: a left side (measured) <= bar
    Omega_pull(y) (value), for classes with |S_y| >= 2; alpha_y = pi_y. ``left(trace, counts, alpha)``
    gives the left side and its terms (trace: sum_j hatV_j per class, divisor n)."""
    outputs = splits.train
    counts, mask = _eligible(outputs)
    trace = _statistics(splits)["trace"]
    measured, terms = left(trace, counts, _default_alpha(outputs))
    return _class_rows(
        statement=statement,
        form=form,
        measured=measured,
        value=_pull(splits).soft_mean,
        mask=mask,
        split=outputs.split,
        assumptions=(_size_assumption(counts, 2),),
        terms=terms,
        note=note,
    )


@DECLARED.statement(
    id="elm.prop1",
    source="000, Proposition 1 (Section 4.2; proof App. C.1)",
    kind="inequality",
    summary="2n/(n-1) sum_j hatV[Phi_j | y] - alpha_y + log(n-1) <= bar Omega_pull(y)",
    printed="2|S_y|/(|S_y| - 1) * sum_{j=1}^K hatV[Phi_j(x) | y] - alpha_y + log(|S_y| - 1) <= bar Omega_pull(y)",
    verdict="holds",
    explanation=(
        "Holds for every alpha_y and |S_y| >= 2 with hatV the empirical variance with divisor |S_y|, which "
        "is how App. C.1 defines it (hatV = (1/|S_y|) sum_x (Phi_j(x) - hat mu_{y,j})^2). The proof is Jensen on "
        "log-mean-exp, dropping the 1 inside the log, and the identity elm.pairwise_variance_identity. Read with the "
        "unbiased divisor |S_y| - 1 the statement is false (|S_y| = 2, distance d, alpha = 0: left 2d^2 > "
        "log(1 + e^{d^2}) = right for d >= 1), so the divisor matters; we use the appendix's."
    ),
)
def evaluate_prop1(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    return _left_side_vs_mean_pull(
        splits,
        statement="elm.prop1",
        form="as_printed",
        left=lambda trace, counts, alpha: (
            prop1_left(trace, counts, alpha),
            {"variance_sum": trace, "alpha": alpha},
        ),
        note="measured = 2n/(n-1) sum_j hatV_j - alpha + log(n-1) (divisor n), value = bar Omega_pull; alpha_y = pi_y",
    )


def prop1_expanded_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """The expansion after Proposition 1: as printed (factor 2n/(n-1)) or corrected (factor 2/(n-1))."""

    def left(trace: np.ndarray, counts: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = 2.0 / (counts - 1.0) if corrected else 2.0 * counts / (counts - 1.0)
            return factor * trace * counts - alpha + np.log(counts - 1.0), {"centre_loss_sum": trace * counts}

    return _left_side_vs_mean_pull(
        splits,
        statement="elm.prop1_expanded_corrected" if corrected else "elm.prop1_expanded",
        form="corrected" if corrected else "as_printed",
        left=left,
        note="alpha_y = pi_y",
    )


DECLARED.add_corrected_pair(
    prop1_expanded_rows,
    printed=dict(
        id="elm.prop1_expanded",
        source="000, Section 4.2 (the display after Proposition 1)",
        kind="inequality",
        summary="as printed: 2n/(n-1) sum_x ||Phi(x) - mu_y||^2 - alpha_y + log(n-1) <= bar Omega_pull(y)",
        printed=(
            "(1/|S_y|) sum_{x in S_y} Omega_pull(x, y) >= 2|S_y|/(|S_y| - 1) sum_{x in S_y} ||Phi(x) - mu_y||^2 "
            "- alpha_y + log(|S_y| - 1)"
        ),
        verdict="false_as_printed",
        explanation=(
            "The expansion drops the 1/|S_y| of the variance: sum_j hatV_j = (1/|S_y|) sum_x "
            "||Phi(x) - mu_y||^2, so the printed right side is |S_y| times Proposition 1's variance term. "
            "Counterexample "
            "(stored): two embeddings 0 and 1 of one class, alpha = 0: printed right side 2.0 > bar Omega_pull = "
            "log(1 + e) = 1.313. The correct "
            "expansion, elm.prop1_expanded_corrected, has 2/(|S_y| - 1) in front of the sum (equal to Prop. 1)."
        ),
        counterexample="elm.prop1_expanded.json",
    ),
    corrected=dict(
        id="elm.prop1_expanded_corrected",
        source="000, Section 4.2, corrected (ours)",
        kind="inequality",
        summary="2/(n-1) sum_x ||Phi(x) - mu_y||^2 - alpha_y + log(n-1) <= bar Omega_pull(y)",
        printed="bar Omega_pull(y) >= 2/(|S_y| - 1) sum_{x in S_y} ||Phi(x) - hat mu_y||^2 - alpha_y + log(|S_y| - 1)",
        verdict="holds",
        explanation=(
            "Algebraically identical to Proposition 1 (the sum over x divided by |S_y| is sum_j hatV_j); "
            "property-tested on random, tied, duplicated and huge embeddings."
        ),
    ),
)


@DECLARED.statement(
    id="elm.pairwise_variance_identity",
    source="000, App. C.1",
    kind="identity",
    summary="(1/n^2) sum_{x,x+} ||Phi(x) - Phi(x+)||^2 = (2/n) sum_x ||Phi(x) - mu_y||^2",
    printed="(1/|S_y|^2) sum_{x, x+ in S_y} ||Phi(x) - Phi(x+)||^2 = (2/|S_y|) sum_{x in S_y} ||Phi(x) - hat mu_y||^2",
    verdict="holds",
    explanation=(
        "Expanding both sides gives 2/n sum ||Phi||^2 - 2/n^2 sum_{x,x+} Phi(x)^T Phi(x+); checked "
        "symbolically with SymPy for n = 2..4 samples in K = 2 dimensions and numerically (chunked pairwise sums)."
    ),
)
def evaluate_pairwise_identity(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    counts, mask = _eligible(outputs, 1)
    left = np.where(counts >= 2, _pull(splits).pairwise_mean, 0.0)
    right = 2.0 * _statistics(splits)["trace"]
    scale = np.maximum(np.abs(right), np.finfo(float).tiny)
    return _class_rows(
        statement="elm.pairwise_variance_identity",
        form="as_printed",
        measured=np.abs(left - right) / scale,
        value=np.full(outputs.num_classes, 1e-9),
        mask=mask,
        split=outputs.split,
        assumptions=(_size_assumption(counts, 1),),
        terms={"pairwise_side": left, "centroid_side": right},
        note="identity: measured = relative discrepancy of the two sides, value = float64 tolerance 1e-9",
        overall=False,
    )


# ---------------------------------------------------------------------------------------------
# Section 4.2: Gaussian class-conditionals and the softmax


def gaussian_softmax_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """Gaussians fitted on the training split (per-class sigma_y^2, or one pooled sigma^2 when corrected);
    the printed softmax against the exact Bayes posterior on the measurement split."""
    train = splits.train
    target = _measured_on(splits)
    stats = _statistics(splits)
    means, counts = stats["means"], stats["counts"]
    variances = stats["trace"] / train.embeddings.shape[1]
    ok = bool(np.all(counts >= 2) and np.all(variances > 0))
    assumption = Assumption(
        name="fitted Gaussians",
        description="every class has >= 2 training samples with a positive isotropic variance tr(Ĉ_y)/K",
        satisfied=ok,
    )
    if not ok:
        return []  # cannot fit the Gaussians: a class with < 2 samples or zero spread
    pooled = np.full_like(variances, float(np.sum(counts * variances) / counts.sum()))
    mean_squares = np.einsum("ij,ij->i", means, means)

    def total_variation_rows(z: np.ndarray, _y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # row-wise (each posterior is a softmax over one row), so in row chunks (issue 15: the whole split's
        # (n, C) exponents and posteriors peaked at 1.3 GB on ImageNet-LT). One GEMM z . mu_y per chunk serves
        # both posteriors of both statements (per-class sigma_y^2, then the pooled sigma^2 of the corrected one).
        products = z @ means.T
        # ||z - mu_y||^2 does not depend on the variances: once for both exact posteriors
        squared_distances = gaussian_squared_distances(products, np.einsum("ij,ij->i", z, z), mean_squares)

        def total_variation(sigma_squared: np.ndarray) -> np.ndarray:
            printed = gaussian_softmax_printed_from_products(products, mean_squares, sigma_squared, train.priors)
            exact = gaussian_posterior_from_squared_distances(
                squared_distances, sigma_squared, train.priors, z.shape[1]
            )
            return 0.5 * np.abs(printed - exact).sum(axis=1)

        return total_variation(variances), total_variation(pooled)

    per_class_tv, pooled_tv = per_sample(
        splits, target, "elm.gaussian_softmax.tv", total_variation_rows, source="embeddings"
    )
    total_variation, variances = (pooled_tv, pooled) if corrected else (per_class_tv, variances)
    return [
        BoundResult(
            statement="elm.gaussian_softmax_corrected" if corrected else "elm.gaussian_softmax",
            form="corrected" if corrected else "as_printed",
            value=1e-9,
            measured=float(total_variation.max()),
            terms={
                "mean_total_variation": float(total_variation.mean()),
                "variance_ratio": float(variances.max() / variances.min()),
            },
            assumptions=(assumption,),
            split=target.split,
            note="Gaussians N(mu_y, sigma_y^2 I) fitted on train"
            + (" with one pooled sigma^2" if corrected else " with per-class sigma_y^2")
            + "; measured = max_z TV(printed softmax, exact Bayes posterior), value = float64 tolerance",
        )
    ]


DECLARED.add_corrected_pair(
    gaussian_softmax_rows,
    printed=dict(
        id="elm.gaussian_softmax",
        source="000, Section 4.2",
        kind="identity",
        summary=(
            "Z|y ~ N(mu_y, sigma_y^2 I) gives P(y|z) = softmax(z^T mu_y/sigma_y^2 - ||mu_y||^2/(2 sigma_y^2) + "
            "log P(y))"
        ),
        printed=(
            "when Z | Y = y ~ N(mu_y, sigma_y^2 I), P(y | z) propto exp(Phi(x)^T mu_y / sigma_y^2 - ||mu_y||^2 / "
            "(2 sigma_y^2) + log P(y)), an affine function of Phi(x) composed with a softmax"
        ),
        verdict="false_as_printed",
        explanation=(
            "log N(z; mu_y, sigma_y^2 I) = -K/2 log(2 pi sigma_y^2) - ||z||^2/(2 sigma_y^2) + "
            "z^T mu_y/sigma_y^2 - ||mu_y||^2/(2 sigma_y^2). The printed exponent drops -||z||^2/(2 sigma_y^2) - "
            "K log sigma_y, which cancel "
            "in the softmax only when every sigma_y is the same; with class-dependent sigma_y the posterior is "
            "quadratic "
            "in z, not affine. Counterexample (stored): K = 1, mu_0 = mu_1 = 0, sigma^2 = (1, 4), equal priors, z = 3: "
            "printed posterior (0.5, 0.5), exact (0.064, 0.936). elm.gaussian_softmax_corrected: with one shared sigma "
            "the printed exponent is exact (verified with SymPy and numerically)."
        ),
        counterexample="elm.gaussian_softmax.json",
    ),
    corrected=dict(
        id="elm.gaussian_softmax_corrected",
        source="000, Section 4.2, corrected (ours)",
        kind="identity",
        summary="with one shared sigma^2 the printed exponent is exact (affine in z); with per-class sigma_y it is not",
        printed=(
            "when Z | Y = y ~ N(mu_y, sigma^2 I) with one sigma for all classes, P(y | z) = softmax_y(z^T mu_y / "
            "sigma^2 - ||mu_y||^2 / (2 sigma^2) + log P(y)); for class-dependent sigma_y add -||z||^2/(2 sigma_y^2) - "
            "K "
            "log sigma_y to the exponent"
        ),
        verdict="holds",
        explanation=(
            "The difference between the exact log-joint and the printed exponent is -K/2 log(2 pi sigma^2) - "
            "||z||^2/(2 sigma^2), independent of y, hence invisible to the softmax (SymPy check and numerical test)."
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# the model the bounds of Lemma 3 and Proposition 2 certify (clipped at R) and its assumptions


def _loss_ranges(splits: EvaluationSplits, outputs: Outputs, adjustment: np.ndarray, radius: float) -> np.ndarray:
    """B_y for the model's own logits: linear head within ``radius``; cosine head |logit| <= scale. Once per
    checkpoint, head and radius (every split shares the head and the training priors)."""
    key = ("elm.loss_ranges", radius, outputs.head_kind, adjustment.tobytes())
    return splits.computed(key, lambda: _compute_loss_ranges(outputs, adjustment, radius))


def _compute_loss_ranges(outputs: Outputs, adjustment: np.ndarray, radius: float) -> np.ndarray:
    if outputs.head_kind == "cosine":
        shift = outputs.head_bias + adjustment
        gaps = 2.0 * abs(outputs.head_scale) + shift[None, :] - shift[:, None]
        np.fill_diagonal(gaps, -np.inf)
        return np.logaddexp(0.0, logsumexp(gaps, axis=1))
    return elm_loss_range(outputs.head_weight, outputs.head_bias, radius, adjustment)


def _spectral_norm(splits: EvaluationSplits, outputs: Outputs) -> float:
    """||W_c||_2 of the linear head (``centred_spectral_norm``), once per checkpoint: Lemma 5 and the multi-class
    Proposition 2 on each split read the same head (every split shares it, as in ``_loss_ranges``), and each
    SVD of the (C, d) head is seconds at 8,142 x 2,048."""
    return splits.computed(("elm.centred_spectral_norm",), lambda: centred_spectral_norm(outputs.head_weight))


def _radius(splits: EvaluationSplits) -> float:
    """R of the ELM bounds on these splits: ``select_radius`` on the TRAINING split (docs/elm_radius.md).

    The held-out split that certifies never enters R, so R is fixed with respect to it and no confidence
    is spent on choosing it. What is certified is the clipped model f_R = W clip_embeddings(Phi, R) + b.
    """
    # select_radius's rule (the smallest grid point >= the largest norm) on the chunked norms
    norms = embedding_norms(splits, splits.train)
    largest = float(norms.max()) if norms.size else 0.0
    above = [point for point in RADIUS_GRID if point >= largest]
    return float(above[0]) if above else float(RADIUS_GRID[-1])


def _nothing_clipped(splits: EvaluationSplits, outputs: Outputs, radius: float) -> bool:
    """Whether every embedding of ``outputs`` has norm <= R: then clip_embeddings multiplies each by exactly
    1.0 and the clipped model's quantities are the unclipped ones, bit for bit (true of the training split,
    on which R is chosen)."""
    norms = embedding_norms(splits, outputs)
    return bool(norms.size == 0 or float(norms.max()) <= radius)


def _clipped_loss(splits: EvaluationSplits, outputs: Outputs, radius: float) -> np.ndarray:
    """Per-sample logit-adjusted loss (adjustment log pi) of the model the bounds certify (``_model_logits``),
    in row chunks, once per split and radius.

    For a linear head the rows with ||Phi|| <= R are the head's own logits (clipping multiplies by 1.0), whose
    loss the split's one pass over the head logits already has (``statistics.head_pass``); only the rows
    beyond R are read again, clipped."""
    adjustment = np.log(outputs.priors)
    if outputs.head_kind == "cosine":
        return per_sample(splits, outputs, ("elm.la_loss", radius), lambda f, y: logit_adjusted_loss(f, y, adjustment))
    weight, bias = outputs.head_weight, outputs.head_bias
    unclipped = head_pass(splits, outputs).la_loss
    if unclipped is not None:

        def compute() -> np.ndarray:
            loss = unclipped.copy()
            far = np.flatnonzero(embedding_norms(splits, outputs) > radius)
            for block in row_chunks(far.size, chunk_rows(splits, outputs)):
                rows = far[block]
                clipped = clip_embeddings(MappedRows(outputs.embeddings)[rows], radius)
                loss[rows] = logit_adjusted_loss(clipped @ weight.T + bias, outputs.labels[rows], adjustment)
            return loss

        return splits.computed(("elm.la_loss", radius, outputs.split), compute)
    return per_sample(
        splits,
        outputs,
        ("elm.la_loss", radius),
        lambda e, y: logit_adjusted_loss(clip_embeddings(e, radius) @ weight.T + bias, y, adjustment),
        source="embeddings",
    )


def _model_logits(outputs: Outputs, radius: float) -> np.ndarray:
    """Logits of the model the ELM bounds certify: the clipped model W Phi_R + b for a linear head; a
    cosine head's own logits (|logit - b| <= scale whatever ||Phi||: nothing needs clipping)."""
    if outputs.head_kind == "cosine":
        return outputs.logits
    return clip_embeddings(outputs.embeddings, radius) @ outputs.head_weight.T + outputs.head_bias


def _tail_bounds(
    splits: EvaluationSplits, outputs: Outputs, radius: float, class_delta: float
) -> tuple[np.ndarray, np.ndarray]:
    """(fraction, upper), per class y: the fraction of this split's class-y embeddings with ||Phi|| > R,
    and the one-sided Clopper-Pearson upper bound on P_y(||Phi|| > R) at level ``class_delta`` (each
    class; the caller splits delta). P_y(f_R(x) != f(x)) <= P_y(||Phi|| > R). Zero for a cosine head
    (nothing is clipped), nan for a class absent from the split."""
    num_classes = outputs.num_classes
    if outputs.head_kind == "cosine":
        return np.zeros(num_classes), np.zeros(num_classes)
    counts = class_sizes(outputs.labels, num_classes)
    norms = embedding_norms(splits, outputs)
    far = np.bincount(outputs.labels, weights=(norms > radius).astype(np.float64), minlength=num_classes)
    fraction, upper = np.full(num_classes, np.nan), np.full(num_classes, np.nan)
    present = counts > 0
    fraction[present] = far[present] / counts[present]
    # the library's two-sided interval at 2 delta gives the one-sided upper bound at delta (all classes in one call)
    upper[present] = clopper_pearson_upper(far[present], counts[present], min(2.0 * class_delta, 0.999))
    return fraction, upper


def _test_class_risks(splits: EvaluationSplits, radius: float) -> np.ndarray:
    """Per-class logit-adjusted risk on the measurement split of the model the bounds certify (``_model_logits``)."""
    test = splits.measurement_split()
    if test is None:
        return np.full(splits.train.num_classes, np.nan)
    return class_means(_clipped_loss(splits, test, radius), test.labels, test.num_classes)


def _common_assumptions(
    fixed: bool, radius: float, outputs: Outputs, splits: EvaluationSplits | None = None
) -> tuple[Assumption, ...]:
    """(fixed-model, bounded-embeddings) assumptions; ``splits`` holds the chunked statistics of ``outputs``
    (None: computed afresh)."""
    if splits is None:
        from ltbounds.statements.context import EvaluationSplits

        splits = EvaluationSplits(train=outputs)
    if outputs.head_kind == "linear":
        # ||Phi_R|| = ||Phi|| min(1, R/||Phi||), from the chunked norms
        norms = embedding_norms(splits, outputs)
        with np.errstate(divide="ignore"):
            clipped_norms = norms * np.minimum(1.0, radius / norms)
        bounded = Assumption(
            name=_RADIUS,
            description=f"the bound is for the clipped model f_R = W Phi_R + b, Phi_R = Phi min(1, R/||Phi||), "
            f"R = {radius:.6g} (a point of a fixed grid, chosen on the training split): ||Phi_R(x)|| <= R for every "
            "x by construction (checked on this split), so B_y(R) bounds its loss. The unclipped model's loss is not "
            "certified; P_y(||Phi|| > R) <= terms['tail_probability_upper'] (docs/elm_radius.md)",
            satisfied=bool(np.all(clipped_norms <= radius * (1 + 1e-9))),
        )
    else:
        # |s cos(w_y, Phi)| <= |s| for every x is the architecture's; checked on this split's logits
        bias, scale = outputs.head_bias, abs(outputs.head_scale) * (1 + 1e-6) + 1e-9
        within = per_sample(
            splits, outputs, "elm.cosine_within", lambda f, _y: np.all(np.abs(f - bias) <= scale, axis=1)
        )
        bounded = Assumption(
            name=_RADIUS,
            description="cosine head: |logit_y - b_y| <= scale for every x (the head normalises; checked on this "
            "split's logits), so the loss range B_y is finite",
            satisfied=bool(np.all(within)),
        )
    return (
        Assumption(
            name=_FIXED_F,
            description="the bound is for one f chosen independently of this sample (true for a held-out split only)",
            satisfied=fixed,
        ),
        bounded,
    )


def _linear_head(outputs: Outputs) -> Assumption:
    return Assumption(
        name="linear head", description="f = W Phi + b (not a cosine head)", satisfied=outputs.head_kind == "linear"
    )


# ---------------------------------------------------------------------------------------------
# Lemmas 3-5 (App. C.2)


def lemma3_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """Lemma 3 per class on the clipped model's logit-adjusted loss: as printed (root scope of the
    extraction, at delta), or Maurer-Pontil's Theorem 4 (at delta/2, with the tail bound at delta/2)."""
    delta = check_delta(delta)
    radius = _radius(splits)
    measured = _test_class_risks(splits, radius)
    rows = []
    for outputs, fixed in splits.fixed_model_samples():
        adjustment = np.log(outputs.priors)
        loss = _clipped_loss(splits, outputs, radius)
        ranges = _loss_ranges(splits, outputs, adjustment, radius)
        counts, mask = _eligible(outputs)
        assumptions = (*_common_assumptions(fixed, radius, outputs, splits), _size_assumption(counts, 2))
        # corrected rows: delta/2 for Maurer-Pontil, delta/2 for the class's tail bound (docs/elm_radius.md)
        fraction, tail = _tail_bounds(splits, outputs, radius, delta / 2.0)
        members = class_members(outputs.labels, outputs.num_classes)
        for c in np.flatnonzero(mask):
            # the clipped model's loss is <= B_y(R) exactly; the minimum only absorbs float rounding
            values = np.clip(loss[members[c]], 0.0, ranges[c])
            terms = {
                "mean": float(values.mean()),
                "B": float(ranges[c]),
                "n": float(values.shape[0]),
                "radius": radius,
                "clipped_fraction": float(fraction[c]),
            }
            if corrected:
                value = float(
                    empirical_bernstein_terms(
                        values.mean(), np.var(values, ddof=1), values.shape[0], delta / 2.0, ranges[c]
                    )["value"]
                )
                terms.update(
                    {
                        "tail_probability_upper": float(tail[c]),
                        "value_truncated_unclipped": value + float(ranges[c] * tail[c]),
                        "delta_risk": delta / 2.0,
                        "delta_tail": delta / 2.0,
                    }
                )
            else:
                value = elm_lemma3_as_printed(values, delta, ranges[c])
            rows.append(
                BoundResult(
                    statement="elm.lemma3_corrected" if corrected else "elm.lemma3",
                    form=("certified" if fixed else "shape") if corrected else "as_printed",
                    value=value,
                    measured=float(measured[c]),
                    trivial=float(ranges[c]),  # the loss is in [0, B_y]
                    terms=terms,
                    assumptions=assumptions,
                    class_index=int(c),
                    split=outputs.split,
                    note="Z = logit-adjusted loss of class y of the model clipped at R (one class; corrected: Lemma 3 "
                    "at delta/2, tail bound at delta/2); measured = its mean on the test split",
                )
            )
    return rows


DECLARED.add_corrected_pair(
    lemma3_rows,
    printed=dict(
        id="elm.lemma3",
        source="000, Lemma 3 (App. C.2), citing Maurer and Pontil (2009)",
        kind="bound",
        summary="E Z <= mean + sqrt(2 hatV ln(2/delta)/n + 7B ln(2/delta)/(3(n-1))), literal square-root scope",
        printed=(
            "Z_1..Z_n i.i.d. in [0, B], delta > 0: with probability >= 1 - delta, E Z <= (1/n) sum Z_i + "
            "sqrt(2 hatV[Z] ln(2/delta) / n + 7 B ln(2/delta) / (3(n - 1)))"
        ),
        verdict="false_as_printed",
        explanation=(
            "Read literally (as extracted, the range term sits under the square root, as it does again in the "
            "first display of the proof of Prop. 2; the second display and Prop. 2 itself put it outside) the bound is "
            "not "
            "scale-covariant: its range term grows like sqrt(B), not B. Counterexample (stored): Z = 100 * "
            "Bernoulli(0.1), "
            "n = 10, delta = 0.05; the all-zero sample has probability 0.349 and gives the bound 9.78 < E Z = 10, so "
            "the "
            "exact violation probability is 0.349 > delta. Maurer and Pontil's Theorem 4 (elm.lemma3_corrected, "
            "``bounds.empirical_bernstein``) has the range term 7 B ln(2/delta)/(3(n - 1)) outside the root and the "
            "unbiased sample variance V_n (divisor n - 1; the paper's hatV elsewhere has divisor n). Its constants 2 "
            "and "
            "7/3 and ln(2/delta) match the printed ones. Simulation: violation rate of the corrected form <= delta. "
            "The other reading (range term outside, divisor n) is not covered by Maurer-Pontil's proof; an exact "
            "search "
            "over Bernoulli(p) samples (n <= 40, delta in {0.01, 0.05, 0.1, 0.2, 0.5}) found violation probabilities "
            "of "
            "at most 0.063 delta, so only the square-root scope makes the printed lemma false."
        ),
        counterexample="elm.lemma3.json",
    ),
    corrected=dict(
        id="elm.lemma3_corrected",
        source="Maurer and Pontil (2009), Theorem 4 (scaled from [0, 1] to [0, B])",
        kind="bound",
        summary="E Z <= mean + sqrt(2 V_n ln(2/delta)/n) + 7B ln(2/delta)/(3(n-1)), V_n with divisor n-1",
        printed=(
            "E Z <= (1/n) sum Z_i + sqrt(2 V_n ln(2/delta) / n) + 7 B ln(2/delta) / (3(n - 1)), V_n = sum (Z_i - "
            "mean)^2 / (n - 1), n >= 2"
        ),
        verdict="holds",
        explanation=(
            "The published theorem; simulation tests over Bernoulli, Beta and the stored counterexample's "
            "distribution keep the violation rate below delta within a Clopper-Pearson margin."
        ),
    ),
)


@DECLARED.statement(
    id="elm.lemma4",
    source="000, Lemma 4 (App. C.2)",
    kind="inequality",
    summary="V_{x|y}[log(1 + e^{-m})] <= V_{x|y}[-m] (softplus is 1-Lipschitz)",
    printed="for y in {-1, 1}, V_{x|y}[log(1 + e^{-y f(x)})] <= V_{x|y}[-y f(x)]",
    verdict="holds",
    explanation=(
        "softplus(-t) is 1-Lipschitz and V[h] <= E(h - c)^2 for any constant c. Holds for every "
        "distribution, so also for the empirical one. Multi-class reading used by the evaluator: with the one-vs-rest "
        "log-odds m_y = f_y - logsumexp_{y' != y} f_y', the softmax cross-entropy is log(1 + e^{-m_y}), so the lemma "
        "applies verbatim (for two classes m_y = y f)."
    ),
)
def evaluate_lemma4(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    # elm_lemma4's per-sample m and log(1 + e^{-m}), from the split's one pass over its logits (shared with the
    # cross-entropy and the target logits: a pass over iNaturalist-2018's training logits reads 14 GB)
    m, loss = adjusted_log_odds(splits)
    counts, mask = _eligible(outputs, 1)
    comparison = VarianceComparison(
        class_variance(loss, outputs.labels, counts), class_variance(m, outputs.labels, counts), counts
    )
    return _class_rows(
        statement="elm.lemma4",
        form="as_printed",
        measured=comparison.left,
        value=comparison.right,
        mask=mask,
        split=outputs.split,
        assumptions=(_size_assumption(counts, 1),),
        note="empirical class-conditional variances (divisor n_y) of the logit-adjusted loss and of the one-vs-rest "
        "log-odds m_y (= y f for two classes)",
    )


def _lemma5_chunked(splits: EvaluationSplits, outputs: Outputs) -> VarianceComparison:
    """``bounds.elm.elm_lemma5`` from the chunked statistics: the per-sample logit-adjusted loss of E W^T + b
    (row by row) and tr(Ĉ_y) of ``class_moments`` (0 for an empty class, as ``class_statistics``)."""
    adjustment = np.log(outputs.priors)
    weight, bias = outputs.head_weight, outputs.head_bias
    loss = head_pass(splits, outputs).la_loss  # the loss of E W^T + b from the split's one pass over the head
    if loss is None:
        loss = per_sample(
            splits,
            outputs,
            "elm.lemma5_loss",
            lambda e, y: logit_adjusted_loss(e @ weight.T + bias, y, adjustment),
            source="embeddings",
        )
    moments = class_moments(splits, outputs)
    trace = np.where(moments.sizes > 0, moments.trace, 0.0)
    lipschitz_squared = 2.0 * _spectral_norm(splits, outputs) ** 2
    return VarianceComparison(
        class_variance(loss, outputs.labels, moments.sizes),
        lipschitz_squared * trace,
        moments.sizes,
        {"lipschitz_squared": lipschitz_squared, "trace": trace},
    )


@DECLARED.statement(
    id="elm.lemma5",
    source="000, Lemma 5 (App. C.2)",
    kind="inequality",
    summary="V_{x|y}[ell_log(y, f + Delta_y)] <= ||w||^2 tr(C_y); multi-class: 2 ||W_c||_2^2 tr(C_y)",
    printed="binary, f(x) = w^T Phi(x) + b: for any Delta_y, V_{x|y}[ell_log(y, f(x) + Delta_y)] <= ||w||^2 tr(C_y)",
    verdict="holds",
    explanation=(
        "Lemma 4 then w^T C_y w <= ||w||^2 lambda_max(C_y) <= ||w||^2 tr(C_y) (C_y is positive "
        "semi-definite, the proof says definite; semi-definite suffices). The centre loss Omega_cen defined in the "
        "statement is not used. Multi-class form used by the evaluator (ours): the logit-adjusted loss is "
        "sqrt(2) ||W_c||_2-Lipschitz in Phi (W_c the row-centred head), giving 2 ||W_c||_2^2 tr(C_y), which equals "
        "||w||^2 tr(C_y) for two classes."
    ),
)
def evaluate_lemma5(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    counts, mask = _eligible(outputs, 1)
    linear = _linear_head(outputs)
    if not linear.satisfied:
        return []  # Lemma 5 is about a linear head
    comparison = _lemma5_chunked(splits, outputs)
    binary = outputs.num_classes == 2
    return _class_rows(
        statement="elm.lemma5",
        form="as_printed" if binary else "certified",
        measured=comparison.left,
        value=comparison.right,
        mask=mask,
        split=outputs.split,
        assumptions=(linear, _size_assumption(counts, 1)),
        terms={"trace": comparison.terms["trace"]},
        note="binary: the printed ||w||^2 tr(C_y)" if binary else "multi-class extension: 2 ||W_c||_2^2 tr(C_y)",
    )


# ---------------------------------------------------------------------------------------------
# Proposition 2 (Section 4.3, proof App. C.2)


def _prop2_samples(splits: EvaluationSplits, radius: float):
    """(outputs, fixed, assumptions) of each split Proposition 2 can be evaluated on: every class with
    >= 2 samples and a linear head (the certifying held-out split first)."""
    for outputs, fixed in splits.fixed_model_samples():
        counts, mask = _eligible(outputs)
        linear = _linear_head(outputs)
        if mask.all() and linear.satisfied:
            assumptions = _common_assumptions(fixed, radius, outputs, splits)
            yield outputs, fixed, (*assumptions, _size_assumption(counts, 2), linear)


def _prop2_arguments(outputs: Outputs, risk_delta: float, radius: float) -> tuple:
    return (
        outputs.embeddings,
        outputs.labels,
        outputs.head_weight,
        outputs.head_bias,
        outputs.class_counts,
        risk_delta,
        _default_alpha(outputs),
        radius,
    )


def _prop2_inputs_chunked(
    splits: EvaluationSplits, outputs: Outputs, risk_delta: float, radius: float
) -> Prop2Inputs:
    """``bounds.elm_risk_bound._prop2_inputs`` for the clipped model (clip=True), from chunked statistics:
    the per-sample loss of ``_clipped_loss``, Omega_pull of the clipped embeddings gathered one class at a
    time (``MappedRows``), B_y of ``_loss_ranges``. Memory O(chunk x C + C x d + n + max n_y x d)."""
    num_classes = outputs.num_classes
    counts = class_sizes(outputs.labels, num_classes).astype(np.float64)
    require_samples(counts, 2, "Proposition 2 (n_y - 1 in the denominator and log(n_y - 1))")
    alphas = per_class_alpha(_default_alpha(outputs), num_classes)
    if outputs is splits.train and _nothing_clipped(splits, outputs, radius):
        pull = _pull(splits)  # Phi_R = Phi exactly (scale 1.0): the training split's Omega_pull, computed once
    else:
        pull = splits.computed(
            ("elm.pull_clipped", outputs.split, radius),
            lambda: pull_terms(MappedRows(outputs.embeddings, radius), outputs.labels, alphas, num_classes),
        )
    loss = _clipped_loss(splits, outputs, radius)
    return Prop2Inputs(
        delta=check_delta(risk_delta),
        head_weight=outputs.head_weight,
        labels=outputs.labels,
        priors=outputs.priors,
        alpha=alphas,
        counts=counts,
        loss=loss,
        loss_mean=np.bincount(outputs.labels, weights=loss, minlength=num_classes) / counts,
        pull_mean=pull.soft_mean,
        radius=float(radius),
        ranges=_loss_ranges(splits, outputs, np.log(outputs.priors), radius),
        spectral_norm=_spectral_norm(splits, outputs),
    )


def _tail_terms(value: float, weights: np.ndarray, ranges, fraction, tail, risk_delta: float, delta: float) -> dict:
    """The tail bound's terms of a form that promises 1 - delta: E min(ell(f), B_y) <= E ell(f_R) + B_y
    P(||Phi|| > R) bounds the unclipped model's loss capped at B_y."""
    return {
        "clipped_fraction": float(np.sum(weights * fraction)),
        "tail_probability_upper": float(np.sum(weights * tail)),
        "value_truncated_unclipped": value + float(np.sum(weights * ranges * tail)),
        "delta_risk": risk_delta,
        "delta_tail": delta - risk_delta,
    }


def prop2_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """Binary Proposition 2 on the P(y)-weighted risk: as printed (ln(2/delta), all of delta on the risk)
    or corrected (ln(4/delta), delta/2 on the risk and delta/2 on the C tail bounds)."""
    delta = check_delta(delta)
    if splits.train.num_classes != 2:
        return []
    radius = _radius(splits)
    test_risks = _test_class_risks(splits, radius)
    risk_delta = delta / 2.0 if corrected else delta
    union = Assumption(
        name="union bound",
        description="the proof applies Lemma 3 per class at delta/2 but keeps ln(2/delta): proven only at 1 - 2 delta",
        satisfied=corrected,
    )
    rows = []
    for outputs, _fixed, assumptions in _prop2_samples(splits, radius):
        result = elm_prop2(
            *_prop2_arguments(outputs, risk_delta, radius), log_factor=4.0 if corrected else 2.0, clip=True
        )
        weights = outputs.priors
        terms = dict(result.terms)
        if corrected:
            ranges = _loss_ranges(splits, outputs, np.log(outputs.priors), radius)
            fraction, tail = _tail_bounds(splits, outputs, radius, (delta - risk_delta) / outputs.num_classes)
            terms.update(_tail_terms(result.value, weights, ranges.max(), fraction, tail, risk_delta, delta))
        rows.append(
            BoundResult(
                statement="elm.prop2_corrected" if corrected else "elm.prop2",
                form="corrected" if corrected else "as_printed",
                value=result.value,
                measured=float(np.sum(weights * test_risks)),
                trivial=float(result.terms["B"]),  # the loss is in [0, B]
                terms=terms,
                assumptions=(*assumptions, union),
                split=outputs.split,
                note="P(y)-weighted (training priors) logit-adjusted risk of the model clipped at R (measured on the "
                "test split); alpha_y = pi_y",
            )
        )
    return rows


DECLARED.add_corrected_pair(
    prop2_rows,
    printed=dict(
        id="elm.prop2",
        source="000, Proposition 2 (Section 4.3; proof App. C.2)",
        kind="bound",
        summary="binary generalisation bound of the logit-adjusted loss via the pull term, as printed (ln(2/delta))",
        printed=(
            "binary y, ell_log <= B: with probability >= 1 - delta, E_{(x,y)} ell_log(y, f(x) + Delta_y) <= "
            "7 B ln(2/delta)/3 sum_y P(y)/(|S_y| - 1) + sum_y P(y)/|S_y| sum_{x in S_y} ell_log(y, f(x) + Delta_y) + "
            "||w|| "
            "sqrt(ln(2/delta) sum_y P(y)/|S_y| [bar Omega_pull(y) + alpha_y])"
        ),
        verdict="holds_with_extra_assumption",
        explanation=(
            "Proven only at confidence 1 - 2 delta: the proof applies Lemma 3 to each class 'with probability "
            "at least 1 - delta/2', i.e. with ln(4/delta), then writes ln(2/delta) after the union bound. With "
            "ln(4/delta) "
            "in both places (elm.prop2_corrected) every step checks: Lemma 3 per class conditionally on the counts, "
            "Jensen "
            "for the P(y)-weighted square roots, Lemma 5 on the empirical distribution (and the n/(n - 1) of the "
            "unbiased "
            "variance is absorbed because Prop. 1 gives 2n/(n - 1) tr(Ĉ_y) <= bar Omega_pull(y) + alpha_y - log(n - "
            "1)). "
            "Extra assumptions, implicit in the paper: f is fixed independently of S (so the bound certifies a "
            "held-out "
            "split, not the training split), embeddings are bounded (else no finite B for a linear f), |S_y| >= 2. We "
            "have no counterexample: in our simulation (finite-support classes, fixed linear head, 120 samples, delta "
            "= "
            "0.2) the printed bound was never violated and averaged ~10x the true risk, because the range term "
            "7B ln(2/delta)/(3(n - 1)) already exceeds the tail of a bounded loss; so we do not call it false, but its "
            "stated confidence is not proven."
        ),
    ),
    corrected=dict(
        id="elm.prop2_corrected",
        source="000, Proposition 2, corrected (ours)",
        kind="bound",
        summary="Proposition 2 with ln(4/delta): the union bound over the two classes the proof uses",
        printed="Proposition 2 with ln(4/delta) in place of ln(2/delta) in both terms",
        verdict="holds",
        explanation=(
            "The proof of App. C.2 with the union bound over the two classes accounted for; simulation test "
            "(finite-support class-conditionals, exact population risk, fixed linear head) keeps the violation rate "
            "below "
            "delta within a Clopper-Pearson margin."
        ),
    ),
)


@DECLARED.statement(
    id="elm.prop2_multiclass",
    source="000, Proposition 2, multi-class extension (ours; docs/elm_prop2_multiclass.md)",
    kind="bound",
    summary="balanced logit-adjusted risk <= per-class Maurer-Pontil at delta/C with the pull-term variance bound",
    printed=(
        "(1/C) sum_y R_y <= (1/C) sum_y [L_y + sqrt(2 V_y ln(2C/delta)/n_y) + "
        "7 B_y ln(2C/delta)/(3(n_y - 1))], "
        "V_y = ||W_c||_2^2 (bar Omega_pull(y) + alpha_y - log(n_y - 1))"
    ),
    verdict="holds",
    explanation=(
        "Maurer-Pontil Theorem 4 per class at delta/C, union bound over the C classes, the multi-class "
        "Lemma 5 (sqrt(2) ||W_c||_2-Lipschitz loss) and Prop. 1; derivation with every constant in "
        "docs/elm_prop2_multiclass.md. Simulation test keeps the violation rate below delta."
    ),
)
def evaluate_prop2_multiclass(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    delta = check_delta(delta)
    radius = _radius(splits)
    test_risks = _test_class_risks(splits, radius)
    # delta/2 on the balanced risk, delta/2 on the C tail bounds of ||Phi|| > R
    risk_delta = delta / 2.0
    rows = []
    for outputs, fixed, assumptions in _prop2_samples(splits, radius):
        result = elm_prop2_multiclass_from_inputs(_prop2_inputs_chunked(splits, outputs, risk_delta, radius))
        counts = class_sizes(outputs.labels, outputs.num_classes)
        weights = np.full(outputs.num_classes, 1.0 / outputs.num_classes)
        form = "certified" if fixed else "shape"
        ranges = _loss_ranges(splits, outputs, np.log(outputs.priors), radius)
        fraction, tail = _tail_bounds(splits, outputs, radius, (delta - risk_delta) / outputs.num_classes)
        rows.append(
            BoundResult(
                statement="elm.prop2_multiclass",
                form=form,
                value=result.value,
                measured=float(np.sum(weights * test_risks)),
                trivial=float(result.terms["max_B"]),  # every class's loss is in [0, max_y B_y]
                terms={**result.terms, **_tail_terms(result.value, weights, ranges, fraction, tail, risk_delta, delta)},
                assumptions=assumptions,
                split=outputs.split,
                note="balanced logit-adjusted risk of the model clipped at R (measured on the test split); "
                "alpha_y = pi_y",
            )
        )
        rows += per_class_rows(
            statement="elm.prop2_multiclass",
            form=form,
            values=result.per_class_bound,
            measured=test_risks,
            terms={
                "n": counts,
                "radius": np.full(outputs.num_classes, radius),
                "clipped_fraction": fraction,
                "tail_probability_upper": tail,
                "value_truncated_unclipped": result.per_class_bound + ranges * tail,
            },
            assumptions=assumptions,
            split=outputs.split,
            note="class-conditional risk of the model clipped at R; all classes and tail bounds hold "
            "simultaneously with probability 1 - delta",
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Sections 2-4: the zero-one loss, the margin loss, the centre loss, the remarks after Prop. 2, eq. (5)


def zero_one_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """Two rows that together state equality of the misclassification rate and the risk (1) of the printed
    (or corrected) zero-one loss, on the measurement split."""
    outputs = _measured_on(splits)
    row = row_factory(
        statement="elm.zero_one_loss_corrected" if corrected else "elm.zero_one_loss",
        split=outputs.split,
        form="corrected" if corrected else "as_printed",
    )
    if outputs.num_samples == 0:
        raise InputError("zero_one_loss needs a non-empty measurement split")
    # per sample in row chunks: y in argmax f (the printed indicator, ties correct) and argmax f != y
    in_argmax, first_wrong = per_sample(
        splits,
        outputs,
        "elm.zero_one",
        lambda f, y: (label_in_argmax(f, y), f.argmax(axis=1) != y),
    )
    printed, error = float(np.mean(in_argmax)), float(np.mean(~in_argmax))  # zero_one_risks' two means
    misclassified = float(np.mean(first_wrong))
    value = error if corrected else printed
    return [
        row(
            value=value,
            measured=misclassified,
            terms={"printed_zero_one_risk": printed, "misclassification_error": error},
            note="misclassification rate of argmax (measured) vs the risk (1) of "
            + ("1[y not in argmax f] (value; equal up to ties)" if corrected else "the printed 1[y in argmax f]"),
        ),
        row(
            value=misclassified,
            measured=value,
            note="the reverse inequality: together the two rows state equality (up to ties)",
        ),
    ]


DECLARED.add_corrected_pair(
    zero_one_rows,
    printed=dict(
        id="elm.zero_one_loss",
        source="000, Section 2.1 (the zero-one loss after eq. 1)",
        kind="identity",
        summary="with l_01(y, f(x)) = 1[y in argmax f], (1) coincides with the misclassification error (as printed)",
        printed=(
            "For the zero-one loss l_01(y, f(x)) = I[y in argmax_{y'} f_{y'}(x)], (1) coincides with the notion of "
            "misclassification error."
        ),
        verdict="false_as_printed",
        explanation=(
            "The printed indicator is 1 when the prediction is correct, so the risk (1) is the accuracy "
            "(ties counted as correct), not the misclassification error. Stored counterexample: logits [[2, 0], [0, "
            "3]] "
            "with labels [0, 1] are classified perfectly, yet the printed risk is 1. A typo for I[y not in argmax]; "
            "the "
            "balanced-error definition of 002 and 003 has the 'not in' (the PDF extraction may have lost the slash "
            "of a printed 'not in'). Corrected statement: elm.zero_one_loss_corrected."
        ),
        counterexample="elm.zero_one_loss.json",
    ),
    corrected=dict(
        id="elm.zero_one_loss_corrected",
        source="000, Section 2.1 (corrected)",
        kind="identity",
        summary="with l_01(y, f(x)) = 1[y not in argmax f], (1) is the misclassification error",
        printed=(
            "With l_01(y, f(x)) = I[y not in argmax_{y'} f_{y'}(x)], (1) is the misclassification error (ties "
            "counted as correct)."
        ),
        verdict="holds",
        explanation=(
            "By definition; property-tested against argmax misclassification on sampled logits (they agree "
            "except on ties, where argmax picks one maximiser) and checked as the complement of the printed indicator."
        ),
    ),
)


@DECLARED.statement(
    id="elm.margin_loss_relaxation",
    source="000, Section 2.2, eq. (3) and the sentence after it",
    kind="inequality",
    summary="max_{y' != y} [Delta_yy' + f_y' - f_y]_+ <= l_mar(y, f) <= that + log L",
    printed=(
        "l_mar(y, f(x)) = log[1 + sum_{y' != y} e^{Delta_yy' + f_y'(x) - f_y(x)}] can be seen as a soft "
        "approximation to max_{y' != y} [Delta_yy' + f_y'(x) - f_y(x)]_+"
    ),
    verdict="holds",
    explanation=(
        "With a_y' = Delta_yy' + f_y' - f_y: max(0, max a) <= log(1 + sum e^{a}) <= max(0, max a) + "
        "log L (the sum has L - 1 terms plus the 1, each <= e^{max(0, max a)}). Property-tested for any margin "
        "matrix, logits up to 1e3 and L = 2..8, and on checkpoints with ELM's Delta_yy' = log P(y')/P(y). The 0-1 "
        "'approximation' is tight when the largest gap is far from 0."
    ),
)
def evaluate_margin_relaxation(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = symbolic_rows(splits, splits.train)  # a pointwise inequality: at most SYMBOLIC_ROWS rows
    log_prior = np.log(outputs.priors)

    def sandwich(f: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Delta_yy' = log P(y')/P(y), ELM's choice, row by row (the (C, C) matrix is 0.5 GB at C = 8,142)
        return margin_loss_sandwich_of_rows(f, y, log_prior[None, :] - log_prior[y][:, None])

    hinge, smooth = per_sample(splits, outputs, "elm.margin_sandwich", sandwich)
    row = row_factory(statement="elm.margin_loss_relaxation", split=outputs.split, form="as_printed")
    return [
        row(
            value=float(np.min(smooth - hinge)),
            measured=0.0,
            terms={"mean_hinge": float(hinge.mean()), "mean_soft": float(smooth.mean())},
            note="0 (measured) <= min over samples of l_mar - max[Delta + f_y' - f_y]_+ (value), "
            "Delta = log P(y')/P(y)",
        ),
        row(
            value=math.log(outputs.num_classes),
            measured=float(np.max(smooth - hinge)),
            note="max over samples of l_mar - hinge (measured) <= log L (value)",
        ),
    ]


def _center_losses(splits: EvaluationSplits, outputs: Outputs) -> list[tuple[int, float, np.ndarray, np.ndarray]]:
    """(c, sigma_c^2, ||z - mu_c||^2, -log N(z; mu_c, sigma_c^2 I)) for each class with >= 2 samples and a
    positive variance, from the split's chunked class moments (``statistics.class_moments``: mu_c, the
    per-sample ||z - mu_c||^2 and sigma_c^2 = tr Ĉ_c / K), so no class's rows are gathered again (at
    iNaturalist-2018 size that was 3.6 GB of scattered float32 reads). The identity holds for any mu_c and
    sigma_c^2 > 0 (the difference of its two sides is the constant -K sigma^2 log(2 pi sigma^2)); these are
    the class means and variances, as before, up to the rounding of a chunked sum."""
    moments = class_moments(splits, outputs)
    dim = outputs.embeddings.shape[1]
    indices = class_members(outputs.labels, outputs.num_classes)
    result = []
    for c in np.flatnonzero(moments.sizes >= 2):
        variance = float(moments.trace[c]) / dim
        if variance > 0:
            squared = moments.squared_deviations[indices[c]]
            result.append((int(c), variance, squared, isotropic_gaussian_nll_of_squares(squared, dim, variance)))
    return result


def center_loss_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """Per class, the spread over its samples of ||z - mu||^2 - c (-log N(z; mu, sigma^2 I)), c = 1 as
    printed or 2 sigma^2 corrected: 0 iff the two sides differ by a constant."""
    outputs = splits.train
    rows = []
    per_class = splits.computed(("elm.center_loss", outputs.split), lambda: _center_losses(splits, outputs))
    for c, variance, squared, nll in per_class:
        # "= sum -log N + constant": the per-sample difference must not depend on the sample
        difference = squared - (2.0 * variance if corrected else 1.0) * nll
        rows.append(
            BoundResult(
                statement="elm.center_loss_gaussian_corrected" if corrected else "elm.center_loss_gaussian",
                form="corrected" if corrected else "as_printed",
                value=1e-9 * max(1.0, float(np.abs(difference).max())),
                measured=float(np.ptp(difference)),
                terms={"sigma_squared": variance},
                class_index=int(c),
                split=outputs.split,
                note="spread over the class's samples of ||z - mu||^2 - "
                + ("2 sigma^2 x" if corrected else "")
                + "(-log N(z; mu, sigma^2 I)) (0 iff they differ by a constant); sigma^2 = the class's variance",
            )
        )
    return rows


DECLARED.add_corrected_pair(
    center_loss_rows,
    printed=dict(
        id="elm.center_loss_gaussian",
        source="000, Section 4.2 (the centre loss as a Gaussian log-likelihood)",
        kind="identity",
        summary=(
            "the centre loss equals the isotropic-Gaussian negative log-likelihood up to an additive constant "
            "(as printed)"
        ),
        printed="sum_{x in S_y} ||Phi(x) - mu_y||_2^2 = sum_{x in S_y} -log N(Phi(x); mu_y, sigma_y^2 I) + constant",
        verdict="false_as_printed",
        explanation=(
            "-log N(z; mu, sigma^2 I) = ||z - mu||^2 / (2 sigma^2) + (K/2) log(2 pi sigma^2), so the two "
            "sides differ by a constant only when 2 sigma_y^2 = 1; otherwise the squared distance must be multiplied "
            "by "
            "1/(2 sigma_y^2). Stored counterexample: K = 1, mu = 0, sigma^2 = 1, points 0 and 1: the differences are "
            "-0.919 and -0.419. The conclusion (minimising the centre loss maximises an isotropic Gaussian likelihood "
            "with fixed sigma_y) is unaffected. Corrected statement: elm.center_loss_gaussian_corrected."
        ),
        counterexample="elm.center_loss_gaussian.json",
    ),
    corrected=dict(
        id="elm.center_loss_gaussian_corrected",
        source="000, Section 4.2 (corrected)",
        kind="identity",
        summary="sum ||Phi(x) - mu_y||^2 = 2 sigma_y^2 sum -log N(Phi(x); mu_y, sigma_y^2 I) + constant",
        printed=(
            "sum_{x in S_y} ||Phi(x) - mu_y||^2 = 2 sigma_y^2 sum_{x in S_y} -log N(Phi(x); mu_y, sigma_y^2 I) - "
            "|S_y| K sigma_y^2 log(2 pi sigma_y^2)"
        ),
        verdict="holds",
        explanation=(
            "Multiply -log N by 2 sigma^2. Property-tested against scipy.stats.multivariate_normal on sampled "
            "points, dimensions 1..5 and variances 1e-3..1e3, and on checkpoints per class (the spread of the "
            "per-sample difference is at rounding level)."
        ),
    ),
)


@DECLARED.statement(
    id="elm.empirical_weighting_limit",
    source="000, Section 4.3, the note after Proposition 2",
    kind="inequality",
    summary="|(1/N) sum l - sum_y P(y)/|S_y| sum_{S_y} l| <= max|l| sum_y ||S_y|/N - P(y)| -> 0",
    printed=(
        "the difference between (1/N) sum_{(x,y) in S} l_log(y, f(x) + Delta_y) and sum_y P(y)/|S_y| "
        "sum_{x in S_y} l_log(y, f(x) + Delta_y) vanishes as N -> infinity"
    ),
    verdict="holds",
    explanation=(
        "(1/N) sum l = sum_y (|S_y|/N) L_y with L_y the class means, so the difference is "
        "sum_y (|S_y|/N - P(y)) L_y, at most max|l| sum_y ||S_y|/N - P(y)|, which tends to 0 almost surely by the "
        "strong law of large numbers (for a bounded loss, as Proposition 2 assumes: l <= B). Property-tested "
        "(the deterministic inequality on sampled losses, labels and priors) and, on a checkpoint, on growing "
        "random prefixes of the training split."
    ),
)
def evaluate_weighting_limit(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    losses = cross_entropy(splits, outputs)  # per sample, row by row
    # nested prefixes of a random order of the training split stand in for a growing sample from P
    order = np.random.default_rng(0).permutation(outputs.num_samples)
    rows = []
    for fraction in (0.125, 0.25, 0.5, 1.0):
        keep = order[: max(1, int(round(fraction * outputs.num_samples)))]
        gap, bound = class_weighted_gap(losses[keep], outputs.labels[keep], outputs.priors)
        rows.append(
            BoundResult(
                statement="elm.empirical_weighting_limit",
                form="as_printed",
                value=bound,
                measured=gap,
                terms={"samples": float(keep.size)},
                split=outputs.split,
                note="|(1/n) sum CE - sum_y P(y)/|S_y| sum CE| (measured) <= max CE x sum_y ||S_y|/n - P(y)| (value) "
                "on a random prefix of n training samples, P = the training priors",
            )
        )
    return rows


@DECLARED.statement(
    id="elm.binary_la_consistency",
    source="000, Section 4.3, the note after Proposition 2",
    kind="symbolic",
    summary="l_log(y, f + Delta) with Delta = log P(+1)/P(-1) has population minimiser with the balanced Bayes sign",
    printed=(
        "[the bound] is consistent for minimising the balanced error where the label distribution is "
        "uniform when Delta_y = log P(y = +1)/P(y = -1) [Menon et al., 2021]"
    ),
    verdict="holds",
    explanation=(
        "With Delta = log(pi_+/pi_-) for both labels, the conditional risk eta l_log(+1, f + Delta) + "
        "(1 - eta) l_log(-1, f + Delta) is minimised at f + Delta = log(eta/(1 - eta)), so f* = log(eta/(1 - eta)) "
        "- log(pi_+/pi_-) and sign f* = sign(eta/pi_+ - (1 - eta)/pi_-), the balanced Bayes rule. Checked: SymPy "
        "stationarity and convexity, and numeric minimisation over eta and priors (imbalance up to 1000). It is "
        "the binary case of the tutorial's Theorem 1 with delta = pi (tutorial.fisher_consistency)."
    ),
)
def evaluate_binary_la(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    from scipy.optimize import minimize_scalar

    outputs = splits.train
    counts = np.sort(outputs.class_counts)[::-1]
    prior = float(counts[0] / (counts[0] + counts[-1]))  # head vs tail class as the binary problem
    shift = math.log(prior / (1.0 - prior))
    disagreements, worst = 0, 0.0
    for eta in np.linspace(0.02, 0.98, 49):

        def risk(f, eta=eta):
            return eta * np.logaddexp(0.0, -(f + shift)) + (1 - eta) * np.logaddexp(0.0, f + shift)

        numeric = float(minimize_scalar(risk, bounds=(-60, 60), method="bounded", options={"xatol": 1e-10}).x)
        closed = binary_la_minimiser(float(eta), prior)
        worst = max(worst, abs(numeric - closed))
        balanced = eta / prior - (1 - eta) / (1 - prior)
        if abs(balanced) > 1e-9 and np.sign(numeric) != np.sign(balanced):
            disagreements += 1
    return [
        violations_row(
            statement="elm.binary_la_consistency",
            count=disagreements,
            terms={"prior_positive": prior, "max_minimiser_gap": worst},
            split=outputs.split,
            note="head vs tail class priors: eta on a grid where sign f* (numeric minimiser of the adjusted logistic "
            "risk) differs from the balanced Bayes rule (measured) <= 0",
        )
    ]


@DECLARED.statement(
    id="elm.dro_lt_regulariser",
    source="000, Section 3.2, eq. (5) (ELM's description of DRO-LT)",
    kind="identity",
    summary=(
        "(5) with eps_y = 2 eps_c is DRO-LT's (18) summand with d = squared Euclidean; eps_y ~ 1/sqrt(P(y)) is "
        "its eps/sqrt(n) variant"
    ),
    printed=(
        "DRO-LT adds Omega_dro(x, y) = log[sum_{(x', y') in S} e^{-||Phi(x') - mu_y||^2 + ||Phi(x) - mu_y||^2 "
        "+ eps_y I(y' != y)}], eps_y proportional to 1/sqrt(P(y))"
    ),
    verdict="holds",
    explanation=(
        "001's summand of (18) is d(hat mu_c, z) + 2 eps_c + log sum_{z'} e^{-d(hat mu_c, z') - 2 eps_c "
        "delta(z', c)} = log sum_{z'} e^{d(hat mu_c, z) - d(hat mu_c, z') + 2 eps_c (1 - delta(z', c))}: exactly "
        "(5) with d the squared Euclidean distance (DRO-LT's practice) and eps_y = 2 eps_c (checked to 1e-12 on "
        "sampled embeddings and on checkpoints). eps_y ~ 1/sqrt(P(y)) is DRO-LT's 'eps/sqrt(n)' radius (n_y = N "
        "P(y)); DRO-LT also has a shared and a learned radius. That (5) pushes a sample away from its own class's "
        "samples too (remark (i)) is visible in the sum over all of S. The upper-bound claim behind (5) is "
        "drolt.robust_loss (false as printed)."
    ),
)
def evaluate_dro_regulariser(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    from ltbounds.bounds.drolt import dro_lt_theorem1

    outputs = splits.train
    keep = np.arange(min(outputs.num_samples, 2000))  # (N, N) work: the first 2000 samples
    z = np.asarray(outputs.embeddings[keep], dtype=np.float64)
    # Both sides read a sample's own class's centroid and radius only (column y_i of the (N, C) distances), so
    # the classes absent from these samples are left out: labels renumbered 0..P-1 over the P <= 2000 present
    # classes, an (N, P) GEMM instead of (N, C) (a quarter of the work at C = 8,142; the same per-sample values).
    present, y = np.unique(outputs.labels[keep], return_inverse=True)
    counts = class_sizes(y, present.size)
    mu = np.stack([z[y == c].mean(axis=0) for c in range(present.size)])
    radius = 1.0 / np.sqrt(counts)  # DRO-LT's eps / sqrt(n) radius with eps = 1
    # drolt's (18) per sample with d squared reads eps_c = r_c^2 and margin 2 eps_c; ELM's (5) uses eps_y = 2 eps_c
    printed = dro_lt_theorem1(z, y, mu, radius, metric="squared_euclidean", form="as_printed").bound
    elm_form = elm_dro_regulariser(z, y, mu, 2.0 * radius**2)
    return [
        identity_row(
            statement="elm.dro_lt_regulariser",
            gap=float(np.max(relative_gaps(printed, elm_form))),
            tolerance=1e-9,
            terms={"samples": float(keep.size)},
            split=outputs.split,
            note="identity: ELM's (5) with eps_y = 2 r_y^2 vs DRO-LT's (18) summand with d = squared Euclidean, "
            "r_y = 1/sqrt(n_y) (max relative gap)",
        )
    ]

"""drolt (Samuel and Chechik 2021; docs/papers.md): its statements, each declared once with its errata
verdict, and the evaluators that adapt a checkpoint's ``Outputs`` to the maths of ``ltbounds.bounds.drolt``.

Declared in the order of the errata registry. Theorem 1 and eq. (18) are about the unknown population
centroid mu_c: the evaluators stand the centroid of the measurement split (test, else held-out) in for
it and report that assumption as unknown, so no drolt row is ever a certified guarantee.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ltbounds.bounds.drolt import (
    METRICS,
    DroLtTheorem1,
    drolt_centroid_radius,
    drolt_kl_radius,
    gaussian_kl,
    kl_same_variance_gaussians,
    squared_centroid_distances,
)
from ltbounds.bounds.result import Assumption, BoundResult, Form
from ltbounds.checks import InputError, check_delta, check_finite, check_matrix
from ltbounds.per_class import class_means, class_sizes
from ltbounds.statements.context import EvaluationSplits
from ltbounds.statements.declaration import Declarations
from ltbounds.statements.rows import per_class_rows
from ltbounds.statements.statistics import chunks, class_moments, embedding_norms, embeddings_chunk

if TYPE_CHECKING:
    from ltbounds.outputs import Outputs

DECLARED = Declarations("drolt")


@dataclass(frozen=True)
class _ClassStatistics:
    """Per-class statistics of one split's embeddings (``ltbounds.per_class``)."""

    centroids: np.ndarray  # (C, K); a class absent from the split gets a zero placeholder (see below)
    sizes: np.ndarray  # (C,) n_c
    scatter: np.ndarray  # (C,) tr C^_c, divisor n_c (NaN when empty)


def _class_statistics(splits: EvaluationSplits, role: str) -> _ClassStatistics:
    """The class statistics of ``splits.train`` (role "train") or of the measurement split (role
    "measurement"), computed once per checkpoint. An absent class's centroid is a zero placeholder: the
    maths require finite centroids, and rows are built for the classes present only, so its column of
    distances is never read."""
    outputs = splits.train if role == "train" else splits.measurement_split()

    def compute() -> _ClassStatistics:
        # per_class.class_scatter's two-pass centroids and scatter, in row chunks (statements.statistics)
        moments = class_moments(splits, outputs)
        sizes = moments.sizes
        return _ClassStatistics(np.where(sizes[:, None] > 0, moments.centroids, 0.0), sizes, moments.trace)

    return splits.computed(("drolt.class_statistics", role), compute)


def _present_rows(present: np.ndarray, **fields) -> list[BoundResult]:
    """``per_class_rows(**fields)`` for the classes where ``present`` is True only."""
    return [row for row in per_class_rows(**fields) if present[row.class_index]]


@DECLARED.statement(
    id="drolt.kl_radius",
    source="001, eq. (10) (Section 5.3)",
    kind="identity",
    summary=(
        "KL(N(mu_q, s^2 I) || N(mu_p, s^2 I)) = ||mu_q - mu_p||^2 / (2 s^2); "
        "KL <= eps <=> distance <= s sqrt(2 eps)"
    ),
    printed=(
        "D_KL(q || hat p_c) = d(mu_q, mu_hat p_c)^2 / (2 sigma^2) for same-variance spherical Gaussians, hence "
        "d(mu_q, mu_hat p_c) <= sigma_c sqrt(2 eps_c) for q in U_c"
    ),
    verdict="holds",
    explanation=(
        "The KL divergence between N(mu_1, sigma^2 I) and N(mu_2, sigma^2 I) is ||mu_1 - mu_2||^2 / "
        "(2 sigma^2) (the trace and log-determinant terms cancel), checked against the general Gaussian KL formula "
        "and by Monte Carlo. Two notational slips that do not change the result: Theorem 1 calls sigma_c 'the "
        "variance' while (10) needs the standard deviation (we read it so), and (10) reuses the symbol eps_c for the "
        "radius sigma_c sqrt(2 eps_c)."
    ),
)
def evaluate_kl_radius(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    """drolt, eq. (10) per class: the closed-form KL between the Gaussians centred at the training and the
    measurement-split centroids (sigma_c pooled over the dimensions of the training class), against the
    general Gaussian KL; measured is their relative gap, the bound 1e-9 (an identity up to rounding)."""
    train, target = splits.train, splits.measurement_split()
    if target is None:
        return []
    fitted, other = _class_statistics(splits, "train"), _class_statistics(splits, "measurement")
    dimension = train.embeddings.shape[1]
    rows = []
    for c in np.flatnonzero((fitted.sizes >= 2) & (other.sizes >= 1)):
        sigma = math.sqrt(fitted.scatter[c] / dimension)  # sigma_c^2 = tr C^_c / K
        if sigma <= 0:
            continue
        mu_target, mu_hat = other.centroids[c], fitted.centroids[c]
        printed = kl_same_variance_gaussians(mu_target, mu_hat, sigma)
        # The general KL in the plane of the two means: sigma^2 I is invariant under rotation, so in a basis
        # whose first vector is mu_target - mu_hat the K coordinates are independent and the K - 2 others
        # (equal means, equal variances) contribute exactly 0. Same value as the K x K formula, without its
        # O(K^3) per class (28 s at 1,000 classes x 512 dims, hours at 2,048).
        plane = min(dimension, 2)
        shifted = np.zeros(plane)
        shifted[0] = float(np.linalg.norm(mu_target - mu_hat))
        general = gaussian_kl(shifted, sigma**2 * np.eye(plane), np.zeros(plane), sigma**2 * np.eye(plane))
        rows.append(
            BoundResult(
                statement="drolt.kl_radius",
                form="as_printed",
                value=1e-9,
                measured=abs(printed - general) / max(general, 1e-300),
                terms={
                    "kl_printed": printed,
                    "kl_general": general,
                    "sigma": sigma,
                    "radius": float(drolt_kl_radius(printed, sigma)),
                    "distance": float(np.linalg.norm(mu_target - mu_hat)),
                },
                assumptions=(
                    # a property of the population's class-conditionals: no finite sample confirms it
                    Assumption(
                        "same-variance spherical Gaussians",
                        "z | c ~ N(mu_c, sigma_c^2 I) (not checked; sigma_c pooled over dimensions of class c)",
                        None,
                    ),
                ),
                class_index=int(c),
                split=target.split,
                note="identity: measured = relative gap between eq. (10)'s KL and the general Gaussian KL; "
                "kl_printed is the smallest eps_c whose ball holds the test centroid",
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Theorem 1 and the robust loss (18): both evaluated on the training samples of the classes present in
# the training and the measurement split, with the measurement split's centroids standing in for mu_c.


@dataclass(frozen=True)
class _CentroidShift:
    """What Theorem 1 and eq. (18) are evaluated on (independent of delta)."""

    target: Outputs  # the split whose centroids stand in for the true mu_c
    mu_hat: np.ndarray  # (C, K) training centroids
    mu_true: np.ndarray  # (C, K) stand-in true centroids
    train_sizes: np.ndarray  # (C,)
    present: np.ndarray  # (C,) bool: the class has samples in both splits
    keep: np.ndarray  # (n,) bool: the training samples of the present classes (read in chunks, never copied)
    y: np.ndarray  # their labels
    shift: np.ndarray  # (C,) ||mu_c - hat mu_c||
    max_norm: float  # the largest embedding norm seen on either split


def _centroid_shift(splits: EvaluationSplits) -> _CentroidShift | None:
    """The shared setup of Theorem 1 and eq. (18), computed once per checkpoint; None without a
    measurement split."""
    train, target = splits.train, splits.measurement_split()
    if target is None:
        return None

    def compute() -> _CentroidShift:
        fitted, other = _class_statistics(splits, "train"), _class_statistics(splits, "measurement")
        present = (fitted.sizes >= 1) & (other.sizes >= 1)
        keep = np.isin(train.labels, np.flatnonzero(present))
        norms = [embedding_norms(splits, o).max() for o in (train, target) if o.num_samples]
        return _CentroidShift(
            target=target,
            mu_hat=fitted.centroids,
            mu_true=other.centroids,
            train_sizes=fitted.sizes,
            present=present,
            keep=keep,
            y=train.labels[keep],
            shift=np.linalg.norm(other.centroids - fitted.centroids, axis=1),
            max_norm=float(max(norms)),
        )

    return splits.computed(("drolt.centroid_shift",), compute)


def _checked_radius(radius: np.ndarray, num_classes: int) -> np.ndarray:
    r = check_finite(np.asarray(radius, dtype=np.float64), "radius").reshape(-1)
    if r.size == 1:
        r = np.full(num_classes, float(r[0]))
    if r.shape[0] != num_classes or np.any(r < 0):
        raise InputError(f"radius must be >= 0, a scalar or one value per class ({num_classes})")
    return r


class _ColumnLogSumExp:
    """log sum_i exp(values[i, c]) per column c, accumulated over row blocks (running max, rescaled sum)."""

    def __init__(self, columns: int) -> None:
        self.top = np.full(columns, -np.inf)
        self.total = np.zeros(columns)

    def add_negated(self, values: np.ndarray) -> None:
        """Add the rows of -values (+inf in ``values``: an entry left out), with one temporary array."""
        new_top = np.maximum(self.top, -values.min(axis=0, initial=np.inf))
        shift = np.where(np.isfinite(new_top), new_top, 0.0)
        exponent = np.subtract(-shift[None, :], values)  # -(values + shift), one pass
        self.total = self.total * np.exp(self.top - shift) + np.exp(exponent, out=exponent).sum(axis=0)
        self.top = new_top

    def result(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.total) + np.where(np.isfinite(self.top), self.top, 0.0)


def _class_logsumexp(values: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """log sum_{i: y_i = c} exp(values_i) per class c (-inf for a class without samples), O(n)."""
    top = np.full(num_classes, -np.inf)
    np.maximum.at(top, labels, values)
    shift = np.where(np.isfinite(top), top, 0.0)
    total = np.bincount(labels, weights=np.exp(values - shift[labels]), minlength=num_classes)
    with np.errstate(divide="ignore"):
        return np.log(total) + shift


def _per_sample_values(splits: EvaluationSplits, setup: _CentroidShift, delta: float) -> dict[tuple, np.ndarray]:
    """Every per-sample array Theorem 1 and eqs. (8)/(18) need at this delta (eq. (6) at the true centroids,
    Theorem 1 for each form and radius of ``_radii``, both metrics), in ONE pass over row chunks of the kept
    training samples, never the (n, C) distance matrices: value_i = numerator_i + L_c at c = y_i, where
    L_c = log sum_{z' in Z} exp(column(z', c)) is accumulated per class over the chunks (O(n) numerators).

    The columns, D = ||z' - hat mu_c||, D* = ||z' - mu_c|| (d = D or D^2 by metric), and how L_c is summed:

    - eq. (6) at mu (both metrics): -d(D*), one exp pass each;
    - Theorem 1 as printed, -d(D) - 2 eps_c [y' = c], and corrected Euclidean, -D: the sum splits into the
      z' of other classes (one exp pass of -d(D) with each z''s own class masked, shared by every radius)
      and those of class c (an O(n) sum), L_c = logaddexp(L_other, L_same - 2 eps_c) (eps = 0: corrected);
    - Theorem 1 corrected, squared: -([D - r_c]_+)^2 depends on r everywhere, one exp pass per radius.
    """

    def compute() -> dict[tuple, np.ndarray]:
        num_classes = setup.mu_hat.shape[0]
        squared_radii = {}  # r.tobytes() -> r, the radii of the squared corrected forms
        plans: list[tuple[tuple, str, str, np.ndarray]] = []  # (key, metric, form, r)
        for metric in METRICS:
            for corrected in (False, True):
                for form, radius in _radii(setup, delta, corrected=corrected):
                    bound_form = "as_printed" if form == "as_printed" else "corrected"
                    r = _checked_radius(radius, num_classes)
                    plans.append((("theorem1", metric, bound_form, r.tobytes()), metric, bound_form, r))
                    if bound_form == "corrected" and metric == "squared_euclidean":
                        squared_radii[r.tobytes()] = r
        true_sums = {metric: _ColumnLogSumExp(num_classes) for metric in METRICS}
        other_sums = {metric: _ColumnLogSumExp(num_classes) for metric in METRICS}
        clipped_sums = {key: _ColumnLogSumExp(num_classes) for key in squared_radii}
        own_hat, own_true, labels = [], [], []  # D(z_i, hat mu_{y_i}), D(z_i, mu_{y_i}) per kept sample
        train = splits.train
        # the centroids are checked once here, not once per chunk
        dimension = train.embeddings.shape[1]
        mu_true, mu_hat = (check_matrix(mu, "centroids", columns=dimension) for mu in (setup.mu_true, setup.mu_hat))
        true_norms, hat_norms = (np.einsum("ij,ij->i", mu, mu) for mu in (mu_true, mu_hat))
        for rows in chunks(splits, train, "drolt distances"):
            kept = setup.keep[rows]
            if not kept.any():
                continue
            embeddings = check_matrix(embeddings_chunk(train, rows)[kept], "embeddings")
            y = train.labels[rows][kept]
            index = np.arange(y.size)
            labels.append(y)
            squared = squared_centroid_distances(embeddings, mu_true, true_norms)
            distances = np.sqrt(squared)
            own_true.append(distances[index, y])
            true_sums["euclidean"].add_negated(distances)
            true_sums["squared_euclidean"].add_negated(squared)
            squared = squared_centroid_distances(embeddings, mu_hat, hat_norms)
            distances = np.sqrt(squared)
            own_hat.append(distances[index, y])
            for key, r in squared_radii.items():
                clipped = np.subtract(distances, r[None, :])
                np.maximum(clipped, 0.0, out=clipped)
                clipped_sums[key].add_negated(np.square(clipped, out=clipped))
            # the z' of class c are summed apart (O(n), ``same`` below): left out of the column sums here
            distances[index, y] = np.inf
            squared[index, y] = np.inf
            other_sums["euclidean"].add_negated(distances)
            other_sums["squared_euclidean"].add_negated(squared)
        y_all = np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)
        hat = np.concatenate(own_hat) if own_hat else np.zeros(0)
        true = np.concatenate(own_true) if own_true else np.zeros(0)
        result: dict[tuple, np.ndarray] = {}
        for metric in METRICS:
            power = 1 if metric == "euclidean" else 2
            result[("nll", metric)] = true**power + true_sums[metric].result()[y_all]
            same = _class_logsumexp(-(hat**power), y_all, num_classes)  # the z' of class c (left out above)
            other = other_sums[metric].result()
            for key, plan_metric, bound_form, r in plans:
                if plan_metric != metric:
                    continue
                if bound_form == "as_printed":
                    eps = r**power
                    result[key] = hat**power + 2.0 * eps[y_all] + np.logaddexp(other, same - 2.0 * eps)[y_all]
                elif metric == "euclidean":
                    result[key] = hat + 2.0 * r[y_all] + np.logaddexp(other, same)[y_all]
                else:
                    result[key] = (hat + r[y_all]) ** 2 + clipped_sums[r.tobytes()].result()[y_all]
        return result

    return splits.computed(("drolt.per_sample_values", float(delta)), compute)


def _nll(splits: EvaluationSplits, setup: _CentroidShift, metric: str, delta: float) -> np.ndarray:
    """``drolt_nll_from_distances`` at the stand-in true centroids, per kept training sample, chunked."""
    return _per_sample_values(splits, setup, delta)[("nll", metric)]


def _theorem1(
    splits: EvaluationSplits, setup: _CentroidShift, radius: np.ndarray, metric: str, form: str, delta: float
) -> DroLtTheorem1:
    """``dro_lt_theorem1_from_distances`` on the kept training samples, chunked (``_per_sample_values``)."""
    num_classes = setup.mu_hat.shape[0]
    r = _checked_radius(radius, num_classes)
    bound = _per_sample_values(splits, setup, delta)[("theorem1", metric, form, r.tobytes())]
    return DroLtTheorem1(bound, class_means(bound, setup.y, num_classes), r, metric, form)


def _radii(setup: _CentroidShift, delta: float, *, corrected: bool) -> list[tuple[Form, np.ndarray]]:
    """(form, r_c): the printed statement at r_c = the centroid shift; the corrected one at the shift and,
    certified, at the McDiarmid radius (``drolt_centroid_radius``, probability 1 - delta)."""
    if not corrected:
        return [("as_printed", setup.shift)]
    certified = drolt_centroid_radius(np.maximum(setup.train_sizes, 1), setup.max_norm, delta)
    return [("corrected", setup.shift), ("certified", certified)]


def _assumptions(setup: _CentroidShift, form: Form, radius: np.ndarray, train_split: str) -> tuple[Assumption, ...]:
    # The population centroid is unknown; the target split's centroid stands in for it, unchecked.
    proxy = Assumption(
        "true centroid proxy",
        f"mu_c is estimated by the centroid of the {setup.target.split} split (the true centroid is unknown: not "
        "checked)",
        None,
    )
    inside = setup.shift <= radius * (1 + 1e-12)
    ball = Assumption(
        "centroid in ball",
        "||mu_c - hat mu_c|| <= r_c for every class (r_c = that distance)"
        if form != "certified"
        else "||mu_c - hat mu_c|| <= r_c = R (1 + sqrt(2 ln(C/delta))) / sqrt(n_c) (McDiarmid, 1 - delta)",
        bool(inside[setup.present].all()),
    )
    if form != "certified":
        return (proxy, ball)
    # McDiarmid's radius needs ||z|| <= R for every z of the population; R here is only the largest norm seen
    bounded = Assumption(
        "bounded embeddings",
        f"every embedding, in the population too, has norm <= R = {setup.max_norm:.6g}, the largest norm seen on "
        f"{train_split} and {setup.target.split} (not checkable from a sample; docs/elm_radius.md)",
        None,
    )
    return (proxy, ball, bounded)


def theorem1_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """drolt, Theorem 1 (as printed, or corrected): per class, the mean over its training samples of the
    bound on -log P(z | mu_c) (value) and of -log P(z | mu_c) at the stand-in true centroid (measured),
    then the mean over every training sample; for d Euclidean and squared Euclidean."""
    delta = check_delta(delta)
    statement = "drolt.thm1_corrected" if corrected else "drolt.thm1"
    setup = _centroid_shift(splits)
    if setup is None or setup.y.size == 0:
        return []
    train, y = splits.train, setup.y
    rows = []
    for metric in METRICS:
        measured = _nll(splits, setup, metric, delta)
        measured_class = class_means(measured, y, train.num_classes)
        for form, radius in _radii(setup, delta, corrected=corrected):
            assumptions = _assumptions(setup, form, radius, train.split)
            bound_form = "as_printed" if form == "as_printed" else "corrected"
            result = _theorem1(splits, setup, radius, metric, bound_form, delta)
            rows += _present_rows(
                setup.present,
                statement=statement,
                form=form,
                values=result.class_bound,
                measured=measured_class,
                terms={"radius": radius, "centroid_shift": setup.shift},
                assumptions=assumptions,
                split=train.split,
                note=f"d = {metric}; per-class mean of -log P(z | mu_c) over the training samples z of class c",
            )
            violated = float(np.mean(measured > result.bound + 1e-12 * np.maximum(1.0, np.abs(result.bound))))
            rows.append(
                BoundResult(
                    statement=statement,
                    form=form,
                    value=float(result.bound.mean()),
                    measured=float(measured.mean()),
                    terms={"fraction_of_samples_violated": violated},
                    assumptions=assumptions,
                    split=train.split,
                    note=f"d = {metric}; mean over all training samples (the bound is per sample)",
                )
            )
    return rows


# exported: the studies refer to Theorem 1 through these objects, never by spelling the ids
THEOREM1, THEOREM1_CORRECTED = DECLARED.add_corrected_pair(
    theorem1_rows,
    printed=dict(
        id="drolt.thm1",
        source="001, Theorem 1 (eqs. 11, 16-17)",
        kind="inequality",
        summary=(
            "-log P(z | mu_c) <= -log[e^{-d(hat mu_c, z) - 2 eps_c} / "
            "sum_z' e^{-d(hat mu_c, z') - 2 eps_c delta(z', c)}], as printed, for d Euclidean and squared Euclidean"
        ),
        printed=(
            "with probability p(eps), -log P(z | mu_c) <= -log [e^{-d(hat mu_c, z) - 2 eps_c} / sum_{z' in Z} "
            "e^{-d(hat mu_c, z') - 2 eps_c delta(z', c)}], delta(z', c) = 1 iff z' is of class c; d Euclidean (and, as "
            "used in practice, squared Euclidean)"
        ),
        verdict="false_as_printed",
        explanation=(
            "The triangle inequality (15) gives e^{-d(mu_q, z')} <= e^{-d(hat mu_c, z') + eps_c} for every z', "
            "same class included; the printed denominator instead lowers the same-class terms by e^{-2 eps_c}, which "
            "no "
            "step justifies. Counterexample for d Euclidean (stored): Z = {-1, +1}, both of class c, hat mu_c = 0, "
            "true "
            "mu_c = 1, eps_c = 1: -log P(z=-1 | mu_c) = 2.127 > printed bound log 2 = 0.693. For d squared Euclidean "
            "the "
            "triangle inequality itself fails (||a + b||^2 can exceed ||a||^2 + ||b||^2); read literally (eps_c = "
            "squared "
            "radius) the same data give 4.018 > 0.693. On synthetic Gaussian classes (5 classes, 8 dimensions, counts "
            "200..3, the test-split centroid standing in for the true one) the printed Euclidean form failed for 35% "
            "of "
            "the training samples (evaluator term fraction_of_samples_violated). Corrected (drolt.thm1_corrected): "
            "Euclidean, d(hat mu_c, z) + 2 r_c + log sum_{z'} "
            "e^{-d(hat mu_c, z')} (what (14)-(15) prove); squared Euclidean, (D_z + r_c)^2 + log sum_{z'} e^{-[D_z' - "
            "r_c]_+^2} with D the Euclidean distance to hat mu_c. 'With probability p(eps)' is made explicit by a "
            "McDiarmid radius r_c = R (1 + sqrt(2 ln(C/delta)))/sqrt(n_c) for ||z|| <= R."
        ),
        counterexample="drolt.thm1.json",
    ),
    corrected=dict(
        id="drolt.thm1_corrected",
        source="001, Theorem 1, corrected (ours)",
        kind="inequality",
        summary=(
            "Euclidean: d + 2 r_c + log sum_z' e^{-d(hat mu_c, z')}; "
            "squared: (D + r)^2 + log sum e^{-[D' - r]_+^2}"
        ),
        printed=(
            "for ||mu_c - hat mu_c|| <= r_c: -log P(z | mu_c) <= d(hat mu_c, z) + 2 r_c + log sum_{z'} "
            "e^{-d(hat mu_c, z')} (d Euclidean); <= (D_z + r_c)^2 + log sum_{z'} e^{-[D_z' - r_c]_+^2} (d squared)"
        ),
        verdict="holds",
        explanation=(
            "Numerator and every denominator term bounded by the triangle inequality on the Euclidean "
            "distance (squared after the monotone bounds for the squared metric). Property-tested over random "
            "embeddings, "
            "centroids and true centroids anywhere in the ball, including ties and duplicates."
        ),
    ),
)


def robust_loss_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """drolt, eq. (18) against eq. (8): L_Robust from the training centroids (value, as printed or from the
    corrected Theorem 1) and L_NLL at the stand-in true centroids (measured), w(c) = 1/|S_c|, both metrics."""
    delta = check_delta(delta)
    statement = "drolt.robust_loss_corrected" if corrected else "drolt.robust_loss"
    setup = _centroid_shift(splits)
    if setup is None:
        raise InputError(f"{statement} needs a test or held-out split to stand in for the true centroids")
    train = splits.train
    rows = []
    for metric in METRICS:
        # drolt_nll_loss / drolt_robust_loss: w(c) = 1/|S_c| times the per-sample values, summed
        weights = 1.0 / np.maximum(class_sizes(setup.y, train.num_classes), 1)
        nll = float(np.sum(weights[setup.y] * _nll(splits, setup, metric, delta)))
        for form, radius in _radii(setup, delta, corrected=corrected):
            bound_form = "as_printed" if form == "as_printed" else "corrected"
            rows.append(
                BoundResult(
                    statement=statement,
                    form=form,
                    value=float(
                        np.sum(weights[setup.y] * _theorem1(splits, setup, radius, metric, bound_form, delta).bound)
                    ),
                    measured=nll,
                    terms={
                        "classes": float(np.count_nonzero(setup.present)),
                        "mean_radius": float(np.mean(radius[setup.present])),
                    },
                    assumptions=_assumptions(setup, form, radius, train.split),
                    split=train.split,
                    note=f"d = {metric}; L_NLL (8) at the true centroids (measured) <= L_Robust (18), w(c) = 1/|S_c|",
                )
            )
    return rows


DECLARED.add_corrected_pair(
    robust_loss_rows,
    printed=dict(
        id="drolt.robust_loss",
        source="001, eq. (18) with Sec. 3 ('we derive an upper bound of that loss') and eq. (1)",
        kind="inequality",
        summary="L_Robust (18), built from Theorem 1's printed bound, upper-bounds L_NLL (8) at the true centroids",
        printed=(
            "L_Robust = -sum_c w(c) sum_{z in S_c} log [e^{-d(hat mu_c, z) - 2 eps_c} / sum_{z' in Z} "
            "e^{-d(hat mu_c, z') - 2 eps_c delta(z', c)}] is an upper bound of the NLL loss (8) (with probability "
            "p(eps))"
        ),
        verdict="false_as_printed",
        explanation=(
            "L_Robust sums Theorem 1's printed per-sample bound with the weights of (8), so it inherits "
            "Theorem 1's error (the same-class denominator terms are lowered by e^{-2 eps_c}, which no step "
            "justifies). "
            "Stored counterexample: Z = {-1, +1}, both of class c, w(c) = 1/2, hat mu_c = 0, true mu_c = 1, eps_c = 1 "
            "(the true centroid is in the ball): L_NLL (8) = 1.127 > L_Robust = log 2 = 0.693 for d Euclidean, 2.018 > "
            "0.693 for d squared. Summing the corrected per-sample bound (drolt.thm1_corrected) gives an upper bound: "
            "drolt.robust_loss_corrected."
        ),
        counterexample="drolt.robust_loss.json",
    ),
    corrected=dict(
        id="drolt.robust_loss_corrected",
        source="001, eq. (18), corrected (ours)",
        kind="inequality",
        summary="sum_c w(c) sum_z (corrected Theorem 1 bound) >= L_NLL (8) when every mu_c is within r_c of hat mu_c",
        printed=(
            "if ||mu_c - hat mu_c|| <= r_c for every class: sum_c w(c) sum_{z in S_c} B_c(z) >= L_NLL (8), B_c the "
            "corrected Theorem 1 bound (Euclidean: d(hat mu_c, z) + 2 r_c + log sum_{z'} e^{-d(hat mu_c, z')}; "
            "squared: "
            "(D_z + r_c)^2 + log sum_{z'} e^{-[D_z' - r_c]_+^2}), for any weights w(c) >= 0"
        ),
        verdict="holds",
        explanation=(
            "A non-negative weighted sum of per-sample inequalities (drolt.thm1_corrected). Property-tested on "
            "random embeddings, labels, weights and true centroids anywhere in the balls, both metrics. 'With "
            "probability "
            "p(eps)' becomes explicit with the McDiarmid radius of drolt.thm1_corrected."
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# Sec. 6: the standard error of a class centroid


def _standard_errors(splits: EvaluationSplits, statement: str) -> tuple[np.ndarray, np.ndarray]:
    """(plug-in standard error of each training centroid, training class sizes); needs two classes with
    >= 2 training samples (the others get NaN)."""
    # centroid_standard_error = sqrt(tr C^_c / (n_c - 1)) (NaN for n_c < 2), from the chunked class scatter
    statistics = _class_statistics(splits, "train")
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.where(statistics.sizes >= 2, np.sqrt(statistics.scatter / (statistics.sizes - 1.0)), np.nan)
    if np.count_nonzero(np.isfinite(se)) < 2:
        raise InputError(f"{statement} needs two classes with >= 2 training samples each")
    return se, _class_statistics(splits, "train").sizes


@DECLARED.statement(
    id="drolt.standard_error",
    source="001, Sec. 6, radius variant 2 ('the standard-error-of-the-mean decays as sqrt(n)')",
    kind="inequality",
    summary="standard error of the class mean read literally as growing like sqrt(n): head centroid error >= tail's",
    printed=(
        "The class radius scales with 1/sqrt(n) ... based on the fact that the standard-error-of-the-mean "
        "decays as sqrt(n), and leads to tail classes having a larger safety radius."
    ),
    verdict="false_as_printed",
    explanation=(
        "The standard error of the mean of n iid draws with covariance Sigma is sqrt(tr Sigma / n): it "
        "decays like 1/sqrt(n), i.e. n^{-1/2}; 'decays as sqrt(n)' read literally is a quantity proportional to "
        "sqrt(n), which grows. Stored counterexample: sigma = 1, n = 1, 4, 16 give standard errors 1, 0.5, 0.25 "
        "where the literal reading gives 1, 2, 4. The slip does not affect the method: the radius eps/sqrt(n) the "
        "paper uses is the correct rate, and the conclusion (tail classes get a larger radius) follows from it. "
        "Corrected statement: drolt.standard_error_corrected."
    ),
    counterexample="drolt.standard_error.json",
    corrected_by="drolt.standard_error_corrected",
)
def evaluate_standard_error(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    """drolt, Sec. 6 read literally (standard error proportional to sqrt(n)): the plug-in standard error of
    the tail centroid (measured) is at most that of the head centroid (value)."""
    check_delta(delta)
    train = splits.train
    se, counts = _standard_errors(splits, "drolt.standard_error")
    usable = np.flatnonzero(np.isfinite(se))
    head, tail = usable[np.argmax(counts[usable])], usable[np.argmin(counts[usable])]
    return [
        BoundResult(
            statement="drolt.standard_error",
            form="as_printed",
            value=float(se[head]),
            measured=float(se[tail]),
            terms={"n_head": float(counts[head]), "n_tail": float(counts[tail])},
            split=train.split,
            note="plug-in standard error of the tail centroid (measured) <= that of the head centroid (value), "
            "as 'decays as sqrt(n)' read literally predicts",
        )
    ]


@DECLARED.statement(
    id="drolt.standard_error_corrected",
    source="001, Sec. 6, radius variant 2 (corrected)",
    kind="identity",
    summary="E ||mean of n iid - mu||^2 = tr Sigma / n: the standard error decays as 1/sqrt(n), the eps/sqrt(n) radius",
    printed=(
        "For n iid vectors with mean mu and covariance Sigma, E ||mean - mu||^2 = tr Sigma / n: the standard "
        "error decays like 1/sqrt(n), so the radius eps/sqrt(n_c) is larger for tail classes."
    ),
    verdict="holds",
    explanation=(
        "Var of a sum of independent vectors is the sum of the variances; checked exactly by enumerating "
        "every n-tuple of draws from small discrete distributions (n <= 5) and by the SymPy expectation of the "
        "squared error. On a checkpoint the evaluator compares the distance between the train and held-out "
        "centroids with its root-mean-square under independence (a diagnostic: training embeddings are fitted, not "
        "independent draws)."
    ),
)
def evaluate_standard_error_corrected(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    """drolt, Sec. 6 corrected, as a diagnostic per class: ||centroid(train) - centroid(measurement split)||
    (measured) against its root-mean-square under independence, sqrt(tr Sigma (1/n + 1/m)) = se sqrt(1 + n/m)
    with se = sqrt(tr Sigma / n) the training centroid's standard error (value)."""
    check_delta(delta)
    train = splits.train
    se, counts = _standard_errors(splits, "drolt.standard_error_corrected")
    target = splits.measurement_split()
    if target is None:
        raise InputError("drolt.standard_error_corrected needs a test or held-out split")
    fitted, other = _class_statistics(splits, "train"), _class_statistics(splits, "measurement")
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = se * np.sqrt(1.0 + counts / other.sizes)
    return _present_rows(
        np.isfinite(se) & (other.sizes >= 1),
        statement="drolt.standard_error_corrected",
        form="diagnostic",
        values=expected,
        measured=np.linalg.norm(fitted.centroids - other.centroids, axis=1),
        terms={"standard_error": se, "n_train": counts, "n_other": other.sizes},
        assumptions=(
            Assumption(
                "independent_samples",
                "the embeddings of both splits are iid draws of one class distribution (not checked: the "
                "model was fitted to the training split)",
                None,
            ),
        ),
        split=train.split,
        note=f"||centroid(train) - centroid({target.split})|| vs its root-mean-square "
        "sqrt(tr Sigma (1/n + 1/m)) under independence (diagnostic, not a bound)",
    )

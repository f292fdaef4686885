"""Seed 001 (DRO-LT, Samuel and Chechik 2021): the KL radius (10) and Theorem 1 (eqs. 11, 16-17).

Model of the paper (eq. 6): the normalised likelihood of a sample z of class c given a centroid mu is
P(z | mu) = exp(-d(mu, z)) / sum_{z' in Z} exp(-d(mu, z')), Z all embeddings (z included).
Theorem 1 bounds -log P(z | mu_c) for the unknown true centroid mu_c from the empirical centroid
hat mu_c, provided mu_c lies in the uncertainty ball of radius r_c around hat mu_c.

Radius convention here: ``radius`` r_c is always a Euclidean distance, r_c >= ||mu_c - hat mu_c||.
For d = squared Euclidean we read the printed theorem with every d squared, including the ball
d(mu_c, hat mu_c) <= eps_c, so its eps_c = r_c^2. All arrays float64; distances to the C centroids
are one (N, C) matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ltbounds.bounds.elm import logsumexp
from ltbounds.bounds.result import Assumption, BoundResult, EvaluationSplits, Statement
from ltbounds.checks import InputError, check_delta, check_finite, check_labels, check_matrix

__all__ = [
    "DroLtTheorem1",
    "drolt_centroid_radius",
    "drolt_kl_radius",
    "drolt_nll",
    "dro_lt_theorem1",
    "gaussian_kl",
    "kl_same_variance_gaussians",
]

METRICS = ("euclidean", "squared_euclidean")


def kl_same_variance_gaussians(mu_q: Any, mu_p: Any, sigma: float) -> float:
    """001, the step before eq. (10): D_KL(N(mu_q, sigma^2 I) || N(mu_p, sigma^2 I)) = ||mu_q - mu_p||^2 / (2 sigma^2).

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

    Used to check eq. (10)'s closed form independently. Covariances must be symmetric positive definite.
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
    """001, eq. (10): D_KL <= eps_c  <=>  ||mu_q - hat mu_c|| <= sigma_c sqrt(2 eps_c) (the centroid radius).

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
    at delta' = delta/C. This turns Theorem 1's "with probability p(eps)" into p(eps) >= 1 - delta.
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


def _distances(z: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """(N, C) Euclidean distances ||z_i - mu_c||."""
    sq = np.einsum("ij,ij->i", z, z)[:, None] + np.einsum("ij,ij->i", mu, mu)[None, :] - 2.0 * z @ mu.T
    return np.sqrt(np.maximum(sq, 0.0))


def _metric(distance: np.ndarray, metric: str) -> np.ndarray:
    if metric == "euclidean":
        return distance
    if metric == "squared_euclidean":
        return distance**2
    raise InputError(f"metric must be one of {METRICS}, got {metric!r}")


def drolt_nll(embeddings: Any, labels: Any, centroids: Any, metric: str = "euclidean") -> np.ndarray:
    """001, eq. (6): per-sample -log P(z | mu_c) = d(mu_c, z) + log sum_{z' in Z} exp(-d(mu_c, z')).

    c is the label of z; Z is every row of ``embeddings``.
    """
    z, y, mu = _inputs(embeddings, labels, centroids)
    return _nll_from_distances(_distances(z, mu), y, metric)


def _nll_from_distances(distance: np.ndarray, y: np.ndarray, metric: str) -> np.ndarray:
    d = _metric(distance, metric)
    return d[np.arange(y.shape[0]), y] + logsumexp(-d, axis=0)[y]


@dataclass(frozen=True)
class DroLtTheorem1:
    """Per-sample right side of Theorem 1 (the bound on -log P(z | mu_c)) and its class means."""

    bound: np.ndarray  # (N,)
    class_bound: np.ndarray  # (C,) mean over the samples of each class (nan when empty)
    radius: np.ndarray  # (C,) Euclidean radius r_c
    metric: str
    form: str


def dro_lt_theorem1(
    embeddings: Any,
    labels: Any,
    centroids: Any,
    radius: Any,
    metric: str = "euclidean",
    form: str = "as_printed",
) -> DroLtTheorem1:
    """001, Theorem 1: a bound on -log P(z | mu_c) valid for every mu_c with ||mu_c - hat mu_c|| <= r_c.

    centroids = hat mu (C, K); radius r_c (Euclidean, scalar or per class). With d the metric and
    eps_c = r_c (Euclidean) or r_c^2 (squared Euclidean, the literal reading):

    as_printed (eq. 11/17):  d(hat mu_c, z) + 2 eps_c + log sum_{z'} exp(-d(hat mu_c, z') - 2 eps_c [z' in class c])
    corrected, Euclidean:    d(hat mu_c, z) + 2 r_c   + log sum_{z'} exp(-d(hat mu_c, z'))
        (what the triangle inequalities (14)-(15) prove: numerator and *every* denominator term move by r_c)
    corrected, squared:      (D_z + r_c)^2 + log sum_{z'} exp(-[D_z' - r_c]_+^2),   D = ||hat mu_c - .||
        (the triangle inequality on D, then squaring the monotone bounds)

    The printed denominator lowers the same-class terms by 2 eps_c; that is not implied by (15) and
    is false (errata drolt.thm1, stored counterexample), for either metric.
    """
    z, y, mu = _inputs(embeddings, labels, centroids)
    if form not in ("as_printed", "corrected"):
        raise InputError(f"form must be 'as_printed' or 'corrected', got {form!r}")
    if metric not in METRICS:
        raise InputError(f"metric must be one of {METRICS}, got {metric!r}")
    r = check_finite(np.asarray(radius, dtype=np.float64), "radius").reshape(-1)
    if r.size == 1:
        r = np.full(mu.shape[0], float(r[0]))
    if r.shape[0] != mu.shape[0] or np.any(r < 0):
        raise InputError(f"radius must be >= 0, a scalar or one value per class ({mu.shape[0]})")
    return _theorem1_from_distances(_distances(z, mu), y, r, metric, form)


def _theorem1_from_distances(
    distance: np.ndarray, y: np.ndarray, r: np.ndarray, metric: str, form: str
) -> DroLtTheorem1:
    num_classes = distance.shape[1]
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
    counts = np.bincount(y, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        class_bound = np.bincount(y, weights=bound, minlength=num_classes) / counts
    return DroLtTheorem1(bound, class_bound, r, metric, form)


# ---------------------------------------------------------------------------------------------
# evaluators


def _centroids(outputs: Any) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(outputs.labels, minlength=outputs.num_classes)
    sums = np.zeros((outputs.num_classes, outputs.embeddings.shape[1]))
    order = np.argsort(outputs.labels, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)))
    nonempty = np.flatnonzero(counts > 0)
    if nonempty.size:
        sums[nonempty] = np.add.reduceat(outputs.embeddings[order], starts[nonempty], axis=0)
    return sums / np.maximum(counts, 1)[:, None], counts


def _evaluate_kl_radius(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    train = splits.train
    target = splits.test if splits.test is not None else splits.heldout
    if target is None:
        return []
    mu_hat, counts = _centroids(train)
    mu_target, target_counts = _centroids(target)
    rows = []
    dimension = train.embeddings.shape[1]
    for c in np.flatnonzero((counts >= 2) & (target_counts >= 1)):
        members = train.embeddings[train.labels == c]
        sigma = float(np.sqrt(np.mean((members - mu_hat[c]) ** 2)))
        if sigma <= 0:
            continue
        printed = kl_same_variance_gaussians(mu_target[c], mu_hat[c], sigma)
        general = gaussian_kl(mu_target[c], sigma**2 * np.eye(dimension), mu_hat[c], sigma**2 * np.eye(dimension))
        radius = float(drolt_kl_radius(printed, sigma))
        distance = float(np.linalg.norm(mu_target[c] - mu_hat[c]))
        rows.append(
            BoundResult(
                "drolt.kl_radius",
                "as_printed",
                1e-9,
                abs(printed - general) / max(general, 1e-300),
                {"kl_printed": printed, "kl_general": general, "sigma": sigma, "radius": radius, "distance": distance},
                (
                    # a property of the population's class-conditionals: no finite sample confirms it
                    Assumption(
                        "same-variance spherical Gaussians",
                        "z | c ~ N(mu_c, sigma_c^2 I) (not checked; sigma_c pooled over dimensions of class c)",
                        None,
                    ),
                ),
                int(c),
                target.split,
                "identity: measured = relative gap between eq. (10)'s KL and the general Gaussian KL; "
                "kl_printed is the smallest eps_c whose ball holds the test centroid",
            )
        )
    return rows


def _evaluate_theorem1(corrected: bool):
    def evaluate(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
        delta = check_delta(delta)
        train = splits.train
        target = splits.test if splits.test is not None else splits.heldout
        if target is None:
            return []
        mu_hat, counts = _centroids(train)
        mu_true, target_counts = _centroids(target)
        present = (counts >= 1) & (target_counts >= 1)
        if not present.all():
            keep = np.isin(train.labels, np.flatnonzero(present))
        else:
            keep = np.ones(train.num_samples, dtype=bool)
        z, y = train.embeddings[keep], train.labels[keep]
        if z.shape[0] == 0:
            return []
        distance = np.linalg.norm(mu_true - mu_hat, axis=1)
        norms = [
            np.sqrt(np.einsum("ij,ij->i", o.embeddings, o.embeddings)).max() for o in (train, target) if o.num_samples
        ]
        certified_radius = drolt_centroid_radius(np.maximum(counts, 1), float(max(norms)), delta)
        statement = "drolt.thm1_corrected" if corrected else "drolt.thm1"
        radii = (
            [("as_printed", distance)] if not corrected else [("corrected", distance), ("certified", certified_radius)]
        )
        # The population centroid is unknown; the target split's centroid stands in for it, unchecked.
        proxy = Assumption(
            "true centroid proxy",
            f"mu_c is estimated by the centroid of the {target.split} split (the true centroid is unknown: not "
            "checked)",
            None,
        )
        # McDiarmid's radius needs ||z|| <= R for every z of the population; R here is only the largest norm seen
        bounded = Assumption(
            "bounded embeddings",
            f"every embedding, in the population too, has norm <= R = {max(norms):.6g}, the largest norm seen on "
            f"{train.split} and {target.split} (not checkable from a sample; docs/elm_radius.md)",
            None,
        )
        rows = []
        to_hat, to_true = _distances(z, mu_hat), _distances(z, mu_true)
        for metric in METRICS:
            measured = _nll_from_distances(to_true, y, metric)
            measured_class = np.bincount(y, weights=measured, minlength=train.num_classes) / np.maximum(
                np.bincount(y, minlength=train.num_classes), 1
            )
            for form, radius in radii:
                inside = distance <= radius * (1 + 1e-12)
                ball = Assumption(
                    "centroid in ball",
                    "||mu_c - hat mu_c|| <= r_c for every class (r_c = that distance)"
                    if form != "certified"
                    else "||mu_c - hat mu_c|| <= r_c = R (1 + sqrt(2 ln(C/delta))) / sqrt(n_c) (McDiarmid, 1 - delta)",
                    bool(inside[present].all()),
                )
                assumptions = (proxy, ball, bounded) if form == "certified" else (proxy, ball)
                result = _theorem1_from_distances(
                    to_hat, y, radius, metric, "as_printed" if form == "as_printed" else "corrected"
                )
                for c in np.flatnonzero(present):
                    rows.append(
                        BoundResult(
                            statement,
                            form,
                            float(result.class_bound[c]),
                            float(measured_class[c]),
                            {"radius": float(radius[c]), "centroid_shift": float(distance[c])},
                            assumptions,
                            int(c),
                            train.split,
                            f"d = {metric}; per-class mean of -log P(z | mu_c) over the training samples z of class c",
                        )
                    )
                violated = float(np.mean(measured > result.bound + 1e-12 * np.maximum(1.0, np.abs(result.bound))))
                rows.append(
                    BoundResult(
                        statement,
                        form,
                        float(result.bound.mean()),
                        float(measured.mean()),
                        {"fraction_of_samples_violated": violated},
                        assumptions,
                        None,
                        train.split,
                        f"d = {metric}; mean over all training samples (the bound is per sample)",
                    )
                )
        return rows

    return evaluate


STATEMENTS = (
    Statement(
        "drolt.kl_radius",
        "001, eq. (10)",
        "identity",
        "KL(N(mu_q, s^2 I) || N(mu_p, s^2 I)) = ||mu_q - mu_p||^2 / (2 s^2); KL <= eps <=> distance <= s sqrt(2 eps)",
        _evaluate_kl_radius,
    ),
    Statement(
        "drolt.thm1",
        "001, Theorem 1 (eqs. 11, 16-17)",
        "inequality",
        "-log P(z | mu_c) <= -log[e^{-d(hat mu_c, z) - 2 eps_c} / sum_z' e^{-d(hat mu_c, z') - 2 eps_c delta(z', c)}], "
        "as printed, for d Euclidean and squared Euclidean",
        _evaluate_theorem1(False),
    ),
    Statement(
        "drolt.thm1_corrected",
        "001, Theorem 1, corrected",
        "inequality",
        "Euclidean: d + 2 r_c + log sum_z' e^{-d(hat mu_c, z')}; squared: (D + r)^2 + log sum e^{-[D' - r]_+^2}",
        _evaluate_theorem1(True),
    ),
)


# ---------------------------------------------------------------------------------------------
# Statements added by the completeness pass (issue 11, section 2): the robust loss (18) as an upper
# bound on the NLL loss (8), and the standard-error remark of Section 6. Appended here so the
# evaluators above stay untouched.


def _class_weights(y: np.ndarray, num_classes: int, weights: Any) -> np.ndarray:
    counts = np.bincount(y, minlength=num_classes)
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
    """001, eq. (8): L_NLL = sum_c w(c) sum_{z in S_c} -log P(z | mu_c); default w(c) = 1/|S_c| (equal class weight).

    ``centroids`` are the centroids the likelihood (6) uses (the true mu_c in the theorem).
    """
    z, y, mu = _inputs(embeddings, labels, centroids)
    w = _class_weights(y, mu.shape[0], weights)
    return float(np.sum(w[y] * _nll_from_distances(_distances(z, mu), y, metric)))


def drolt_robust_loss(
    embeddings: Any,
    labels: Any,
    centroids: Any,
    radius: Any,
    weights: Any = None,
    metric: str = "euclidean",
    form: str = "as_printed",
) -> float:
    """001, eq. (18): L_Robust = sum_c w(c) sum_{z in S_c} (Theorem 1's bound at z), from the empirical centroids.

    ``form`` "as_printed" is eq. (18) itself; "corrected" sums the corrected per-sample bound
    (``drolt.thm1_corrected``), which makes L_Robust >= L_NLL (8) whenever every true centroid lies within
    ``radius`` of its empirical one (errata drolt.robust_loss, drolt.robust_loss_corrected).
    """
    z, y, mu = _inputs(embeddings, labels, centroids)
    w = _class_weights(y, mu.shape[0], weights)
    return float(np.sum(w[y] * dro_lt_theorem1(z, y, mu, radius, metric, form).bound))


def _evaluate_robust_loss(corrected: bool):
    statement = "drolt.robust_loss_corrected" if corrected else "drolt.robust_loss"

    def evaluate(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
        delta = check_delta(delta)
        train = splits.train
        target = splits.test if splits.test is not None else splits.heldout
        if target is None:
            raise InputError(f"{statement} needs a test or held-out split to stand in for the true centroids")
        mu_hat, counts = _centroids(train)
        mu_true, target_counts = _centroids(target)
        present = np.flatnonzero((counts >= 1) & (target_counts >= 1))
        keep = np.isin(train.labels, present)
        z, y = train.embeddings[keep], train.labels[keep]
        shift = np.linalg.norm(mu_true - mu_hat, axis=1)
        norms = max(float(np.sqrt(np.einsum("ij,ij->i", o.embeddings, o.embeddings)).max()) for o in (train, target))
        radii = [("corrected", shift), ("certified", drolt_centroid_radius(np.maximum(counts, 1), norms, delta))]
        radii = radii if corrected else [("as_printed", shift)]
        # as in drolt.thm1: the population centroid and the population's norm bound are not checkable here
        proxy = Assumption(
            "true centroid proxy",
            f"mu_c is estimated by the centroid of the {target.split} split (the true centroid is unknown: not "
            "checked)",
            None,
        )
        bounded = Assumption(
            "bounded embeddings",
            f"every embedding, in the population too, has norm <= R = {norms:.6g}, the largest norm seen "
            "(not checkable from a sample)",
            None,
        )
        rows = []
        for metric in METRICS:
            nll = drolt_nll_loss(z, y, mu_true, metric=metric)
            for form, radius in radii:
                inside = bool(np.all(shift[present] <= radius[present] * (1 + 1e-12)))
                ball = Assumption("centroid in ball", "||mu_c - hat mu_c|| <= r_c for every class", inside)
                assumptions = (proxy, ball, bounded) if form == "certified" else (proxy, ball)
                bound_form = "as_printed" if form == "as_printed" else "corrected"
                value = drolt_robust_loss(z, y, mu_hat, radius, metric=metric, form=bound_form)
                rows.append(
                    BoundResult(
                        statement,
                        form,
                        value,
                        nll,
                        {"classes": float(present.size), "mean_radius": float(np.mean(radius[present]))},
                        assumptions,
                        None,
                        train.split,
                        f"d = {metric}; L_NLL (8) at the true centroids (measured) <= L_Robust (18), w(c) = 1/|S_c|",
                    )
                )
        return rows

    return evaluate


def centroid_standard_error(embeddings: Any, labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Plug-in standard error of each class centroid, sqrt(tr Sigma^_c / n_c) (NaN for classes with < 2 samples).

    The corrected reading of 001, Sec. 6 ('the standard error of the mean decays as 1/sqrt(n)'): for n iid
    vectors with covariance Sigma, E ||mean - mu||^2 = tr Sigma / n. Sigma^_c is the unbiased covariance.
    """
    z = check_matrix(embeddings, "embeddings")
    c = int(np.max(labels)) + 1 if num_classes is None else int(num_classes)
    y = check_labels(labels, c, "labels", length=z.shape[0])
    result = np.full(c, np.nan)
    for k in range(c):
        members = z[y == k]
        if members.shape[0] >= 2:
            trace = float(np.sum(np.var(members, axis=0, ddof=1)))
            result[k] = math.sqrt(trace / members.shape[0])
    return result


def _evaluate_standard_error(corrected: bool):
    def evaluate(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
        check_delta(delta)
        train = splits.train
        se = centroid_standard_error(train.embeddings, train.labels, train.num_classes)
        counts = np.bincount(train.labels, minlength=train.num_classes)
        usable = np.flatnonzero(np.isfinite(se))
        if usable.size < 2:
            raise InputError("drolt.standard_error needs two classes with >= 2 training samples each")
        if not corrected:
            head = usable[np.argmax(counts[usable])]
            tail = usable[np.argmin(counts[usable])]
            # printed 'decays as sqrt(n)' read literally: se proportional to sqrt(n), so the head's is the larger
            return [
                BoundResult(
                    "drolt.standard_error",
                    "as_printed",
                    float(se[head]),
                    float(se[tail]),
                    {"n_head": float(counts[head]), "n_tail": float(counts[tail])},
                    (),
                    None,
                    train.split,
                    "plug-in standard error of the tail centroid (measured) <= that of the head centroid (value), "
                    "as 'decays as sqrt(n)' read literally predicts",
                )
            ]
        target = splits.test if splits.test is not None else splits.heldout
        if target is None:
            raise InputError("drolt.standard_error_corrected needs a test or held-out split")
        mu_hat, _ = _centroids(train)
        mu_other, other_counts = _centroids(target)
        rows = []
        for k in usable[other_counts[usable] >= 1]:
            members = train.embeddings[train.labels == k]
            trace = float(np.sum(np.var(members, axis=0, ddof=1)))
            expected = math.sqrt(trace * (1.0 / counts[k] + 1.0 / other_counts[k]))
            rows.append(
                BoundResult(
                    "drolt.standard_error_corrected",
                    "diagnostic",
                    expected,
                    float(np.linalg.norm(mu_hat[k] - mu_other[k])),
                    {"standard_error": float(se[k]), "n_train": float(counts[k]), "n_other": float(other_counts[k])},
                    (
                        Assumption(
                            "independent_samples",
                            "the embeddings of both splits are iid draws of one class distribution (not checked: the "
                            "model was fitted to the training split)",
                            None,
                        ),
                    ),
                    int(k),
                    train.split,
                    f"||centroid(train) - centroid({target.split})|| vs its root-mean-square "
                    "sqrt(tr Sigma (1/n + 1/m)) under independence (diagnostic, not a bound)",
                )
            )
        return rows

    return evaluate


__all__ += ["centroid_standard_error", "drolt_nll_loss", "drolt_robust_loss"]

STATEMENTS = STATEMENTS + (
    Statement(
        "drolt.robust_loss",
        "001, eq. (18) and Sec. 3 / eq. (1) ('an upper bound of that loss')",
        "inequality",
        "L_Robust (18), built from Theorem 1's printed bound, upper-bounds L_NLL (8) at the true centroids",
        _evaluate_robust_loss(False),
    ),
    Statement(
        "drolt.robust_loss_corrected",
        "001, eq. (18), corrected",
        "inequality",
        "sum_c w(c) sum_z (corrected Theorem 1 bound) >= L_NLL (8) when every mu_c is within r_c of hat mu_c",
        _evaluate_robust_loss(True),
    ),
    Statement(
        "drolt.standard_error",
        "001, Sec. 6, radius variant 2 ('the standard-error-of-the-mean decays as sqrt(n)')",
        "inequality",
        "standard error of the class mean read literally as growing like sqrt(n): head centroid error >= tail's",
        _evaluate_standard_error(False),
    ),
    Statement(
        "drolt.standard_error_corrected",
        "001, Sec. 6, radius variant 2 (corrected)",
        "identity",
        "E ||mean of n iid - mu||^2 = tr Sigma / n: the standard error decays as 1/sqrt(n), the eps/sqrt(n) radius",
        _evaluate_standard_error(True),
    ),
)

"""PAC-Bayes risk certificates, and their balanced-error (long-tail) forms.

Classical results, every constant explicit (float64, arrays in). Notation: S = n samples the bound
uses, P a prior fixed before S is seen, Q any posterior (chosen after), KL = KL(Q || P) in nats,
R^(Q) = E_{h~Q} of the empirical error on S, R(Q) = E_{h~Q} of the population error. Risks are
error rates in [0, 1] (the 0-1 loss, or any loss with values in [0, 1]).

- kl(q || p) = q ln(q/p) + (1-q) ln((1-q)/(1-p)), the Bernoulli relative entropy (nats).
- PAC-Bayes-kl (Seeger 2002, Thm 1; Maurer 2004, Thm 5): w.p. >= 1 - delta over S, for all Q,
  kl(R^(Q) || R(Q)) <= (KL + ln(xi(n)/delta)) / n, xi(n) = sum_k C(n,k) (k/n)^k (1-k/n)^(n-k)
  <= 2 sqrt(n) (Maurer 2004, Thm 1, for n >= 8; checked numerically below 8 and up to 10^4 by the
  tests). Losses in [0, 1], samples independent.
- f-quad, f-classic: relaxations of PAC-Bayes-kl used as training objectives (Perez-Ortiz,
  Rivasplata, Shawe-Taylor & Szepesvari, JMLR 2021, eqs. (8)-(9)); f-lambda (Thiemann, Igel,
  Wintenberger & Seldin 2017, Thm 3).
- Catoni (2007, Thm 1.2.6): R(Q) <= (1 - exp(-beta R^(Q) - (KL + ln(1/delta))/n)) / (1 - exp(-beta)).
- Sample convergence (Langford & Caruana 2002, Thm 2.5): the Monte-Carlo estimate of R^(Q) from m
  networks h_j ~ Q satisfies kl(R^_mc || R^(Q)) <= ln(2/delta')/m w.p. >= 1 - delta'.

Long tail, balanced error R_bal(Q) = (1/C) sum_y R_y(Q) (derivations: docs/certificates.md). All
of them condition on the labels of S: given them, the n_y samples of class y are i.i.d. from the
class-conditional D_y, so the class counts are fixed numbers and pi_y = n_y / n.
- (a) per class: PAC-Bayes-kl on each class at delta/C, one shared Q, then the mean.
- (b) importance weighted: loss 1{error}/(C pi_y) in [0, B], B = n/(C n_min), whose mean over S has
  expectation R_bal; the kl form (Maurer + Hoeffding 1956 for independent non-identical samples),
  and a Hoeffding form with per-sample ranges (a PAC-Bayes-Hoeffding bound with a lambda grid).
- held out (fixed model, KL = 0): the same importance-weighted loss, one Chernoff/Hoeffding event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from ltbounds.bounds.result import Assumption
from ltbounds.checks import InputError, check_delta

__all__ = [
    "BalancedCertificate",
    "balanced_certificate",
    "catoni_bound",
    "default_lambda_grid",
    "f_classic",
    "f_lambda",
    "f_quad",
    "heldout_importance_weighted_bound",
    "importance_weighted_hoeffding_bound",
    "importance_weighted_kl_bound",
    "kl_bernoulli",
    "kl_diag_gaussian",
    "kl_inverse_upper",
    "lemma2_confidence_comparison",
    "maurer_xi",
    "mc_sample_convergence_bound",
    "pac_bayes_kl_bound",
    "pac_bayes_kl_complexity",
    "per_class_kl_bound",
]

# No statement of a seed lives here: like ``concentration``, a classical-results module.

# Added to the bisection's upper end: it covers the float rounding of kl near the root (relative
# error ~1e-15 of kl; the root moves by at most ~c/kl'(root) <= 1 times that), so the returned
# value is never below the exact root, and stays within 1e-9 of it.
_KL_INVERSE_MARGIN = 1e-12
XI_CHOICES = ("2sqrt", "exact")


# ----------------------------------------------------------------------------------------- checks


def _probabilities(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if np.any(np.isnan(array)) or np.any(array < 0.0) or np.any(array > 1.0):
        raise InputError(f"{name} must be probabilities / error rates in [0, 1]; found values outside (or NaN)")
    return array


def _nonnegative(values: Any, name: str, allow_inf: bool = False) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    bad = np.isnan(array) | (array < 0.0)
    if not allow_inf:
        bad |= np.isinf(array)
    if np.any(bad):
        raise InputError(f"{name} must be finite numbers >= 0 (e.g. a KL divergence in nats); found {array[bad][:5]}")
    return array


def _sample_sizes(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if np.any(~np.isfinite(array)) or np.any(array != np.round(array)) or np.any(array < 1):
        raise InputError(f"{name} must be whole numbers >= 1 (samples the bound uses); got {np.ravel(array)[:10]}")
    return array


def _class_counts(class_counts: Any, name: str = "class_counts") -> np.ndarray:
    counts = np.asarray(class_counts)
    if counts.ndim != 1 or counts.size == 0:
        raise InputError(f"{name} must be a non-empty 1-D array of per-class sample counts, got shape {counts.shape}")
    if not np.all(np.isfinite(counts.astype(np.float64))) or not np.all(counts == np.round(counts)):
        raise InputError(f"{name} must hold whole numbers, got {counts.tolist()[:10]}")
    counts = counts.astype(np.int64)
    empty = np.flatnonzero(counts < 1)
    if empty.size:
        raise InputError(
            f"{name}: class(es) {empty.tolist()[:10]} have no sample in the bound's sample S_bound; a "
            "certificate needs every class in it: move at least one sample of each class into S_bound"
        )
    return counts


def _grid_size(grid_size: Any, name: str = "grid_size") -> int:
    if isinstance(grid_size, bool) or not isinstance(grid_size, (int, np.integer)) or grid_size < 1:
        raise InputError(
            f"{name} must be an integer >= 1 (the number of priors tried, e.g. the sigma grid), got {grid_size!r}"
        )
    return int(grid_size)


def _positive_scale(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if np.any(~np.isfinite(array)) or np.any(array <= 0.0):
        bad = np.ravel(array)[np.ravel(~(array > 0) | ~np.isfinite(array))][:5]
        raise InputError(f"{name} must be finite standard deviations > 0 (e.g. sigma_prior=0.03); got {bad}")
    return array


# -------------------------------------------------------------------------------- kl and its inverse


def _x_minus_log1p(x: np.ndarray) -> np.ndarray:
    """x - ln(1 + x) >= 0 for x > -1, without the cancellation near 0 (series for |x| < 0.01)."""
    out = np.empty_like(x)
    small = np.abs(x) < 1e-2
    xs = x[small]
    # sum_{k>=2} (-1)^k x^k / k, truncated at k = 9: error <= |x|^10 / 10 <= 1e-21 relative to x^2/2.
    series = 1 / 8 - xs / 9
    for k in (7, 6, 5, 4, 3, 2):
        series = 1 / k - xs * series
    out[small] = xs * xs * series
    xl = x[~small]
    with np.errstate(divide="ignore"):
        out[~small] = xl - np.log1p(xl)
    return out


def _scaled_g(a: np.ndarray, d: np.ndarray, log_ratio: np.ndarray) -> np.ndarray:
    """a g(d / a) = d - a ln(b / a) >= 0 with b = a + d, a > 0, given ln(b / a) as ``log_ratio``.

    The series of g for |d/a| < 0.01 (no cancellation), the direct form elsewhere (no overflow of
    d / a when a is tiny, e.g. a subnormal q).
    """
    out = np.empty_like(a)
    x = np.zeros_like(a)
    np.divide(d, a, out=x, where=np.abs(d) < 1e-2 * a)
    small = np.abs(d) < 1e-2 * a
    out[small] = a[small] * _x_minus_log1p(x[small])
    out[~small] = d[~small] - a[~small] * log_ratio[~small]
    return out


def kl_bernoulli(q: Any, p: Any) -> np.ndarray:
    """kl(q || p) = q ln(q/p) + (1-q) ln((1-q)/(1-p)): relative entropy of Bernoulli(q) from Bernoulli(p).

    Nats; 0 ln 0 = 0; +inf where p in {0, 1} and q != p. Vectorised (broadcasts ``q`` and ``p``).
    Computed as q g((p-q)/q) + (1-q) g((q-p)/(1-q)), g(x) = x - ln(1+x) >= 0 (the two linear
    parts cancel exactly), so it keeps full relative precision when p is close to q.
    Source: the Bernoulli case of Cover & Thomas, eq. (2.26). Assumes q, p in [0, 1].
    """
    q_arr, p_arr = np.broadcast_arrays(_probabilities(q, "q"), _probabilities(p, "p"))
    q_arr = q_arr.astype(np.float64).ravel()
    p_arr = p_arr.astype(np.float64).ravel()
    out = np.empty_like(q_arr)
    with np.errstate(divide="ignore", invalid="ignore"):
        zero, one = q_arr == 0.0, q_arr == 1.0
        out[zero] = -np.log1p(-p_arr[zero])
        out[one] = -np.log(p_arr[one])
        mid = ~(zero | one)
        qm, pm = q_arr[mid], p_arr[mid]
        value = _scaled_g(qm, pm - qm, np.log(pm) - np.log(qm)) + _scaled_g(
            1.0 - qm, qm - pm, np.log1p(-pm) - np.log1p(-qm)
        )
        value[(pm == 0.0) | (pm == 1.0)] = np.inf
        out[mid] = value
    shape = np.broadcast_shapes(np.shape(q), np.shape(p))
    return out.reshape(shape)


def _kl_inverse_bisect(q: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Upper end of a bisection bracket on [q, 1] run to float64 resolution (kl(q || end) > c or end = 1)."""
    lo, hi = q.copy(), np.ones_like(q)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        # stop when mid equals an end: the bracket is one float wide everywhere
        active = (mid > lo) & (mid < hi)
        if not np.any(active):
            break
        above = kl_bernoulli(q, mid) > c
        hi = np.where(active & above, mid, hi)
        lo = np.where(active & ~above, mid, lo)
    return hi


def _kl_inverse_newton(q: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Newton's method on p -> kl(q || p) - c from above; q in [0, 1), 0 < c < inf.

    kl(q || .) is increasing and convex on [q, 1], so Newton iterates started above the root stay
    above it (each tangent lies below the curve) and decrease to it, quadratically once close. Start:
    the refined-Pinsker bound q + c + sqrt(c^2 + 2 q c) >= root, capped at the last float below 1.
    """
    below_one = np.nextafter(1.0, 0.0)
    p = np.minimum(below_one, q + c + np.sqrt(c * c + 2.0 * q * c))
    for _ in range(100):
        excess = kl_bernoulli(q, p) - c
        slope = (p - q) / (p * (1.0 - p))
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where((excess > 0) & (slope > 0), excess / slope, 0.0)
        new = np.maximum(q, p - step)
        if not np.any(new < p):
            break
        p = new
    return p


def kl_inverse_upper(q: Any, c: Any) -> np.ndarray:
    """sup { p in [q, 1] : kl(q || p) <= c }: the upper kl-inverse (the kl bound's upper confidence limit).

    Vectorised over broadcast ``q`` (in [0, 1]) and ``c`` (>= 0, may be +inf). Exact cases: c = 0 -> q;
    q = 1 or c = inf -> 1; 1 when kl(q || 1 - 2^-53) <= c. Otherwise Newton's method from above (a
    handful of steps), checked: any entry whose result does not satisfy kl(q || p) >= c is redone by a
    bisection to float64 resolution. 1e-12 is then added: the result is never below the exact root (a
    certificate is never optimistic) and within 1e-9 of it (the tests check both against a 50-digit
    bisection). Source: Seeger (2002), Langford (2005, the test-set bound's inversion).
    """
    q_arr = _probabilities(q, "q")
    c_arr = _nonnegative(c, "c", allow_inf=True)
    q_arr, c_arr = np.broadcast_arrays(q_arr, c_arr)
    shape = q_arr.shape
    qf, cf = q_arr.astype(np.float64).ravel(), c_arr.astype(np.float64).ravel()
    result = np.ones_like(qf)
    done_q = cf == 0.0
    result[done_q] = qf[done_q]
    todo = ~done_q & (qf < 1.0) & np.isfinite(cf)
    todo[todo] = kl_bernoulli(qf[todo], np.nextafter(1.0, 0.0)) > cf[todo]
    if np.any(todo):
        qt, ct = qf[todo], cf[todo]
        root = _kl_inverse_newton(qt, ct)
        # Newton stops above the root up to rounding; a failed check (never seen) falls back to bisection
        unsure = kl_bernoulli(qt, root) < ct * (1.0 - 1e-13)
        if np.any(unsure):
            root[unsure] = _kl_inverse_bisect(qt[unsure], ct[unsure])
        result[todo] = np.minimum(1.0, root + _KL_INVERSE_MARGIN)
    return result.reshape(shape)


def maurer_xi(n: Any) -> np.ndarray:
    """xi(n) = sum_{k=0}^n C(n,k) (k/n)^k (1 - k/n)^(n-k) = E exp(n kl(R^ || R)) at its worst (Bernoulli).

    Maurer (2004, Thm 1): sqrt(n) <= xi(n) <= 2 sqrt(n) for n >= 8 (asymptotically sqrt(pi n / 2)).
    ln(xi(n)/delta) may replace ln(2 sqrt(n)/delta) in the PAC-Bayes-kl bound (it is the quantity
    the proof bounds), which is tighter. Vectorised over whole numbers n >= 1 (log-space sum).
    """
    sizes = _sample_sizes(n, "n")
    out = np.empty(sizes.shape, dtype=np.float64)
    flat = out.reshape(-1)
    for index, size in enumerate(sizes.reshape(-1)):
        k = np.arange(int(size) + 1, dtype=np.float64)
        log_terms = (
            special.gammaln(size + 1) - special.gammaln(k + 1) - special.gammaln(size - k + 1)
            + special.xlogy(k, k / size) + special.xlogy(size - k, 1.0 - k / size)
        )
        flat[index] = math.exp(float(special.logsumexp(log_terms)))
    return out


def _log_xi(n: np.ndarray, xi: str) -> np.ndarray:
    if xi == "2sqrt":
        return np.log(2.0 * np.sqrt(n))
    if xi == "exact":
        return np.log(maurer_xi(n))
    raise InputError(f"xi must be one of {XI_CHOICES}, got {xi!r}")


def pac_bayes_kl_complexity(kl: Any, n: Any, delta: float, xi: str = "2sqrt") -> np.ndarray:
    """c = (KL + ln(xi(n)/delta)) / n: the right-hand side of PAC-Bayes-kl (nats per sample).

    ``xi="2sqrt"``: ln(2 sqrt(n)/delta) as printed (Maurer 2004; Perez-Ortiz et al. 2021, eq. (7));
    ``xi="exact"``: ln(xi(n)/delta) with Maurer's exact xi(n) (tighter by ln(2 sqrt(n)/xi(n)) ~ 0.47).
    """
    delta = check_delta(delta)
    divergence = _nonnegative(kl, "kl")
    sizes = _sample_sizes(n, "n")
    return (divergence + _log_xi(sizes, xi) - math.log(delta)) / sizes


def pac_bayes_kl_bound(empirical_risk: Any, kl: Any, n: Any, delta: float, xi: str = "2sqrt") -> np.ndarray:
    """R(Q) <= kl^{-1}(R^(Q), (KL + ln(2 sqrt(n)/delta)) / n), for all Q at once, w.p. >= 1 - delta.

    Source: Seeger (2002), Maurer (2004, Thm 5); Perez-Ortiz et al. (JMLR 2021), eq. (7).
    Assumptions: losses in [0, 1]; the n samples independent (i.i.d., or independent given the
    labels for a per-class risk); P chosen before S. ``empirical_risk`` = R^(Q) (exact, or an upper
    bound on it from ``mc_sample_convergence_bound``). Units: error rate. Vectorised.
    """
    risk = _probabilities(empirical_risk, "empirical_risk")
    return kl_inverse_upper(risk, pac_bayes_kl_complexity(kl, n, delta, xi))


# ------------------------------------------------------------------------------ training objectives


def _objective_scalars(n: Any, delta: float) -> tuple[float, float]:
    delta = check_delta(delta)
    size = float(_sample_sizes(n, "n"))
    return size, math.log(2.0 * math.sqrt(size) / delta)


def f_classic(empirical_risk: Any, kl: Any, n: int, delta: float) -> Any:
    """f-classic = R^ + sqrt((KL + ln(2 sqrt(n)/delta)) / (2n)) (Perez-Ortiz et al. 2021, eq. (9)).

    An upper bound on the PAC-Bayes-kl bound by Pinsker (kl(q||p) >= 2 (p-q)^2). Only arithmetic on
    ``empirical_risk`` and ``kl``, so torch tensors pass through with their gradients (a training
    objective); ``n`` and ``delta`` are plain numbers. Units: error rate (or the bounded loss).
    """
    size, log_term = _objective_scalars(n, delta)
    return empirical_risk + ((kl + log_term) / (2.0 * size)) ** 0.5


def f_quad(empirical_risk: Any, kl: Any, n: int, delta: float) -> Any:
    """f-quad = (sqrt(R^ + eps) + sqrt(eps))^2, eps = (KL + ln(2 sqrt(n)/delta)) / (2n) (Perez-Ortiz et al., eq. (8)).

    An upper bound on the PAC-Bayes-kl bound by the refined Pinsker kl(q||p) >= (p-q)^2/(2p), p >= q,
    whose solution for p is this square; so kl^{-1}(R^, 2 eps) <= f_quad <= f_lambda(any lambda).
    Tighter than f-classic when R^ is small (below about 1/4). Torch-friendly like ``f_classic``.
    """
    size, log_term = _objective_scalars(n, delta)
    eps = (kl + log_term) / (2.0 * size)
    return ((empirical_risk + eps) ** 0.5 + eps**0.5) ** 2


def f_lambda(empirical_risk: Any, kl: Any, n: int, delta: float, lam: float) -> Any:
    """f-lambda = R^/(1 - lambda/2) + (KL + ln(2 sqrt(n)/delta)) / (n lambda (1 - lambda/2)), lambda in (0, 2).

    Thiemann et al. (2017), Thm 3 (with Maurer's ln(2 sqrt(n)/delta)); Perez-Ortiz et al. eq. (10).
    From p - q <= sqrt(2 p c) <= lambda p / 2 + c / lambda (AM-GM); its minimum over lambda is f-quad.
    ``lam`` must be fixed before S is seen, or chosen from a grid with the union bound paid.
    """
    size, log_term = _objective_scalars(n, delta)
    lam = float(lam)
    if not (0.0 < lam < 2.0):
        raise InputError(f"lam must lie strictly inside (0, 2) (Thiemann et al. 2017), got {lam!r}")
    return empirical_risk / (1.0 - lam / 2.0) + (kl + log_term) / (size * lam * (1.0 - lam / 2.0))


def catoni_bound(empirical_risk: Any, kl: Any, n: Any, delta: float, beta: float) -> np.ndarray:
    """Catoni (2007, Thm 1.2.6): R(Q) <= (1 - exp(-beta R^(Q) - (KL + ln(1/delta))/n)) / (1 - exp(-beta)).

    For a fixed beta > 0 (chosen before S, or from a grid with delta split), all Q, w.p. >= 1 - delta.
    Losses in [0, 1], i.i.d. samples. It is >= kl^{-1}(R^, (KL + ln(1/delta))/n) for every beta
    (the kl bound is the infimum over beta). Vectorised, float64.
    """
    delta = check_delta(delta)
    risk = _probabilities(empirical_risk, "empirical_risk")
    divergence = _nonnegative(kl, "kl")
    sizes = _sample_sizes(n, "n")
    beta = float(beta)
    if not (math.isfinite(beta) and beta > 0):
        raise InputError(f"beta must be a finite number > 0 (Catoni's inverse temperature), got {beta!r}")
    exponent = beta * risk + (divergence - math.log(delta)) / sizes
    return -np.expm1(-exponent) / -math.expm1(-beta)


# ------------------------------------------------------------------------------ Gaussians, Monte Carlo


def kl_diag_gaussian(mu_q: Any, sigma_q: Any, mu_p: Any, sigma_p: Any) -> float:
    """KL(N(mu_q, diag sigma_q^2) || N(mu_p, diag sigma_p^2)), summed over coordinates (nats).

    = sum_i [ ln(sigma_p,i / sigma_q,i) + (sigma_q,i^2 + (mu_q,i - mu_p,i)^2) / (2 sigma_p,i^2) - 1/2 ].
    Standard deviations (not variances), > 0; arrays broadcast (e.g. a scalar sigma_p).
    Source: the Gaussian KL used by Dziugaite & Roy (2017) and Perez-Ortiz et al. (2021), eq. (16).
    """
    sq = _positive_scale(sigma_q, "sigma_q")
    sp = _positive_scale(sigma_p, "sigma_p")
    mq = np.asarray(mu_q, dtype=np.float64)
    mp = np.asarray(mu_p, dtype=np.float64)
    if not (np.all(np.isfinite(mq)) and np.all(np.isfinite(mp))):
        raise InputError("mu_q and mu_p must be finite (the posterior and prior means)")
    ratio = sq / sp
    # ratio^2 - 1 - 2 ln ratio is computed via g(x) = x - ln(1+x) at x = ratio^2 - 1: no cancellation
    # when sigma_q is close to sigma_p (the usual case at the start of training).
    x = np.asarray(ratio * ratio - 1.0, dtype=np.float64)
    terms = 0.5 * _x_minus_log1p(np.atleast_1d(x)).reshape(x.shape) + 0.5 * ((mq - mp) / sp) ** 2
    return float(np.sum(np.broadcast_to(terms, np.broadcast_shapes(mq.shape, mp.shape, sq.shape, sp.shape))))


def mc_sample_convergence_bound(mc_estimate: Any, m: int, delta_mc: float, two_sided: bool = True) -> np.ndarray:
    """R^(Q) <= kl^{-1}(R^_mc, ln(2/delta')/m) w.p. >= 1 - delta' over m networks h_j ~ Q (i.i.d.).

    Langford & Caruana (2002, Thm 2.5, two-sided, ln(2/delta')); Perez-Ortiz et al. (2021), eq. (14).
    ``mc_estimate`` = (1/m) sum_j R^_S(h_j), each term in [0, 1]. ``two_sided=False`` uses
    ln(1/delta') (the upper tail alone, Chernoff), which suffices for an upper bound. Vectorised.
    """
    delta_mc = check_delta(delta_mc, "delta_mc")
    samples = float(_sample_sizes(m, "m"))
    estimate = _probabilities(mc_estimate, "mc_estimate")
    log_term = math.log((2.0 if two_sided else 1.0) / delta_mc)
    return kl_inverse_upper(estimate, log_term / samples)


# ----------------------------------------------------------------------- balanced error (long tail)


@dataclass(frozen=True)
class BalancedCertificate:
    """An upper bound ``value`` on the balanced error R_bal(Q), with its terms.

    ``per_class``: per-class upper bounds where the form gives them (form "per_class"), else NaN.
    ``delta``: the failure probability this bound spends (all its events together).
    """

    form: str
    value: float
    empirical_risk: float  # the empirical balanced error used (an upper bound on it after MC)
    kl: float
    delta: float
    per_class: np.ndarray
    terms: dict[str, float] = field(default_factory=dict)
    assumptions: tuple[Assumption, ...] = ()


def _base_assumptions(prior_independent: bool | None) -> tuple[Assumption, ...]:
    return (
        Assumption("loss_in_0_1", "the 0-1 error (or a loss with values in [0, 1]); checked on the risks", True),
        Assumption(
            "prior_independent_of_S_bound",
            "the prior P was fixed before S_bound was seen (data-free, or trained on S_prior only)",
            prior_independent,
        ),
        Assumption(
            "independent_given_labels",
            "given the labels, the samples of S_bound are independent draws from their class conditionals",
            None,
        ),
    )


def _class_risks(class_risks: Any, counts: np.ndarray) -> np.ndarray:
    risks = _probabilities(class_risks, "class_risks")
    if risks.shape != counts.shape:
        raise InputError(f"class_risks must have one entry per class ({counts.size}), got shape {risks.shape}")
    return risks


def _certificate_inputs(
    class_risks: Any, class_counts: Any, kl: float, delta: float, grid_size: int
) -> tuple[np.ndarray, np.ndarray, float, int, float]:
    """The checked inputs every balanced certificate takes: (counts, class risks, delta, k priors, KL), checked
    in that order (the first bad one is named)."""
    counts = _class_counts(class_counts)
    risks = _class_risks(class_risks, counts)
    return counts, risks, check_delta(delta), _grid_size(grid_size), float(_nonnegative(kl, "kl"))


def per_class_kl_bound(
    class_risks: Any,
    class_counts: Any,
    kl: float,
    delta: float,
    grid_size: int = 1,
    xi: str = "2sqrt",
    prior_independent: bool | None = None,
) -> BalancedCertificate:
    """(a) R_bal(Q) <= (1/C) sum_y kl^{-1}(R^_y(Q), (KL + ln(xi(n_y) C k / delta)) / n_y), all Q, w.p. >= 1 - delta.

    PAC-Bayes-kl on each class's n_y samples (i.i.d. from D_y given the labels) with the same prior
    and posterior, each at delta/(C k); k = ``grid_size`` priors tried (e.g. the sigma grid), union
    bound over classes and priors. Every class pays the full KL, divided by its own n_y.
    ``class_risks``: R^_y(Q), the stochastic empirical error of each class on S_bound (or its MC
    upper bound at the caller's delta_mc/C). Derivation: docs/certificates.md. Units: error rate.
    """
    counts, risks, delta, k, divergence = _certificate_inputs(class_risks, class_counts, kl, delta, grid_size)
    event_delta = delta / (counts.size * k)
    complexity = pac_bayes_kl_complexity(divergence, counts, event_delta, xi)
    per_class = kl_inverse_upper(risks, complexity)
    return BalancedCertificate(
        form="per_class",
        value=float(per_class.mean()),
        empirical_risk=float(risks.mean()),
        kl=divergence,
        delta=delta,
        per_class=per_class,
        terms={"delta_per_event": event_delta, "grid_size": k, "complexity_min": float(complexity.min()),
               "complexity_max": float(complexity.max())},
        assumptions=_base_assumptions(prior_independent),
    )


def _weights(counts: np.ndarray) -> tuple[float, float, float]:
    """(B, S2, n): range B = max_y 1/(C pi_y) = n/(C n_min) and S2 = (1/n^2) sum_i b_i^2 = (1/C^2) sum_y 1/n_y."""
    n = float(counts.sum())
    c = counts.size
    return float(n / (c * counts.min())), float(np.sum(1.0 / counts)) / c**2, n


def importance_weighted_kl_bound(
    class_risks: Any,
    class_counts: Any,
    kl: float,
    delta: float,
    grid_size: int = 1,
    xi: str = "2sqrt",
    prior_independent: bool | None = None,
) -> BalancedCertificate:
    """(b, kl) R_bal(Q) <= B kl^{-1}(R^_bal(Q)/B, (KL + ln(xi(n) k / delta)) / n), B = n/(C n_min), w.p. >= 1 - delta.

    Loss l_i = 1{error}/(C pi_{y_i}), pi_y = n_y/n, in [0, B]; its mean over S is the empirical
    balanced error R^_bal = (1/C) sum_y R^_y and, given the labels, its expectation is R_bal. The
    scaled loss l/B is in [0, 1] and the samples are independent (not identically distributed): by
    Maurer's reduction to Bernoulli (his Lemma 3, coordinate by coordinate) and Hoeffding (1956:
    E g(S) <= E g(Binomial(n, p-bar)) for convex g of a Poisson-binomial S),
    E exp(n kl(mean || expectation)) <= xi(n) still holds, so PAC-Bayes-kl applies to l/B with one KL
    term. k = ``grid_size`` priors. Tight when R^_bal is small; its variance
    proxy is the worst case at range B (see ``importance_weighted_hoeffding_bound``).
    """
    counts, risks, delta, k, divergence = _certificate_inputs(class_risks, class_counts, kl, delta, grid_size)
    scale, _, n = _weights(counts)
    empirical = float(risks.mean())
    complexity = float(pac_bayes_kl_complexity(divergence, n, delta / k, xi))
    # R_bal <= 1 always, so the certificate is capped there (B kl^{-1} can exceed 1).
    value = min(1.0, scale * float(kl_inverse_upper(min(1.0, empirical / scale), complexity)))
    return BalancedCertificate(
        form="importance_weighted_kl",
        value=value,
        empirical_risk=empirical,
        kl=divergence,
        delta=delta,
        per_class=np.full(counts.size, np.nan),
        terms={"range_B": scale, "complexity": complexity, "delta_per_event": delta / k, "grid_size": k},
        assumptions=_base_assumptions(prior_independent),
    )


def default_lambda_grid(class_counts: Any, delta: float, size: int = 16) -> np.ndarray:
    """lambda_j = lambda_0 2^j, j < size, lambda_0 = sqrt(8 ln(size/delta) / S2): data-free (counts only).

    lambda_0 is optimal at KL = 0; doubling steps lose at most a factor 1.061 ((sqrt 2 + 1/sqrt 2)/2)
    on the deviation for any KL up to ~4^size ln(size/delta), beyond which the top lambda is used.
    """
    counts = _class_counts(class_counts)
    delta = check_delta(delta)
    _, s2, _ = _weights(counts)
    return math.sqrt(8.0 * math.log(size / delta) / s2) * 2.0 ** np.arange(size)


def importance_weighted_hoeffding_bound(
    class_risks: Any,
    class_counts: Any,
    kl: float,
    delta: float,
    grid_size: int = 1,
    lambdas: Any = None,
    prior_independent: bool | None = None,
) -> BalancedCertificate:
    """(b, Hoeffding) R_bal(Q) <= R^_bal(Q) + min_j [(KL + ln(J k / delta)) / lambda_j + lambda_j S2 / 8].

    S2 = (1/n^2) sum_i b_i^2 = (1/C^2) sum_y 1/n_y, with b_i = 1/(C pi_{y_i}) the range of sample i's
    importance-weighted loss. Hoeffding's lemma for independent l_i in [0, b_i] gives
    E exp(lambda (R_bal - R^_bal)) <= exp(lambda^2 S2 / 8) for each h; Donsker-Varadhan and Markov
    give the bound for one lambda and all Q at delta; J = len(lambdas) fixed values (data-free, by
    default ``default_lambda_grid``) and k = ``grid_size`` priors share delta. At the best lambda the
    deviation is sqrt((KL + ln(J k/delta)) S2 / 2) = (1/C) sqrt((KL + ln(J k/delta)) sum_y 1/(2 n_y)):
    the per-sample ranges enter through sum_y 1/n_y, not through n/(C n_min) (Lemma 2's factor).
    """
    counts, risks, delta, k, divergence = _certificate_inputs(class_risks, class_counts, kl, delta, grid_size)
    grid = default_lambda_grid(counts, delta / k) if lambdas is None else np.asarray(lambdas, dtype=np.float64).ravel()
    if grid.size == 0 or np.any(~np.isfinite(grid)) or np.any(grid <= 0):
        raise InputError("lambdas must be a non-empty list of finite numbers > 0, fixed before the data are seen")
    _, s2, _ = _weights(counts)
    log_term = math.log(grid.size * k / delta)
    deviations = (divergence + log_term) / grid + grid * s2 / 8.0
    best = int(np.argmin(deviations))
    empirical = float(risks.mean())
    return BalancedCertificate(
        form="importance_weighted_hoeffding",
        value=min(1.0, empirical + float(deviations[best])),
        empirical_risk=empirical,
        kl=divergence,
        delta=delta,
        per_class=np.full(counts.size, np.nan),
        terms={"deviation": float(deviations[best]), "lambda": float(grid[best]), "S2": s2,
               "delta_per_event": delta / (grid.size * k), "grid_size": k},
        assumptions=_base_assumptions(prior_independent),
    )


def heldout_importance_weighted_bound(
    class_errors: Any, class_counts: Any, delta: float, method: str = "hoeffding"
) -> BalancedCertificate:
    """Fixed model on held-out data (KL = 0): an upper bound on its balanced error, w.p. >= 1 - delta.

    ``method="hoeffding"``: R_bal <= R^_bal + (1/C) sqrt(ln(1/delta) sum_y 1/(2 n_y)) (Hoeffding 1963,
    Thm 2, independent l_i in [0, b_i], b_i = n/(C n_{y_i})). ``method="kl"``: R_bal <= B kl^{-1}(R^_bal/B,
    ln(1/delta)/n), B = n/(C n_min) (Chernoff-Hoeffding, Hoeffding 1963 Thm 1, for independent
    [0, 1] variables with mean p-bar). One event, no union over classes. The model must not depend on
    the held-out samples; ``class_counts`` are the held-out counts, ``class_errors`` its per-class error.
    """
    counts = _class_counts(class_counts)
    risks = _class_risks(class_errors, counts)
    delta = check_delta(delta)
    scale, s2, n = _weights(counts)
    empirical = float(risks.mean())
    if method == "hoeffding":
        deviation = math.sqrt(math.log(1.0 / delta) * s2 / 2.0)
        value, terms = empirical + deviation, {"deviation": deviation, "S2": s2}
    elif method == "kl":
        value = scale * float(kl_inverse_upper(min(1.0, empirical / scale), math.log(1.0 / delta) / n))
        terms = {"range_B": scale}
    else:
        raise InputError(f"method must be 'hoeffding' or 'kl', got {method!r}")
    return BalancedCertificate(
        form=f"heldout_importance_weighted_{method}",
        value=min(1.0, value),
        empirical_risk=empirical,
        kl=0.0,
        delta=delta,
        per_class=np.full(counts.size, np.nan),
        terms=terms,
        assumptions=(
            Assumption("loss_in_0_1", "the 0-1 error; checked on the risks", True),
            Assumption("model_independent_of_heldout", "the model never saw the held-out samples", None),
        ),
    )


def lemma2_confidence_comparison(class_counts: Any, delta: float, loss_bound: float = 1.0) -> dict[str, float]:
    """The confidence terms of the held-out importance-weighted route and of wang23 Lemma 2 / Thm 1's route.

    - ``importance_weighted``: (M/C) sqrt(ln(1/delta) sum_y 1/(2 n_y)) (``heldout_importance_weighted_bound``);
    - ``lemma2_hoeffding``: Lemma 2's 1/(C pi_C) = n/(C n_min) times Hoeffding's M sqrt(ln(1/delta)/(2n))
      (its route with the Rademacher constant dropped, the fairest fixed-model comparison);
    - ``lemma2_as_used``: 1/(C pi_C) times 3 M sqrt(ln(2/delta)/(2n)) (wang23.lemma2_bound's term).
    Their ratio to the importance-weighted term is returned as ``ratio_hoeffding`` / ``ratio_as_used``.
    """
    counts = _class_counts(class_counts)
    delta = check_delta(delta)
    scale, s2, n = _weights(counts)
    m = float(loss_bound)
    weighted = m * math.sqrt(math.log(1.0 / delta) * s2 / 2.0)
    hoeffding = scale * m * math.sqrt(math.log(1.0 / delta) / (2.0 * n))
    as_used = scale * 3.0 * m * math.sqrt(math.log(2.0 / delta) / (2.0 * n))
    return {
        "importance_weighted": weighted,
        "lemma2_hoeffding": hoeffding,
        "lemma2_as_used": as_used,
        "ratio_hoeffding": hoeffding / weighted,
        "ratio_as_used": as_used / weighted,
    }


FORMS_BALANCED = ("per_class", "importance_weighted_kl", "importance_weighted_hoeffding")


def balanced_certificate(
    sampled_class_risks: Any,
    class_counts: Any,
    kl: float,
    delta: float,
    delta_mc: float,
    form: str = "per_class",
    grid_size: int = 1,
    xi: str = "2sqrt",
    prior_independent: bool | None = None,
) -> BalancedCertificate:
    """The full certificate from m sampled networks: MC sample convergence, then a balanced-error form.

    ``sampled_class_risks``: (m, C) array, row j = the per-class empirical errors on S_bound of network
    h_j ~ Q (i.i.d. draws). Events and their failure probabilities (total delta + delta_mc):
    - MC: form "per_class" bounds each class's R^_y(Q) at delta_mc/C (each a mean of m [0,1] values);
      the importance-weighted forms bound R^_bal(Q) = mean_j of (1/C) sum_y R^_y(h_j) at delta_mc;
    - PAC-Bayes: ``delta`` split over the C classes (per_class) and the ``grid_size`` priors.
    The MC bounds are upper bounds on R^(Q), and every form is monotone in it, so plugging them in
    keeps the guarantee on the intersection of the events (union bound).
    """
    sampled = np.asarray(sampled_class_risks, dtype=np.float64)
    counts = _class_counts(class_counts)
    if sampled.ndim != 2 or sampled.shape[1] != counts.size or sampled.shape[0] < 1:
        raise InputError(
            f"sampled_class_risks must be (m networks, {counts.size} classes), got shape {sampled.shape}"
        )
    _probabilities(sampled, "sampled_class_risks")
    delta = check_delta(delta)
    delta_mc = check_delta(delta_mc, "delta_mc")
    if delta + delta_mc >= 1.0:
        raise InputError(f"delta + delta_mc must be < 1, got {delta} + {delta_mc}")
    m = sampled.shape[0]
    if form == "per_class":
        mc_upper = mc_sample_convergence_bound(sampled.mean(axis=0), m, delta_mc / counts.size)
        result = per_class_kl_bound(mc_upper, counts, kl, delta, grid_size, xi, prior_independent)
    elif form in ("importance_weighted_kl", "importance_weighted_hoeffding"):
        balanced_upper = float(mc_sample_convergence_bound(sampled.mean(axis=1).mean(), m, delta_mc))
        # every class gets the same value: both importance-weighted forms only use the class mean
        risks = np.full(counts.size, balanced_upper)
        if form == "importance_weighted_kl":
            result = importance_weighted_kl_bound(risks, counts, kl, delta, grid_size, xi, prior_independent)
        else:
            result = importance_weighted_hoeffding_bound(risks, counts, kl, delta, grid_size, None, prior_independent)
    else:
        raise InputError(f"form must be one of {FORMS_BALANCED}, got {form!r}")
    terms = dict(result.terms)
    terms.update({"mc_samples": m, "delta_mc": delta_mc, "mc_estimate": float(sampled.mean())})
    return BalancedCertificate(
        form=result.form,
        value=result.value,
        empirical_risk=result.empirical_risk,
        kl=result.kl,
        delta=delta + delta_mc,
        per_class=result.per_class,
        terms=terms,
        assumptions=result.assumptions
        + (Assumption("mc_samples_iid", "the m networks were drawn i.i.d. from Q", None),),
    )

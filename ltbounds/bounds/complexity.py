"""Rademacher-complexity machinery with explicit constants, and pluggable complexity providers.

Definitions (no absolute value, as in wang23, Prop. 1 and Mohri et al. 2018, Def. 3.1):

- empirical Rademacher complexity of a real class G on S = (z_1..z_n):
  R_S(G) = E_xi sup_{g in G} (1/n) sum_i xi_i g(z_i), xi_i uniform in {-1, +1};
- vector Rademacher complexity of a class F of maps X -> R^C (what the vector contraction needs):
  R^vec_S(F) = E_xi sup_{f in F} (1/n) sum_i sum_k xi_ik f_k(x_i), xi_ik iid uniform in {-1, +1}.

Classical results used (each with its constant; see docs/certified_constants.md):

- ``rademacher_generalization_bound``: for G with values in [0, M] and n independent samples, with
  probability >= 1 - delta, for all g in G: E g <= E_S g + 2 R_S(G) + 3 M sqrt(ln(2/delta) / (2n))
  (Bartlett & Mendelson 2002, Thm 8; Mohri, Rostamizadeh, Talwalkar 2018, Thm 3.3; the proof uses
  only independence, so it holds for independent, non-identically distributed samples, e.g.
  conditionally on the labels).
- ``vector_contraction``: if every h_i is L-Lipschitz (Euclidean norm) on the values the class takes
  at x_i, R_S({h_i o f}) <= sqrt(2) L R^vec_S(F) (Maurer 2016, Cor. 1).
- linear heads on fixed features (Kakade, Sridharan, Tewari 2008): for F = {x -> W x : ||W||_F <= r},
  R^vec_S(F) = (r/n) E ||sum_i xi_i x_i^T||_F <= (r/n) sqrt(C sum_i ||x_i||^2) (Jensen); the scalar
  class {x -> w.x : ||w|| <= r} is the case C = 1. A bias is handled by appending a constant-1
  feature (the radius then bounds ||[W, b]||_F).
- Monte Carlo: the average of m independent draws of (r/n)||Xi^T X||_F exceeds its mean by t with
  probability <= exp(-2 t^2 / sum c^2) (McDiarmid 1989), each sign moving one draw by at most
  2 r ||x_i|| / n, so mean <= average + (r/n) sqrt(2 C sum_i ||x_i||^2 ln(1/delta') / m) w.p. >= 1 - delta'.
- spectral-norm product for a whole network (Bartlett, Foster, Telgarsky 2017): see
  ``spectral_complexity_bft``; it bounds the complexity of the gamma-ramp loss class directly and is
  typically vacuous (> 1) for real networks.

Providers: ``COMPLEXITY_PROVIDERS`` maps a name to a constructor; each provider has ``kind``
("hypothesis": returns R^vec of F, to be contracted; "loss_class": returns R_S of a loss class, to be
used directly) and a method ``complexity(features, num_classes) -> ComplexityEstimate``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ltbounds.checks import InputError, check_delta, check_finite, check_matrix, check_positive

__all__ = [
    "COMPLEXITY_PROVIDERS",
    "ComplexityEstimate",
    "LinearHeadClosedForm",
    "LinearHeadMonteCarlo",
    "SpectralNormProduct",
    "UserValue",
    "linear_complexity_closed_form",
    "linear_complexity_monte_carlo",
    "rademacher_confidence_term",
    "rademacher_generalization_bound",
    "spectral_complexity_bft",
    "vector_contraction",
]



@dataclass(frozen=True)
class ComplexityEstimate:
    """An upper bound on a Rademacher complexity.

    ``value`` holds with probability >= 1 - ``delta_spent`` over the Monte Carlo signs (0: always).
    """

    value: float
    method: str
    delta_spent: float = 0.0
    terms: dict = field(default_factory=dict)


def _features(features, bias: bool) -> np.ndarray:
    values = check_matrix(features, "features")
    if values.shape[0] == 0:
        raise InputError("features must hold at least one sample (row)")
    if bias:
        values = np.hstack([values, np.ones((values.shape[0], 1))])
    return values


def rademacher_confidence_term(loss_bound, num_samples, delta) -> np.ndarray:
    """3 M sqrt(ln(2/delta) / (2 n)): the confidence term of the Rademacher bound (Mohri et al., Thm 3.3).

    Vectorised over ``loss_bound`` and ``num_samples`` (e.g. per class). Units: those of the loss.
    """
    delta = check_delta(delta)
    m = check_finite(np.asarray(loss_bound, dtype=np.float64), "loss_bound")
    n = np.asarray(num_samples, dtype=np.float64)
    if np.any(m < 0):
        raise InputError("loss_bound must be >= 0 (the loss takes values in [0, M])")
    if not np.all(np.isfinite(n)) or np.any(n < 1):
        raise InputError(f"num_samples must be >= 1, got {np.asarray(num_samples).tolist()}")
    return 3.0 * m * np.sqrt(math.log(2.0 / delta) / (2.0 * n))


def rademacher_generalization_bound(empirical_risk, complexity, loss_bound, num_samples, delta) -> np.ndarray:
    """E g <= E_S g + 2 R_S(G) + 3 M sqrt(ln(2/delta)/(2n)), for all g in G, w.p. >= 1 - delta.

    Source: Bartlett & Mendelson (2002), Mohri et al. (2018) Thm 3.3 (the bound wang23 Prop. 1 and
    Lemma 2 rest on). Assumes G takes values in [0, M], samples independent. Vectorised.
    """
    risk = check_finite(np.asarray(empirical_risk, dtype=np.float64), "empirical_risk")
    rad = check_finite(np.asarray(complexity, dtype=np.float64), "complexity")
    if np.any(rad < 0):
        raise InputError("complexity must be >= 0 (an upper bound on a Rademacher complexity)")
    return risk + 2.0 * rad + rademacher_confidence_term(loss_bound, num_samples, delta)


def vector_contraction(lipschitz, vector_complexity) -> np.ndarray:
    """sqrt(2) L R^vec_S(F): the vector contraction inequality (Maurer 2016, Cor. 1).

    R_S({x_i -> h_i(f(x_i))}) <= sqrt(2) L R^vec_S(F) when each h_i is L-Lipschitz w.r.t. the
    Euclidean norm on the values {f(x_i) : f in F}. Vectorised (e.g. per class).
    """
    lip = check_finite(np.asarray(lipschitz, dtype=np.float64), "lipschitz")
    rad = check_finite(np.asarray(vector_complexity, dtype=np.float64), "vector_complexity")
    if np.any(lip < 0) or np.any(rad < 0):
        raise InputError("lipschitz and vector_complexity must be >= 0")
    return math.sqrt(2.0) * lip * rad


def linear_complexity_closed_form(features, radius: float, num_outputs: int = 1, bias: bool = False) -> float:
    """(r/n) sqrt(C sum_i ||x_i||^2) >= R^vec_S({x -> W x : ||W||_F <= r}) (Kakade et al. 2008; Jensen).

    ``num_outputs`` = C (1: the scalar class {x -> w.x : ||w|| <= r}). ``bias``: append a constant-1
    feature, so the radius bounds ||[W, b]||_F. Deterministic upper bound.
    """
    values = _features(features, bias)
    radius = check_positive(radius, "radius", allow_zero=True)
    if int(num_outputs) < 1:
        raise InputError(f"num_outputs must be >= 1, got {num_outputs!r}")
    n = values.shape[0]
    return float(radius * math.sqrt(int(num_outputs) * float(np.sum(values * values))) / n)


def linear_complexity_monte_carlo(
    features,
    radius: float,
    num_outputs: int = 1,
    delta: float = 0.01,
    num_draws: int = 200,
    seed: int = 0,
    bias: bool = False,
) -> ComplexityEstimate:
    """Monte Carlo upper bound on R^vec_S({x -> W x : ||W||_F <= r}), valid w.p. >= 1 - delta.

    Exact supremum per draw: sup_{||W||_F <= r} <W, Xi^T X> = r ||Xi^T X||_F. Average over
    ``num_draws`` sign matrices Xi (n x C), plus the McDiarmid term
    (r/n) sqrt(2 C sum_i ||x_i||^2 ln(1/delta) / m). Draws are made one at a time (bounded memory).
    """
    values = _features(features, bias)
    radius = check_positive(radius, "radius", allow_zero=True)
    delta = check_delta(delta)
    outputs = int(num_outputs)
    draws = int(num_draws)
    if outputs < 1 or draws < 1:
        raise InputError("num_outputs and num_draws must be >= 1")
    n = values.shape[0]
    generator = np.random.default_rng(seed)
    suprema = np.empty(draws)
    for t in range(draws):
        signs = generator.integers(0, 2, size=(n, outputs), dtype=np.int8).astype(np.float64) * 2.0 - 1.0
        suprema[t] = np.linalg.norm(signs.T @ values)
    average = radius * float(suprema.mean()) / n
    mcdiarmid = radius / n * math.sqrt(2.0 * outputs * float(np.sum(values * values)) * math.log(1.0 / delta) / draws)
    return ComplexityEstimate(
        value=average + mcdiarmid,
        method="linear_monte_carlo",
        delta_spent=delta,
        terms={"monte_carlo_average": average, "mcdiarmid_term": mcdiarmid, "num_draws": float(draws)},
    )


def spectral_complexity_bft(
    layer_weights: Sequence,
    inputs,
    margin: float,
    reference_weights: Sequence | None = None,
    activation_lipschitz: Sequence[float] | None = None,
) -> ComplexityEstimate:
    """Bartlett, Foster, Telgarsky (2017) bound on R_S of the gamma-ramp loss class of a network.

    R_S <= 4 / n^{3/2} + 36 ||X||_F ln(2W) ln(n) R_A / (gamma n), with
    R_A = (prod_i rho_i ||A_i||_sigma) (sum_i (||A_i^T - M_i^T||_{2,1} / ||A_i||_sigma)^{2/3})^{3/2},
    W the widest layer, ||X||_F = sqrt(sum_i ||x_i||^2) over the n inputs, rho_i the activations'
    Lipschitz constants, M_i reference matrices (zero by default). Constants as stated in BFT 2017
    (Lemma A.8, which with the Rademacher bound gives their Thm 1.1's 8/n^{3/2} and 72); the norm
    bounds are those of the given weights, so a fully certified use must stratify them (as BFT do).
    Kind "loss_class" (no contraction needed, M = 1). Usually vacuous (> 1) for trained networks.
    """
    weights = [check_matrix(w, f"layer_weights[{i}]") for i, w in enumerate(layer_weights)]
    if not weights:
        raise InputError("layer_weights must hold at least one weight matrix")
    references = (
        [np.zeros_like(w) for w in weights]
        if reference_weights is None
        else [check_matrix(m, f"reference_weights[{i}]") for i, m in enumerate(reference_weights)]
    )
    if len(references) != len(weights) or any(m.shape != w.shape for m, w in zip(references, weights, strict=True)):
        raise InputError("reference_weights must match layer_weights in number and shapes")
    rhos = [1.0] * len(weights) if activation_lipschitz is None else [float(r) for r in activation_lipschitz]
    if len(rhos) != len(weights) or any(not math.isfinite(r) or r <= 0 for r in rhos):
        raise InputError("activation_lipschitz must hold one positive number per layer")
    x = check_matrix(inputs, "inputs")
    gamma = check_positive(margin, "margin")
    n = x.shape[0]
    if n < 2:
        raise InputError("inputs must hold at least 2 samples (the bound has ln n)")
    spectral = [float(np.linalg.norm(w, 2)) for w in weights]
    if min(spectral) == 0:
        raise InputError("a layer weight is zero: the spectral complexity is undefined")
    # ||A^T - M^T||_{2,1}: sum over the rows of A - M of their Euclidean norms (columns of the transpose).
    two_one = [float(np.sum(np.linalg.norm(w - m, axis=1))) for w, m in zip(weights, references, strict=True)]
    product = float(np.prod([r * s for r, s in zip(rhos, spectral, strict=True)]))
    correction = sum((b / s) ** (2.0 / 3.0) for b, s in zip(two_one, spectral, strict=True)) ** 1.5
    spectral_complexity = product * correction
    width = max(max(w.shape) for w in weights)
    x_norm = float(np.linalg.norm(x))
    value = 4.0 / n**1.5 + 36.0 * x_norm * math.log(2.0 * width) * math.log(n) * spectral_complexity / (gamma * n)
    return ComplexityEstimate(
        value=value,
        method="spectral_bft",
        terms={
            "spectral_complexity": spectral_complexity,
            "spectral_product": product,
            "correction": correction,
            "inputs_frobenius": x_norm,
            "width": float(width),
            "vacuous": float(value >= 1.0),
        },
    )


@dataclass(frozen=True)
class LinearHeadClosedForm:
    """Provider: R^vec of linear heads of Frobenius radius ``radius`` on fixed features (closed form)."""

    radius: float
    bias: bool = True
    kind: str = "hypothesis"

    def complexity(self, features, num_classes: int) -> ComplexityEstimate:
        value = linear_complexity_closed_form(features, self.radius, num_classes, self.bias)
        return ComplexityEstimate(value=value, method="linear_closed_form")


@dataclass(frozen=True)
class LinearHeadMonteCarlo:
    """Provider: R^vec of linear heads on fixed features by Monte Carlo + McDiarmid (w.p. 1 - delta)."""

    radius: float
    delta: float = 0.01
    num_draws: int = 200
    seed: int = 0
    bias: bool = True
    kind: str = "hypothesis"

    def complexity(self, features, num_classes: int) -> ComplexityEstimate:
        return linear_complexity_monte_carlo(
            features, self.radius, num_classes, self.delta, self.num_draws, self.seed, self.bias
        )


@dataclass(frozen=True)
class SpectralNormProduct:
    """Provider: BFT 2017 complexity of the gamma-ramp loss class of a whole network (kind "loss_class")."""

    layer_weights: tuple
    margin: float
    reference_weights: tuple | None = None
    activation_lipschitz: tuple | None = None
    kind: str = "loss_class"

    def complexity(self, features, num_classes: int) -> ComplexityEstimate:
        return spectral_complexity_bft(
            self.layer_weights, features, self.margin, self.reference_weights, self.activation_lipschitz
        )


@dataclass(frozen=True)
class UserValue:
    """Provider: a complexity value the user vouches for (returned as is, whatever the samples)."""

    value: float
    kind: str = "hypothesis"

    def complexity(self, features, num_classes: int) -> ComplexityEstimate:
        return ComplexityEstimate(value=check_positive(self.value, "value", allow_zero=True), method="user")


COMPLEXITY_PROVIDERS = {
    "linear_closed_form": LinearHeadClosedForm,
    "linear_monte_carlo": LinearHeadMonteCarlo,
    "spectral_bft": SpectralNormProduct,
    "user": UserValue,
}

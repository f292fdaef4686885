"""The tutorial's statements (tag ``tutorial``, docs/papers.md), each declared once: id, source, printed
text, errata verdict and the evaluator that adapts a checkpoint's ``Outputs`` to the maths of
``ltbounds.bounds.tutorial`` (loss side) and ``ltbounds.bounds.representation`` (representation side).

Declared in the order of the errata registry. Most statements are identities or symbolic results that
hold on any sample: they are evaluated on ``_sample_split`` (the measurement split, else the training
split). The checkpoint rows of Theorems 1 and 3 are diagnostics (a heuristic reading, never a refutation).
"""

from __future__ import annotations

import math

import numpy as np

from ltbounds.bounds.representation import (
    bcl_memorization_scores,
    dot_regression_central_differences,
    dot_regression_gradient,
    dot_regression_gradient_printed,
    etf_gram_deviation,
    etf_gram_printed_entries,
    gh_uniform_loss,
    pairwise_cosine_summary,
    simplex_etf,
    ts_temperature,
    uniform_structure_gram_gap,
)
from ltbounds.bounds.result import Assumption, BoundResult
from ltbounds.bounds.tutorial import (
    balanced_error_of_errors,
    checked_priors,
    class_balanced_weights,
    ldam_losses,
    ldam_margin_objective,
    ldam_optimal_margins,
    logit_adjusted_loss_forms,
    ltssl_kkt_residual,
    ltssl_refine,
    post_hoc_logit_adjustment,
    records_l2_bound,
    reweighting_disagreement_of_rows,
    risk_decomposition,
    sam_perturbation,
    softmax_rows,
    threshold_moving_agreement_of_rows,
)
from ltbounds.checks import InputError
from ltbounds.outputs import Outputs
from ltbounds.per_class import effective_number
from ltbounds.statements import statistics
from ltbounds.statements.context import EvaluationSplits
from ltbounds.statements.declaration import Declarations
from ltbounds.statements.rows import identity_row, per_class_rows, relative_gaps, row_factory

DECLARED = Declarations("tutorial")

# Training methods whose softmax estimates the *training* posterior P(y | x) (plain, unadjusted
# likelihood), the premise of post-hoc logit adjustment.
_UNADJUSTED_METHODS = frozenset({"ce", "erm", "cross_entropy", "softmax", "focal"})


def _softmax_estimates_posterior(outputs: Outputs, name: str, description: str) -> Assumption:
    """The premise of the post-hoc readings: softmax(logits) estimates the training P(y | x). A plain-CE
    method is necessary (checked: False otherwise); that the estimate is good (calibration on the
    population) no code checks, so it is unknown at best, never True."""
    return Assumption(name, description, None if outputs.method.lower() in _UNADJUSTED_METHODS else False)


def _sample_split(splits: EvaluationSplits) -> Outputs:
    """The split an identity or diagnostic is evaluated on: the measurement split (test, else held-out),
    else the training split (these statements hold on any sample, so no fixed-model rule is needed)."""
    measured = splits.measurement_split()
    return splits.train if measured is None else measured


@DECLARED.statement(
    id="tutorial.fisher_consistency",
    source="002, slide 'statistical consistency of long-tailed multi-class classification', Theorem 1",
    kind="symbolic",
    summary=(
        "alpha_y = delta_y/P(y), Delta_yy' = log(delta_y'/delta_y) make the pairwise loss Fisher consistent "
        "for the balanced error (SciPy + SymPy in tests). On a checkpoint: balanced error of post-hoc LA "
        "(measured) vs argmax logits (value) on the test split."
    ),
    printed=(
        "For any delta in R_+^L, the pairwise loss l(y, f(x)) = alpha_y log[1 + sum_{y' != y} e^{Delta_yy'} "
        "e^{f_y'(x) - f_y(x)}] is Fisher consistent with weights and margins alpha_y = delta_y / P(y), "
        "Delta_yy' = log(delta_y' / delta_y)."
    ),
    verdict="holds",
    explanation=(
        "With these parameters l(y, f) = alpha_y CE(f + log delta, y), so the conditional risk "
        "sum_y eta_y alpha_y CE(f + log delta, y) is minimised where softmax(f + log delta) is proportional to "
        "eta_y delta_y / P(y), i.e. f*_y = log(eta_y / P(y)) + const: argmax f* = argmax eta_y / P(y), the "
        "Bayes-optimal rule for the balanced error. Checked by SciPy minimisation of the conditional risk for "
        "sampled eta, priors (imbalance up to 1000) and delta (regret of argmax f* <= 1e-6), against the closed "
        "form, and symbolically (SymPy) for two classes: the minimiser t* = f_1 - f_2 = log(eta pi_2 / ((1 - eta) "
        "pi_1)) does not depend on delta and the risk is convex. delta must be strictly positive (R_+ read as "
        "R_{>0}; Delta is undefined otherwise). Note on the slide's corollary: delta = pi gives the logit-"
        "adjusted loss with tau = 1 only; for tau != 1 the loss targets argmax eta_y / pi_y^tau, which is not "
        "balanced-consistent (a test exhibits a case)."
    ),
)
def _evaluate_fisher(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    pi = outputs.priors
    # first-maximiser predictions: the printed tie rule would score constant logits as error-free; per-sample
    # errors in row chunks (balanced_error_rate's ties="first" rule), then the per-class means
    errors_plain, errors_adjusted = statistics.per_sample(
        splits,
        outputs,
        "tutorial.fisher_errors",
        lambda f, y: (np.argmax(f, axis=1) != y, np.argmax(post_hoc_logit_adjustment(f, pi, 1.0), axis=1) != y),
    )
    if outputs.num_samples == 0:
        raise InputError("labels is empty: the balanced error needs at least one sample")
    plain = balanced_error_of_errors(errors_plain, outputs.labels, outputs.num_classes)
    adjusted = balanced_error_of_errors(errors_adjusted, outputs.labels, outputs.num_classes)
    return [
        BoundResult(
            statement="tutorial.fisher_consistency",
            # a heuristic consequence of Theorem 1 on a finite sample, not the theorem: a failing row refutes nothing
            form="diagnostic",
            value=plain,
            measured=adjusted,
            terms={"balanced_error_argmax": plain, "balanced_error_post_hoc_la": adjusted, "tau": 1.0},
            assumptions=(
                _softmax_estimates_posterior(
                    outputs,
                    "logits_estimate_training_posterior",
                    "softmax(logits) estimates the training P(y|x) (model trained with plain cross-entropy), "
                    "so Theorem 1's Bayes-balanced rule is argmax logits - log pi: False when the method is not "
                    "plain CE, else unknown (how well softmax estimates P(y|x) is not checked)",
                ),
            ),
            split=outputs.split,
            note="diagnostic, a heuristic consequence of Theorem 1, not the theorem: BER of post-hoc LA (measured) "
            "<= BER of argmax (value); a failing row does not refute Theorem 1",
        )
    ]


@DECLARED.statement(
    id="tutorial.threshold_moving",
    source="002, slide 'Threshold-Moving' (moving function and the logit-adjustment remark)",
    kind="identity",
    summary=(
        "threshold moving with cost sums exp(-tau log pi_k) has the argmax of post-hoc logit adjustment. "
        "On a checkpoint: disagreement fraction (measured) <= 0 for tau in {0.5, 1, 2}."
    ),
    printed=(
        "p^_k = p_k sum_{k'} C[k][k'] / eta with p_k = e^{z_k} / sum_k' e^{z_k'}; setting sum_{k'} C[k][k'] = "
        "e^{-tau log pi_k} recovers logit adjustment; majority classes have the smaller cost, e.g. "
        "e^{-tau log pi_k} is monotonously decreasing."
    ),
    verdict="holds",
    explanation=(
        "log p^_k = z_k - tau log pi_k - logsumexp(z) - log eta, and the last two terms do not depend on k, so "
        "the argmax sets (ties included) of threshold moving and post-hoc logit adjustment z_k - tau log pi_k "
        "coincide for every tau; checked symbolically and by property tests over logits up to 1e4, ties and "
        "imbalance up to 1000 (float64 decisions agree up to rounding-level ties). The cost pi_k^{-tau} "
        "decreases in pi_k for tau > 0, the slide's 'temperature'; it is constant for tau = 0 and increasing "
        "for tau < 0. Only the row sums of C matter; any cost matrix with those row sums works."
    ),
)
def _evaluate_threshold_moving(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    if outputs.num_samples == 0:
        raise InputError("logits has no rows: agreement needs at least one sample")
    pi = checked_priors(outputs.priors, outputs.num_classes)
    largest = statistics.head_pass(splits, outputs).agreement.largest  # max |logit| of the split
    results = []
    for tau in (0.5, 1.0, 2.0):
        agreement = float(
            np.mean(
                statistics.per_sample(
                    splits,
                    outputs,
                    ("tutorial.threshold_moving", tau),
                    lambda f, _y, tau=tau: threshold_moving_agreement_of_rows(f, pi, tau, largest),
                )
            )
        )
        results.append(
            BoundResult(
                statement="tutorial.threshold_moving",
                form="as_printed",
                value=0.0,
                measured=1.0 - agreement,
                terms={"agreement": agreement, "tau": tau, "num_samples": float(outputs.num_samples)},
                assumptions=(Assumption("tau_positive", "tau > 0 (costs decrease with the prior)", tau > 0),),
                split=outputs.split,
                note="fraction of samples where threshold moving and post-hoc LA disagree (tie-aware) <= 0",
            )
        )
    return results


@DECLARED.statement(
    id="tutorial.ldam_optimal_margins",
    source="002, slide 'Class-wise margin calibration' (Cao et al. 2019)",
    kind="symbolic",
    summary=(
        "argmin sum_j 1/(gamma_j sqrt n_j) s.t. sum gamma_j = gamma is gamma_j ∝ n_j^{-1/4} (SymPy). On a "
        "checkpoint: the optimal margins per class (max 0.5) and, when all training class margins are "
        "positive, the objective at the optimum (measured) <= at the model's margins (value)."
    ),
    printed=(
        "Minimising 1/(gamma_1 sqrt(n_1)) + 1/(gamma_2 sqrt(n_2)) subject to gamma_1 + gamma_2 = gamma gives "
        "gamma_j = C / n_j^{1/4}."
    ),
    verdict="holds",
    explanation=(
        "SymPy: with gamma_2 = gamma - gamma_1 the stationarity condition is gamma_1^2 sqrt(n_1) = gamma_2^2 "
        "sqrt(n_2), solved on (0, gamma) by gamma_1 = gamma n_2^{1/4} / (n_1^{1/4} + n_2^{1/4}), i.e. gamma_j "
        "proportional to n_j^{-1/4}; the second derivative 2/(gamma_1^3 sqrt n_1) + 2/(gamma_2^3 sqrt n_2) is "
        "positive, so it is the minimum. The same holds for K classes (Lagrange; SciPy check with class "
        "counts down to 2 and imbalance 1000). Margins must be positive for the objective to be defined."
    ),
)
def _evaluate_ldam(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    counts = outputs.class_counts
    measured = statistics.class_margins(splits, outputs)  # per_class.class_margins, in row chunks
    results = per_class_rows(
        statement="tutorial.ldam_optimal_margins",
        form="as_printed",
        values=ldam_optimal_margins(counts, max_margin=0.5),
        terms={"class_count": counts, "measured_class_margin": measured},
        split=outputs.split,
        note="optimal LDAM margin C / n_j^{1/4} with the rarest class at max_m = 0.5 (nothing measured)",
    )
    positive = bool(np.all(np.isfinite(measured)) and np.all(measured > 0))
    if positive:
        total = float(measured.sum())
        best = ldam_optimal_margins(counts, total=total)
        results.append(
            BoundResult(
                statement="tutorial.ldam_optimal_margins",
                form="as_printed",
                value=ldam_margin_objective(measured, counts),
                measured=ldam_margin_objective(best, counts),
                terms={"margin_budget": total},
                assumptions=(Assumption("positive_class_margins", "every class margin > 0", positive),),
                split=outputs.split,
                note="sum 1/(gamma_j sqrt n_j) at the optimal margins (measured) <= at the model's class margins",
            )
        )
    return results


@DECLARED.statement(
    id="tutorial.effective_number",
    source="002, slide 'loss re-weighting by effective number' (Cui et al. 2019) and 'Class-Balanced Loss'",
    kind="symbolic",
    summary=(
        "E_n = (1 - beta^n)/(1 - beta) -> n as beta -> 1 (SymPy). On a checkpoint: per class E_n at "
        "beta = 0.9999 (measured) <= n (value), with the class-balanced weight as a term."
    ),
    printed=(
        "E_n = (1 - beta^n) / (1 - beta) where beta = (N - 1)/N; lim_{beta -> 1} E_n = n; CB(p, y) = "
        "(1 - beta)/(1 - beta^{n_y}) L(p, y) = L(p, y) / E_{n_y}."
    ),
    verdict="holds",
    explanation=(
        "SymPy: lim_{beta -> 1} (1 - beta^n)/(1 - beta) = n, E_n = sum_{j<n} beta^j (checked for n = 1..12), "
        "E_{n+1} - E_n = beta^n > 0, and 1/E_n is the printed class-balanced weight. Consequences checked "
        "numerically: 1 = E_1 <= E_n <= min(n, 1/(1 - beta)), increasing in n and beta. The slide's N is the "
        "per-class 'total volume' hyper-parameter of Cui et al., not the dataset size (beta = 0.9999 means "
        "N = 10^4). The naive formula loses digits for beta near 1; ltbounds evaluates it with expm1/log1p."
    ),
)
def _evaluate_effective_number(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    beta = 0.9999
    counts = outputs.class_counts
    effective = effective_number(counts, beta)
    return per_class_rows(
        statement="tutorial.effective_number",
        form="as_printed",
        values=counts,
        measured=effective,
        terms={
            "beta": np.full(counts.shape[0], beta),
            "effective_number": effective,
            "class_balanced_weight": class_balanced_weights(counts, beta),
        },
        split=outputs.split,
        note="E_n (beta = 0.9999) <= n, with equality in the printed limit beta -> 1",
    )


@DECLARED.statement(
    id="tutorial.etf",
    source="002, slides 'Simplex Equiangular Tight Frame' and 'Dot-Regression Loss' (Yang et al. 2022)",
    kind="identity",
    summary=(
        "simplex ETF Gram m_i^T m_j = K/(K-1) delta_ij - 1/(K-1), and dL_DR/dh = -(1 - cos(h, w_c)) w_c. On a "
        "checkpoint: the head's deviation from an ETF Gram, and the printed vs exact DR gradient gap."
    ),
    printed=(
        "M = sqrt(K/(K-1)) U (I_K - 1_K 1_K^T / K), m_i^T m_j = K/(K-1) delta_ij - 1/(K-1); "
        "L_DR(h, W*) = (w_c^T h - sqrt(E_W E_H))^2 / (2 sqrt(E_W E_H)), dL_DR/dh = -(1 - cos(h, w_c)) w_c."
    ),
    verdict="holds_with_extra_assumption",
    explanation=(
        "The Gram identity holds, with the printed normalisation (unit columns, pairwise cosine -1/(K-1)), "
        "when U has orthonormal columns (U^T U = I_K, so d >= K) and K >= 2 -- the slide never defines U. "
        "The gradient of L_DR is (w_c^T h / sqrt(E_W E_H) - 1) w_c; it equals the printed -(1 - cos) w_c "
        "exactly when ||w_c|| ||h|| = sqrt(E_W E_H) (e.g. ||w_c||^2 = E_W, ||h||^2 = E_H, the ETF classifier "
        "with normalised features) or h is orthogonal to w_c. The slide states it unconditionally; the stored "
        "counterexample (h = w_c = [1], E_W = 1, E_H = 0.5: printed 0, exact sqrt(2) - 1) violates it. "
        "Corrected statement: tutorial.etf_corrected."
    ),
    counterexample="tutorial.etf.json",
    corrected_by="tutorial.etf_corrected",
)
def _evaluate_etf(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    k = outputs.num_classes
    weight = outputs.head_weight
    centred = weight - weight.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    results = []
    if k >= 2 and np.all(norms > 0):
        unit = centred / norms
        deviation = etf_gram_deviation(unit.T, etf_gram_printed_entries(k))
        results.append(
            BoundResult(
                statement="tutorial.etf",
                form="as_printed",
                value=0.0,
                measured=deviation,
                terms={"max_gram_deviation": deviation},
                assumptions=(
                    Assumption(
                        "dim_at_least_classes_minus_one", "a simplex ETF exists: d >= K - 1", weight.shape[1] >= k - 1
                    ),
                    # The identity is about a head fixed to a simplex ETF; a learned head is only measured
                    # against it (a neural-collapse diagnostic), so a non-zero deviation is no violation.
                    Assumption(
                        "head_fixed_to_simplex_etf",
                        "the head was set to a simplex ETF (the slide's fixed ETF classifier), not learned",
                        outputs.provenance.head_fixed_to_simplex_etf,
                    ),
                ),
                split=outputs.split,
                note="max |w^_i^T w^_j - (K/(K-1) delta_ij - 1/(K-1))| of the centred, normalised head (0 iff ETF); "
                "for a learned head, its distance from an ETF",
            )
        )
    # Dot-regression gradient on this checkpoint's features, with the head rows as w_c.
    # Per sample, in row chunks (statements.statistics): the norms first (E_H is their mean), then the gaps.
    w_norms_by_class = np.linalg.norm(weight, axis=1)
    h_norm = statistics.per_sample(
        splits, outputs, "tutorial.etf.h_norm", lambda e, _y: np.linalg.norm(e, axis=1), source="embeddings"
    )
    w_norm = w_norms_by_class[outputs.labels]
    usable = (h_norm > 0) & (w_norm > 0)
    if np.any(usable):
        energy_h = float(np.mean(h_norm[usable] ** 2))
        energy_w = float(np.mean(w_norms_by_class**2))

        def gaps(e: np.ndarray, y: np.ndarray) -> np.ndarray:
            keep = (np.linalg.norm(e, axis=1) > 0) & (w_norms_by_class[y] > 0)
            h, w = e[keep], weight[y[keep]]
            exact = dot_regression_gradient(h, w, energy_w, energy_h)
            printed = dot_regression_gradient_printed(h, w, energy_w, energy_h)
            return np.linalg.norm(printed - exact, axis=1) / w_norms_by_class[y[keep]]

        gap = statistics.per_sample(splits, outputs, ("tutorial.etf.gap", energy_h), gaps, source="embeddings")
        condition = np.isclose(h_norm[usable] * w_norm[usable], math.sqrt(energy_w * energy_h), rtol=1e-9)
        results.append(
            BoundResult(
                statement="tutorial.etf",
                form="as_printed",
                value=0.0,
                measured=float(gap.mean()),
                terms={
                    "mean_gradient_gap": float(gap.mean()),
                    "max_gradient_gap": float(gap.max()),
                    "E_W": energy_w,
                    "E_H": energy_h,
                    "norm_condition_fraction": float(condition.mean()),
                },
                assumptions=(
                    Assumption(
                        "norm_condition", "||w_c|| ||h|| = sqrt(E_W E_H) for every sample", bool(condition.all())
                    ),
                ),
                split=outputs.split,
                note="mean ||printed - exact DR gradient|| / ||w_c||, head rows as w_c (0 when the condition holds)",
            )
        )
    return results


# Float64 round-off allowance for the identity rows of tutorial.etf_corrected: the quantities compared are
# O(1) after the scaling below, so a genuine error (a wrong constant or a missing condition) is orders larger.
_ETF_TOLERANCE = 1e-8


# samples on which tutorial.etf_corrected checks the gradient against central differences (O(rows d^2))
_FINITE_DIFFERENCE_ROWS = 256


@DECLARED.statement(
    id="tutorial.etf_corrected",
    source="002, slides 'Simplex Equiangular Tight Frame' and 'Dot-Regression Loss' (corrected)",
    kind="identity",
    summary=(
        "with U^T U = I_K and K >= 2, M^T M = K/(K-1)(I - 11^T/K); dL_DR/dh = (w_c^T h/sqrt(E_W E_H) - 1) w_c, "
        "equal to -(1 - cos) w_c iff ||w_c|| ||h|| = sqrt(E_W E_H) or w_c ⊥ h. On a checkpoint: the Gram of an "
        "ETF in its K and d, the corrected gradient vs finite differences at its features, and printed = corrected "
        "under the norm condition (each gap <= round-off)."
    ),
    printed=(
        "For K >= 2 and U in R^{d x K} with U^T U = I_K: M^T M = K/(K-1)(I_K - 1 1^T / K). For any h, w_c and "
        "E_W, E_H > 0: dL_DR/dh = (w_c^T h / sqrt(E_W E_H) - 1) w_c, which equals -(1 - cos(h, w_c)) w_c iff "
        "||w_c|| ||h|| = sqrt(E_W E_H) or w_c^T h = 0."
    ),
    verdict="holds",
    explanation=(
        "(I - 11^T/K) is a symmetric idempotent, so M^T M = K/(K-1)(I - 11^T/K) U^T U (I - 11^T/K) = K/(K-1)(I - "
        "11^T/K) (SymPy, exact, and property tests with random orthonormal U). L_DR is quadratic in h with "
        "gradient (w_c^T h - sqrt(E_W E_H)) w_c / sqrt(E_W E_H) (checked against torch autograd in float64 and "
        "central differences); the difference from the printed form is (cos - w_c^T h / sqrt(E_W E_H)) w_c, "
        "zero exactly under the stated condition (property-tested both ways)."
    ),
)
def _evaluate_etf_corrected(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    """Three identity rows of the corrected ETF / dot-regression statement on this checkpoint's K, d and features:

    (1) the Gram of ``simplex_etf(K, max(d, K))`` equals ``K/(K-1) I - 1/(K-1)``;
    (2) the corrected gradient ``(w_c^T h / sqrt(E_W E_H) - 1) w_c`` equals a central finite difference of
        ``L_DR`` at the checkpoint's features (head rows as w_c; exact for a quadratic up to round-off);
    (3) where the norm condition holds (h rescaled so ``||w_c|| ||h|| = sqrt(E_W E_H)``), the printed gradient
        equals the corrected one. Each row: measured = max relative gap, value = ``_ETF_TOLERANCE``.
    """
    outputs = _sample_split(splits)
    k = outputs.num_classes
    results = []
    dim = max(outputs.embeddings.shape[1], k)  # U needs d >= K: build it in max(d, K) (zero-padding is harmless)
    etf = simplex_etf(k, dim, seed=0)
    gram_gap = etf_gram_deviation(etf, etf_gram_printed_entries(k))
    results.append(
        BoundResult(
            statement="tutorial.etf_corrected",
            form="corrected",
            value=_ETF_TOLERANCE,
            measured=gram_gap,
            terms={"max_gram_deviation": gram_gap, "dim": float(dim)},
            assumptions=(
                Assumption(
                    "orthonormal_U",
                    "U^T U = I_K (U from a QR factorisation, checked)",
                    bool(np.allclose(np.linalg.norm(etf, axis=0), 1.0, atol=1e-10)),
                ),
            ),
            split=outputs.split,
            note="max |M^T M - (K/(K-1) I - 1/(K-1))| for the slide's M with orthonormal U (0 up to round-off)",
        )
    )
    # Per-sample pieces in row chunks (issue 15: the whole-split (n, d) copies of h, w_c and both gradients
    # peaked at 2.2 GB on ImageNet-LT); each is row-wise, so the values are the whole-array ones.
    weight = outputs.head_weight
    weight_norms = np.linalg.norm(weight, axis=1)

    def per_row(h_rows: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # (||h||^2 as np.sum(h**2, axis=1), ||h|| as np.linalg.norm, max |h_j|) per row
        return np.sum(h_rows**2, axis=1), np.linalg.norm(h_rows, axis=1), np.abs(h_rows).max(axis=1, initial=0.0)

    squares, h_norms, h_abs_max = statistics.per_sample(
        splits, outputs, "tutorial.etf_corrected.h", per_row, source="embeddings"
    )
    usable = (h_norms > 0) & (weight_norms[outputs.labels] > 0)
    if not np.any(usable):
        return results
    energy_h = float(np.mean(squares[usable]))
    energy_w = float(np.mean(np.sum(weight**2, axis=1)))
    root = math.sqrt(energy_w * energy_h)
    # Central differences along each coordinate: L_DR is quadratic in h, so they are exact up to round-off.
    # They cost d evaluations of L_DR on (rows, d) arrays, O(rows d^2): checked on the first
    # _FINITE_DIFFERENCE_ROWS usable samples (the identity is per sample; every sample of a 20,000 x 2,048
    # split took over 10 minutes and 1.9 GB temporaries). E_H stays the mean over every usable sample.
    step = 1e-3 * max(1.0, float(h_abs_max[usable].max()))
    first = np.flatnonzero(usable)[:_FINITE_DIFFERENCE_ROWS]
    h_fd = np.asarray(outputs.embeddings[first], dtype=np.float64)
    w_fd = weight[outputs.labels[first]]
    exact = dot_regression_gradient(h_fd, w_fd, energy_w, energy_h)
    numeric = dot_regression_central_differences(h_fd, w_fd, energy_w, energy_h, step)
    # scale of the gradient: ||w_c|| (|w_c^T h| / root + 1), so the gap is relative
    scale = np.linalg.norm(w_fd, axis=1) * (np.abs(np.einsum("nd,nd->n", w_fd, h_fd)) / root + 1.0)
    gradient_gap = float((np.linalg.norm(numeric - exact, axis=1) / scale).max())
    printed_gap = 0.0
    for rows in statistics.chunks(splits, outputs, "tutorial.etf_corrected printed gap"):
        keep = usable[rows]
        if not np.any(keep):
            continue
        h = statistics.embeddings_chunk(outputs, rows)[keep]
        w = weight[outputs.labels[rows][keep]]
        on_condition = h * (root / (np.linalg.norm(h, axis=1) * np.linalg.norm(w, axis=1)))[:, None]
        gaps = np.linalg.norm(
            dot_regression_gradient_printed(on_condition, w, energy_w, energy_h)
            - dot_regression_gradient(on_condition, w, energy_w, energy_h),
            axis=1,
        ) / np.linalg.norm(w, axis=1)
        printed_gap = max(printed_gap, float(gaps.max()))
    for measured, name, note in (
        (gradient_gap, "max_gradient_gap_vs_finite_difference", "corrected dL_DR/dh vs central differences"),
        (
            printed_gap,
            "max_printed_gap_under_norm_condition",
            "printed vs corrected gradient with h rescaled so ||w_c|| ||h|| = sqrt(E_W E_H)",
        ),
    ):
        results.append(
            BoundResult(
                statement="tutorial.etf_corrected",
                form="corrected",
                value=_ETF_TOLERANCE,
                measured=measured,
                terms={name: measured, "E_W": energy_w, "E_H": energy_h, "samples": float(np.count_nonzero(usable))},
                split=outputs.split,
                note=f"{note} (max relative gap, head rows as w_c; 0 up to round-off)",
            )
        )
    return results


@DECLARED.statement(
    id="tutorial.risk_decomposition",
    source="002, slide 'How Imbalance Data Matters: a direct decomposition on the risk minimization'",
    kind="identity",
    summary="R(f) = E_P[l] = sum_k P(y = k) E_{P(x|y=k)}[l] (law of total expectation); checked on the split's CE",
    printed="min_f R(f) = E_{P(x,y)}[l(f(x), y)] = sum_{k=1}^K P(y=k) E_{P(x|y=k)}[l(f(x), y)]",
    verdict="holds",
    explanation=(
        "The law of total expectation over the label. Checked exactly on finite joint distributions and, on "
        "a checkpoint, on the empirical distribution of a split (mean CE = sum_k pi^_k x class-mean CE up to "
        "rounding). The slide's reading (minority classes weigh little in the training risk) follows from "
        "the weights P(y=k)."
    ),
)
def _evaluate_risk_decomposition(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    losses = statistics.cross_entropy(splits, outputs)
    mean, decomposed = risk_decomposition(losses, outputs.labels, outputs.num_classes)
    return [
        identity_row(
            statement="tutorial.risk_decomposition",
            gap=float(relative_gaps(mean, decomposed)),
            tolerance=1e-12,
            terms={"mean_loss": mean, "decomposed": decomposed},
            split=outputs.split,
            note="identity: mean cross-entropy vs sum_k pi^_k E[CE | y = k] on this split (relative gap)",
        )
    ]


@DECLARED.statement(
    id="tutorial.plugin_am_consistency",
    source=(
        "002, slide 'On Statistical Consistency of Binary Classification with Balanced Accuracy', Theorem 3 "
        "(Menon et al. 2013) and Algorithm 1 (plug-in with empirical threshold)"
    ),
    kind="symbolic",
    summary=(
        "sign(eta^_S - p^_S) is AM-consistent; quantitatively regret <= (E|eta^ - eta| + |p^ - p|)/(2p(1-p)) "
        "(tests). On a checkpoint: one-vs-rest balanced error of the plug-in threshold pi_k vs 1/2 (diagnostic)"
    ),
    printed=(
        "If p^_S in (0, 1), p^_S -> p in probability and E_x|eta^_S(x) - eta(x)|^r -> 0 in probability for some "
        "r >= 1, then h_S(x) = sign(eta^_S(x) - p^_S) has regret^AM_D[h_S] -> 0 in probability."
    ),
    verdict="holds",
    explanation=(
        "The AM (balanced) Bayes rule is sign(eta(x) - p): predicting +1 at x costs (1 - eta)/(2(1 - p)), -1 "
        "costs eta/(2p), and they cross at eta = p. Where the plug-in disagrees with it, |eta - p| <= |eta^ - "
        "eta| + |p^ - p|, so regret <= (E|eta^ - eta| + |p^ - p|)/(2p(1 - p)) <= ((E|eta^ - eta|^r)^{1/r} + "
        "|p^ - p|)/(2p(1 - p)) -> 0 (a quantitative form of the theorem; Assumption A is not needed for it). "
        "Checked: Bayes optimality of sign(eta - p) against every classifier of small finite input spaces, "
        "and the regret bound on sampled distributions and estimates. The checkpoint row is only a diagnostic "
        "(one-vs-rest plug-in vs threshold 1/2)."
    ),
)
def _evaluate_plugin_consistency(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    c = outputs.num_classes
    # per class k and threshold (the plug-in pi_k, and 1/2): how many samples are predicted k (softmax_k above
    # the threshold) and how many of those are of class k, summed over row chunks
    thresholds = {"plugin": outputs.priors[None, :], "naive": 0.5}
    predicted = {key: np.zeros(c) for key in thresholds}
    correct = {key: np.zeros(c) for key in thresholds}
    for rows in statistics.chunks(splits, outputs, "plug-in predictions"):
        probabilities = softmax_rows(statistics.logits_chunk(outputs, rows))
        y = outputs.labels[rows]
        for key, threshold in thresholds.items():
            chosen = probabilities > threshold
            predicted[key] += chosen.sum(axis=0)
            correct[key] += np.bincount(y, weights=chosen[np.arange(y.size), y], minlength=c)
    sizes = np.bincount(outputs.labels, minlength=c)
    classes = np.flatnonzero((sizes > 0) & (sizes < outputs.num_samples))  # one-vs-rest needs both labels
    if classes.size == 0:
        raise InputError("tutorial.plugin_am_consistency needs a split with at least two classes")
    positives, negatives = sizes[classes], outputs.num_samples - sizes[classes]
    # balanced error of each one-vs-rest rule: (missed positives / n_k + false positives / (n - n_k)) / 2
    hits = {key: correct[key][classes] for key in thresholds}
    plugin, naive = (
        0.5 * ((positives - hits[key]) / positives + (predicted[key][classes] - hits[key]) / negatives)
        for key in ("plugin", "naive")
    )
    return [
        BoundResult(
            statement="tutorial.plugin_am_consistency",
            form="diagnostic",
            value=float(np.mean(naive)),
            measured=float(np.mean(plugin)),
            terms={"classes": float(classes.size)},
            assumptions=(
                _softmax_estimates_posterior(
                    outputs,
                    "softmax_estimates_eta",
                    "softmax(logits)_k estimates P(y = k | x) (plain CE training; its accuracy is not checked)",
                ),
            ),
            split=outputs.split,
            note="one-vs-rest, mean over classes: balanced error of the plug-in sign(eta^_k - pi_k) (measured) vs of "
            "the threshold 1/2 (value); a heuristic reading of Theorem 3, not the theorem",
        )
    ]


@DECLARED.statement(
    id="tutorial.la_loss_two_forms",
    source="002, slide 'The logit adjusted softmax cross-entropy'",
    kind="identity",
    summary="-log softmax(f + tau log pi)_y = log[1 + sum_{y' != y} (pi_y'/pi_y)^tau e^{f_y' - f_y}]",
    printed=(
        "-log [e^{f_y(x) + tau log pi_y} / sum_{y'} e^{f_y'(x) + tau log pi_y'}] = log[1 + sum_{y' != y} "
        "(pi_y'/pi_y)^tau e^{f_y'(x) - f_y(x)}]"
    ),
    verdict="holds",
    explanation=(
        "Divide numerator and denominator by e^{f_y + tau log pi_y}. Checked symbolically (SymPy, three "
        "classes) and numerically on sampled logits up to 1e3, tau in [0, 3] and priors down to 1e-4 "
        "(relative gap < 1e-12), and on checkpoints."
    ),
)
def _evaluate_la_two_forms(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    results = []
    for tau in (0.5, 1.0, 2.0):
        first, second = statistics.per_sample(
            splits,
            outputs,
            ("tutorial.la_two_forms", tau),
            lambda f, y, tau=tau: logit_adjusted_loss_forms(f, y, outputs.priors, tau),
        )
        gap = float(np.max(relative_gaps(first, second)))
        results.append(
            identity_row(
                statement="tutorial.la_loss_two_forms",
                gap=gap,
                tolerance=1e-12,
                terms={"tau": tau, "max_relative_gap": gap},
                split=outputs.split,
                note="identity: the two printed forms of the logit-adjusted loss, per sample (max relative gap)",
            )
        )
    return results


@DECLARED.statement(
    id="tutorial.reweighting_vs_logit_adjustment",
    source="002, slide 'The logit adjusted softmax cross-entropy' (the remark with the '⇎' sign)",
    kind="symbolic",
    summary="w_1^T Phi/pi_1 < w_2^T Phi/pi_2 is not equivalent to e^{w_1^T Phi}/pi_1 < e^{w_2^T Phi}/pi_2",
    printed=(
        "w_1^T Phi(x)/pi_1 < w_2^T Phi(x)/pi_2 is not equivalent to exp(w_1^T Phi(x))/pi_1 < exp(w_2^T Phi(x))/pi_2"
    ),
    verdict="holds",
    explanation=(
        "An existential claim (the two decision rules differ somewhere): with logits (-1, -0.5) and priors "
        "(0.9, 0.1), -1/0.9 < -0.5/0.1 is false while e^{-1}/0.9 < e^{-0.5}/0.1 is true (a test). They agree "
        "whenever pi_1 = pi_2 (both compare the logits). "
        "The point of the remark, after Menon et al. (2021): dividing logits (or weight norms) by the prior is "
        "not post-hoc logit adjustment, which divides the exponentiated scores."
    ),
)
def _evaluate_reweighting_remark(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    pi = checked_priors(outputs.priors, outputs.num_classes)
    share = float(
        np.mean(
            statistics.per_sample(
                splits, outputs, "tutorial.reweighting", lambda f, _y: reweighting_disagreement_of_rows(f, pi)
            )
        )
    )
    return [
        BoundResult(
            statement="tutorial.reweighting_vs_logit_adjustment",
            form="as_printed",
            value=share,
            terms={"disagreement": share},
            split=outputs.split,
            note="fraction of samples where argmax f/pi and argmax e^f/pi differ (> 0 exhibits the remark's "
            "non-equivalence on these logits; nothing measured)",
        )
    ]


@DECLARED.statement(
    id="tutorial.ldam_relaxation",
    source="002, slide 'LDAM' ('the smooth relaxation of the hinge loss is the following cross-entropy loss')",
    kind="inequality",
    summary="max(max_{j != y} z_j - z_y + Delta_y, 0) <= L_LDAM <= that + log K",
    printed=(
        "L_LDAM-HG = max(max_{j != y} z_j - z_y + Delta_y, 0); its smooth relaxation is L_LDAM = -log e^{z_y - "
        "Delta_y} / (e^{z_y - Delta_y} + sum_{j != y} e^{z_j}), Delta_j = C / n_j^{1/4}"
    ),
    verdict="holds",
    explanation=(
        "L_LDAM = log(1 + sum_{j != y} e^{z_j - z_y + Delta_y}) = softplus-type smoothing of the hinge: "
        "max(0, max_j a_j) <= log(1 + sum_j e^{a_j}) <= max(0, max_j a_j) + log K. Property-tested on sampled "
        "logits (up to 1e3), margins and K = 2..8, and on checkpoints with the optimal margins (max 0.5)."
    ),
)
def _evaluate_ldam_relaxation(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    margins = ldam_optimal_margins(outputs.class_counts, max_margin=0.5)
    hinge, smooth = statistics.per_sample(
        splits, outputs, "tutorial.ldam_losses", lambda f, y: ldam_losses(f, y, margins)
    )
    k = outputs.num_classes
    row = row_factory(statement="tutorial.ldam_relaxation", split=outputs.split, form="as_printed", value=0.0)
    return [
        row(
            measured=float(np.max(hinge - smooth)),
            terms={"mean_hinge": float(hinge.mean()), "mean_smooth": float(smooth.mean())},
            note="max over samples of hinge - smooth LDAM loss <= 0 (the relaxation is an upper bound), max margin 0.5",
        ),
        row(
            measured=float(np.max(smooth - hinge - math.log(k))),
            terms={"log_num_classes": math.log(k)},
            note="max over samples of smooth - hinge - log K <= 0 (the relaxation is within log K of the hinge)",
        ),
    ]


def _head_gradient(outputs: Outputs, splits: EvaluationSplits | None = None) -> np.ndarray:
    """Gradient of the mean cross-entropy w.r.t. the head [W, b] on this split (closed form), summed over
    row chunks (``statements.statistics``): (softmax(f) - e_y)^T [Phi, 1] / n."""
    splits = EvaluationSplits(train=outputs) if splits is None else splits
    total = np.zeros((outputs.num_classes, outputs.embeddings.shape[1] + 1))
    for rows in statistics.chunks(splits, outputs, "head gradient"):
        probabilities = softmax_rows(statistics.logits_chunk(outputs, rows))
        labels = outputs.labels[rows]
        probabilities[np.arange(labels.size), labels] -= 1.0
        embeddings = statistics.embeddings_chunk(outputs, rows)
        total += probabilities.T @ np.hstack([embeddings, np.ones((labels.size, 1))])
    return (total / outputs.num_samples).reshape(-1)


def _rwsam_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """rwSAM's perturbation for the training split's head gradient: the printed open-ball argmax (empty for
    g != 0) or the corrected closed-ball one (attains rho ||g||)."""
    # any gradient is an instance of the statement: the head's on at most SYMBOLIC_ROWS training rows
    outputs = statistics.symbolic_rows(splits, splits.train)
    gradient = splits.computed(("tutorial.head_gradient", outputs.split), lambda: _head_gradient(outputs, splits))
    rho = 0.05  # SAM's default radius
    best = sam_perturbation(gradient, rho)
    supremum = rho * float(np.linalg.norm(gradient))
    if corrected:
        return [
            BoundResult(
                statement="tutorial.rwsam_perturbation_corrected",
                form="corrected",
                value=supremum,
                measured=float(best @ gradient),
                terms={"rho": rho, "gradient_norm": float(np.linalg.norm(gradient))},
                split=outputs.split,
                note="closed ball: e*^T g at e* = rho g/||g|| (measured) attains rho ||g|| (value); CE gradient of "
                "the head on the training split (every k-th row beyond 16,384: the split column says which)",
            )
        ]
    return [
        BoundResult(
            statement="tutorial.rwsam_perturbation",
            form="as_printed",
            value=rho * (1 - 1e-9),
            measured=float(np.linalg.norm(best)),
            terms={"rho": rho, "supremum": supremum},
            # g = 0: every point maximises, the origin is inside the open ball and the row holds
            split=outputs.split,
            note="for g != 0 the only maximiser of e^T g has norm rho (measured); the open ball needs norm < rho "
            "(value, rho (1 - 1e-9)): the printed argmax is empty",
        )
    ]


DECLARED.add_corrected_pair(
    _rwsam_rows,
    printed=dict(
        id="tutorial.rwsam_perturbation",
        source="002, slide 'rwSAM: Reweighted Sharpness Aware Minimization'",
        kind="symbolic",
        summary="the perturbation is an argmax over the open ball ||eps|| < rho, as printed",
        printed="min_phi L^(phi + eps_w(phi)), eps_w(phi) = argmax_{||eps|| < rho} eps^T grad_phi L^_w(phi)",
        verdict="false_as_printed",
        explanation=(
            "Over the open ball the linear objective eps^T g has supremum rho ||g|| but no maximiser when g != 0 "
            "(every eps with ||eps|| < rho is beaten by the point of norm (||eps|| + rho)/2 along g), so the "
            "printed argmax is empty and eps_w undefined. Stored counterexample: g = 1, rho = 1 (candidates "
            "0, 0.9, 0.99, 0.999999 each improved). SAM (Foret et al. 2021) takes the closed ball ||eps|| <= rho, "
            "whose maximiser is rho g/||g||; the slide may have lost the bar of a printed <= in extraction. Corrected "
            "statement: tutorial.rwsam_perturbation_corrected. The "
            "weights w_i = (KDE density)^{-alpha} are a definition (larger for rare, low-density samples when "
            "alpha > 0)."
        ),
        counterexample="tutorial.rwsam_perturbation.json",
    ),
    corrected=dict(
        id="tutorial.rwsam_perturbation_corrected",
        source="002, slide 'rwSAM' (corrected: closed ball)",
        kind="identity",
        summary="argmax_{||eps|| <= rho} eps^T g = rho g / ||g|| for g != 0, value rho ||g||",
        printed="For g != 0: argmax_{||eps|| <= rho} eps^T g = {rho g / ||g||}, with value rho ||g|| (Cauchy-Schwarz).",
        verdict="holds",
        explanation=(
            "eps^T g <= ||eps|| ||g|| <= rho ||g||, with equality iff eps = rho g/||g|| (Cauchy-Schwarz equality "
            "case). Property-tested: sampled points of the closed ball never exceed rho ||g||, the maximiser "
            "attains it, and gradients up to 1e6 and tiny ones keep ||eps*|| = rho."
        ),
    ),
)


def _ltssl_pseudo_labels(outputs: Outputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Softmax pseudo-labels of the first 2000 samples (which keeps 200 sweeps cheap on large test splits),
    restricted and renormalised to the classes present there, with those classes' totals; and the labels."""
    keep = slice(0, 2000)
    pseudo = np.clip(softmax_rows(np.asarray(outputs.logits[keep], dtype=np.float64)), 1e-300, None)
    pseudo /= pseudo.sum(axis=1, keepdims=True)
    labels = outputs.labels[keep]
    counts = np.bincount(labels, minlength=outputs.num_classes).astype(np.float64)
    present = counts > 0
    pseudo = pseudo[:, present] / pseudo[:, present].sum(axis=1, keepdims=True)
    return pseudo, counts[present], labels


@DECLARED.statement(
    id="tutorial.ltssl_refinement",
    source="002, slide 'Long-tailed Semi-Supervised Learning', problem (1) and Algorithm 1 (DualCoordinateAscent)",
    kind="identity",
    summary="DualCoordinateAscent returns the unique minimiser of sum w_m KL(y^_m || y^0_m) under the class totals",
    printed=(
        "minimize sum_m w_m KL(y^_m || y^unlabeled_m) s.t. sum_m y^_m(k) = M_k, sum_k y^_m(k) = 1, y^_m(k) in "
        "[0, 1]; Algorithm 1 with T iterations 'Ensure: The unique solution of (1)'"
    ),
    verdict="holds_with_extra_assumption",
    explanation=(
        "Problem (1) is strictly convex in y^ (w_m > 0), so it has at most one solution, and one exists when "
        "it is feasible (sum_k M_k = M; strictly positive pseudo-labels make the KL finite). Its KKT "
        "conditions give y^_mk = y^0_mk alpha_m beta_k^{1/w_m}, and Algorithm 1 alternates exact maximisation "
        "of the dual over alpha and beta (a Sinkhorn-type scaling): every iterate has the KKT form, the row "
        "constraint holds after each alpha step (and at t = T), but the column constraint only in the limit. "
        "So the output is the unique solution only as T -> infinity under these assumptions; after T = 2 "
        "steps on the synthetic checkpoint of the registry test the class totals are off by 0.17% per sample, "
        "and near one-hot pseudo-labels converge slowly. Corrected statement: tutorial.ltssl_refinement_corrected."
    ),
    corrected_by="tutorial.ltssl_refinement_corrected",
)
def _evaluate_ltssl(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    pseudo, totals, labels = _ltssl_pseudo_labels(outputs)
    results = []
    for iterations in (2, 200):
        refined = ltssl_refine(pseudo, totals, iterations=iterations)
        residual = float(np.max(np.abs(refined.sum(axis=0) - totals)) / labels.shape[0])
        rows_residual = float(np.max(np.abs(refined.sum(axis=1) - 1.0)))
        results.append(
            identity_row(
                statement="tutorial.ltssl_refinement",
                gap=max(residual, rows_residual),
                tolerance=1e-6,
                terms={"iterations": float(iterations), "column_residual": residual, "row_residual": rows_residual},
                split=outputs.split,
                note="Algorithm 1 (T iterations) on softmax pseudo-labels with the split's class totals: max "
                "constraint violation of its output, per sample (0 for 'the unique solution'; reached only as T grows)",
            )
        )
    return results


@DECLARED.statement(
    id="tutorial.ltssl_refinement_corrected",
    source="002, slide 'Long-tailed Semi-Supervised Learning' (corrected: the limit of Algorithm 1)",
    kind="identity",
    summary=(
        "if y^0 > 0, w > 0 and sum_k M_k = M, problem (1) has one solution, of the form y^0_mk alpha_m beta_k^{1/w_m}; "
        "Algorithm 1's iterates keep that form and reach it as T -> infinity"
    ),
    printed=(
        "If y^0 > 0, w > 0 and sum_k M_k = M, problem (1) has exactly one solution, of the form y^0_mk alpha_m "
        "beta_k^{1/w_m}; Algorithm 1's iterates have that form and satisfy both constraints as T -> infinity."
    ),
    verdict="holds",
    explanation=(
        "Strict convexity gives uniqueness; the KKT form is stationarity with row and column multipliers; a "
        "point of that form meeting both constraints satisfies the KKT conditions of a convex problem, hence is "
        "the minimiser. Tested: the constraint residual decreases to < 1e-9 on Dirichlet pseudo-labels "
        "(equal and unequal weights w), every iterate has zero KKT residual, and feasible perturbations that "
        "keep both constraints never lower the objective."
    ),
)
def _evaluate_ltssl_corrected(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    pseudo, totals, _ = _ltssl_pseudo_labels(outputs)
    refined = ltssl_refine(pseudo, totals, iterations=20)
    residual = ltssl_kkt_residual(refined, pseudo)
    scale = float(np.max(np.abs(np.log(refined) - np.log(pseudo))))
    return [
        identity_row(
            statement="tutorial.ltssl_refinement_corrected",
            form="corrected",
            gap=residual,
            tolerance=1e-9 * max(1.0, scale),
            terms={"iterations": 20.0, "log_ratio_scale": scale},
            split=outputs.split,
            note="the output of every iteration has the KKT form y0 alpha_m beta_k^{1/w_m} (residual of log(y/y0) "
            "from a row + column sum); it is the solution once the constraints hold (T -> infinity)",
        )
    ]


@DECLARED.statement(
    id="tutorial.records_prop1",
    source="002, slide 'RECORDS: Rebalancing for dynamic bias', Proposition 1",
    kind="symbolic",
    summary="L_2(h~) < 4/((ln 2 - ln(1 + eta)) N) (d_H (ln 2N + 2 ln C) - ln delta + ln 2) w.p. >= 1 - delta",
    printed=(
        "If eta in [0, 1), for all delta > 0, w.p. >= 1 - delta: L_2(h~) < 4/((ln 2 - ln(1 + eta)) N) "
        "(d_H (ln 2N + 2 ln C) - ln delta + ln 2), L_2 the distance between P_train(y) and P_train(y | Theta~)"
    ),
    verdict="ambiguous",
    explanation=(
        "The slide does not define L_2(h~) precisely (a distance between the class prior and the model's "
        "estimated prior 'given h~'), nor the hypothesis class whose Natarajan dimension d_H enters, and the "
        "proof (RECORDS, after Cour et al. 2011 and Liu & Dietterich 2014) is not reproduced, so the "
        "inequality cannot be checked from the seed. What can be checked holds: the right side is finite and "
        "positive exactly when eta < 1 (ln 2 > ln(1 + eta)), decreases like log(N)/N, and 'for all delta > 0' "
        "should read delta in (0, 1) (the statement is empty for delta >= 1). The evaluator reports the right "
        "side at the checkpoint's N and C in its best case (d_H = 1, eta = 0): it is vacuous (>= sqrt 2) for "
        "small N."
    ),
)
def _evaluate_records(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    n, c = outputs.num_samples, outputs.num_classes
    # d_H = 1 is the smallest non-trivial Natarajan dimension: the bound at d_H = 1, eta = 0 is its best case
    best = records_l2_bound(n, c, 1.0, 0.0, delta)
    return [
        BoundResult(
            statement="tutorial.records_prop1",
            form="shape",
            value=best,
            terms={"num_samples": float(n), "vacuous": float(best >= math.sqrt(2.0))},
            split=outputs.split,
            note="the printed right side at this N and C with d_H = 1 and eta = 0 (its smallest value); an L2 "
            "distance between distributions is <= sqrt 2, so a value >= sqrt 2 says nothing (nothing measured)",
        )
    ]


@DECLARED.statement(
    id="tutorial.ts_schedule",
    source="002, slide 'TS: Temperature Schedules for contrastive learning'",
    kind="identity",
    summary=(
        "tau_cos(t) = (tau_+ - tau_-)(1 + cos(2 pi t/T))/2 + tau_- alternates between tau_- and tau_+ with period T"
    ),
    printed=(
        "tau_cos(t) = (tau_+ - tau_-) x (1 + cos(2 pi t/T))/2 + tau_- alternates between an upper tau and a "
        "lower tau bound at a fixed period length"
    ),
    verdict="holds",
    explanation=(
        "(1 + cos)/2 ranges over [0, 1], so tau_cos ranges over [tau_-, tau_+], with tau_cos(0) = tau_+, "
        "tau_cos(T/2) = tau_-, period T. Property-tested for sampled t, T and 0 < tau_- <= tau_+. The slide's "
        "observations on large vs small tau (group-wise vs instance discrimination) are empirical."
    ),
)
def _evaluate_ts(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    low, high, period = 0.1, 1.0, 400.0  # the slide's tau values (0.1 and 1.0), T of the TS paper
    steps = np.arange(0, 2 * int(period) + 1)
    values = ts_temperature(steps, period, low, high)
    row = row_factory(statement="tutorial.ts_schedule", split=splits.train.split, form="as_printed")
    return [
        row(
            value=high,
            measured=float(values.max()),
            terms={
                "tau_minus": low,
                "tau_plus": high,
                "min": float(values.min()),
                "at_half_period": float(values[200]),
            },
            note="max of tau_cos over two periods (measured) <= tau_+ (value); the schedule, not the checkpoint",
        ),
        row(
            value=-low,
            measured=-float(values.min()),
            terms={"tau_minus": low},
            note="-min of tau_cos (measured) <= -tau_- (value): the schedule stays in [tau_-, tau_+]",
        ),
    ]


@DECLARED.statement(
    id="tutorial.bcl_memorization_range",
    source="002, slide 'BCL: Boosted Contrastive Learning' (L^m_{i,t}, M_{i,t} and the augmentation rule u < M_i)",
    kind="inequality",
    summary="M_{i,t} = (1/2)((L - mean L)/max|L - mean L| + 1) lies in [0, 1], so 'u < M_i' is a valid probability",
    printed=(
        "L^m_{i,0} = L_{i,0}, L^m_{i,t} = beta L^m_{i,t-1} + (1 - beta) L_{i,t}, M_{i,t} = (1/2)((L^m_{i,t} - "
        "mean L^m_t) / max_j |L^m_{j,t} - mean L^m_t| + 1); augment when u ~ U(0, 1) and u < M_i"
    ),
    verdict="holds",
    explanation=(
        "The normalised deviation lies in [-1, 1], so M_{i,t} in [0, 1] is a valid probability for 'u < M_i', "
        "with M = 1 for the sample of largest deviation above the mean when it is the extreme one; the moving "
        "average stays within the range of the losses for beta in [0, 1]. The formula is undefined (0/0) only "
        "in the degenerate case where all moving-average losses are equal (the evaluator refuses that input with "
        "an InputError). Property-tested on sampled loss histories."
    ),
)
def _evaluate_bcl(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = splits.train
    # InputError when every loss is equal: 0/0 there
    scores = bcl_memorization_scores(statistics.cross_entropy(splits, outputs))
    row = row_factory(statement="tutorial.bcl_memorization_range", split=outputs.split, form="as_printed")
    return [
        row(
            value=1.0,
            measured=float(scores.max()),
            terms={"min": float(scores.min())},
            note="max over training samples of M_i from their CE losses (measured) <= 1 (value)",
        ),
        row(
            value=0.0,
            measured=-float(scores.min()),
            note="-min over training samples of M_i (measured) <= 0 (value): M_i is a probability in [0, 1]",
        ),
    ]


def _head_cosines(splits: EvaluationSplits, outputs: Outputs, statement: str) -> tuple[int, tuple[float, float, float]]:
    """(K, (min, max, mean) of the pairwise cosines of the head rows, i != j): ``pairwise_cosine_summary``,
    computed once per split for both GH statements (an O(K^2 d) product, seconds at K = 8,142)."""
    k = outputs.num_classes
    if k < 2 or np.any(np.linalg.norm(outputs.head_weight, axis=1) == 0):
        raise InputError(f"{statement} needs >= 2 classes and a head with non-zero rows")
    key = ("tutorial.head_cosines", outputs.split)
    return k, splits.computed(key, lambda: pairwise_cosine_summary(outputs.head_weight))


@DECLARED.statement(
    id="tutorial.gh_uniform_structure",
    source="002, slide 'GH: Geometric Harmonization', Geometric Uniform Structure (Definition 3.1)",
    kind="symbolic",
    summary=(
        "K unit vectors with M_i^T M_j = C (i != j) exist iff -1/(K-1) <= C <= 1; equal angles, equal partition "
        "only at C = -1/(K-1)"
    ),
    printed=(
        "M_i^T M_j = C for all i != j in {1..K}: any two vectors in M have the same angle, namely the unit "
        "space is equally partitioned by the vectors"
    ),
    verdict="holds_with_extra_assumption",
    explanation=(
        "For unit vectors the Gram (1 - C) I + C 11^T has eigenvalues 1 - C and 1 + (K - 1) C, so such K "
        "vectors exist iff -1/(K - 1) <= C <= 1 (the slide leaves C free); then the permutation symmetry of the "
        "Gram gives an isometry permuting them, so their cells on the sphere are congruent (the 'equal "
        "partition'). C = -1/(K - 1) is the simplex ETF. Corrected statement: "
        "tutorial.gh_uniform_structure_corrected. On a checkpoint the evaluator reports how far the head's "
        "rows are from such a structure (a diagnostic)."
    ),
    corrected_by="tutorial.gh_uniform_structure_corrected",
)
def _evaluate_gh_uniform_structure(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    k, (smallest, largest, mean) = _head_cosines(splits, outputs, "tutorial.gh_uniform_structure")
    spread = largest - smallest
    return [
        BoundResult(
            statement="tutorial.gh_uniform_structure",
            form="diagnostic",
            value=0.0,
            measured=spread,
            terms={"mean_inner_product": mean, "smallest_possible_C": -1.0 / (k - 1)},
            split=outputs.split,
            note="spread of the pairwise cosines of the head rows (0 iff they form a geometric uniform "
            "structure); C >= -1/(K-1) always",
        )
    ]


@DECLARED.statement(
    id="tutorial.gh_uniform_structure_corrected",
    source="002, slide 'GH: Geometric Harmonization', Definition 3.1 (corrected)",
    kind="identity",
    summary="K unit vectors with M_i^T M_j = C for all i != j exist iff -1/(K-1) <= C <= 1 (Gram (1-C) I + C 11^T PSD)",
    printed="K >= 2 unit vectors with pairwise inner product C exist iff -1/(K - 1) <= C <= 1.",
    verdict="holds",
    explanation=(
        "The Gram of unit vectors with pairwise inner product C is (1 - C) I + C 11^T; a matrix is a Gram "
        "matrix iff it is PSD, i.e. iff 1 - C >= 0 and 1 + (K - 1) C >= 0. Tested: the construction from the "
        "eigen-decomposition reproduces the Gram for C in the range (both ends included) and the smallest "
        "eigenvalue is negative below -1/(K - 1)."
    ),
)
def _evaluate_gh_corrected(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    k = outputs.num_classes
    if k < 2:
        raise InputError("tutorial.gh_uniform_structure_corrected needs >= 2 classes")
    floor = -1.0 / (k - 1)
    gap = uniform_structure_gram_gap(k, floor)  # the extreme case: the simplex ETF
    return [
        identity_row(
            statement="tutorial.gh_uniform_structure_corrected",
            form="corrected",
            gap=gap,
            tolerance=1e-9,
            terms={"smallest_C": floor, "K": float(k)},
            split=outputs.split,
            note="K unit vectors with pairwise inner product C = -1/(K-1) built from the Gram (1-C)I + C 11^T "
            "(max Gram error); below that C no such vectors exist (its eigenvalue 1 + (K-1)C < 0)",
        )
    ]


@DECLARED.statement(
    id="tutorial.gh_theorem34",
    source="002, slide 'GH: Geometric Harmonization', Theorem 3.4 (Optimal state for L, eq. 5)",
    kind="symbolic",
    summary="L* = -2 sum_l pi_l log(1/(1 + (K-1) exp(C-1))) + log(J/L) at category-level uniformity",
    printed=(
        "Under the proper optimization strategy, at category-level uniformity on the geometric uniform "
        "structure M, the overall loss attains its minimum L* = -2 sum_l pi^y_l log(1/(1 + (K-1) exp(C-1))) + "
        "log(J/L)"
    ),
    verdict="ambiguous",
    explanation=(
        "Eq. (4), 'the proper optimization strategy', Definition 3.3 and the roles of J and L are not on the "
        "slide, so the minimum cannot be re-derived from the seed. The part that can be checked holds: a "
        "feature equal to its prototype M_y, scored against the K prototypes by inner products (1 for itself, "
        "C for the others, temperature 1), has cross-entropy log(1 + (K-1) e^{C-1}) = -log(1/(1 + (K-1) "
        "exp(C-1))), the term inside the sum (tested for K = 2..10 and C over its whole range). The factor 2 "
        "and log(J/L) come from the InfoNCE part and are not checked."
    ),
)
def _evaluate_gh_theorem34(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    outputs = _sample_split(splits)
    k, (_, _, mean) = _head_cosines(splits, outputs, "tutorial.gh_theorem34")
    computed, printed = gh_uniform_loss(k, float(np.clip(mean, -1.0 / (k - 1), 1.0)))
    return [
        identity_row(
            statement="tutorial.gh_theorem34",
            gap=float(relative_gaps(printed, computed)),  # printed > 0: log(1 + (K-1) e^{C-1})
            tolerance=1e-12,
            terms={"computed": computed, "printed": printed},
            split=outputs.split,
            note="the per-sample GH term of (5) at uniformity, with C = the head's mean pairwise cosine: the "
            "printed closed form vs the cross-entropy computed on that structure",
        )
    ]

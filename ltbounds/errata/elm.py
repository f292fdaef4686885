"""Errata for seed 000 (ELM, Jitkrittum et al. 2022): one entry per statement id of ``ltbounds.bounds.elm``."""

from __future__ import annotations

from ltbounds.errata.entry import Erratum

ENTRIES = (
    Erratum(
        id="elm.hard_pull_below_soft",
        source="000, Section 3.1",
        printed="Omega~_pull(x, y) < Omega_pull(x, y), with Omega~_pull = max_{x+ in S_y \\ x} [||Phi(x) - Phi(x+)||^2 "
        "- alpha_y]_+ and Omega_pull = log[1 + sum_{x+ in S_y \\ x} exp(||Phi(x) - Phi(x+)||^2 - alpha_y)]",
        verdict="holds_with_extra_assumption",
        explanation="Strict inequality needs |S_y| >= 2: then, with m = max_{x+} a(x+), 1 + sum e^a > max(1, e^m), "
        "so Omega_pull - Omega~_pull >= log(1 + e^{-|m|}) > 0. With |S_y| = 1 the sum is empty, Omega_pull = 0 and the "
        "max over an empty set is undefined (0 by the [.]_+ convention), so '<' fails. In float64 the gap "
        "log(1 + e^{-|m|}) falls below the float64 resolution of Omega_pull ~ |m| once |m| > ~33 (float32: ~16), so "
        "numerically only '<=' is observable there; tests check the "
        "exact lower bound on the gap where it is representable.",
    ),
    Erratum(
        id="elm.prop1",
        source="000, Proposition 1 (Section 4.2; proof App. C.1)",
        printed="2|S_y|/(|S_y| - 1) * sum_{j=1}^K hatV[Phi_j(x) | y] - alpha_y + log(|S_y| - 1) <= bar Omega_pull(y)",
        verdict="holds",
        explanation="Holds for every alpha_y and |S_y| >= 2 with hatV the empirical variance with divisor |S_y|, which "
        "is how App. C.1 defines it (hatV = (1/|S_y|) sum_x (Phi_j(x) - hat mu_{y,j})^2). The proof is Jensen on "
        "log-mean-exp, dropping the 1 inside the log, and the identity elm.pairwise_variance_identity. Read with the "
        "unbiased divisor |S_y| - 1 the statement is false (|S_y| = 2, distance d, alpha = 0: left 2d^2 > "
        "log(1 + e^{d^2}) = right for d >= 1), so the divisor matters; we use the appendix's.",
    ),
    Erratum(
        id="elm.prop1_expanded",
        source="000, Section 4.2 (the display after Proposition 1)",
        printed="(1/|S_y|) sum_{x in S_y} Omega_pull(x, y) >= 2|S_y|/(|S_y| - 1) sum_{x in S_y} ||Phi(x) - mu_y||^2 "
        "- alpha_y + log(|S_y| - 1)",
        verdict="false_as_printed",
        explanation="The expansion drops the 1/|S_y| of the variance: sum_j hatV_j = (1/|S_y|) sum_x "
        "||Phi(x) - mu_y||^2, so the printed right side is |S_y| times Proposition 1's variance term. Counterexample "
        "(stored): two embeddings 0 and 1 of one class, alpha = 0: printed right side 2.0 > bar Omega_pull = "
        "log(1 + e) = 1.313. The correct "
        "expansion, elm.prop1_expanded_corrected, has 2/(|S_y| - 1) in front of the sum (equal to Prop. 1).",
        counterexample="elm.prop1_expanded.json",
        corrected_by="elm.prop1_expanded_corrected",
    ),
    Erratum(
        id="elm.prop1_expanded_corrected",
        source="000, Section 4.2, corrected (ours)",
        printed="bar Omega_pull(y) >= 2/(|S_y| - 1) sum_{x in S_y} ||Phi(x) - hat mu_y||^2 - alpha_y + log(|S_y| - 1)",
        verdict="holds",
        explanation="Algebraically identical to Proposition 1 (the sum over x divided by |S_y| is sum_j hatV_j); "
        "property-tested on random, tied, duplicated and huge embeddings.",
    ),
    Erratum(
        id="elm.pairwise_variance_identity",
        source="000, App. C.1",
        printed="(1/|S_y|^2) sum_{x, x+ in S_y} ||Phi(x) - Phi(x+)||^2 = "
        "(2/|S_y|) sum_{x in S_y} ||Phi(x) - hat mu_y||^2",
        verdict="holds",
        explanation="Expanding both sides gives 2/n sum ||Phi||^2 - 2/n^2 sum_{x,x+} Phi(x)^T Phi(x+); checked "
        "symbolically with SymPy for n = 2..4 samples in K = 2 dimensions and numerically (chunked pairwise sums).",
    ),
    Erratum(
        id="elm.gaussian_softmax",
        source="000, Section 4.2",
        printed="when Z | Y = y ~ N(mu_y, sigma_y^2 I), P(y | z) propto exp(Phi(x)^T mu_y / sigma_y^2 - ||mu_y||^2 / "
        "(2 sigma_y^2) + log P(y)), an affine function of Phi(x) composed with a softmax",
        verdict="false_as_printed",
        explanation="log N(z; mu_y, sigma_y^2 I) = -K/2 log(2 pi sigma_y^2) - ||z||^2/(2 sigma_y^2) + "
        "z^T mu_y/sigma_y^2 - ||mu_y||^2/(2 sigma_y^2). The printed exponent drops -||z||^2/(2 sigma_y^2) - "
        "K log sigma_y, which cancel "
        "in the softmax only when every sigma_y is the same; with class-dependent sigma_y the posterior is quadratic "
        "in z, not affine. Counterexample (stored): K = 1, mu_0 = mu_1 = 0, sigma^2 = (1, 4), equal priors, z = 3: "
        "printed posterior (0.5, 0.5), exact (0.064, 0.936). elm.gaussian_softmax_corrected: with one shared sigma "
        "the printed exponent is exact (verified with SymPy and numerically).",
        counterexample="elm.gaussian_softmax.json",
        corrected_by="elm.gaussian_softmax_corrected",
    ),
    Erratum(
        id="elm.gaussian_softmax_corrected",
        source="000, Section 4.2, corrected (ours)",
        printed="when Z | Y = y ~ N(mu_y, sigma^2 I) with one sigma for all classes, P(y | z) = softmax_y(z^T mu_y / "
        "sigma^2 - ||mu_y||^2 / (2 sigma^2) + log P(y)); for class-dependent sigma_y add -||z||^2/(2 sigma_y^2) - K "
        "log sigma_y to the exponent",
        verdict="holds",
        explanation="The difference between the exact log-joint and the printed exponent is -K/2 log(2 pi sigma^2) - "
        "||z||^2/(2 sigma^2), independent of y, hence invisible to the softmax (SymPy check and numerical test).",
    ),
    Erratum(
        id="elm.lemma3",
        source="000, Lemma 3 (App. C.2), citing Maurer and Pontil (2009)",
        printed="Z_1..Z_n i.i.d. in [0, B], delta > 0: with probability >= 1 - delta, E Z <= (1/n) sum Z_i + "
        "sqrt(2 hatV[Z] ln(2/delta) / n + 7 B ln(2/delta) / (3(n - 1)))",
        verdict="false_as_printed",
        explanation="Read literally (as extracted, the range term sits under the square root, as it does again in the "
        "first display of the proof of Prop. 2; the second display and Prop. 2 itself put it outside) the bound is not "
        "scale-covariant: its range term grows like sqrt(B), not B. Counterexample (stored): Z = 100 * Bernoulli(0.1), "
        "n = 10, delta = 0.05; the all-zero sample has probability 0.349 and gives the bound 9.78 < E Z = 10, so the "
        "exact violation probability is 0.349 > delta. Maurer and Pontil's Theorem 4 (elm.lemma3_corrected, "
        "``bounds.empirical_bernstein``) has the range term 7 B ln(2/delta)/(3(n - 1)) outside the root and the "
        "unbiased sample variance V_n (divisor n - 1; the paper's hatV elsewhere has divisor n). Its constants 2 and "
        "7/3 and ln(2/delta) match the printed ones. Simulation: violation rate of the corrected form <= delta. "
        "The other reading (range term outside, divisor n) is not covered by Maurer-Pontil's proof; an exact search "
        "over Bernoulli(p) samples (n <= 40, delta in {0.01, 0.05, 0.1, 0.2, 0.5}) found violation probabilities of "
        "at most 0.063 delta, so only the square-root scope makes the printed lemma false.",
        counterexample="elm.lemma3.json",
        corrected_by="elm.lemma3_corrected",
    ),
    Erratum(
        id="elm.lemma3_corrected",
        source="Maurer and Pontil (2009), Theorem 4 (scaled from [0, 1] to [0, B])",
        printed="E Z <= (1/n) sum Z_i + sqrt(2 V_n ln(2/delta) / n) + 7 B ln(2/delta) / (3(n - 1)), V_n = sum (Z_i - "
        "mean)^2 / (n - 1), n >= 2",
        verdict="holds",
        explanation="The published theorem; simulation tests over Bernoulli, Beta and the stored counterexample's "
        "distribution keep the violation rate below delta within a Clopper-Pearson margin.",
    ),
    Erratum(
        id="elm.lemma4",
        source="000, Lemma 4 (App. C.2)",
        printed="for y in {-1, 1}, V_{x|y}[log(1 + e^{-y f(x)})] <= V_{x|y}[-y f(x)]",
        verdict="holds",
        explanation="softplus(-t) is 1-Lipschitz and V[h] <= E(h - c)^2 for any constant c. Holds for every "
        "distribution, so also for the empirical one. Multi-class reading used by the evaluator: with the one-vs-rest "
        "log-odds m_y = f_y - logsumexp_{y' != y} f_y', the softmax cross-entropy is log(1 + e^{-m_y}), so the lemma "
        "applies verbatim (for two classes m_y = y f).",
    ),
    Erratum(
        id="elm.lemma5",
        source="000, Lemma 5 (App. C.2)",
        printed="binary, f(x) = w^T Phi(x) + b: for any Delta_y, "
        "V_{x|y}[ell_log(y, f(x) + Delta_y)] <= ||w||^2 tr(C_y)",
        verdict="holds",
        explanation="Lemma 4 then w^T C_y w <= ||w||^2 lambda_max(C_y) <= ||w||^2 tr(C_y) (C_y is positive "
        "semi-definite, the proof says definite; semi-definite suffices). The centre loss Omega_cen defined in the "
        "statement is not used. Multi-class form used by the evaluator (ours): the logit-adjusted loss is "
        "sqrt(2) ||W_c||_2-Lipschitz in Phi (W_c the row-centred head), giving 2 ||W_c||_2^2 tr(C_y), which equals "
        "||w||^2 tr(C_y) for two classes.",
    ),
    Erratum(
        id="elm.prop2",
        source="000, Proposition 2 (Section 4.3; proof App. C.2)",
        printed="binary y, ell_log <= B: with probability >= 1 - delta, E_{(x,y)} ell_log(y, f(x) + Delta_y) <= "
        "7 B ln(2/delta)/3 sum_y P(y)/(|S_y| - 1) + sum_y P(y)/|S_y| sum_{x in S_y} ell_log(y, f(x) + Delta_y) + ||w|| "
        "sqrt(ln(2/delta) sum_y P(y)/|S_y| [bar Omega_pull(y) + alpha_y])",
        verdict="holds_with_extra_assumption",
        explanation="Proven only at confidence 1 - 2 delta: the proof applies Lemma 3 to each class 'with probability "
        "at least 1 - delta/2', i.e. with ln(4/delta), then writes ln(2/delta) after the union bound. With ln(4/delta) "
        "in both places (elm.prop2_corrected) every step checks: Lemma 3 per class conditionally on the counts, Jensen "
        "for the P(y)-weighted square roots, Lemma 5 on the empirical distribution (and the n/(n - 1) of the unbiased "
        "variance is absorbed because Prop. 1 gives 2n/(n - 1) tr(Ĉ_y) <= bar Omega_pull(y) + alpha_y - log(n - 1)). "
        "Extra assumptions, implicit in the paper: f is fixed independently of S (so the bound certifies a held-out "
        "split, not the training split), embeddings are bounded (else no finite B for a linear f), |S_y| >= 2. We "
        "have no counterexample: in our simulation (finite-support classes, fixed linear head, 120 samples, delta = "
        "0.2) the printed bound was never violated and averaged ~10x the true risk, because the range term "
        "7B ln(2/delta)/(3(n - 1)) already exceeds the tail of a bounded loss; so we do not call it false, but its "
        "stated confidence is not proven.",
        corrected_by="elm.prop2_corrected",
    ),
    Erratum(
        id="elm.prop2_corrected",
        source="000, Proposition 2, corrected (ours)",
        printed="Proposition 2 with ln(4/delta) in place of ln(2/delta) in both terms",
        verdict="holds",
        explanation="The proof of App. C.2 with the union bound over the two classes accounted for; simulation test "
        "(finite-support class-conditionals, exact population risk, fixed linear head) keeps the violation rate below "
        "delta within a Clopper-Pearson margin.",
    ),
    Erratum(
        id="elm.prop2_multiclass",
        source="000, Proposition 2, multi-class extension (ours; docs/elm_prop2_multiclass.md)",
        printed="(1/C) sum_y R_y <= (1/C) sum_y [L_y + sqrt(2 V_y ln(2C/delta)/n_y) + "
        "7 B_y ln(2C/delta)/(3(n_y - 1))], "
        "V_y = ||W_c||_2^2 (bar Omega_pull(y) + alpha_y - log(n_y - 1))",
        verdict="holds",
        explanation="Maurer-Pontil Theorem 4 per class at delta/C, union bound over the C classes, the multi-class "
        "Lemma 5 (sqrt(2) ||W_c||_2-Lipschitz loss) and Prop. 1; derivation with every constant in "
        "docs/elm_prop2_multiclass.md. Simulation test keeps the violation rate below delta.",
    ),
)

# Entries added by the completeness pass (issue 11, section 2); evidence in tests/test_claims_elm.py.
ENTRIES = ENTRIES + (
    Erratum(
        id="elm.zero_one_loss",
        source="000, Section 2.1 (the zero-one loss after eq. 1)",
        printed="For the zero-one loss l_01(y, f(x)) = I[y in argmax_{y'} f_{y'}(x)], (1) coincides with the notion of "
        "misclassification error.",
        verdict="false_as_printed",
        explanation="The printed indicator is 1 when the prediction is correct, so the risk (1) is the accuracy "
        "(ties counted as correct), not the misclassification error. Stored counterexample: logits [[2, 0], [0, 3]] "
        "with labels [0, 1] are classified perfectly, yet the printed risk is 1. A typo for I[y not in argmax]; the "
        "balanced-error definition of 002 and 003 has the 'not in' (the PDF extraction may have lost the slash "
        "of a printed 'not in'). Corrected statement: elm.zero_one_loss_corrected.",
        counterexample="elm.zero_one_loss.json",
        corrected_by="elm.zero_one_loss_corrected",
    ),
    Erratum(
        id="elm.zero_one_loss_corrected",
        source="000, Section 2.1 (corrected)",
        printed="With l_01(y, f(x)) = I[y not in argmax_{y'} f_{y'}(x)], (1) is the misclassification error (ties "
        "counted as correct).",
        verdict="holds",
        explanation="By definition; property-tested against argmax misclassification on sampled logits (they agree "
        "except on ties, where argmax picks one maximiser) and checked as the complement of the printed indicator.",
    ),
    Erratum(
        id="elm.margin_loss_relaxation",
        source="000, Section 2.2, eq. (3) and the sentence after it",
        printed="l_mar(y, f(x)) = log[1 + sum_{y' != y} e^{Delta_yy' + f_y'(x) - f_y(x)}] can be seen as a soft "
        "approximation to max_{y' != y} [Delta_yy' + f_y'(x) - f_y(x)]_+",
        verdict="holds",
        explanation="With a_y' = Delta_yy' + f_y' - f_y: max(0, max a) <= log(1 + sum e^{a}) <= max(0, max a) + "
        "log L (the sum has L - 1 terms plus the 1, each <= e^{max(0, max a)}). Property-tested for any margin "
        "matrix, logits up to 1e3 and L = 2..8, and on checkpoints with ELM's Delta_yy' = log P(y')/P(y). The 0-1 "
        "'approximation' is tight when the largest gap is far from 0.",
    ),
    Erratum(
        id="elm.center_loss_gaussian",
        source="000, Section 4.2 (the centre loss as a Gaussian log-likelihood)",
        printed="sum_{x in S_y} ||Phi(x) - mu_y||_2^2 = sum_{x in S_y} -log N(Phi(x); mu_y, sigma_y^2 I) + constant",
        verdict="false_as_printed",
        explanation="-log N(z; mu, sigma^2 I) = ||z - mu||^2 / (2 sigma^2) + (K/2) log(2 pi sigma^2), so the two "
        "sides differ by a constant only when 2 sigma_y^2 = 1; otherwise the squared distance must be multiplied by "
        "1/(2 sigma_y^2). Stored counterexample: K = 1, mu = 0, sigma^2 = 1, points 0 and 1: the differences are "
        "-0.919 and -0.419. The conclusion (minimising the centre loss maximises an isotropic Gaussian likelihood "
        "with fixed sigma_y) is unaffected. Corrected statement: elm.center_loss_gaussian_corrected.",
        counterexample="elm.center_loss_gaussian.json",
        corrected_by="elm.center_loss_gaussian_corrected",
    ),
    Erratum(
        id="elm.center_loss_gaussian_corrected",
        source="000, Section 4.2 (corrected)",
        printed="sum_{x in S_y} ||Phi(x) - mu_y||^2 = 2 sigma_y^2 sum_{x in S_y} -log N(Phi(x); mu_y, sigma_y^2 I) - "
        "|S_y| K sigma_y^2 log(2 pi sigma_y^2)",
        verdict="holds",
        explanation="Multiply -log N by 2 sigma^2. Property-tested against scipy.stats.multivariate_normal on sampled "
        "points, dimensions 1..5 and variances 1e-3..1e3, and on checkpoints per class (the spread of the "
        "per-sample difference is at rounding level).",
    ),
    Erratum(
        id="elm.empirical_weighting_limit",
        source="000, Section 4.3, the note after Proposition 2",
        printed="the difference between (1/N) sum_{(x,y) in S} l_log(y, f(x) + Delta_y) and sum_y P(y)/|S_y| "
        "sum_{x in S_y} l_log(y, f(x) + Delta_y) vanishes as N -> infinity",
        verdict="holds",
        explanation="(1/N) sum l = sum_y (|S_y|/N) L_y with L_y the class means, so the difference is "
        "sum_y (|S_y|/N - P(y)) L_y, at most max|l| sum_y ||S_y|/N - P(y)|, which tends to 0 almost surely by the "
        "strong law of large numbers (for a bounded loss, as Proposition 2 assumes: l <= B). Property-tested "
        "(the deterministic inequality on sampled losses, labels and priors) and, on a checkpoint, on growing "
        "random prefixes of the training split.",
    ),
    Erratum(
        id="elm.binary_la_consistency",
        source="000, Section 4.3, the note after Proposition 2",
        printed="[the bound] is consistent for minimising the balanced error where the label distribution is "
        "uniform when Delta_y = log P(y = +1)/P(y = -1) [Menon et al., 2021]",
        verdict="holds",
        explanation="With Delta = log(pi_+/pi_-) for both labels, the conditional risk eta l_log(+1, f + Delta) + "
        "(1 - eta) l_log(-1, f + Delta) is minimised at f + Delta = log(eta/(1 - eta)), so f* = log(eta/(1 - eta)) "
        "- log(pi_+/pi_-) and sign f* = sign(eta/pi_+ - (1 - eta)/pi_-), the balanced Bayes rule. Checked: SymPy "
        "stationarity and convexity, and numeric minimisation over eta and priors (imbalance up to 1000). It is "
        "the binary case of the tutorial's Theorem 1 with delta = pi (tutorial.fisher_consistency).",
    ),
    Erratum(
        id="elm.dro_lt_regulariser",
        source="000, Section 3.2, eq. (5) (ELM's description of DRO-LT)",
        printed="DRO-LT adds Omega_dro(x, y) = log[sum_{(x', y') in S} e^{-||Phi(x') - mu_y||^2 + ||Phi(x) - mu_y||^2 "
        "+ eps_y I(y' != y)}], eps_y proportional to 1/sqrt(P(y))",
        verdict="holds",
        explanation="001's summand of (18) is d(hat mu_c, z) + 2 eps_c + log sum_{z'} e^{-d(hat mu_c, z') - 2 eps_c "
        "delta(z', c)} = log sum_{z'} e^{d(hat mu_c, z) - d(hat mu_c, z') + 2 eps_c (1 - delta(z', c))}: exactly "
        "(5) with d the squared Euclidean distance (DRO-LT's practice) and eps_y = 2 eps_c (checked to 1e-12 on "
        "sampled embeddings and on checkpoints). eps_y ~ 1/sqrt(P(y)) is DRO-LT's 'eps/sqrt(n)' radius (n_y = N "
        "P(y)); DRO-LT also has a shared and a learned radius. That (5) pushes a sample away from its own class's "
        "samples too (remark (i)) is visible in the sum over all of S. The upper-bound claim behind (5) is "
        "drolt.robust_loss (false as printed).",
    ),
)

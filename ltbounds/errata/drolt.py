"""Errata for seed 001 (DRO-LT, Samuel and Chechik 2021): one entry per statement id of ``ltbounds.bounds.drolt``."""

from __future__ import annotations

from ltbounds.errata.entry import Erratum

ENTRIES = (
    Erratum(
        id="drolt.kl_radius",
        source="001, eq. (10) (Section 5.3)",
        printed="D_KL(q || hat p_c) = d(mu_q, mu_hat p_c)^2 / (2 sigma^2) for same-variance spherical Gaussians, hence "
        "d(mu_q, mu_hat p_c) <= sigma_c sqrt(2 eps_c) for q in U_c",
        verdict="holds",
        explanation="The KL divergence between N(mu_1, sigma^2 I) and N(mu_2, sigma^2 I) is ||mu_1 - mu_2||^2 / "
        "(2 sigma^2) (the trace and log-determinant terms cancel), checked against the general Gaussian KL formula "
        "and by Monte Carlo. Two notational slips that do not change the result: Theorem 1 calls sigma_c 'the "
        "variance' while (10) needs the standard deviation (we read it so), and (10) reuses the symbol eps_c for the "
        "radius sigma_c sqrt(2 eps_c).",
    ),
    Erratum(
        id="drolt.thm1",
        source="001, Theorem 1 (eqs. 11, 16-17)",
        printed="with probability p(eps), -log P(z | mu_c) <= -log [e^{-d(hat mu_c, z) - 2 eps_c} / sum_{z' in Z} "
        "e^{-d(hat mu_c, z') - 2 eps_c delta(z', c)}], delta(z', c) = 1 iff z' is of class c; d Euclidean (and, as "
        "used in practice, squared Euclidean)",
        verdict="false_as_printed",
        explanation="The triangle inequality (15) gives e^{-d(mu_q, z')} <= e^{-d(hat mu_c, z') + eps_c} for every z', "
        "same class included; the printed denominator instead lowers the same-class terms by e^{-2 eps_c}, which no "
        "step justifies. Counterexample for d Euclidean (stored): Z = {-1, +1}, both of class c, hat mu_c = 0, true "
        "mu_c = 1, eps_c = 1: -log P(z=-1 | mu_c) = 2.127 > printed bound log 2 = 0.693. For d squared Euclidean the "
        "triangle inequality itself fails (||a + b||^2 can exceed ||a||^2 + ||b||^2); read literally (eps_c = squared "
        "radius) the same data give 4.018 > 0.693. On synthetic Gaussian classes (5 classes, 8 dimensions, counts "
        "200..3, the test-split centroid standing in for the true one) the printed Euclidean form failed for 35% of "
        "the training samples (evaluator term fraction_of_samples_violated). Corrected (drolt.thm1_corrected): "
        "Euclidean, d(hat mu_c, z) + 2 r_c + log sum_{z'} "
        "e^{-d(hat mu_c, z')} (what (14)-(15) prove); squared Euclidean, (D_z + r_c)^2 + log sum_{z'} e^{-[D_z' - "
        "r_c]_+^2} with D the Euclidean distance to hat mu_c. 'With probability p(eps)' is made explicit by a "
        "McDiarmid radius r_c = R (1 + sqrt(2 ln(C/delta)))/sqrt(n_c) for ||z|| <= R.",
        counterexample="drolt.thm1.json",
        corrected_by="drolt.thm1_corrected",
    ),
    Erratum(
        id="drolt.thm1_corrected",
        source="001, Theorem 1, corrected (ours)",
        printed="for ||mu_c - hat mu_c|| <= r_c: -log P(z | mu_c) <= d(hat mu_c, z) + 2 r_c + log sum_{z'} "
        "e^{-d(hat mu_c, z')} (d Euclidean); <= (D_z + r_c)^2 + log sum_{z'} e^{-[D_z' - r_c]_+^2} (d squared)",
        verdict="holds",
        explanation="Numerator and every denominator term bounded by the triangle inequality on the Euclidean "
        "distance (squared after the monotone bounds for the squared metric). Property-tested over random embeddings, "
        "centroids and true centroids anywhere in the ball, including ties and duplicates.",
    ),
)

# Entries added by the completeness pass (issue 11, section 2); evidence in tests/test_claims_drolt.py.
ENTRIES = ENTRIES + (
    Erratum(
        id="drolt.robust_loss",
        source="001, eq. (18) with Sec. 3 ('we derive an upper bound of that loss') and eq. (1)",
        printed="L_Robust = -sum_c w(c) sum_{z in S_c} log [e^{-d(hat mu_c, z) - 2 eps_c} / sum_{z' in Z} "
        "e^{-d(hat mu_c, z') - 2 eps_c delta(z', c)}] is an upper bound of the NLL loss (8) (with probability p(eps))",
        verdict="false_as_printed",
        explanation="L_Robust sums Theorem 1's printed per-sample bound with the weights of (8), so it inherits "
        "Theorem 1's error (the same-class denominator terms are lowered by e^{-2 eps_c}, which no step justifies). "
        "Stored counterexample: Z = {-1, +1}, both of class c, w(c) = 1/2, hat mu_c = 0, true mu_c = 1, eps_c = 1 "
        "(the true centroid is in the ball): L_NLL (8) = 1.127 > L_Robust = log 2 = 0.693 for d Euclidean, 2.018 > "
        "0.693 for d squared. Summing the corrected per-sample bound (drolt.thm1_corrected) gives an upper bound: "
        "drolt.robust_loss_corrected.",
        counterexample="drolt.robust_loss.json",
        corrected_by="drolt.robust_loss_corrected",
    ),
    Erratum(
        id="drolt.robust_loss_corrected",
        source="001, eq. (18), corrected (ours)",
        printed="if ||mu_c - hat mu_c|| <= r_c for every class: sum_c w(c) sum_{z in S_c} B_c(z) >= L_NLL (8), B_c the "
        "corrected Theorem 1 bound (Euclidean: d(hat mu_c, z) + 2 r_c + log sum_{z'} e^{-d(hat mu_c, z')}; squared: "
        "(D_z + r_c)^2 + log sum_{z'} e^{-[D_z' - r_c]_+^2}), for any weights w(c) >= 0",
        verdict="holds",
        explanation="A non-negative weighted sum of per-sample inequalities (drolt.thm1_corrected). Property-tested on "
        "random embeddings, labels, weights and true centroids anywhere in the balls, both metrics. 'With probability "
        "p(eps)' becomes explicit with the McDiarmid radius of drolt.thm1_corrected.",
    ),
    Erratum(
        id="drolt.standard_error",
        source="001, Sec. 6, radius variant 2 ('the standard-error-of-the-mean decays as sqrt(n)')",
        printed="The class radius scales with 1/sqrt(n) ... based on the fact that the standard-error-of-the-mean "
        "decays as sqrt(n), and leads to tail classes having a larger safety radius.",
        verdict="false_as_printed",
        explanation="The standard error of the mean of n iid draws with covariance Sigma is sqrt(tr Sigma / n): it "
        "decays like 1/sqrt(n), i.e. n^{-1/2}; 'decays as sqrt(n)' read literally is a quantity proportional to "
        "sqrt(n), which grows. Stored counterexample: sigma = 1, n = 1, 4, 16 give standard errors 1, 0.5, 0.25 "
        "where the literal reading gives 1, 2, 4. The slip does not affect the method: the radius eps/sqrt(n) the "
        "paper uses is the correct rate, and the conclusion (tail classes get a larger radius) follows from it. "
        "Corrected statement: drolt.standard_error_corrected.",
        counterexample="drolt.standard_error.json",
        corrected_by="drolt.standard_error_corrected",
    ),
    Erratum(
        id="drolt.standard_error_corrected",
        source="001, Sec. 6, radius variant 2 (corrected)",
        printed="For n iid vectors with mean mu and covariance Sigma, E ||mean - mu||^2 = tr Sigma / n: the standard "
        "error decays like 1/sqrt(n), so the radius eps/sqrt(n_c) is larger for tail classes.",
        verdict="holds",
        explanation="Var of a sum of independent vectors is the sum of the variances; checked exactly by enumerating "
        "every n-tuple of draws from small discrete distributions (n <= 5) and by the SymPy expectation of the "
        "squared error. On a checkpoint the evaluator compares the distance between the train and held-out "
        "centroids with its root-mean-square under independence (a diagnostic: training embeddings are fitted, not "
        "independent draws).",
    ),
)

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

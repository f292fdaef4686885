"""Errata for seed 002 (Yao, tutorial slides *Trustworthy Machine Learning on Imbalance Data*).

One entry per statement id of ``ltbounds.bounds.tutorial``. The evidence for each verdict is in
tests/test_bounds_tutorial.py (property and SymPy tests) and tests/test_errata_tutorial.py (the
stored counterexample re-evaluated against the printed form).
"""

from __future__ import annotations

from ltbounds.errata.entry import Erratum

ENTRIES = (
    Erratum(
        id="tutorial.fisher_consistency",
        source="002, slide 'statistical consistency of long-tailed multi-class classification', Theorem 1",
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
    ),
    Erratum(
        id="tutorial.threshold_moving",
        source="002, slide 'Threshold-Moving' (moving function and the logit-adjustment remark)",
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
    ),
    Erratum(
        id="tutorial.ldam_optimal_margins",
        source="002, slide 'Class-wise margin calibration' (Cao et al. 2019)",
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
    ),
    Erratum(
        id="tutorial.effective_number",
        source="002, slide 'loss re-weighting by effective number' (Cui et al. 2019) and 'Class-Balanced Loss'",
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
    ),
    Erratum(
        id="tutorial.etf",
        source="002, slides 'Simplex Equiangular Tight Frame' and 'Dot-Regression Loss' (Yang et al. 2022)",
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
    ),
    Erratum(
        id="tutorial.etf_corrected",
        source="002, slides 'Simplex Equiangular Tight Frame' and 'Dot-Regression Loss' (corrected)",
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
    ),
)

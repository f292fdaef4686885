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

# Entries added by the completeness pass (issue 11, section 2); evidence in tests/test_claims_tutorial.py.
ENTRIES = ENTRIES + (
    Erratum(
        id="tutorial.risk_decomposition",
        source="002, slide 'How Imbalance Data Matters: a direct decomposition on the risk minimization'",
        printed="min_f R(f) = E_{P(x,y)}[l(f(x), y)] = sum_{k=1}^K P(y=k) E_{P(x|y=k)}[l(f(x), y)]",
        verdict="holds",
        explanation=(
            "The law of total expectation over the label. Checked exactly on finite joint distributions and, on "
            "a checkpoint, on the empirical distribution of a split (mean CE = sum_k pi^_k x class-mean CE up to "
            "rounding). The slide's reading (minority classes weigh little in the training risk) follows from "
            "the weights P(y=k)."
        ),
    ),
    Erratum(
        id="tutorial.plugin_am_consistency",
        source="002, slide 'On Statistical Consistency of Binary Classification with Balanced Accuracy', Theorem 3 "
        "(Menon et al. 2013) and Algorithm 1 (plug-in with empirical threshold)",
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
    ),
    Erratum(
        id="tutorial.la_loss_two_forms",
        source="002, slide 'The logit adjusted softmax cross-entropy'",
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
    ),
    Erratum(
        id="tutorial.reweighting_vs_logit_adjustment",
        source="002, slide 'The logit adjusted softmax cross-entropy' (the remark with the '⇎' sign)",
        printed="w_1^T Phi(x)/pi_1 < w_2^T Phi(x)/pi_2 is not equivalent to exp(w_1^T Phi(x))/pi_1 < "
        "exp(w_2^T Phi(x))/pi_2",
        verdict="holds",
        explanation=(
            "An existential claim (the two decision rules differ somewhere): with logits (-1, -0.5) and priors "
            "(0.9, 0.1), -1/0.9 < -0.5/0.1 is false while e^{-1}/0.9 < e^{-0.5}/0.1 is true (a test). They agree "
            "whenever pi_1 = pi_2 (both compare the logits). "
            "The point of the remark, after Menon et al. (2021): dividing logits (or weight norms) by the prior is "
            "not post-hoc logit adjustment, which divides the exponentiated scores."
        ),
    ),
    Erratum(
        id="tutorial.ldam_relaxation",
        source="002, slide 'LDAM' ('the smooth relaxation of the hinge loss is the following cross-entropy loss')",
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
    ),
    Erratum(
        id="tutorial.rwsam_perturbation",
        source="002, slide 'rwSAM: Reweighted Sharpness Aware Minimization'",
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
        corrected_by="tutorial.rwsam_perturbation_corrected",
    ),
    Erratum(
        id="tutorial.rwsam_perturbation_corrected",
        source="002, slide 'rwSAM' (corrected: closed ball)",
        printed="For g != 0: argmax_{||eps|| <= rho} eps^T g = {rho g / ||g||}, with value rho ||g|| (Cauchy-Schwarz).",
        verdict="holds",
        explanation=(
            "eps^T g <= ||eps|| ||g|| <= rho ||g||, with equality iff eps = rho g/||g|| (Cauchy-Schwarz equality "
            "case). Property-tested: sampled points of the closed ball never exceed rho ||g||, the maximiser "
            "attains it, and gradients up to 1e6 and tiny ones keep ||eps*|| = rho."
        ),
    ),
    Erratum(
        id="tutorial.ltssl_refinement",
        source="002, slide 'Long-tailed Semi-Supervised Learning', problem (1) and Algorithm 1 (DualCoordinateAscent)",
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
    ),
    Erratum(
        id="tutorial.ltssl_refinement_corrected",
        source="002, slide 'Long-tailed Semi-Supervised Learning' (corrected: the limit of Algorithm 1)",
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
    ),
    Erratum(
        id="tutorial.records_prop1",
        source="002, slide 'RECORDS: Rebalancing for dynamic bias', Proposition 1",
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
    ),
    Erratum(
        id="tutorial.ts_schedule",
        source="002, slide 'TS: Temperature Schedules for contrastive learning'",
        printed="tau_cos(t) = (tau_+ - tau_-) x (1 + cos(2 pi t/T))/2 + tau_- alternates between an upper tau and a "
        "lower tau bound at a fixed period length",
        verdict="holds",
        explanation=(
            "(1 + cos)/2 ranges over [0, 1], so tau_cos ranges over [tau_-, tau_+], with tau_cos(0) = tau_+, "
            "tau_cos(T/2) = tau_-, period T. Property-tested for sampled t, T and 0 < tau_- <= tau_+. The slide's "
            "observations on large vs small tau (group-wise vs instance discrimination) are empirical."
        ),
    ),
    Erratum(
        id="tutorial.bcl_memorization_range",
        source="002, slide 'BCL: Boosted Contrastive Learning' (L^m_{i,t}, M_{i,t} and the augmentation rule u < M_i)",
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
    ),
    Erratum(
        id="tutorial.gh_uniform_structure",
        source="002, slide 'GH: Geometric Harmonization', Geometric Uniform Structure (Definition 3.1)",
        printed="M_i^T M_j = C for all i != j in {1..K}: any two vectors in M have the same angle, namely the unit "
        "space is equally partitioned by the vectors",
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
    ),
    Erratum(
        id="tutorial.gh_uniform_structure_corrected",
        source="002, slide 'GH: Geometric Harmonization', Definition 3.1 (corrected)",
        printed="K >= 2 unit vectors with pairwise inner product C exist iff -1/(K - 1) <= C <= 1.",
        verdict="holds",
        explanation=(
            "The Gram of unit vectors with pairwise inner product C is (1 - C) I + C 11^T; a matrix is a Gram "
            "matrix iff it is PSD, i.e. iff 1 - C >= 0 and 1 + (K - 1) C >= 0. Tested: the construction from the "
            "eigen-decomposition reproduces the Gram for C in the range (both ends included) and the smallest "
            "eigenvalue is negative below -1/(K - 1)."
        ),
    ),
    Erratum(
        id="tutorial.gh_theorem34",
        source="002, slide 'GH: Geometric Harmonization', Theorem 3.4 (Optimal state for L, eq. 5)",
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
    ),
)

"""Property tests for ltbounds.losses: the identities between the losses of the seeds, stability at
1e4-sized logits, the chunked ELM pull, DRO-LT, the registry and its schedules, and input errors."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import minimize

from ltbounds import losses
from ltbounds import strategies as lts
from ltbounds.checks import InputError


def priors_of(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    return counts / counts.sum()


def t64(values) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values), dtype=torch.float64)


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-9, atol: float = 1e-9) -> bool:
    return bool(torch.allclose(a.to(torch.float64), b.to(torch.float64), rtol=rtol, atol=atol))


# Moderate logits for identities that compare two float64 computations of the same quantity.
moderate_cases = lts.loss_inputs(max_classes=6, max_batch=12, max_magnitude=50.0)
FEW = settings(max_examples=25)


# ---------------------------------------------------------------- weights


@given(lts.class_counts(), st.floats(0.0, 0.99999))
def test_class_balanced_weights_sum_to_num_classes_and_decrease_with_count(counts, beta):
    weights = losses.class_balanced_weights(counts, beta)
    assert np.isclose(weights.sum(), counts.shape[0])
    order = np.argsort(counts, kind="stable")
    assert np.all(np.diff(weights[order]) <= 1e-12 * weights.max())


@given(lts.class_counts())
def test_class_balanced_weights_interpolate_between_uniform_and_inverse_frequency(counts):
    assert np.allclose(losses.class_balanced_weights(counts, 0.0), 1.0)
    near_one = losses.class_balanced_weights(counts, 1.0 - 1e-10)
    assert np.allclose(near_one, losses.inverse_frequency_weights(counts), rtol=1e-4)


@given(lts.class_counts())
def test_effective_number_matches_printed_formula(counts):
    beta = 0.999
    expected = (1.0 - beta ** counts.astype(np.float64)) / (1.0 - beta)
    assert np.allclose(losses.effective_number(counts, beta), expected, rtol=1e-10)


@given(lts.class_counts())
def test_adrw_weights_with_nu_one_are_inverse_frequency_and_sum_to_c(counts):
    assert np.allclose(losses.adrw_weights(counts, 1.0), losses.inverse_frequency_weights(counts))
    weights = losses.adrw_weights(counts, 0.5)
    assert np.isclose(weights.sum(), counts.shape[0])
    assert np.allclose(weights / weights[0], np.sqrt(counts[0] / counts))


@given(lts.class_counts(), st.integers(0, 300), st.integers(0, 300))
def test_deferred_schedules_switch_on_exactly_at_reweight_epoch(counts, epoch, switch):
    for scheme, switched in (
        ("drw", losses.class_balanced_weights(counts, 0.9999)),
        ("adrw", losses.adrw_weights(counts, 0.5)),
    ):
        weights = losses.reweighting_weights(counts, scheme, epoch, reweight_epoch=switch)
        assert np.allclose(weights, switched if epoch >= switch else 1.0)


@given(lts.class_counts(), st.floats(0.01, 2.0))
def test_ldam_margins_are_proportional_to_count_to_minus_quarter_with_largest_max_margin(counts, max_margin):
    margins = losses.ldam_margins(counts, max_margin)
    assert np.isclose(margins.max(), max_margin)
    assert np.isclose(margins[np.argmin(counts)], max_margin)
    assert np.allclose(margins * counts.astype(np.float64) ** 0.25, margins[0] * counts[0] ** 0.25)


def test_elm_alpha_reproduces_the_appendix_settings():
    counts = np.array([5000, 500, 50])
    prior = priors_of(counts)
    assert np.allclose(losses.elm_alpha(counts), counts)  # alpha_y = n_y, App. A.2's all-round choice
    assert np.allclose(losses.elm_alpha(counts, 1.0, 1.0, "prior"), prior)  # CIFAR10-LT
    assert np.allclose(losses.elm_alpha(counts, 0.5), np.sqrt(counts))  # CIFAR100-LT, iNaturalist
    assert np.allclose(losses.elm_alpha(counts, 0.5, 10.0, "prior"), 10 * np.sqrt(prior))  # ImageNet-LT


# ---------------------------------------------------------------- identities of the VS family


@given(moderate_cases)
def test_vs_with_unit_params_is_cross_entropy(case):
    expected = F.cross_entropy(case.logits, case.labels, reduction="none")
    ones = torch.ones(case.logits.shape[1], dtype=torch.float64)
    zeros = torch.zeros_like(ones)
    assert close(losses.vector_scaling_loss(case.logits, case.labels, ones, ones, zeros, reduction="none"), expected)
    assert close(losses.cross_entropy(case.logits, case.labels, reduction="none"), expected)


@given(moderate_cases)
def test_vs_with_inverse_prior_weights_is_the_balanced_loss(case):
    prior = t64(priors_of(case.class_counts))
    balanced = F.cross_entropy(case.logits, case.labels, reduction="none") / prior[case.labels]
    assert close(losses.vector_scaling_loss(case.logits, case.labels, alpha=1.0 / prior, reduction="none"), balanced)


@given(moderate_cases, st.floats(0.0, 0.99999))
def test_vs_with_class_balanced_weights_is_the_class_balanced_loss(case, beta):
    alpha = losses.class_balanced_weights(case.class_counts, beta)
    vs = losses.vector_scaling_loss(case.logits, case.labels, alpha=alpha, reduction="none")
    cb = losses.class_balanced_loss(case.logits, case.labels, case.class_counts, beta, "softmax", reduction="none")
    assert close(vs, cb)
    # the CB loss is (1 - beta)/(1 - beta^n_y) CE up to the normalisation constant (weights sum to C)
    raw = (
        (1 - beta) / (1 - beta ** case.class_counts.astype(np.float64)) if beta > 0 else np.ones(len(case.class_counts))
    )
    ratio = cb / (t64(raw)[case.labels] * F.cross_entropy(case.logits, case.labels, reduction="none"))
    finite = torch.isfinite(ratio)
    assert close(ratio[finite], torch.full_like(ratio[finite], len(raw) / raw.sum()), rtol=1e-8)


@given(moderate_cases, st.floats(0.0, 3.0))
def test_vs_with_log_prior_offsets_is_logit_adjustment(case, tau):
    delta = tau * t64(np.log(priors_of(case.class_counts)))
    vs = losses.vector_scaling_loss(case.logits, case.labels, delta=delta, reduction="none")
    la = losses.logit_adjusted_loss(case.logits, case.labels, case.class_counts, tau, reduction="none")
    assert close(vs, la)
    # printed second form: log[1 + sum_{y' != y} (pi_y'/pi_y)^tau e^{f_y' - f_y}]
    prior = t64(priors_of(case.class_counts))
    ratio = (prior[None, :] / prior[case.labels][:, None]) ** tau
    diff = case.logits - case.logits.gather(1, case.labels[:, None])
    terms = torch.log(ratio) + diff
    terms = terms.scatter(1, case.labels[:, None], float("-inf"))
    printed = torch.logaddexp(torch.zeros(len(case.labels), dtype=torch.float64), torch.logsumexp(terms, dim=1))
    assert close(la, printed, rtol=1e-8, atol=1e-8)


@given(moderate_cases, st.floats(0.0, 1.0))
def test_vs_with_count_ratio_scales_is_cdt(case, gamma):
    counts = case.class_counts.astype(np.float64)
    beta = (counts / counts.max()) ** gamma
    cdt = losses.cdt_loss(case.logits, case.labels, case.class_counts, gamma, reduction="none")
    assert close(losses.vector_scaling_loss(case.logits, case.labels, beta=beta, reduction="none"), cdt)
    # Kini et al.'s code form: logits divided by Delta_y = (n_max / n_y)^gamma
    kini = F.cross_entropy(case.logits / t64((counts.max() / counts) ** gamma), case.labels, reduction="none")
    assert close(cdt, kini, rtol=1e-8, atol=1e-8)


@given(moderate_cases, st.floats(0.0, 1.0), st.floats(0.0, 3.0))
def test_vs_module_parameters_are_kini_gamma_and_tau(case, gamma, tau):
    module = losses.REGISTRY["vs"](case.class_counts, gamma=gamma, tau=tau)
    beta, delta = losses.vs_scales_and_offsets(case.class_counts, gamma, tau)
    expected = losses.vector_scaling_loss(case.logits, case.labels, beta=beta, delta=delta)
    assert close(module(case.logits, case.labels), expected)


@given(moderate_cases, st.floats(0.0, 3.0))
def test_margin_loss_with_log_prior_ratio_equals_logit_adjustment_equals_balanced_softmax(case, tau):
    margins = losses.logit_adjusted_margins(case.class_counts, 1.0)
    mar = losses.margin_loss(case.logits, case.labels, margins, reduction="none")
    la = losses.logit_adjusted_loss(case.logits, case.labels, case.class_counts, 1.0, reduction="none")
    bs = losses.balanced_softmax_loss(case.logits, case.labels, case.class_counts, reduction="none")
    assert close(mar, la, rtol=1e-9, atol=1e-9) and close(la, bs, rtol=1e-9, atol=1e-9)
    tau_margins = losses.logit_adjusted_margins(case.class_counts, tau)
    assert close(
        losses.margin_loss(case.logits, case.labels, tau_margins, reduction="none"),
        losses.logit_adjusted_loss(case.logits, case.labels, case.class_counts, tau, reduction="none"),
    )


@given(moderate_cases, st.floats(0.05, 1.0), st.floats(1.0, 64.0))
def test_ldam_equals_margin_loss_with_row_constant_margins(case, max_margin, scale):
    margins = losses.ldam_margins(case.class_counts, max_margin)
    cosine = torch.tanh(case.logits)  # cosine logits live in [-1, 1]
    ldam = losses.ldam_loss(cosine, case.labels, margins, scale, reduction="none")
    matrix = np.repeat((scale * margins)[:, None], len(margins), axis=1)  # Delta_yy' = s Delta_y
    assert close(ldam, losses.margin_loss(scale * cosine, case.labels, matrix, reduction="none"), 1e-9, 1e-9)
    # printed form: -log e^{z_y - D_y} / (e^{z_y - D_y} + sum_{j != y} e^{z_j}), after scaling by s
    shifted = scale * (cosine - F.one_hot(case.labels, len(margins)) * t64(margins)[case.labels][:, None])
    assert close(ldam, F.cross_entropy(shifted, case.labels, reduction="none"), 1e-9, 1e-9)


@given(lts.loss_inputs(max_magnitude=30.0), st.floats(0.0, 2.0))
def test_threshold_moving_with_inverse_prior_costs_has_the_argmax_of_posthoc_logit_adjustment(case, tau):
    costs = losses.threshold_moving_costs(case.class_counts, tau)
    moved = losses.threshold_moving_predict(case.logits, costs)
    posthoc = losses.posthoc_logit_adjusted_predict(case.logits, case.class_counts, tau)
    adjusted = case.logits - tau * t64(np.log(priors_of(case.class_counts)))
    top2 = torch.topk(adjusted, 2, dim=1).values
    clear = (top2[:, 0] - top2[:, 1]) > 1e-9  # exact ties resolve identically anyway; rounding can split near-ties
    assert torch.equal(moved[clear], posthoc[clear])
    full_matrix = np.diag(costs) + 0.0  # a cost matrix whose row sums are the costs gives the same rule
    assert torch.equal(losses.threshold_moving_predict(case.logits, full_matrix), moved)


@given(moderate_cases, hnp.arrays(np.float64, 8, elements=st.floats(0.05, 20.0)))
def test_fisher_family_is_vs_with_delta_over_prior_weights_and_log_delta_offsets(case, delta_pool):
    delta = delta_pool[: case.logits.shape[1]]
    assume(delta.shape[0] == case.logits.shape[1])
    prior = priors_of(case.class_counts)
    fisher = losses.fisher_loss(case.logits, case.labels, case.class_counts, delta, reduction="none")
    vs = losses.vector_scaling_loss(
        case.logits, case.labels, alpha=delta / prior, delta=np.log(delta), reduction="none"
    )
    assert close(fisher, vs, rtol=1e-9, atol=1e-9)
    # delta = pi is logit adjustment (tau = 1); delta = 1 is the balanced loss
    assert close(
        losses.fisher_loss(case.logits, case.labels, case.class_counts, delta_power=1.0, reduction="none"),
        losses.logit_adjusted_loss(case.logits, case.labels, case.class_counts, 1.0, reduction="none"),
    )
    assert close(
        losses.fisher_loss(case.logits, case.labels, case.class_counts, delta_power=0.0, reduction="none"),
        losses.vector_scaling_loss(case.logits, case.labels, alpha=1.0 / prior, reduction="none"),
    )


def _fisher_conditional_risk(scores_tail, eta, prior, delta):
    scores = np.concatenate([[0.0], scores_tail])  # the risk is shift invariant: pin f_0 = 0
    shifted = scores + np.log(delta)
    top = shifted.max()
    lse = top + np.log(np.exp(shifted - top).sum())
    weight = eta * delta / prior
    risk = float(np.sum(weight * (lse - shifted)))
    softmax = np.exp(shifted - lse)
    gradient = weight.sum() * softmax - weight
    return risk, gradient[1:]


@settings(max_examples=40)
@given(
    lts.class_counts(max_classes=6),
    hnp.arrays(np.float64, 6, elements=st.floats(0.02, 1.0)),
    hnp.arrays(np.float64, 6, elements=st.floats(0.1, 10.0)),
)
def test_fisher_family_conditional_risk_minimiser_predicts_argmax_eta_over_pi(counts, eta_raw, delta_raw):
    classes = counts.shape[0]
    eta = eta_raw[:classes] / eta_raw[:classes].sum()
    delta = delta_raw[:classes]
    prior = priors_of(counts)
    result = minimize(
        _fisher_conditional_risk,
        np.zeros(classes - 1),
        args=(eta, prior, delta),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-11, "maxiter": 1000},
    )
    scores = np.concatenate([[0.0], result.x])
    target = np.log(eta / prior)
    assert np.allclose(scores - scores[0], target - target[0], atol=1e-4)
    balanced = eta / prior
    ranked = np.sort(balanced)
    if ranked[-1] - ranked[-2] > 1e-3 * ranked[-1]:
        assert int(np.argmax(scores)) == int(np.argmax(balanced))


@functools.lru_cache(maxsize=1)
def _two_class_fisher_minimiser():
    # eta_k = P(y = k | x) and pi_k = P(y = k) as separate positive symbols (no branch cuts from 1 - eta).
    eta0, eta1, pi0, pi1, d0, d1 = sp.symbols("eta0 eta1 pi0 pi1 delta0 delta1", positive=True)
    t = sp.symbols("t", real=True)  # t = f_1 - f_0
    risk = eta0 * (d0 / pi0) * sp.log(1 + (d1 / d0) * sp.exp(t)) + eta1 * (d1 / pi1) * sp.log(
        1 + (d0 / d1) * sp.exp(-t)
    )
    solutions = sp.solve(sp.diff(risk, t), t)
    return (eta0, eta1, pi0, pi1, d0, d1, t), risk, solutions


def test_fisher_family_two_class_minimiser_is_log_ratio_of_eta_over_pi_symbolically():
    (eta0, eta1, pi0, pi1, d0, d1, t), risk, solutions = _two_class_fisher_minimiser()
    assert len(solutions) == 1
    t_star = solutions[0]
    # f_1 - f_0 = log[(eta_1/pi_1) / (eta_0/pi_0)]: class 1 is predicted iff eta_1/pi_1 > eta_0/pi_0,
    # for every delta > 0 (Fisher consistency for the balanced error, 002 Theorem 1 / 003 eq. 4).
    expected = sp.log((eta1 / pi1) / (eta0 / pi0))
    assert sp.simplify(sp.expand_log(t_star - expected, force=True)) == 0
    assert sp.simplify(sp.diff(risk, t).subs(t, t_star)) == 0
    second = sp.diff(risk, t, 2)
    # strictly convex in t: both terms of the second derivative are positive for positive symbols
    assert sp.simplify(second).is_positive in (True, None)
    values = {
        eta0: sp.Rational(3, 10),
        eta1: sp.Rational(7, 10),
        pi0: sp.Rational(9, 10),
        pi1: sp.Rational(1, 10),
        d0: sp.Rational(1, 7),
        d1: 3,
    }
    for point in (-5, 0, 5):
        assert float(second.subs(values).subs(t, point)) > 0


@functools.lru_cache(maxsize=1)
def _vs_gradient_identity_holds_symbolically() -> bool:
    classes = 3
    f = sp.symbols(f"f0:{classes}", real=True)
    b = sp.symbols(f"b0:{classes}", positive=True)
    d = sp.symbols(f"d0:{classes}", real=True)
    a = sp.symbols("a", positive=True)
    z = [b[j] * f[j] + d[j] for j in range(classes)]
    partition = sum(sp.exp(zj) for zj in z)
    for y in range(classes):
        loss = -a * sp.log(sp.exp(z[y]) / partition)
        for j in range(classes):
            closed = a * b[j] * (sp.exp(z[j]) / partition - (1 if j == y else 0))
            if sp.simplify(sp.diff(loss, f[j]) - closed) != 0:
                return False
    return True


def test_vs_gradient_closed_form_is_derived_by_sympy():
    assert _vs_gradient_identity_holds_symbolically()


@given(lts.loss_inputs(max_magnitude=1e4), st.data())
def test_vs_autograd_gradient_matches_closed_form_alpha_y_beta_j_p_j_minus_indicator(case, data):
    classes = case.logits.shape[1]
    alpha = t64(data.draw(hnp.arrays(np.float64, classes, elements=st.floats(0.1, 10.0))))
    beta = t64(data.draw(hnp.arrays(np.float64, classes, elements=st.floats(0.1, 2.0))))
    delta = t64(data.draw(hnp.arrays(np.float64, classes, elements=st.floats(-7.0, 0.0))))
    logits = case.logits.clone().requires_grad_(True)
    losses.vector_scaling_loss(logits, case.labels, alpha, beta, delta, reduction="sum").backward()
    p = torch.softmax(case.logits * beta + delta, dim=1)
    closed = alpha[case.labels][:, None] * beta[None, :] * (p - F.one_hot(case.labels, classes))
    assert torch.isfinite(logits.grad).all()
    assert close(logits.grad, closed, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- stability at 1e4 logits


def _all_logit_losses(logits, labels, counts):
    margins = losses.logit_adjusted_margins(counts, 1.0)
    return {
        "ce": losses.cross_entropy(logits, labels, reduction="none"),
        "reweight": losses.cross_entropy(logits, labels, losses.inverse_frequency_weights(counts), "none"),
        "focal": losses.focal_loss(logits, labels, 2.0, reduction="none"),
        "focal_half": losses.focal_loss(logits, labels, 0.5, reduction="none"),
        "cb_softmax": losses.class_balanced_loss(logits, labels, counts, 0.9999, "softmax", reduction="none"),
        "cb_sigmoid": losses.class_balanced_loss(logits, labels, counts, 0.9999, "sigmoid", reduction="none"),
        "cb_focal": losses.class_balanced_loss(logits, labels, counts, 0.9999, "focal", 2.0, reduction="none"),
        "margin": losses.margin_loss(logits, labels, margins, reduction="none"),
        "equalization": losses.margin_loss(logits, labels, losses.equalization_margins(counts), reduction="none"),
        "ldam": losses.ldam_loss(logits, labels, losses.ldam_margins(counts), 30.0, reduction="none"),
        "la": losses.logit_adjusted_loss(logits, labels, counts, 1.0, reduction="none"),
        "balanced_softmax": losses.balanced_softmax_loss(logits, labels, counts, reduction="none"),
        "cdt": losses.cdt_loss(logits, labels, counts, 0.3, reduction="none"),
        "vs": losses.vector_scaling_loss(logits, labels, None, *losses.vs_scales_and_offsets(counts), reduction="none"),
        "fisher": losses.fisher_loss(logits, labels, counts, reduction="none"),
    }


@settings(max_examples=40)
@given(lts.loss_inputs(max_magnitude=1e4))
def test_every_logit_loss_is_finite_and_float32_agrees_with_float64_at_1e4_logits(case):
    logits32 = case.logits.to(torch.float32).requires_grad_(True)
    logits64 = logits32.detach().to(torch.float64).requires_grad_(True)  # the same inputs, exactly
    out32 = _all_logit_losses(logits32, case.labels, case.class_counts)
    out64 = _all_logit_losses(logits64, case.labels, case.class_counts)
    # float32 carries ~6e-8 relative error on every logit-sized intermediate (x30 for LDAM's scale s)
    largest = float(case.logits.abs().max()) + 1.0
    for name in out32:
        assert torch.isfinite(out32[name]).all() and torch.isfinite(out64[name]).all(), name
        tolerance = 1e-6 * largest * (30.0 if name == "ldam" else 1.0) + 1e-6 * out64[name].abs()
        assert bool(((out32[name].double() - out64[name]).abs() <= tolerance).all()), name
        grad32 = torch.autograd.grad(out32[name].sum(), logits32, retain_graph=True)[0]
        grad64 = torch.autograd.grad(out64[name].sum(), logits64, retain_graph=True)[0]
        assert torch.isfinite(grad32).all() and torch.isfinite(grad64).all(), name


@given(moderate_cases)
def test_focal_with_gamma_zero_is_cross_entropy_and_cb_sigmoid_is_cb_focal_with_gamma_zero(case):
    assert close(
        losses.focal_loss(case.logits, case.labels, 0.0, reduction="none"),
        losses.cross_entropy(case.logits, case.labels, reduction="none"),
    )
    sigmoid = losses.class_balanced_loss(case.logits, case.labels, case.class_counts, 0.99, "sigmoid", reduction="none")
    focal0 = losses.class_balanced_loss(
        case.logits, case.labels, case.class_counts, 0.99, "focal", 0.0, reduction="none"
    )
    assert close(sigmoid, focal0)
    onehot = F.one_hot(case.labels, case.logits.shape[1]).double()
    bce = F.binary_cross_entropy_with_logits(case.logits, onehot, reduction="none").sum(1)
    weights = t64(losses.class_balanced_weights(case.class_counts, 0.99))
    assert close(sigmoid, weights[case.labels] * bce, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------- ELM


def naive_pull(embeddings, labels, alpha):
    values = []
    for i in range(len(labels)):
        partners = (labels == labels[i]).clone()
        partners[i] = False
        exponents = ((embeddings[i] - embeddings[partners]) ** 2).sum(1) - alpha[labels[i]]
        one = torch.zeros(1, dtype=embeddings.dtype)
        values.append(torch.logsumexp(torch.cat([one, exponents]), 0))
    return torch.stack(values)


embedding_cases = lts.loss_inputs(max_classes=4, max_batch=24, max_magnitude=10.0)


@settings(max_examples=25)
@given(embedding_cases, st.integers(1, 9), hnp.arrays(np.float64, 4, elements=st.floats(-5.0, 30.0)))
def test_elm_pull_chunked_matches_the_direct_formula_and_its_gradients(case, chunk, alpha_pool):
    alpha = t64(alpha_pool[: case.logits.shape[1]])
    assume(alpha.shape[0] == case.logits.shape[1])
    points = case.embeddings.clone().requires_grad_(True)
    alpha_a = alpha.clone().requires_grad_(True)
    chunked = losses.elm_pull(points, case.labels, alpha_a, chunk_size=chunk)
    points_b = case.embeddings.clone().requires_grad_(True)
    alpha_b = alpha.clone().requires_grad_(True)
    direct = naive_pull(points_b, case.labels, alpha_b)
    assert close(chunked, direct, rtol=1e-9, atol=1e-9)
    weights = torch.linspace(0.5, 1.5, len(case.labels), dtype=torch.float64)
    grads_a = torch.autograd.grad((weights * chunked).sum(), [points, alpha_a])
    grads_b = torch.autograd.grad((weights * direct).sum(), [points_b, alpha_b], allow_unused=True)
    assert close(grads_a[0], grads_b[0], rtol=1e-7, atol=1e-7)
    assert close(grads_a[1], grads_b[1] if grads_b[1] is not None else torch.zeros_like(alpha), 1e-7, 1e-7)


@settings(max_examples=40)
@given(embedding_cases, st.integers(1, 9), hnp.arrays(np.float64, 4, elements=st.floats(-5.0, 30.0)))
def test_hard_pull_is_below_soft_pull_and_the_gap_is_at_most_log_class_size(case, chunk, alpha_pool):
    alpha = t64(alpha_pool[: case.logits.shape[1]])
    assume(alpha.shape[0] == case.logits.shape[1])
    soft = losses.elm_pull(case.embeddings, case.labels, alpha, chunk_size=chunk)
    hard = losses.elm_pull_hard(case.embeddings, case.labels, alpha, chunk_size=chunk)
    class_sizes = torch.bincount(case.labels)[case.labels].to(torch.float64)
    assert bool((hard <= soft).all())
    assert bool((soft - hard <= torch.log(class_sizes) + 1e-12).all())
    # Strictly below whenever the sample has a partner and rounding cannot hide the gap: the largest exponent
    # M lies in [-30, 30) here (alpha <= 30, distances >= 0), where log(1 + e^M) - max(M, 0) > 1e-14 is
    # representable in float64.
    strict_zone = (class_sizes >= 2) & (hard < 30.0)
    assert bool((hard[strict_zone] < soft[strict_zone]).all())


def test_hard_pull_equals_soft_pull_for_a_lone_sample_and_in_floating_point_at_large_gaps():
    # 000 prints Omega~_pull < Omega_pull. Exact arithmetic: strict iff |S_y| >= 2. Equality cases:
    alone = losses.elm_pull(t64([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([0, 1]), t64([1.0, 1.0]))
    alone_hard = losses.elm_pull_hard(t64([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([0, 1]), t64([1.0, 1.0]))
    assert torch.equal(alone, alone_hard) and torch.equal(alone, torch.zeros(2, dtype=torch.float64))
    # two samples at squared distance 100 with alpha = 0: softplus(100) rounds to 100 in float64
    pair = t64([[0.0], [10.0]])
    labels = torch.tensor([0, 0])
    soft = losses.elm_pull(pair, labels, t64([0.0]))
    hard = losses.elm_pull_hard(pair, labels, t64([0.0]))
    assert torch.equal(soft, hard) and float(hard[0]) == 100.0


@settings(max_examples=30)
@given(embedding_cases, st.floats(0.0, 1.0))
def test_elm_loss_is_logit_adjusted_margin_loss_plus_lambda_pull(case, lam):
    counts = case.class_counts
    alpha = losses.elm_alpha(counts, 0.5)
    objective = losses.elm_loss(case.logits, case.labels, case.embeddings, counts, lam, alpha, reduction="none")
    expected = losses.margin_loss(
        case.logits, case.labels, losses.logit_adjusted_margins(counts), reduction="none"
    ) + lam * losses.elm_pull(case.embeddings, case.labels, alpha)
    assert close(objective, expected)
    module = losses.REGISTRY["elm"](counts, lambda_pull=lam, alpha_exponent=0.5)
    assert close(module(case.logits, case.labels, case.embeddings), expected.mean())


def test_elm_pull_on_one_large_class_matches_small_and_large_chunks():
    generator = torch.Generator().manual_seed(0)
    points = torch.randn(700, 8, generator=generator, dtype=torch.float64)
    labels = torch.zeros(700, dtype=torch.long)
    alpha = t64([16.0])
    assert close(losses.elm_pull(points, labels, alpha, chunk_size=64), losses.elm_pull(points, labels, alpha, 4096))


# ---------------------------------------------------------------- DRO-LT


def naive_dro(embeddings, labels, centroids, radii, squared=False, temperature=1.0):
    values = []
    for i in range(len(labels)):
        c = int(labels[i])
        d = torch.linalg.norm(embeddings - centroids[c], dim=1)
        d = d**2 if squared else d
        numerator = (-d[i] - 2 * radii[c]) / temperature
        denominator = (-d - 2 * radii[c] * (labels == c).double()) / temperature
        values.append(torch.logsumexp(denominator, 0) - numerator)
    return torch.stack(values)


@settings(max_examples=40)
@given(embedding_cases, hnp.arrays(np.float64, 4, elements=st.floats(0.0, 5.0)), st.booleans(), st.floats(0.05, 2.0))
def test_dro_lt_loss_matches_eq_18_computed_pairwise(case, radii_pool, squared, temperature):
    classes = case.logits.shape[1]
    radii = t64(radii_pool[:classes])
    assume(radii.shape[0] == classes)
    centroids, _ = losses.class_centroids(case.embeddings, case.labels, classes)
    distance = "squared_euclidean" if squared else "euclidean"
    per_sample = losses.dro_lt_loss(
        case.embeddings, case.labels, centroids, radii, distance, temperature=temperature, reduction="none"
    )
    expected = naive_dro(case.embeddings, case.labels, centroids, radii, squared, temperature)
    assert close(per_sample, expected, rtol=1e-7, atol=1e-7)
    batch_counts = torch.bincount(case.labels, minlength=classes).double()
    total = losses.dro_lt_loss(
        case.embeddings, case.labels, centroids, radii, distance, temperature=temperature, reduction="sum"
    )
    assert close(total, (expected / batch_counts[case.labels]).sum(), rtol=1e-7, atol=1e-7)  # eq. (18), w = 1/|S_c|
    mean = losses.dro_lt_loss(case.embeddings, case.labels, centroids, radii, distance, temperature=temperature)
    assert close(mean, total / (batch_counts > 0).sum(), rtol=1e-7, atol=1e-7)


@settings(max_examples=30)
@given(embedding_cases, hnp.arrays(np.float64, 4, elements=st.floats(0.0, 5.0)), st.booleans())
def test_dro_lt_loss_at_temperature_1_is_theorem_1_as_printed(case, radius_pool, squared):
    """Loss (18) per sample is the right side of drolt's Theorem 1 as printed, with the batch as the sample and
    eps_c = r_c (Euclidean) or r_c^2 (squared). The float64 NumPy bound (``bounds.drolt``, for the evaluated
    rows) and the differentiable torch loss (for training) stay two functions: ``bounds`` and ``losses`` are
    independent layers. This keeps them equal (tolerance of the pairwise test above: sqrt near 0)."""
    from ltbounds.bounds.drolt import dro_lt_theorem1

    classes = case.logits.shape[1]
    radius = radius_pool[:classes]
    assume(radius.shape[0] == classes)
    centroids, _ = losses.class_centroids(case.embeddings, case.labels, classes)
    metric = "squared_euclidean" if squared else "euclidean"
    eps = radius**2 if squared else radius
    loss = losses.dro_lt_loss(case.embeddings, case.labels, centroids, t64(eps), metric, reduction="none")
    bound = dro_lt_theorem1(case.embeddings.numpy(), case.labels.numpy(), centroids.numpy(), radius, metric)
    assert close(loss, t64(bound.bound), rtol=1e-7, atol=1e-7)


@settings(max_examples=30)
@given(embedding_cases)
def test_dro_lt_with_zero_radii_is_the_class_centroid_nll(case):
    classes = case.logits.shape[1]
    centroids, _ = losses.class_centroids(case.embeddings, case.labels, classes)
    zero = torch.zeros(classes, dtype=torch.float64)
    assert close(
        losses.dro_lt_loss(case.embeddings, case.labels, centroids, zero, reduction="none"),
        losses.dro_lt_nll(case.embeddings, case.labels, centroids, reduction="none"),
    )
    # eq. (6)-(7): -log e^{-d(mu_c, z)} / sum_{z'} e^{-d(mu_c, z')} >= 0
    assert bool((losses.dro_lt_nll(case.embeddings, case.labels, centroids, reduction="none") >= -1e-12).all())


@settings(max_examples=30)
@given(embedding_cases, hnp.arrays(np.float64, 4, elements=st.floats(0.0, 5.0)))
def test_elm_quoted_form_5_equals_dro_lt_with_squared_distance_and_half_radii(case, eps_pool):
    classes = case.logits.shape[1]
    eps = t64(eps_pool[:classes])
    assume(eps.shape[0] == classes)
    centroids, _ = losses.class_centroids(case.embeddings, case.labels, classes)
    quoted = losses.elm_dro_regulariser(case.embeddings, case.labels, centroids, eps)
    robust = losses.dro_lt_loss(case.embeddings, case.labels, centroids, eps / 2, "squared_euclidean", reduction="none")
    assert close(quoted, robust, rtol=1e-9, atol=1e-9)


@settings(max_examples=30)
@given(embedding_cases, hnp.arrays(np.float64, 4, elements=st.floats(-2.0, 5.0)))
def test_dro_lt_gradient_in_the_radii_is_nonnegative(case, eps_pool):
    classes = case.logits.shape[1]
    eps = t64(eps_pool[:classes])
    assume(eps.shape[0] == classes)
    radii = eps.clone().requires_grad_(True)
    centroids, _ = losses.class_centroids(case.embeddings, case.labels, classes)
    losses.dro_lt_loss(case.embeddings, case.labels, centroids, radii).backward()
    assert bool((radii.grad >= -1e-12).all())


def test_dro_lt_radii_modes():
    counts = np.array([400, 100, 4])
    assert np.allclose(losses.dro_lt_radii(counts, 2.0, "shared"), 2.0)
    assert np.allclose(losses.dro_lt_radii(counts, 2.0, "inv_sqrt_n"), [0.1, 0.2, 1.0])
    module = losses.REGISTRY["dro_lt"](counts, epsilon=2.0, radius="learned")
    assert [name for name, _ in module.named_parameters()] == ["radii"]
    assert torch.allclose(module.radii.detach(), torch.full((3,), 2.0))
    assert list(losses.REGISTRY["dro_lt"](counts, radius="inv_sqrt_n").parameters()) == []


def test_dro_lt_module_uses_stored_centroids_and_falls_back_to_batch_centroids():
    counts = np.array([50, 20, 5])
    generator = torch.Generator().manual_seed(1)
    embeddings = torch.randn(12, 4, generator=generator, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 0, 1])
    logits = torch.randn(12, 3, generator=generator, dtype=torch.float64)
    module = losses.REGISTRY["dro_lt"](counts, radius="shared", epsilon=0.5, lambda_ce=0.3)
    batch_centroids, _ = losses.class_centroids(embeddings, labels, 3)
    fallback = module(logits, labels, embeddings)
    expected = 0.3 * losses.cross_entropy(logits, labels) + 0.7 * losses.dro_lt_loss(
        embeddings, labels, batch_centroids, torch.full((3,), 0.5, dtype=torch.float64)
    )
    assert close(fallback, expected)
    train = torch.randn(30, 4, generator=generator, dtype=torch.float64)
    train_labels = torch.tensor([0] * 20 + [1] * 10)  # class 2 unseen: keeps the batch fallback
    module.update_centroids(train, train_labels)
    stored, _ = losses.class_centroids(train, train_labels, 3)
    mixed = torch.stack([stored[0], stored[1], batch_centroids[2]])
    expected = 0.3 * losses.cross_entropy(logits, labels) + 0.7 * losses.dro_lt_loss(
        embeddings, labels, mixed, torch.full((3,), 0.5, dtype=torch.float64)
    )
    assert close(module(logits, labels, embeddings), expected, rtol=1e-6, atol=1e-6)
    restored = losses.REGISTRY["dro_lt"](counts, radius="shared", epsilon=0.5, lambda_ce=0.3)
    restored.load_state_dict(module.state_dict())
    assert torch.equal(restored.centroids, module.centroids)
    late = losses.REGISTRY["dro_lt"](counts, dro_start_epoch=5)
    assert close(late(logits, labels, embeddings), losses.cross_entropy(logits, labels))


# ---------------------------------------------------------------- center, spread-out, ETF


@settings(max_examples=30)
@given(embedding_cases)
def test_center_loss_with_batch_centroids_is_the_within_class_scatter(case):
    per_sample = losses.center_loss(case.embeddings, case.labels, reduction="none")
    for cls in torch.unique(case.labels).tolist():
        members = case.embeddings[case.labels == cls]
        scatter = ((members - members.mean(0)) ** 2).sum()
        assert close(per_sample[case.labels == cls].sum(), scatter, rtol=1e-9, atol=1e-9)


@settings(max_examples=30)
@given(embedding_cases, st.sampled_from(["all", "different_class"]), st.booleans())
def test_spread_out_regulariser_matches_pairwise_definition(case, pairs, normalise):
    n = len(case.labels)
    assume(n >= 2)
    if pairs == "different_class":
        assume(len(torch.unique(case.labels)) >= 2)
    phi = F.normalize(case.embeddings, dim=1) if normalise else case.embeddings
    gram = phi @ phi.T
    mask = ~torch.eye(n, dtype=torch.bool)
    if pairs == "different_class":
        mask &= case.labels[:, None] != case.labels[None, :]
    m1, m2 = gram[mask].mean(), (gram[mask] ** 2).mean()
    expected = m1**2 + torch.clamp(m2 - 1.0 / phi.shape[1], min=0.0)
    value = losses.spread_out_regulariser(case.embeddings, case.labels, pairs, normalise)
    assert close(value, expected, rtol=1e-7, atol=1e-9)


@given(st.integers(2, 12), st.integers(0, 8), st.floats(0.1, 10.0))
def test_etf_classifier_has_the_simplex_gram_matrix(classes, extra_dim, energy):
    weights = losses.etf_classifier(classes, classes + extra_dim, energy, torch.Generator().manual_seed(classes))
    gram = weights @ weights.T
    expected = energy * (classes / (classes - 1) * torch.eye(classes, dtype=torch.float64) - 1.0 / (classes - 1))
    assert close(gram, expected, rtol=1e-9, atol=1e-9)


@settings(max_examples=30)
@given(embedding_cases, st.floats(0.5, 4.0), st.floats(0.5, 4.0))
def test_dot_regression_gradient_is_the_printed_form_exactly_when_features_have_energy_e_h(case, e_w, e_h):
    classes, dim = case.logits.shape[1], 12
    assume(classes <= dim)
    weights = losses.etf_classifier(classes, dim, e_w, torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(len(case.labels))
    raw = torch.randn(len(case.labels), dim, generator=generator, dtype=torch.float64)
    features = (e_h**0.5) * F.normalize(raw, dim=1).requires_grad_(True)
    features.retain_grad()
    losses.dot_regression_loss(features, case.labels, weights, e_w, e_h, reduction="sum").backward()
    w_c = weights[case.labels]
    cosine = F.cosine_similarity(features.detach(), w_c, dim=1)
    printed = -(1.0 - cosine)[:, None] * w_c
    assert close(features.grad, printed, rtol=1e-9, atol=1e-9)


def test_dot_regression_printed_gradient_fails_without_the_norm_assumption():
    weights = losses.etf_classifier(2, 2, 1.0, torch.Generator().manual_seed(0))
    feature = (3.0 * weights[0]).clone().requires_grad_(True)  # ||h||^2 = 9 != E_H = 1, cos = 1
    losses.dot_regression_loss(feature[None], torch.tensor([0]), weights, 1.0, 1.0, reduction="sum").backward()
    printed = torch.zeros(2, dtype=torch.float64)  # -(1 - cos) w_c = 0 at cos = 1
    assert not close(feature.grad, printed)
    assert close(feature.grad, 2.0 * weights[0])  # (w.h - 1) w = (3 - 1) w


# ---------------------------------------------------------------- registry and schedules

REQUIRED_NAMES = {
    "ce",
    "reweight",
    "focal",
    "cb",
    "ldam",
    "la",
    "balanced_softmax",
    "cdt",
    "vs",
    "fisher",
    "equalization",
    "margin",
    "elm",
    "dro_lt",
    "center",
}


def _build(name, counts, **hparams):
    if name == "margin":
        hparams.setdefault("margins", losses.logit_adjusted_margins(counts))
    return losses.REGISTRY[name](counts, **hparams)


def _call(module, case, logits=None):
    logits = case.logits if logits is None else logits
    if module.needs_embeddings:
        return module(logits, case.labels, case.embeddings)
    return module(logits, case.labels)


def test_registry_has_the_contracted_names_and_embedding_flags():
    assert REQUIRED_NAMES <= set(losses.REGISTRY)
    flagged = {name for name, cls in losses.REGISTRY.items() if cls.needs_embeddings}
    assert flagged == {"elm", "dro_lt", "center"}


@settings(max_examples=15)
@given(lts.loss_inputs(max_magnitude=1e4, max_batch=16))
def test_every_registry_module_gives_a_finite_differentiable_mean_loss_at_1e4_logits(case):
    for name in sorted(REQUIRED_NAMES):
        for dtype in (torch.float32, torch.float64):
            module = _build(name, case.class_counts)
            module.set_epoch(0)
            logits = case.logits.to(dtype).detach().requires_grad_(True)
            embeddings = case.embeddings.to(dtype)
            value = module(logits, case.labels, embeddings) if module.needs_embeddings else module(logits, case.labels)
            assert value.ndim == 0 and torch.isfinite(value), (name, dtype)
            value.backward()
            assert torch.isfinite(logits.grad).all(), (name, dtype)


@given(moderate_cases, st.integers(0, 40), st.integers(0, 40))
def test_vs_tla_adrw_schedule_turns_vs_into_reweighted_la(case, t0, epoch):
    counts = case.class_counts
    module = losses.REGISTRY["vs"](
        counts, gamma=0.5, tau=1.5, reweighting="adrw", reweight_epoch=t0, tla_epoch=t0, nu=0.7
    )
    module.set_epoch(epoch)
    beta, delta = losses.vs_scales_and_offsets(counts, 0.5, 1.5)
    if epoch < t0:
        expected = losses.vector_scaling_loss(case.logits, case.labels, None, beta, delta)
    else:
        alpha = losses.adrw_weights(counts, 0.7)
        expected = losses.logit_adjusted_loss(case.logits, case.labels, counts, 1.5, weights=alpha)
    assert close(module(case.logits, case.labels), expected, rtol=1e-9, atol=1e-9)


@given(moderate_cases, st.integers(0, 20))
def test_ldam_drw_uses_class_balanced_weights_after_the_switch(case, epoch):
    module = losses.REGISTRY["ldam"](case.class_counts, reweighting="drw", reweight_epoch=10)
    module.set_epoch(epoch)
    weights = losses.class_balanced_weights(case.class_counts, 0.9999) if epoch >= 10 else None
    cosine = torch.tanh(case.logits)
    expected = losses.ldam_loss(cosine, case.labels, losses.ldam_margins(case.class_counts), 30.0, weights)
    assert close(module(cosine, case.labels), expected, rtol=1e-9, atol=1e-9)


@given(moderate_cases)
def test_reweight_module_is_inverse_frequency_weighted_ce_and_la_module_is_logit_adjustment(case):
    weights = losses.inverse_frequency_weights(case.class_counts)
    assert close(
        losses.REGISTRY["reweight"](case.class_counts)(case.logits, case.labels),
        losses.cross_entropy(case.logits, case.labels, weights),
    )
    assert close(
        losses.REGISTRY["la"](case.class_counts, tau=0.7)(case.logits, case.labels),
        losses.logit_adjusted_loss(case.logits, case.labels, case.class_counts, 0.7),
    )
    assert close(
        losses.REGISTRY["equalization"](case.class_counts)(case.logits, case.labels),
        losses.margin_loss(
            case.logits, case.labels, np.tile(priors_of(case.class_counts), (len(case.class_counts), 1))
        ),
    )


# ---------------------------------------------------------------- bad input


def _base_case():
    counts = np.array([10, 5, 2])
    logits = torch.zeros(4, 3)
    labels = torch.tensor([0, 1, 2, 0])
    embeddings = torch.zeros(4, 2)
    return counts, logits, labels, embeddings


@pytest.mark.parametrize("name", sorted(REQUIRED_NAMES))
def test_bad_input_raises_input_error_naming_the_argument(name):
    counts, logits, labels, embeddings = _base_case()

    def run(module, logits=logits, labels=labels, embeddings=embeddings):
        return module(logits, labels, embeddings) if module.needs_embeddings else module(logits, labels)

    with pytest.raises(InputError, match="class_counts"):
        _build(name, np.array([10, 0, 2]))
    with pytest.raises(InputError, match="class_counts"):
        _build(name, np.array([10, -3, 2]))
    module = _build(name, counts)
    with pytest.raises(InputError, match="labels"):
        run(module, labels=torch.tensor([0, 1, 3, 0]))
    with pytest.raises(InputError, match="labels"):
        run(module, labels=torch.tensor([0, 1, 2]))
    with pytest.raises(InputError, match="logits"):
        run(module, logits=torch.zeros(4, 5))
    with pytest.raises(InputError, match="logits"):
        run(module, logits=torch.tensor([[0.0, float("nan"), 0.0]] * 4))
    if module.needs_embeddings:
        with pytest.raises(InputError, match="embeddings"):
            run(module, embeddings=torch.zeros(3, 2))
        with pytest.raises(InputError, match="embeddings"):
            run(module, embeddings=torch.full((4, 2), float("nan")))
    assert isinstance(InputError("x"), ValueError)


def test_bad_hyper_parameters_raise_input_error():
    counts = np.array([10, 5, 2])
    with pytest.raises(InputError, match="beta"):
        losses.class_balanced_weights(counts, 1.5)
    # beta = 1 is the limit E_n = n (one effective_number, ltbounds.per_class): inverse-frequency weights
    np.testing.assert_allclose(losses.class_balanced_weights(counts, 1.0), losses.inverse_frequency_weights(counts))
    with pytest.raises(InputError, match="reweighting"):
        losses.REGISTRY["ce"](counts, reweighting="sometimes")
    with pytest.raises(InputError, match="radius"):
        losses.REGISTRY["dro_lt"](counts, radius="huge")
    with pytest.raises(InputError, match="base"):
        losses.REGISTRY["cb"](counts, base="tanh")
    with pytest.raises(InputError, match="margins"):
        losses.REGISTRY["margin"](counts, margins=np.zeros((2, 2)))
    with pytest.raises(InputError, match="alpha"):
        losses.elm_pull(torch.zeros(3, 2), torch.tensor([0, 0, 1]), torch.tensor([float("nan"), 1.0]))
    with pytest.raises(InputError, match="reduction"):
        losses.cross_entropy(torch.zeros(2, 2), torch.tensor([0, 1]), reduction="avg")


def test_build_loss_names_unknown_losses_and_hyper_parameters():
    counts = np.array([10, 5, 2])
    assert isinstance(
        losses.build_registered_loss("vs", counts, gamma=0.2, reweighting="adrw", tla_epoch=3), losses.LossModule
    )
    with pytest.raises(InputError, match="unknown loss"):
        losses.build_registered_loss("softmax_plus", counts)
    with pytest.raises(InputError, match="max_m"):
        losses.build_registered_loss("ldam", counts, max_m=0.5)


@given(moderate_cases, st.floats(1.0, 64.0))
def test_ldam_on_a_prescaled_head_is_scale_one_with_scaled_margin(case, scale):
    cosine = torch.tanh(case.logits)
    unscaled = losses.REGISTRY["ldam"](case.class_counts, max_margin=0.5, scale=scale)(cosine, case.labels)
    prescaled = losses.REGISTRY["ldam"](case.class_counts, max_margin=0.5 * scale, scale=1.0)(
        scale * cosine, case.labels
    )
    assert close(unscaled, prescaled, rtol=1e-9, atol=1e-9)


def test_elm_pull_custom_backward_passes_gradcheck():
    generator = torch.Generator().manual_seed(3)
    points = torch.randn(9, 3, generator=generator, dtype=torch.float64).requires_grad_(True)
    alpha = t64([1.0, 4.0]).requires_grad_(True)
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1])
    assert torch.autograd.gradcheck(lambda p, a: losses.elm_pull(p, labels, a, chunk_size=2), (points, alpha))


def test_learned_parameters_get_gradients_and_set_epoch_is_a_no_op_without_a_schedule():
    counts = np.array([40, 10, 3])
    generator = torch.Generator().manual_seed(5)
    logits = torch.randn(9, 3, generator=generator, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 0, 1])
    embeddings = torch.randn(9, 4, generator=generator, dtype=torch.float64)
    dro = losses.REGISTRY["dro_lt"](counts, radius="learned", epsilon=1.0)
    dro(logits, labels, embeddings).backward()
    assert dro.radii.grad is not None and bool((dro.radii.grad >= 0).all()) and bool((dro.radii.grad > 0).any())
    center = losses.REGISTRY["center"](counts, lambda_center=0.5, centers="learned", embedding_dim=4)
    value = center(logits, labels, embeddings)
    assert close(
        value, losses.cross_entropy(logits, labels) + 0.5 * (embeddings**2).sum(1).mean()
    )  # centres start at 0
    value.backward()
    assert center.centers.grad is not None and center.centers.grad.abs().sum() > 0
    for name in ("la", "balanced_softmax", "fisher", "cb", "equalization"):
        module = _build(name, counts)
        before = module(logits, labels)
        module.set_epoch(500)
        assert torch.equal(module(logits, labels), before), name

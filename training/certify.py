"""Balanced-error PAC-Bayes certificates of a network (issue 12, items 3-5): prior, posterior, MC, bound.

- ``init_model``: the checkpoint's initialisation, rebuilt from its model spec and seed (the data-free
  prior of Dziugaite & Roy 2017), refused when it cannot be reproduced.
- ``stratified_split``: S_prior / S_bound per class (every class >= 1 in each part).
- ``optimise_posterior``: mean and std of a diagonal Gaussian Q (and sigma_prior, continuously) trained
  by minimising the balanced bound with the bounded cross-entropy surrogate (Perez-Ortiz et al. 2021);
  sigma_prior is then rounded to the fixed grid, whose size the certificate pays (union bound).
- ``mc_class_errors`` + ``certify_posterior``: the final certificate. m passes over S_bound, each input
  with its own independent network h ~ Q (training.probabilistic), so class y's Monte-Carlo estimate
  averages n_y m independent [0, 1] terms whose mean is R^_y(Q); the Chernoff-Hoeffding bound
  (Hoeffding 1963, Thm 1, independent non-identical [0, 1] variables; the sample-convergence bound of
  Langford & Caruana 2002 with n_y m draws) gives R^_y(Q) <= kl^-1(est_y, ln(2C/delta_mc)/(n_y m)) for
  all y at once w.p. >= 1 - delta_mc. These upper bounds go into the three forms of
  ``ltbounds.bounds.pacbayes`` at ``delta`` with grid_size = len(sigma grid). Total: delta + delta_mc
  (docs/certificates.md, "Delta bookkeeping"). Each form is a separate certificate at that total; the
  primary form (``CertifySettings.objective``, fixed before any data are seen) is the one trained for.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltbounds.bounds import pacbayes
from ltbounds.checks import InputError, check_delta
from training.probabilistic import (
    GaussianPosterior,
    PlainNetwork,
    bounded_cross_entropy,
    fold_model,
    kl_gaussians,
)

FORMS = pacbayes.FORMS_BALANCED
# sigma_prior grid: 1e-4 .. 1 geometric, 25 values (ratio 10^(1/6) ~ 1.47): ln 25 = 3.2 nats of union bound.
DEFAULT_SIGMA_GRID = tuple(float(10.0 ** (-4 + k / 6)) for k in range(25))


@dataclass(frozen=True)
class CertifySettings:
    """Everything that changes a certificate (its identity); defaults measured on MNIST-5k (issue 12)."""

    delta: float = 0.04  # PAC-Bayes events (classes x sigma grid split inside each form)
    delta_mc: float = 0.01  # Monte-Carlo event; total delta + delta_mc = 0.05
    sigma_grid: tuple[float, ...] = DEFAULT_SIGMA_GRID
    objective: str = "importance_weighted_hoeffding"  # the primary form, trained for
    p_min: float = 1e-4  # bounded cross-entropy clamp
    steps: int = 300  # Adam steps on random batches of S_bound
    batch_size: int = 256
    lr: float = 1e-3  # for the means; the log-stds take 10x
    sigma_init: float = 1e-3  # posterior std at the start (data-free prior route)
    mc_passes: int = 300  # passes over S_bound for the final MC estimate (n m independent draws)
    test_passes: int = 50  # passes over the test split for the measured stochastic error
    seed: int = 0

    def __post_init__(self) -> None:
        check_delta(self.delta, "delta")
        check_delta(self.delta_mc, "delta_mc")
        if self.delta + self.delta_mc >= 1:
            raise InputError(f"delta + delta_mc must be < 1, got {self.delta} + {self.delta_mc}")
        if not self.sigma_grid or any(not (s > 0 and math.isfinite(s)) for s in self.sigma_grid):
            raise InputError("sigma grid: every sigma_prior must be a finite number > 0 (e.g. 0.01,0.03,0.1)")
        if not self.sigma_init > 0:
            raise InputError(f"sigma_init must be > 0, got {self.sigma_init}")
        if self.objective not in FORMS:
            raise InputError(f"objective must be one of {FORMS}, got {self.objective!r}")
        if self.mc_passes < 1 or self.test_passes < 1 or self.steps < 0:
            raise InputError("mc_passes and test_passes must be >= 1 and steps >= 0")


# ----------------------------------------------------------------------------------------- priors


def init_model(checkpoint: dict[str, Any], path: str = "checkpoint") -> nn.Module:
    """The network the run started from: ``torch.manual_seed(seed); build_model(spec)``, as training.loop.

    Refused (InputError) when the seed is not recorded, when a classifier stage replaced the head (its
    re-initialisation is not recorded), when the torch version differs from the one that trained it
    (the RNG stream may differ), or when the rebuild is not deterministic or does not fit the weights.
    """
    from training.models import build_model

    training = checkpoint.get("method", {}).get("training") or {}
    seed = training.get("seed")
    fix = "certify a checkpoint written by ltbounds train (it records its seed), or a pbb run"
    if not isinstance(seed, int):
        raise InputError(f"{path}: no recorded initialisation (no training seed in the checkpoint); {fix}")
    if checkpoint.get("method", {}).get("stage"):
        raise InputError(
            f"{path}: its head was retrained by the classifier stage {checkpoint['method']['stage']!r}, whose "
            f"initialisation is not recorded; certify the first-stage checkpoint instead"
        )
    recorded = str(checkpoint.get("versions", {}).get("torch", ""))
    if recorded != str(torch.__version__):
        raise InputError(
            f"{path}: its initialisation was drawn by torch {recorded or '(unrecorded)'}, this is torch "
            f"{torch.__version__}: not reproducible here; certify it with the torch that trained it"
        )
    models = []
    for _ in range(2):
        torch.manual_seed(seed)
        models.append(build_model(dict(checkpoint["model"])))
    first, second = (dict(m.state_dict()) for m in models)
    if any(not torch.equal(first[k], second[k]) for k in first):
        raise InputError(f"{path}: rebuilding the initialisation from seed {seed} is not deterministic")
    trained = checkpoint["state"]["model"]
    if set(first) != set(trained) or any(first[k].shape != trained[k].shape for k in first):
        raise InputError(f"{path}: the rebuilt initialisation does not fit the trained weights' shapes")
    return models[0].eval()


def stratified_split(labels: Any, num_classes: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(prior_indices, bound_indices): per class, round(fraction n_y) samples to S_prior, clipped to
    [1, n_y - 1] so every class keeps >= 1 sample in each part; a seeded permutation picks them."""
    y = np.asarray(labels, dtype=np.int64)
    if not 0.0 < float(fraction) < 1.0:
        raise InputError(f"--prior-fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(int(seed))
    prior, bound = [], []
    for c in range(int(num_classes)):
        members = np.flatnonzero(y == c)
        if members.size < 2:
            raise InputError(
                f"class {c} has {members.size} training sample(s): S_prior and S_bound need >= 1 each "
                f"(lower --imbalance or use the data-free prior)"
            )
        members = members[rng.permutation(members.size)]
        k = min(max(int(round(float(fraction) * members.size)), 1), members.size - 1)
        prior.append(members[:k])
        bound.append(members[k:])
    return np.sort(np.concatenate(prior)), np.sort(np.concatenate(bound))


# ------------------------------------------------------------------------------ posterior training


def _class_counts(y: torch.Tensor, num_classes: int) -> np.ndarray:
    counts = np.bincount(y.cpu().numpy(), minlength=num_classes)
    if np.any(counts == 0):
        missing = np.flatnonzero(counts == 0).tolist()
        raise InputError(
            f"S_bound has no sample of class(es) {missing}: move at least one sample of each class into it"
        )
    return counts


def objective_torch(
    surrogate: torch.Tensor, kl: torch.Tensor, counts: np.ndarray, delta: float, grid_size: int, form: str
) -> torch.Tensor:
    """The balanced bound with the surrogate empirical risk plugged in, differentiable in (risk, KL).

    per_class: (1/C) sum_y f-quad_y (the f-quad relaxation of each class's PAC-Bayes-kl at delta/(C k));
    importance_weighted_kl: B f-quad(risk/B, n) at delta/k; importance_weighted_hoeffding: risk +
    sqrt((KL + ln(J k/delta)) S2 / 2) (its value at the best lambda, J = 16). ``surrogate`` is (C,).
    """
    c = counts.size
    n = float(counts.sum())
    if form == "per_class":
        n_y = torch.as_tensor(counts, dtype=kl.dtype, device=kl.device)
        eps = (kl + torch.log(2 * torch.sqrt(n_y) * c * grid_size / delta)) / (2 * n_y)
        return (((surrogate + eps).sqrt() + eps.sqrt()) ** 2).clamp(max=1.0).mean()
    if form == "importance_weighted_kl":
        scale = n / (c * counts.min())
        eps = (kl + math.log(2 * math.sqrt(n) * grid_size / delta)) / (2 * n)
        return scale * ((surrogate.mean() / scale + eps).sqrt() + eps.sqrt()) ** 2
    s2 = float(np.sum(1.0 / counts)) / c**2
    return surrogate.mean() + torch.sqrt((kl + math.log(16 * grid_size / delta)) * s2 / 2)


def _class_means(values: torch.Tensor, y: torch.Tensor, num_classes: int) -> torch.Tensor:
    sums = torch.zeros(num_classes, dtype=values.dtype, device=values.device).index_add_(0, y, values)
    return sums / torch.bincount(y, minlength=num_classes).to(values.dtype)


@dataclass
class PosteriorFit:
    posterior: GaussianPosterior
    sigma_prior: float  # the grid value used
    sigma_index: int
    history: list[dict[str, float]] = field(default_factory=list)


def optimise_posterior(
    network: PlainNetwork,
    prior_mean: dict[str, torch.Tensor],
    start_mean: dict[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    settings: CertifySettings,
    sigma_start: float | None = None,
    logit_scale: float = 1.0,
    fixed: tuple[str, ...] = (),
) -> PosteriorFit:
    """Adam (random batches) on the balanced bound of ``settings.objective`` over (means, log-stds, ln sigma_prior).

    Starts at ``start_mean`` with std ``sigma_start`` (default settings.sigma_init); sigma_prior starts at
    the grid value nearest sigma_start's order and moves continuously; at the end it is rounded (in log
    space) to the nearest grid value, the one the certificate uses. ``logit_scale`` multiplies the logits
    in the surrogate only (a cosine head's s; the 0-1 error does not see it).
    """
    counts = _class_counts(y, num_classes)
    grid = np.asarray(settings.sigma_grid, dtype=np.float64)
    sigma0 = settings.sigma_init if sigma_start is None else float(sigma_start)
    posterior = GaussianPosterior(network, {k: v.float() for k, v in start_mean.items()}, sigma0, fixed)
    prior = {k: v.float().to(x.device) for k, v in prior_mean.items()}
    posterior.to(x.device)
    log_sigma_p = nn.Parameter(torch.tensor(math.log(max(sigma0, float(grid.min()))), device=x.device))
    optimiser = torch.optim.Adam(
        [
            {"params": list(posterior.mu.parameters()), "lr": settings.lr},
            {"params": list(posterior.rho.parameters()) + [log_sigma_p], "lr": 10 * settings.lr},
        ]
    )
    generator = torch.Generator(device=x.device).manual_seed(int(settings.seed))
    history = []
    start = posterior.deterministic_steps()
    x = posterior.features(x)  # the fixed first steps (a pbb CNN's convolutions) computed once
    n = x.shape[0]
    batch = min(int(settings.batch_size), n)
    # per-class surrogate of a random batch, unbiased for the class mean: class sum / (n_y |b| / n)
    expected = torch.as_tensor(counts * batch / n, dtype=torch.float32, device=x.device)
    for step in range(int(settings.steps)):
        optimiser.zero_grad(set_to_none=True)
        index = torch.randperm(n, generator=generator, device=x.device)[:batch]
        xb, yb = x[index], y[index]
        logits = posterior.sample_logits(xb, generator, start) * logit_scale
        losses = bounded_cross_entropy(logits, yb, settings.p_min)
        surrogate = torch.zeros(num_classes, device=x.device).index_add(0, yb, losses) / expected
        kl = kl_gaussians(posterior.stochastic_means(), posterior.std(), prior, log_sigma_p.exp())
        loss = objective_torch(surrogate, kl, counts, settings.delta, grid.size, settings.objective)
        loss.backward()
        optimiser.step()
        if step % 50 == 0 or step == settings.steps - 1:
            history.append(
                {
                    "step": step,
                    "objective": loss.item(),
                    "kl": kl.item(),
                    "risk": surrogate.mean().item(),
                    "sigma_prior": log_sigma_p.exp().item(),
                }
            )
    index = int(np.argmin(np.abs(np.log(grid) - float(log_sigma_p.detach()))))
    # Rounding sigma_prior to the grid alone would cost d (r^2 - 1 - ln r^2)/2 nats (r up to 1.2: hundreds of
    # nats for 10^5 weights); scaling every posterior std by the same factor keeps sigma_q / sigma_prior.
    factor = float(grid[index]) / float(log_sigma_p.detach().exp())
    with torch.no_grad():
        for rho in posterior.rho.values():
            rho.copy_(torch.log(torch.expm1(F.softplus(rho.double()) * factor)).float())
    return PosteriorFit(posterior, float(grid[index]), index, history)


# --------------------------------------------------------------------------------- the certificate


@torch.no_grad()
def mc_class_errors(
    posterior: GaussianPosterior,
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    passes: int,
    seed: int,
    batch_size: int = 4096,
) -> tuple[np.ndarray, np.ndarray]:
    """(errors, draws) per class: 0-1 errors over ``passes`` passes, each input with its own network h ~ Q."""
    generator = torch.Generator(device=x.device).manual_seed(int(seed))
    errors = torch.zeros(num_classes, dtype=torch.float64, device=x.device)
    steps = posterior.deterministic_steps()
    features = torch.cat([posterior.features(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)])
    for _ in range(int(passes)):
        for start in range(0, x.shape[0], batch_size):
            xb, yb = features[start : start + batch_size], y[start : start + batch_size]
            wrong = (posterior.sample_logits(xb, generator, steps).argmax(1) != yb).double()
            errors.index_add_(0, yb, wrong)
    draws = np.bincount(y.cpu().numpy(), minlength=num_classes) * int(passes)
    return errors.cpu().numpy(), draws


@torch.no_grad()
def mean_class_errors(posterior: GaussianPosterior, x: torch.Tensor, y: torch.Tensor, num_classes: int) -> np.ndarray:
    wrong = (posterior.mean_logits(x).argmax(1) != y).double()
    return _class_means(wrong, y, num_classes).cpu().numpy()


def kl_float64(posterior: GaussianPosterior, prior_mean: dict[str, torch.Tensor], sigma_prior: float) -> float:
    """KL(Q || P) in float64 by ``pacbayes.kl_diag_gaussian`` (the value the certificate uses); a fixed
    (point-mass) parameter must equal the prior's value, else KL is infinite and this refuses."""
    for name in posterior.fixed:
        if not torch.equal(posterior.mu[name].detach().float().cpu(), prior_mean[name].float().cpu()):
            raise InputError(f"parameter {name} is fixed in Q but differs from the prior's value: KL = inf")
    std = posterior.std()
    mu_q = np.concatenate([posterior.mu[k].detach().double().cpu().numpy().ravel() for k in posterior.rho])
    sd_q = np.concatenate([std[k].detach().double().cpu().numpy().ravel() for k in posterior.rho])
    mu_p = np.concatenate([prior_mean[k].detach().double().cpu().numpy().ravel() for k in posterior.rho])
    return pacbayes.kl_diag_gaussian(mu_q, sd_q, mu_p, sigma_prior)


@dataclass(frozen=True)
class Certificate:
    """The certificates of one posterior on S_bound, one per form, with the measured test errors."""

    forms: dict[str, pacbayes.BalancedCertificate]
    class_counts: np.ndarray  # S_bound counts
    mc_estimate: np.ndarray  # per-class MC estimate of R^_y(Q) on S_bound
    mc_upper: np.ndarray  # per-class upper bounds at delta_mc / C
    kl: float
    sigma_prior: float
    grid_size: int
    test_error: np.ndarray  # per-class MC estimate of the stochastic predictor's test error
    test_error_mean: np.ndarray  # per-class test error of the mean network
    delta_total: float
    seconds: float = 0.0


def certify_posterior(
    posterior: GaussianPosterior,
    prior_mean: dict[str, torch.Tensor],
    sigma_prior: float,
    bound: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    num_classes: int,
    settings: CertifySettings,
    prior_independent: bool = True,
) -> Certificate:
    """MC on S_bound, then each form of ``pacbayes`` at ``settings.delta`` (module docstring for the events)."""
    started = time.perf_counter()
    x, y = bound
    counts = _class_counts(y, num_classes)
    errors, draws = mc_class_errors(posterior, x, y, num_classes, settings.mc_passes, settings.seed + 1)
    estimate = errors / draws
    upper = np.array(
        [
            float(pacbayes.mc_sample_convergence_bound(e, int(d), settings.delta_mc / num_classes))
            for e, d in zip(estimate, draws, strict=True)
        ]
    )
    kl = kl_float64(posterior, prior_mean, sigma_prior)
    k = len(settings.sigma_grid)
    forms = {
        "per_class": pacbayes.per_class_kl_bound(
            upper, counts, kl, settings.delta, k, prior_independent=prior_independent
        ),
        "importance_weighted_kl": pacbayes.importance_weighted_kl_bound(
            upper, counts, kl, settings.delta, k, prior_independent=prior_independent
        ),
        "importance_weighted_hoeffding": pacbayes.importance_weighted_hoeffding_bound(
            upper, counts, kl, settings.delta, k, prior_independent=prior_independent
        ),
    }
    tx, ty = test
    test_errors, test_draws = mc_class_errors(posterior, tx, ty, num_classes, settings.test_passes, settings.seed + 2)
    return Certificate(
        forms=forms,
        class_counts=counts,
        mc_estimate=estimate,
        mc_upper=upper,
        kl=kl,
        sigma_prior=sigma_prior,
        grid_size=k,
        test_error=test_errors / np.maximum(test_draws, 1),
        test_error_mean=mean_class_errors(posterior, tx, ty, num_classes),
        delta_total=settings.delta + settings.delta_mc,
        seconds=time.perf_counter() - started,
    )


CSV_COLUMNS = (
    "checkpoint",
    "method",
    "form",
    "class",
    "n_bound",
    "empirical_risk",
    "kl",
    "certificate",
    "measured_test_error",
    "measured_test_error_mean_predictor",
)


def certificate_rows(certificate: Certificate, checkpoint: str, method: str) -> list[dict[str, Any]]:
    """Rows of certificate.csv: per form a ``balanced`` row; per class rows for the per-class form.

    empirical_risk = the MC upper bound on R^ used by the form (per class: R^_y; balanced: their mean)."""
    rows = []
    for form, result in certificate.forms.items():
        rows.append(
            {
                "checkpoint": checkpoint,
                "method": method,
                "form": form,
                "class": "balanced",
                "n_bound": int(certificate.class_counts.sum()),
                "empirical_risk": float(certificate.mc_upper.mean()),
                "kl": certificate.kl,
                "certificate": result.value,
                "measured_test_error": float(certificate.test_error.mean()),
                "measured_test_error_mean_predictor": float(certificate.test_error_mean.mean()),
            }
        )
        if form == "per_class":
            for c in range(certificate.class_counts.size):
                rows.append(
                    {
                        "checkpoint": checkpoint,
                        "method": method,
                        "form": form,
                        "class": str(c),
                        "n_bound": int(certificate.class_counts[c]),
                        "empirical_risk": float(certificate.mc_upper[c]),
                        "kl": certificate.kl,
                        "certificate": float(result.per_class[c]),
                        "measured_test_error": float(certificate.test_error[c]),
                        "measured_test_error_mean_predictor": float(certificate.test_error_mean[c]),
                    }
                )
    return rows


def conv_parameters(network: PlainNetwork) -> tuple[str, ...]:
    """The convolutions' parameters: kept at the data-dependent prior's values in ``pbb`` (a point mass in P
    and Q, KL 0), so the posterior's draws are per-input exact and cheap (training.probabilistic)."""
    return tuple(name for op in network.ops if op.kind == "conv" for name in (op.weight, op.bias))


def logit_scale_of(network: PlainNetwork) -> float:
    """A cosine (LDAM) head's logits are in [-1, 1]: the surrogate uses LDAM's s = 30 (argmax unchanged)."""
    return 30.0 if any(op.kind == "normed" for op in network.ops) else 1.0


def certify_trained(
    checkpoint: dict[str, Any], data: Any, settings: CertifySettings, path: str = "checkpoint", device: str = "cpu"
) -> tuple[Certificate, PosteriorFit]:
    """Data-free prior at the recorded initialisation; posterior around the trained weights, optimised on
    the whole training set (= S_bound: the prior never saw it), then certified there."""
    from training.checkpoints import model_from_checkpoint

    init = init_model(checkpoint, path)
    network, init_params = fold_model(init)
    trained_network, trained_params = fold_model(model_from_checkpoint(checkpoint))
    if trained_network != network:
        raise InputError(f"{path}: the trained model and its rebuilt initialisation differ in structure")
    x, y = data.train.x.to(device), data.train.y.to(device)
    fit = optimise_posterior(
        network, init_params, trained_params, x, y, int(data.num_classes), settings, logit_scale=logit_scale_of(network)
    )
    certificate = certify_posterior(
        fit.posterior,
        init_params,
        fit.sigma_prior,
        (x, y),
        (data.test.x.to(device), data.test.y.to(device)),
        int(data.num_classes),
        settings,
    )
    return certificate, fit


# --------------------------------------------------------------------------- the pbb recipe (item 4)


def train_pbb(
    config: Any,
    out: str | None,
    settings: CertifySettings | None = None,
    prior_fraction: float = 0.5,
    overwrite: bool = False,
    log: Any = None,
    data: Any = None,
) -> tuple[dict[str, Any], Certificate]:
    """``ltbounds train --method pbb``: data-dependent prior, posterior trained on the bound, certificate.

    1. Split the training set per class into S_prior / S_bound (``stratified_split``, seeded by the run).
    2. Train the prior mean on S_prior with the pbb recipe's loss (the ordinary loop; val/test only for
       its logged metrics, never for a choice).
    3. Fold it (training.probabilistic), start Q at it with std = sigma_start, optimise Q and sigma_prior
       on S_bound by the balanced bound, round sigma_prior to the grid.
    4. Certify on S_bound only; write ``out/last.pt`` (the posterior-mean network in ``state.model``, the
       prior, the posterior and the split indices under ``pbb``). Returns the checkpoint dict.
    """
    import dataclasses

    from training.checkpoints import make_checkpoint, save_checkpoint
    from training.data import Split
    from training.loop import load_config_data, train
    from training.models import build_model

    settings = settings or CertifySettings(seed=int(config.seed))
    if not 0.0 < float(prior_fraction) < 1.0:  # before any data are read or anything is written
        raise InputError(f"--prior-fraction must be in (0, 1), got {prior_fraction}")
    started = time.perf_counter()
    if data is None:
        data = load_config_data(config)
    num_classes = int(data.num_classes)
    prior_idx, bound_idx = stratified_split(data.train.y.cpu().numpy(), num_classes, prior_fraction, config.seed)
    prior_counts = np.bincount(data.train.y.cpu().numpy()[prior_idx], minlength=num_classes)
    prior_data = dataclasses.replace(
        data, train=Split(data.train.x[prior_idx], data.train.y[prior_idx]), class_counts=prior_counts
    )
    result = train(config, data=prior_data, out=out, overwrite=overwrite, log=log)
    network, prior_params = fold_model(result.model.cpu().eval())
    xb, yb = data.train.x[bound_idx], data.train.y[bound_idx]
    sigma_start = 0.01
    fit = optimise_posterior(
        network,
        prior_params,
        prior_params,
        xb,
        yb,
        num_classes,
        settings,
        sigma_start=sigma_start,
        logit_scale=logit_scale_of(network),
        fixed=conv_parameters(network),
    )
    certificate = certify_posterior(
        fit.posterior, prior_params, fit.sigma_prior, (xb, yb), (data.test.x, data.test.y), num_classes, settings
    )
    model_spec = dict(result.checkpoint["model"])
    mean_model = unfold_posterior_mean(build_model(model_spec), network, fit.posterior)
    method = dict(result.checkpoint["method"])
    method["stage"] = "pbb_posterior"
    metrics = dict(result.checkpoint["metrics"])
    metrics.update({"certificate_" + form: value.value for form, value in certificate.forms.items()})
    metrics.update(
        {
            "stochastic_test_balanced_error": float(certificate.test_error.mean()),
            "mean_test_balanced_error": float(certificate.test_error_mean.mean()),
            "kl": certificate.kl,
            "sigma_prior": fit.sigma_prior,
            "wall_time_s": float(metrics.get("wall_time_s", 0.0) or 0.0) + time.perf_counter() - started,
        }
    )
    checkpoint = make_checkpoint(
        model_spec=model_spec,
        method=method,
        dataset=result.checkpoint["dataset"],
        class_counts=data.class_counts,
        epoch=result.checkpoint["epoch"],
        epochs=result.checkpoint["epochs"],
        metrics=metrics,
        state={"model": mean_model.state_dict()},
    )
    std = fit.posterior.std()
    checkpoint["pbb"] = {
        "prior": {k: v.float().cpu() for k, v in prior_params.items()},
        "posterior_mean": {k: v.detach().float().cpu() for k, v in fit.posterior.mu.items()},
        "posterior_std": {k: v.detach().float().cpu() for k, v in std.items()},
        "sigma_prior": fit.sigma_prior,
        "sigma_grid": list(settings.sigma_grid),
        "prior_fraction": float(prior_fraction),
        "prior_indices": prior_idx.tolist(),
        "bound_indices": bound_idx.tolist(),
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(settings).items()},
        "history": fit.history,
    }
    if out is not None:
        from pathlib import Path

        save_checkpoint(checkpoint, Path(out) / "last.pt")
    return checkpoint, certificate


def unfold_posterior_mean(model: nn.Module, network: PlainNetwork, posterior: GaussianPosterior) -> nn.Module:
    from training.probabilistic import unfold_into

    return unfold_into(model, network, {k: v.detach() for k, v in posterior.mu.items()}).eval()


def posterior_from_pbb(checkpoint: dict[str, Any], path: str = "checkpoint") -> tuple[GaussianPosterior, dict, float]:
    """(Q, prior mean, sigma_prior) stored by ``train_pbb``."""
    from training.models import build_model

    pbb = checkpoint.get("pbb")
    if not isinstance(pbb, dict):
        raise InputError(f"{path}: not a pbb checkpoint (no 'pbb' record)")
    network, _ = fold_model(build_model(dict(checkpoint["model"])).eval())
    fixed = tuple(k for k in pbb["posterior_mean"] if k not in pbb["posterior_std"])
    posterior = GaussianPosterior(network, pbb["posterior_mean"], 1.0, fixed)
    with torch.no_grad():
        for k, v in pbb["posterior_std"].items():
            posterior.rho[k].copy_(torch.log(torch.expm1(v.clamp_min(1e-30).double())).float())
    return posterior, dict(pbb["prior"]), float(pbb["sigma_prior"])

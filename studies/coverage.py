"""Coverage: do the certified bounds fail at most a delta fraction of the time?

The product's core claim. On Gaussian class-conditionals x | y ~ N(mu_y, sigma^2 I) (the one
population whose risk is known: ``training.data.gaussian.GaussianPopulation``), and on a heavy-tailed
variant where each point is scaled by 100 with probability 0.002 (``HeavyTailPopulation``: the largest
norm of a sample says nothing about the population's, issue 11), for R independent long-tailed
training sets:

1. fit a linear head (W, b) on the raw features by minimising the logit-adjusted or plain
   cross-entropy (+ a small L2 term) to convergence with L-BFGS (convex: the fit is deterministic);
2. evaluate every bound:
   - ``library`` rows: every statement of ``ltbounds.bounds.STATEMENTS`` whose kind is "bound"
     (probabilistic, with delta), on EvaluationSplits(train, heldout = a fresh balanced held-out set,
     test = a large fresh balanced sample). The statement's ``measured`` is computed on that large
     sample, so it is the population quantity up to Monte-Carlo error (``fresh_per_class`` draws per
     class; the standard error of a [0, 1]-valued mean is at most 0.5 / sqrt(fresh_per_class));
   - ``heldout`` rows: the per-class 0-1 risk of the fixed head bounded from a held-out set by the
     library's Clopper-Pearson and empirical-Bernstein bounds at delta / C per class (so all C hold
     together with probability >= 1 - delta), and their mean, a bound on the balanced error; the
     truth is the population risk itself (exact for two classes, 200k Monte-Carlo draws otherwise);
3. record whether ``measured <= value`` (``holds``) and whether every assumption held (``valid``).

The summary (``coverage_summary.csv``) gives, per statement x form x scope, the violation fraction
over the R runs with its two-sided 95% Clopper-Pearson interval. For ``certified`` and
``corrected`` forms whose assumptions held, the claim is: fraction <= the promised level
(``promised_level``: delta, or delta / C for the held-out per-class bounds); ``verdict`` is
"consistent" when the interval's lower end is <= that level, and "EXCEEDS its level" otherwise
(significant evidence at the 2.5% level that the bound fails more often than it promises). ``as_printed`` and
``shape`` forms are reported for information: they promise nothing with explicit constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from studies.runner import Run, StudyContext

NAME = "coverage"
QUESTION = "Do certified bounds fail in at most a delta fraction of independent training sets?"
FIGURES = ("coverage_violations",)
VERSION = 3  # 2: held-out rows carry the level (delta / C) they were computed at; 3: heavy tail, clipped ELM
PROBABILISTIC_KINDS = ("bound",)
GUARANTEED_FORMS = ("certified", "corrected")


@dataclass(frozen=True)
class GaussianSetting:
    classes: int
    dim: int
    imbalance: float
    n_max: int
    separation: float = 3.0
    sigma: float = 1.0
    means_seed: int = 0
    # Heavy tail (issue 11): each point, independently, is multiplied by far_scale with probability
    # far_probability, so a sample of a few hundred often holds no far point and its largest norm says
    # nothing about the population's (the failure of the old ELM radius rule, docs/elm_radius.md).
    far_probability: float = 0.0
    far_scale: float = 100.0

    @property
    def label(self) -> str:
        label = f"C{self.classes}_d{self.dim}_rho{self.imbalance:g}_n{self.n_max}"
        return label if self.far_probability == 0 else f"{label}_tail{self.far_probability:g}x{self.far_scale:g}"


class HeavyTailPopulation:
    """A Gaussian population whose points are scaled by ``far_scale`` with probability ``far_probability``.

    x = s * g with g | y ~ N(mu_y, sigma^2 I) and s = far_scale w.p. far_probability, else 1,
    independently per point. Same interface as ``GaussianPopulation`` for this study: ``sample`` and a
    Monte-Carlo ``risk`` (the 0-1 risk has no closed form here).
    """

    def __init__(self, base, far_probability: float, far_scale: float) -> None:
        self.base, self.far_probability, self.far_scale = base, float(far_probability), float(far_scale)

    def _scale(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return np.where(rng.random(count) < self.far_probability, self.far_scale, 1.0)

    def sample(self, class_counts, generator: int):
        import torch

        from training.data.gaussian import Split

        split = self.base.sample(class_counts, generator=generator)
        scale = self._scale(len(split.y), np.random.default_rng([int(generator), 17]))
        return Split(split.x * torch.as_tensor(scale, dtype=split.x.dtype)[:, None], split.y)

    def risk(self, weight, bias, samples_per_class: int, seed: int):
        from training.data.gaussian import PopulationRisk

        rng = np.random.default_rng([int(seed), 29])
        per_class = np.zeros(self.base.num_classes)
        for y in range(self.base.num_classes):
            x = self.base.sample_numpy(y, samples_per_class, rng) * self._scale(samples_per_class, rng)[:, None]
            per_class[y] = float(np.mean(np.argmax(x @ weight.T + bias, axis=1) != y))
        error = np.sqrt(per_class * (1.0 - per_class) / samples_per_class)
        return PopulationRisk(per_class, float(per_class.mean()), error, "monte_carlo", samples_per_class)


@dataclass(frozen=True)
class Settings:
    populations: tuple[GaussianSetting, ...] = (
        GaussianSetting(classes=2, dim=2, imbalance=10.0, n_max=500),
        GaussianSetting(classes=5, dim=8, imbalance=50.0, n_max=500),
        # heavy tail: P(no far point among 550 training samples) = 0.998^550 = 0.33
        GaussianSetting(classes=2, dim=2, imbalance=10.0, n_max=500, far_probability=0.002),
    )
    heads: tuple[str, ...] = ("la", "ce")
    replicates: int = 1000
    block: int = 50  # replicates per run (the unit of resume)
    delta: float = 0.05
    heldout_per_class: int = 200
    fresh_per_class: int = 20_000
    population_samples_per_class: int = 200_000
    fit_iterations: int = 200
    fit_l2: float = 1e-3
    library_statements: bool = True
    seeds: tuple[int, ...] = (0,)


QUICK = Settings(
    populations=(
        GaussianSetting(classes=2, dim=2, imbalance=10.0, n_max=300),
        GaussianSetting(classes=4, dim=8, imbalance=20.0, n_max=300),
        # heavy tail: the training split (330) holds no far point in about half the runs, so R is small
        # there and the held-out and test splits' far points are clipped (docs/elm_radius.md)
        GaussianSetting(classes=2, dim=2, imbalance=10.0, n_max=300, far_probability=0.002),
    ),
    heads=("la",),
    replicates=200,
    block=50,
    fresh_per_class=10_000,
    population_samples_per_class=50_000,
)
FULL = Settings()


def runs(settings: Settings) -> list[Run]:
    planned = []
    for population in settings.populations:
        for head in settings.heads:
            for start in range(0, settings.replicates, settings.block):
                stop = min(start + settings.block, settings.replicates)
                planned.append(
                    Run(
                        f"{population.label}_{head}_r{start:05d}-{stop:05d}",
                        {
                            "population": population.label,
                            "head": head,
                            "classes": population.classes,
                            "imbalance": population.imbalance,
                        },
                    )
                )
    return planned


def fit_linear_head(x, y, class_counts: np.ndarray, head: str, max_iterations: int, l2: float, seed: int):
    """Minimise the mean cross-entropy (``ce``) or logit-adjusted loss (``la``, tau = 1: softmax over
    f + log pi; Menon et al. 2021, via tutorial) of a linear head, + (l2 / 2) ||W||^2 so the optimum is finite
    on separable data, by L-BFGS on the convex objective (numpy gradient; the result does not depend on
    ``seed``, kept for the signature). Returns float64 (W (C, d), b (C,))."""
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    del seed
    features = np.asarray(x, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64)
    classes, dim = int(class_counts.size), features.shape[1]
    shift = np.log(class_counts / class_counts.sum()) if head == "la" else np.zeros(classes)
    onehot = np.eye(classes)[labels]
    n = features.shape[0]

    def objective(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        weight = parameters[: classes * dim].reshape(classes, dim)
        bias = parameters[classes * dim :]
        log_probabilities = log_softmax(features @ weight.T + bias + shift, axis=1)
        loss = -np.sum(onehot * log_probabilities) / n + 0.5 * l2 * np.sum(weight**2)
        residual = (np.exp(log_probabilities) - onehot) / n
        gradient_weight = residual.T @ features + l2 * weight
        return loss, np.concatenate([gradient_weight.ravel(), residual.sum(axis=0)])

    start = np.zeros(classes * dim + classes)
    solution = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": max_iterations})
    return solution.x[: classes * dim].reshape(classes, dim), solution.x[classes * dim :]


def _outputs(x, y, weight, bias, class_counts, split: str, name: str, head: str):
    from ltbounds.outputs import Outputs, Provenance

    features = x.to(dtype=__import__("torch").float64).numpy()
    return Outputs(
        logits=features @ weight.T + bias,
        embeddings=features,
        labels=y.numpy(),
        head_weight=weight,
        head_bias=bias,
        class_counts=class_counts,
        split=split,
        name=name,
        method=head,
        # The embeddings are the raw inputs: fixed features, independent of the training sample.
        provenance=Provenance(features_independent_of_train=True),
    )


def execute(run: Run, settings: Settings, context: StudyContext) -> list[dict]:
    from training.data import gaussian
    from training.data.longtail import long_tail_counts

    setting = next(p for p in settings.populations if p.label == run.params["population"])
    head = run.params["head"]
    start, stop = (int(v) for v in run.key.rsplit("_r", 1)[1].split("-"))
    means = gaussian.gaussian_means(setting.classes, setting.dim, setting.separation, setting.means_seed)
    population = gaussian.GaussianPopulation(means, setting.sigma)
    if setting.far_probability > 0:
        population = HeavyTailPopulation(population, setting.far_probability, setting.far_scale)
    class_counts = long_tail_counts(setting.n_max, setting.classes, setting.imbalance, "exp")
    balanced_heldout = np.full(setting.classes, settings.heldout_per_class)
    balanced_fresh = np.full(setting.classes, settings.fresh_per_class)
    rows: list[dict] = []
    for replicate in range(start, stop):
        seed = 1_000_003 * (settings.seeds[0] + 1) + replicate
        train = population.sample(class_counts, generator=3 * seed)
        heldout = population.sample(balanced_heldout, generator=3 * seed + 1)
        weight, bias = fit_linear_head(
            train.x.numpy(), train.y.numpy(), class_counts, head, settings.fit_iterations, settings.fit_l2, seed
        )
        truth = population.risk(weight, bias, samples_per_class=settings.population_samples_per_class, seed=seed)
        base = {"replicate": replicate, "balanced_risk": truth.balanced, "risk_method": truth.method}
        rows.extend(_heldout_rows(heldout, weight, bias, truth, settings.delta, base))
        if settings.library_statements:
            fresh = population.sample(balanced_fresh, generator=3 * seed + 2)
            rows.extend(
                _library_rows(train, heldout, fresh, weight, bias, class_counts, head, replicate, settings, base)
            )
    return rows


def _heldout_rows(heldout, weight, bias, truth, delta: float, base: dict) -> list[dict]:
    """Per-class 0-1 risk of the fixed head from a held-out split, at delta / C per class."""
    from ltbounds import bounds
    from ltbounds.bounds import clopper_pearson

    features = heldout.x.to(dtype=__import__("torch").float64).numpy()
    labels = heldout.y.numpy()
    errors = (np.argmax(features @ weight.T + bias, axis=1) != labels).astype(np.float64)
    classes = weight.shape[0]
    per_class_delta = delta / classes
    rows = []
    values: dict[str, list[float]] = {"clopper_pearson": [], "empirical_bernstein": []}
    for y in range(classes):
        samples = errors[labels == y]
        for name, value in (
            ("clopper_pearson", _bound_value(clopper_pearson, samples, per_class_delta)),
            ("empirical_bernstein", float(bounds.empirical_bernstein(samples, per_class_delta, 1.0).value)),
        ):
            values[name].append(value)
            rows.append(
                _row(
                    base,
                    "heldout",
                    f"heldout.{name}",
                    "certified",
                    y,
                    value,
                    truth.per_class[y],
                    True,
                    truth.standard_error[y],
                    level=per_class_delta,
                )
            )
    for name, per_class in values.items():
        balanced_value = float(np.mean(per_class))
        standard_error = float(np.sqrt(np.sum(np.square(truth.standard_error))) / classes)
        rows.append(
            _row(
                base,
                "heldout",
                f"heldout.{name}_balanced",
                "certified",
                None,
                balanced_value,
                truth.balanced,
                True,
                standard_error,
                level=delta,
            )
        )
    return rows


def _bound_value(clopper_pearson, samples: np.ndarray, delta: float) -> float:
    """One-sided (1 - delta) Clopper-Pearson upper bound on the mean of 0/1 ``samples``: the library's
    two-sided interval at 2 delta (its docstring's recipe), upper end."""
    lower, upper = clopper_pearson(int(samples.sum()), int(samples.size), min(2 * delta, 0.999))
    return float(upper)


def _library_rows(train, heldout, fresh, weight, bias, class_counts, head, replicate, settings, base) -> list[dict]:
    from ltbounds.statements import STATEMENTS, EvaluationSplits

    statements = {k: s for k, s in STATEMENTS.items() if s.kind in PROBABILISTIC_KINDS}
    name = f"{head}_{replicate}"
    splits = EvaluationSplits(
        train=_outputs(train.x, train.y, weight, bias, class_counts, "train", name, head),
        heldout=_outputs(heldout.x, heldout.y, weight, bias, class_counts, "heldout", name, head),
        test=_outputs(fresh.x, fresh.y, weight, bias, class_counts, "test", name, head),
    )
    standard_error = 0.5 / math.sqrt(settings.fresh_per_class)
    rows = []
    for statement_id, statement in statements.items():
        try:
            results = statement.evaluate(splits, settings.delta)
        except Exception as error:  # noqa: BLE001 - one failing statement must not hide the others
            rows.append(
                {
                    **base,
                    "source": "library",
                    "statement": statement_id,
                    "form": "error",
                    "note": f"{type(error).__name__}: {error}"[:300],
                }
            )
            continue
        for result in results:
            if math.isnan(result.measured):
                continue
            rows.append(
                _row(
                    base,
                    "library",
                    result.statement,
                    result.form,
                    result.class_index,
                    result.value,
                    result.measured,
                    result.valid,
                    standard_error,
                    split=result.split,
                    assumptions_violated=";".join(result.assumptions_violated),
                )
            )
    return rows


def _row(base, source, statement, form, class_index, value, measured, valid, standard_error, **extra) -> dict:
    value, measured = float(value), float(measured)
    return {
        **base,
        "source": source,
        "statement": statement,
        "form": form,
        "class": "all" if class_index is None else int(class_index),
        "value": value,
        "measured": measured,
        "slack": value - measured,
        "holds": bool(measured <= value + 1e-12 * max(1.0, abs(value))),
        "valid": bool(valid),
        "measured_standard_error": float(standard_error),
        **extra,
    }


def clopper_pearson_interval(violations: int, runs: int, level: float = 0.95) -> tuple[float, float]:
    """Two-sided exact binomial interval for a proportion (Clopper and Pearson 1934)."""
    from scipy.stats import beta

    alpha = 1.0 - level
    lower = 0.0 if violations == 0 else float(beta.ppf(alpha / 2, violations, runs - violations + 1))
    upper = 1.0 if violations == runs else float(beta.ppf(1 - alpha / 2, violations + 1, runs - violations))
    return lower, upper


def _most_common(values: pd.Series) -> str:
    values = values.dropna().astype(str)
    values = values[values != ""]
    return "" if values.empty else str(values.value_counts().index[0])


def summarize(table: pd.DataFrame, settings: Settings) -> dict[str, pd.DataFrame]:
    if "holds" not in table.columns:
        return {}
    rows = table[table["form"].isin(["as_printed", "certified", "corrected", "shape"])].copy()
    if rows.empty:
        return {}
    rows["class"] = rows["class"].astype(str)
    rows["violated"] = ~rows["holds"].astype(bool)
    rows["valid"] = rows["valid"].astype(bool)
    out = []
    # One group per bound and class: its R runs are independent, so the exact binomial interval applies.
    keys = ["population", "head", "source", "statement", "form", "class"]
    for key, group in rows.groupby(keys, dropna=False):
        valid = group[group["valid"]]
        runs_count, violations = int(len(valid)), int(valid["violated"].sum())
        lower, upper = clopper_pearson_interval(violations, runs_count) if runs_count else (math.nan, math.nan)
        fraction = violations / runs_count if runs_count else math.nan
        form = key[4]
        # The failure probability this bound promises: delta, or delta / C for a per-class bound that was
        # computed at that level so that all C hold together.
        levels = group["level"].dropna() if "level" in group else pd.Series(dtype=float)
        promised = float(levels.iloc[0]) if len(levels) else settings.delta
        if form in GUARANTEED_FORMS and runs_count:
            verdict = "consistent" if lower <= promised else "EXCEEDS its level"
        else:
            verdict = "no guarantee (informative)" if runs_count else "assumptions never held"
        out.append(
            {
                **dict(zip(keys, key, strict=True)),
                "runs": runs_count,
                "runs_assumptions_violated": int((~group["valid"]).sum()),
                "violations": violations,
                "violation_fraction": fraction,
                "ci_low": lower,
                "ci_high": upper,
                "delta": settings.delta,
                "promised_level": promised,
                "median_slack": float(valid["slack"].median()) if len(valid) else math.nan,
                "verdict": verdict,
                "assumptions_violated": _most_common(group.loc[~group["valid"], "assumptions_violated"])
                if "assumptions_violated" in group
                else "",
            }
        )
    return {"coverage_summary": pd.DataFrame(out)}

"""Union bound vs data-dependent contraction bound as the imbalance ratio and kappa vary.

Wang et al. (wang23, Proposition 2): if the local Lipschitz constants are mu_y proportional to
N_y^{-kappa}, the complexity term of Theorem 1 (data-dependent contraction, eq. 14),

    T = C_S(F) / (C pi_C) * sum_y mu_y sqrt(pi_y),         C_S(F) = c / sqrt(N)      (Asm. 1)

is smaller than that of the union bound (Proposition 1 + the contraction Lemma 1, eq. 7)

    U = (1/C) sum_y mu C_{S_y}(F),                          C_{S_y}(F) = c / sqrt(N_y)

when kappa > 1. The union bound's contraction lemma uses one *global* Lipschitz constant, so we read
mu = max_y mu_y (the tail class's). Under that reading, term by term,
T_y / U_y = (N_y / N_C)^{1 - kappa}: T <= U for every count vector once kappa >= 1, with equality
only at balance, and T > U for kappa < 1 on imbalanced counts. We also report the other reading
(union bound with the per-class mu_y), under which T >= U for *every* kappa: Proposition 2 then fails,
which says the gain comes from the locality of mu_y, not from bounding the balanced risk directly.

Three parts, all in one tidy table (``part`` column):

- ``sampled``: exponential and step long-tail profiles over a grid of (C, rho, kappa), plus random
  count vectors; quantities ``union``, ``contraction``, ``ratio`` = contraction / union (shape terms,
  unit constants, labelled form="shape": for ranking only, never a guarantee), the confidence
  terms of both bounds, 3M sqrt(log(2C/delta)/(2N_y)) averaged over y vs 3M/(C pi_C) sqrt(log(2/delta)/(2N)),
  and the whole bounds from ``ltbounds.bounds.wang23`` (``union_bound`` / ``contraction_bound``,
  certified and as printed, at zero empirical risk) with their ratio ``ratio_certified_bound``.
- ``symbolic``: SymPy derives the ratio for two classes and for the step profile in closed form,
  (1 + rho^{1/2 - kappa}) / (1 + rho^{-1/2}), and solves ratio < 1 <=> kappa > 1; each closed form
  is also evaluated on the grid and compared with the numeric value.
- ``checkpoint``: on trained checkpoints (when any are found), the per-class mu_y of Lemma 4 from
  the model's logits on its training split, the fitted kappa (minus the slope of log mu_y on
  log N_y), and both shape terms. mu_y is Lemma 4 (the corrected reading of
  ``bounds.vs_local_lipschitz``) for the loss each checkpoint was trained with at its last epoch
  (its VS parameters alpha, beta, Delta: ``Outputs.loss_parameters``, recorded by
  ``outputs_from_checkpoint``; ``loss_reading`` names that loss, "ce" where the method has no VS
  parameters).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from studies.runner import MissingPiece, Run, StudyContext

if TYPE_CHECKING:
    from ltbounds.outputs import LossParameters

NAME = "sharpness"
QUESTION = "When is the data-dependent contraction bound sharper than the union bound (wang23, Prop. 2)?"
FIGURES = ("sharpness_ratio", "sharpness_symbolic")
VERSION = 3  # 2: checkpoint rows say which loss mu_y is computed for; 3: mu_y for the method's own loss


@dataclass(frozen=True)
class Settings:
    rhos: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
    kappas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
    classes: tuple[int, ...] = (2, 10, 100)
    profiles: tuple[str, ...] = ("exp", "step")
    n_max: int = 5000
    random_count_vectors: int = 200
    delta: float = 0.05
    loss_bound: float = 1.0  # M: the loss takes values in [0, M]
    checkpoint_globs: tuple[str, ...] = ("results/demo/training/*/last.pt", "results/methods_table/scratch/*/last.pt")
    seeds: tuple[int, ...] = (0,)


QUICK = Settings(
    rhos=(1.0, 2.0, 10.0, 100.0, 1000.0),
    kappas=(0.0, 0.5, 1.0, 1.5, 2.0),
    classes=(2, 10),
    random_count_vectors=40,
)
FULL = Settings()


def long_tail_counts(n_max: int, classes: int, rho: float, profile: str) -> np.ndarray:
    """Cao et al.'s counts: exp n_i = n_max rho^{-i/(C-1)}; step: half the classes at n_max/rho."""
    from training.data import long_tail_counts as library_counts

    return np.asarray(library_counts(n_max, classes, rho, profile), dtype=np.int64)


def shape_terms(class_counts: np.ndarray, mu: np.ndarray) -> dict[str, float]:
    """The complexity terms of eq. (7) and eq. (14) with C_S(F) = 1/sqrt(N) (Asm. 1, unit constant).

    union_global: (1/C) sum_y max(mu) / sqrt(N_y); union_local: (1/C) sum_y mu_y / sqrt(N_y);
    contraction: 1/(C pi_C) * N^{-1/2} * sum_y mu_y sqrt(pi_y). Source: wang23, Prop. 1, Lemma 1, Thm. 1;
    computed by ``ltbounds.bounds.wang23.prop2_complexity_terms`` (this renames its keys for the table).
    """
    from ltbounds.bounds.wang23 import prop2_complexity_terms

    terms = prop2_complexity_terms(np.asarray(class_counts, dtype=np.int64), mu)
    return {"union": terms["union_global"], "union_local_mu": terms["union_local"], "contraction": terms["contraction"]}


def confidence_terms(class_counts: np.ndarray, delta: float, loss_bound: float) -> dict[str, float]:
    """Union: (1/C) sum_y 3M sqrt(log(2C/delta)/(2N_y)); contraction: 3M/(C pi_C) sqrt(log(2/delta)/(2N)).

    The ``confidence`` terms of ``wang23.union_bound`` and ``wang23.contraction_bound`` (both built on
    ``ltbounds.bounds.complexity.rademacher_confidence_term``); they do not depend on the risks or
    complexities, so those are passed as zeros."""
    from ltbounds.bounds import wang23

    counts = np.asarray(class_counts, dtype=np.int64)
    zero = np.zeros(counts.size)
    union = wang23.union_bound(counts, zero, zero, loss_bound, delta).terms["confidence"]
    contraction = wang23.contraction_bound(counts, zero, zero, zero, loss_bound, delta).terms["confidence"]
    return {"union_confidence": float(union), "contraction_confidence": float(contraction)}


def library_bounds(counts: np.ndarray, mu: np.ndarray, delta: float, loss_bound: float) -> dict[str, float]:
    """The whole bounds of ``ltbounds.bounds.wang23`` (certified and as printed) at zero empirical risk,
    with per-class hypothesis complexity 1/sqrt(N_y) (Asm. 1, unit constant): the union bound with the
    global Lipschitz constant max mu (loss complexity max(mu)/sqrt(N_y)), the contraction bound with mu_y."""
    from ltbounds.bounds import wang23

    counts = np.asarray(counts, dtype=np.int64)
    zero = np.zeros(counts.size)
    hypothesis = 1.0 / np.sqrt(counts)
    out = {}
    for form in ("certified", "as_printed"):
        union = wang23.union_bound(counts, zero, mu.max() * hypothesis, loss_bound, delta, form=form).value
        contraction = wang23.contraction_bound(counts, zero, mu, hypothesis, loss_bound, delta, form=form).value
        out[f"union_{form}_bound"] = float(union)
        out[f"contraction_{form}_bound"] = float(contraction)
        out[f"ratio_{form}_bound"] = float(contraction / union)
    return out


def _rows_for_counts(counts: np.ndarray, kappa: float, settings: Settings, base: dict) -> list[dict]:
    mu = counts.astype(np.float64) ** (-kappa)
    mu = mu / mu.max()
    terms = shape_terms(counts, mu)
    terms |= confidence_terms(counts, settings.delta, settings.loss_bound)
    terms["ratio"] = terms["contraction"] / terms["union"]
    terms["ratio_local_mu"] = terms["contraction"] / terms["union_local_mu"]
    terms["contraction_sharper"] = float(terms["ratio"] < 1.0 - 1e-9)
    terms |= library_bounds(counts, mu, settings.delta, settings.loss_bound)
    observed_rho = float(counts.max() / counts.min())
    return [
        {**base, "kappa": kappa, "observed_rho": observed_rho, "quantity": name, "value": value, "form": "shape"}
        for name, value in terms.items()
    ]


def symbolic_ratio() -> tuple[object, object, str]:
    """SymPy: T/U for two classes (N_1 = rho N_2) and for the step profile, and where it is < 1.

    Returns (two-class ratio, step-profile ratio, the solved condition as text).
    """
    import sympy as sp

    rho, kappa, n_tail, c = sp.symbols("rho kappa N_C c", positive=True)
    # Two classes.
    counts = [rho * n_tail, n_tail]
    total = sum(counts)
    mu = [m ** (-kappa) for m in counts]
    union = sp.Rational(1, 2) * sum(mu[1] * c / sp.sqrt(m) for m in counts)
    contraction = (
        (c / sp.sqrt(total))
        / (2 * counts[1] / total)
        * sum(mu_y * sp.sqrt(m / total) for mu_y, m in zip(mu, counts, strict=True))
    )
    two_class = sp.simplify(sp.powsimp(sp.expand_power_base(contraction / union, force=True), force=True))
    # Step profile: C = 2k classes, k at rho N_C and k at N_C.
    k = sp.symbols("k", positive=True, integer=True)
    total_step = k * (rho + 1) * n_tail
    union_step = (1 / (2 * k)) * k * mu[1] * c * (1 / sp.sqrt(rho * n_tail) + 1 / sp.sqrt(n_tail))
    contraction_step = (
        (c / sp.sqrt(total_step))
        / (2 * k * n_tail / total_step)
        * k
        * (mu[0] * sp.sqrt(rho * n_tail / total_step) + mu[1] * sp.sqrt(n_tail / total_step))
    )
    step = sp.simplify(sp.powsimp(sp.expand_power_base(contraction_step / union_step, force=True), force=True))
    # ratio < 1  <=>  rho^{1/2-kappa} < rho^{-1/2}  <=>  (1 - kappa) log rho < 0.
    closed = (1 + rho ** (sp.Rational(1, 2) - kappa)) / (1 + rho ** sp.Rational(-1, 2))
    for derived in (two_class, step):
        difference = sp.simplify(sp.powsimp(sp.expand_power_base(derived - closed, force=True), force=True))
        if difference != 0:
            # Fall back to a numeric identity check at a few points: symbolic simplification can stall.
            for values in ((3, sp.Rational(3, 2), 7), (10, sp.Rational(1, 2), 2), (100, 2, 5)):
                point = dict(zip((rho, kappa, n_tail), values, strict=True)) | {c: 1, k: 3}
                if abs(float((derived - closed).subs(point))) > 1e-12:
                    raise RuntimeError(f"SymPy ratio {derived} disagrees with {closed}")
    log_rho = sp.symbols("L", positive=True)  # log rho > 0 for rho > 1
    condition = sp.solve_univariate_inequality((1 - kappa) * log_rho < 0, kappa, relational=True)
    return two_class, step, str(condition)


def _closed_form(rho: float, kappa: float) -> float:
    return (1 + rho ** (0.5 - kappa)) / (1 + rho**-0.5)


def runs(settings: Settings) -> list[Run]:
    planned = [Run("symbolic", {"part": "symbolic"})]
    for classes in settings.classes:
        for profile in settings.profiles:
            planned.append(Run(f"sampled_C{classes}_{profile}", {"part": "sampled", "classes": classes}))
        planned.append(Run(f"random_C{classes}", {"part": "random", "classes": classes}))
    for path in _checkpoints(settings):
        planned.append(Run(f"checkpoint_{_safe(path)}", {"part": "checkpoint", "checkpoint": str(path)}))
    return planned


def _safe(path: Path) -> str:
    return "_".join(path.with_suffix("").parts[-3:]).replace(" ", "_")


def _checkpoints(settings: Settings) -> list[Path]:
    import glob

    found: list[Path] = []
    for pattern in settings.checkpoint_globs:
        found.extend(Path(p) for p in sorted(glob.glob(pattern)))
    return found


def execute(run: Run, settings: Settings, context: StudyContext) -> list[dict]:
    part = run.params["part"]
    if part == "symbolic":
        two_class, step, condition = symbolic_ratio()
        rows = [
            {"quantity": "ratio_two_class_expr", "expression": str(two_class), "value": np.nan},
            {"quantity": "ratio_step_expr", "expression": str(step), "value": np.nan},
            {"quantity": "sharper_condition", "expression": f"rho > 1 and {condition}", "value": np.nan},
        ]
        for rho in settings.rhos:
            for kappa in settings.kappas:
                counts = long_tail_counts(settings.n_max, 2, rho, "step")
                mu = counts.astype(np.float64) ** (-kappa)
                terms = shape_terms(counts, mu / mu.max())
                rows.append(
                    {
                        "quantity": "ratio_closed_form",
                        "rho": rho,
                        "kappa": kappa,
                        "value": _closed_form(rho, kappa),
                        "numeric": terms["contraction"] / terms["union"],
                        "observed_rho": float(counts.max() / counts.min()),
                    }
                )
        return rows
    if part == "sampled":
        classes = run.params["classes"]
        profile = run.key.rsplit("_", 1)[1]
        rows = []
        for rho in settings.rhos:
            counts = long_tail_counts(settings.n_max, classes, rho, profile)
            for kappa in settings.kappas:
                base = {"profile": profile, "rho": rho}
                rows.extend(_rows_for_counts(counts, kappa, settings, base))
        return rows
    if part == "random":
        classes = run.params["classes"]
        generator = np.random.default_rng([settings.seeds[0], classes])
        rows = []
        for index in range(settings.random_count_vectors):
            # log-uniform counts between n_max/1000 and n_max: every ordering and gap shape.
            counts = np.maximum(np.floor(settings.n_max * 10 ** generator.uniform(-3, 0, size=classes)), 2)
            counts = counts.astype(np.int64)
            for kappa in settings.kappas:
                base = {"profile": "random", "rho": float(counts.max() / counts.min()), "draw": index}
                rows.extend(_rows_for_counts(counts, kappa, settings, base))
        return rows
    if part == "checkpoint":
        return _checkpoint_rows(Path(run.params["checkpoint"]), settings, context)
    raise ValueError(f"unknown part {part!r}")


def _loss_reading(parameters: LossParameters | None) -> str:
    """The loss whose Lemma 4 constants ``vs_local_lipschitz`` used: the checkpoint's own when its
    VS parameters were recorded, otherwise the cross-entropy (its fallback)."""
    if parameters is None:
        return "ce"
    if parameters.unknown_reason is not None:
        return f"ce (the checkpoint's own loss parameters are unknown: {parameters.unknown_reason})"
    return (parameters.loss or "ce") if parameters.has_vs_parameters else "ce"


def _checkpoint_rows(path: Path, settings: Settings, context: StudyContext) -> list[dict]:
    """Lemma 4's mu_y on a trained checkpoint (``vs_local_lipschitz_of`` on the training split,
    corrected reading, the VS parameters the checkpoint's outputs carry), the fitted kappa (slope of
    log mu_y on log N_y), and both shape terms with those mu_y."""
    from ltbounds.statements.wang23 import vs_local_lipschitz_of
    from studies.checkpoint_outputs import checkpoint_outputs

    outputs, checkpoint = checkpoint_outputs(path, ("train",), context.data_root)
    train = outputs["train"]
    # a checkpoint whose loss parameters are unknown is read as CE explicitly, and loss_reading says so
    unknown = train.loss_parameters is not None and train.loss_parameters.unknown_reason is not None
    ce = {"alpha": np.ones(train.num_classes), "beta": np.ones(train.num_classes)} if unknown else {}
    mu = np.asarray(vs_local_lipschitz_of(train, "corrected", **ce).mu, dtype=np.float64)
    if not np.all(np.isfinite(mu)):
        raise MissingPiece(f"vs_local_lipschitz gave non-finite mu_y on {path}")
    counts = train.class_counts
    positive = mu > 0
    slope = np.nan
    if positive.sum() > 1 and np.ptp(np.log(counts[positive])) > 0:
        slope = float(np.polyfit(np.log(counts[positive]), np.log(mu[positive]), 1)[0])
    terms = shape_terms(counts, mu)
    terms["ratio"] = terms["contraction"] / terms["union"] if terms["union"] > 0 else np.nan
    terms["fitted_kappa"] = -slope
    method = str((checkpoint.get("method") or {}).get("name", train.method))
    base = {
        "method": method,
        "dataset": checkpoint["dataset"]["name"],
        "rho": float(counts.max() / counts.min()),
        "form": "shape",
        "loss_reading": _loss_reading(train.loss_parameters),
    }
    rows = [{**base, "quantity": key, "value": value} for key, value in terms.items()]
    rows += [
        {**base, "quantity": "mu_y", "class": int(y), "class_count": int(counts[y]), "value": float(mu[y])}
        for y in range(counts.size)
    ]
    return rows


def summarize(table: pd.DataFrame, settings: Settings) -> dict[str, pd.DataFrame]:
    """Per part and kappa: the range of contraction / union over the count vectors and how often the
    contraction side is smaller, for the complexity terms (``ratio``) and for the whole certified
    bounds of ``ltbounds.bounds.wang23`` at zero empirical risk (``ratio_certified_bound``)."""
    wanted = ["ratio", "ratio_certified_bound"]
    sampled = table[table["part"].isin(["sampled", "random"]) & table["quantity"].isin(wanted)]
    if sampled.empty:
        return {}
    summary = sampled.groupby(["quantity", "part", "kappa"], as_index=False).agg(
        cells=("value", "size"),
        ratio_min=("value", "min"),
        ratio_max=("value", "max"),
        sharper_fraction=("value", lambda v: float(np.mean(v < 1.0 - 1e-9))),
    )
    return {"sharpness_summary": summary}

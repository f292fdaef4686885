"""The maths of the four seed papers and the classical results they rest on: pure functions of
arrays (float64 NumPy/SciPy) that know nothing of ``Outputs`` or statements.

One submodule per source, each with its public functions listed in ``__all__`` (re-exported here,
so ``bounds.elm_prop1`` works). Tags and citations of the papers: docs/papers.md.

- ``concentration``   classical results with explicit constants (Hoeffding, Bennett,
                      Maurer-Pontil empirical Bernstein, Clopper-Pearson)
- ``complexity``      the Rademacher generalisation bound, Maurer's vector contraction and pluggable
                      Rademacher-complexity providers
- ``pacbayes``        PAC-Bayes-kl and its inverse, training objectives, balanced-error certificates
- ``elm``             elm: Omega_pull, Proposition 1, Lemmas 3-5
- ``elm_risk_bound``  elm: Proposition 2 (binary and multi-class), its loss range and radius rule
- ``drolt``           drolt: the KL radius (10), Theorem 1, the robust loss (18)
- ``tutorial``        tutorial: Fisher consistency, threshold moving, LDAM margins, class-balanced
                      weights, rwSAM, LTSSL, RECORDS
- ``representation``  tutorial: simplex ETF, dot-regression loss, GH, TS and BCL
- ``wang23``          wang23: Proposition 1 to Remark 2, Lemma 1 on finite classes
- ``vs_family``       wang23's VS loss (eq. 3): gradient, bound M, Lemma 4 constants, the family of
                      Sec. 2.1 and eq. (4), insights (In3) and (In4-a)

``BoundResult`` and ``Assumption`` (``result``) are what every statement evaluator returns; the
statements themselves (ids, printed text, verdicts, evaluators) are declared in
``ltbounds.statements``.
"""

from __future__ import annotations

from ltbounds.bounds import (
    complexity,
    concentration,
    drolt,
    elm,
    elm_risk_bound,
    pacbayes,
    representation,
    tutorial,
    vs_family,
    wang23,
)
from ltbounds.bounds.result import ASSUMPTION_STATUSES, FORMS, Assumption, BoundResult

_SOURCES = (
    concentration,
    complexity,
    pacbayes,
    elm,
    elm_risk_bound,
    drolt,
    tutorial,
    representation,
    vs_family,
    wang23,
)

for _module in _SOURCES:
    for _name in _module.__all__:
        globals()[_name] = getattr(_module, _name)

__all__ = [
    "ASSUMPTION_STATUSES",
    "FORMS",
    "Assumption",
    "BoundResult",
] + [name for module in _SOURCES for name in module.__all__]

"""Every inequality of the seed papers, evaluable on concrete outputs.

One submodule per source, each with its public functions listed in ``__all__`` (re-exported here,
so ``bounds.elm_prop1`` works) and a tuple ``STATEMENTS`` of ``Statement`` objects:

- ``concentration``  classical results with explicit constants (Hoeffding, Bennett,
                     Maurer-Pontil empirical Bernstein, Clopper-Pearson)
- ``complexity``     the Rademacher generalisation bound, Maurer's vector contraction and pluggable
                     Rademacher-complexity providers (linear head by Monte Carlo with a McDiarmid
                     term, closed form, spectral-norm product, user value)
- ``elm``            seed 000 (ELM): Omega_pull, Proposition 1, Lemmas 3-5, Proposition 2
- ``drolt``          seed 001 (DRO-LT): the KL radius (10), Theorem 1
- ``tutorial``       seed 002 (tutorial): Fisher consistency, threshold moving, LDAM margins,
                     effective number, simplex ETF
- ``wang23``         seed 003 (Wang et al. 2023): Proposition 1 to Remark 2
- ``vs_family``      wang23's VS loss (eq. 3): gradient, bound M, Lemma 4 constants, the family of
                     Sec. 2.1 and eq. (4), insights (In3) and (In4-a)

``STATEMENTS`` maps every statement id to its ``Statement``; ``evaluate`` and the studies iterate
over it rather than over a hand-kept list.
"""

from __future__ import annotations

from ltbounds.bounds import complexity, concentration, drolt, elm, pacbayes, tutorial, wang23
from ltbounds.bounds import elm_risk_bound
from ltbounds.bounds import representation
from ltbounds.bounds import vs_family
from ltbounds.bounds.result import ASSUMPTION_STATUSES, FORMS, Assumption, BoundResult, EvaluationSplits, Statement

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

STATEMENTS: dict[str, Statement] = {}
for _module in _SOURCES:
    for _statement in getattr(_module, "STATEMENTS", ()):
        if _statement.id in STATEMENTS:
            raise RuntimeError(f"statement id {_statement.id!r} is defined twice")
        STATEMENTS[_statement.id] = _statement

__all__ = [
    "ASSUMPTION_STATUSES",
    "FORMS",
    "STATEMENTS",
    "Assumption",
    "BoundResult",
    "EvaluationSplits",
    "Statement",
] + [name for module in _SOURCES for name in module.__all__]

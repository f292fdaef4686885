"""The embedding radius R of the certified ELM forms (issue 11, section 1; docs/elm_radius.md).

The counterexample of the issue: two classes, a 1-d embedding, the head W = [[-1], [1]], b = 0,
training counts (50, 50). Class 1 sits at x = 1; class 0 at x = 0 with probability 0.97 and at
x = 300 with probability 0.03. Samples of 20 per class, delta = 0.1. The population is discrete, so
every risk below is exact (no Monte Carlo).

- The old rule (R = the largest norm seen, the assumption ||Phi|| <= R marked satisfied) bounds the
  unclipped model's balanced risk and fails whenever the sample holds no far point: 0.97^20 = 54%.
- The new rule (R from a fixed grid chosen on the training split; the clipped model f_R certified on
  the held-out split at delta/2, P_y(||Phi|| > R) by Clopper-Pearson at delta/(2C)) must fail, jointly,
  in at most a delta fraction of draws (Clopper-Pearson interval over the draws).
- Power checks beside it: the same evaluation with the old rule, and with the bound's confidence
  terms x0.1, must show violations above delta, so the coverage test can fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ltbounds import bounds, statements
from ltbounds.bounds import elm_risk_bound
from ltbounds.bounds.concentration import clopper_pearson
from ltbounds.checks import InputError
from ltbounds.outputs import Outputs
from ltbounds.statements import EvaluationSplits
from ltbounds.statements import elm as elm_statements

WEIGHT = np.array([[-1.0], [1.0]])
BIAS = np.zeros(2)
COUNTS = np.array([50, 50])
FAR, FAR_PROBABILITY = 300.0, 0.03
PER_CLASS, DELTA, DRAWS = 20, 0.1, 200


def _loss(x: float, y: int) -> float:
    """Logit-adjusted loss of the head at the 1-d embedding x (equal priors: the adjustment cancels)."""
    logits = WEIGHT[:, 0] * x + BIAS
    return float(np.logaddexp(0.0, logits[1 - y] - logits[y]))


def _population_risks(radius: float) -> np.ndarray:
    """Exact class-conditional risks of the model clipped at ``radius`` (math.inf: unclipped)."""
    far = min(FAR, radius)
    class0 = (1 - FAR_PROBABILITY) * _loss(0.0, 0) + FAR_PROBABILITY * _loss(far, 0)
    return np.array([class0, _loss(min(1.0, radius), 1)])


def _draw(rng: np.random.Generator, split: str) -> Outputs:
    x0 = np.where(rng.random(PER_CLASS) < FAR_PROBABILITY, FAR, 0.0)
    x = np.concatenate([x0, np.ones(PER_CLASS)])[:, None]
    labels = np.repeat([0, 1], PER_CLASS)
    return Outputs(x @ WEIGHT.T + BIAS, x, labels, WEIGHT, BIAS, COUNTS, split=split)


def _upper_interval(violations: int) -> tuple[float, float]:
    return clopper_pearson(violations, DRAWS, 0.05)


def _draws(seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(DRAWS):
        yield _draw(rng, "train"), _draw(rng, "heldout"), _draw(rng, "test")


def _certified_rows(train: Outputs, heldout: Outputs, test: Outputs):
    rows = statements.STATEMENTS["elm.prop2_multiclass"].evaluate(EvaluationSplits(train, heldout, test), DELTA)
    certified = [row for row in rows if row.form == "certified"]
    assert certified, "the held-out split must give certified rows"
    return certified


def test_old_rule_is_violated_in_about_half_of_the_draws():
    """The printed rule: R = the largest norm in the sample, ||Phi|| <= R assumed in the population."""
    truth = _population_risks(math.inf).mean()
    violations = 0
    for _, heldout, _ in _draws():
        result = bounds.elm_prop2_multiclass(
            heldout.embeddings, heldout.labels, WEIGHT, BIAS, COUNTS, DELTA, heldout.priors
        )
        violations += truth > result.value
    lower, upper = _upper_interval(violations)
    # 0.97^20 = 0.544 of the samples hold no far point, and then the bound is far below the risk
    assert lower > DELTA
    assert lower <= (1 - FAR_PROBABILITY) ** PER_CLASS <= upper


def _new_rule_violations(shrink: float = 1.0) -> tuple[int, int]:
    """(violations, draws where R excluded the far point) of the evaluator's certified row; ``shrink``
    multiplies the confidence terms (value - empirical risk) of the risk bound and of the tail bound."""
    violations = clipped = 0
    for train, heldout, test in _draws():
        rows = _certified_rows(train, heldout, test)
        overall = next(row for row in rows if row.class_index is None)
        radius = overall.terms["radius"]
        assert radius == elm_risk_bound.select_radius(train.embeddings)  # chosen on the training split only
        clipped += radius < FAR
        risks = _population_risks(radius)
        assert overall.measured == pytest.approx(_test_risk(test, radius))
        empirical = overall.terms["empirical_risk"]
        value = empirical + shrink * (overall.value - empirical)
        failed = risks.mean() > value
        # the tail bounds are part of the same 1 - delta event
        true_tail = np.array([FAR_PROBABILITY if radius < FAR else 0.0, 0.0])
        for row in rows:
            if row.class_index is not None:
                fraction = row.terms["clipped_fraction"]
                tail = fraction + shrink * (row.terms["tail_probability_upper"] - fraction)
                failed |= true_tail[row.class_index] > tail
        violations += failed
    return violations, clipped


def _test_risk(test: Outputs, radius: float) -> float:
    x = np.minimum(test.embeddings[:, 0], radius)
    return float(np.mean([np.mean([_loss(v, y) for v in x[test.labels == y]]) for y in (0, 1)]))


def test_new_rule_fails_at_most_delta_often_and_the_test_can_fail():
    violations, clipped = _new_rule_violations()
    lower, upper = _upper_interval(violations)
    assert lower <= DELTA, f"{violations}/{DRAWS} violations: the certified ELM row fails more often than delta"
    # the draws exercise the clipping: most training splits hold no far point, so R = 1 < 300
    assert clipped > DRAWS // 3
    # power check: the same test with the confidence terms x0.1 detects violations above delta (60/200).
    # x0.5 and x0.25 do not (0/200): at n_y = 20 Maurer-Pontil's range term 7 B ln(2C/delta) / (3 (n - 1))
    # alone is ~2.6x the clipped balanced risk here, so only a gross error in the constants shows.
    shrunk, _ = _new_rule_violations(shrink=0.1)
    low, _ = _upper_interval(shrunk)
    assert low > DELTA, f"power check: {shrunk}/{DRAWS} violations with the confidence terms x0.1"


def test_certified_row_says_what_it_certifies():
    train, heldout, test = next(_draws(3))
    rows = _certified_rows(train, heldout, test)
    for row in rows:
        assert row.is_guarantee  # the clipped model's bound: every assumption checked and held
        (radius_assumption,) = [a for a in row.assumptions if a.name == "bounded embeddings"]
        assert "clipped model" in radius_assumption.description
        assert row.terms["value_truncated_unclipped"] >= row.value


def test_cosine_head_needs_no_clipping_and_is_checked():
    rng = np.random.default_rng(1)
    embeddings = rng.normal(size=(40, 3)) * np.where(rng.random(40) < 0.1, 1e3, 1.0)[:, None]
    weight = rng.normal(size=(2, 3))
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    cosines = unit @ (weight / np.linalg.norm(weight, axis=1, keepdims=True)).T
    labels = np.repeat([0, 1], 20)
    good = Outputs(5.0 * cosines, embeddings, labels, weight, np.zeros(2), COUNTS, head_kind="cosine", head_scale=5.0)
    (fixed, bounded) = elm_statements._common_assumptions(True, 1.0, good)
    assert bounded.satisfied is True
    # logits beyond the scale: the head is not what it claims, the check fails
    bad = Outputs(50.0 * cosines, embeddings, labels, weight, np.zeros(2), COUNTS, head_kind="cosine", head_scale=5.0)
    assert elm_statements._common_assumptions(True, 1.0, bad)[1].satisfied is False


def test_clip_and_select_radius():
    z = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    clipped = elm_risk_bound.clip_embeddings(z, 1.0)
    np.testing.assert_allclose(clipped, [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]])
    assert elm_risk_bound.select_radius(z) == 8.0  # the grid point above ||(3, 4)|| = 5
    assert elm_risk_bound.select_radius(np.array([[1.0]])) == 1.0
    with pytest.raises(InputError, match="radius"):
        elm_risk_bound.clip_embeddings(z, 0.0)
    with pytest.raises(InputError, match="clip=True needs a radius"):
        bounds.elm_prop2_multiclass(z[:2], [0, 1], np.eye(2), np.zeros(2), [5, 5], 0.1, 0.5, clip=True)

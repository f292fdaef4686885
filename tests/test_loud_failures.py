"""Wrong results are loud (issue 11, section 1): a checkpoint whose loss cannot be read is never
evaluated with plain CE's parameters, and a missing mu_y says why."""

from __future__ import annotations

import numpy as np
import pytest

from ltbounds import statements
from ltbounds.checks import InputError
from ltbounds.evaluation import evaluate, local_lipschitz
from ltbounds.outputs import LossParameters, Outputs
from ltbounds.statements import EvaluationSplits

checkpoint_outputs = pytest.importorskip("training.checkpoint_outputs")
training_loss_parameters = checkpoint_outputs.training_loss_parameters

COUNTS = np.array([40, 20, 10])


def _checkpoint(name: str, hparams: dict | None = None) -> dict:
    pytest.importorskip("training.methods")
    from training.methods import RECIPES, resolved_hparams

    stored = resolved_hparams(RECIPES[name], 10, 5, "cifar10") if hparams is None else hparams
    return {"method": {"name": name, "hparams": stored}, "epoch": 10}


def test_a_vs_checkpoint_gives_its_vs_parameters():
    parameters = training_loss_parameters(_checkpoint("vs"), COUNTS)
    assert isinstance(parameters, LossParameters) and parameters.loss == "vs"
    assert all(len(getattr(parameters, name)) == COUNTS.size for name in ("alpha", "beta", "logit_shift"))
    assert parameters.unknown_reason is None


@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
def test_a_logit_adjusted_checkpoint_gives_its_shift_from_the_loss_itself(tau):
    # the shift comes from the attribute the loss exposes (LogitAdjustedLoss.logit_shift), not its class name
    hparams = {**_checkpoint("la")["method"]["hparams"], "tau": tau}
    parameters = training_loss_parameters(_checkpoint("la", hparams), COUNTS)
    assert parameters.unknown_reason is None and parameters.beta is None
    assert np.allclose(parameters.logit_shift, tau * np.log(COUNTS / COUNTS.sum()), rtol=1e-12, atol=0)


def test_a_known_loss_that_cannot_be_rebuilt_raises():
    with pytest.raises(InputError, match="cannot be rebuilt"):
        training_loss_parameters(_checkpoint("vs", {"no_such_parameter": 1.0}), COUNTS)


@pytest.mark.parametrize(
    ("checkpoint", "reason"),
    [
        ({"method": {"name": "my_custom_loss"}}, "neither a recipe"),
        ({"method": {}}, "records no training method"),
        ({"method": {"name": "x", "recipe": {"loss": "not_registered"}}}, "not in ltbounds.losses.REGISTRY"),
    ],
)
def test_an_unreadable_loss_is_recorded_not_replaced_by_ce(checkpoint, reason):
    parameters = training_loss_parameters(checkpoint, COUNTS)
    assert reason in parameters.unknown_reason
    assert not parameters.has_vs_parameters


def test_a_vs_loss_whose_parameters_are_not_read_is_recorded():
    # balanced softmax is VS with Delta = log pi; reading it as CE (Delta = 0) would be silently wrong
    parameters = training_loss_parameters(_checkpoint("balanced_softmax"), COUNTS)
    assert "exposes no VS parameters" in parameters.unknown_reason


@pytest.mark.parametrize("method", ["ldam", "ldam_drw", "ldam_adrw"])
def test_an_ldam_checkpoint_is_not_read_as_weighted_ce(method):
    # LDAM-DRW's loss has class weights, but its label-only margin is no VS parameter: the weights alone would
    # describe weighted CE, another loss than the one trained
    parameters = training_loss_parameters(_checkpoint(method), COUNTS)
    assert "not a VS loss" in parameters.unknown_reason
    assert not parameters.has_vs_parameters and parameters.loss == "ldam"


def _splits(loss_parameters: LossParameters | None) -> EvaluationSplits:
    rng = np.random.default_rng(0)
    means = rng.normal(size=(3, 4)) * 2

    def outputs(per_class, split: str) -> Outputs:
        labels = np.repeat(np.arange(3), per_class)
        embeddings = means[labels] + rng.normal(size=(labels.size, 4))
        return Outputs(
            embeddings @ means.T,
            embeddings,
            labels,
            means,
            np.zeros(3),
            COUNTS,
            split=split,
            loss_parameters=loss_parameters,
        )

    return EvaluationSplits(outputs(COUNTS, "train"), outputs(10, "val"), outputs(10, "test"))


def test_rows_needing_vs_parameters_say_why_they_are_missing():
    reason = "method 'my_custom_loss' is neither a recipe"
    splits = _splits(LossParameters.unknown(reason))
    with pytest.raises(InputError, match="VS parameters are unknown"):
        statements.STATEMENTS["wang23.thm1"].evaluate(splits, 0.1)
    table = evaluate({"train": splits.train, "val": splits.heldout, "test": splits.test}).bounds
    rows = table[table["bound"] == "wang23.thm1"]
    assert (rows["status"] == "not_applicable").all() and rows["note"].str.contains(reason).all()
    mu, why = local_lipschitz(splits.train, "corrected")
    assert np.isnan(mu).all() and reason in why
    # with the parameters known, mu_y is computed and nothing is missing
    mu, why = local_lipschitz(_splits(None).train, "corrected")
    assert np.isfinite(mu).all() and why == ""

"""Non-vacuous balanced-error certificates from training data alone (issue 12, targets).

Each run trains ``pbb`` (training.certify.train_pbb): a stratified half of the training set (S_prior)
trains the prior mean with the logit-adjusted loss; a diagonal-Gaussian posterior starts there and
is trained on S_bound by the balanced bound; the certificate (three forms of
``ltbounds.bounds.pacbayes``, each w.p. >= 1 - delta - delta_mc) uses S_bound only. Measured: the
balanced test error of the same stochastic predictor (MC over per-input network draws) and of its
mean network. Rows are ``certificate.csv``'s (ltbounds certify) plus dataset, imbalance, seed.

Targets (issue 12): MNIST-5k, rho = 10, MLP/CNN, 3 seeds: certificate < 0.5 and <= 3x the stochastic
test error; rho = 100 reported as measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from studies.runner import Run, StudyContext

NAME = "certificates"
QUESTION = "Can PAC-Bayes certify the balanced error of long-tailed models from training data alone?"
FIGURES = ("certificates",)
VERSION = 1


@dataclass(frozen=True)
class Settings:
    dataset: str = "mnist5k"
    imbalances: tuple[float, ...] = (10.0, 100.0)
    models: tuple[str, ...] = ("mlp", "cnn")
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 15  # prior training on S_prior
    prior_fraction: float = 0.5
    steps: int = 300  # posterior optimisation
    mc_passes: int = 300


QUICK = Settings(imbalances=(10.0, 100.0), models=("mlp",), seeds=(0,), epochs=10, steps=150, mc_passes=100)
FULL = Settings()


def runs(settings: Settings) -> list[Run]:
    return [
        Run(f"pbb_{model}_rho{imbalance:g}_s{seed}", {"model": model, "imbalance": imbalance, "seed": seed})
        for imbalance in settings.imbalances
        for model in settings.models
        for seed in settings.seeds
    ]


def execute(run: Run, settings: Settings, context: StudyContext) -> list[dict]:
    from studies.training_runs import dataset
    from training.certify import CertifySettings, certificate_rows, train_pbb
    from training.config import TrainConfig

    seed, imbalance = int(run.params["seed"]), float(run.params["imbalance"])
    data = dataset(settings.dataset, imbalance, seed, data_root=context.data_root)
    config = TrainConfig(
        method="pbb", dataset=settings.dataset, imbalance=imbalance, seed=seed, model=run.params["model"],
        epochs=settings.epochs, data_root=context.data_root, progress=False,
    )  # fmt: skip
    certify = CertifySettings(steps=settings.steps, mc_passes=settings.mc_passes, seed=seed)
    out = context.scratch(run.key)
    _, certificate = train_pbb(config, str(out), certify, settings.prior_fraction, overwrite=True, data=data)
    rows = certificate_rows(certificate, str(out / "last.pt"), "pbb")
    for row in rows:
        row.update({"dataset": settings.dataset, "imbalance": imbalance, "seed": seed, "model": run.params["model"],
                    "sigma_prior": certificate.sigma_prior, "certify_seconds": certificate.seconds})  # fmt: skip
    return rows

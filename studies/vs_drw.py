"""VS vs VS+DRW vs VS+TLA+DRW over gamma (wang23, Figure 4), and the nu / tau sensitivity of VS+ADRW
(wang23, Figures 1-2).

Insight In4 of Wang et al.: re-weighting (alpha_y decreasing in pi_y) and the multiplicative
adjustment beta_y = (N_y / N_1)^gamma (increasing in pi_y) work against each other through
beta~_y in Lemma 4, so VS+DRW should fall behind VS as gamma grows, and the truncated logit
adjustment (beta -> 1 after T0, TLA) should repair it; the additive Delta_y = tau log pi_y and ADRW
(alpha_y ~ pi_y^-nu) should be compatible (In4-b). Figure 4 of the paper uses rho = 10, Figures 1-2
rho = 100. Rows: the last-epoch test balanced accuracy and Many / Medium / Few accuracy per run.
"""

from __future__ import annotations

from dataclasses import dataclass

from studies.runner import Run, StudyContext
from studies.training_runs import Optimisation, accuracy_rows, dataset, final_metrics, run_config, train_once

NAME = "vs_drw"
QUESTION = (
    "Is re-weighting compatible with multiplicative (gamma) and additive (tau) logit adjustment (wang23, Figs 1, 2, 4)?"
)
FIGURES = ("vs_drw_gamma", "vs_adrw_sensitivity")
GAMMA_METHODS = ("vs", "vs_drw", "vs_tla_drw")


@dataclass(frozen=True)
class Settings(Optimisation):  # model, hidden, lr, batch_size, lr_decays: studies.training_runs.Optimisation
    dataset: str = "mnist5k"
    gamma_imbalance: float = 10.0
    gammas: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    sensitivity_imbalance: float = 100.0
    nus: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
    taus: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
    epochs: int = 200
    seeds: tuple[int, ...] = (0, 1, 2)


QUICK = Settings(
    gammas=(0.0, 0.2, 0.5),
    nus=(0.0, 0.5, 1.0),
    taus=(0.0, 1.0, 2.0),
    epochs=60,
    model="mlp",
    lr=0.1,
    batch_size=64,
    lr_decays=(0.1, 0.01),
    seeds=(0,),
)
FULL = Settings()


def runs(settings: Settings) -> list[Run]:
    planned = []
    for seed in settings.seeds:
        for method in GAMMA_METHODS:
            for gamma in settings.gammas:
                planned.append(
                    Run(
                        f"gamma_{method}_g{gamma:g}_s{seed}",
                        {
                            "part": "gamma",
                            "method": method,
                            "gamma": gamma,
                            "seed": seed,
                            "imbalance": settings.gamma_imbalance,
                        },
                    )
                )
        for nu in settings.nus:
            for tau in settings.taus:
                planned.append(
                    Run(
                        f"adrw_nu{nu:g}_tau{tau:g}_s{seed}",
                        {
                            "part": "sensitivity",
                            "method": "vs_adrw",
                            "nu": nu,
                            "tau": tau,
                            "seed": seed,
                            "imbalance": settings.sensitivity_imbalance,
                        },
                    )
                )
    return planned


def execute(run: Run, settings: Settings, context: StudyContext) -> list[dict]:
    imbalance = run.params["imbalance"]
    data = dataset(settings.dataset, imbalance, run.params["seed"], data_root=context.data_root)
    config = run_config(settings, run.params["seed"], context.data_root, imbalance=imbalance)
    if run.params["part"] == "gamma":
        config["method"] = run.params["method"]
        config["loss_overrides"] = {"gamma": run.params["gamma"]}
    else:
        # VS + ADRW without TLA (Fig. 2): the VS loss with ADRW weights alpha_y ~ pi_y^-nu from T0; nu = 0 is
        # alpha_y = 1, i.e. no re-weighting (the loss refuses nu = 0, so it is spelled as no re-weighting).
        config["method"] = "vs"
        config["loss_overrides"] = {"tau": run.params["tau"]}
        if run.params["nu"] > 0:
            config["loss_overrides"].update(
                reweighting="adrw", nu=run.params["nu"], reweight_epoch=round(0.8 * settings.epochs)
            )
    trained = train_once(context.scratch(run.key), data=data, **config)
    return accuracy_rows(final_metrics(trained))

"""Balanced-error PAC-Bayes certificates of checkpoints, from training data alone (issue 12).

  ltbounds certify runs/ce/last.pt runs/pbb/last.pt --out reports/certificates

A `pbb` run (ltbounds train --method pbb) is certified with its data-dependent prior on its S_bound.
Any other checkpoint: prior = a Gaussian at its recorded initialisation (rebuilt from its model spec
and seed; data-free, as Dziugaite & Roy 2017), posterior = a Gaussian around the trained weights whose
means and variances are optimised on the training set to minimise the balanced bound. sigma_prior is
chosen from a fixed grid (union bound paid). Each form holds w.p. >= 1 - (delta + delta_mc).
DIR receives certificate.csv, report.md, certificate.png/.pdf and manifest.json, all at once or not at all.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

OWN_FILES = ("certificate.csv", "report.md", "certificate.png", "certificate.pdf", "manifest.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoints", nargs="+", metavar="CKPT", help="ltbounds checkpoints (.pt)")
    parser.add_argument("--out", required=True, metavar="DIR", help="required: a new or empty directory "
                        "(or an earlier certify report holding only its own files, replaced whole)")  # fmt: skip
    parser.add_argument("--delta", type=float, default=0.04, help="PAC-Bayes failure probability (default 0.04)")
    parser.add_argument("--delta-mc", type=float, default=0.01, help="Monte-Carlo failure probability (default 0.01)")
    parser.add_argument(
        "--sigma-prior", default=None, metavar="S1,S2,...",
        help="the sigma_prior grid, fixed in advance (default: 25 values 1e-4..1, geometric)",
    )  # fmt: skip
    parser.add_argument("--steps", type=int, default=300, help="posterior optimisation steps (default 300)")
    parser.add_argument("--mc-passes", type=int, default=300, help="MC passes over S_bound (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the posterior noise (default 0)")
    parser.add_argument("--data-root", default=None, metavar="DIR", help="folder with local datasets")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default cpu)")


def _check_out(directory: str, inputs: list[str]):
    from ltbounds.checks import InputError

    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise InputError(f"--out {target} is a file; give a directory for the certificates")
    for item in inputs:
        if target.resolve() in Path(item).resolve().parents:
            raise InputError(f"--out {target} holds the input {item}; choose another --out")
    if target.is_dir():
        foreign = sorted(p.name for p in target.iterdir() if p.name not in OWN_FILES)
        ours = (target / "manifest.json").exists() and "certify" in (target / "manifest.json").read_text("utf-8")
        if foreign or (any(target.iterdir()) and not ours):
            raise InputError(
                f"--out {target} holds files that ltbounds certify did not write "
                f"({', '.join(foreign[:5]) or 'no manifest'}); choose a new or empty directory"
            )
    return target


def _settings(args: argparse.Namespace):
    from ltbounds.checks import InputError
    from training.certify import DEFAULT_SIGMA_GRID, CertifySettings

    grid = DEFAULT_SIGMA_GRID
    if args.sigma_prior is not None:
        try:
            grid = tuple(float(s) for s in args.sigma_prior.split(","))
        except ValueError as error:
            raise InputError(f"--sigma-prior must be comma-separated numbers > 0, got {args.sigma_prior!r}") from error
        if any(not s > 0 for s in grid):
            raise InputError(f"--sigma-prior: every sigma must be > 0, got {args.sigma_prior!r}")
    return CertifySettings(
        delta=args.delta, delta_mc=args.delta_mc, sigma_grid=grid, steps=args.steps, mc_passes=args.mc_passes,
        seed=args.seed,
    )  # fmt: skip


def certify_one(path: str, settings, data_root: str | None, device: str):
    """(certificate, method name, prior kind, split: the training indices of S_prior and S_bound)."""
    import torch

    from training.certify import certify_posterior, certify_trained, posterior_from_pbb
    from training.checkpoints import load_checkpoint
    from training.data import DatasetSpec, load_dataset

    checkpoint = load_checkpoint(path)
    if "pbb" not in checkpoint:
        from training.certify import init_model

        init_model(checkpoint, path)  # refuse before loading any data
    data = load_dataset(DatasetSpec.from_dict(checkpoint["dataset"]), data_root)
    method = str(checkpoint["method"].get("name", "?"))
    if "pbb" in checkpoint:
        posterior, prior, sigma = posterior_from_pbb(checkpoint, path)
        bound = torch.as_tensor(checkpoint["pbb"]["bound_indices"], dtype=torch.long)
        grid = tuple(float(s) for s in checkpoint["pbb"]["sigma_grid"])
        import dataclasses

        settings = dataclasses.replace(settings, sigma_grid=grid)  # the grid the run chose from
        certificate = certify_posterior(
            posterior, prior, sigma, (data.train.x[bound], data.train.y[bound]), (data.test.x, data.test.y),
            int(data.num_classes), settings,
        )  # fmt: skip
        split = {"prior_indices": checkpoint["pbb"]["prior_indices"], "bound_indices": bound.tolist()}
        split.update(certified_on="train", train_samples=len(data.train.y))  # read by ltbounds evaluate
        return certificate, method, "data-dependent (S_prior)", split
    certificate, _ = certify_trained(checkpoint, data, settings, path, device)
    split = {"prior_indices": [], "bound_indices": list(range(len(data.train.y)))}
    split.update(certified_on="train", train_samples=len(data.train.y))
    return certificate, method, "data-free (recorded initialisation)", split


def _figure(frame, directory: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    balanced = frame[frame["class"] == "balanced"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    labels = list(dict.fromkeys(balanced["checkpoint"]))
    for offset, form in enumerate(sorted(balanced["form"].unique())):
        rows = balanced[balanced["form"] == form].set_index("checkpoint").loc[labels]
        ratio = rows["certificate"] / rows["measured_test_error"].clip(lower=1e-4)
        ax.scatter([i + 0.15 * (offset - 1) for i in range(len(labels))], ratio, label=form)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(labels)), [Path(x).parent.name or x for x in labels], rotation=20, fontsize=7)
    ax.set_ylabel("certificate / measured balanced test error")
    ax.legend(fontsize=7)
    fig.tight_layout()
    for suffix in ("png", "pdf"):
        fig.savefig(directory / f"certificate.{suffix}")
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ltbounds.artifacts import atomic_directory, write_manifest
    from ltbounds.checks import InputError
    from training.certify import CSV_COLUMNS, certificate_rows

    started = time.perf_counter()
    settings = _settings(args)  # bad delta / sigma: one line, before anything is read
    target = _check_out(args.out, args.checkpoints)
    if args.steps < 0 or args.mc_passes < 1:
        raise InputError("--steps must be >= 0 and --mc-passes >= 1")
    from ltbounds.artifacts import file_sha256

    rows, lines, limits, splits, identities = [], [], [], {}, {}
    for path in args.checkpoints:
        certificate, method, prior, splits[path] = certify_one(path, settings, args.data_root, args.device)
        # ltbounds evaluate --certificates finds a checkpoint's rows by the checkpoint file's sha256
        identities[path] = {"sha256": file_sha256(path), "method": method, "prior": prior}
        rows += certificate_rows(certificate, path, method)
        hoeffding = certificate.forms["importance_weighted_hoeffding"]
        worst = int(certificate.forms["per_class"].per_class.argmax())
        limits.append(
            f"- {path}: importance-weighted Hoeffding = empirical {hoeffding.empirical_risk:.4f} + deviation "
            f"{hoeffding.terms['deviation']:.4f} (KL {certificate.kl:.3g} nats against ln(J k / delta) = "
            f"{math.log(16 * certificate.grid_size / settings.delta):.3g}); per-class form: class {worst} "
            f"(n_bound = {int(certificate.class_counts[worst])}) is the loosest at "
            f"{certificate.forms['per_class'].per_class[worst]:.3f}"
        )
        forms = ", ".join(f"{form} {value.value:.4f}" for form, value in certificate.forms.items())
        lines.append(
            f"| {path} | {method} | {prior} | {certificate.kl:.4g} | {certificate.sigma_prior:.3g} | {forms} | "
            f"{certificate.test_error.mean():.4f} | {certificate.test_error_mean.mean():.4f} |"
        )
    frame = pd.DataFrame(rows, columns=list(CSV_COLUMNS))
    report = [
        "# Balanced-error PAC-Bayes certificates (ltbounds certify)",
        "",
        f"Each form holds with probability >= {1 - settings.delta - settings.delta_mc:.3f} (delta {settings.delta}"
        f" for PAC-Bayes, split over classes and the {len(settings.sigma_grid)}-value sigma grid; delta_mc "
        f"{settings.delta_mc} for the Monte-Carlo estimate). Measured: the balanced test error of the same "
        "stochastic predictor (MC) and of its mean network. The test split is used for the measurement only.",
        "",
        "| checkpoint | method | prior | KL (nats) | sigma_prior | certificates | stochastic test error | mean net |",
        "|---|---|---|---|---|---|---|---|",
        *lines,
        "",
        "What limits each certificate:",
        "",
        *limits,
        "",
    ]
    with atomic_directory(target) as staging:
        frame.to_csv(staging / "certificate.csv", index=False)
        (staging / "report.md").write_text("\n".join(report), encoding="utf-8")
        _figure(frame, staging)
        command = ["ltbounds", "certify", *args.checkpoints, "--out", args.out]
        write_manifest(
            staging, command=command, seeds=[args.seed], wall_time_s=time.perf_counter() - started,
            extra={"files": list(OWN_FILES[:-1]), "settings": json.loads(json.dumps(settings.__dict__, default=list)),
                   "splits": splits, "checkpoints": identities},
        )  # fmt: skip
    print(f"ltbounds certify: {len(args.checkpoints)} checkpoint(s) -> {args.out}/report.md")
    for line in lines:
        print("  " + line)
    return 0

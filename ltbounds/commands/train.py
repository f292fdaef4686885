"""Train a model with a long-tail loss method and write self-describing checkpoints.

  ltbounds train --method vs_tla_adrw --dataset mnist5k --imbalance 100 --epochs 10 --out runs/vs
  ltbounds train --method ldam_drw --dataset cifar10 --data-root ~/data --out runs/ldam   (200 epochs)
  ltbounds train --list-methods
  ltbounds train --method tau_norm --from-checkpoint runs/vs/last.pt --out runs/vs_tau   (a second stage only)

Writes OUT/last.pt (and OUT/epoch_XXX.pt with --save-every), and OUT/metrics.jsonl with one JSON
object per epoch (loss, lr, balanced / per-class / Many-Medium-Few accuracy, B_y(f), minimal
per-class margins, wall time). --resume continues a killed run from OUT/last.pt. Defaults are the
papers' recipes (LDAM-DRW schedule for CIFAR-LT, cosine for image folders); every one can be
overridden. Multi-GPU: torchrun --nproc_per_node=N -m ltbounds train ...
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ltbounds.checks import InputError


def _key_values(items: list[str] | None, option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"{option} expects KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = value
    return out


def _numbers(text: str | None, option: str, kind: type) -> tuple | None:
    if text is None:
        return None
    try:
        return tuple(kind(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise InputError(f"{option} expects a comma-separated list of numbers, got {text!r}") from error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("what to train")
    what.add_argument("--method", default="ce", help="training recipe (see --list-methods; default ce)")
    what.add_argument(
        "--dataset",
        default="mnist5k",
        help="mnist5k | digits | gaussian | two_moons | cifar10 | cifar100 | imagefolder (default mnist5k)",
    )
    what.add_argument("--imbalance", type=float, default=100.0, help="rho = n_max / n_min (default 100)")
    what.add_argument("--profile", default="exp", help="exp | step (default exp)")
    what.add_argument(
        "--seed", type=int, default=0, help="seed of the data subset, the init and the batches (default 0)"
    )
    what.add_argument("--val-fraction", type=float, default=0.1, help="balanced validation share (default 0.1)")
    what.add_argument("--data-root", default=None, help="folder holding cifar-10-batches-py etc. (default: none)")
    what.add_argument(
        "--dataset-option", action="append", metavar="KEY=VALUE", help="dataset option (repeatable; default: none)"
    )
    what.add_argument("--model", default=None, help="resnet32 | resnet50 | mlp | cnn (default: by dataset)")
    what.add_argument(
        "--model-option",
        action="append",
        metavar="KEY=VALUE",
        help="model option, VALUE in JSON, e.g. hidden=[256,128] (repeatable; default: none)",
    )
    what.add_argument("--list-methods", action="store_true", help="print the recipes and exit")
    what.add_argument(
        "--from-checkpoint",
        metavar="PATH",
        default=None,
        help="run only a classifier stage (--method crt | tau_norm | lws | ncm | la_posthoc) on a trained checkpoint"
        " (default: none, train from scratch)",
    )
    # Per-dataset defaults written out here (training.config.FAMILY_DEFAULTS; a test keeps them equal)
    # because --help must not import training.
    how = parser.add_argument_group(
        "optimisation",
        "Defaults: the papers' recipe per dataset family ('embedded data' = mnist5k, digits, gaussian, two_moons).",
    )
    how.add_argument(
        "--epochs", type=int, default=None, help="default: cifar10/100 200, imagefolder 90, embedded data 30"
    )
    how.add_argument(
        "--batch-size", type=int, default=None, help="default: cifar10/100 128, imagefolder 256, embedded data 128"
    )
    how.add_argument(
        "--lr", type=float, default=None, help="base learning rate (default: cifar10/100 0.1, imagefolder 0.1, "
        "embedded data 0.05)",
    )  # fmt: skip
    how.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    how.add_argument(
        "--weight-decay",
        type=float,
        default=None,
        help="default: cifar10/100 0.0002, imagefolder 0.0005, embedded data 0.0005",
    )
    how.add_argument(
        "--warmup-epochs", type=int, default=None, help="linear lr warm-up (default: cifar10/100 5, imagefolder 5, "
        "embedded data 1)",
    )  # fmt: skip
    how.add_argument(
        "--schedule",
        default=None,
        help="step | cosine (default: cifar10/100 step, imagefolder cosine, embedded data step)",
    )
    how.add_argument("--milestones", default=None, help="comma-separated epochs of the lr steps (default 80%%,90%%)")
    how.add_argument("--lr-decays", default=None, help="lr factor from each milestone on (default 0.01,0.0001)")
    how.add_argument(
        "--drw-epoch", type=int, default=None, help="T0 of DRW/ADRW/TLA, <= --epochs (default 80%% of epochs)"
    )
    how.add_argument(
        "--loss-arg",
        action="append",
        metavar="KEY=VALUE",
        help="loss hyper-parameter override (repeatable; default: the recipe's)",
    )
    how.add_argument(
        "--lam",
        type=float,
        default=None,
        help="lambda of ELM (lambda_pull), DRO-LT (lambda_ce) or center loss (default: the recipe's)",
    )
    how.add_argument("--sam", action="store_true", help="sharpness-aware minimisation on top of the method")
    how.add_argument(
        "--sam-rho", type=float, default=0.05, help="SAM neighbourhood radius rho, used with --sam (default 0.05)"
    )
    how.add_argument(
        "--classifier-epochs", type=int, default=10, help="epochs of a second classifier stage (default 10)"
    )
    how.add_argument(
        "--prior-fraction",
        type=float,
        default=0.5,
        help="pbb: share of each class's training samples that trains the prior (S_prior); the rest is S_bound "
        "(default 0.5)",
    )
    how.add_argument(
        "--augment",
        dest="augment",
        action="store_true",
        default=None,
        help="random crop + flip (default: on for cifar10/100 and imagefolder, off otherwise)",
    )
    how.add_argument(
        "--no-augment", dest="augment", action="store_false", help="no crop + flip, also where the default is on"
    )
    run_group = parser.add_argument_group("execution")
    run_group.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="required: the run folder for last.pt and metrics.jsonl (locked while a run writes in it)",
    )
    run_group.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    run_group.add_argument(
        "--overwrite",
        action="store_true",
        help="start over: remove OUT's last.pt, epoch_XXX.pt and metrics.jsonl (other files are kept)",
    )
    run_group.add_argument(
        "--save-every", type=int, default=0, help="also keep OUT/epoch_XXX.pt every N epochs (default 0: only last.pt)"
    )
    run_group.add_argument(
        "--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto: cuda when available, else cpu)"
    )
    run_group.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA")
    run_group.add_argument("--cpu-bf16", action="store_true", help="bf16 autocast on the CPU (AVX512-BF16 CPUs)")
    run_group.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA; ignored on CPU)")
    run_group.add_argument("--sync-bn", action="store_true", help="DDP: SyncBatchNorm across processes")
    run_group.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> Any:
    from training.config import TrainConfig
    from training.methods import get_recipe

    overrides = _key_values(args.loss_arg, "--loss-arg")
    if args.lam is not None:
        if args.lam < 0:
            raise InputError(f"--lam (lambda) must be >= 0, got {args.lam}")
        name = get_recipe(args.method).lambda_name
        if name is None:
            raise InputError(f"method {args.method!r} has no lambda; --lam applies to elm, dro_lt*, center")
        overrides[name] = args.lam
    kwargs: dict[str, Any] = {
        "method": args.method,
        "dataset": args.dataset,
        "imbalance": args.imbalance,
        "profile": args.profile,
        "seed": args.seed,
        "val_fraction": args.val_fraction,
        "dataset_options": _key_values(args.dataset_option, "--dataset-option"),
        "data_root": args.data_root,
        "model": args.model,
        "model_options": _key_values(args.model_option, "--model-option"),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "momentum": args.momentum,
        "weight_decay": args.weight_decay,
        "warmup_epochs": args.warmup_epochs,
        "schedule": args.schedule,
        "milestones": _numbers(args.milestones, "--milestones", int),
        "drw_epoch": args.drw_epoch,
        "loss_overrides": overrides,
        "augment": args.augment,
        "sam": args.sam,
        "sam_rho": args.sam_rho,
        "classifier_epochs": args.classifier_epochs,
        "device": args.device,
        "amp": not args.no_amp,
        "cpu_amp": args.cpu_bf16,
        "compile": args.compile,
        "save_every": args.save_every,
        "sync_batch_norm": args.sync_bn,
        "progress": not args.no_progress,
    }
    decays = _numbers(args.lr_decays, "--lr-decays", float)
    if decays is not None:
        kwargs["lr_decays"] = decays
    return TrainConfig(**kwargs)


def run(args: argparse.Namespace) -> int:
    from training.methods import RECIPES, get_recipe

    if args.list_methods:
        for name, recipe in RECIPES.items():
            print(f"{name:18s} {recipe.summary}  [{recipe.source}]")
        return 0
    get_recipe(args.method)  # unknown names fail before any data is loaded
    if args.out is None:
        raise InputError("--out is required: the folder for last.pt and metrics.jsonl")
    if args.resume and args.overwrite:
        raise InputError(
            "--resume and --overwrite contradict each other: --resume continues OUT, --overwrite starts over"
        )
    if args.from_checkpoint is not None:
        from ltbounds.artifacts import RunLock, make_writable_directory
        from ltbounds.checks import check_device
        from training.decoupling import decouple_checkpoint

        check_device(args.device)
        with RunLock(make_writable_directory(args.out, "--out"), "--out"):
            result = decouple_checkpoint(
                args.from_checkpoint, args.method, args.out, data_root=args.data_root, device=args.device,
                classifier_epochs=args.classifier_epochs, lr=args.lr, overwrite=args.overwrite,
            )  # fmt: skip
        accuracy = result["metrics"].get("test_balanced_accuracy")
        shown = "n/a" if accuracy is None else f"{100 * accuracy:.2f}%"
        print(f"ltbounds train: {result['method']['name']}: balanced test accuracy {shown}; wrote {args.out}/last.pt")
        return 0
    from tqdm.auto import tqdm

    from training.loop import train

    config = config_from_args(args)
    if args.method == "pbb":  # issue 12: prior on S_prior, posterior and certificate on S_bound
        from training.certify import train_pbb

        _, certificate = train_pbb(
            config, args.out, prior_fraction=args.prior_fraction, overwrite=args.overwrite, log=tqdm.write
        )
        best = certificate.forms["importance_weighted_hoeffding"].value
        print(
            f"ltbounds train: pbb on {config.dataset}: balanced-error certificate {best:.4f} "
            f"(stochastic balanced test error {certificate.test_error.mean():.4f}); wrote {args.out}/last.pt"
        )
        return 0
    result = train(config, out=args.out, resume=args.resume, overwrite=args.overwrite, log=tqdm.write)
    if os.environ.get("RANK", "0") != "0":  # under torchrun only rank 0 reports (and writes)
        return 0
    final = result.metrics[-1] if result.metrics else {}
    accuracy = final.get("test_balanced_accuracy")
    shown = "n/a" if accuracy is None else f"{100 * accuracy:.2f}%"
    print(
        f"ltbounds train: {config.method} on {config.dataset}: balanced test accuracy {shown}; wrote {args.out}/last.pt"
    )
    return 0

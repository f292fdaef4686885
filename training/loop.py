"""The training loop: GPU-first with a CPU fallback, seeded, resumable, writing checkpoints and metrics.

Data stay on the training device as tensors; ``training.data.BatchIterator`` gives the batches:
each epoch draws its batch order (the recipe's ``Sampler``) and augmentation (random crop from the
pre-padded images + horizontal flip, batched tensor work) at once from a generator seeded by
(seed, epoch), and under DDP each rank takes its contiguous share of every global batch. An epoch is
thus a pure function of the weights, the optimiser state and the epoch number: a run resumed from
``last.pt`` reproduces the uninterrupted run bit for bit on the CPU. ``--resume`` continues only the
same run: the checkpoint's ``hparams_id`` (``training.config.HParams.identity``) must match.
Images are kept channels_last (faster convolutions on CUDA and on oneDNN CPUs). On CUDA: bf16
autocast and optional ``torch.compile``; on the CPU bf16 autocast is opt-in (``cpu_amp``).

Per epoch it appends one JSON line to ``metrics.jsonl`` (training loss, learning rate, balanced
test and validation accuracy, per-class and Many/Medium/Few test accuracy, B_y(f) and the minimal
per-class margin on the training set (wang23, eq. (15) and Remark 2; ``training.metrics``), epoch
and wall time) and
writes ``last.pt`` atomically (plus ``epoch_XXX.pt`` every ``save_every`` epochs).

Nothing lost: the epoch's metrics line (flushed and fsync-ed) and its ``epoch_XXX.pt`` are written
before ``last.pt`` moves past them, so a kill between the writes leaves ``last.pt`` at the previous
epoch and ``--resume`` redoes that epoch bit for bit (its line, if written, is dropped first). A
truncated last line of ``metrics.jsonl`` (a kill mid-append) is dropped with a warning. The run
folder is locked (``ltbounds.artifacts.RunLock``) while a run writes into it; temporaries left by
killed runs are removed at the next start; ``overwrite`` removes the old run's files
(``last.pt``, ``epoch_XXX.pt``, ``metrics.jsonl``) and nothing else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ltbounds.artifacts import RunLock, atomic_write_text, clean_stale_temporaries, make_writable_directory
from ltbounds.checks import InputError, check_device, error_reason
from training import distributed
from training.checkpoints import load_checkpoint, make_checkpoint, save_checkpoint
from training.config import TrainConfig, identity_differences, resolve_config
from training.data.batches import BatchIterator
from training.data.spec import Split
from training.decoupling import apply_stage
from training.methods import Recipe, build_loss, get_recipe, resolved_hparams
from training.metrics import evaluate_model, predict
from training.models import build_model, default_model_name
from training.sam import SAM, frozen_batch_norm_statistics
from training.schedules import learning_rate

EPOCH_SNAPSHOT = re.compile(r"^epoch_\d{3,}\.pt$")  # epoch_XXX.pt, the exact name the loop writes


@dataclass
class TrainResult:
    model: nn.Module  # the plain model (eval mode), final weights
    checkpoint: dict[str, Any]
    metrics: list[dict[str, Any]]
    out_dir: Path | None


class _TrainView(nn.Module):
    """forward(x) -> (logits, embeddings): one module call so DDP sees every parameter use."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embeddings = self.model.embed(x)
        return self.model.head(embeddings), embeddings


# --- batches and augmentation ---------------------------------------------------------------------


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The CPU generator of one epoch: its batch order and augmentation depend on (seed, epoch) only."""
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch) + 1)


# --- the loop ------------------------------------------------------------------------------------


def _autocast_factory(device: torch.device, amp: bool, cpu_amp: bool = False) -> Any:
    if device.type == "cuda" and amp:
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and cpu_amp:
        return lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext


def epoch_learning_rate(config: TrainConfig, epoch: int) -> float:
    """The lr of 0-based ``epoch`` under a resolved config's schedule: ``training.schedules.learning_rate``
    with the config's lr, epochs, warm-up, schedule, milestones and decays."""
    return learning_rate(
        epoch,
        base_lr=config.lr,
        epochs=config.epochs,
        warmup_epochs=config.warmup_epochs,
        schedule=config.schedule,
        milestones=config.milestones,
        lr_decays=config.lr_decays,
    )


def load_config_data(config: TrainConfig, device: torch.device | str = "cpu") -> Any:
    """``load_dataset`` of the dataset a training config names (its spec: dataset, imbalance, profile, seed,
    val_fraction, options; read from ``config.data_root``) on ``device``."""
    from training.data import DatasetSpec, load_dataset

    spec = DatasetSpec(
        name=config.dataset,
        imbalance=config.imbalance,
        profile=config.profile,
        seed=config.seed,
        val_fraction=config.val_fraction,
        options=dict(config.dataset_options),
    )
    return load_dataset(spec, config.data_root, device)


def _dataset_dict(data: Any, config: TrainConfig) -> dict[str, Any]:
    spec = getattr(data, "spec", None)
    if spec is not None and dataclasses.is_dataclass(spec):
        return dataclasses.asdict(spec)
    return {"name": config.dataset, "imbalance": config.imbalance, "profile": config.profile, "seed": config.seed}


def model_spec_for(config: TrainConfig, recipe: Recipe, data: Any) -> dict[str, Any]:
    input_shape = tuple(int(s) for s in data.input_shape)
    name = config.model or default_model_name(config.dataset, input_shape)
    spec = {"name": name, "num_classes": int(data.num_classes), "input_shape": list(input_shape), "head": recipe.head}
    spec.update(config.model_options)
    return spec


def _check_resume(checkpoint: dict[str, Any], config: TrainConfig, path: Path) -> None:
    """Refuse to continue a checkpoint of another run: its HParams identity must equal this config's."""
    differing = identity_differences(checkpoint["method"], config.hparams)
    if differing == []:
        return
    if differing is None:
        detail = f"HParams identity {checkpoint['method'].get('hparams_id')} vs now {config.identity()}"
    else:
        stored = checkpoint["method"]["training"]
        detail = ", ".join(f"{k}: checkpoint {stored[k]!r} vs now {config.to_dict()[k]!r}" for k in differing)
    raise InputError(f"cannot resume from {str(path)!r}: the run differs ({detail}); use the same options")


def run_files(out_dir: Path) -> list[Path]:
    """The files a run writes into its folder: ``last.pt``, ``metrics.jsonl`` and ``epoch_XXX.pt``."""
    if not out_dir.is_dir():
        return []
    named = [out_dir / "last.pt", out_dir / "metrics.jsonl"]
    snapshots = sorted(p for p in out_dir.iterdir() if EPOCH_SNAPSHOT.match(p.name) and p.is_file())
    return [p for p in named if p.is_file()] + snapshots


def read_metrics(path: Path, log: Any = None) -> list[dict[str, Any]]:
    """The lines of ``metrics.jsonl``; a truncated last line (a kill mid-append) is dropped with a
    warning through ``log``; a corrupt line elsewhere is an ``InputError`` naming the line."""
    if not path.exists():
        return []
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as error:
            if number == len(lines):
                warn = log or print
                warn(f"warning: {path}: dropped a truncated last line ({number}: {line[:60]!r}), left by a killed run")
                break
            raise InputError(
                f"{path} line {number} is not a JSON object ({error_reason(error)}); fix or remove that line"
            ) from error
        records.append(record)
    return records


def _append_line(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line and make it durable (flush + fsync) before anything points past it."""
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def train(
    config: TrainConfig,
    *,
    data: Any = None,
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    stop_after_epoch: int | None = None,
    log: Any = None,
) -> TrainResult:
    """Train ``config.method`` on ``config.dataset`` (or ``data``, a ``LongTailData``), writing to ``out``.

    ``resume`` continues from ``out/last.pt``; ``overwrite`` starts over, removing the old run's files
    (not both); ``stop_after_epoch`` ends the run after that many epochs as if killed (for tests of
    resume); ``log`` receives one line per epoch. While it writes, ``out`` is locked against a second
    writer (``RunLock``; a second run gets an ``InputError`` naming the holder).
    """
    if resume and overwrite:
        raise InputError(
            "--resume and --overwrite contradict each other: --resume continues OUT, --overwrite starts over"
        )
    config = resolve_config(config)
    get_recipe(config.method)
    check_device(config.device)
    context = distributed.context_from_environment()
    if out is None or not context.is_main:  # under torchrun only rank 0 writes, so only rank 0 locks
        return _train(config, data, out, resume, overwrite, stop_after_epoch, log)
    out_dir = make_writable_directory(out, "--out")
    with RunLock(out_dir, "--out") as lock:
        say = log or print
        if lock.taken_over is not None:
            say(
                f"note: took over the lock of a killed run (pid {lock.taken_over.get('pid')} on "
                f"{lock.taken_over.get('host')}) in {out_dir}"
            )
        removed = clean_stale_temporaries(out_dir, legacy=True)
        if removed:
            say(f"note: removed {len(removed)} temporary file(s) left by killed runs in {out_dir}")
        return _train(config, data, out_dir, resume, overwrite, stop_after_epoch, log)


def _train(
    config: TrainConfig,
    data: Any,
    out: str | Path | None,
    resume: bool,
    overwrite: bool,
    stop_after_epoch: int | None,
    log: Any,
) -> TrainResult:
    recipe = get_recipe(config.method)
    context = distributed.context_from_environment()
    device = distributed.device_for(context, config.device)
    distributed.initialise(context, device)
    out_dir = Path(out) if out is not None else None
    last_path = out_dir / "last.pt" if out_dir is not None else None
    checkpoint = None
    if last_path is not None and last_path.exists():
        if resume:
            checkpoint = load_checkpoint(last_path)
            _check_resume(checkpoint, config, last_path)
        elif not overwrite:
            raise InputError(f"{str(last_path)!r} exists; pass --resume to continue it or --overwrite to start over")
    elif out_dir is not None and not overwrite and context.is_main:
        # No last.pt: a run killed in its first epoch leaves at most epoch 1's line and epoch_001.pt
        # (written before last.pt), which this run redoes. More than that is an earlier run's record
        # whose last.pt is gone: refused, never overwritten silently.
        leftovers = [p.name for p in run_files(out_dir) if p.name not in ("metrics.jsonl", "epoch_001.pt")]
        if any(record.get("epoch", 0) > 1 for record in read_metrics(out_dir / "metrics.jsonl", log)):
            leftovers.insert(0, "metrics.jsonl")
        if leftovers:
            raise InputError(
                f"--out {out_dir} holds files of an earlier run ({', '.join(leftovers[:5])}) but no last.pt "
                "to continue from; pass --overwrite to start over (it removes them) or choose another --out"
            )

    if data is None:
        data = load_config_data(config, device)
    if data.train.x.device != device:
        data = dataclasses.replace(
            data, train=data.train.to(device), val=data.val.to(device), test=data.test.to(device)
        )
    train_x, train_y = data.train.x.to(device), data.train.y.to(device)
    class_counts = np.asarray(data.class_counts, dtype=np.int64)
    torch.manual_seed(config.seed)
    model_spec = model_spec_for(config, recipe, data)
    try:
        model = build_model(model_spec).to(device)
    except (TypeError, ValueError) as error:
        if isinstance(error, InputError):
            raise
        given = " ".join(f"{key}={value!r}" for key, value in config.model_options.items()) or "(none)"
        raise InputError(
            f"--model-option {given} does not fit model {model_spec['name']!r}: {error_reason(error)}"
        ) from error
    loss_fn = build_loss(
        recipe, class_counts, config.epochs, config.drw_epoch, config.dataset, config.loss_overrides
    ).to(device)
    images = train_x.dim() == 4
    channels_last = config.channels_last and images
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    parameter_groups = [{"params": list(model.parameters())}]
    loss_parameters = [p for p in loss_fn.parameters() if p.requires_grad]
    if loss_parameters:  # DRO-LT's learned radii: trained, never decayed
        parameter_groups.append({"params": loss_parameters, "weight_decay": 0.0})
    optimizer = torch.optim.SGD(
        parameter_groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    sam = SAM(model.parameters(), config.sam_rho) if config.sam else None

    metrics_history: list[dict[str, Any]] = []
    start_epoch, wall_offset = 0, 0.0
    stage_done = False
    if checkpoint is not None:
        start_epoch = int(checkpoint["epoch"])
        wall_offset = float(checkpoint["metrics"].get("wall_time_s", 0.0) or 0.0)
        stage_done = bool(checkpoint["method"].get("stage"))
        if stage_done:  # finished, second stage included: its head may differ from the recipe's
            model_spec = dict(checkpoint["model"])
            model = build_model(model_spec).to(device)
            model.load_state_dict(checkpoint["state"]["model"])
        else:
            model.load_state_dict(checkpoint["state"]["model"])
            optimizer.load_state_dict(checkpoint["state"]["optimizer"])
            if checkpoint["state"].get("loss"):
                loss_fn.load_state_dict(checkpoint["state"]["loss"])
    metrics_path = out_dir / "metrics.jsonl" if out_dir is not None else None
    if metrics_path is not None and context.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        if checkpoint is None and overwrite:
            # Start over: remove what the old run wrote (its checkpoints and metrics), nothing else.
            for path in run_files(out_dir):
                path.unlink()
        if checkpoint is not None:
            # Keep the lines last.pt accounts for; a line past it (a kill before last.pt was written)
            # is redone by this run, and so is a classifier stage that last.pt does not hold yet.
            for record in read_metrics(metrics_path, log):
                if record.get("epoch", 0) <= start_epoch and (stage_done or not record.get("stage")):
                    metrics_history.append(record)
        atomic_write_text(metrics_path, "".join(json.dumps(record) + "\n" for record in metrics_history))

    autocast = _autocast_factory(device, config.amp, config.cpu_amp)
    view: nn.Module = _TrainView(model)
    view = distributed.wrap(view, context, device, config.sync_batch_norm)
    if config.compile and device.type == "cuda":
        view = torch.compile(view)
    elif config.compile and context.is_main:
        # Said, not silent: compiling small CPU models costs more than it saves and needs a C++ toolchain.
        (log or print)(f"note: --compile is ignored on {device.type}; it applies to CUDA only")
    needs_embeddings = bool(getattr(loss_fn, "needs_embeddings", False))
    augment = config.augment if config.augment is not None else bool(getattr(data, "augment_padding", 0))
    if augment and not images:
        raise InputError("augment (random crop + flip) needs image data (N, C, H, W); this dataset is vectors")
    padding = int(getattr(data, "augment_padding", 0) or 4) if augment else 0
    if channels_last and not augment:
        train_x = train_x.contiguous(memory_format=torch.channels_last)
    has_batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    samples = train_y.shape[0]
    # BatchNorm cannot train on a single sample per process: a final global batch that short is dropped.
    remainder = samples % config.batch_size
    batches = BatchIterator(
        Split(train_x, train_y),
        config.batch_size,
        sampling=recipe.sampler.sampling,
        drop_last=has_batch_norm and samples > config.batch_size and 0 < remainder < 2 * context.world_size,
        padding=padding,
        flip=augment,
        fill=data.padding_fill() if augment and hasattr(data, "padding_fill") else None,
        num_classes=int(data.num_classes),
        channels_last=channels_last,
    )
    last_epoch = config.epochs if stop_after_epoch is None else min(config.epochs, int(stop_after_epoch))
    checkpoint_out = checkpoint
    run_start = time.perf_counter()

    def loss_of(xb: torch.Tensor, yb: torch.Tensor, scale: float) -> torch.Tensor:
        with autocast():
            logits, embeddings = view(xb)
        logits = logits.float()
        value = loss_fn(logits, yb, embeddings.float()) if needs_embeddings else loss_fn(logits, yb)
        return value * scale

    from tqdm.auto import tqdm

    for epoch in range(start_epoch, last_epoch):
        epoch_start = time.perf_counter()
        lr = epoch_learning_rate(config, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss_fn.set_epoch(epoch)
        if hasattr(loss_fn, "update_centroids"):
            _, embeddings = predict(model, train_x, autocast)
            loss_fn.update_centroids(embeddings, train_y)
        # the epoch's order, crops and flips, all drawn now from (seed, epoch): resume is bit-exact
        epoch_batches = batches.epoch(epoch_generator(config.seed, epoch), context.rank, context.world_size)
        model.train()
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        seen = 0
        progress = tqdm(
            epoch_batches,
            total=len(batches),
            desc=f"epoch {epoch + 1}/{config.epochs}",
            leave=False,
            disable=not (config.progress and context.is_main),
        )
        for number, (xb, yb) in enumerate(progress):
            # this rank holds a share of the global batch: scale its mean loss to the global mean's share
            global_size = min(config.batch_size, samples - number * config.batch_size)
            scale = len(yb) * context.world_size / global_size
            optimizer.zero_grad(set_to_none=True)
            value = loss_of(xb, yb, scale)
            value.backward()
            if sam is not None:
                sam.ascend()
                optimizer.zero_grad(set_to_none=True)
                with frozen_batch_norm_statistics(model):
                    loss_of(xb, yb, scale).backward()
                sam.restore()
            optimizer.step()
            loss_sum += value.detach().double() * global_size / context.world_size
            seen += global_size
        train_loss = float(distributed.all_reduce_sum(loss_sum, context)) / max(seen, 1)
        if not math.isfinite(train_loss):
            raise InputError(
                f"training diverged at epoch {epoch + 1} (loss {train_loss}); "
                "lower --lr or check the loss hyper-parameters"
            )
        epoch_time = time.perf_counter() - epoch_start
        metrics = {"epoch": epoch + 1, "lr": lr, "train_loss": train_loss}
        metrics.update(evaluate_model(model, data, autocast))
        metrics["epoch_time_s"] = epoch_time
        metrics["wall_time_s"] = wall_offset + time.perf_counter() - run_start
        metrics_history.append(metrics)
        checkpoint_out = _checkpoint(
            model, model_spec, optimizer, loss_fn, recipe, config, data, class_counts, epoch + 1, metrics, None
        )
        if context.is_main and out_dir is not None:
            # The epoch's record first, last.pt last: a kill in between leaves last.pt at the previous
            # epoch, and resume redoes this one (dropping its line), so nothing is lost.
            _append_line(metrics_path, metrics)
            if config.save_every and (epoch + 1) % config.save_every == 0:
                save_checkpoint(checkpoint_out, out_dir / f"epoch_{epoch + 1:03d}.pt")
            save_checkpoint(checkpoint_out, last_path)
        if log is not None and context.is_main:
            log(_summary(metrics, config.epochs))

    finished = last_epoch == config.epochs
    if finished and recipe.classifier_stage and not stage_done:
        model, model_spec, stage_info = apply_stage(
            model, model_spec, recipe, data, class_counts, config, autocast, device
        )
        metrics = {"epoch": config.epochs, "stage": recipe.classifier_stage, "stage_info": stage_info}
        metrics.update(evaluate_model(model, data, autocast))
        metrics["wall_time_s"] = wall_offset + time.perf_counter() - run_start
        metrics_history.append(metrics)
        checkpoint_out = _checkpoint(
            model,
            model_spec,
            optimizer,
            loss_fn,
            recipe,
            config,
            data,
            class_counts,
            config.epochs,
            metrics,
            recipe.classifier_stage,
        )
        if context.is_main and out_dir is not None:
            _append_line(metrics_path, metrics)  # before last.pt, as above
            save_checkpoint(checkpoint_out, last_path)
        if log is not None and context.is_main:
            log(_summary(metrics, config.epochs))
    if checkpoint_out is None:  # nothing left to do (already finished)
        checkpoint_out = checkpoint
    distributed.barrier(context)
    return TrainResult(model.eval(), checkpoint_out, metrics_history, out_dir)


def _checkpoint(
    model: nn.Module,
    model_spec: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    recipe: Recipe,
    config: TrainConfig,
    data: Any,
    class_counts: np.ndarray,
    epoch: int,
    metrics: dict[str, Any],
    stage: str | None,
) -> dict[str, Any]:
    method = {
        "name": recipe.name,
        "hparams": resolved_hparams(recipe, config.epochs, config.drw_epoch, config.dataset, config.loss_overrides),
        "recipe": recipe.to_dict(),
        "training": config.to_dict(),
        "hparams_id": config.identity(),  # the run's identity, checked on --resume
        "stage": stage,
    }
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "loss": loss_fn.state_dict(),
        "rng": torch.get_rng_state(),
    }
    return make_checkpoint(
        model_spec=model_spec,
        method=method,
        dataset=_dataset_dict(data, config),
        class_counts=class_counts,
        epoch=epoch,
        epochs=config.epochs,
        metrics=metrics,
        state=state,
    )


def _summary(metrics: dict[str, Any], epochs: int) -> str:
    def pct(value: Any) -> str:
        return "  n/a" if value is None else f"{100 * value:5.2f}"

    stage = f" [{metrics['stage']}]" if metrics.get("stage") else ""
    loss = f" loss {metrics['train_loss']:.4f} lr {metrics['lr']:.4g}" if "train_loss" in metrics else ""
    return (
        f"epoch {metrics['epoch']}/{epochs}{stage}{loss} balanced acc test {pct(metrics.get('test_balanced_accuracy'))}"
        f" val {pct(metrics.get('val_balanced_accuracy'))} (many {pct(metrics.get('test_many_accuracy'))}"
        f" medium {pct(metrics.get('test_medium_accuracy'))} few {pct(metrics.get('test_few_accuracy'))})"
        f" {metrics['wall_time_s']:.1f}s"
    )

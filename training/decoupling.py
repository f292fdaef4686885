"""Decoupled classifiers on a trained embedding (Kang et al. 2020, tutorial slides): cRT, tau-norm, LWS, NCM;
plus post-hoc logit adjustment (Menon et al. 2021) and DRO-LT's balanced classifier stage (drolt, Sec. 5).

Each second stage freezes ``model.embed`` and returns a new ``nn.Linear`` head, so the result is
again a model with a linear head (W, b) the bounds can read:

- cRT: re-initialise the head and train it with class-balanced sampling (cross-entropy, SGD,
  cosine lr) on the frozen embeddings of the training set.
- tau-norm: w_j <- w_j / ||w_j||^tau, biases dropped (Kang et al. found they matter little);
  tau is chosen on the *validation* split over a grid in [0, 2] (never on test).
- LWS: logits_j = f_j (w_j . z + b_j) with learnable scales f_j, trained with class-balanced
  sampling; folded into W and b.
- NCM: nearest class mean in Euclidean distance, argmin_j ||z - mu_j||^2 = argmax_j 2 mu_j . z - ||mu_j||^2,
  which is the linear head W = 2 mu, b = -||mu||^2.
- LA post-hoc: b_j <- b_j - tau log pi_j.
- balanced fine-tune (DRO-LT): like cRT but starting from the trained head.

The embeddings are computed once, without augmentation (a cheaper variant of Kang et al.'s cRT,
which re-augments each epoch).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltbounds.checks import InputError
from training.data.batches import class_balanced_order
from training.metrics import class_accuracy, evaluate_model, predict
from training.models import NormedLinear

TAU_GRID = tuple(float(t) for t in np.round(np.linspace(0.0, 2.0, 21), 10))


def _balanced_accuracy(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """Mean recall over the classes present in ``labels``."""
    accuracy = torch.from_numpy(class_accuracy(logits, labels, num_classes)).to(logits.device)
    # torch's nanmean on the logits' device, as before: its summation order gave the tau tables (and the
    # choice among tied taus) written so far, to the last bit; NumPy's order differs in the last place.
    return float(torch.nanmean(accuracy))


def _linear_copy(head: nn.Module, weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    linear = nn.Linear(weight.shape[1], weight.shape[0]).to(weight.device)
    with torch.no_grad():
        linear.weight.copy_(weight)
        linear.bias.copy_(bias)
    return linear


def _require_linear(head: nn.Module, stage: str) -> nn.Linear:
    if not isinstance(head, nn.Linear):
        raise InputError(f"{stage} needs a linear head (W z + b); this model has {type(head).__name__}: use crt or ncm")
    return head


def _head_as_linear(head: nn.Module, embedding_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(W, b) of the head to start a fine-tune from; a cosine head starts from its normalised W, b = 0."""
    if isinstance(head, nn.Linear):
        bias = head.bias if head.bias is not None else torch.zeros(head.out_features, device=head.weight.device)
        return head.weight.detach().clone(), bias.detach().clone()
    if isinstance(head, NormedLinear):
        weight = F.normalize(head.weight.detach(), dim=1)
        return weight, torch.zeros(weight.shape[0], device=weight.device)
    raise InputError(f"unsupported head {type(head).__name__}")


def train_head(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    weight_decay: float = 5e-4,
    init: tuple[torch.Tensor, torch.Tensor] | None = None,
    scales_only: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Train a linear head (or, with ``scales_only``, per-class scales of ``init``) on fixed embeddings
    with class-balanced sampling, SGD momentum 0.9 and a cosine lr; returns (W, b)."""
    device = embeddings.device
    generator = torch.Generator().manual_seed(int(seed) + 7919)
    dim = embeddings.shape[1]
    if init is None:
        bound = 1.0 / math.sqrt(dim)
        weight = (torch.rand(num_classes, dim, generator=generator) * 2 - 1) * bound
        bias = (torch.rand(num_classes, generator=generator) * 2 - 1) * bound
        weight, bias = weight.to(device), bias.to(device)
    else:
        weight, bias = init[0].clone().to(device), init[1].clone().to(device)
    if scales_only:
        scales = torch.ones(num_classes, device=device, requires_grad=True)
        parameters = [scales]
        fixed_weight, fixed_bias = weight, bias
    else:
        weight.requires_grad_(True)
        bias.requires_grad_(True)
        parameters = [weight, bias]
    optimizer = torch.optim.SGD(parameters, lr=lr, momentum=0.9, weight_decay=0.0 if scales_only else weight_decay)
    n = labels.shape[0]
    steps_per_epoch = max(1, math.ceil(n / batch_size))
    total = max(1, epochs * steps_per_epoch)
    step = 0
    for _ in range(epochs):
        order = class_balanced_order(labels, num_classes, generator).to(device)  # the loop's sampler too
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            for group in optimizer.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total))
            if scales_only:
                logits = scales * (embeddings[index] @ fixed_weight.T + fixed_bias)
            else:
                logits = embeddings[index] @ weight.T + bias
            loss = F.cross_entropy(logits, labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    with torch.no_grad():
        if scales_only:
            return fixed_weight * scales[:, None], fixed_bias * scales
        return weight.detach(), bias.detach()


def tau_normalised(weight: torch.Tensor, tau: float) -> torch.Tensor:
    """w_j / ||w_j||^tau (Kang et al. 2020, tau-normalisation); tau = 0 leaves W unchanged."""
    norms = torch.linalg.vector_norm(weight, dim=1, keepdim=True).clamp_min(1e-12)
    return weight / norms**tau


def choose_tau(
    weight: torch.Tensor,
    val_embeddings: torch.Tensor,
    val_labels: torch.Tensor,
    num_classes: int,
    taus: tuple[float, ...] = TAU_GRID,
) -> tuple[float, list[tuple[float, float]]]:
    """The tau of ``taus`` with the best balanced accuracy on the validation split (first on ties)."""
    if val_labels.numel() == 0:
        raise InputError("tau-norm chooses tau on the validation split, which is empty: use val_fraction > 0")
    table = []
    for tau in taus:
        logits = val_embeddings @ tau_normalised(weight, tau).T
        table.append((float(tau), _balanced_accuracy(logits, val_labels, num_classes)))
    best = max(table, key=lambda row: row[1])[0]
    return best, table


def ncm_head(embeddings: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest class mean as a linear head: W = 2 mu, b = -||mu||^2 (class means of the training embeddings)."""
    counts = torch.bincount(labels, minlength=num_classes)
    if torch.any(counts == 0):
        raise InputError(
            f"NCM needs every class in the training split; classes "
            f"{torch.nonzero(counts == 0).flatten().tolist()} are empty"
        )
    sums = torch.zeros(num_classes, embeddings.shape[1], dtype=embeddings.dtype, device=embeddings.device)
    sums.index_add_(0, labels, embeddings)
    means = sums / counts[:, None].to(embeddings.dtype)
    return 2 * means, -(means**2).sum(1)


def apply_stage(
    model: nn.Module,
    model_spec: dict[str, Any],
    recipe: Any,
    data: Any,
    class_counts: np.ndarray,
    config: Any,
    autocast: Any = contextlib.nullcontext,
    device: Any = None,
) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:
    """Run ``recipe.classifier_stage`` on ``model``; returns (model with new head, new spec, info)."""
    stage = recipe.classifier_stage
    options = dict(recipe.stage_options)
    num_classes = int(data.num_classes)
    train_embeddings = predict(model, data.train.x, autocast)[1]
    train_labels = data.train.y.to(train_embeddings.device)
    info: dict[str, Any] = {"stage": stage}
    head_kwargs = {
        "epochs": int(options.get("epochs", config.classifier_epochs)),
        "lr": float(options.get("lr", config.lr)),
        "batch_size": int(config.batch_size),
        "seed": int(config.seed),
        "weight_decay": float(config.weight_decay),
    }
    if stage == "crt":
        weight, bias = train_head(train_embeddings, train_labels, num_classes, **head_kwargs)
    elif stage == "balanced_finetune":
        init = _head_as_linear(model.head, train_embeddings.shape[1])
        weight, bias = train_head(train_embeddings, train_labels, num_classes, init=init, **head_kwargs)
    elif stage == "lws":
        head = _require_linear(model.head, "LWS")
        init = _head_as_linear(head, train_embeddings.shape[1])
        weight, bias = train_head(
            train_embeddings, train_labels, num_classes, init=init, scales_only=True, **head_kwargs
        )
    elif stage == "tau_norm":
        head = _require_linear(model.head, "tau-norm")
        val_embeddings = predict(model, data.val.x, autocast)[1]
        tau, table = choose_tau(head.weight.detach(), val_embeddings, data.val.y.to(val_embeddings.device), num_classes)
        weight = tau_normalised(head.weight.detach(), tau)
        bias = torch.zeros(num_classes, device=weight.device)
        info.update(tau=tau, val_balanced_accuracy_by_tau=[[t, a] for t, a in table])
    elif stage == "ncm":
        weight, bias = ncm_head(train_embeddings, train_labels, num_classes)
    elif stage == "la_posthoc":
        head = _require_linear(model.head, "post-hoc logit adjustment")
        tau = float(options.get("tau", 1.0))
        priors = torch.as_tensor(np.asarray(class_counts, dtype=np.float64) / np.sum(class_counts))
        weight = head.weight.detach().clone()
        bias = head.bias.detach() - tau * torch.log(priors).to(weight.device, weight.dtype)
        info["tau"] = tau
    else:
        raise InputError(f"unknown classifier stage {stage!r}")
    model.head = _linear_copy(model.head, weight.float(), bias.float())
    spec = dict(model_spec)
    spec["head"] = "linear"
    return model.eval(), spec, info


STAGE_METHODS = ("crt", "tau_norm", "lws", "ncm", "la_posthoc")


def decouple_checkpoint(
    path: str,
    method: str,
    out: str,
    *,
    data_root: str | None = None,
    device: str = "auto",
    classifier_epochs: int | None = None,
    lr: float | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Second stage on a trained checkpoint: rebuild its data from the stored dataset spec, replace the head
    by ``method``'s classifier (cRT, tau-norm, LWS, NCM, post-hoc LA) and write ``out/last.pt``."""
    import json
    import types
    from pathlib import Path

    from training.checkpoints import load_checkpoint, make_checkpoint, model_from_checkpoint, save_checkpoint
    from training.data import DatasetSpec, load_dataset
    from training.distributed import DistContext, device_for
    from training.methods import get_recipe

    if method not in STAGE_METHODS:
        raise InputError(f"--from-checkpoint runs a classifier stage; method must be one of {', '.join(STAGE_METHODS)}")
    target = Path(out) / "last.pt"
    if target.exists() and not overwrite:
        raise InputError(f"{str(target)!r} exists; pass --overwrite or choose another --out")
    checkpoint = load_checkpoint(path)
    base = checkpoint["method"]
    stored = dict(base.get("training") or {})
    torch_device = device_for(DistContext(), device)
    spec = DatasetSpec.from_dict(checkpoint["dataset"])
    data = load_dataset(spec, data_root if data_root is not None else stored.get("data_root"), torch_device)
    model = model_from_checkpoint(checkpoint, torch_device)
    config = types.SimpleNamespace(
        classifier_epochs=int(
            classifier_epochs if classifier_epochs is not None else stored.get("classifier_epochs", 10)
        ),
        lr=float(lr if lr is not None else stored.get("lr") or 0.1),
        batch_size=int(stored.get("batch_size") or 128),
        seed=int(stored.get("seed", spec.seed)),
        weight_decay=float(stored.get("weight_decay") or 5e-4),
    )
    recipe = get_recipe(method)
    class_counts = np.asarray(checkpoint["class_counts"], dtype=np.int64)
    model, model_spec, info = apply_stage(model, dict(checkpoint["model"]), recipe, data, class_counts, config)
    metrics = {"epoch": checkpoint["epoch"], "stage": recipe.classifier_stage, "stage_info": info}
    metrics.update(evaluate_model(model, data))
    method_dict = {
        "name": f"{base['name']}+{method}",
        # hparams and recipe stay the base method's (the loss the embedding was trained with)
        "hparams": base.get("hparams", {}),
        "recipe": base.get("recipe") or recipe.to_dict(),
        "stage_recipe": recipe.to_dict(),
        "training": {**stored, "classifier_epochs": config.classifier_epochs},
        "stage": recipe.classifier_stage,
        "base": {key: value for key, value in base.items() if key != "training"},
        "base_checkpoint": str(path),
    }
    result = make_checkpoint(
        model_spec=model_spec,
        method=method_dict,
        dataset=checkpoint["dataset"],
        class_counts=class_counts,
        epoch=checkpoint["epoch"],
        epochs=checkpoint["epochs"],
        metrics=metrics,
        state={"model": model.state_dict(), "optimizer": {}, "loss": {}, "rng": torch.get_rng_state()},
    )
    save_checkpoint(result, target)
    with open(Path(out) / "metrics.jsonl", "w") as stream:
        stream.write(json.dumps(metrics) + "\n")
    return result

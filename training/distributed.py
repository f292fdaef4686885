"""Data-parallel training with PyTorch DDP, launched by ``torchrun`` (multi-GPU and multi-node).

Every rank draws the same global batch order and augmentation (the epoch generator is seeded
identically), takes its contiguous share of each global batch, and DDP averages gradients. With the
per-rank loss scaled by ``shard_size * world_size / global_batch`` that average is exactly the
single-process gradient of the mean over the global batch for every loss that is a plain per-sample
mean (all of ``ltbounds.losses``' logit losses, re-weighted ones included: their mean is (1/m) sum,
not PyTorch's weight-normalised mean). Losses with batch statistics (ELM's pairwise pull, DRO-LT's
batch-centroid fallback, batch centre loss) see each rank's shard only. BatchNorm statistics are
per-rank unless ``sync_batch_norm``.

``torchrun --nproc_per_node=2 -m ltbounds train ...`` sets RANK / WORLD_SIZE / LOCAL_RANK; the
backend is NCCL on CUDA and gloo on the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def context_from_environment() -> DistContext:
    """RANK / WORLD_SIZE / LOCAL_RANK as set by torchrun (a single process when absent)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    return DistContext(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))


def initialise(context: DistContext, device: torch.device) -> None:
    """Join the process group (idempotent)."""
    if not context.enabled or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=context.rank, world_size=context.world_size)


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def device_for(context: DistContext, preference: str) -> torch.device:
    """``auto``: CUDA (this rank's local GPU) when available, else CPU."""
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(preference)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", context.local_rank if context.enabled else torch.cuda.current_device())
    return device


def wrap(module: nn.Module, context: DistContext, device: torch.device, sync_batch_norm: bool = False) -> nn.Module:
    """DDP around ``module`` when running with more than one process."""
    if not context.enabled:
        return module
    if sync_batch_norm:
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=device_ids)


def shard(indices: torch.Tensor, context: DistContext) -> torch.Tensor:
    """This rank's contiguous share of a global batch (sizes differ by at most one)."""
    if not context.enabled:
        return indices
    return torch.tensor_split(indices, context.world_size)[context.rank]


def all_reduce_sum(value: torch.Tensor, context: DistContext) -> torch.Tensor:
    if context.enabled:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def barrier(context: DistContext) -> None:
    if context.enabled:
        dist.barrier()

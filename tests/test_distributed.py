"""training.distributed: two gloo processes on the CPU give the single-process run on the same global batch."""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from training.config import TrainConfig
from training.data import DatasetSpec, LongTailData, Split
from training.distributed import DistContext, shard

CONFIG = dict(
    method="la", dataset="gaussian", epochs=3, batch_size=16, lr=0.1, progress=False, model="mlp",
    model_options={"hidden": [12], "batch_norm": False}, seed=1,
)  # fmt: skip


def _data() -> LongTailData:
    generator = torch.Generator().manual_seed(0)
    counts = (18, 9, 4)  # 31 samples: the last global batch of 15 splits 8 / 7 between the ranks

    def split(per_class):
        y = torch.cat([torch.full((n,), c, dtype=torch.int64) for c, n in enumerate(per_class)])
        return Split(torch.randn(len(y), 5, generator=generator) + y[:, None].float(), y)

    return LongTailData(
        spec=DatasetSpec("gaussian", imbalance=4.5), train=split(counts), val=split((3, 3, 3)),
        test=split((6, 6, 6)), class_counts=np.array(counts), num_classes=3, input_shape=(5,),
    )  # fmt: skip


def _worker(rank: int, world_size: int, port: int, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    from training import distributed
    from training.loop import train

    try:
        result = train(TrainConfig(**CONFIG), data=_data(), out=os.path.join(out, "run") if rank == 0 else None)
        torch.save(result.model.state_dict(), os.path.join(out, f"rank{rank}.pt"))
        with open(os.path.join(out, f"rank{rank}.json"), "w") as stream:
            json.dump(result.metrics, stream)
    finally:
        distributed.shutdown()


def _free_port() -> int:
    with socket.socket() as handle:
        handle.bind(("127.0.0.1", 0))
        return handle.getsockname()[1]


def test_shards_cover_the_global_batch_once():
    batch = torch.arange(15)
    parts = [shard(batch, DistContext(rank, 2, rank)) for rank in range(2)]
    assert [len(p) for p in parts] == [8, 7]
    assert torch.equal(torch.cat(parts), batch)
    assert torch.equal(shard(batch, DistContext()), batch)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")
def test_two_gloo_processes_match_one_process(tmp_path):
    from training.loop import train

    single = train(TrainConfig(**CONFIG), data=_data())
    # fork: the children reuse the imported torch (spawning re-imports it, ~10 s on a loaded machine);
    # they run with one OpenMP thread (tests/conftest.py), which is fork-safe.
    mp.start_processes(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True, start_method="fork")
    states = [torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in range(2)]
    for name, value in single.model.state_dict().items():
        torch.testing.assert_close(states[0][name], value, rtol=1e-5, atol=1e-6, msg=name)
        torch.testing.assert_close(states[1][name], states[0][name], rtol=0, atol=0, msg=name)
    metrics = json.loads((tmp_path / "rank0.json").read_text())
    for ours, reference in zip(metrics, single.metrics, strict=True):
        assert ours["train_loss"] == pytest.approx(reference["train_loss"], rel=1e-5)
        assert ours["test_balanced_accuracy"] == pytest.approx(reference["test_balanced_accuracy"])
        np.testing.assert_allclose(ours["min_margin"], reference["min_margin"], rtol=1e-4, atol=1e-5)
    # only rank 0 writes
    assert (tmp_path / "run" / "last.pt").exists()
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == CONFIG["epochs"]

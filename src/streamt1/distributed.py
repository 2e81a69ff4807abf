"""Data-parallel sharding for ``torchrun --nproc_per_node N -m streamt1 bench``: one process per GPU.

Items are dealt round-robin by their global index (rank r takes items r, r+W, r+2W, ...), so every
item lands on exactly one rank, none is dropped, and an item's video never depends on the rank or
the number of ranks (each item seeds its own noise). Ranks share nothing while they work; the
process group (gloo, on CPU as on GPU: it only carries the final barrier) lets rank 0 write the
merged report once every rank is done.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Iterator, Sequence, TypeVar

import torch

from streamt1.config import ConfigError

logger = logging.getLogger(__name__)
T = TypeVar("T")
# Ranks finish their shards at different times; the barrier must outwait the slowest one.
BARRIER_TIMEOUT = timedelta(days=7)


@dataclass(frozen=True)
class Shard:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    def __post_init__(self) -> None:
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ConfigError(f"rank {self.rank} of world size {self.world_size} is invalid: "
                              "launch with torchrun, which sets RANK, WORLD_SIZE and LOCAL_RANK")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def take(self, items: Sequence[T]) -> list[T]:
        """This rank's items: global indices rank, rank + W, rank + 2W, ..."""
        return list(items[self.rank::self.world_size])


def shard_from_env() -> Shard:
    """The shard torchrun (or any launcher setting RANK / WORLD_SIZE / LOCAL_RANK) assigned us."""
    try:
        rank = int(os.environ.get("RANK", 0))
        world = int(os.environ.get("WORLD_SIZE", 1))
        local = int(os.environ.get("LOCAL_RANK", rank))
    except ValueError:
        raise ConfigError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (set by torchrun)") from None
    return Shard(rank=rank, world_size=world, local_rank=local)


def device_for(shard: Shard, requested: str | None) -> str | None:
    """``cuda:<LOCAL_RANK>`` for a multi-process run on GPUs when the device is left to us or named as ``cuda``
    (which would put every process on the first GPU); a numbered device (``cuda:1``) is taken as asked."""
    if requested not in (None, "auto", "cuda") or shard.world_size == 1 or not torch.cuda.is_available():
        return requested
    if shard.local_rank >= torch.cuda.device_count():
        raise ConfigError(f"LOCAL_RANK={shard.local_rank} but only {torch.cuda.device_count()} GPUs "
                          "are visible: use --nproc_per_node <= the number of GPUs")
    torch.cuda.set_device(shard.local_rank)
    return f"cuda:{shard.local_rank}"


@contextmanager
def process_group(shard: Shard) -> Iterator[None]:
    """A gloo group for the lifetime of a multi-process run (nothing for a single process)."""
    import torch.distributed as dist

    if shard.world_size == 1 or dist.is_initialized():
        yield
        return
    dist.init_process_group("gloo", rank=shard.rank, world_size=shard.world_size, timeout=BARRIER_TIMEOUT)
    try:
        yield
    finally:
        dist.destroy_process_group()


def wait_for_all_ranks() -> None:
    """Block until every rank got here (no-op without a process group)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()

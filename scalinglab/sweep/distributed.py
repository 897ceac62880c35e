"""Many GPUs (or CPU processes) through PyTorch's own launcher, ``torchrun``.

A sweep is many independent runs, so the simplest parallelism is the right one:
whole runs are dealt out to the ranks (run i goes to rank i mod world_size),
each rank trains its runs alone and appends them to the shared results file, and
a barrier at the end lets rank 0 report the whole family. ``torchrun`` sets
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; the process group (NCCL on GPUs,
gloo on CPUs) provides the barrier:

    torchrun --nproc_per_node=4 -m scalinglab sweep --grid model-size --out runs.jsonl
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from scalinglab.profiles import resolve_device


@dataclass(frozen=True)
class Ranks:
    """This process's place among ``world_size`` workers (one on a single machine)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def ranks_from_env() -> Ranks:
    """The ranks ``torchrun`` put in the environment, or a single process."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    except ValueError as err:
        raise RuntimeError(f"malformed torchrun environment ({err}); launch with torchrun") from err
    if not 0 <= rank < world:
        raise RuntimeError(f"RANK={rank} is outside WORLD_SIZE={world}; launch with torchrun")
    return Ranks(rank, world, local, local_world)


def shard(items: Sequence, ranks: Ranks) -> list:
    """The items this rank owns: every ``world_size``-th one, starting at ``rank``."""
    return list(items[ranks.rank :: ranks.world_size])


@contextlib.contextmanager
def process_group(device: str = "auto") -> Iterator[tuple[Ranks, torch.device]]:
    """Join the ``torchrun`` process group (if launched by one); yield ranks and device.

    Each rank gets its own GPU (``cuda:LOCAL_RANK``); CPU ranks split the cores.
    The timeout is long because ranks may wait at the final barrier for a slower
    rank's last run.
    """
    ranks = ranks_from_env()
    resolved = resolve_device(device)
    if ranks.world_size == 1:
        yield ranks, resolved
        return
    if resolved.type == "cuda":
        resolved = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(resolved)
        backend = "nccl"
    else:
        backend = "gloo"
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // ranks.local_world_size))
    started = not dist.is_initialized()
    if started:
        dist.init_process_group(backend=backend, timeout=timedelta(hours=12))
    try:
        yield ranks, resolved
    finally:
        if started and dist.is_initialized():
            dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (a no-op outside a process group)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()

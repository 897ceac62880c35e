"""Data-parallel training of one model with ``torchrun`` (chapter 10).

Where :mod:`scalinglab.sweep.distributed` deals whole *runs* out to the ranks,
this module splits every *batch* of one run across them: the recipe of
distributed data parallelism (Li et al., 2020, "PyTorch Distributed"):

1. every rank builds the same model from the same seed (DDP also broadcasts
   rank 0's weights, so the ranks start identical even if they were not);
2. every rank draws the same global batch from the same seeded generator and
   keeps only its own contiguous block of rows, so the ranks' shards together
   are exactly the batch one process would draw with that seed (and the
   batches :func:`scalinglab.train.train` draws, one ``get_batch`` call per step);
3. each rank runs forward and backward on its shard; DDP averages the
   gradients with an all-reduce while the backward pass is still running;
4. every rank then takes the same AdamW step, so the replicas stay identical;
5. rank 0 evaluates in bits per byte and writes the run record.

``TrainConfig.batch_size`` is the *global* batch (sequences per optimiser
step), as in :mod:`scalinglab.train`; each rank's micro-batch is
``batch_size / (world_size · accum_steps)``. Holding the global batch fixed,
one process accumulating two micro-batches and two ranks with one each compute
the same averaged gradient, so they follow the same loss curve: the test of
this module, and the point the chapter makes. Launch:

    torchrun --nproc_per_node=2 -m scalinglab.ddp --size d16-L2 --tokens 20000 --out record.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from scalinglab.data import get_batch
from scalinglab.model import GPT, GPTConfig
from scalinglab.profiles import resolve_device
from scalinglab.train import (
    LossLog,
    TrainConfig,
    accumulate_gradients,
    apply_learning_rate,
    build_model,
    build_optimizer,
    cpu_threads,
    optimizer_step,
    prepare_tokens,
    resolve_precision,
    run_record,
)

LAUNCH_HINT = "launch with `torchrun --nproc_per_node=N -m scalinglab.ddp ...`"
TORCHRUN_VARS = ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class BatchSplit:
    """How one global batch is cut: ``world_size`` ranks × ``accum_steps`` micro-batches."""

    global_batch: int
    world_size: int
    accum_steps: int

    def __post_init__(self) -> None:
        if self.world_size < 1 or self.accum_steps < 1:
            raise ValueError(
                f"world_size and accum_steps must be ≥ 1, got {self.world_size} and "
                f"{self.accum_steps}"
            )
        parts = self.world_size * self.accum_steps
        if self.global_batch < parts or self.global_batch % parts:
            raise ValueError(
                f"a global batch of {self.global_batch} sequences does not split evenly over "
                f"{self.world_size} rank(s) × {self.accum_steps} micro-batch(es); choose a global "
                f"batch that is a multiple of {parts} (--global-batch), or a number of processes "
                f"(torchrun --nproc_per_node) and --accum-steps whose product divides "
                f"{self.global_batch}"
            )

    @property
    def per_rank(self) -> int:
        return self.global_batch // self.world_size

    @property
    def micro_batch(self) -> int:
        return self.per_rank // self.accum_steps


def rank_batch(tokens: np.ndarray, split: BatchSplit, seq_len: int, rng: np.random.Generator,
               rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank ``rank``'s rows of the global batch that ``rng`` draws next.

    Every rank draws the *whole* global batch (offsets cost nothing next to a
    forward pass) and keeps rows ``[rank·B, (rank+1)·B)``, so the generators of
    all ranks stay in step and the shards tile the single-process batch exactly.
    """
    if not 0 <= rank < split.world_size:
        raise ValueError(f"rank {rank} is outside a world of {split.world_size}")
    x, y = get_batch(tokens, split.global_batch, seq_len, rng)
    rows = slice(rank * split.per_rank, (rank + 1) * split.per_rank)
    return x[rows], y[rows]


def check_torchrun_env(environ: dict[str, str] | None = None) -> int:
    """The world size ``torchrun`` set, after checking the variables it always sets.

    A ``WORLD_SIZE`` above 1 without ``RANK``/``MASTER_ADDR``/... means the
    process was not started by ``torchrun`` (or the variables were lost), and
    joining the group would hang or fail obscurely; say so and how to launch.
    """
    env = os.environ if environ is None else environ
    raw = env.get("WORLD_SIZE", "1")
    try:
        world = int(raw)
    except ValueError:
        world = 0
    if world < 1:
        raise RuntimeError(
            f"WORLD_SIZE={raw!r} is not a positive number of processes; {LAUNCH_HINT} "
            "(it sets WORLD_SIZE), or unset WORLD_SIZE to train in one process"
        )
    if world > 1:
        missing = [name for name in TORCHRUN_VARS if name not in env]
        if missing:
            raise RuntimeError(
                f"WORLD_SIZE={world} is set but {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not: {LAUNCH_HINT}, which sets them "
                "all, or unset WORLD_SIZE to train in one process"
            )
    return world


def _world() -> tuple[int, int]:
    """(rank, world size) of the joined process group, or (0, 1) outside one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if check_torchrun_env() > 1:
        raise RuntimeError(
            "launched by torchrun, but no process group was joined; call "
            "train_data_parallel inside scalinglab.sweep.distributed.process_group(), "
            "or run `python -m scalinglab.ddp`, which joins it for you"
        )
    return 0, 1


def train_data_parallel(
    model_config: GPTConfig,
    corpus: Any,
    train_config: TrainConfig | None = None,
    *,
    accum_steps: int = 1,
    device: str | torch.device = "auto",
    num_threads: int | None = None,
    progress: bool | None = None,
    curve_points: int = 100,
    profile: str | None = None,
    extra: dict | None = None,
) -> tuple[GPT, dict | None]:
    """Train one model on every rank of the current process group; return it and its record.

    Outside a process group this is one process with gradient accumulation over
    ``accum_steps`` micro-batches. ``train_config.batch_size`` is the global batch.
    The record (rank 0 only; other ranks get None) has the shape of
    :func:`scalinglab.train.train`'s, plus world_size, accum_steps, micro_batch
    and global_batch; tokens and tokens_per_s count all ranks together.
    """
    with cpu_threads(num_threads):
        return _train_data_parallel(model_config, corpus, train_config or TrainConfig(),
                                    accum_steps, device, progress, curve_points, profile, extra)


def _train_data_parallel(model_config: GPTConfig, corpus: Any, cfg: TrainConfig,
                         accum_steps: int, device: str | torch.device, progress: bool | None,
                         curve_points: int, profile: str | None,
                         extra: dict | None) -> tuple[GPT, dict | None]:
    from tqdm.auto import tqdm

    wall_start = time.perf_counter()
    rank, world = _world()
    split = BatchSplit(cfg.batch_size, world, accum_steps)
    device = resolve_device(device)
    precision = resolve_precision(cfg.precision, device)
    data = prepare_tokens(model_config, corpus, cfg)
    T = model_config.seq_len

    # Same seed on every rank: the same initial weights and the same batch stream.
    model, rng = build_model(model_config, cfg.seed, device)
    step_model: torch.nn.Module = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        step_model = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer, peak_lr, scaler = build_optimizer(model, cfg, precision, device)

    tokens_per_step = split.global_batch * T
    steps = max(1, math.ceil(cfg.tokens / tokens_per_step))
    log = LossLog(steps, curve_points, tokens_per_step, peak_lr, device, digits=7)

    def sum_over_ranks(running: torch.Tensor) -> int:
        # One all-reduce per logged point, not per step.
        if world > 1:
            dist.all_reduce(running)
        return world

    bar = tqdm(total=steps, desc=f"d{model_config.d_model}-L{model_config.n_layer} ×{world}",
               unit="step", leave=False,
               disable=(rank != 0) or (None if progress is None else not progress))
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        apply_learning_rate(optimizer, step, steps, peak_lr, cfg)
        x, y = rank_batch(data.train, split, T, rng, rank)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        accumulate_gradients(step_model, x, y, log, device=device, precision=precision,
                             scaler=scaler, accum_steps=accum_steps)
        optimizer_step(model, optimizer, scaler, cfg.grad_clip)
        log.end_step(step, sum_over_ranks, bar=bar)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    train_s = time.perf_counter() - t0
    bar.close()

    record = None
    if rank == 0:
        record = run_record(
            model, corpus, cfg, data, steps=steps, tokens_per_step=tokens_per_step,
            peak_lr=peak_lr, precision=precision, device=device, loss_curve=log.curve,
            val_curve=[], train_s=train_s, wall_start=wall_start, profile=profile,
            fields={"world_size": world, "accum_steps": accum_steps,
                    "global_batch": split.global_batch, "micro_batch": split.micro_batch},
            extra=extra,
        )
    if world > 1:
        dist.barrier()  # the other ranks wait for rank 0's evaluation before leaving the group
    return model, record


# -- the command line ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torchrun --nproc_per_node=N -m scalinglab.ddp",
        description="Train one model data-parallel across the processes torchrun starts "
                    "(gloo on CPUs, NCCL on GPUs); rank 0 writes the run record. Without "
                    "torchrun it trains in one process, with --accum-steps micro-batches per "
                    "step. The global batch, and so the loss curve, does not depend on N.",
    )
    parser.add_argument("--size", required=True,
                        help="model size from the profile, e.g. d16-L2 or d32-L2")
    parser.add_argument("--tokens", type=int, default=100_000,
                        help="training tokens, all ranks together (default 100000)")
    parser.add_argument("--profile", default=None,
                        help="tiny, cpu, colab or gpu (default: SCALINGLAB_PROFILE, else detected);"
                             " sets seq_len, the default batch, device and corpus sample")
    parser.add_argument("--corpus", default=None, help="corpus name (default: the profile's)")
    parser.add_argument("--global-batch", type=int, default=None,
                        help="sequences per optimiser step, all ranks together (default: the "
                             "profile's batch size); must be a multiple of N × accum-steps")
    parser.add_argument("--accum-steps", type=int, default=1,
                        help="micro-batches each rank accumulates per step (default 1)")
    parser.add_argument("--lr", type=float, default=None,
                        help="peak learning rate (default: the profile's lr_base·sqrt(128/d))")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and batches")
    parser.add_argument("--device", default=None,
                        help="cpu, cuda or auto (default: the profile's); on CUDA rank r uses "
                             "cuda:LOCAL_RANK")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads per rank (default: cores / ranks per machine)")
    parser.add_argument("--eval-tokens", type=int, default=None,
                        help="validation tokens for val_bpb (default: the profile's)")
    parser.add_argument("--corpus-train-bytes", type=int, default=None,
                        help="synthetic corpus only: training sample size (default: the profile's)")
    parser.add_argument("--corpus-val-bytes", type=int, default=None,
                        help="synthetic corpus only: validation sample size (default: the "
                             "profile's)")
    parser.add_argument("--curve-points", type=int, default=100,
                        help="points in the loss curve (default 100)")
    parser.add_argument("--out", default=None, help="write the run record here as JSON (rank 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see :func:`build_parser`); returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return _main(args)
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _main(args: argparse.Namespace) -> int:
    from scalinglab._io import write_atomic
    from scalinglab.data import load_corpus
    from scalinglab.profiles import get_profile
    from scalinglab.sweep.distributed import process_group

    world = check_torchrun_env()
    profile = get_profile(args.profile)
    size = profile.size(args.size)
    corpus_name = args.corpus or profile.corpus
    options = profile.corpus_options(corpus_name)
    for flag, key in (("corpus_train_bytes", "train_bytes"), ("corpus_val_bytes", "val_bytes")):
        value = getattr(args, flag)
        if value is not None:
            if corpus_name != "synthetic":
                raise ValueError(f"--{flag.replace('_', '-')} sizes the synthetic sample only; "
                                 f"drop it for {corpus_name}, which is loaded whole")
            options[key] = value
    out = Path(args.out) if args.out else None
    if out is not None and not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise FileNotFoundError(f"output folder {out.parent} does not exist; create it first")
    train_config = TrainConfig(
        tokens=args.tokens,
        batch_size=args.global_batch or profile.batch_size,
        lr=args.lr, lr_base=profile.lr_base, seed=args.seed,
        eval_tokens=args.eval_tokens or profile.eval_tokens,
    )
    # Fail on a bad split before any process group is joined or corpus loaded.
    BatchSplit(train_config.batch_size, world, args.accum_steps)
    device = args.device or profile.device
    if world > 1 and resolve_device(device).type == "cuda":
        gpus = torch.cuda.device_count()
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        if local_world > gpus:
            raise RuntimeError(f"{local_world} ranks on this machine but {gpus} GPU(s); launch "
                               f"with torchrun --nproc_per_node={gpus} (one rank per GPU)")
    with process_group(device) as (ranks, run_device):
        corpus = load_corpus(corpus_name, **options)
        model_config = size.config(corpus.vocab_size, profile.seq_len)
        threads = args.threads
        if threads is None and ranks.world_size > 1 and run_device.type == "cpu":
            threads = torch.get_num_threads()  # what process_group chose: cores / local ranks
        _, record = train_data_parallel(
            model_config, corpus, train_config, accum_steps=args.accum_steps, device=run_device,
            num_threads=threads, progress=False if args.quiet else None,
            curve_points=args.curve_points, profile=profile.name,
            extra={"size": size.name, "corpus_options": options},
        )
    if record is None:
        return 0
    if out is not None:
        write_atomic(out, (json.dumps(record, indent=1) + "\n").encode())
    if not args.quiet:
        print(f"{size.name} on {record['world_size']} rank(s) × {record['accum_steps']} "
              f"micro-batch(es) of {record['micro_batch']}: val {record['val_bpb']:.4f} bits/byte, "
              f"{record['tokens']:,} tokens, {record['tokens_per_s']:,.0f} tokens/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

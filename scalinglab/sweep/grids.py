"""The four families of runs a scaling-law study trains, laid out from a profile.

* **model-size** — L(N): each model size on enough tokens to come close to
  convergence (Kaplan et al., 2020, section 3).
* **data-size** — L(D) as Kaplan et al. (2020) measured it: one model, large
  enough not to be the bottleneck, trained on D fresh tokens (one pass, its
  schedule ending at D), for several D.
* **repetition** — one model on training sets of U distinct bytes, for the same
  number of tokens, so small sets are repeated (Muennighoff et al., 2023); the
  early-stopped validation loss (``val_bpb_best``) is what repeated data is worth.
* **isoflop** — for each compute budget C, every size trained on C divided by
  its FLOPs per token; the minimum of each curve is the compute-optimal model
  (Hoffmann et al., 2022, approach 2).

Each run is identified by a *run key*, a hash of everything that decides its
outcome, so a restarted sweep can tell finished runs from new ones.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass, field

import torch

from scalinglab.model import GPT, GPTConfig
from scalinglab.profiles import ModelSize, Profile, non_embedding_params
from scalinglab.train import TrainConfig

GRIDS = ("model-size", "data-size", "repetition", "isoflop")
MIN_STEPS = 50  # an IsoFLOP point with fewer optimiser steps than this says nothing; drop it
# An IsoFLOP point whose model sees fewer tokens than it has (non-embedding) parameters has
# barely begun to learn: its loss sits far up the curve's right arm, and a parabola drawn
# through it misplaces the minimum (measured on the cpu grid: with d96/d128 at 0.3-0.8 tokens
# per parameter, the 1e12 parabola's lowest loss fell below the entropy floor).
MIN_TOKENS_PER_PARAM = 1.0
CURVE_EVAL_POINTS = 8  # validation points along a run: early stopping, convergence checks


def check_grid(grid: str) -> str:
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r}; choose one of {', '.join(GRIDS)}")
    return grid


@functools.lru_cache(maxsize=256)
def flops_per_token(size: ModelSize, seq_len: int) -> float:
    """Training FLOPs per token of ``size`` (built on the meta device: no memory, no time)."""
    with torch.device("meta"):
        return GPT(size.config(vocab_size=2, seq_len=seq_len)).flops_per_token()


@dataclass(frozen=True)
class GridPoint:
    """One run of a family, before it knows its corpus."""

    grid: str
    size: ModelSize
    tokens: int
    train_bytes: int | None = None
    flops_budget: float | None = None
    eval_points: int = 0


def grid_points(profile: Profile, grid: str) -> list[GridPoint]:
    """The runs of family ``grid`` in ``profile``, in the order they are trained."""
    check_grid(grid)
    if grid == "model-size":
        pairs = zip(profile.model_sizes, profile.model_size_tokens, strict=True)
        return [GridPoint(grid, size, tokens, eval_points=CURVE_EVAL_POINTS)
                for size, tokens in pairs]
    if grid == "data-size":
        size = profile.size(profile.data_size_model)
        return [GridPoint(grid, size, tokens) for tokens in profile.data_size_tokens]
    if grid == "repetition":
        size = profile.size(profile.repetition_model)
        return [GridPoint(grid, size, profile.repetition_tokens, train_bytes=u,
                          eval_points=CURVE_EVAL_POINTS)
                for u in profile.repetition_unique_bytes]
    tokens_per_step = profile.batch_size * profile.seq_len
    points = []
    for budget in profile.isoflop_budgets:
        for name in profile.isoflop_sizes:
            size = profile.size(name)
            steps = round(budget / flops_per_token(size, profile.seq_len) / tokens_per_step)
            tokens = steps * tokens_per_step
            # Too few steps or tokens per parameter teaches nothing (far right of the
            # minimum the curve is drawn to find); too many tokens means a model far too
            # small for the budget, far left of it.
            per_param = tokens / non_embedding_params(size)
            if (MIN_STEPS <= steps and tokens <= profile.isoflop_max_tokens
                    and MIN_TOKENS_PER_PARAM <= per_param
                    <= profile.isoflop_max_tokens_per_param):
                points.append(GridPoint(grid, size, tokens, flops_budget=budget))
    return points


def estimate_seconds(profile: Profile, grid: str) -> float:
    """Training time of a family from the profile's rough throughput model (no evaluation)."""
    return sum(p.tokens / profile.estimated_tokens_per_s(flops_per_token(p.size, profile.seq_len))
               for p in grid_points(profile, grid))


def run_key(payload: dict) -> str:
    """First 16 hex digits of the SHA-256 of ``payload`` as canonical JSON."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass
class RunSpec:
    """A grid point made concrete for one corpus: the configs that ``train`` takes."""

    point: GridPoint
    model: GPTConfig
    optim: TrainConfig
    corpus: str
    corpus_options: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Hash of what decides the outcome: model, optimiser, data, seed.

        Where the run executes (device, threads, compile) is left out, so a sweep
        started on one machine can be finished on another.
        """
        return run_key({"model": asdict(self.model), "optim": asdict(self.optim),
                        "corpus": self.corpus, "corpus_options": self.corpus_options})


def plan(profile: Profile, grid: str, corpus: str, vocab_size: int, corpus_options: dict,
         seed: int = 0) -> list[RunSpec]:
    """The runs of ``grid`` on a corpus with ``vocab_size`` tokens, with their configs."""
    specs = []
    for point in grid_points(profile, grid):
        model = point.size.config(vocab_size=vocab_size, seq_len=profile.seq_len)
        optim = TrainConfig(tokens=point.tokens, batch_size=profile.batch_size,
                            lr_base=profile.lr_base, eval_tokens=profile.eval_tokens,
                            seed=seed, train_bytes=point.train_bytes)
        specs.append(RunSpec(point, model, optim, corpus, dict(corpus_options)))
    return specs

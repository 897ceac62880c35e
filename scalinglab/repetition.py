"""Repeated data: how much a token seen again is worth (chapter 7, "Loss against data").

When a training set holds only U distinct tokens and a run reads D > U tokens,
every token is seen about D/U times. Muennighoff et al. (2023, "Scaling
data-constrained language models", eq. 5) count such a run's data as an
*effective* number of tokens,

    D' = U + U·R*·(1 − exp(−R/R*)),     R = D/U − 1 repetitions,

so the first repetitions are worth almost as much as fresh tokens (D' ≈ D
for R ≪ R*) and later ones less and less, with D' never above U·(1 + R*).
Fitted to hundreds of language-model runs, R* ≈ 15.4 (their R*_D).

This module computes D', fits R* to a family of runs that all read the same
number of tokens from sets of different sizes (the book's repetition grid), and
gives the pieces of the lab's repetition experiment: the configs of one
repetition run, and training with *input noise* — a fraction of the input bytes
replaced by random symbols while the targets stay clean, a known regulariser
and the simplest augmentation that leaves the source's distribution of targets
untouched.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from scalinglab.fit import fit_power_law

# Muennighoff et al. (2023): fitted half-lives of repeated data and of excess parameters.
R_STAR_D = 15.4
R_STAR_N = 5.3


def repetitions(unique: float | np.ndarray, tokens: float | np.ndarray) -> float | np.ndarray:
    """R = D/U − 1: how many times each of U distinct tokens is seen again in D tokens."""
    unique, tokens = np.asarray(unique, dtype=float), np.asarray(tokens, dtype=float)
    if np.any(unique <= 0) or np.any(tokens <= 0):
        raise ValueError("unique and tokens must be positive token counts")
    out = np.maximum(tokens / unique - 1.0, 0.0)
    return float(out) if out.ndim == 0 else out


def effective_data(unique: float | np.ndarray, tokens: float | np.ndarray,
                   r_star: float = R_STAR_D) -> float | np.ndarray:
    """D' = U + U·R*·(1 − e^(−R/R*)) (Muennighoff et al. 2023): effective fresh tokens.

    With tokens ≤ unique (no repetition) D' is simply the tokens read.
    """
    if not r_star > 0:
        raise ValueError(f"r_star must be positive; got {r_star!r}")
    unique_a, tokens_a = np.asarray(unique, dtype=float), np.asarray(tokens, dtype=float)
    R = np.asarray(repetitions(unique_a, tokens_a))
    out = np.where(tokens_a <= unique_a, tokens_a,
                   unique_a + unique_a * r_star * (1.0 - np.exp(-R / r_star)))
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class RepetitionFamily:
    """The repetition runs of one profile as arrays, smallest training set first."""

    unique: np.ndarray        # distinct training bytes U (one byte is one token here)
    tokens: np.ndarray        # tokens read by each run D
    val_bpb: np.ndarray       # validation loss at the end of training
    val_bpb_best: np.ndarray  # best validation loss along the run (early stopping)
    train_bpb: np.ndarray     # loss on the run's own training bytes
    floor_bpb: float          # entropy rate of the source
    size: str                 # the model trained

    @property
    def repetitions(self) -> np.ndarray:
        return np.asarray(repetitions(self.unique, self.tokens))

    @property
    def gap_bpb(self) -> np.ndarray:
        """Generalisation gap: validation minus training loss, bits per byte."""
        return self.val_bpb - self.train_bpb


def repetition_family(records: Sequence[dict]) -> RepetitionFamily:
    """Arrays from repetition records (reference or trained now), sorted by unique bytes."""
    if not records:
        raise ValueError("no records: train the repetition grid or load its reference first")
    rows = sorted(records, key=lambda r: r["train_bytes"])
    sizes = {r["size"] for r in rows}
    if len(sizes) != 1:
        raise ValueError("a repetition family trains one model; these records hold "
                         f"{sorted(sizes)}")

    def column(key: str) -> np.ndarray:
        return np.array([r[key] for r in rows], dtype=float)

    return RepetitionFamily(column("train_bytes"), column("tokens"), column("val_bpb"),
                          column("val_bpb_best"), column("train_bpb"),
                          float(rows[0]["entropy_floor_bpb"]), sizes.pop())


@dataclass(frozen=True)
class RStarFit:
    """R* fitted by profiling: for each R* on a grid, L = E + B·D'^(−β) fitted with E free."""

    r_star: float             # the grid value with the smallest sum of squared log residuals
    E: float
    B: float
    beta: float
    grid: np.ndarray          # R* values tried
    sse: np.ndarray           # sum of squared log residuals at each

    def plausible(self, factor: float = 2.0) -> tuple[float, float]:
        """The range of R* whose misfit is within ``factor`` of the best one."""
        ok = self.grid[self.sse <= factor * self.sse.min()]
        return float(ok.min()), float(ok.max())

    def predict(self, unique: float | np.ndarray, tokens: float | np.ndarray
                ) -> float | np.ndarray:
        d_eff = np.asarray(effective_data(unique, tokens, self.r_star))
        return self.E + self.B * d_eff ** -self.beta


def fit_r_star(unique: np.ndarray, tokens: np.ndarray, loss: np.ndarray,
               grid: np.ndarray | None = None) -> RStarFit:
    """Fit R* to runs of one model on U distinct tokens, D tokens read, loss L.

    For every R* on ``grid`` (default 0.5 … 2000, log-spaced) the saturating law
    L = E + B·D'(U, D; R*)^(−β) is fitted with :func:`fit_power_law` (E free, least
    squares in log space); the R* with the smallest misfit wins. The whole
    misfit curve is kept: a flat curve means the runs cannot tell R* apart.
    """
    unique, tokens, loss = (np.asarray(a, dtype=float) for a in (unique, tokens, loss))
    if not (len(unique) == len(tokens) == len(loss)) or len(loss) < 4:
        raise ValueError("fit_r_star needs at least 4 runs, with unique, tokens and loss alike")
    grid = np.geomspace(0.5, 2000.0, 60) if grid is None else np.asarray(grid, dtype=float)
    sse, fits = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # few points for three parameters
        for r in grid:
            d_eff = np.asarray(effective_data(unique, tokens, r))
            fit = fit_power_law(d_eff, loss, loss="squares")
            misfit = float(np.sum((np.log(loss) - np.log(fit.predict(d_eff))) ** 2))
            sse.append(misfit if np.isfinite(misfit) else np.inf)
            fits.append(fit)
    sse = np.array(sse)
    best = int(np.argmin(sse))
    f = fits[best]
    return RStarFit(float(grid[best]), float(f.E), float(f.A), float(f.alpha), grid, sse)


def effective_unique(loss: float | np.ndarray, E: float, A: float, alpha: float
                     ) -> float | np.ndarray:
    """Invert L(U) = E + A·U^(−α): the distinct tokens that a fitted data law says a loss
    is worth. A loss at or below E is worth more than any finite set (infinity)."""
    excess = np.asarray(loss, dtype=float) - E
    with np.errstate(divide="ignore"):
        out = np.where(excess > 0, (A / np.where(excess > 0, excess, 1.0)) ** (1.0 / alpha),
                       np.inf)
    return float(out) if out.ndim == 0 else out


def repetition_configs(profile, vocab_size: int, train_bytes: int, seed: int = 0):
    """The model config and TrainConfig of one repetition run of ``profile``, as the grid
    builds them (scalinglab.sweep.grids.plan), on ``train_bytes`` distinct bytes."""
    from scalinglab.sweep.grids import plan

    spec = plan(profile, "repetition", profile.corpus, vocab_size, {}, seed=seed)[0]
    return spec.model, dataclasses.replace(spec.optim, train_bytes=int(train_bytes))


def noisy_inputs(x: torch.Tensor, p: float, vocab_size: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """A copy of the input bytes ``x`` with a fraction ``p`` replaced by uniform random symbols.

    Only the inputs change: a model trained on (noisy x, clean y) must predict the true next
    byte from a slightly corrupted context, so it cannot simply memorise exact contexts.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p is a fraction of bytes, 0 ≤ p < 1; got {p!r}")
    if p == 0:
        return x.clone()
    hit = torch.rand(x.shape, generator=generator) < p
    random = torch.randint(0, vocab_size, x.shape, generator=generator, dtype=x.dtype)
    return torch.where(hit, random, x)


def train_with_input_noise(model_config, corpus, train_config, p: float, **options) -> dict:
    """``scalinglab.train.train`` with a fraction ``p`` of the input bytes randomised.

    The record gains ``input_noise`` = p. Validation and training losses are measured on
    clean bytes, as for any run.
    """
    from scalinglab.train import train

    generator = torch.Generator().manual_seed(train_config.seed)
    record = train(model_config, corpus, train_config,
                   batch_transform=lambda x: noisy_inputs(x, p, corpus.vocab_size, generator),
                   **options)
    record["input_noise"] = p
    return record


def fraction_of_fresh(unique: float, tokens: float, r_star: float = R_STAR_D) -> float:
    """D'/D: the share of the tokens read that counts as fresh."""
    return float(effective_data(unique, tokens, r_star)) / float(tokens)


__all__ = [
    "R_STAR_D", "R_STAR_N", "RepetitionFamily", "RStarFit", "repetition_configs",
    "repetition_family", "effective_data", "effective_unique", "fit_r_star",
    "fraction_of_fresh", "noisy_inputs", "repetitions",
    "train_with_input_noise",
]

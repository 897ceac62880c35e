"""Learning curves from run records, and the compute frontier they trace (labs 1 and 8).

Every training record keeps ``loss_curve``: ``[tokens_seen, train_bpb]`` pairs,
one per logging step, each the loss of a single batch and so noisy. Here they
become arrays, are averaged in bins evenly spaced in log tokens (what a log–log
plot shows), and are put on a compute axis, C = FLOPs per token × tokens seen
(≈ 6N per token, chapter 1).

The **compute frontier** is the lowest training loss that any run of a family
reached for a budget of at most C FLOPs. A run can always be stopped early, so
the frontier never rises with C; which model sits on it changes as C grows
(Kaplan et al. 2020, figure 2; chapter 8 makes it a law).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def learning_curve(record: dict) -> tuple[np.ndarray, np.ndarray]:
    """A run's training curve: (tokens seen, training bits per byte), as arrays."""
    curve = record.get("loss_curve")
    if not curve:
        raise ValueError(
            f"record {record.get('size', record.get('run_key', '?'))!r} has no loss_curve; "
            "it was written by an older scalinglab, retrain it with the same sweep"
        )
    points = np.asarray(curve, dtype=float)
    return points[:, 0], points[:, 1]


def smooth_curve(tokens, bpb, bins_per_decade: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Average a noisy curve in bins of equal width in log tokens.

    Returns the geometric mean of the tokens and the mean loss of each
    non-empty bin, in order. Early bins hold one point each; late ones many,
    which is where batch noise would otherwise hide the trend.
    """
    tokens = np.asarray(tokens, dtype=float)
    bpb = np.asarray(bpb, dtype=float)
    if tokens.shape != bpb.shape or tokens.ndim != 1 or len(tokens) == 0:
        raise ValueError("tokens and bpb must be non-empty 1-D arrays of the same length")
    if np.any(tokens <= 0):
        raise ValueError("tokens seen must be positive to sit on a log axis")
    if bins_per_decade < 1:
        raise ValueError(f"bins_per_decade must be at least 1; got {bins_per_decade!r}")
    which = np.floor(np.log10(tokens) * bins_per_decade).astype(int)
    keys = np.unique(which)
    x = np.array([np.exp(np.log(tokens[which == k]).mean()) for k in keys])
    y = np.array([bpb[which == k].mean() for k in keys])
    return x, y


def compute_curve(record: dict, bins_per_decade: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A run's smoothed training curve against compute: (FLOPs, bits per byte)."""
    tokens, bpb = smooth_curve(*learning_curve(record), bins_per_decade=bins_per_decade)
    return record["flops_per_token"] * tokens, bpb


@dataclass(frozen=True)
class ComputeFrontier:
    """The lowest loss reached within each budget, and the run that reached it.

    ``envelope`` is the lower envelope of the (smoothed) curves at each budget;
    ``bpb`` its running minimum, the frontier proper; ``best`` names the run
    whose loss is ``bpb`` (the one that reached it, possibly at a smaller budget).
    """

    flops: np.ndarray
    envelope: np.ndarray
    bpb: np.ndarray
    best: tuple[str, ...]

    def best_at(self, flops: float) -> str:
        """The run on the frontier at a budget of ``flops`` (the nearest budget below it)."""
        i = int(np.searchsorted(self.flops, flops, side="right")) - 1
        if i < 0:
            raise ValueError(f"{flops:.3g} FLOPs is below the smallest budget on the frontier, "
                             f"{self.flops[0]:.3g}")
        return self.best[i]


def compute_frontier(records: list[dict], n_budgets: int = 80,
                     bins_per_decade: int = 10) -> ComputeFrontier:
    """The compute frontier of a family of runs, on ``n_budgets`` log-spaced budgets.

    Each run's smoothed curve is interpolated in log–log coordinates within the
    budgets it covers; outside them it does not compete.
    """
    if not records:
        raise ValueError("no records: train a family first, e.g. sweep('model-size')")
    names = [str(r.get("size", i)) for i, r in enumerate(records)]
    curves = [compute_curve(r, bins_per_decade) for r in records]
    low = min(c[0][0] for c in curves)
    high = max(c[0][-1] for c in curves)
    flops = np.logspace(np.log10(low), np.log10(high), n_budgets)
    flops[0], flops[-1] = low, high  # exact ends, free of rounding in logspace
    table = np.full((len(curves), n_budgets), np.inf)
    for j, (c, bpb) in enumerate(curves):
        inside = (flops >= c[0]) & (flops <= c[-1])
        table[j, inside] = np.exp(np.interp(np.log(flops[inside]), np.log(c), np.log(bpb)))
    envelope = table.min(axis=0)
    owner = table.argmin(axis=0)
    frontier = np.minimum.accumulate(envelope)
    best = []
    for i in range(n_budgets):
        # the run whose envelope point set the running minimum
        k = int(np.flatnonzero(envelope[: i + 1] == frontier[i])[-1])
        best.append(names[owner[k]])
    return ComputeFrontier(flops, envelope, frontier, tuple(best))

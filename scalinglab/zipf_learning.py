"""Why learning curves are power laws: learners that must meet each feature to know it.

Chapter 9 of the book. If the things to learn (features, quanta, contexts) are used
with Zipf frequencies p_k ∝ k^-(1+α), and a learner knows feature k once it has seen
it, then after n samples the loss still to be removed is the probability mass of the
features not yet seen. Its expectation

    M(n) = Σ_k p_k (1 - p_k)^n  ≈  Γ(α/(1+α)) c^(1/(1+α)) / (1+α) · n^(-α/(1+α))

(for p_k = c k^-(1+α) and many features) is a power law in n with exponent
α/(1+α) (Hutter, 2021, "Learning curve theory"). A model with room for only the N
most frequent features leaves the tail mass Σ_{k>N} p_k ∝ N^-α, a power law in model
size (Michaud et al., 2023, "The quantization model of neural scaling").

The same counting argument holds for a count-based next-symbol model: the
add-½ (Krichevsky–Trofimov) estimate's excess cross-entropy is measured here with
:func:`count_model_excess_bits`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gamma as gamma_function

LN2 = math.log(2.0)


def feature_probabilities(n_features: int, alpha: float) -> np.ndarray:
    """Zipf frequencies p_k ∝ k^-(1+alpha) for k = 1..n_features, normalised to sum 1."""
    if isinstance(n_features, bool) or int(n_features) != n_features or n_features < 1:
        raise ValueError(f"n_features must be a positive integer, got {n_features!r}")
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0 (0 is a flat tail), got {alpha!r}")
    weights = np.arange(1, int(n_features) + 1, dtype=np.float64) ** -(1.0 + float(alpha))
    return weights / weights.sum()


def _as_probabilities(p) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-9:
        raise ValueError("p must be a non-empty 1-D array of probabilities that sums to 1")
    return p


def expected_missing_mass(p, n) -> np.ndarray:
    """Σ_k p_k (1 - p_k)^n for each sample count in ``n``: the expected unseen mass.

    Computed as exp(n · log1p(-p_k)), exact in floating point for tiny p_k and huge n.
    """
    p = _as_probabilities(p)
    n = np.atleast_1d(np.asarray(n, dtype=np.float64))
    if np.any(n < 0):
        raise ValueError("sample counts n must be >= 0")
    log_keep = np.log1p(-np.minimum(p, 1.0))
    out = np.empty(n.shape)
    for i, count in enumerate(n.ravel()):  # one pass per n keeps memory at one copy of p
        out.flat[i] = float(p @ np.exp(count * log_keep))
    return out


def missing_mass_asymptote(alpha: float, n, c: float = 1.0) -> np.ndarray:
    """The large-n law for p_k = c·k^-(1+α): Γ(α/(1+α)) c^(1/(1+α)) / (1+α) · n^(-α/(1+α))."""
    if not alpha > 0:
        raise ValueError(f"the asymptote needs alpha > 0, got {alpha!r}")
    beta = alpha / (1.0 + alpha)
    n = np.asarray(n, dtype=np.float64)
    return gamma_function(beta) * c ** (1.0 / (1.0 + alpha)) / (1.0 + alpha) * n**-beta


def sampled_missing_mass(p, n, seed: int = 0) -> np.ndarray:
    """Unseen mass after each count in ``n`` for one stream of samples drawn from ``p``.

    One stream of max(n) feature draws; the curve is the mass of the features whose
    first appearance comes after position n. Its expectation is
    :func:`expected_missing_mass`.
    """
    p = _as_probabilities(p)
    n = np.atleast_1d(np.asarray(n, dtype=np.int64))
    if np.any(n < 0):
        raise ValueError("sample counts n must be >= 0")
    rng = np.random.default_rng(seed)
    stream = rng.choice(p.size, size=int(n.max()), p=p)
    first_seen = np.full(p.size, np.iinfo(np.int64).max)
    features, first = np.unique(stream, return_index=True)
    first_seen[features] = first + 1  # seen after this many samples
    order = np.argsort(first_seen)
    seen_mass = np.concatenate([[0.0], np.cumsum(p[order])])
    known = np.searchsorted(first_seen[order], n, side="right")
    return np.maximum(1.0 - seen_mass[known], 0.0)


def tail_mass(p, capacity) -> np.ndarray:
    """Σ_{k > N} p_k for each N in ``capacity``: what a model holding the N commonest misses."""
    p = np.sort(_as_probabilities(p))[::-1]
    tails = np.concatenate([np.cumsum(p[::-1])[::-1], [0.0]])
    capacity = np.atleast_1d(np.asarray(capacity, dtype=np.int64))
    if np.any(capacity < 0):
        raise ValueError("capacity must be >= 0")
    return tails[np.minimum(capacity, p.size)]


def count_model_excess_bits(p, n, repeats: int = 8, pseudo_count: float = 0.5,
                            seed: int = 0) -> np.ndarray:
    """Mean KL(p || q_n) in bits for the add-``pseudo_count`` estimate from n i.i.d. draws.

    q_n(k) = (c_k + ½) / (n + V/2), with c_k the counts of n symbols drawn from ``p``;
    the excess cross-entropy over the source's entropy is KL(p || q_n). Averaged over
    ``repeats`` independent samples for each n.
    """
    p = _as_probabilities(p)
    if repeats < 1 or pseudo_count <= 0:
        raise ValueError("repeats must be >= 1 and pseudo_count > 0")
    n = np.atleast_1d(np.asarray(n, dtype=np.int64))
    rng = np.random.default_rng(seed)
    support = p > 0
    log_p = np.log2(p[support])
    out = np.empty(n.shape)
    for i, count in enumerate(n.ravel()):
        total = 0.0
        for _ in range(repeats):
            counts = rng.multinomial(int(count), p)
            q = (counts + pseudo_count) / (count + pseudo_count * p.size)
            total += float(p[support] @ (log_p - np.log2(q[support])))
        out.flat[i] = total / repeats
    return out


def rank_frequency(probs) -> np.ndarray:
    """The non-zero probabilities sorted from the commonest down (rank 1 first)."""
    probs = np.asarray(probs, dtype=np.float64).ravel()
    return np.sort(probs[probs > 0])[::-1]


def local_slope(x, y) -> np.ndarray:
    """d ln y / d ln x at each point (central differences): a power law's slope is constant."""
    return np.gradient(np.log(np.asarray(y, float)), np.log(np.asarray(x, float)))


def context_indices(tokens, vocab_size: int, order: int) -> np.ndarray:
    """The order-K context (last K symbols, oldest most significant) before each token from K on."""
    tokens = np.asarray(tokens, dtype=np.int64)
    if tokens.size <= order:
        raise ValueError(f"need more than order={order} tokens, got {tokens.size}")
    ctx = np.zeros(tokens.size - order, dtype=np.int64)
    for j in range(order):
        ctx = ctx * vocab_size + tokens[j: tokens.size - order + j]
    return ctx


def markov_count_excess_bits(source, tokens, n, pseudo_count: float = 0.5) -> np.ndarray:
    """Excess cross-entropy (bits/symbol) of an add-½ order-K count model after n tokens.

    The model counts next symbols in each order-K context of the first n tokens of
    ``tokens`` and predicts (count + ½) / (context count + V/2). Its expected excess
    over the source's entropy rate is exact given the counts:
    Σ_c π(c) KL(P(·|c) || q(·|c)), with π the source's stationary distribution.
    """
    v, order = source.vocab_size, source.order
    tokens = np.asarray(tokens)
    ctx = context_indices(tokens, v, order)
    pair = ctx * v + tokens[order:].astype(np.int64)
    truth = np.asarray(source.next_symbol_probs)
    pi = np.asarray(source.stationary)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_truth = np.where(truth > 0, np.log2(truth), 0.0)
    n = np.atleast_1d(np.asarray(n, dtype=np.int64))
    out = np.empty(n.shape)
    for i, count in enumerate(n.ravel()):
        m = max(int(count) - order, 0)
        counts = np.bincount(pair[:m], minlength=truth.size).reshape(truth.shape)
        q = (counts + pseudo_count) / (counts.sum(axis=1, keepdims=True) + pseudo_count * v)
        kl = (truth * (log_truth - np.log2(q))).sum(axis=1)
        out.flat[i] = float(pi @ kl)
    return out


def learning_curve_gap(record: dict, start_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, loss − floor) from a run record's ``loss_curve``, from ``start_fraction`` on.

    The first points are left out: they hold the warmup and the early plateau, which
    no data learning curve describes. Points at or below the floor (possible for a
    noisy batch average) are dropped, since a power law of the gap needs a positive gap.
    """
    if not 0 <= start_fraction < 1:
        raise ValueError(f"start_fraction must be in [0, 1), got {start_fraction!r}")
    curve = np.asarray(record["loss_curve"], dtype=np.float64)
    tokens, gap = curve[:, 0], curve[:, 1] - float(record["entropy_floor_bpb"])
    keep = (tokens >= start_fraction * tokens[-1]) & (gap > 0)
    return tokens[keep], gap[keep]

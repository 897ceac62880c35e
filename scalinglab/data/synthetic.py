"""A synthetic text source whose entropy rate is known exactly.

The source is a hierarchical Dirichlet Markov chain over V symbols with memory K
(MacKay & Peto, 1995; Teh, 2006). A Zipf(s) base distribution p0 gives the symbols
a power-law frequency profile. Each order-k context c (the last k symbols) gets its
own next-symbol distribution drawn from Dirichlet(a_k · p_parent(c)), where the parent
is c without its oldest symbol, so longer contexts are noisy refinements of shorter
ones. The order-K distributions drive the chain; the shorter ones are its prior.

Why this source: a flat random Markov chain has no structure at many scales, so a
model's loss falls off a cliff instead of along a power law. Here the hierarchy and
the Zipf base spread structure over many scales (frequent contexts are learned
first, rare ones later), which is what makes learning curves power laws (DESIGN §10,
chapter 9). And because it is a Markov chain, its entropy rate, the floor no model
or compressor can beat, is exact: sum_s pi_s H(P[s]) over the V^K states.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from scalinglab.entropy import power_iteration

MAX_TABLE_ENTRIES = 1 << 24
"""V^(K+1) limit: 16M probabilities (128 MB) is as large a source as a notebook should build."""

_CHUNK_TOKENS = 1 << 22
"""Tokens sampled per pass, bounding the memory of the uniforms and state arrays."""

_SEGMENT_TOKENS = 512
"""Length of the segments that are sampled side by side (speed only; see ``_sample_chain``)."""

_REPAIR_ROUNDS = 4
"""Rounds of vectorised repairs before the sampler falls back to one symbol at a time."""


def zipf_distribution(vocab_size: int, exponent: float = 1.0) -> np.ndarray:
    """p(r) ∝ r^(-exponent) for ranks r = 1..vocab_size (Zipf, 1949); symbol i has rank i+1."""
    if exponent < 0 or not math.isfinite(exponent):
        raise ValueError(f"zipf_exponent must be a finite number >= 0, got {exponent!r}")
    weights = np.arange(1, vocab_size + 1, dtype=np.float64) ** (-float(exponent))
    return weights / weights.sum()


def default_concentrations(vocab_size: int, order: int) -> tuple[float, ...]:
    """a_k = V / 2^(k-1): (16, 8, 4) for V = 16, K = 3, the book's default source.

    Concentration falls with depth, so longer contexts differ more from their parents:
    the deeper structure is rarer and harder to learn.
    """
    return tuple(float(vocab_size) / 2**k for k in range(order))


def _dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """One Dirichlet(alpha[i]) draw per row, exact even for tiny alpha.

    A Dirichlet draw is a vector of Gamma(alpha_j) variables normalised to sum 1. For
    small alpha the Gamma variables underflow to 0 in float64, so they are drawn in
    log space using Gamma(a) = Gamma(a + 1) · U^(1/a) (Marsaglia & Tsang, 2000).
    """
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        boosted = np.log(rng.standard_gamma(alpha + 1.0))
        log_gamma = boosted + np.log(rng.random(alpha.shape)) / alpha
    log_gamma[alpha <= 0] = -np.inf
    log_gamma -= log_gamma.max(axis=1, keepdims=True)
    weights = np.exp(log_gamma)
    return weights / weights.sum(axis=1, keepdims=True)


def _sampling_table(probs: np.ndarray) -> np.ndarray:
    """Cumulative rows for inverse-CDF sampling, with each row's top made exactly 1.

    Symbol x is drawn for a uniform u when cdf[x-1] <= u < cdf[x]. Setting every entry
    that already equals the row total to 1.0 removes the float rounding at the top
    without giving any weight to symbols of zero probability.
    """
    cdf = np.cumsum(probs, axis=1)
    cdf[cdf >= cdf[:, -1:]] = 1.0
    return cdf


class SyntheticSource:
    """Hierarchical Zipf–Markov source with an exact entropy rate (bits per symbol).

    Parameters: ``vocab_size`` V (2..256, one symbol per byte), ``order`` K (the chain's
    memory), ``concentrations`` (a_1..a_K; default V / 2^(k-1)), ``zipf_exponent`` s of
    the base distribution, and ``seed`` for the draw of the source itself (samples take
    their own seed). Attributes: ``base_distribution`` p0, ``next_symbol_probs`` (V^K x V),
    ``stationary`` (over the V^K states), ``symbol_distribution`` (how often each symbol
    occurs) and ``entropy_rate``.
    """

    def __init__(
        self,
        vocab_size: int = 16,
        order: int = 3,
        concentrations: Sequence[float] | None = None,
        zipf_exponent: float = 1.0,
        seed: int = 0,
    ) -> None:
        for name, value in (("vocab_size", vocab_size), ("order", order), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if not 2 <= vocab_size <= 256:
            raise ValueError(
                f"vocab_size must be between 2 and 256 (one symbol per byte), got {vocab_size}"
            )
        if order < 0:
            raise ValueError(f"order must be >= 0 (0 is an i.i.d. Zipf source), got {order}")
        if vocab_size ** (order + 1) > MAX_TABLE_ENTRIES:
            raise ValueError(
                f"a source with vocab_size={vocab_size} and order={order} needs "
                f"{vocab_size ** (order + 1):,} probabilities (limit {MAX_TABLE_ENTRIES:,}); "
                "lower vocab_size or order"
            )
        if concentrations is None:
            concentrations = default_concentrations(vocab_size, order)
        concentrations = tuple(float(a) for a in concentrations)
        if len(concentrations) != order:
            raise ValueError(
                f"concentrations needs one value per order level (order={order}), got "
                f"{len(concentrations)}: {concentrations}"
            )
        if any(not (a > 0 and math.isfinite(a)) for a in concentrations):
            raise ValueError(f"concentrations must be positive and finite, got {concentrations}")

        self.vocab_size = int(vocab_size)
        self.order = int(order)
        self.concentrations = concentrations
        self.zipf_exponent = float(zipf_exponent)
        self.seed = int(seed)
        self.n_states = self.vocab_size**self.order

        self.base_distribution = zipf_distribution(self.vocab_size, self.zipf_exponent)
        rng = np.random.default_rng(self.seed)
        level = self.base_distribution[None, :]
        for a_k in concentrations:
            # Row c of the next level refines row c % V^(k-1): c without its oldest symbol.
            level = _dirichlet_rows(rng, a_k * np.tile(level, (self.vocab_size, 1)))
        self.next_symbol_probs = level
        self.stationary = self._stationary()
        self.symbol_distribution = self.stationary @ self.next_symbol_probs
        with np.errstate(divide="ignore", invalid="ignore"):
            surprise = np.where(level > 0, -np.log2(level), 0.0)
        self.state_entropies = (level * surprise).sum(axis=1)
        self.entropy_rate = float(self.stationary @ self.state_entropies)
        self._cdf = _sampling_table(level)
        for array in (self.base_distribution, self.next_symbol_probs, self.stationary,
                      self.symbol_distribution, self.state_entropies, self._cdf):
            array.setflags(write=False)

    def __repr__(self) -> str:
        return (
            f"SyntheticSource(vocab_size={self.vocab_size}, order={self.order}, "
            f"concentrations={self.concentrations}, zipf_exponent={self.zipf_exponent}, "
            f"seed={self.seed}) with entropy rate {self.entropy_rate:.4f} bits/symbol"
        )

    # -- the chain -------------------------------------------------------------------

    def _step(self, flow: np.ndarray) -> np.ndarray:
        """Push a distribution over states one step: state (o, r) + symbol x -> (r, x)."""
        v = self.vocab_size
        return (flow[:, None] * self.next_symbol_probs).reshape(v, -1, v).sum(axis=0).ravel()

    def _stationary(self, tol: float = 1e-13) -> np.ndarray:
        """Stationary distribution over states by power iteration with the chain's own step.

        The state-to-state matrix has only V non-zeros per row and a fixed shift
        structure, so one step is a multiply and a sum over the oldest symbol. Plain
        iteration converges for these chains (the all-same-symbol states can repeat, so
        they are aperiodic); if tiny concentrations have made a chain (nearly) periodic,
        the lazy chain (P + I) / 2, with the same stationary distribution, is tried next.
        """
        if self.order == 0:
            return np.ones(1)
        # A budget of about 2e9 multiply-adds (seconds, not minutes) before giving up.
        budget = min(20_000, max(500, 2_000_000_000 // (self.n_states * self.vocab_size)))
        start = np.full(self.n_states, 1.0 / self.n_states)
        pi = power_iteration(self._step, start, tol=tol, max_iter=budget // 2)
        if pi is None:
            pi = power_iteration(lambda x: 0.5 * (x + self._step(x)), start, tol=tol,
                                 max_iter=budget - budget // 2)
        if pi is None:
            raise RuntimeError(
                f"the chain with order {self.order} and concentrations {self.concentrations} "
                "mixes too slowly to find its stationary distribution: its deepest contexts "
                "are nearly deterministic. Raise the concentrations or lower the order"
            )
        return pi

    def transition_matrix(self) -> sp.csr_matrix:
        """The chain as a sparse row-stochastic matrix over states (V non-zeros per row).

        A state is the last K symbols, so each successor state names the symbol emitted
        and the state chain's entropy rate is the source's. An order-0 source is written
        as an order-1 chain whose rows are all p0.
        """
        v = self.vocab_size
        if self.order == 0:
            return sp.csr_matrix(np.tile(self.next_symbol_probs, (v, 1)))
        n = self.n_states
        states = np.repeat(np.arange(n), v)
        successors = (states % (n // v)) * v + np.tile(np.arange(v), n)
        return sp.csr_matrix(
            (self.next_symbol_probs.ravel(), (states, successors)), shape=(n, n)
        )

    def ideal_size_bytes(self, n_tokens: int) -> float:
        """Expected size of the best possible code for ``n_tokens`` symbols: n · H / 8."""
        return n_tokens * self.entropy_rate / 8

    # -- sampling -----------------------------------------------------------------------

    def sample(self, n_tokens: int, seed: int = 0) -> np.ndarray:
        """``n_tokens`` symbols (uint8) of one stationary run of the chain.

        The first state is drawn from the stationary distribution, so every position has
        the same distribution and the whole sample is typical of the source.
        """
        return self._sample(n_tokens, seed)

    def _sample(self, n_tokens: int, seed: int, segment_tokens: int = _SEGMENT_TOKENS):
        if isinstance(n_tokens, bool) or not isinstance(n_tokens, (int, np.integer)):
            raise ValueError(f"n_tokens must be an integer, got {n_tokens!r}")
        if n_tokens < 0:
            raise ValueError(f"n_tokens must be >= 0, got {n_tokens}")
        rng = np.random.default_rng(seed)
        state_cdf = np.cumsum(self.stationary)
        state = int(min(np.searchsorted(state_cdf, rng.random() * state_cdf[-1], side="right"),
                        self.n_states - 1))
        out = np.empty(int(n_tokens), dtype=np.uint8)
        start = 0
        while start < n_tokens:
            stop = min(start + _CHUNK_TOKENS, int(n_tokens))
            uniforms = rng.random(stop - start)
            out[start:stop], state = _sample_chain(
                self._cdf, self.vocab_size, self.order, state, uniforms, segment_tokens,
                guess=int(np.argmax(self.stationary)),
            )
            start = stop
        return out


def _sample_chain(
    cdf: np.ndarray,
    vocab_size: int,
    order: int,
    start_state: int,
    uniforms: np.ndarray,
    segment_tokens: int,
    guess: int,
) -> tuple[np.ndarray, int]:
    """Run the chain on ``uniforms`` from ``start_state``: x_t = #{j : cdf[s_t, j] <= u_t}.

    The result is exactly the sequential inverse-CDF run, but computed side by side:
    the uniforms are cut into segments, every segment but the first starts from a guessed
    state, and all are advanced together in numpy. Then each segment whose guess was
    wrong is re-run from the true state (the previous segment's last state) with the
    same uniforms, only until it meets its first trajectory: from the step where both
    runs are in the same state, they draw the same symbols (a coupling, as in Propp &
    Wilson, 1996). Rounds repeat until no start changes; for a chain whose runs rarely
    meet, the remainder is finished one symbol at a time.
    """
    n = uniforms.size
    segment_tokens = max(1, min(segment_tokens, n))
    n_segments = -(-n // segment_tokens)
    u = np.zeros(n_segments * segment_tokens)
    u[:n] = uniforms
    u = u.reshape(n_segments, segment_tokens)
    keep = vocab_size ** (order - 1) if order else 1
    # State (o, r) + symbol x -> (r, x); an order-0 source has the single state 0.
    shift, symbol_weight = (vocab_size, 1) if order else (0, 0)

    def advance(states: np.ndarray, rows: np.ndarray, symbols, trajectory, stop_on_meet: bool):
        """Step ``rows`` from ``states``; record symbols and states; stop rows that meet."""
        active = np.arange(rows.size)
        for t in range(segment_tokens):
            r = rows[active]
            x = (cdf[states] <= u[r, t, None]).sum(axis=1)
            states = (states % keep) * shift + x * symbol_weight
            symbols[r, t] = x
            if stop_on_meet:
                met = states == trajectory[r, t]
                trajectory[r, t] = states
                if met.any():
                    active, states = active[~met], states[~met]
                    if active.size == 0:
                        break
            else:
                trajectory[r, t] = states

    starts = np.full(n_segments, guess, dtype=np.int64)
    starts[0] = start_state
    symbols = np.empty((n_segments, segment_tokens), dtype=np.uint8)
    trajectory = np.empty((n_segments, segment_tokens), dtype=np.int64)
    advance(starts.copy(), np.arange(n_segments), symbols, trajectory, stop_on_meet=False)
    for round_ in range(_REPAIR_ROUNDS + 1):
        true_starts = np.concatenate(([start_state], trajectory[:-1, -1]))
        wrong = np.flatnonzero(true_starts != starts)
        if wrong.size == 0:
            break
        if round_ == _REPAIR_ROUNDS:
            # Runs that never meet (nearly deterministic rows): finish one symbol at a
            # time from the first segment still wrong, with a binary search per symbol.
            first = int(wrong[0]) * segment_tokens
            flat_symbols, flat_states = symbols.reshape(-1), trajectory.reshape(-1)
            rows: dict[int, list[float]] = {}
            state = int(true_starts[wrong[0]])
            for i, u_t in enumerate(u.reshape(-1)[first:n].tolist(), start=first):
                row = rows.get(state)
                if row is None:
                    row = rows[state] = cdf[state].tolist()
                x = bisect.bisect_right(row, u_t)
                state = (state % keep) * shift + x * symbol_weight
                flat_symbols[i], flat_states[i] = x, state
            break
        advance(true_starts[wrong], wrong, symbols, trajectory, stop_on_meet=True)
        starts[wrong] = true_starts[wrong]
    end_state = int(trajectory.reshape(-1)[n - 1]) if n else start_state
    return symbols.reshape(-1)[:n], end_state


@functools.lru_cache(maxsize=16)
def cached_source(
    vocab_size: int = 16,
    order: int = 3,
    concentrations: tuple[float, ...] | None = None,
    zipf_exponent: float = 1.0,
    seed: int = 0,
) -> SyntheticSource:
    """One ``SyntheticSource`` per parameter set per process: notebooks ask for it often."""
    return SyntheticSource(vocab_size, order, concentrations, zipf_exponent, seed)

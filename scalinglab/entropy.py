"""Entropy, cross-entropy, KL divergence and the entropy rate of a Markov source.

These are the quantities chapter 2 builds the book on: the entropy H(p) is the
shortest average code length for symbols drawn from p (Shannon, 1948); the
cross-entropy H(p, q) is what a code built for q costs on data from p, and the
gap between them is the KL divergence (Kullback & Leibler, 1951). For a source
with memory the floor is its *entropy rate*, which for a stationary Markov
chain is sum_s pi_s H(P[s]) (Cover & Thomas, 2006, thm. 4.2.4).

All functions measure in bits unless given another ``base``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

PROBABILITY_TOLERANCE = 1e-6
"""How far a probability vector's sum may stray from 1 (rounding, float32 inputs)."""

_DIRECT_SOLVE_MAX_STATES = 1024
"""Dense chains up to this many states are solved exactly; larger ones by power iteration."""


def _log(x: np.ndarray, base: float) -> np.ndarray:
    return np.log(x) / math.log(base)


def _check_base(base: float) -> None:
    if not (base > 0 and base != 1 and math.isfinite(base)):
        raise ValueError(f"logarithm base must be positive and not 1, got {base!r}; use 2 for bits")


def _probability_vector(p, name: str = "p") -> np.ndarray:
    """Return ``p`` as a float64 vector, or raise ValueError saying what is wrong with it."""
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D probability vector, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(arr < 0):
        i = int(np.argmin(arr))
        raise ValueError(f"{name} has a negative probability ({name}[{i}] = {arr[i]:g})")
    total = float(arr.sum())
    if abs(total - 1.0) > PROBABILITY_TOLERANCE:
        raise ValueError(
            f"{name} sums to {total:.9g}, not 1; normalise it first ({name} / {name}.sum())"
        )
    return arr


def _pair(p, q) -> tuple[np.ndarray, np.ndarray]:
    p_arr, q_arr = _probability_vector(p, "p"), _probability_vector(q, "q")
    if p_arr.shape != q_arr.shape:
        raise ValueError(f"p and q must have the same length, got {p_arr.size} and {q_arr.size}")
    return p_arr, q_arr


def entropy(p, base: float = 2) -> float:
    """Shannon entropy H(p) = -sum p log p, with 0 log 0 = 0 (Shannon, 1948)."""
    _check_base(base)
    p = _probability_vector(p)
    nz = p[p > 0]
    return float(max(0.0, -np.sum(nz * _log(nz, base))))


def cross_entropy(p, q, base: float = 2) -> float:
    """H(p, q) = -sum p log q: the cost of coding data from p with a code built for q.

    Infinite when q gives zero probability to a symbol that p can emit: such a code
    has no codeword for it.
    """
    _check_base(base)
    p, q = _pair(p, q)
    support = p > 0
    if np.any(q[support] == 0):
        return math.inf
    return float(-np.sum(p[support] * _log(q[support], base)))


def kl_divergence(p, q, base: float = 2) -> float:
    """D(p || q) = sum p log(p / q) = H(p, q) - H(p) (Kullback & Leibler, 1951).

    Non-negative, and zero exactly when p = q (Gibbs' inequality); infinite when p puts
    mass where q has none. Tiny negative values from rounding are returned as 0.
    """
    _check_base(base)
    p, q = _pair(p, q)
    support = p > 0
    if np.any(q[support] == 0):
        return math.inf
    ps, qs = p[support], q[support]
    # log p - log q, not log(p / q): the ratio overflows when q is subnormal.
    return float(max(0.0, np.sum(ps * (_log(ps, base) - _log(qs, base)))))


def _check_transition_matrix(P) -> np.ndarray | sp.csr_matrix:
    """Validate a row-stochastic matrix (dense or scipy.sparse) and return it as float64."""
    if sp.issparse(P):
        mat = sp.csr_matrix(P, dtype=np.float64)
        values = mat.data
        row_sums = np.asarray(mat.sum(axis=1)).ravel()
    else:
        mat = np.asarray(P, dtype=np.float64)
        values = mat
        row_sums = mat.sum(axis=1) if mat.ndim == 2 else None
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1] or mat.shape[0] == 0:
        raise ValueError(f"a transition matrix must be square (S x S), got shape {mat.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("the transition matrix contains NaN or infinite values")
    if np.any(values < 0):
        raise ValueError("the transition matrix has negative entries; probabilities must be >= 0")
    bad = np.flatnonzero(np.abs(row_sums - 1.0) > PROBABILITY_TOLERANCE)
    if bad.size:
        s = int(bad[0])
        raise ValueError(
            f"the transition matrix must be row-stochastic, but row {s} sums to "
            f"{row_sums[s]:.9g} ({bad.size} rows are off); normalise each row to sum to 1"
        )
    return mat


def power_iteration(
    step, start: np.ndarray, *, tol: float = 1e-13, max_iter: int = 100_000
) -> np.ndarray | None:
    """Iterate a distribution through ``step`` until it stops changing; None if it never does.

    Stops when the remaining L1 error, estimated from the change per step d and its
    geometric rate of decay rho as d / (1 - rho), is below ``tol``, or when d reaches
    float rounding noise. (A fixed bound on d alone stops too early for a chain that
    mixes slowly.)
    """
    pi = start / start.sum()
    changes: list[float] = []
    for _ in range(max_iter):
        nxt = step(pi)
        nxt = nxt / nxt.sum()
        changes.append(float(np.abs(nxt - pi).sum()))
        pi = nxt
        if len(changes) > 10:
            d, d_before = changes[-1], changes[-11]
            rho = min((d / d_before) ** 0.1, 0.999_999) if d_before > 0 else 0.0
            if d < 1e-15 or d / (1 - rho) < tol:
                return pi
    return None


def stationary_distribution(
    P, *, tol: float = 1e-13, max_iter: int = 100_000
) -> np.ndarray:
    """The distribution pi with pi P = pi for a row-stochastic matrix P.

    Small dense chains are solved exactly as a linear system; large or sparse ones by
    power iteration on the lazy chain (P + I) / 2, which has the same stationary
    distribution but is aperiodic, so the iteration converges even for periodic P.
    The chain must have a single closed class (otherwise pi is not unique).
    """
    mat = _check_transition_matrix(P)
    n = mat.shape[0]
    if not sp.issparse(mat) and n <= _DIRECT_SOLVE_MAX_STATES:
        # pi (P - I) = 0 with sum(pi) = 1: replace one (redundant) balance equation.
        system = mat.T - np.eye(n)
        system[-1, :] = 1.0
        rhs = np.zeros(n)
        rhs[-1] = 1.0
        try:
            pi = np.linalg.solve(system, rhs)
        except np.linalg.LinAlgError as err:
            raise ValueError(
                "the chain has no unique stationary distribution (it splits into "
                "several closed classes); check the transition matrix"
            ) from err
    else:
        transpose = mat.T.tocsr() if sp.issparse(mat) else mat.T
        pi = power_iteration(lambda x: 0.5 * (x + transpose @ x), np.full(n, 1.0 / n),
                             tol=tol, max_iter=max_iter)
        if pi is None:
            raise RuntimeError(
                f"power iteration did not converge in {max_iter} steps; the chain mixes "
                "too slowly (raise max_iter) or is not irreducible"
            )
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def _row_entropies(mat) -> np.ndarray:
    """H(P[s]) in bits for every row s."""
    if sp.issparse(mat):
        csr = sp.csr_matrix(mat)
        data = csr.data
        terms = np.zeros_like(data)
        pos = data > 0
        terms[pos] = -data[pos] * np.log2(data[pos])
        rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
        return np.bincount(rows, weights=terms, minlength=csr.shape[0])
    terms = np.zeros_like(mat)
    pos = mat > 0
    terms[pos] = -mat[pos] * np.log2(mat[pos])
    return terms.sum(axis=1)


def markov_entropy_rate(P) -> float:
    """Entropy rate in bits per symbol of the stationary Markov chain with matrix P.

    H = sum_s pi_s H(P[s]) (Cover & Thomas, 2006, thm. 4.2.4): the average surprise of
    the next symbol given the current state, weighted by how often each state occurs.
    No code for the chain's output can do better on average.
    """
    mat = _check_transition_matrix(P)
    pi = stationary_distribution(mat)
    return float(pi @ _row_entropies(mat))


def _plugin_conditional_entropy(joint_counts: np.ndarray, context_counts: np.ndarray) -> float:
    """-(1/N) sum n(c,x) log2(n(c,x) / n(c)) from positive counts."""
    n_windows = joint_counts.sum()
    joint = joint_counts[joint_counts > 0].astype(np.float64)
    ctx = context_counts[context_counts > 0].astype(np.float64)
    bits = (np.sum(ctx * np.log2(ctx)) - np.sum(joint * np.log2(joint))) / n_windows
    return float(max(0.0, bits))


def ngram_entropy(tokens: np.ndarray, order: int) -> float:
    """Empirical conditional entropy H(X_t | X_{t-order}, ..., X_{t-1}) in bits.

    The plug-in (maximum-likelihood) estimate: count every (context, next symbol) pair in
    ``tokens`` and take the entropy of the conditional frequencies. For a Markov source
    of order <= ``order`` it converges to the entropy rate as the sample grows, but from
    *below*: with little data most contexts are seen a few times, their frequencies
    over-fit, and the estimate is biased low by roughly (cells seen - contexts seen) /
    (2 N ln 2) bits (Miller, 1955; Paninski, 2003). Contexts are packed into integers
    (base = largest symbol + 1) so counting is one ``bincount`` or ``unique`` in numpy.
    """
    arr = np.asarray(tokens)
    if arr.ndim != 1:
        raise ValueError(f"tokens must be a 1-D sequence, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"tokens must be integers (symbols), got dtype {arr.dtype}")
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 0:
        raise ValueError(f"order must be a non-negative integer, got {order!r}")
    order = int(order)
    if arr.size <= order:
        raise ValueError(
            f"need more than order={order} tokens to see one context, got {arr.size}"
        )
    if arr.size and arr.min() < 0:
        raise ValueError("tokens must be non-negative symbols")
    arr = arr.astype(np.int64, copy=False)
    base = int(arr.max()) + 1
    n_windows = arr.size - order
    width = order + 1
    if width * math.log2(base) < 62:
        # Exact integer code of each window: oldest symbol most significant.
        codes = np.zeros(n_windows, dtype=np.int64)
        for i in range(width):
            codes = codes * base + arr[i : i + n_windows]
        n_codes = base**width
        if n_codes <= max(1 << 22, 4 * n_windows):
            joint = np.bincount(codes, minlength=n_codes)
            context = joint.reshape(-1, base).sum(axis=1)
            return _plugin_conditional_entropy(joint, context)
        joint_codes, joint = np.unique(codes, return_counts=True)
        _, context_of = np.unique(joint_codes // base, return_inverse=True)
        context = np.bincount(context_of.ravel(), weights=joint)
        return _plugin_conditional_entropy(joint, context)
    # Very long windows: compare the raw bytes of each window instead of an integer code.
    windows = np.lib.stride_tricks.sliding_window_view(arr, width)
    rows = np.ascontiguousarray(windows).view(np.dtype((np.void, 8 * width))).ravel()
    joint_rows, joint = np.unique(rows, return_counts=True)
    ctx_view = np.ascontiguousarray(
        joint_rows.view(np.int64).reshape(-1, width)[:, :-1]
    ).view(np.dtype((np.void, 8 * order))).ravel()
    _, inverse = np.unique(ctx_view, return_inverse=True)
    context = np.bincount(inverse.ravel(), weights=joint)
    return _plugin_conditional_entropy(joint, context)

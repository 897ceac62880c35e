"""Estimating an entropy rate from a sample: n-gram estimates over growing data sizes.

Lab 2 measures how far counting gets. The plug-in estimate
:func:`scalinglab.entropy.ngram_entropy` scores a sample with the order-k model
fitted to that same sample, so it is biased low; to first order the bias is
(cells seen − contexts seen) / (2 N ln 2) bits (Miller, 1955), never more than
V^k (V − 1) / (2 N ln 2), the bound :func:`plugin_bias_bound` returns. Adding the
first-order term back gives the Miller–Madow estimate (:func:`miller_madow_entropy`).
A model scored on *held-out* bytes has no such flattery: its cross-entropy is the
rate plus a KL divergence (:func:`heldout_ngram_bpb`, an add-α smoothed n-gram model).
"""

from __future__ import annotations

import math

import numpy as np

from scalinglab.entropy import ngram_entropy

LN2 = math.log(2.0)


def _window_codes(tokens: np.ndarray, order: int, vocab_size: int) -> np.ndarray:
    """Each window of order + 1 symbols packed into one integer, oldest symbol first."""
    arr = np.asarray(tokens).astype(np.int64)
    if arr.ndim != 1 or arr.size <= order:
        raise ValueError(f"need a 1-D sample longer than order={order}, got shape {arr.shape}")
    if arr.min() < 0 or arr.max() >= vocab_size:
        raise ValueError(f"symbols must lie in 0..{vocab_size - 1}; pass the corpus's vocab_size")
    if (order + 1) * math.log2(vocab_size) >= 62:
        raise ValueError(f"order {order} with vocab_size {vocab_size} does not fit in 64 bits")
    n = arr.size - order
    codes = np.zeros(n, dtype=np.int64)
    for i in range(order + 1):
        codes = codes * vocab_size + arr[i : i + n]
    return codes


def cells_seen(tokens: np.ndarray, order: int, vocab_size: int) -> tuple[int, int]:
    """(distinct (context, next symbol) pairs, distinct contexts of ``order`` symbols)."""
    cells = np.unique(_window_codes(tokens, order, vocab_size))
    return int(cells.size), int(np.unique(cells // vocab_size).size)


def plugin_bias_bound(order: int, vocab_size: int, n: int) -> float:
    """V^k (V − 1) / (2 N ln 2): the first-order plug-in bias if every cell were seen, in bits.

    Miller's first-order bias is (cells seen − contexts seen) / (2 N ln 2); a context
    has at most V − 1 more cells than one, so this bounds it for every sample of N.
    """
    if n < 1:
        raise ValueError(f"the sample size must be positive, got {n}")
    return vocab_size**order * (vocab_size - 1) / (2 * n * LN2)


def miller_madow_entropy(tokens: np.ndarray, order: int, vocab_size: int) -> float:
    """Plug-in estimate plus its first-order bias (cells seen − contexts seen) / (2 N ln 2)."""
    cells, contexts = cells_seen(tokens, order, vocab_size)
    n = np.asarray(tokens).size - order
    return ngram_entropy(np.asarray(tokens), order) + (cells - contexts) / (2 * n * LN2)


def prefix_sizes(n: int, start: int = 1024, factor: int = 4) -> list[int]:
    """1K, 4K, 16K, ... below ``n``, then ``n`` itself: the data sizes of a growing prefix."""
    sizes = []
    size = start
    while size < n:
        sizes.append(size)
        size *= factor
    return [*sizes, n]


def entropy_estimates(tokens: np.ndarray, orders, sizes, vocab_size: int) -> list[dict]:
    """Plug-in and Miller–Madow estimates of order k on the first N symbols, for every k and N.

    One row per (order, n): ``plugin_bits``, ``miller_madow_bits`` and ``bias_bound_bits``.
    """
    tokens = np.asarray(tokens)
    rows = []
    for order in orders:
        for n in sizes:
            prefix = tokens[:n]
            rows.append({
                "order": int(order),
                "n": int(n),
                "plugin_bits": ngram_entropy(prefix, order),
                "miller_madow_bits": miller_madow_entropy(prefix, order, vocab_size),
                "bias_bound_bits": plugin_bias_bound(order, vocab_size, n - order),
            })
    return rows


def estimate_table(rows: list[dict], key: str = "plugin_bits") -> dict[int, list[float]]:
    """``{order: [estimate at each size]}`` from :func:`entropy_estimates` rows, sizes ascending."""
    table: dict[int, list[tuple[int, float]]] = {}
    for row in rows:
        table.setdefault(row["order"], []).append((row["n"], row[key]))
    return {k: [v for _, v in sorted(pairs)] for k, pairs in table.items()}


def _size_label(n: int) -> str:
    for unit, scale in (("M", 2**20), ("K", 2**10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    for unit, scale in (("M", 10**6), ("K", 10**3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


def format_estimates(rows: list[dict], exact_bits: float | None = None,
                     key: str = "plugin_bits") -> str:
    """Orders down, sample sizes across: the estimates in bits per symbol."""
    sizes = sorted({r["n"] for r in rows})
    table = estimate_table(rows, key)
    header = "order " + "".join(f"{_size_label(n):>9}" for n in sizes)
    lines = [header, "-" * len(header)]
    for order, values in sorted(table.items()):
        lines.append(f"{order:>5} " + "".join(f"{v:9.4f}" for v in values))
    if exact_bits is not None:
        lines.append(f"exact entropy rate H = {exact_bits:.4f} bits per symbol")
    return "\n".join(lines)


def heldout_ngram_bpb(train: np.ndarray, val: np.ndarray, order: int, vocab_size: int,
                      alpha: float = 0.5) -> float:
    """Bits per symbol of ``val`` under the order-k model counted on ``train``, add-α smoothed.

    q(x | c) = (n(c, x) + α) / (n(c) + α V): every symbol keeps some probability, so
    the code is finite on unseen pairs. Scored on held-out bytes this is a cross-entropy,
    the source's rate plus a KL divergence, and lies above the rate on average.
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be positive (a zero count would cost infinite bits), "
                         f"got {alpha!r}")
    train_cells, train_counts = np.unique(_window_codes(train, order, vocab_size),
                                          return_counts=True)
    contexts, context_of = np.unique(train_cells // vocab_size, return_inverse=True)
    context_counts = np.bincount(context_of.ravel(), weights=train_counts)
    val_codes = _window_codes(val, order, vocab_size)

    def lookup(keys: np.ndarray, values: np.ndarray, table_keys: np.ndarray) -> np.ndarray:
        at = np.clip(np.searchsorted(table_keys, keys), 0, table_keys.size - 1)
        return np.where(table_keys[at] == keys, values[at], 0.0)

    pair = lookup(val_codes, train_counts.astype(np.float64), train_cells)
    context = lookup(val_codes // vocab_size, context_counts, contexts)
    q = (pair + alpha) / (context + alpha * vocab_size)
    return float(-np.mean(np.log2(q)))

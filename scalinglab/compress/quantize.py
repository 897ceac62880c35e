"""Float probabilities → integer frequencies that an exact coder can use.

A range coder needs every symbol's probability as an integer frequency out of a
fixed total, and the encoder and the decoder must derive *the same* integers
from the model. So the rounding here is one deterministic recipe in float64 with
a fixed order of operations, run by both sides on identical inputs:

    freq_i = 1 + floor(p_i · (total − V))           (every symbol gets at least 1)
    the few units left over go to the most probable symbol (the first, on ties).

Every symbol keeping a frequency ≥ 1 means no byte is ever impossible, whatever
the model says. With total = 2^24 the rounding costs almost nothing: the floor
loses under V/2^24 of the mass, about 0.0002 bits per symbol for V = 256.
"""

from __future__ import annotations

import numpy as np

from scalinglab.compress.arithmetic import MAX_TOTAL_BITS

FREQUENCY_TOTAL_BITS = 24
"""Frequencies of a multi-symbol table sum to 2^24 (the coder accepts up to 2^24)."""


def softmax_probabilities(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, the way both coder ends compute it."""
    z = np.asarray(logits, dtype=np.float64)
    if not np.all(np.isfinite(z)):
        raise ValueError("the model produced NaN or infinite logits; the checkpoint is broken")
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def quantize_probabilities(
    probs: np.ndarray, total_bits: int = FREQUENCY_TOTAL_BITS
) -> np.ndarray:
    """Integer frequencies (int64, same shape) summing to 2^total_bits along the last axis.

    Works on one distribution (shape (V,)) or many (shape (..., V)) at once; each row
    is rounded on its own, so a row gives the same integers alone or in a batch.
    """
    if not 16 <= total_bits <= MAX_TOTAL_BITS:
        raise ValueError(
            f"total_bits must be in [16, {MAX_TOTAL_BITS}] (a total of 2^16 to 2^24), "
            f"got {total_bits}"
        )
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] < 1:
        raise ValueError(f"probabilities must have a symbol axis, got shape {p.shape}")
    vocab = p.shape[-1]
    total = 1 << total_bits
    if vocab > total // 2:
        raise ValueError(f"{vocab} symbols do not fit a frequency total of 2^{total_bits}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("probabilities must be finite and non-negative")
    row_sums = p.sum(axis=-1, keepdims=True)
    if np.any(row_sums <= 0):
        raise ValueError("a probability row sums to zero; the model gave every symbol p = 0")
    p = p / row_sums
    freqs = np.floor(p * float(total - vocab)).astype(np.int64) + 1
    leftover = total - freqs.sum(axis=-1)
    top = np.argmax(freqs, axis=-1)
    np.add.at(freqs.reshape(-1, vocab), (np.arange(leftover.size), top.reshape(-1)),
              leftover.reshape(-1))
    return freqs


def ideal_code_length_bits(probs: np.ndarray, symbols: np.ndarray) -> float:
    """Sum of -log2 p(symbol) over rows: the model's ideal code length, before rounding."""
    p = np.asarray(probs, dtype=np.float64)
    s = np.asarray(symbols, dtype=np.int64)
    picked = np.take_along_axis(p.reshape(-1, p.shape[-1]), s.reshape(-1, 1), axis=1)
    return float(-np.log2(picked).sum())

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

``escape_frequencies`` goes one step further for the compressors: it mixes the
model's V-symbol distribution with a uniform one over all 256 byte values,

    p'(b) = (1 − 2^-e) · p_model(b) + 2^-e / 256,

so that any byte, even one outside a 16-symbol model's vocabulary, costs at most
8 + e bits, while a byte the model expects pays only -log2(1 − 2^-e) extra
(0.0014 bits for e = 10). It is the same recipe in integers: each of the 256
values gets a fixed floor of 2^(24 − 8 − e), the model's share is rounded down,
and the remainder goes to its most probable symbol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scalinglab.compress.arithmetic import MAX_TOTAL_BITS

if TYPE_CHECKING:  # torch is imported only when a transformer codes (count models need none)
    import torch

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


ESCAPE_BITS = 10
"""Default escape weight 2^-10 on the uniform byte distribution (≤ 18 bits for any byte)."""


def escape_floor(escape_bits: int, total_bits: int = FREQUENCY_TOTAL_BITS) -> int:
    """The frequency every byte value keeps under ``escape_frequencies``."""
    if not 1 <= escape_bits <= total_bits - 8:
        raise ValueError(f"escape_bits must be in [1, {total_bits - 8}], got {escape_bits}")
    return 1 << (total_bits - 8 - escape_bits)


def escape_frequencies(
    probs: np.ndarray, escape_bits: int = ESCAPE_BITS, total_bits: int = FREQUENCY_TOTAL_BITS
) -> np.ndarray:
    """256 integer frequencies per row (summing to 2^total_bits): the model mixed with uniform.

    ``probs`` has shape (..., V) with V ≤ 256; symbol v < V is byte v, and bytes ≥ V
    get the escape's floor alone. Rows are rounded on their own, as in
    :func:`quantize_probabilities`, so a row gives the same integers alone or in a batch.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 0 or not 1 <= p.shape[-1] <= 256:
        raise ValueError(f"probabilities must have 1 to 256 symbols on the last axis, "
                         f"got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("probabilities must be finite and non-negative")
    row_sums = p.sum(axis=-1, keepdims=True)
    if np.any(row_sums <= 0):
        raise ValueError("a probability row sums to zero; the model gave every symbol p = 0")
    import torch

    return _escape(torch.from_numpy(p / row_sums), escape_bits, total_bits).numpy()


def escape_frequencies_from_logits(logits: torch.Tensor, escape_bits: int = ESCAPE_BITS
                                   ) -> torch.Tensor:
    """Softmax (float64) and :func:`escape_frequencies` in one pass, in torch: (..., 256) int64.

    The chunked coder's hot path; both of its ends call exactly this.
    """
    import torch

    if not bool(torch.isfinite(logits).all()):
        raise ValueError("the model produced NaN or infinite logits; the checkpoint is broken")
    return _escape(torch.softmax(logits.double(), dim=-1), escape_bits, FREQUENCY_TOTAL_BITS)


def _escape(p: torch.Tensor, escape_bits: int, total_bits: int) -> torch.Tensor:
    import torch

    vocab = p.shape[-1]
    total = 1 << total_bits
    floor = escape_floor(escape_bits, total_bits)
    freqs = torch.full((*p.shape[:-1], 256), floor, dtype=torch.int64)
    freqs[..., :vocab] += torch.floor(p * float(total - 256 * floor)).to(torch.int64)
    flat = freqs.view(-1, 256)
    leftover = total - flat.sum(dim=1)
    top = torch.argmax(flat[:, :vocab], dim=1)  # the first most probable symbol, on ties
    flat[torch.arange(flat.shape[0]), top] += leftover
    return freqs


def min_symbol_bits(escape_bits: int, total_bits: int = FREQUENCY_TOTAL_BITS) -> float:
    """The least any byte can cost under ``escape_frequencies``: the other 255 keep their floor."""
    floor = escape_floor(escape_bits, total_bits)
    return -float(np.log2(1.0 - 255 * floor / float(1 << total_bits)))


def quantised_code_length_bits(freqs: np.ndarray, total_bits: int = FREQUENCY_TOTAL_BITS) -> float:
    """Sum of -log2(freq / 2^total_bits): the ideal code length of the integer probabilities.

    This, not the float model's code length, is what the range coder can never beat
    (see :mod:`scalinglab.compress.arithmetic`).
    """
    f = np.asarray(freqs, dtype=np.float64)
    return float(total_bits * f.size - np.log2(f).sum())


def ideal_code_length_bits(probs: np.ndarray, symbols: np.ndarray) -> float:
    """Sum of -log2 p(symbol) over rows: the model's ideal code length, before rounding."""
    p = np.asarray(probs, dtype=np.float64)
    s = np.asarray(symbols, dtype=np.int64)
    picked = np.take_along_axis(p.reshape(-1, p.shape[-1]), s.reshape(-1, 1), axis=1)
    return float(-np.log2(picked).sum())

"""Information measures, where the compression chapters meet them.

The functions live in :mod:`scalinglab.entropy` (shared with the synthetic
source in :mod:`scalinglab.data`); they are re-exported here so that a
compression notebook imports everything from one place. The two helpers below
turn file sizes and probabilities into the book's unit, bits per byte.
"""

from __future__ import annotations

import numpy as np

from scalinglab.entropy import (
    cross_entropy,
    entropy,
    kl_divergence,
    markov_entropy_rate,
    ngram_entropy,
    stationary_distribution,
)

__all__ = [
    "bits_per_byte",
    "code_length_bits",
    "cross_entropy",
    "entropy",
    "kl_divergence",
    "markov_entropy_rate",
    "ngram_entropy",
    "stationary_distribution",
]


def bits_per_byte(size_bytes: float, original_bytes: int) -> float:
    """A file of ``size_bytes`` that encodes ``original_bytes`` costs this many bits per byte."""
    if original_bytes <= 0:
        raise ValueError("original_bytes must be positive: bits per byte of nothing is undefined")
    return 8.0 * size_bytes / original_bytes


def code_length_bits(probabilities) -> float:
    """Ideal code length sum -log2 p of the probabilities a model gave the actual symbols."""
    p = np.asarray(probabilities, dtype=np.float64)
    if np.any(p <= 0) or np.any(p > 1):
        raise ValueError("probabilities of the coded symbols must lie in (0, 1]")
    return float(-np.log2(p).sum())

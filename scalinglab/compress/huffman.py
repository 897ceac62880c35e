"""Huffman coding: the best code that spends a whole number of bits on each symbol.

Huffman (1952) builds the code bottom-up by repeatedly merging the two least
frequent subtrees. Its codeword lengths l_i satisfy Kraft's inequality
sum 2^-l_i ≤ 1 (with equality for two or more symbols), and its average length
lies in [H, H + 1) (Cover & Thomas, 2006, thm. 5.8.1): within a bit of the
entropy, but a bit can be a lot when H is small, which is why chapter 3 moves on
to arithmetic coding.

Codewords are assigned canonically (shorter first, then by symbol), so the
lengths alone define the code: a decoder needs only the lengths.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HuffmanCode:
    """Codeword lengths and canonical codewords for symbols 0…V-1 (length 0 = unused)."""

    lengths: tuple[int, ...]
    codewords: tuple[int, ...]

    def kraft_sum(self) -> float:
        """sum 2^-l over used symbols: ≤ 1 for any prefix code (Kraft, 1949)."""
        return math.fsum(2.0**-length for length in self.lengths if length)

    def average_length(self, probabilities) -> float:
        """Expected bits per symbol under ``probabilities``."""
        p = np.asarray(probabilities, dtype=np.float64)
        return float(np.dot(p, np.asarray(self.lengths, dtype=np.float64)))

    def encode(self, symbols) -> tuple[bytes, int]:
        """Packed bits (most significant first) and how many of them are used."""
        acc = 0
        n_bits = 0
        lengths, codewords = self.lengths, self.codewords
        for s in symbols:
            length = lengths[s]
            if not length:
                raise ValueError(f"symbol {s} has no codeword (its frequency was 0)")
            acc = (acc << length) | codewords[s]
            n_bits += length
        pad = -n_bits % 8
        return (acc << pad).to_bytes((n_bits + pad) // 8, "big"), n_bits

    def decode(self, data: bytes, n_symbols: int) -> list[int]:
        """Read ``n_symbols`` symbols back from ``encode``'s bits."""
        table = {
            (length, word): s
            for s, (length, word) in enumerate(zip(self.lengths, self.codewords, strict=True))
            if length
        }
        max_length = max(self.lengths, default=0)
        out = []
        word = length = 0
        for byte in data:
            for shift in range(7, -1, -1):
                if len(out) == n_symbols:
                    return out
                word = (word << 1) | ((byte >> shift) & 1)
                length += 1
                s = table.get((length, word))
                if s is not None:
                    out.append(s)
                    word = length = 0
                elif length > max_length:
                    raise ValueError("invalid Huffman bit stream (no codeword matches)")
        if len(out) != n_symbols:
            raise ValueError(f"bit stream ended after {len(out)} of {n_symbols} symbols")
        return out


def huffman_lengths(frequencies) -> list[int]:
    """Codeword length per symbol from (non-negative) frequencies; 0 for unused symbols."""
    freqs = [float(f) for f in frequencies]
    if any(f < 0 or not math.isfinite(f) for f in freqs):
        raise ValueError("frequencies must be finite and non-negative")
    used = [s for s, f in enumerate(freqs) if f > 0]
    lengths = [0] * len(freqs)
    if not used:
        raise ValueError("every frequency is zero; there is nothing to code")
    if len(used) == 1:
        lengths[used[0]] = 1  # one symbol still needs one bit per occurrence to count them
        return lengths
    # Heap entries: (weight, tie-break, symbols in the subtree). The tie-break makes
    # the tree, and so the lengths, deterministic when weights are equal.
    heap = [(freqs[s], s, [s]) for s in used]
    heapq.heapify(heap)
    tie = len(freqs)
    while len(heap) > 1:
        w1, _, a = heapq.heappop(heap)
        w2, _, b = heapq.heappop(heap)
        for s in a + b:
            lengths[s] += 1  # every symbol under a merge sits one level deeper
        heapq.heappush(heap, (w1 + w2, tie, a + b))
        tie += 1
    return lengths


def canonical_codewords(lengths) -> list[int]:
    """Canonical code: symbols sorted by (length, symbol) get consecutive codewords."""
    order = sorted((length, s) for s, length in enumerate(lengths) if length)
    codewords = [0] * len(lengths)
    code = 0
    previous = order[0][0] if order else 0
    for length, s in order:
        code <<= length - previous
        codewords[s] = code
        code += 1
        previous = length
    return codewords


def huffman_code(frequencies) -> HuffmanCode:
    """Build the Huffman code for ``frequencies`` (counts or probabilities)."""
    lengths = huffman_lengths(frequencies)
    return HuffmanCode(tuple(lengths), tuple(canonical_codewords(lengths)))

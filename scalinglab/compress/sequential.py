"""The sequential transformer coder: the whole file as one stream, one forward pass per byte.

This is the compressor's first design, kept so that the batched one
(:mod:`scalinglab.compress.chunked`) can be measured against it: it sees the
most context (no chunk boundaries) and decodes at a few KB/s.

**Bit-identical probabilities.** The encoder knows the whole block and runs the
window once. The decoder knows only the bytes before the target, so for each
target it runs *the same window shape* with zeros in the positions not yet
decoded, and reads the same row. Causal attention gives a row no weight on later
positions (their softmax weights are exactly 0) and every other layer works row
by row, so the row's floating-point result cannot depend on the placeholders;
softmax and quantisation then run on the same (block × vocab) array on both
sides. Decoding therefore costs one full window per byte.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np
import torch

from scalinglab.compress.arithmetic import RangeDecoder, RangeEncoder
from scalinglab.compress.quantize import (
    FREQUENCY_TOTAL_BITS,
    escape_frequencies,
    quantised_code_length_bits,
    softmax_probabilities,
)
from scalinglab.model import GPT


def model_tokens(x: np.ndarray, vocab_size: int) -> np.ndarray:
    """Bytes as the model's input tokens: a byte the vocabulary lacks reads as its last symbol."""
    return np.minimum(x, vocab_size - 1).astype(np.int64)


def first_byte_frequencies(vocab_size: int, escape_bits: int) -> np.ndarray:
    """The first byte of a stream or chunk has no context: uniform over the vocabulary."""
    return escape_frequencies(np.full(vocab_size, 1.0 / vocab_size), escape_bits)


class _WindowCoder:
    """Block-by-block coding of bytes with a GPT (one stream; see the module docstring)."""

    def __init__(self, model: GPT, stride: int, escape_bits: int):
        self.model = model
        self.vocab_size = model.config.vocab_size
        self.seq_len = model.config.seq_len
        self.stride = stride
        self.escape_bits = escape_bits
        self.first = first_byte_frequencies(self.vocab_size, escape_bits)

    @torch.no_grad()
    def block_probabilities(
        self, window: np.ndarray, first: int, end: int, start: int
    ) -> np.ndarray:
        """Float64 (end − first, V) next-byte probabilities from one window (batch of one)."""
        tokens = torch.from_numpy(model_tokens(window, self.vocab_size))[None, :]
        logits = self.model(tokens)[0][0, first - 1 - start : end - 1 - start]
        return softmax_probabilities(np.ascontiguousarray(logits.double().numpy()))

    def encode_block(
        self, enc: RangeEncoder, x: np.ndarray, block: tuple[int, int, int, int]
    ) -> float:
        """Code x[first:end]; returns the ideal bits of the integer probabilities used."""
        start, stop, first, end = block
        freqs = escape_frequencies(self.block_probabilities(x[start:stop], first, end, start),
                                   self.escape_bits)
        symbols = x[first:end].astype(np.int64)
        cums = np.cumsum(freqs, axis=1) - freqs
        rows = np.arange(end - first)
        cum_list = cums[rows, symbols].tolist()
        freq_list = freqs[rows, symbols].tolist()
        bits = FREQUENCY_TOTAL_BITS
        for c, f in zip(cum_list, freq_list, strict=True):
            enc.encode(c, f, bits)
        return quantised_code_length_bits(np.asarray(freq_list))

    def decode_block(
        self, dec: RangeDecoder, x: bytearray, block: tuple[int, int, int, int]
    ) -> None:
        """Append x[first:end], one forward pass per byte on the encoder's window shape."""
        start, stop, first, end = block
        window = np.zeros(stop - start, dtype=np.uint8)
        window[: first - start] = np.frombuffer(bytes(x[start:first]), dtype=np.uint8)
        bits = FREQUENCY_TOTAL_BITS
        for t in range(first, end):
            probs = self.block_probabilities(window, first, end, start)
            freqs = escape_frequencies(probs, self.escape_bits)[t - first]
            cums = [0, *np.cumsum(freqs).tolist()]
            s = bisect_right(cums, dec.target(bits)) - 1
            dec.consume(cums[s], cums[s + 1] - cums[s], bits)
            x.append(s)
            if t - start < window.size:
                window[t - start] = s

    def encode_first(self, enc: RangeEncoder, x: np.ndarray) -> float:
        s = int(x[0])
        enc.encode(int(self.first[:s].sum()), int(self.first[s]), FREQUENCY_TOTAL_BITS)
        return quantised_code_length_bits(self.first[s : s + 1])

    def decode_first(self, dec: RangeDecoder, x: bytearray) -> None:
        cums = [0, *np.cumsum(self.first).tolist()]
        s = bisect_right(cums, dec.target(FREQUENCY_TOTAL_BITS)) - 1
        dec.consume(cums[s], cums[s + 1] - cums[s], FREQUENCY_TOTAL_BITS)
        x.append(s)

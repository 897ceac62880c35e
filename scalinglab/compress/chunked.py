"""Chunked transformer coding: many chunks decoded at once, each step cheap.

A decoder must run the model once per byte, because it learns byte t only
after decoding byte t − 1. Two things make that fast here:

* **Chunks, decoded as one batch.** The file is cut into chunks of
  ``chunk_bytes`` (2,048 by default, the set-up of Delétang et al., 2023,
  "Language Modeling Is Compression"), each coded with no context from the
  others, so position t of *every* chunk can be predicted in the same forward
  pass. A step's Python overhead is then shared by hundreds of chunks. Chunks go
  through the model ``group_chunks`` at a time (bounded by memory).
* **A key/value cache** (:class:`~scalinglab.compress.cached_gpt.CachedGPT`):
  a step adds one position instead of rerunning the window. Windows follow
  :func:`~scalinglab.compress.windows.windows` inside each chunk; each new
  window starts with one batched prefill of the bytes it keeps.

**One stream, interleaved.** All chunks share one range code, in the order the
decoder meets the symbols: for each group, a flag per chunk, the stored chunks'
bytes, then position 0 of every coded chunk, position 1 of every coded chunk, ….
The decoder has the whole step's probabilities before it decodes any of that
step's bytes, so the order is always decodable, and nothing per chunk (no
lengths, no offsets) is stored.

**Stored chunks.** The flag says whether a chunk is coded by the model or
stored at 8 bits per byte (uniform), whichever is shorter, so a chunk never
costs more than 8 bits per byte plus one bit. The model still reads stored
chunks (both ends know their bytes), so the batch and its arithmetic are the same
whatever the flags say.

**Two threads.** A large batch is split into ``sub_batches`` fixed parts (2 by
default, each of at least 64 chunks), each run by its own Python thread with
single-threaded kernels: the model's work releases the GIL, so two cores share
it. Which rows go together is fixed by the header and the batch size, not by
timing, so the arithmetic is the same on any machine with any number of cores.

**Bit-identical probabilities.** The encoder runs *the decoder's computation*:
the same batches and sub-batches, the same prefills and steps, fed the same
bytes (the ones before each position; zeros past a chunk's end), so both ends
produce the same floats and hence the same integer frequencies. The encoder is
therefore as slow as the decoder, and both are fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from scalinglab.compress.arithmetic import RangeDecoder, RangeEncoder
from scalinglab.compress.cached_gpt import CachedGPT
from scalinglab.compress.quantize import FREQUENCY_TOTAL_BITS, escape_frequencies_from_logits
from scalinglab.compress.sequential import first_byte_frequencies, model_tokens
from scalinglab.compress.windows import windows
from scalinglab.model import GPT, GPTConfig

CHUNK_BYTES = 2048
"""Bytes per chunk, as in Delétang et al. (2023)."""

MAX_CHUNK_BYTES = 1 << 24
MAX_GROUP_CHUNKS = 1024
GROUP_MEMORY_BYTES = 1 << 28
"""The encoder sizes a batch of chunks to stay under this much cache and activation memory."""
SUB_BATCHES = 2
"""Parts of a batch run on their own threads (the book's target machine has 2 cores)."""
MAX_SUB_BATCHES = 16
MIN_PART_CHUNKS = 64
"""A batch is split only into parts of at least this many chunks: below that, a step's
Python overhead, which each thread pays in full, outweighs its arithmetic."""

Visit = Callable[[int, np.ndarray, np.ndarray], None]
"""``visit(t, freqs, ends)``: position t's (batch, 256) frequencies and their running sums,
before position t is read."""
AfterBlock = Callable[[np.ndarray, np.ndarray, int], None]
"""``after_block(x, lengths, end)``: every chunk has positions < end coded (online training)."""


def lane_memory_bytes(config: GPTConfig) -> int:
    """Rough float32 memory one chunk needs in a batch: cache plus a prefill's activations."""
    return 4 * config.seq_len * config.d_model * (2 * config.n_layer + 8)


def default_group_chunks(config: GPTConfig) -> int:
    """Chunks per batch: as many as fit :data:`GROUP_MEMORY_BYTES`, at most 1,024."""
    return int(min(MAX_GROUP_CHUNKS, max(1, GROUP_MEMORY_BYTES // lane_memory_bytes(config))))


def max_group_chunks(config: GPTConfig) -> int:
    """The most chunks per batch a decoder accepts from a header (4× the encoder's budget)."""
    return int(min(MAX_GROUP_CHUNKS,
                   max(1, 4 * GROUP_MEMORY_BYTES // lane_memory_bytes(config))))


def chunk_groups(n: int, chunk_bytes: int, group_chunks: int) -> Iterator[list[tuple[int, int]]]:
    """Groups of (offset, length) chunks covering n bytes, lazily (a forged n costs nothing)."""
    offset = 0
    while offset < n:
        group = []
        while offset < n and len(group) < group_chunks:
            group.append((offset, min(chunk_bytes, n - offset)))
            offset += chunk_bytes
        yield group


class _Part:
    """Rows [lo, hi) of a batch: their cache, run on one thread."""

    def __init__(self, model: GPT, lo: int, hi: int, escape_bits: int):
        self.lo, self.hi = lo, hi
        self.cache = CachedGPT(model, hi - lo)
        self.escape_bits = escape_bits

    def prefill(self, tokens: np.ndarray) -> None:
        self.cache.prefill(torch.from_numpy(tokens[self.lo : self.hi]))

    def step(self, column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits = self.cache.step(torch.from_numpy(column[self.lo : self.hi]))
        freqs = escape_frequencies_from_logits(logits, self.escape_bits)
        return freqs.numpy(), torch.cumsum(freqs, dim=1).numpy()


def _parts(model: GPT, batch: int, sub_batches: int, escape_bits: int) -> list[_Part]:
    count = max(1, min(sub_batches, batch // MIN_PART_CHUNKS))
    edges = np.linspace(0, batch, count + 1).round().astype(int).tolist()
    return [_Part(model, lo, hi, escape_bits) for lo, hi in zip(edges, edges[1:], strict=False)]


def run_group(
    model: GPT,
    x: np.ndarray,
    stride: int,
    escape_bits: int,
    visit: Visit,
    after_block: Callable[[int], None] | None = None,
    sub_batches: int = SUB_BATCHES,
) -> None:
    """Walk positions 0 … W − 1 of a (chunks, W) byte array, calling ``visit`` at each.

    The model reads only column t − 1 (and, at a new window, the columns it keeps)
    after ``visit(t − 1, …)`` has returned, so a decoder's ``visit`` may fill
    column t − 1 just in time. ``after_block(end)`` runs when a window's block ends.
    """
    vocab = model.config.vocab_size
    batch, width = x.shape
    parts = _parts(model, batch, sub_batches, escape_bits)
    first = first_byte_frequencies(vocab, escape_bits)
    visit(0, np.broadcast_to(first, (batch, 256)), np.broadcast_to(np.cumsum(first), (batch, 256)))
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        def each(method: str, arg: np.ndarray) -> list:
            if len(parts) == 1:
                return [getattr(parts[0], method)(arg)]
            return list(pool.map(lambda part: getattr(part, method)(arg), parts))

        for start, _, first_t, end in windows(width, model.config.seq_len, stride):
            each("prefill", model_tokens(x[:, start : first_t - 1], vocab))
            for t in range(first_t, end):
                results = each("step", model_tokens(x[:, t - 1], vocab))
                if len(results) == 1:
                    visit(t, *results[0])
                else:
                    visit(t, *(np.concatenate(r) for r in zip(*results, strict=True)))
            if after_block is not None:
                after_block(end)


def _lanes(data: np.ndarray, group: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([size for _, size in group], dtype=np.int64)
    x = np.zeros((len(group), int(lengths.max())), dtype=np.uint8)
    for row, (offset, size) in enumerate(group):
        x[row, :size] = data[offset : offset + size]
    return x, lengths


def encode_group(
    enc: RangeEncoder,
    model: GPT,
    data: np.ndarray,
    group: list[tuple[int, int]],
    stride: int,
    escape_bits: int,
    after_block: AfterBlock | None = None,
    sub_batches: int = SUB_BATCHES,
) -> tuple[float, int]:
    """Code one group of chunks; returns (ideal bits of what was coded, chunks stored)."""
    x, lengths = _lanes(data, group)
    batch, width = x.shape
    cums = np.zeros((batch, width), dtype=np.int64)
    freqs = np.ones((batch, width), dtype=np.int64)
    rows = np.arange(batch)

    def record(t: int, f: np.ndarray, ends: np.ndarray) -> None:
        symbols = x[:, t]
        freqs[:, t] = f[rows, symbols]
        cums[:, t] = ends[rows, symbols] - freqs[:, t]

    run_group(model, x, stride, escape_bits, record,
              None if after_block is None else lambda end: after_block(x, lengths, end),
              sub_batches)
    active = np.arange(width)[None, :] < lengths[:, None]
    bits_each = np.log2(np.where(active, freqs, 1 << FREQUENCY_TOTAL_BITS).astype(np.float64))
    model_bits = (FREQUENCY_TOTAL_BITS - bits_each).sum(axis=1)
    stored = model_bits > 8 * lengths
    for flag in stored.tolist():
        enc.encode_uniform(int(flag), 1)
    for row in np.flatnonzero(stored).tolist():
        for byte in x[row, : lengths[row]].tolist():
            enc.encode_uniform(byte, 8)
    coded = active & ~stored[:, None]
    bits = FREQUENCY_TOTAL_BITS
    encode = enc.encode
    # Transposed so that the order is position-major, chunk-minor: the decoder's order.
    for c, f in zip(cums.T[coded.T].tolist(), freqs.T[coded.T].tolist(), strict=True):
        encode(c, f, bits)
    ideal = batch + 8 * float(lengths[stored].sum()) + float(model_bits[~stored].sum())
    return ideal, int(stored.sum())


def decode_group(
    dec: RangeDecoder,
    model: GPT,
    group: list[tuple[int, int]],
    stride: int,
    escape_bits: int,
    after_block: AfterBlock | None = None,
    sub_batches: int = SUB_BATCHES,
) -> bytes:
    """Decode one group of chunks written by :func:`encode_group`; their bytes in file order."""
    lengths = np.array([size for _, size in group], dtype=np.int64)
    batch, width = len(group), int(lengths.max())
    x = np.zeros((batch, width), dtype=np.uint8)
    stored = [dec.decode_uniform(1) for _ in range(batch)]
    coded = []
    for row, flag in enumerate(stored):
        if flag:
            x[row, : lengths[row]] = [dec.decode_uniform(8) for _ in range(lengths[row])]
        else:
            coded.append(row)
    bits = FREQUENCY_TOTAL_BITS
    length_of = lengths.tolist()

    def decode(t: int, f: np.ndarray, ends: np.ndarray) -> None:
        for row in coded:
            if length_of[row] <= t:
                continue
            slot = dec.target(bits)
            s = int(np.searchsorted(ends[row], slot, side="right"))
            dec.consume(int(ends[row, s]) - int(f[row, s]), int(f[row, s]), bits)
            x[row, t] = s

    run_group(model, x, stride, escape_bits, decode,
              None if after_block is None else lambda end: after_block(x, lengths, end),
              sub_batches)
    return b"".join(x[row, : length_of[row]].tobytes() for row in range(batch))

"""Count-based models that drive the range coder: static order-0 and adaptive order-k.

*Static order-0* counts each byte value over the whole input, writes the 256
counts in front of the code and codes every byte with those fixed frequencies:
its cost is n·H0 plus the table, the textbook baseline for chapter 2.

*Adaptive order-k* predicts each byte from the k bytes before it and learns
as it goes, so encoder and decoder build identical tables from the bytes coded
so far and nothing but the code is sent. Two choices keep it honest and fast
in pure Python:

* **Binary decomposition.** A byte is coded as 8 yes/no decisions, most
  significant bit first; the context of each decision is the k previous bytes
  plus the bits of this byte already coded (a node of a 255-node binary tree).
  A binary decision costs one multiply in the coder instead of a search through
  256 cumulative frequencies (the trick of PAQ-style context-mixing coders,
  Mahoney, 2005).
* **Blending the orders.** Each order's counts (n0, n1) shrink towards the
  estimate of the order below, the recursive Dirichlet / interpolated-PPM
  estimator (Cleary & Witten, 1984; MacKay & Peto, 1995; Teh, 2006):

      p_k = (n1 + c · p_{k-1}) / (n0 + n1 + c),    p_{-1} = 1/2,

  with a smaller concentration c when the context has only ever seen one value
  (such contexts are usually right) and a larger one when it has seen both.
  A context never seen leaves p unchanged, so the loop stops at the first unseen
  order: every longer context extends it and is unseen too. Counts are never
  forgotten: the estimator assumes a stationary source, as the synthetic one is
  (halving counts helped real text by about 1 % and cost 15 % in speed).

All arithmetic is on integers (probabilities out of 2^16), so the encoder and
the decoder compute the same numbers on any machine, and they run literally the
same loop: the only difference is whether the bit comes from the input or from
the coder.

**An escape to storing.** A primed model meeting bytes it never saw can spend
up to 16 bits per decision. So the adaptive model codes its input in chunks
(2,048 bytes by default) and, for each, sends one flag bit: the model's code,
or the chunk's bytes stored at exactly 8 bits each. The encoder runs the model
over a chunk recording its probabilities, and then either replays them into the
coder or stores the chunk; either way the model learns from the chunk, so both
ends' tables stay identical. A chunk never costs more than 8 bits per byte plus
the flag.
"""

from __future__ import annotations

import contextlib
import gc
import math
from bisect import bisect_right
from collections.abc import Callable, Iterator

import numpy as np

from scalinglab.compress.arithmetic import RangeDecoder, RangeEncoder
from scalinglab.compress.fields import int_field
from scalinglab.compress.quantize import FREQUENCY_TOTAL_BITS, quantize_probabilities

MAX_ORDER = 5
"""Orders 0…5: beyond that, contexts in a few hundred KB are almost all unseen."""

CHUNK_BYTES = 2048
"""Bytes per stored-or-coded decision (one flag bit each)."""

MAX_CHUNK_BYTES = 1 << 24

_ONE = 1 << 16
_HALF = 1 << 15

COST_BITS = [math.inf] + [-math.log2(i / _ONE) for i in range(1, _ONE + 1)]
"""COST_BITS[f] = -log2(f / 2^16): the ideal cost of a decision given probability f/2^16."""


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the tables grow.

    The tables are millions of small lists; every few hundred new ones the
    collector would rescan them all, for nothing (they hold no cycles). Pausing
    it makes the coders 10-20 % faster.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- static order-0 ------------------------------------------------------------------------


def _write_varint(value: int, out: bytearray) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("the archive is truncated (a frequency table ends early)")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("the archive is corrupted (a frequency table entry is too long)")


def static_frequencies(counts: np.ndarray) -> np.ndarray:
    """The coder's 2^24-total table for byte counts: the empirical distribution, quantised."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() == 0:
        counts = np.ones_like(counts)
    return quantize_probabilities(counts / counts.sum())


class StaticOrder0:
    """Code bytes with their own frequencies, sent in front (a two-part code)."""

    name = "static"
    min_bits_per_byte = -math.log2(1 - 255 / (1 << FREQUENCY_TOTAL_BITS))
    """The least a byte can cost: every other byte value keeps a frequency of 1."""

    def spec(self) -> dict:
        return {"name": self.name}

    def encode(self, data: bytes, prime: bytes = b"") -> tuple[bytes, float]:
        """Payload = 256 varint counts + the range code; returns it and the ideal bits."""
        counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
        out = bytearray()
        for c in counts.tolist():
            _write_varint(c, out)
        freqs = static_frequencies(counts)
        cums = np.concatenate([[0], np.cumsum(freqs)]).tolist()
        freq_list = freqs.tolist()
        enc = RangeEncoder()
        encode = enc.encode
        bits = FREQUENCY_TOTAL_BITS
        for byte in data:
            encode(cums[byte], freq_list[byte], bits)
        code = enc.finish()
        ideal = float(-(counts * np.log2(freqs / (1 << bits))).sum()) + 8 * len(out)
        return bytes(out) + code, ideal

    def decode(self, payload: bytes, n: int, prime: bytes = b"") -> bytes:
        pos = 0
        counts = []
        for _ in range(256):
            c, pos = _read_varint(payload, pos)
            counts.append(c)
        if sum(counts) != n:
            raise ValueError(
                f"the archive is corrupted: its frequency table counts {sum(counts)} bytes, "
                f"the header says {n}"
            )
        freqs = static_frequencies(np.array(counts))
        cums = np.concatenate([[0], np.cumsum(freqs)]).tolist()
        dec = RangeDecoder(payload[pos:])
        bits = FREQUENCY_TOTAL_BITS
        out = bytearray()  # grows as bytes are decoded: a forged length allocates nothing
        append = out.append
        for _ in range(n):
            slot = dec.target(bits)
            s = bisect_right(cums, slot) - 1
            dec.consume(cums[s], cums[s + 1] - cums[s], bits)
            append(s)
        return bytes(out)


# -- adaptive order-k ----------------------------------------------------------------------


class AdaptiveOrderK:
    """Blended adaptive context model over orders 0…k, coded one bit at a time.

    ``det_concentration`` and ``mix_concentration`` are the c above for contexts
    that have seen one bit value and both, in quarter units so that everything
    stays in integers (16 → c = 4). Counts are stored four times over for the same
    reason. The defaults were set by hand on the pydocs text and the synthetic source.
    """

    def __init__(self, order: int, *, det_concentration: int = 16, mix_concentration: int = 48,
                 chunk_bytes: int = CHUNK_BYTES):
        if not (isinstance(order, int) and 0 <= order <= MAX_ORDER):
            raise ValueError(f"context order must be an integer 0…{MAX_ORDER}, got {order!r}")
        for label, value in (
            ("det_concentration", det_concentration),
            ("mix_concentration", mix_concentration),
        ):
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        if not (isinstance(chunk_bytes, int) and 1 <= chunk_bytes <= MAX_CHUNK_BYTES):
            raise ValueError(f"chunk_bytes must be an integer in [1, {MAX_CHUNK_BYTES}], "
                             f"got {chunk_bytes!r}")
        self.order = order
        self.det_concentration = det_concentration
        self.mix_concentration = mix_concentration
        self.chunk_bytes = chunk_bytes
        self.name = f"order{order}"
        self.stored_chunks = 0

    @property
    def min_bits_per_byte(self) -> float:
        """The least a byte can cost: 8 decisions at P = 65535/65536, plus its share of a flag."""
        return 8 * -math.log2(1 - 1 / _ONE) + 1 / self.chunk_bytes

    def spec(self) -> dict:
        return {"name": self.name, "det_c": self.det_concentration,
                "mix_c": self.mix_concentration, "chunk_bytes": self.chunk_bytes}

    @classmethod
    def from_spec(cls, spec: dict) -> AdaptiveOrderK:
        """The model an archive names, each field checked by type and range."""
        return cls(
            int(spec["name"][5:]),
            det_concentration=int_field(spec, "det_c", 1, 1 << 16, where="model."),
            mix_concentration=int_field(spec, "mix_c", 1, 1 << 16, where="model."),
            chunk_bytes=int_field(spec, "chunk_bytes", 1, MAX_CHUNK_BYTES, where="model."),
        )

    def new_state(self) -> list:
        """Fresh tables: per order, context → {tree node → [4·n0, 4·n1]}; plus the history."""
        return [[{} for _ in range(self.order + 1)], 0]

    def run(
        self, state: list, code_bit: Callable[[int, int], int], data: bytes
    ) -> tuple[bytes, float]:
        """Code ``len(data)`` bytes through ``code_bit(bit, p1)``, updating ``state``.

        Encoding passes the input and the encoder's ``encode_bit``; decoding passes
        placeholder zeros and the decoder's ``decode_bit``, which returns the real
        bits; priming passes the text and a function that returns the bit unchanged.
        Returns the bytes coded and their ideal code length in bits.

        The loop is written for speed (it is the hot path of every count model):
        locals instead of attributes, the tree node as an int (1, then 1b7, 1b7b6, …).
        """
        with _gc_paused():
            return self._run(state, code_bit, data)

    def _run(self, state: list, code_bit, data: bytes) -> tuple[bytes, float]:
        tables, history = state
        order = self.order
        masks = [(1 << (8 * k)) - 1 for k in range(order + 1)]
        orders = list(zip(tables, masks, strict=True))
        det_c, mix_c = self.det_concentration, self.mix_concentration
        cost = COST_BITS
        out = bytearray(len(data))
        ideal = 0.0
        for t, byte in enumerate(data):
            seen = [table.setdefault(history & mask, {}) for table, mask in orders]
            node = 1
            for shift in (7, 6, 5, 4, 3, 2, 1, 0):
                p = _HALF
                cells = []
                for d in seen:
                    c = d.get(node)
                    if c is None:
                        break  # unseen here, so unseen in every longer context too
                    n0, n1 = c
                    if n0 and n1:
                        p = ((n1 << 16) + mix_c * p) // (n0 + n1 + mix_c)
                    else:
                        p = ((n1 << 16) + det_c * p) // (n0 + n1 + det_c)
                    cells.append(c)
                if p < 1:
                    p = 1
                elif p >= _ONE:
                    p = _ONE - 1
                bit = code_bit((byte >> shift) & 1, p)
                ideal += cost[p if bit else _ONE - p]
                for c in cells:
                    c[bit] += 4
                if len(cells) <= order:
                    for d in seen[len(cells) :]:
                        d[node] = [0, 4] if bit else [4, 0]
                node = (node << 1) | bit
            byte = node & 0xFF
            out[t] = byte
            history = ((history << 8) | byte) & 0xFFFFFFFFFF
        state[1] = history
        return bytes(out), ideal

    def _primed_state(self, prime: bytes) -> list:
        state = self.new_state()
        if prime:
            self.run(state, _pass_bit, prime)
        return state

    def encode(self, data: bytes, prime: bytes = b"") -> tuple[bytes, float]:
        """The code and its ideal length in bits (flags and stored chunks included)."""
        state = self._primed_state(prime)
        enc = RangeEncoder()
        ideal = 0.0
        self.stored_chunks = 0
        for start in range(0, len(data), self.chunk_bytes):
            chunk = data[start : start + self.chunk_bytes]
            probabilities: list[int] = []
            _, bits = self.run(state, _recorder(probabilities), chunk)
            if bits > 8 * len(chunk):  # the model would spend more than storing
                self.stored_chunks += 1
                enc.encode_uniform(1, 1)
                for byte in chunk:
                    enc.encode_uniform(byte, 8)
                ideal += 1 + 8 * len(chunk)
            else:
                enc.encode_uniform(0, 1)
                encode_bit = enc.encode_bit
                decisions = np.unpackbits(np.frombuffer(chunk, dtype=np.uint8)).tolist()
                for bit, p1 in zip(decisions, probabilities, strict=True):
                    encode_bit(bit, p1)
                ideal += 1 + bits
        return enc.finish(), ideal

    def decode(self, payload: bytes, n: int, prime: bytes = b"") -> bytes:
        state = self._primed_state(prime)
        dec = RangeDecoder(payload)
        out = bytearray()  # grows chunk by chunk: a forged length allocates nothing up front
        for start in range(0, n, self.chunk_bytes):
            size = min(self.chunk_bytes, n - start)
            if dec.decode_uniform(1):
                chunk = bytes(dec.decode_uniform(8) for _ in range(size))
                self.run(state, _pass_bit, chunk)  # learn from it, as the encoder did
            else:
                chunk, _ = self.run(state, dec.decode_bit, bytes(size))
            out += chunk
        return bytes(out)


def _pass_bit(bit: int, p1: int) -> int:
    return bit


def _recorder(probabilities: list[int]) -> Callable[[int, int], int]:
    """A ``code_bit`` that notes each decision's P(1) and passes the input's bit through."""
    note = probabilities.append

    def record(bit: int, p1: int) -> int:
        note(p1)
        return bit

    return record

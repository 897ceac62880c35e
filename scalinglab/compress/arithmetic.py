"""An exact integer range coder: the one entropy coder every model in this package drives.

Arithmetic coding turns a model's probabilities into a file whose length is
within a few bytes of the model's ideal code length, sum of -log2 p(x_t)
(Rissanen, 1976; Witten, Neal & Cleary, 1987). This is the byte-oriented
"range coder" form (Martin, 1979): the state is an interval [low, low + range)
of 64-bit integers; coding a symbol narrows it to the symbol's share, and
whenever the range falls below 2^56 the top byte is settled and shifted out.

Everything is integer arithmetic, so encoder and decoder agree bit for bit on
any machine. Two entry points share one state and one renormalisation:

* ``encode(cum, freq, total_bits)``: a symbol whose frequencies sum to
  2^total_bits (a 256-way byte from a transformer, say), with
  ``cum`` = the frequencies of the symbols before it.
* ``encode_bit(bit, p1)``: one binary decision with P(bit = 1) = p1 / 2^16,
  the cheap case that the context models use eight times per byte;
* ``encode_uniform(value, bits)``: a value of ``bits`` bits, each equally likely
  (a stored byte, a yes/no flag), which costs exactly ``bits`` bits.

Precision. After renormalisation range ≥ 2^56, so with totals up to 2^24 the
truncation ``range >> total_bits`` loses less than 2^-32 of the interval per
symbol: the coder's overhead is the final flush (≤ 8 bytes) and nothing else
measurable. A carry out of ``low`` is propagated into the bytes already written.

A lower bound, not an estimate. Every symbol gets at most its share of the
interval (both sides of a binary decision are truncated, leaving a sliver
unused), so the final interval is no wider than 2^-I, where I = sum of
-log2(freq / total) is the ideal code length of the integer probabilities; it
is also at least 2^-(8s + 8) wide after s bytes were shifted out, and the flush
writes at least one byte. Hence the payload is never shorter than I bits, and a
"coder overhead" measured against I is never negative.

A decoder given a damaged or forged code stops with an error once it has read
more than 8 bytes past the end (a valid code never takes it that far).
"""

from __future__ import annotations

STATE_BITS = 64
"""Width of ``low`` and ``range``."""

TOP = 1 << STATE_BITS
MASK = TOP - 1
RENORM_BELOW = 1 << (STATE_BITS - 8)
"""Shift a byte out whenever ``range`` drops below this."""

BIT_PROBABILITY_BITS = 16
"""Binary decisions carry P(1) as an integer out of 2^16, in [1, 2^16 - 1]."""

_BIT_ONE = 1 << BIT_PROBABILITY_BITS

READ_PAST_END_BYTES = 8
"""A valid code is decoded having read at most 7 zero bytes past its end."""

MAX_TOTAL_BITS = 24
"""Largest frequency total (as a power of two) that ``encode`` accepts."""


class RangeEncoder:
    """Narrow an interval symbol by symbol; ``finish()`` returns the code bytes."""

    __slots__ = ("low", "range", "out")

    def __init__(self) -> None:
        self.low = 0
        self.range = MASK
        self.out = bytearray()

    def _carry(self) -> None:
        # low overflowed 64 bits: add one to the number already written.
        self.low &= MASK
        out = self.out
        i = len(out) - 1
        while out[i] == 0xFF:
            out[i] = 0
            i -= 1
        out[i] += 1

    def _shift(self) -> None:
        low, rng, out = self.low, self.range, self.out
        while rng < RENORM_BELOW:
            out.append(low >> 56)
            low = (low << 8) & MASK
            rng <<= 8
        self.low, self.range = low, rng

    def encode(self, cum: int, freq: int, total_bits: int) -> None:
        """Code the symbol occupying [cum, cum + freq) out of 2^total_bits."""
        r = self.range >> total_bits
        self.low += r * cum
        self.range = r * freq
        if self.low > MASK:
            self._carry()
        if self.range < RENORM_BELOW:
            self._shift()

    def encode_bit(self, bit: int, p1: int) -> int:
        """Code one binary decision with P(1) = p1 / 2^16; returns ``bit``.

        Returning the bit lets one model loop serve both directions: the
        decoder's ``decode_bit(bit, p1)`` has the same signature and returns the
        bit it read.
        """
        r = self.range >> 16
        if bit:
            self.range = r * p1
        else:
            self.low += r * p1
            self.range = r * (_BIT_ONE - p1)
            if self.low > MASK:
                self._carry()
        if self.range < RENORM_BELOW:
            self._shift()
        return bit

    def encode_uniform(self, value: int, bits: int) -> None:
        """Code ``value`` in [0, 2^bits) with every value equally likely: ``bits`` bits."""
        self.encode(value, 1, bits)

    def finish(self) -> bytes:
        """Flush the fewest bytes that pin a value inside the final interval.

        The decoder reads zeros past the end of the stream, so any value in
        [low, low + range) whose trailing bytes are zero can be cut there.
        """
        low, high = self.low, self.low + self.range
        for n_bytes in range(1, STATE_BITS // 8 + 1):
            unit = 1 << (STATE_BITS - 8 * n_bytes)
            value = -(-low // unit) * unit  # round low up to a multiple of unit
            if value < high:
                break
        if value > MASK:
            self.low = value
            self._carry()
            value &= MASK
        tail = value.to_bytes(8, "big")[:n_bytes]
        self.out += tail
        return bytes(self.out)


class RangeDecoder:
    """Read back what :class:`RangeEncoder` wrote, given the same probabilities."""

    __slots__ = ("code", "range", "data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        head = data[:8].ljust(8, b"\0")
        self.code = int.from_bytes(head, "big")
        self.pos = 8
        self.range = MASK
        if self.code >= self.range:
            raise ValueError("the coded payload is corrupted; the archive cannot be decoded")

    def _shift(self) -> None:
        code, rng, data, pos = self.code, self.range, self.data, self.pos
        n = len(data)
        while rng < RENORM_BELOW:
            code = (code << 8) | (data[pos] if pos < n else 0)
            pos += 1
            rng <<= 8
        if pos > n + READ_PAST_END_BYTES:
            raise ValueError(
                f"corrupted archive: the decoder read {pos - n} bytes past the end of the "
                f"{n}-byte code (a valid code needs under {READ_PAST_END_BYTES})"
            )
        if code >= rng:
            raise ValueError(
                "the coded payload is corrupted (the decoder left the coding interval); "
                "the archive cannot be decoded"
            )
        self.code, self.range, self.pos = code, rng, pos

    def target(self, total_bits: int) -> int:
        """The frequency slot the next symbol occupies (find the symbol, then ``consume``)."""
        slot = self.code // (self.range >> total_bits)
        if slot >> total_bits:  # the encoder never writes into the unused top sliver
            raise ValueError("the coded payload is corrupted; the archive cannot be decoded")
        return slot

    def consume(self, cum: int, freq: int, total_bits: int) -> None:
        """Remove the decoded symbol [cum, cum + freq) from the state."""
        r = self.range >> total_bits
        self.code -= r * cum
        self.range = r * freq
        if self.range < RENORM_BELOW:
            self._shift()

    def decode_bit(self, bit: int, p1: int) -> int:
        """Read one binary decision with P(1) = p1 / 2^16 (``bit`` is ignored)."""
        r = self.range >> 16
        bound = r * p1
        if self.code < bound:
            self.range = bound
            bit = 1
        else:
            self.code -= bound
            self.range = r * (_BIT_ONE - p1)
            if self.code >= self.range:  # the unused sliver: no encoder writes there
                raise ValueError("the coded payload is corrupted; the archive cannot be decoded")
            bit = 0
        if self.range < RENORM_BELOW:
            self._shift()
        return bit

    def decode_uniform(self, bits: int) -> int:
        """Read a value that ``encode_uniform(value, bits)`` wrote."""
        value = self.target(bits)
        self.consume(value, 1, bits)
        return value

    def consumed_bytes(self) -> int:
        """How many payload bytes the decoder has read (past the end counts as zeros)."""
        return self.pos

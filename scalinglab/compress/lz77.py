"""A small LZ77 coder: dictionary coding, the idea inside gzip, zstd and xz.

Ziv & Lempel (1977): instead of modelling probabilities, replace a repeated
string by a pointer (distance back, length) into the text already seen. This
teaching version uses a 32 KB window, matches of 3…258 bytes (DEFLATE's limits,
Deutsch, 1996) found through a hash chain on 3-byte prefixes, and a plain token
format, so that its output size shows what copying alone buys:

    flag byte, then 8 tokens (bit i of the flag says token i is a match):
      literal: 1 byte
      match:   2 bytes distance − 1 (little-endian), 1 byte length − 3

Real coders then entropy-code the tokens (gzip with Huffman, xz with a range
coder); this one does not, which is why it is larger than gzip.
"""

from __future__ import annotations

WINDOW_BYTES = 32 * 1024
MIN_MATCH = 3
MAX_MATCH = 258
MAX_CHAIN = 32
"""How many earlier positions with the same 3-byte prefix to try (speed against ratio)."""


def lz77_tokens(data: bytes) -> list[tuple[int, int] | int]:
    """Greedy parse: a literal byte (int) or a match (distance, length) at each step."""
    heads: dict[bytes, list[int]] = {}
    tokens: list[tuple[int, int] | int] = []
    n = len(data)
    i = 0
    while i < n:
        best_len = best_dist = 0
        if i + MIN_MATCH <= n:
            key = data[i : i + MIN_MATCH]
            chain = heads.get(key, ())
            limit = min(MAX_MATCH, n - i)
            for j in reversed(chain[-MAX_CHAIN:]):
                if i - j > WINDOW_BYTES:
                    break
                length = MIN_MATCH
                while length < limit and data[j + length] == data[i + length]:
                    length += 1
                if length > best_len:
                    best_len, best_dist = length, i - j
                    if length == limit:
                        break
        step = best_len if best_len >= MIN_MATCH else 1
        for k in range(i, min(i + step, n - MIN_MATCH + 1)):
            heads.setdefault(data[k : k + MIN_MATCH], []).append(k)
        tokens.append((best_dist, best_len) if best_len >= MIN_MATCH else data[i])
        i += step
    return tokens


def lz77_encode(data: bytes) -> bytes:
    """Tokens packed eight to a flag byte (see the module docstring)."""
    out = bytearray()
    tokens = lz77_tokens(bytes(data))
    for g in range(0, len(tokens), 8):
        group = tokens[g : g + 8]
        flags = sum(1 << i for i, tok in enumerate(group) if isinstance(tok, tuple))
        out.append(flags)
        for tok in group:
            if isinstance(tok, tuple):
                dist, length = tok
                out += (dist - 1).to_bytes(2, "little")
                out.append(length - MIN_MATCH)
            else:
                out.append(tok)
    return bytes(out)


def lz77_decode(blob: bytes, n: int) -> bytes:
    """Rebuild ``n`` bytes from ``lz77_encode``'s output."""
    out = bytearray()
    pos = 0
    try:
        while len(out) < n:
            flags = blob[pos]
            pos += 1
            for i in range(8):
                if len(out) >= n:
                    break
                if flags >> i & 1:
                    dist = int.from_bytes(blob[pos : pos + 2], "little") + 1
                    length = blob[pos + 2] + MIN_MATCH
                    pos += 3
                    if dist > len(out):
                        raise ValueError("LZ77 stream points before its start; it is corrupted")
                    for _ in range(length):  # byte by byte: a match may overlap itself
                        out.append(out[-dist])
                else:
                    out.append(blob[pos])
                    pos += 1
    except IndexError as err:
        raise ValueError("LZ77 stream is truncated") from err
    return bytes(out[:n])

"""The standard compressors on the same bytes: the bar a model has to clear.

Each runs at its strongest setting: gzip -9 (DEFLATE: LZ77 + Huffman, Deutsch,
1996), bz2 -9 (Burrows–Wheeler block sorting, Burrows & Wheeler, 1994), xz -9e
(LZMA with extreme search) and zstd -19 (the ``zstandard`` package).

A pre-trained model has seen its training text; a fair comparison lets the
classic compressors see it too:

* gzip: the last 32 KB of the training text as a preset dictionary (DEFLATE's
  window is 32 KB, so more would not be used);
* bz2 and xz: size(train + held-out) − size(train), the cost of the held-out
  bytes given that the coder has already streamed through the training text;
* zstd: a dictionary trained on the training split (``zstd --train``), the
  tool zstd offers for exactly this.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import time
import zlib
from dataclasses import dataclass

import zstandard

ZSTD_DICT_SIZE_BYTES = 112_640
"""zstd's default dictionary size (110 KiB)."""


@dataclass(frozen=True)
class BaselineResult:
    """One standard compressor on one held-out text."""

    name: str
    size_bytes: int
    bits_per_byte: float
    wall_s: float
    given_train: bool


def _xz(data: bytes) -> int:
    return len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))


def _bz2(data: bytes) -> int:
    return len(bz2.compress(data, 9))


def _gzip(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def _zstd(data: bytes) -> int:
    return len(zstandard.ZstdCompressor(level=19).compress(data))


def _gzip_given(train: bytes, data: bytes) -> int:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=train[-32768:])
    # raw DEFLATE plus gzip's 18 bytes of header and trailer, to compare like with like
    return len(comp.compress(data) + comp.flush()) + 18


def _zstd_given(train: bytes, data: bytes) -> int:
    chunk = 4096
    samples = [train[i : i + chunk] for i in range(0, len(train), chunk)]
    size = min(ZSTD_DICT_SIZE_BYTES, max(1024, len(train) // 4))
    try:
        dictionary = zstandard.train_dictionary(size, samples, level=19)
    except zstandard.ZstdError:  # too little training text to learn a dictionary
        return _zstd(data)
    return len(zstandard.ZstdCompressor(level=19, dict_data=dictionary).compress(data))


def _difference(size, train: bytes, data: bytes) -> int:
    return size(train + data) - size(train)


SELF_CONTAINED = {"gzip -9": _gzip, "bz2 -9": _bz2, "xz -9e": _xz, "zstd -19": _zstd}
GIVEN_TRAIN = {
    "gzip -9 +train": _gzip_given,
    "bz2 -9 +train": lambda t, d: _difference(_bz2, t, d),
    "xz -9e +train": lambda t, d: _difference(_xz, t, d),
    "zstd -19 +dict": _zstd_given,
}


def run_baselines(held_out: bytes, train: bytes | None = None) -> list[BaselineResult]:
    """Every baseline on ``held_out``; with ``train``, the given-the-training-text variants too."""
    if not held_out:
        raise ValueError("held_out is empty; bits per byte of nothing is undefined")
    results = []
    n = len(held_out)
    for name, size in SELF_CONTAINED.items():
        t0 = time.perf_counter()
        size_bytes = size(held_out)
        results.append(
            BaselineResult(name, size_bytes, 8 * size_bytes / n, time.perf_counter() - t0, False)
        )
    if train:
        for name, size in GIVEN_TRAIN.items():
            t0 = time.perf_counter()
            size_bytes = size(train, held_out)
            results.append(
                BaselineResult(name, size_bytes, 8 * size_bytes / n, time.perf_counter() - t0, True)
            )
    return results


def baseline_sizes(held_out: bytes, train: bytes | None = None) -> dict[str, float]:
    """Bits per byte of each baseline on ``held_out`` (named by the issue: a size per byte).

    Keys: ``gzip -9``, ``bz2 -9``, ``xz -9e``, ``zstd -19`` and, when ``train`` is
    given, ``gzip -9 +train``, ``bz2 -9 +train``, ``xz -9e +train``, ``zstd -19 +dict``.
    """
    return {r.name: r.bits_per_byte for r in run_baselines(held_out, train)}

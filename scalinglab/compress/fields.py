"""Header fields checked by type and range before a decoder believes them.

An archive's checksums prove that its header is the one that was written, not
that it was written by us: a header crafted with valid checksums could ask the
decoder for a 10^10-byte buffer or a billion-parameter model. Every field a
decoder reads goes through one of these checks first, and a bad one is refused
with one line that names it.
"""

from __future__ import annotations

import math


def _refuse(name: str, expected: str, value: object) -> ValueError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ValueError(
        f"corrupted archive: header field '{name}' must be {expected}, got {shown}"
    )


def int_field(spec: dict, key: str, low: int, high: int, *, where: str = "") -> int:
    """``spec[key]`` as an int in [low, high] (a bool is not an int here)."""
    name = f"{where}{key}"
    if key not in spec:
        raise ValueError(f"corrupted archive: header field '{name}' is missing")
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse(name, f"an integer in [{low}, {high}]", value)
    return value


def float_field(spec: dict, key: str, low: float, high: float, *, where: str = "") -> float:
    """``spec[key]`` as a finite number in (low, high]."""
    name = f"{where}{key}"
    if key not in spec:
        raise ValueError(f"corrupted archive: header field '{name}' is missing")
    value = spec[key]
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or not low < value <= high):
        raise _refuse(name, f"a number in ({low}, {high}]", value)
    return float(value)


def str_field(spec: dict, key: str, *, where: str = "", max_len: int = 200) -> str:
    """``spec[key]`` as a string of at most ``max_len`` characters."""
    name = f"{where}{key}"
    if key not in spec:
        raise ValueError(f"corrupted archive: header field '{name}' is missing")
    value = spec[key]
    if not isinstance(value, str) or len(value) > max_len:
        raise _refuse(name, f"a string of at most {max_len} characters", value)
    return value


def dict_field(spec: dict, key: str, *, where: str = "") -> dict:
    """``spec[key]`` as a JSON object."""
    name = f"{where}{key}"
    if key not in spec:
        raise ValueError(f"corrupted archive: header field '{name}' is missing")
    value = spec[key]
    if not isinstance(value, dict):
        raise _refuse(name, "an object", value)
    return value


def sha256_field(spec: dict, key: str, *, where: str = "") -> str:
    """``spec[key]`` as 64 lowercase hex digits."""
    value = str_field(spec, key, where=where, max_len=64)
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise _refuse(f"{where}{key}", "a SHA-256 digest (64 hex digits)", value)
    return value

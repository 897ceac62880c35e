"""Input validation shared by every fit: bad numbers are named, never fitted.

A power law is fitted in log space, so every x and y must be finite and
positive; a NaN that slipped through would turn into a silently wrong exponent.
Each check names the offending indices so the reader can find the run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_MAX_NAMED = 5


def _describe(value: float) -> str:
    if np.isnan(value):
        return "NaN"
    if np.isinf(value):
        return "infinite"
    if value == 0:
        return "zero"
    return "negative"


def positive_array(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """Return `values` as a 1-D float array, or raise naming each bad index."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a sequence of numbers ({err})") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got an array of shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr <= 0))
    if bad.size:
        named = ", ".join(
            f"{name}[{i}] = {float(arr[i])!r} ({_describe(arr[i])})" for i in bad[:_MAX_NAMED]
        )
        more = f" and {bad.size - _MAX_NAMED} more" if bad.size > _MAX_NAMED else ""
        raise ValueError(
            f"{named}{more}: every {name} value must be finite and positive "
            "(the fit works in log space); fix or drop those points"
        )
    return arr


def same_length(**arrays: np.ndarray) -> int:
    """Check that the named arrays describe the same points; return their length."""
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"the inputs must have one value per point, but {listed}")
    return next(iter(lengths.values()))


def enough_points(n_points: int, n_parameters: int, what: str) -> None:
    """A fit with fewer points than parameters has no unique answer: refuse it."""
    if n_points < n_parameters:
        raise ValueError(
            f"{what} has {n_parameters} free parameters but only {n_points} points; "
            f"give it at least {n_parameters} points (more, for an interval)"
        )


def enough_distinct(values: np.ndarray, needed: int, name: str, what: str) -> None:
    """Repeated x values do not pin down a slope: count the distinct ones."""
    distinct = np.unique(values).size
    if distinct < needed:
        raise ValueError(
            f"{what} needs at least {needed} distinct {name} values, but the points "
            f"hold only {distinct}; add points at other {name} values"
        )


def above_floor(y: np.ndarray, floor: float, name: str = "y") -> None:
    """With E fixed, log(y − E) must exist: every y must lie above the floor."""
    bad = np.flatnonzero(y <= floor)
    if bad.size:
        named = ", ".join(f"{name}[{i}] = {float(y[i])!r}" for i in bad[:_MAX_NAMED])
        more = f" and {bad.size - _MAX_NAMED} more" if bad.size > _MAX_NAMED else ""
        raise ValueError(
            f"{named}{more} not above the fixed floor E = {floor!r}; y = E + A·x^(−α) needs "
            "y > E everywhere: check the floor (a wrong entropy?) or leave E free (E=None)"
        )


def finite_number(value: float, name: str) -> float:
    """A scalar option (a floor, a level) must be a finite number."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if not np.isfinite(out):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return out


def confidence_level(level: float) -> float:
    """Interval levels live strictly between 0 and 1 (0.95, not 95)."""
    level = finite_number(level, "level")
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1 (e.g. 0.95); got {level!r}")
    return level


def scale_values(values: float | Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """A number or a 1-D sequence of them, checked as by :func:`positive_array`."""
    return positive_array(np.atleast_1d(np.asarray(values, dtype=float)), name)


def like_input(result: np.ndarray, *inputs: object) -> float | np.ndarray:
    """Numbers in, a number out; any sequence in, an array out (what a notebook expects)."""
    if all(np.ndim(value) == 0 for value in inputs):
        return float(result[0])
    return result

"""What every fit checks, how it runs, and how it reports: none of it computes a fit.

Three small parts, shared by all the fitters (the arithmetic is in ``_numerics``):

**Input checks** (before a fit: :func:`positive_array`, :func:`same_length`,
:func:`enough_points`...). Bad numbers are named, never fitted. A power law is fitted in
log space, so every x and y must be finite and positive; a NaN that slipped through
would turn into a silently wrong exponent. Each check names the offending indices so the
reader can find the run.

**One BLAS thread** (during a fit: :func:`single_threaded`). A fit is thousands of tiny
solves: scipy's L-BFGS-B calls BLAS and LAPACK on 5×5 problems at every step. OpenBLAS
hands each call to all its threads, and on a busy machine (a 2-core CI runner running
two test workers, a laptop with a notebook training in the background) waking them
costs far more than the arithmetic: a Chinchilla fit that takes 0.1 s on one thread
took 10 s on two contended ones. So the fits pin the OpenBLAS copies that numpy and
scipy load to one thread for their duration and restore the previous count afterwards.
It works where the libraries can be found by name (Linux wheels); elsewhere it does
nothing. It is applied in exactly these places, each as the ``@single_threaded``
decorator on the public entry point, so whatever a notebook calls runs pinned:

* the fitters ``fit_power_law``, ``fit_kaplan_n``, ``fit_kaplan_d``, ``fit_kaplan_nd``,
  ``fit_chinchilla`` and ``fit_isoflop``;
* the ``ci()`` methods that refit resamples: ``PowerLawFit.ci``, ``KaplanFit.ci`` and
  ``ChinchillaFit.ci`` (``IsoFLOPFit.ci`` is a closed-form t interval and needs no pin).

Nested pinned calls are harmless: each restores the count it found. A new fitter
should carry the decorator too (and be added to this list).

**Reports** (after a fit: :func:`parameter_table`, :func:`interval_verdict`). The
plain-text table a notebook prints under a fit, and the "not determined" verdict: a fit
whose points cannot pin its exponent (too few, or an interval spanning more than a
factor of 3) says so in its summary and raises an :class:`UndeterminedWarning` that
names the fix; :func:`interval_verdict` turns an interval into the sentence a chapter
prints when it compares a fitted exponent with published ones.
"""

from __future__ import annotations

import ctypes
import functools
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:  # only named in annotations; _numerics imports this module
    from scalinglab.fit._numerics import Intervals


# --- Input checks: bad numbers are named, never fitted ---

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


# --- One BLAS thread while fitting ---

_SYMBOLS = ("openblas", "scipy_openblas")
_SUFFIXES = ("", "64_")

F = TypeVar("F", bound=Callable)


@functools.cache
def _controls() -> tuple[tuple[Callable[[], int], Callable[[int], None]], ...]:
    """(get, set) thread-count functions of each OpenBLAS loaded in this process."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    except OSError:
        return ()
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _SYMBOLS:
            for suffix in _SUFFIXES:
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype = ctypes.c_int
                    put.argtypes = [ctypes.c_int]
                    found.append((get, put))
    return tuple(found)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    controls = _controls()
    before = [get() for get, _ in controls]
    try:
        for _, put in controls:
            put(1)
        yield
    finally:
        for (_, put), count in zip(controls, before, strict=True):
            put(count)


def single_threaded(function: F) -> F:
    """Run `function` with one BLAS thread (see the module's docstring)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --- Reports: tables under a fit, and the "not determined" verdict ---

def number(value: float) -> str:
    return f"{value:.4g}"


def parameter_table(
    rows: Sequence[tuple[str, float]],
    intervals: Intervals | None,
    *,
    fixed: Sequence[str] = (),
    missing: str = "",
    resampling: str = "points",
) -> list[str]:
    """One line per parameter: name, estimate, interval (or 'fixed')."""
    level = f"{intervals.level:.0%} interval" if intervals else "interval"
    lines = [f"  {'parameter':<10} {'estimate':>12}   {level}"]
    for name, value in rows:
        if name in fixed:
            bound = "fixed"
        elif intervals is not None and name in intervals.bounds:
            lo, hi = intervals.bounds[name]
            bound = f"[{number(lo)}, {number(hi)}]"
        else:
            bound = "—"
        lines.append(f"  {name:<10} {number(value):>12}   {bound}")
    if intervals is not None and intervals.note:
        lines.append(f"  ({intervals.note})")
    elif intervals is not None:
        dropped = f", {intervals.n_failed} failed refits dropped" if intervals.n_failed else ""
        lines.append(
            f"  ({intervals.method} bootstrap over {resampling}: {intervals.n_boot} resamples, "
            f"seed {intervals.seed}{dropped})"
        )
    elif missing:
        lines.append(f"  (no interval: {missing})")
    return lines


def try_intervals(compute: Callable[[], Intervals]) -> tuple[Intervals | None, str]:
    """Intervals for a summary, or the reason there are none (too few points)."""
    try:
        return compute(), ""
    except ValueError as err:
        return None, str(err)


class UndeterminedWarning(UserWarning):
    """A fit whose data cannot pin its exponent: too few points, or too wide an interval."""


# An exponent whose interval spans more than this factor (or reaches zero) is not measured.
UNDETERMINED_FACTOR = 3.0


def undetermined_reason(name: str, interval: tuple[float, float] | None, n_points: int,
                        n_params: int, points: str = "points") -> str:
    """Why the data do not determine exponent ``name``, or "" when they do.

    Two rules (chapter 4): fewer than ``n_params + 2`` points leave too few degrees of
    freedom to judge the scatter; an interval that crosses zero or spans more than a
    factor of 3 says the exponent could be almost anything.
    """
    if n_points < n_params + 2:
        return (f"{n_points} {points} for {n_params} parameters; at least {n_params + 2} are "
                "needed to see the scatter")
    if interval is None:
        return "no interval could be computed"
    low, high = interval
    if not (low * high > 0 and abs(high) / abs(low) <= UNDETERMINED_FACTOR
            and abs(low) / abs(high) <= UNDETERMINED_FACTOR):
        return (f"its interval [{number(low)}, {number(high)}] "
                + ("includes zero" if low * high <= 0
                   else f"spans more than a factor of {UNDETERMINED_FACTOR:g}"))
    return ""


def undetermined_lines(name: str, reason: str, fix: str) -> list[str]:
    """The summary's verdict on an exponent, with a warning that names the fix."""
    if not reason:
        return []
    warnings.warn(f"{name} is not determined by these data ({reason}): {fix}",
                  UndeterminedWarning, stacklevel=3)
    return [f"  {name} is NOT DETERMINED by these data: {reason}.", f"  Fix: {fix}."]


def interval_verdict(name: str, estimate: float, interval: tuple[float, float],
                     undetermined: str, candidates: dict[str, float]) -> str:
    """One sentence on what an interval can say about named values (Markdown).

    Chapters compare a fitted exponent with published ones only when the interval can
    tell them apart: an undetermined fit says so and compares nothing; otherwise the
    sentence names the candidates the interval holds and those it excludes.
    """
    low, high = interval
    head = f"On these runs {name} = {estimate:.2f} with a 95 % interval of [{low:.2f}, {high:.2f}]"
    if undetermined:
        return (f"{head}: **not determined** ({undetermined}). No comparison with "
                + " or ".join(f"{who}'s {value:g}" for who, value in candidates.items())
                + " can be drawn from it.")
    held = [f"{who}'s {value:g}" for who, value in candidates.items() if low <= value <= high]
    out = [f"{who}'s {value:g}" for who, value in candidates.items()
           if not low <= value <= high]
    if held and out:
        return f"{head}: it holds {' and '.join(held)} and excludes {' and '.join(out)}."
    if held:
        return f"{head}: it holds {' and '.join(held)} alike, so it cannot tell them apart."
    return f"{head}: it excludes {' and '.join(out)}."

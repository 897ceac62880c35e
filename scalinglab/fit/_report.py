"""Plain-text tables for fit results: what a notebook prints under a fit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scalinglab.fit.bootstrap import Intervals


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
    import warnings

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

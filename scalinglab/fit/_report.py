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
    if intervals is not None:
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

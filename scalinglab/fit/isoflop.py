"""IsoFLOP profiles: Chinchilla's approach 2 (chapter 8, "Compute-optimal training").

Hoffmann et al. (2022, §3.2) train several model sizes at each fixed compute
budget, fit a parabola to loss against log N through each budget's runs, and
read off its minimum N_opt. Power laws through the minima, N_opt ∝ C^a and
D_opt ∝ C^b, give the compute-optimal allocation without fitting the full
loss surface. :func:`fit_isoflop` does the same with run records from a sweep.

Intervals on a and b. Each budget's optimum is uncertain for two reasons: the
noise of its runs (which moves the parabola's vertex), and differences between
budgets that no resampling of runs can see (learning rates tuned a little
better at one budget, a luckier seed, a lopsided curve): in practice the optima
scatter about their line more than their own runs suggest. Both show up in the
one place that matters, the residuals of the optima about the fitted line, so
the interval is the textbook t interval of a regression slope through the k
optima, with k − 2 degrees of freedom. It is wide with few budgets, as it
should be: with three, t₀.₉₇₅ = 12.7. Simulated IsoFLOP studies from
Chinchilla's law, with 0.2–1 % noise on each loss and each budget's optimum
moved off the line by a random factor (σ = 0 to 0.3 in ln N), 3–5 budgets and
200 studies each, put the 95 % interval around the true a in 93–97.5 % of them
(tests/test_fit_isoflop.py); a bootstrap of the runs within each budget, which
this replaces, covered 20–76 % as soon as the optima scattered at all.

Known bias. A parabola in log N is only the second-order Taylor expansion of
the true IsoFLOP curve, L(u) = E + A·e^(−αu) + B·(C/6)^(−β)·e^(βu) with
u = log N, which is lopsided whenever α ≠ β (and for any real curve far from
its minimum). Fitted over a window, the parabola's vertex moves toward the
side where the curve rises more slowly, and the more so the wider the window
and the further its centre lies from the true minimum. If the windows sit in
the same place relative to the optimum at every budget the shift is a
constant factor and a is unharmed; but a ladder of model sizes that does not
follow the optimum (the same sizes at every budget, say) is off-centre by a
different amount at each budget, and then the fitted exponent is biased, not
just noisy. The intervals measure scatter only, never this bias. Centre
each budget's sizes on its expected optimum, keep the window to about a
decade or two, and heed the edge warnings (a minimum at the edge of its grid
is an extrapolation). The tests show the bias on points generated from
Chinchilla's own law.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from scalinglab.fit import _checks
from scalinglab.fit._checks import (
    number,
    parameter_table,
    single_threaded,
    try_intervals,
    undetermined_lines,
    undetermined_reason,
)
from scalinglab.fit._numerics import Intervals, fit_lines


class IsoFLOPEdgeWarning(RuntimeWarning):
    """A budget's loss minimum lies at (or beyond) the edge of its grid of model sizes."""


@dataclass(frozen=True, eq=False)
class IsoFLOPProfile:
    """One compute budget: its runs, its parabola and the parabola's minimum.

    The parabola is loss ≈ c0 + c1·u + c2·u² with u = ln(N) − `log_n_centre`.
    """

    flops_budget: float
    n_params: np.ndarray = field(repr=False)
    tokens: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    coefficients: tuple[float, float, float]
    log_n_centre: float
    n_opt: float
    d_opt: float
    loss_opt: float
    has_minimum: bool
    at_edge: bool

    def predict(self, n_params: float | np.ndarray) -> float | np.ndarray:
        """The parabola's loss at `n_params` (for drawing it through the runs)."""
        u = np.log(_checks.scale_values(n_params, "n_params")) - self.log_n_centre
        c0, c1, c2 = self.coefficients
        return _checks.like_input(c0 + c1 * u + c2 * u * u, n_params)


@dataclass(frozen=True, eq=False)
class IsoFLOPFit:
    """Approach 2's result: per-budget profiles and N_opt ∝ C^a, D_opt ∝ C^b."""

    profiles: tuple[IsoFLOPProfile, ...]
    a: float
    b: float
    n_coefficient: float
    d_coefficient: float
    n_points: int
    n_key: str
    loss_key: str
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def used(self) -> tuple[IsoFLOPProfile, ...]:
        """The profiles the exponents rest on (those whose parabola has a minimum)."""
        return tuple(p for p in self.profiles if p.has_minimum)

    def predict_n_opt(self, C: float | np.ndarray) -> float | np.ndarray:
        """Compute-optimal parameters at C FLOPs, from the fitted power law."""
        return _checks.like_input(self.n_coefficient * _checks.scale_values(C, "C") ** self.a, C)

    def predict_d_opt(self, C: float | np.ndarray) -> float | np.ndarray:
        """Compute-optimal tokens at C FLOPs, from the fitted power law."""
        return _checks.like_input(self.d_coefficient * _checks.scale_values(C, "C") ** self.b, C)

    def tokens_per_param(self, C: float | np.ndarray) -> float | np.ndarray:
        return self.predict_d_opt(C) / self.predict_n_opt(C)

    def ci(self, level: float = 0.95) -> Intervals:
        """t intervals for a and b from the scatter of the optima about their lines.

        Needs 3 or more budgets with a minimum (one degree of freedom); see the
        module's docstring for why this interval, and how well it covers.
        """
        level = _checks.confidence_level(level)
        if level not in self._cache:
            self._cache[level] = self._t_intervals(level)
        return self._cache[level]

    def _t_intervals(self, level: float) -> Intervals:
        used = self.used
        k = len(used)
        if k < 3:
            raise ValueError(
                f"{k} budgets with a minimum leave no degree of freedom for the scatter of "
                "the optima about their line; an interval needs 3 or more budgets"
            )
        log_c = np.log([p.flops_budget for p in used])
        t = float(stats.t.ppf(0.5 + level / 2, k - 2))
        bounds = {}
        for name, optima in (("a", [p.n_opt for p in used]), ("b", [p.d_opt for p in used])):
            slope, se = slope_and_standard_error(log_c, np.log(optima))
            bounds[name] = (slope - t * se, slope + t * se)
        note = f"t interval over the {k} optima, {k - 2} degree{'s' if k > 3 else ''} of freedom"
        return Intervals(level, "t", 0, 0, bounds, note=note)

    @property
    def undetermined(self) -> str:
        """Why these budgets do not pin a (an empty string when they do)."""
        intervals, _ = try_intervals(lambda: self.ci())
        return undetermined_reason("a", intervals["a"] if intervals else None,
                                   len(self.used), 2, "budgets")

    @property
    def determined(self) -> bool:
        return not self.undetermined

    def summary(self, level: float = 0.95) -> str:
        """Per-budget minima, then the exponents with their intervals."""
        intervals, why = try_intervals(lambda: self.ci(level))
        lines = [
            "IsoFLOP profiles (fit_isoflop, Hoffmann et al. 2022 approach 2)",
            f"  {self.n_points} runs in {len(self.profiles)} budgets; parabola in ln "
            f"{self.n_key} through {self.loss_key}",
            f"  {'budget FLOPs':>12} {'runs':>5} {'N_opt':>10} {'D_opt':>10} {'D/N':>7}"
            f" {'loss_opt':>9}  note",
        ]
        for p in self.profiles:
            note = "no minimum (not used)" if not p.has_minimum else (
                "minimum at grid edge" if p.at_edge else "")
            lines.append(
                f"  {p.flops_budget:>12.3g} {p.n_params.size:>5} {number(p.n_opt):>10} "
                f"{number(p.d_opt):>10} {number(p.d_opt / p.n_opt):>7} "
                f"{number(p.loss_opt):>9}  {note}"
            )
        lines += parameter_table([("a", self.a), ("b", self.b)], intervals, missing=why)
        lines.append("  (N_opt ∝ C^a, D_opt ∝ C^b)")
        lines += undetermined_lines(
            "the exponent a", self.undetermined,
            "train more budgets (5 or more over 2 decades of compute), each centred on its "
            "optimum")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def slope_and_standard_error(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of y on x and its standard error from the residuals."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx = x - x.mean()
    slope = float((dx * (y - y.mean())).sum() / (dx * dx).sum())
    residuals = y - y.mean() - slope * dx
    dof = x.size - 2
    se = float(np.sqrt((residuals @ residuals) / dof / (dx * dx).sum())) if dof > 0 else np.nan
    return slope, se


# Runs without a nominal budget are grouped when their FLOPs agree within this factor.
FLOPS_GROUP_TOLERANCE = 1.05


def _budget_keys(records: list[Mapping]) -> list[float]:
    """Each record's compute budget: ``flops_budget``, else its cluster of ``flops``.

    Rounding ``flops`` to two significant figures alone would split runs that
    straddle a rounding boundary (0.99e18 and 1.01e18); so runs whose FLOPs
    agree within 5 % form one group, named by its median rounded to 2 figures.
    """
    keys: list[float | None] = []
    loose: list[tuple[float, int]] = []
    for row, record in enumerate(records):
        budget = record.get("flops_budget")
        if budget is not None:
            keys.append(_checks.finite_number(budget, f"record {row} flops_budget"))
            continue
        flops = record.get("flops")
        if flops is None:
            raise ValueError(
                f"record {row} has neither 'flops_budget' nor 'flops'; an IsoFLOP fit groups "
                "runs by compute budget"
            )
        flops = _checks.finite_number(flops, f"record {row} flops")
        if flops <= 0:
            raise ValueError(f"record {row} has flops = {flops!r}; it must be positive")
        keys.append(None)
        loose.append((flops, row))
    loose.sort()
    group: list[tuple[float, int]] = []
    for position, (flops, row) in enumerate(loose):
        group.append((flops, row))
        last = position == len(loose) - 1
        if last or loose[position + 1][0] > flops * FLOPS_GROUP_TOLERANCE:
            name = float(f"{np.median([f for f, _ in group]):.1e}")
            for _, member in group:
                keys[member] = name
            group = []
    return keys  # type: ignore[return-value]


def _profile(budget: float, n_params: np.ndarray, tokens: np.ndarray, loss: np.ndarray
             ) -> IsoFLOPProfile:
    order = np.argsort(n_params, kind="stable")
    n_params, tokens, loss = n_params[order], tokens[order], loss[order]
    u = np.log(n_params)
    centre = float(u.mean())
    z = u - centre
    c2, c1, c0 = np.polyfit(z, loss, 2)
    has_minimum = bool(c2 > 0)
    z_opt = -c1 / (2 * c2) if has_minimum else float(z[np.argmin(loss)])
    line = fit_lines(u, np.log(tokens), loss="squares")
    log_n_opt = centre + z_opt
    log_d_opt = float(line.intercept[0] + line.slope[0] * log_n_opt)
    outside = not (u[0] <= log_n_opt <= u[-1])
    best_at_end = int(np.argmin(loss)) in (0, loss.size - 1)
    return IsoFLOPProfile(
        flops_budget=budget, n_params=n_params, tokens=tokens, loss=loss,
        coefficients=(float(c0), float(c1), float(c2)), log_n_centre=centre,
        n_opt=float(np.exp(log_n_opt)), d_opt=float(np.exp(log_d_opt)),
        loss_opt=float(c0 + c1 * z_opt + c2 * z_opt**2), has_minimum=has_minimum,
        at_edge=outside or best_at_end,
    )


@single_threaded
def fit_isoflop(
    records: Iterable[Mapping],
    *,
    n_key: str = "n_params",
    loss_key: str = "val_bpb",
) -> IsoFLOPFit:
    """Chinchilla's approach 2 on run records (chapter 8).

    Parameters
    ----------
    records : run records (dicts) with `n_key`, ``tokens``, `loss_key` and
        ``flops_budget``, the group key; records without it are grouped by
        ``flops`` (runs within 5 % of each other form one budget, named by
        their median to two significant figures).
    n_key : ``"n_params"`` (total, as Hoffmann et al.) or
        ``"n_params_non_embedding"`` (as Kaplan et al. 2020; chapter 8 shows
        the choice moves the exponent, Pearce & Song 2024).
    loss_key : the column fitted, bits per byte on validation by default.

    Each budget needs runs at 3 or more model sizes; the exponents need 3 or
    more budgets for an interval and 4 or more to be determined. A
    budget whose parabola opens downward has no minimum: it is reported and
    left out of the exponents. A minimum at the edge of its grid raises an
    :class:`IsoFLOPEdgeWarning`. D_opt is read at N_opt from the budget's own
    runs (ln tokens is a straight line in ln N along an IsoFLOP), so it
    respects however the sweep counted FLOPs.
    """
    records = list(records)
    groups: dict[float, list[tuple[float, float, float]]] = {}
    n_points = 0
    for row, record in enumerate(records):
        for key in (n_key, "tokens", loss_key):
            if record.get(key) is None:
                raise ValueError(
                    f"record {row} has no {key!r}; every IsoFLOP record needs {n_key!r}, "
                    f"'tokens' and {loss_key!r} (found: {', '.join(sorted(record))})"
                )
            value = _checks.finite_number(record[key], f"record {row} {key}")
            if value <= 0:
                raise ValueError(f"record {row} has {key} = {value!r}; it must be positive")
        n_points += 1
    if n_points == 0:
        raise ValueError("no run records to fit; an IsoFLOP fit needs runs at 2 or more budgets")
    for record, budget in zip(records, _budget_keys(records), strict=True):
        values = tuple(float(record[key]) for key in (n_key, "tokens", loss_key))
        groups.setdefault(budget, []).append(values)
    profiles = []
    for budget in sorted(groups):
        n, d, loss = (np.array(col) for col in zip(*groups[budget], strict=True))
        if np.unique(n).size < 3:
            warnings.warn(
                f"budget {budget:.3g} FLOPs has runs at {np.unique(n).size} model size(s); a "
                "parabola needs 3 or more, so this budget is skipped",
                RuntimeWarning,
                stacklevel=3,
            )
            continue
        profiles.append(_profile(budget, n, d, loss))
    for p in profiles:
        if not p.has_minimum:
            warnings.warn(
                f"budget {p.flops_budget:.3g} FLOPs: the parabola opens downward (no minimum); "
                "left out of the exponents: its sizes do not bracket the optimum",
                IsoFLOPEdgeWarning,
                stacklevel=3,
            )
        elif p.at_edge:
            side = "larger" if p.n_opt >= np.sqrt(p.n_params[0] * p.n_params[-1]) else "smaller"
            warnings.warn(
                f"budget {p.flops_budget:.3g} FLOPs: the loss minimum lies at the edge of its "
                f"grid (N_opt ≈ {p.n_opt:.3g}, sizes {p.n_params[0]:.3g}–{p.n_params[-1]:.3g}); "
                f"the parabola extrapolates: add {side} models at this budget",
                IsoFLOPEdgeWarning,
                stacklevel=3,
            )
    used = [p for p in profiles if p.has_minimum]
    if len(used) < 2:
        raise ValueError(
            f"an IsoFLOP fit needs 2 or more budgets with a loss minimum; found {len(used)} "
            f"(of {len(groups)} budgets in the records)"
        )
    log_c = np.log([p.flops_budget for p in used])
    n_line = fit_lines(log_c, np.log([p.n_opt for p in used]), loss="squares")
    d_line = fit_lines(log_c, np.log([p.d_opt for p in used]), loss="squares")
    return IsoFLOPFit(
        profiles=tuple(profiles), a=float(n_line.slope[0]), b=float(d_line.slope[0]),
        n_coefficient=float(np.exp(n_line.intercept[0])),
        d_coefficient=float(np.exp(d_line.intercept[0])), n_points=n_points, n_key=n_key,
        loss_key=loss_key,
    )

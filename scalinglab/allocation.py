"""Compute-optimal allocation: how to split a FLOP budget between N and D (chapter 8).

Training a transformer with N parameters on D tokens costs C ≈ 6·N·D FLOPs
(Kaplan et al. 2020, §2.1: 2 per parameter per token forward, 4 backward). A
fitted law says which split of a budget C gives the lowest loss:

* a Chinchilla law L = E + A/N^α + B/D^β (:class:`scalinglab.fit.ChinchillaLaw`,
  approach 3) in closed form, N_opt = G·(C/6)^a with a = β/(α+β); its own
  ``optimal_allocation`` does the algebra, this module only calls it;
* IsoFLOP minima (:func:`scalinglab.fit.fit_isoflop`, approach 2): the power
  laws N_opt ∝ C^a and D_opt ∝ C^b through the minima;
* Kaplan et al. (2020, §6.1 and table 6): N_opt ≈ 1.3·10⁹·(C / PF-day)^0.73 non-embedding
  parameters, with D = C / (6N).

:func:`allocation` puts the three behind one call; :func:`counting_shift` refits
the IsoFLOP minima with parameters counted with and without embeddings (the
first of the two reasons Pearce & Song 2024 give for Kaplan's larger exponent);
:func:`allocation_figure` and :func:`allocation_explorer` draw N_opt(C) and
D_opt(C) for the reader's fit beside the published ones.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from scalinglab.fit import CHINCHILLA_PUBLISHED, CHINCHILLA_REPLICATION, fit_isoflop
from scalinglab.fit.chinchilla import FLOPS_PER_PARAM_TOKEN
from scalinglab.plots import PALETTE

PF_DAY_FLOPS = 1e15 * 86400.0  # one petaFLOP/s sustained for a day
# Kaplan et al. (2020), §6.1 and table 6: N_opt(C_min) ≈ 1.3·10⁹ (C_min / PF-day)^0.73,
# non-embedding parameters.
KAPLAN_ALLOCATION = {"coefficient": 1.3e9, "exponent": 0.73}


def kaplan_allocation(C: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan et al.'s (2020) compute-efficient (N, D) at C FLOPs; D = C / (6N)."""
    flops = _positive(C, "C")
    n_opt = KAPLAN_ALLOCATION["coefficient"] * (flops / PF_DAY_FLOPS) ** KAPLAN_ALLOCATION[
        "exponent"]
    return n_opt, flops / (FLOPS_PER_PARAM_TOKEN * n_opt)


def allocation(law, C: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N_opt, D_opt) at C FLOPs from a ChinchillaLaw/Fit, an IsoFLOPFit or ``"kaplan"``."""
    flops = _positive(C, "C")
    if isinstance(law, str):
        if law.lower() != "kaplan":
            raise ValueError(f"unknown allocation {law!r}; pass a fitted law or 'kaplan'")
        return kaplan_allocation(flops)
    if hasattr(law, "optimal_allocation"):
        n_opt, d_opt = law.optimal_allocation(flops)
    elif hasattr(law, "predict_n_opt"):
        n_opt, d_opt = law.predict_n_opt(flops), law.predict_d_opt(flops)
    else:
        raise TypeError(
            f"cannot read an allocation from {type(law).__name__}; pass a ChinchillaLaw, a "
            "ChinchillaFit (fit_chinchilla), an IsoFLOPFit (fit_isoflop) or 'kaplan'"
        )
    return np.asarray(n_opt, dtype=float), np.asarray(d_opt, dtype=float)


def _positive(C, name: str) -> np.ndarray:
    values = np.asarray(C, dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"{name} must be finite and positive; got {C!r}")
    return values


def minima_exponent(fit) -> float:
    """Slope of ln N_opt against ln(6·N_opt·D_opt) through an IsoFLOP fit's minima.

    This is a with compute counted from the same N as the fit (Kaplan et al. count
    non-embedding N, and so C = 6·N·D is not the FLOPs spent).
    """
    used = fit.used
    if len(used) < 2:
        raise ValueError("need the minima of 2 or more budgets")
    n_opt = np.array([p.n_opt for p in used])
    d_opt = np.array([p.d_opt for p in used])
    counted = FLOPS_PER_PARAM_TOKEN * n_opt * d_opt
    return float(np.polyfit(np.log(counted), np.log(n_opt), 1)[0])


@dataclass(frozen=True)
class CountingShift:
    """Approach 2's exponent a under two ways of counting N and two of counting C."""

    rows: tuple[tuple[str, str, float], ...]  # (parameters counted, compute counted, a)

    def __getitem__(self, key: tuple[str, str]) -> float:
        for n_key, c_key, a in self.rows:
            if (n_key, c_key) == key:
                return a
        raise KeyError(key)

    def __str__(self) -> str:
        lines = [f"  {'parameters N counted':<24} {'compute C counted as':<24} {'a':>7}"]
        for n_key, c_key, a in self.rows:
            lines.append(f"  {n_key:<24} {c_key:<24} {a:>7.4f}")
        return "\n".join(["IsoFLOP exponent a (N_opt ∝ C^a) by what is counted"] + lines)


def counting_shift(records: Sequence[Mapping]) -> CountingShift:
    """Refit approach 2 with all parameters and with non-embedding ones, C both ways.

    "budget" is the FLOPs actually spent (the runs' common budget); "6·N·D" is
    the compute counted from the same N as the row, at each budget's optimum.
    """
    rows = []
    for n_key, label in (("n_params", "all"), ("n_params_non_embedding", "non-embedding")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # edge warnings are reported by the caller's fit
            fit = fit_isoflop(records, n_key=n_key)
        rows.append((label, "budget (FLOPs spent)", float(fit.a)))
        rows.append((label, "6·N·D", minima_exponent(fit)))
    return CountingShift(tuple(rows))


def _reference_laws(law, label: str) -> list[tuple[str, object, str, str]]:
    laws = []
    if law is not None:
        laws.append((label, law, PALETTE[0], "-"))
    laws += [
        ("Chinchilla, published", CHINCHILLA_PUBLISHED, PALETTE[1], "-"),
        ("Chinchilla, replication", CHINCHILLA_REPLICATION, PALETTE[2], "--"),
        ("Kaplan, N ∝ C^0.73", "kaplan", PALETTE[3], ":"),
    ]
    return laws


def allocation_figure(
    C: float,
    law=None,
    *,
    label: str = "your fit",
    C_range: tuple[float, float] = (1e9, 1e25),
    measured: tuple[float, float] | None = None,
) -> Figure:
    """N_opt(C) and D_opt(C), log–log, for ``law`` and the published allocations.

    A marker sits at the chosen ``C`` on every curve, and the numbers there are
    printed in the titles. ``measured`` shades the budgets the fit rests on;
    for an IsoFLOPFit it defaults to its smallest and largest budgets.
    """
    C = float(_positive(C, "C"))
    grid = np.logspace(np.log10(C_range[0]), np.log10(C_range[1]), 200)
    if measured is None and hasattr(law, "used"):
        budgets = [p.flops_budget for p in law.used]
        measured = (min(budgets), max(budgets))
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 4.4), layout="constrained")
    notes = []
    for name, item, color, style in _reference_laws(law, label):
        n_grid, d_grid = allocation(item, grid)
        n_at, d_at = (float(v) for v in allocation(item, C))
        axes[0].plot(grid, n_grid, color=color, linestyle=style, label=name)
        axes[1].plot(grid, d_grid, color=color, linestyle=style, label=name)
        axes[0].plot([C], [n_at], "o", color=color)
        axes[1].plot([C], [d_at], "o", color=color)
        notes.append(f"{name}: N = {n_at:.3g}, D = {d_at:.3g}, D/N = {d_at / n_at:.3g}")
    for ax, what in zip(axes, ("compute-optimal parameters N_opt",
                               "compute-optimal tokens D_opt"), strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training compute C (FLOPs)")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.25)
        ax.axvline(C, color="0.5", linewidth=0.8)
        if measured is not None:
            ax.axvspan(*measured, color=PALETTE[0], alpha=0.12, label="budgets fitted")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(f"C = {C:.3g} FLOPs\n" + "\n".join(notes), fontsize=9)
    return fig


def allocation_explorer(
    law=None,
    *,
    label: str = "your fit",
    C_range: tuple[float, float] = (1e9, 1e25),
    step_decades: float = 2.0,
    value: float | None = None,
):
    """A slider over budgets C, ``step_decades`` apart, showing :func:`allocation_figure` at each.

    The figures are drawn ahead (``scalinglab.frames.frame_slider``), so the
    slider moves on the static website too; the readout is log10 C.
    """
    from scalinglab.frames import frame_slider

    if not step_decades > 0:
        raise ValueError(f"step_decades must be positive; got {step_decades!r}")
    low, high = np.log10(C_range[0]), np.log10(C_range[1])
    count = int(round((high - low) / step_decades)) + 1
    exponents = np.linspace(low, high, max(count, 2))
    start = None if value is None else float(np.log10(value))
    return frame_slider(
        lambda e: allocation_figure(10.0**e, law, label=label, C_range=C_range),
        [float(e) for e in exponents], value=start, description="log10 C", readout="{:.1f}",
    )


def near_minimum(records: Sequence[Mapping], decades: float, n_key: str = "n_params",
                 loss_key: str = "val_bpb") -> list[Mapping]:
    """The runs within ``decades`` of each budget's best run in N (a narrower IsoFLOP window).

    A parabola is only the local shape of an IsoFLOP curve; runs far from the
    minimum pull its vertex toward the side where the curve rises more slowly
    (the bias described in :mod:`scalinglab.fit.isoflop`). Refitting on a
    narrower window shows how much the exponent depends on the window.
    """
    if not decades > 0:
        raise ValueError(f"decades must be positive; got {decades!r}")
    groups: dict[float, list[Mapping]] = {}
    for record in records:
        groups.setdefault(float(record["flops_budget"]), []).append(record)
    kept = []
    for budget in sorted(groups):
        runs = groups[budget]
        best = min(runs, key=lambda r: r[loss_key])[n_key]
        kept += [r for r in runs if abs(np.log10(r[n_key] / best)) <= decades + 1e-9]
    return kept


def isoflop_figure(fit, *, label: str = "", floor: float | None = None) -> Figure:
    """Loss against N at each budget: the runs, their parabola and its minimum (approach 2)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ax.set_xscale("log")
    ax.set_xlabel(f"parameters N ({fit.n_key})")
    ax.set_ylabel("validation loss (bits per byte)")
    ax.grid(True, which="both", alpha=0.25)
    for profile, color in zip(fit.profiles, PALETTE * 4, strict=False):
        n = profile.n_params
        grid = np.logspace(np.log10(n.min()) - 0.1, np.log10(n.max()) + 0.1, 100)
        ax.plot(n, profile.loss, "o", color=color,
                label=f"C = {profile.flops_budget:.2g} FLOPs")
        ax.plot(grid, profile.predict(grid), color=color, linewidth=1.0)
        if profile.has_minimum:
            marker = "D" if profile.at_edge else "*"
            ax.plot([profile.n_opt], [profile.loss_opt], marker, color=color, markersize=11,
                    markeredgecolor="black")
    if floor is not None:
        ax.axhline(floor, color="black", linestyle=":", linewidth=1.0,
                   label=f"entropy floor {floor:.3f}")
    losses = np.concatenate([p.loss for p in fit.profiles])
    low = min(losses.min(), floor if floor is not None else losses.min())
    ax.set_ylim(low - 0.05, losses.max() + 0.05)
    ax.set_title(f"IsoFLOP profiles {label}\n(★ minimum inside its grid, ◆ at its edge)",
                 fontsize=10)
    ax.legend(fontsize=8)
    return fig

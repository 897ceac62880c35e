"""Every way of shrinking on one plane, against the models trained directly at each size.

Chapter 11 asks when compressing a large model beats training a small one. Both
kinds of model are points on the plane (size in bytes, validation bits per
byte). A model trained directly is stored in float32, so its size is
``4 × n_params``; a family of them (the book's model-size sweep) draws a curve
on that plane, :class:`DirectCurve`. A compressed model that lands *below* the
curve is better than anything trained directly at its size: its
:meth:`DirectCurve.margin` is positive.

:func:`shrink_all` runs every method of :mod:`scalinglab.shrink` on one trained
model and scores each on the same validation bytes; :func:`quantization_check`
verifies the ``s/2`` rounding bound on every quantized weight of a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from scalinglab.model import GPT
from scalinglab.shrink.common import (
    FLOAT_BYTES,
    ShrunkModel,
    check_gpt,
    model_size_bytes,
    val_bpb,
)
from scalinglab.shrink.lowrank import low_rank
from scalinglab.shrink.prune import prune_magnitude, prune_mlp_units
from scalinglab.shrink.quantize import BITS, quantize


@dataclass
class DirectCurve:
    """Loss against float32 size for models trained directly, one point per size.

    Between the measured sizes :meth:`bpb_at` interpolates ``log(L − E)``
    linearly in ``log size`` (a power law is a straight line there); outside
    them it continues the end segments, so a compressed model smaller than the
    smallest trained one is still judged against the law's trend. ``E`` is the
    entropy floor of the source (0 when unknown).
    """

    names: list[str]
    size_bytes: np.ndarray
    val_bpb: np.ndarray
    floor: float = 0.0
    profile: str = ""

    def bpb_at(self, size_bytes: Any) -> np.ndarray:
        """The loss a directly trained model of ``size_bytes`` would have, on this curve."""
        x = np.log(np.asarray(size_bytes, dtype=float))
        xs, ys = np.log(self.size_bytes), np.log(self.val_bpb - self.floor)
        inside = np.interp(x, xs, ys)
        slope_lo = (ys[1] - ys[0]) / (xs[1] - xs[0])
        slope_hi = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        y = np.where(x < xs[0], ys[0] + slope_lo * (x - xs[0]),
                     np.where(x > xs[-1], ys[-1] + slope_hi * (x - xs[-1]), inside))
        return self.floor + np.exp(y)

    def margin(self, size_bytes: Any, bpb: Any) -> np.ndarray:
        """Curve minus model: positive means the model beats direct training at its size."""
        return self.bpb_at(size_bytes) - np.asarray(bpb, dtype=float)

    def inside(self, size_bytes: Any) -> np.ndarray:
        """Whether ``size_bytes`` lies within the measured sizes (no extrapolation)."""
        s = np.asarray(size_bytes, dtype=float)
        return (s >= self.size_bytes.min()) & (s <= self.size_bytes.max())


def direct_curve(records: list[dict], floor: float | None = None,
                 profile: str = "") -> DirectCurve:
    """The :class:`DirectCurve` of a model-size sweep's records (size = 4 bytes × n_params)."""
    if len(records) < 2:
        raise ValueError("a curve needs at least two trained sizes")
    rows = sorted(records, key=lambda r: r["n_params"])
    if floor is None:
        floor = float(rows[0].get("entropy_floor_bpb") or 0.0)
    sizes = np.array([FLOAT_BYTES * r["n_params"] for r in rows], dtype=float)
    losses = np.array([r["val_bpb"] for r in rows], dtype=float)
    if np.any(losses <= floor):
        raise ValueError("a loss at or below the floor: pass the right floor (or 0)")
    return DirectCurve([r.get("size", f"n={r['n_params']}") for r in rows], sizes, losses,
                       float(floor), profile)


@dataclass
class Row:
    """One point of the plane: how it was made, what it weighs, what it scores."""

    method: str
    size_bytes: int
    val_bpb: float
    shrunk: ShrunkModel | None = field(default=None, repr=False)


def shrink_all(model: GPT, corpus: Any, *, eval_tokens: int = 32_768,
               sparsities: tuple[float, ...] = (0.5, 0.8), mlp_fraction: float = 0.5,
               rank_frac: float = 0.5) -> list[Row]:
    """Score ``model`` and each shrunk copy of it on the same validation bytes.

    Rows, in order: float32, int8, int4, unstructured magnitude pruning (per
    layer) at each of ``sparsities``, ``mlp_fraction`` of the MLP units removed,
    and a truncated SVD at ``rank_frac`` of full rank. No fine-tuning.
    """
    check_gpt(model, "shrink_all")
    made = [quantize(model, 8), quantize(model, 4)]
    made += [prune_magnitude(model, s) for s in sparsities]
    made += [prune_mlp_units(model, mlp_fraction), low_rank(model, rank_frac=rank_frac)]
    names = ["int8", "int4", *(f"prune {s:.0%}" for s in sparsities),
             f"MLP units −{mlp_fraction:.0%}", f"low rank {rank_frac:g}"]
    rows = [Row("float32", model_size_bytes(model), val_bpb(model, corpus,
                                                           eval_tokens=eval_tokens))]
    for name, shrunk in zip(names, made, strict=True):
        rows.append(Row(name, shrunk.size_bytes,
                        val_bpb(shrunk.model, corpus, eval_tokens=eval_tokens), shrunk))
    return rows


def quantization_check(original: GPT, shrunk: ShrunkModel) -> float:
    """The largest ``|W − Ŵ| / (s/2)`` over every quantized weight of ``shrunk``.

    Round-to-nearest with a scale set by each row's largest weight never moves a
    weight by more than half a step, so the result is at most 1 (up to float32
    rounding in ``W/s`` and ``q·s``, a few parts in 10⁷).
    """
    tensors = shrunk.details.get("tensors")
    if not tensors:
        raise ValueError(f"a {shrunk.method!r} model holds no quantized tensors")
    params = dict(original.named_parameters())
    worst = 0.0
    for name, qt in tensors.items():
        w = params[name].detach().float().cpu()
        half_step = qt.scale.float().cpu()[:, None] / 2
        err = (w - qt.dequantize().cpu()).abs()
        worst = max(worst, float((err / half_step).max()))
    shrunk_params = dict(shrunk.model.named_parameters())
    for name, qt in tensors.items():  # the model runs on exactly the dequantized weights
        if not torch.equal(shrunk_params[name].detach().cpu(), qt.dequantize().cpu()):
            raise AssertionError(f"{name} in the shrunk model is not its dequantized tensor")
    return worst


def quantize_per_tensor(model: GPT, bits: int = 8) -> ShrunkModel:
    """Like :func:`scalinglab.shrink.quantize`, but ONE scale per matrix, set by its largest weight.

    The comparison case for per-channel scales: every row shares the step of
    the matrix's largest row, so rows of small weights get few of the levels.
    Scales are kept in float32 (one per matrix; their bytes are negligible).
    """
    import copy
    import math

    from scalinglab.shrink.common import block_linears

    check_gpt(model, "quantize_per_tensor")
    if bits not in BITS:
        raise ValueError(f"bits={bits!r} is not supported; choose 8 or 4")
    q_max = 2 ** (bits - 1) - 1
    shrunk = copy.deepcopy(model)
    quantized, size = 0, 0
    with torch.no_grad():
        for _, layer in block_linears(shrunk):
            w = layer.weight
            scale = float(w.abs().max()) / q_max or 1.0
            w.copy_(torch.clamp(torch.round(w / scale), -q_max, q_max) * scale)
            quantized += w.numel()
            size += math.ceil(w.numel() * bits / 8) + FLOAT_BYTES
    size += (sum(p.numel() for p in shrunk.parameters()) - quantized) * FLOAT_BYTES
    return ShrunkModel(model=shrunk, size_bytes=size, method=f"int{bits} per tensor",
                       details={"bits": bits})


def format_rows(rows: list[Row], curve: DirectCurve | None = None) -> str:
    """A table: method, size (bytes and × of the first row), bits per byte, Δ, and the margin."""
    base = rows[0]
    head = f"{'method':<22s} {'bytes':>9s} {'× size':>7s} {'bpb':>7s} {'Δ bpb':>8s}"
    if curve is not None:
        head += f" {'curve':>7s} {'below?':>7s}"
    lines = [head]
    for r in rows:
        line = (f"{r.method:<22s} {r.size_bytes:9,d} {r.size_bytes / base.size_bytes:7.2f} "
                f"{r.val_bpb:7.4f} {r.val_bpb - base.val_bpb:+8.4f}")
        if curve is not None:
            at = float(curve.bpb_at(r.size_bytes))
            flag = "yes" if at > r.val_bpb else "no"
            if not curve.inside(r.size_bytes):
                flag += "*"
            line += f" {at:7.4f} {flag:>7s}"
        lines.append(line)
    if curve is not None:
        lines.append("curve: directly trained loss at that size; * = outside the trained sizes")
    return "\n".join(lines)


def plot_against_direct(rows: list[Row], curve: DirectCurve, *, floor: float,
                        trained: str = "trained now", also: tuple[str, list[dict]] | None = None):
    """Every shrunk model as a star on the (bytes, bits per byte) plane, over the direct curve.

    A star below the black curve beats training directly at its size. ``also`` adds a
    second directly-trained family, ``(profile, records)``, as grey squares (a larger
    reference sweep beside a smaller one). A star above the plotted range is drawn at its
    top edge, so a badly damaged model does not squash the interesting part.
    Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    from scalinglab.plots import PALETTE

    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    ax.set_xscale("log")
    grid = np.geomspace(min(r.size_bytes for r in rows) / 1.3, curve.size_bytes.max() * 1.3,
                        200)
    ax.plot(grid, curve.bpb_at(grid), color="black", lw=1,
            label=f"trained directly, reference ({curve.profile})")
    ax.plot(curve.size_bytes, curve.val_bpb, "o", color="black")
    if also is not None:
        profile, records = also
        ax.plot(FLOAT_BYTES * np.array([r["n_params"] for r in records]),
                [r["val_bpb"] for r in records], "s--", color="gray", ms=4, lw=0.8,
                label=f"trained directly, reference ({profile})")
    top = curve.val_bpb.max() + 0.15
    for row, color in zip(rows, PALETTE * 2, strict=False):
        ax.plot(row.size_bytes, min(row.val_bpb, top), "*", ms=11, color=color,
                label=f"{row.method} ({trained})")
    ax.axhline(floor, color="gray", linestyle=":", label="entropy floor")
    ax.set_ylim(floor - 0.03, top + 0.03)
    ax.set_xlabel("size of the stored weights (bytes)")
    ax.set_ylabel("validation loss (bits per byte)")
    ax.set_title("Shrunk and distilled models against direct training")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.legend(fontsize=6, loc="upper right")
    return fig

"""A model family as arrays, and the two ways to count its parameters (chapter 6, lab 6).

A sweep returns one record per model. To fit a law in N you want columns:
the non-embedding count N (Kaplan et al. 2020's convention), the total count,
the tokens D, the compute C, the loss in bits per byte and the source's
entropy floor. :func:`family_arrays` makes them.

Kaplan et al. count N without the token and position embeddings: a lookup
table costs no compute per token, and with it left out their loss-against-N
curves for models of different depths fell on one line. In a small model the
embeddings are a large share of the total, and that share falls as the model
grows, so the total count spans fewer decades than the non-embedding count
over the same family. :func:`compare_counting` fits the same losses against
both and reports exponents, intervals and R² in log space side by side.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from scalinglab.fit import fit_power_law
from scalinglab.fit.power_law import PowerLawFit

__all__ = ["Family", "family_arrays", "tokens_per_parameter", "CountingComparison",
           "compare_counting"]


@dataclass(frozen=True)
class Family:
    """One model family's results as columns, in the records' order."""

    sizes: tuple[str, ...]
    d_model: np.ndarray
    n_layer: np.ndarray
    N: np.ndarray            # non-embedding parameters (Kaplan's N)
    N_total: np.ndarray      # every parameter the optimiser updates
    D: np.ndarray            # tokens seen in training
    C: np.ndarray            # training FLOPs
    val_bpb: np.ndarray      # held-out loss, bits per byte
    floor: float | None      # entropy floor in bits per byte, None when unknown (real text)

    @property
    def embedding_share(self) -> np.ndarray:
        """Fraction of each model's parameters that are embeddings."""
        return 1.0 - self.N / self.N_total

    @property
    def tokens_per_parameter(self) -> np.ndarray:
        """D / N for each model (non-embedding N)."""
        return self.D / self.N

    def __len__(self) -> int:
        return len(self.sizes)


def family_arrays(records: list[dict]) -> Family:
    """Turn sweep records into a :class:`Family`, sorted by non-embedding N.

    The floor is the records' ``entropy_floor_bpb`` (the same for all, else an
    error); None when the corpus is real text and no floor is known.
    """
    if not records:
        raise ValueError("no records: run a sweep (scalinglab.sweep.sweep) or load_reference first")
    missing = [k for k in ("n_params", "n_params_non_embedding", "tokens", "val_bpb")
               if k not in records[0]]
    if missing:
        raise ValueError(f"records lack {', '.join(missing)}; pass sweep or reference records")
    records = sorted(records, key=lambda r: r["n_params_non_embedding"])
    floors = {r.get("entropy_floor_bpb") for r in records}
    if len(floors) > 1:
        raise ValueError(f"records mix entropy floors {sorted(map(str, floors))}: "
                         "one family, one corpus, please")
    floor = floors.pop()

    def column(key, default=np.nan):
        return np.array([r.get(key, default) for r in records], dtype=float)

    model = [r.get("model", {}) for r in records]
    return Family(
        sizes=tuple(r.get("size", "") for r in records),
        d_model=np.array([m.get("d_model", 0) for m in model], dtype=int),
        n_layer=np.array([m.get("n_layer", 0) for m in model], dtype=int),
        N=column("n_params_non_embedding"),
        N_total=column("n_params"),
        D=column("tokens"),
        C=column("flops"),
        val_bpb=column("val_bpb"),
        floor=None if floor is None else float(floor),
    )


def tokens_per_parameter(records: list[dict], non_embedding: bool = True) -> np.ndarray:
    """D / N for each record (sorted by size), N non-embedding unless told otherwise."""
    fam = family_arrays(records)
    return fam.D / (fam.N if non_embedding else fam.N_total)


@dataclass(frozen=True)
class CountingComparison:
    """The same losses fitted against non-embedding N and against total N."""

    non_embedding: PowerLawFit
    total: PowerLawFit
    embedding_share: np.ndarray
    method: str | None = None  # bootstrap method for the intervals (None: the fit's default)

    @property
    def alpha_change(self) -> float:
        """α(total) − α(non-embedding)."""
        return self.total.alpha - self.non_embedding.alpha

    @property
    def straighter(self) -> str:
        """Which count gives the higher R² in log space: "non-embedding" or "total"."""
        return "non-embedding" if self.non_embedding.r2_log >= self.total.r2_log else "total"

    def table(self) -> str:
        """Exponent, 95 % interval and R² (log space) for each count."""
        lines = [f"{'count':>14s} {'alpha':>7s} {'95% interval':>18s} {'R² (log)':>9s}"]
        for name, fit in (("non-embedding", self.non_embedding), ("total", self.total)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # few points: said on the page
                low, high = fit.ci(method=self.method).bounds["alpha"]
            lines.append(f"{name:>14s} {fit.alpha:7.3f} [{low:7.3f}, {high:7.3f}] "
                         f"{fit.r2_log:9.4f}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def compare_counting(family: Family | list[dict], E: float | None = 0,
                     method: str | None = None) -> CountingComparison:
    """Fit val_bpb = E + A N^−α with N non-embedding and with N total.

    ``E`` is passed to :func:`scalinglab.fit.fit_power_law`: the entropy floor
    on the synthetic source, 0 for a pure power law on text, None to fit it.
    ``method`` picks the bootstrap for the intervals in :meth:`CountingComparison.table`.
    """
    fam = family if isinstance(family, Family) else family_arrays(family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "only n points": said on the page
        fits = [fit_power_law(n, fam.val_bpb, E=E) for n in (fam.N, fam.N_total)]
    return CountingComparison(fits[0], fits[1], fam.embedding_share, method)

"""Chinchilla's parametric law and its compute-optimal allocation (chapter 8).

Hoffmann et al. (2022, eq. 2) model the loss of a model with N parameters
trained on D tokens as

    L(N, D) = E + A / N^α + B / D^β,

an irreducible loss E plus one power law for the model's limited size and one
for its limited data. Their approach 3 fits it by minimising Huber's loss
(δ = 10⁻³) on log L, written as log L̂ = logsumexp(a − α·log N, b − β·log D, e)
with A = eᵃ, B = eᵇ, E = eᵉ, using L-BFGS from a grid of initial values and
keeping the best start (their appendix D.2). :func:`fit_chinchilla` follows
that recipe; see :mod:`scalinglab.fit._numerics` for how it makes sure the
optimiser has actually converged (Besiroglu et al. 2024 found the published
fit had not).

Under a compute budget C ≈ 6·N·D FLOPs the loss is lowest at

    N_opt = G·(C/6)^a,  D_opt = G⁻¹·(C/6)^b,
    G = (αA / (βB))^(1/(α+β)),  a = β/(α+β),  b = α/(α+β)   (Hoffmann eq. 4).

A caution the book makes in chapter 8: the coefficients printed in Hoffmann
et al. (E 1.69, A 406.4, B 410.7, α 0.34, β 0.28) put the optimum near 70–100
tokens per parameter at 10²³–10²⁴ FLOPs, not the famous 20; the refit of
Besiroglu et al. (2024) to data read off Hoffmann's figures gives ≈ 20, in line
with Hoffmann's approaches 1 and 2. Both sets are here.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from scalinglab.fit import _checks
from scalinglab.fit._checks import (
    number,
    parameter_table,
    single_threaded,
    try_intervals,
    undetermined_lines,
    undetermined_reason,
)
from scalinglab.fit._numerics import (
    Intervals,
    LogModel,
    cached_intervals,
    check_n_boot,
    fit_from_grid,
    percentile_bounds,
    refit_resamples,
    resample_indices,
    warn_failures,
    warn_unconverged,
)

# Hoffmann et al. (2022), appendix D.2: the grid of initial values.
HOFFMANN_GRID = {
    "a": np.arange(0.0, 25.1, 5.0),
    "b": np.arange(0.0, 25.1, 5.0),
    "e": np.arange(-1.0, 1.01, 0.5),
    "alpha": np.arange(0.0, 2.01, 0.5),
    "beta": np.arange(0.0, 2.01, 0.5),
}
FLOPS_PER_PARAM_TOKEN = 6.0  # C ≈ 6·N·D (Kaplan et al. 2020, §2.1)


@dataclass(frozen=True, eq=False)
class ChinchillaLaw:
    """L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, eq. 2)."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def predict(self, N: float | np.ndarray, D: float | np.ndarray) -> float | np.ndarray:
        """Loss at N parameters trained on D tokens (numbers or equal-length sequences)."""
        n, d = _checks.scale_values(N, "N"), _checks.scale_values(D, "D")
        loss = self.E + self.A * n ** (-self.alpha) + self.B * d ** (-self.beta)
        return _checks.like_input(loss, N, D)

    @property
    def a(self) -> float:
        """N_opt ∝ C^a, a = β/(α+β) (Hoffmann et al. 2022, Table 3)."""
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        """D_opt ∝ C^b, b = α/(α+β)."""
        return self.alpha / (self.alpha + self.beta)

    def optimal_allocation(self, C: float | np.ndarray
                           ) -> tuple[float | np.ndarray, float | np.ndarray]:
        """(N_opt, D_opt) minimising L(N, D) subject to 6·N·D = C FLOPs (closed form)."""
        flops = _checks.scale_values(C, "C")
        G = (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))
        n_opt = G * (flops / FLOPS_PER_PARAM_TOKEN) ** self.a
        d_opt = flops / (FLOPS_PER_PARAM_TOKEN * n_opt)
        return _checks.like_input(n_opt, C), _checks.like_input(d_opt, C)

    def tokens_per_param(self, C: float | np.ndarray) -> float | np.ndarray:
        """D_opt / N_opt at compute C: Chinchilla's "20 tokens per parameter"."""
        n_opt, d_opt = self.optimal_allocation(C)
        return d_opt / n_opt


# Hoffmann et al. (2022), eq. 10, as printed in the paper.
CHINCHILLA_PUBLISHED = ChinchillaLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
# Besiroglu, Erdil, Barnett & You (2024), "Chinchilla scaling: a replication attempt".
CHINCHILLA_REPLICATION = ChinchillaLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)


@dataclass(frozen=True, eq=False)
class ChinchillaFit(ChinchillaLaw):
    """Chinchilla's law fitted to (N, D, L) points, with the data kept for its bootstrap."""

    N: np.ndarray = field(repr=False)
    D: np.ndarray = field(repr=False)
    L: np.ndarray = field(repr=False)
    delta: float
    r2_log: float
    converged: bool
    n_points: int
    n_boot: int = 200
    seed: int = 0
    max_iter: int = 1000
    _cache: dict = field(default_factory=dict, repr=False)

    def theta(self) -> np.ndarray:
        """Hoffmann's parameters (a, b, e, α, β), with A = eᵃ, B = eᵇ, E = eᵉ."""
        return np.array([np.log(self.A), np.log(self.B), np.log(self.E), self.alpha, self.beta])

    @single_threaded
    def ci(self, level: float = 0.95, n_boot: int | None = None, seed: int | None = None
           ) -> Intervals:
        """Percentile bootstrap intervals for E, A, B, α, β and the exponents a, b.

        Each resample of the points is refitted from the full-data optimum
        (Gauss–Newton steps on the same Huber loss, all resamples at once).
        """
        return cached_intervals(self, level, n_boot, seed)

    def _bootstrap(self, level: float, n_boot: int, seed: int) -> Intervals:
        if self.n_points < 7:
            raise ValueError(
                f"{self.n_points} points are too few for a bootstrap interval on 5 "
                "parameters (need at least 7)"
            )
        rng = np.random.default_rng(seed)
        idx = resample_indices(self.n_points, n_boot, rng, keys=(self.N, self.D), min_distinct=3)
        features = (np.log(self.N), np.log(self.D))
        thetas, ok = refit_resamples(
            _CHINCHILLA, features, np.log(self.L), self.delta, self.theta(), idx,
            self.max_iter,
        )
        a, b, e, alpha, beta = thetas[ok].T
        samples = np.column_stack(
            [np.exp(e), np.exp(a), np.exp(b), alpha, beta, beta / (alpha + beta),
             alpha / (alpha + beta)]
        )
        n_failed = int((~ok).sum())
        warn_failures(n_failed, n_boot, "Chinchilla's law")
        low, high = percentile_bounds(samples, level)
        names = ("E", "A", "B", "alpha", "beta", "a", "b")
        bounds = {name: (float(low[j]), float(high[j])) for j, name in enumerate(names)}
        return Intervals(level, "percentile", n_boot, seed, bounds, n_failed, samples)

    @property
    def undetermined(self) -> str:
        """Why these points do not pin the allocation exponent a ("" when they do).

        a = β/(α+β) is what approach 3 is used for; E, A and B can be far less certain
        (A and B trade off against α and β), which the table shows.
        """
        intervals, _ = try_intervals(lambda: self.ci())
        return undetermined_reason("a", intervals["a"] if intervals else None,
                                   self.n_points, 5)

    @property
    def determined(self) -> bool:
        return not self.undetermined

    def summary(self, level: float = 0.95) -> str:
        """A table: each coefficient, its estimate and its bootstrap interval."""
        intervals, why = try_intervals(lambda: self.ci(level))
        status = "converged" if self.converged else "NOT CONVERGED (best fit found)"
        head = [
            "Chinchilla law L = E + A/N^α + B/D^β (fit_chinchilla, Hoffmann et al. 2022)",
            f"  {self.n_points} points, Huber (δ = {number(self.delta)}) on log L, "
            f"R² (log space) = {self.r2_log:.4f}, {status}",
        ]
        rows = [("E", self.E), ("A", self.A), ("B", self.B), ("alpha", self.alpha),
                ("beta", self.beta), ("a", self.a), ("b", self.b)]
        verdict = undetermined_lines(
            "the exponent a", self.undetermined,
            "add runs that vary N and D independently over wider ranges")
        return "\n".join(head + parameter_table(rows, intervals, missing=why)
                         + ["  (a, b: N_opt ∝ C^a, D_opt ∝ C^b under C = 6ND)"] + verdict)

    def __str__(self) -> str:
        return self.summary()


def _predict(thetas: np.ndarray, features: tuple[np.ndarray, ...], want_jac: bool):
    """log L̂ = logsumexp(a − α·log N, b − β·log D, e), one row per θ."""
    log_n, log_d = features
    a, b, e, alpha, beta = (thetas[:, j : j + 1] for j in range(5))
    terms = np.broadcast_arrays(a - alpha * log_n, b - beta * log_d, e)
    top = np.maximum(np.maximum(terms[0], terms[1]), terms[2])
    shares = [np.exp(t - top) for t in terms]
    total = shares[0] + shares[1] + shares[2]
    pred = top + np.log(total)
    if not want_jac:
        return pred, None
    s_n, s_d, s_e = (s / total for s in shares)
    jac = np.stack(np.broadcast_arrays(s_n, s_d, s_e, -s_n * log_n, -s_d * log_d), axis=-1)
    return pred, jac


_CHINCHILLA = LogModel(_predict, 5)


def _grid() -> np.ndarray:
    g = HOFFMANN_GRID
    return np.array(list(itertools.product(g["a"], g["b"], g["e"], g["alpha"], g["beta"])))


@single_threaded
def fit_chinchilla(
    N: np.ndarray,
    D: np.ndarray,
    L: np.ndarray,
    *,
    delta: float = 1e-3,
    n_starts: int | None = 10,
    n_boot: int = 200,
    seed: int = 0,
    max_iter: int = 1000,
) -> ChinchillaFit:
    """Fit L = E + A/N^α + B/D^β as Hoffmann et al. (2022) did (chapter 8).

    Parameters
    ----------
    N, D, L : parameters, training tokens and loss, one per run (all positive).
    delta : Huber's threshold on log L; Hoffmann et al. use 10⁻³.
    n_starts : the loss is evaluated at all 4,500 points of Hoffmann's grid
        of initial values; L-BFGS then runs from the `n_starts` best of them
        (None: from every one, as in the paper; slow) and the best is kept.
    n_boot, seed : defaults for :meth:`ChinchillaFit.ci` and the summary.
    max_iter : iteration cap; reaching it warns and sets ``converged=False``.
    """
    N = _checks.positive_array(N, "N")
    D = _checks.positive_array(D, "D")
    L = _checks.positive_array(L, "L")
    n = _checks.same_length(N=N, D=D, L=L)
    what = "Chinchilla's law L = E + A/N^α + B/D^β"
    _checks.enough_points(n, 5, what)
    _checks.enough_distinct(N, 2, "N", what)
    _checks.enough_distinct(D, 2, "D", what)
    delta = _checks.finite_number(delta, "delta")
    if delta <= 0:
        raise ValueError(f"delta must be positive; got {delta!r}")
    features = (np.log(N), np.log(D))
    log_l = np.log(L)
    found = fit_from_grid(
        _CHINCHILLA, features, log_l, delta, _grid(), n_starts=n_starts, max_iter=max_iter
    )
    warn_unconverged(found, what)
    a, b, e, alpha, beta = found.theta
    pred = _predict(found.theta[None, :], features, False)[0][0]
    total = float(((log_l - log_l.mean()) ** 2).sum())
    r2 = 1.0 - float(((log_l - pred) ** 2).sum()) / total if total > 0 else float("nan")
    return ChinchillaFit(
        E=float(np.exp(e)), A=float(np.exp(a)), B=float(np.exp(b)), alpha=float(alpha),
        beta=float(beta), N=N, D=D, L=L, delta=delta, r2_log=r2, converged=found.converged,
        n_points=n, n_boot=check_n_boot(n_boot), seed=int(seed), max_iter=int(max_iter),
    )

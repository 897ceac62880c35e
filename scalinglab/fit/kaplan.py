"""Kaplan et al.'s (2020) laws: L(N), L(D) and L(N, D) (chapters 6 and 7).

Kaplan et al. write the loss of a model limited by one resource as a pure
power law with a scale constant,

    L(N) = (N_c / N)^α_N      (eq. 1.1; α_N ≈ 0.076, N_c ≈ 8.8·10¹³ non-embedding parameters)
    L(D) = (D_c / D)^α_D      (eq. 1.2; α_D ≈ 0.095, D_c ≈ 5.4·10¹³ tokens)

and combine the two as

    L(N, D) = [(N_c / N)^(α_N/α_D) + D_c / D]^α_D     (eq. 1.5)

with α_N ≈ 0.076, α_D ≈ 0.103, N_c ≈ 6.4·10¹³, D_c ≈ 1.8·10¹³ (their Table 2).
There is no irreducible term: at their scale none was visible, and the book
(chapter 8) shows how leaving it out, with non-embedding N, tilts the
compute-optimal exponent (Pearce & Song 2024). Their loss is in nats per
token; the constants above only describe their setting.

L(N) and L(D) are straight lines in log–log axes and are fitted as such
(studentized bootstrap intervals); L(N, D) is fitted like the other
nonlinear laws here, in log space with Huber's loss from a grid of starts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from scalinglab.fit import _checks
from scalinglab.fit._checks import number, parameter_table, single_threaded, try_intervals
from scalinglab.fit._numerics import (
    Intervals,
    LogModel,
    Optimum,
    cached_intervals,
    check_loss,
    check_n_boot,
    fit_lines,
    fit_robust,
    percentile_bounds,
    refit_resamples,
    resample_indices,
    studentized_bounds,
    warn_failures,
    warn_unconverged,
)

# Kaplan et al. (2020): eqs. 1.1 and 1.2, and the joint fit of eq. 1.5 (Table 2).
KAPLAN_2020 = {"alpha_N": 0.076, "N_c": 8.8e13, "alpha_D": 0.095, "D_c": 5.4e13}
KAPLAN_2020_ND = {"alpha_N": 0.076, "alpha_D": 0.103, "N_c": 6.4e13, "D_c": 1.8e13}
FORMS = ("L(N)", "L(D)", "L(N, D)")


def kaplan_loss_n(N: float | np.ndarray, alpha_N: float = 0.076, N_c: float = 8.8e13
                  ) -> float | np.ndarray:
    """L(N) = (N_c/N)^α_N (Kaplan et al. 2020, eq. 1.1)."""
    return _checks.like_input((N_c / _checks.scale_values(N, "N")) ** alpha_N, N)


def kaplan_loss_d(D: float | np.ndarray, alpha_D: float = 0.095, D_c: float = 5.4e13
                  ) -> float | np.ndarray:
    """L(D) = (D_c/D)^α_D (Kaplan et al. 2020, eq. 1.2)."""
    return _checks.like_input((D_c / _checks.scale_values(D, "D")) ** alpha_D, D)


def kaplan_loss_nd(
    N: float | np.ndarray,
    D: float | np.ndarray,
    alpha_N: float = 0.076,
    alpha_D: float = 0.103,
    N_c: float = 6.4e13,
    D_c: float = 1.8e13,
) -> float | np.ndarray:
    """L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D (Kaplan et al. 2020, eq. 1.5)."""
    n, d = _checks.scale_values(N, "N"), _checks.scale_values(D, "D")
    return _checks.like_input(((N_c / n) ** (alpha_N / alpha_D) + D_c / d) ** alpha_D, N, D)


@dataclass(frozen=True, eq=False)
class KaplanFit:
    """One of Kaplan's laws fitted to points; `params` holds its constants by name."""

    form: str
    params: dict[str, float]
    N: np.ndarray | None = field(repr=False)
    D: np.ndarray | None = field(repr=False)
    L: np.ndarray = field(repr=False)
    loss: str
    delta: float
    r2_log: float
    converged: bool
    n_points: int
    n_boot: int = 1000
    seed: int = 0
    max_iter: int = 1000
    _cache: dict = field(default_factory=dict, repr=False)

    def __getitem__(self, name: str) -> float:
        return self.params[name]

    def predict(self, N: float | np.ndarray | None = None, D: float | np.ndarray | None = None
                ) -> float | np.ndarray:
        """The fitted law's loss (pass N, D or both, as the form needs)."""
        p = self.params
        if self.form == "L(N)":
            return kaplan_loss_n(_required(N, "N", self.form), p["alpha_N"], p["N_c"])
        if self.form == "L(D)":
            return kaplan_loss_d(_required(D, "D", self.form), p["alpha_D"], p["D_c"])
        return kaplan_loss_nd(_required(N, "N", self.form), _required(D, "D", self.form), **p)

    @single_threaded
    def ci(self, level: float = 0.95, n_boot: int | None = None, seed: int | None = None
           ) -> Intervals:
        """Bootstrap intervals over points (studentized for L(N), L(D); percentile for L(N, D))."""
        return cached_intervals(self, level, n_boot, seed)

    def _bootstrap(self, level: float, n_boot: int, seed: int) -> Intervals:
        n_par = len(self.params)
        if self.n_points < n_par + 2:
            raise ValueError(
                f"{self.n_points} points are too few for a bootstrap interval on {n_par} "
                f"parameters (need at least {n_par + 2})"
            )
        rng = np.random.default_rng(seed)
        keys = tuple(a for a in (self.N, self.D) if a is not None)
        idx = resample_indices(self.n_points, n_boot, rng, keys=keys, min_distinct=3)
        if self.form == "L(N, D)":
            return self._bootstrap_nd(idx, level, n_boot, seed)
        x = self.N if self.form == "L(N)" else self.D
        u, v = np.log(x), np.log(self.L)
        full = fit_lines(u, v, loss=self.loss, delta=self.delta, max_iter=self.max_iter)
        boot = fit_lines(u[idx], v[idx], loss=self.loss, delta=self.delta, max_iter=self.max_iter)
        # log L = α·ln x_c − α·ln x: α = −slope, ln x_c = −intercept/slope (delta method for se)
        est, se = _alpha_and_log_scale(full.intercept, full.slope, full.cov)
        boot_est, boot_se = _alpha_and_log_scale(boot.intercept, boot.slope, boot.cov)
        ok = boot.converged
        n_failed = int((~ok).sum())
        warn_failures(n_failed, n_boot, f"Kaplan's {self.form}")
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (boot_est[ok] - est[0]) / boot_se[ok]
        low, high = studentized_bounds(est[0], se[0], t, level)
        sym = "N" if self.form == "L(N)" else "D"
        bounds = {f"alpha_{sym}": (float(low[0]), float(high[0])),
                  f"{sym}_c": (float(np.exp(low[1])), float(np.exp(high[1])))}
        samples = np.column_stack([boot_est[ok, 0], np.exp(boot_est[ok, 1])])
        return Intervals(level, "studentized", n_boot, seed, bounds, n_failed, samples)

    def _bootstrap_nd(self, idx: np.ndarray, level: float, n_boot: int, seed: int) -> Intervals:
        p = self.params
        theta_hat = np.array([p["alpha_N"], p["alpha_D"], np.log(p["N_c"]), np.log(p["D_c"])])
        thetas, ok = refit_resamples(
            _JOINT, (np.log(self.N), np.log(self.D)), np.log(self.L), self.delta, theta_hat,
            idx, self.max_iter,
        )
        good = thetas[ok]
        samples = np.column_stack([good[:, 0], good[:, 1], np.exp(good[:, 2]), np.exp(good[:, 3])])
        n_failed = int((~ok).sum())
        warn_failures(n_failed, n_boot, "Kaplan's L(N, D)")
        low, high = percentile_bounds(samples, level)
        bounds = {name: (float(low[j]), float(high[j])) for j, name in enumerate(p)}
        return Intervals(level, "percentile", n_boot, seed, bounds, n_failed, samples)

    def summary(self, level: float = 0.95) -> str:
        intervals, why = try_intervals(lambda: self.ci(level))
        loss = "least squares" if self.loss == "squares" else f"Huber (δ = {number(self.delta)})"
        status = "converged" if self.converged else "NOT CONVERGED (best fit found)"
        head = [
            f"Kaplan et al. (2020) {self.form} (fit_kaplan)",
            f"  {self.n_points} points, {loss} in log space, "
            f"R² (log space) = {self.r2_log:.4f}, {status}",
        ]
        return "\n".join(head + parameter_table(list(self.params.items()), intervals,
                                                missing=why))

    def __str__(self) -> str:
        return self.summary()


def _required(values, name: str, form: str):
    if values is None:
        raise ValueError(f"{form} needs {name}; pass {name}=...")
    return values


def _alpha_and_log_scale(intercept, slope, cov) -> tuple[np.ndarray, np.ndarray]:
    """(α, ln x_c) and their standard errors from a line's (intercept, slope) and covariance."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_scale = -intercept / slope
        grad_c, grad_s = -1.0 / slope, intercept / slope**2
        var_log_scale = (grad_c**2 * cov[:, 0, 0] + 2 * grad_c * grad_s * cov[:, 0, 1]
                         + grad_s**2 * cov[:, 1, 1])
        est = np.column_stack([-slope, log_scale])
        se = np.sqrt(np.column_stack([cov[:, 1, 1], var_log_scale]))
    return est, se


def _predict_joint(thetas: np.ndarray, features: tuple[np.ndarray, ...], want_jac: bool):
    """log L = α_D·logaddexp((α_N/α_D)(ln N_c − ln N), ln D_c − ln D), one row per θ."""
    log_n, log_d = features
    alpha_n, alpha_d, c_n, c_d = (thetas[:, j : j + 1] for j in range(4))
    u = (alpha_n / alpha_d) * (c_n - log_n)
    w = c_d - log_d
    s = np.logaddexp(u, w)
    pred = alpha_d * s
    if not want_jac:
        return pred, None
    share = np.exp(u - s)
    parts = np.broadcast_arrays(share * (c_n - log_n), s - share * u, alpha_n * share,
                                alpha_d * (1.0 - share))
    return pred, np.stack(parts, axis=-1)


_JOINT = LogModel(_predict_joint, 4, lower=(1e-4, 1e-4, -np.inf, -np.inf))


def _fit_line_form(x: np.ndarray, L: np.ndarray, form: str, sym: str, loss: str,
                   delta: float | None, n_boot: int, seed: int, max_iter: int) -> KaplanFit:
    what = f"Kaplan's {form}"
    _checks.enough_points(x.size, 2, what)
    _checks.enough_distinct(x, 2, sym, what)
    u, v = np.log(x), np.log(L)
    line = fit_lines(u, v, loss=loss, delta=delta, max_iter=max_iter)
    converged = bool(line.converged[0])
    warn_unconverged(Optimum(np.array([]), np.nan, converged,
                             f"no convergence in {max_iter} reweighting steps"), what)
    alpha = float(-line.slope[0])
    scale = float(np.exp(-line.intercept[0] / line.slope[0]))
    fitted = v - line.residuals[0]
    r2 = 1.0 - float(((v - fitted) ** 2).sum() / ((v - v.mean()) ** 2).sum())
    return KaplanFit(
        form=form, params={f"alpha_{sym}": alpha, f"{sym}_c": scale},
        N=x if sym == "N" else None, D=x if sym == "D" else None, L=L, loss=loss,
        delta=float(line.delta[0]), r2_log=r2, converged=converged, n_points=x.size,
        n_boot=check_n_boot(n_boot), seed=int(seed), max_iter=int(max_iter),
    )


@single_threaded
def fit_kaplan_n(N: np.ndarray, L: np.ndarray, *, loss: str = "huber", delta: float | None = None,
                 n_boot: int = 1000, seed: int = 0, max_iter: int = 1000) -> KaplanFit:
    """Fit L(N) = (N_c/N)^α_N (Kaplan et al. 2020, eq. 1.1; chapter 6).

    N is conventionally the non-embedding parameter count, as in Kaplan et al.
    """
    check_loss(loss)
    N, L = _checks.positive_array(N, "N"), _checks.positive_array(L, "L")
    _checks.same_length(N=N, L=L)
    return _fit_line_form(N, L, "L(N)", "N", loss, delta, n_boot, seed, max_iter)


@single_threaded
def fit_kaplan_d(D: np.ndarray, L: np.ndarray, *, loss: str = "huber", delta: float | None = None,
                 n_boot: int = 1000, seed: int = 0, max_iter: int = 1000) -> KaplanFit:
    """Fit L(D) = (D_c/D)^α_D (Kaplan et al. 2020, eq. 1.2; chapter 7)."""
    check_loss(loss)
    D, L = _checks.positive_array(D, "D"), _checks.positive_array(L, "L")
    _checks.same_length(D=D, L=L)
    return _fit_line_form(D, L, "L(D)", "D", loss, delta, n_boot, seed, max_iter)


@single_threaded
def fit_kaplan_nd(
    N: np.ndarray,
    D: np.ndarray,
    L: np.ndarray,
    *,
    loss: str = "huber",
    delta: float | None = None,
    n_starts: int | None = 10,
    n_boot: int = 200,
    seed: int = 0,
    max_iter: int = 1000,
) -> KaplanFit:
    """Fit L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D (Kaplan et al. 2020, eq. 1.5; chapter 7).

    Huber's loss on log L (δ from the data unless given), L-BFGS from the best
    `n_starts` points of a grid over (α_N, α_D, ln N_c, ln D_c), best kept.
    """
    check_loss(loss)
    N = _checks.positive_array(N, "N")
    D = _checks.positive_array(D, "D")
    L = _checks.positive_array(L, "L")
    n = _checks.same_length(N=N, D=D, L=L)
    what = "Kaplan's L(N, D)"
    _checks.enough_points(n, 4, what)
    _checks.enough_distinct(N, 2, "N", what)
    _checks.enough_distinct(D, 2, "D", what)
    if delta is not None and not _checks.finite_number(delta, "delta") > 0:
        raise ValueError(f"delta must be positive; got {delta!r}")
    features = (np.log(N), np.log(D))
    log_l = np.log(L)
    offsets = (1.0, 4.0, 8.0, 16.0, 32.0)
    starts = np.array(list(itertools.product(
        (0.03, 0.076, 0.15, 0.3, 0.6), (0.03, 0.1, 0.2, 0.4, 0.8),
        [np.log(N.max()) + o for o in offsets], [np.log(D.max()) + o for o in offsets],
    )))
    found, used = fit_robust(_JOINT, features, log_l, starts, loss=loss, delta=delta,
                             n_starts=n_starts, max_iter=max_iter)
    warn_unconverged(found, what)
    alpha_n, alpha_d, c_n, c_d = found.theta
    pred = _predict_joint(found.theta[None, :], features, False)[0][0]
    r2 = 1.0 - float(((log_l - pred) ** 2).sum() / ((log_l - log_l.mean()) ** 2).sum())
    return KaplanFit(
        form="L(N, D)",
        params={"alpha_N": float(alpha_n), "alpha_D": float(alpha_d),
                "N_c": float(np.exp(c_n)), "D_c": float(np.exp(c_d))},
        N=N, D=D, L=L, loss=loss, delta=float(used), r2_log=r2, converged=found.converged,
        n_points=n, n_boot=check_n_boot(n_boot), seed=int(seed), max_iter=int(max_iter),
    )

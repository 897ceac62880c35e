"""How long fitting Chinchilla's law takes, and whether it gets the answer right.

    .venv/bin/python benchmarks/fit_speed.py                   # ≈ 10 s on one core
    .venv/bin/python benchmarks/fit_speed.py --coverage 100    # + interval coverage, ≈ 5 min

The bar (the fit issue): `fit_chinchilla` on 250 points in ≤ 5 s on one core,
bootstrap included. The points are Hoffmann et al.'s (2022) published law on
a realistic design: their IsoFLOP budgets, 6·10¹⁸ to 3·10²¹ FLOPs (10 of
them), each with 25 model sizes a decade either side of the law's optimum.
Timed, single-threaded (BLAS and OpenMP pinned to one thread before numpy is
imported): the fit (the 4,500-point grid of starts screened, L-BFGS from the
best 10, Gauss–Newton polish) and its percentile bootstrap at `--n-boot`
resamples. Printed: the time of each (best of `--repeats`), and the recovered
coefficients against the truth, noise-free and with 2 % multiplicative noise.

`--coverage K` refits K noisy draws and counts how often each 95 % interval
holds the true value (a 95 % interval should, about 95 % of the time).
Timings on a shared machine are indicative only.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scalinglab.fit import CHINCHILLA_PUBLISHED, fit_chinchilla, fit_power_law  # noqa: E402

TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def design(budgets: int = 10, per_budget: int = 25) -> tuple[np.ndarray, np.ndarray]:
    N, D = [], []
    for C in np.geomspace(6e18, 3e21, budgets):
        n_opt = CHINCHILLA_PUBLISHED.optimal_allocation(C)[0]
        sizes = np.geomspace(n_opt / 10, n_opt * 10, per_budget)
        N.append(sizes)
        D.append(C / (6 * sizes))
    return np.concatenate(N), np.concatenate(D)


def noisy(N: np.ndarray, D: np.ndarray, seed: int, noise: float = 0.02) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return CHINCHILLA_PUBLISHED.predict(N, D) * np.exp(noise * rng.standard_normal(N.size))


def timed(N, D, L, n_boot: int, repeats: int):
    best_fit = best_ci = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fit = fit_chinchilla(N, D, L, n_boot=n_boot)
        mid = time.perf_counter()
        intervals = fit.ci()
        end = time.perf_counter()
        best_fit, best_ci = min(best_fit, mid - start), min(best_ci, end - mid)
    return fit, intervals, best_fit, best_ci


def table(fit, intervals) -> None:
    print(f"  {'':<6} {'truth':>8} {'fitted':>10} {'error':>8}   95% interval")
    for name, truth in TRUTH.items():
        value = getattr(fit, name)
        bound = ""
        if intervals is not None:
            low, high = intervals[name]
            mark = "holds truth" if low <= truth <= high else "MISSES truth"
            bound = f"[{low:.4g}, {high:.4g}]  {mark}"
        print(f"  {name:<6} {truth:>8.4g} {value:>10.5g} {value / truth - 1:>+8.2%}   {bound}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples (200)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats, best kept (3)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (0)")
    parser.add_argument("--coverage", type=int, default=0, metavar="K",
                        help="also measure interval coverage over K noisy draws (0: skip)")
    args = parser.parse_args()

    N, D = design()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"fit_chinchilla on {N.size} points; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores (load {load:.1f}), numpy {np.__version__}, one thread")

    fit, _, t_fit, _ = timed(N, D, CHINCHILLA_PUBLISHED.predict(N, D), args.n_boot, 1)
    print(f"\nnoise-free: fit {t_fit:.2f} s, converged={fit.converged}")
    table(fit, None)

    L = noisy(N, D, args.seed)
    fit, intervals, t_fit, t_ci = timed(N, D, L, args.n_boot, args.repeats)
    total = t_fit + t_ci
    verdict = "within" if total <= 5.0 else "OVER"
    print(f"\n2 % noise (seed {args.seed}): fit {t_fit:.2f} s + bootstrap ({args.n_boot} "
          f"resamples) {t_ci:.2f} s = {total:.2f} s, {verdict} the 5 s bar "
          f"(best of {args.repeats}); converged={fit.converged}, "
          f"{intervals.n_failed} refits dropped")
    table(fit, intervals)
    print(f"  tokens per parameter at 1e23 FLOPs: {fit.tokens_per_param(1e23):.1f} "
          f"(truth {CHINCHILLA_PUBLISHED.tokens_per_param(1e23):.1f})")

    x = np.geomspace(1e4, 1e7, 8)
    y = 1.573 + 3.0 * x**-0.33 * np.exp(0.02 * np.random.default_rng(0).standard_normal(8))
    for E, label in ((1.573, "E fixed"), (None, "E free")):
        start = time.perf_counter()
        law = fit_power_law(x, y, E=E)
        law.ci()
        print(f"\nfit_power_law, 8 points, {label}: fit + 1000-resample bootstrap "
              f"{time.perf_counter() - start:.3f} s; alpha {law.alpha:.4f} "
              f"[{law.ci()['alpha'][0]:.4f}, {law.ci()['alpha'][1]:.4f}] (truth 0.33)")

    if args.coverage:
        names = (*TRUTH, "a")
        truth = dict(TRUTH, a=CHINCHILLA_PUBLISHED.a)
        hits = dict.fromkeys(names, 0)
        every = 0
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for rep in range(args.coverage):
                intervals = fit_chinchilla(N, D, noisy(N, D, 1000 + rep), n_boot=args.n_boot).ci()
                held = {k: intervals.contains(k, truth[k]) for k in names}
                for k in names:
                    hits[k] += held[k]
                every += all(held[k] for k in TRUTH)
        share = ", ".join(f"{k} {hits[k] / args.coverage:.0%}" for k in names)
        print(f"\ncoverage of the 95 % intervals over {args.coverage} noisy draws: {share}; "
              f"all five at once {every / args.coverage:.0%} "
              f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

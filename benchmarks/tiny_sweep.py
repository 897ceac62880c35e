"""How long the `tiny` model-size sweep takes, and whether its losses follow a power law.

The tiny profile is what CI and the notebook tests train, so it has two jobs at
once: finish in seconds (≤ 40 s for the five sizes on 2 CPU cores) and still
show a scaling law above the synthetic source's exact entropy H, i.e. a line
in log(L − H) against log N (R² ≥ 0.95). This script measures both:

    python benchmarks/tiny_sweep.py [--profile tiny] [--save]

It prints the sweep's table, the wall time, the fit log(L − H) = log A − α log N
(numpy.polyfit on the five points, N = Kaplan's non-embedding count) with its
R², and with --save writes the result and its provenance under
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from scalinglab.profiles import get_profile
from scalinglab.provenance import provenance
from scalinglab.sweep import format_table, sweep

RESULTS = Path(__file__).resolve().parent / "results"
WALL_TARGET_S = 40.0
R2_TARGET = 0.95


def power_law_above_floor(records: list[dict]) -> dict:
    """Least-squares line through (log N, log(L − H)): exponent α, prefactor A and R²."""
    n = np.array([r["n_params_non_embedding"] for r in records], dtype=float)
    excess = np.array([r["val_bpb"] - r["entropy_floor_bpb"] for r in records])
    if np.any(excess <= 0):
        raise ValueError("a validation loss at or below the entropy floor cannot be fitted")
    x, y = np.log(n), np.log(excess)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    r2 = 1.0 - residual @ residual / ((y - y.mean()) @ (y - y.mean()))
    return {"alpha_N": float(-slope), "A": float(np.exp(intercept)), "r2": float(r2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/ files")
    args = parser.parse_args(argv)

    profile = get_profile(args.profile)
    load_before = os.getloadavg()
    start, cpu_start = time.perf_counter(), time.process_time()
    records = sweep("model-size", profile=profile, progress=False)
    wall_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    load_after = os.getloadavg()
    fit = power_law_above_floor(records)

    print(format_table(records))
    print(f"\nwall time {wall_s:.1f} s for {len(records)} models "
          f"(target ≤ {WALL_TARGET_S:.0f} s) on {records[0]['device']}")
    print(f"CPU time {cpu_s:.1f} s (with {profile.num_threads or 'default'} thread(s), about "
          "the wall time on an otherwise idle machine)")
    print(f"load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f} "
          f"on {os.cpu_count()} cores (other work on the machine slows this down)")
    print(f"log(L - H) = log A - alpha log N:  alpha_N = {fit['alpha_N']:.3f}, "
          f"A = {fit['A']:.3g}, R^2 = {fit['r2']:.3f} (target ≥ {R2_TARGET})")
    ok = wall_s <= WALL_TARGET_S and fit["r2"] >= R2_TARGET
    print("PASS" if ok else "MISS", "against the tiny profile's targets")

    if args.save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        result = {
            "benchmark": "tiny_sweep", "profile": profile.name, "wall_s": wall_s,
            "cpu_s": cpu_s, "num_threads": profile.num_threads,
            "load_average_before": load_before, "load_average_after": load_after,
            "cpu_count": os.cpu_count(), "fit": fit, "targets": {"wall_s": WALL_TARGET_S,
                                                                 "r2": R2_TARGET},
            "runs": [{k: r[k] for k in ("size", "n_params_non_embedding", "n_params", "tokens",
                                        "flops", "val_bpb", "train_bpb", "entropy_floor_bpb",
                                        "wall_s", "tokens_per_s")} for r in records],
            **provenance("cpu"),
        }
        path = RESULTS / f"tiny_sweep_{profile.name}.json"
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The gpu reference: its plan fits one command of 8 minutes, and its whole path runs in
miniature on the CPU, storing each result as it ends, without zstandard or ipywidgets."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from scalinglab import gpu_plan, profiles
from scalinglab import gpu_reference as gpu
from scalinglab.cli import main
from scalinglab.loop_comparison import GPU_SIZES
from scalinglab.reference import load_reference
from scalinglab.sweep.grids import grid_points

ROOT = Path(__file__).resolve().parent.parent
FILES = ["gpu_isoflop_synthetic.jsonl", "gpu_model-size_pydocs.jsonl",
         "gpu_model-size_stdlib.jsonl", "gpu_model-size_synthetic.jsonl", gpu.LOG_NAME,
         "throughput_gpu.json", "throughput_gpu.md"]


def test_the_plan_fits_eight_minutes_in_priority_order():
    steps = gpu_plan.plan_steps("full")
    total = sum(s.seconds for s in steps)
    assert 0 < total <= 480
    assert all(s.seconds > 0 for s in steps)
    # Priority: start-up, the benchmark at ~10M and ~124M, IsoFLOP, L(N) synthetic, text.
    items = list(dict.fromkeys(s.item for s in steps if not s.item.startswith("load ")))
    assert items == ["start-up", "throughput", "isoflop/synthetic", "model-size/synthetic",
                     "model-size/pydocs", "model-size/stdlib"]
    assert [s.action for s in steps if s.item == "throughput"] == list(GPU_SIZES)
    runs = [s for s in steps if "/" in s.item]
    assert all(s.flops > 0 for s in runs)
    for corpus, design in gpu_plan.scale_of("full").designs.items():
        grids = ("isoflop", "model-size") if corpus == "synthetic" else ("model-size",)
        for grid in grids:
            assert (len([s for s in runs if s.item == f"{grid}/{corpus}"])
                    == len(grid_points(design, grid)))


def test_the_plan_prints_every_run_with_flops_seconds_and_the_running_total():
    steps = gpu_plan.plan_steps("full")
    table = gpu_plan.format_plan(steps, 480)
    cumulative = 0.0
    for i, step in enumerate(steps, start=1):
        cumulative += step.seconds
        line = next(t for t in table.splitlines() if t.startswith(f"{i:>3}  "))
        assert step.what in line and f"{step.seconds:.1f}" in line
        assert line.endswith(f"{cumulative:.1f}")
    assert f"total {cumulative:.1f} s" in table and "989 TFLOP/s" in table


def test_the_gpu_reference_design_can_measure_exponents():
    """>= 2.5 decades of N near convergence; >= 5 IsoFLOP budgets over >= 2 decades, >= 5
    sizes each around D/N of 20-100."""
    ref = profiles.reference_design("gpu")
    assert ref.name == "gpu" and not ref.compile
    n = [profiles.non_embedding_params(s) for s in ref.model_sizes]
    assert math.log10(max(n) / min(n)) >= 2.5
    for size, tokens in zip(ref.model_sizes, ref.model_size_tokens, strict=True):
        assert tokens >= 20 * profiles.non_embedding_params(size)
    budgets = ref.isoflop_budgets
    assert len(budgets) >= 5 and math.log10(max(budgets) / min(budgets)) >= 2
    points = grid_points(ref, "isoflop")
    for budget in budgets:
        ratios = [q.tokens / profiles.non_embedding_params(q.size) for q in points
                  if q.flops_budget == budget]
        assert len(ratios) >= 5
        assert min(ratios) <= 20 and max(ratios) >= 100, (budget, ratios)
    text = profiles.reference_text_design("gpu", "stdlib")
    n = [profiles.non_embedding_params(s) for s in text.model_sizes]
    assert math.log10(max(n) / min(n)) >= 2.5


def test_plan_over_the_budget_is_refused_in_one_line(capsys):
    assert main(["reference", "--profile", "gpu", "--plan"]) == 0
    assert "total" in capsys.readouterr().out
    assert main(["reference", "--profile", "gpu", "--plan", "--budget-s", "100"]) == 1
    captured = capsys.readouterr()
    assert "total" in captured.out  # the table is still shown
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "--budget-s 100" in err and "--over-budget" in err
    assert main(["reference", "--profile", "gpu", "--plan", "--budget-s", "100",
                 "--over-budget"]) == 0


def test_without_a_gpu_it_names_the_fix_in_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["reference", "--profile", "gpu", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "needs a CUDA GPU" in err and "--plan" in err and "--profile cpu" in err
    assert not (tmp_path / "out").exists()
    assert main(["reference", "--profile", "gpu", "--scale", "tiny"]) == 1
    assert "--out DIR" in capsys.readouterr().err
    assert main(["reference", "--profile", "cpu", "--plan"]) == 1
    assert "--profile gpu only" in capsys.readouterr().err


def test_tiny_scale_runs_the_whole_path_storing_each_result_as_it_ends(tmp_path, monkeypatch):
    real_train = gpu.train
    calls = []

    def train(*args, **kwargs):
        # Every run before this one is already on disk, one line each.
        stored = sum(len(p.read_text().splitlines()) for p in tmp_path.glob("gpu_*.jsonl"))
        assert stored == len(calls)
        calls.append(kwargs["extra"]["run_key"])
        return real_train(*args, **kwargs)

    monkeypatch.setattr(gpu, "train", train)
    paths = gpu.run_gpu_reference(tmp_path, scale="tiny", progress=False)
    assert sorted(p.name for p in paths) == FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == FILES  # nothing else left behind
    for grid, corpus in gpu_plan.ITEMS:
        design = gpu_plan.scale_of("tiny").designs[corpus]
        records, profile = load_reference(grid, corpus, folder=tmp_path)
        assert profile == "gpu"  # the labs find them first
        assert len(records) == len(grid_points(design, grid))
        for r in records:
            for key in ("commit", "device", "torch", "date", "run_key", "val_bpb"):
                assert r[key] is not None, key
            assert r["scale"] == "tiny" and r["grid"] == grid
    table = json.loads((tmp_path / "throughput_gpu.json").read_text())
    assert [r["loop"] for r in table["rows"]] == ["plain fp32", "plain bf16", "scalinglab"] * 2
    assert table["device"] and table["commit"] is not None
    log = json.loads((tmp_path / gpu.LOG_NAME).read_text())
    assert {s["status"] for s in log["steps"]} == {"done"}
    # Run again: everything is stored, nothing is trained or rewritten.
    before = {p.name: p.read_bytes() for p in tmp_path.glob("gpu_*.jsonl")}
    n_calls = len(calls)
    gpu.run_gpu_reference(tmp_path, scale="tiny", progress=False)
    assert len(calls) == n_calls
    assert {p.name: p.read_bytes() for p in tmp_path.glob("gpu_*.jsonl")} == before
    log = json.loads((tmp_path / gpu.LOG_NAME).read_text())
    assert {s["status"] for s in log["steps"][1:]} == {"stored before",
                                                       "not needed: its runs are stored"}


def test_a_cut_off_keeps_the_items_that_ended(tmp_path):
    """A clock that runs out once the benchmark is stored: the rest is skipped, the
    benchmark's files stay whole."""
    def clock() -> float:
        return 1e6 if (tmp_path / "throughput_gpu.json").exists() else 0.0

    gpu.run_gpu_reference(tmp_path, scale="tiny", progress=False, clock=clock)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        gpu.LOG_NAME, "throughput_gpu.json", "throughput_gpu.md"]
    table = json.loads((tmp_path / "throughput_gpu.json").read_text())
    assert {r["size"] for r in table["rows"]} == {"micro-a"}
    log = json.loads((tmp_path / gpu.LOG_NAME).read_text())
    statuses = [s["status"] for s in log["steps"]]
    assert statuses[:2] == ["done", "done"]
    assert all(s.startswith("skipped") for s in statuses[2:])


def test_tiny_writes_nowhere_near_the_reference_folder():
    from scalinglab.reference import REFERENCE_DIR

    with pytest.raises(ValueError, match="not reference results"):
        gpu.run_gpu_reference(REFERENCE_DIR, scale="tiny", progress=False)


def test_the_command_path_runs_without_zstandard_or_ipywidgets(tmp_path):
    """As on the GPU machine: torch, numpy, scipy, matplotlib and tqdm, nothing else."""
    fake = tmp_path / "absent"
    for name in ("zstandard", "ipywidgets", "IPython"):
        (fake / name).mkdir(parents=True)
        (fake / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError({f'No module named {name!r}'!r}, name={name!r})\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), str(ROOT)]),
           "OMP_NUM_THREADS": "1"}
    check = ("import runpy, sys; sys.argv = ['scalinglab'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('scalinglab', run_name='__main__')\n"
             "finally:\n"
             "    bad = [m for m in ('zstandard', 'ipywidgets', 'IPython') if sys.modules.get(m)]\n"
             "    assert not bad, bad\n")
    out = tmp_path / "out"
    for argv in (["--plan"], ["--scale", "tiny", "--out", str(out), "--no-progress"]):
        result = subprocess.run([sys.executable, "-c", check, "reference", "--profile", "gpu",
                                 *argv], env=env, capture_output=True, text=True,
                                timeout=600, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == FILES
    result = subprocess.run([sys.executable, "-m", "scalinglab", "compress", "a", "b"],
                            env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 1 and "needs the zstandard package" in result.stderr


def test_make_has_a_reference_gpu_target():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nreference-gpu:" in makefile and "reference-gpu" in makefile.split(".PHONY:")[1]


def test_the_time_model_is_overhead_bound_for_small_models_and_flops_bound_for_large():
    from scalinglab.gpu_time import H100

    assert H100.mfu(1e5) == pytest.approx(0.05) and H100.mfu(1e6) == pytest.approx(0.05)
    assert H100.mfu(1e8) == pytest.approx(0.40) and H100.mfu(1e9) == pytest.approx(0.40)
    assert H100.mfu(1e7) == pytest.approx(0.05 * 8 ** 0.5)
    small, large = profiles.ModelSize(16, 2, 2), profiles.ModelSize(512, 8, 8)
    assert H100.step_seconds(small, 256, 64, 32) == H100.step_floor(2) == pytest.approx(2e-3)
    assert H100.step_seconds(large, 256, 64, 32) > H100.step_floor(8)


def test_a_resumed_run_is_held_to_the_budget_of_what_is_left(tmp_path):
    def clock() -> float:
        return 1e6 if (tmp_path / "throughput_gpu.json").exists() else 0.0

    gpu.run_gpu_reference(tmp_path, scale="tiny", progress=False, clock=clock)
    full = sum(s.seconds for s in gpu_plan.plan_steps("tiny"))
    left = full - sum(s.seconds for s in gpu_plan.plan_steps("tiny")[1:2])
    with pytest.raises(ValueError, match="what is left of the gpu reference plan"):
        gpu.run_gpu_reference(tmp_path, scale="tiny", progress=False, budget_s=left - 1)
    gpu.run_gpu_reference(tmp_path, scale="tiny", progress=False, budget_s=left + 1)
    log = json.loads((tmp_path / gpu.LOG_NAME).read_text())
    assert [s["status"] for s in log["steps"][1:3]] == ["stored before", "done"]
    assert {s["status"] for s in log["steps"][3:]} == {"done"}

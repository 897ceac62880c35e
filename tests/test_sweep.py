"""Sweeps: the grids, the crash-proof results file, resuming, and torchrun sharding."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import scalinglab.sweep.runner as runner
from scalinglab.profiles import TINY, ModelSize
from scalinglab.sweep import (
    ResultsStore,
    TornRecordWarning,
    format_table,
    grid_points,
    plan,
    run_key,
    sweep,
)
from scalinglab.sweep.grids import MIN_STEPS, flops_per_token, non_embedding_params

ROOT = Path(__file__).resolve().parents[1]

# Three micro models on a small synthetic sample: each run takes a fraction of a second.
MICRO = dataclasses.replace(
    TINY, name="tiny", batch_size=4, model_sizes=(ModelSize(8, 1, 2), ModelSize(16, 1, 2),
                                                  ModelSize(16, 2, 2)),
    model_size_tokens=(4_096, 4_096, 4_096), data_size_model="d16-L2",
    data_size_tokens=(2_048, 4_096), repetition_model="d8-L1",
    repetition_unique_bytes=(1_024, 4_096), repetition_tokens=4_096, isoflop_budgets=(6e8,),
    isoflop_sizes=("d8-L1", "d16-L1", "d16-L2"), isoflop_max_tokens=10**6, eval_tokens=1_024,
    train_bytes=20_000, val_bytes=4_096,
)


# -- the results file --------------------------------------------------------------------


def test_append_and_read_back(tmp_path):
    store = ResultsStore(tmp_path / "runs.jsonl")
    assert store.read() == []
    store.append({"run_key": "a", "val_bpb": 1.5})
    store.append({"run_key": "b", "val_bpb": 1.25})
    assert [r["run_key"] for r in store.read()] == ["a", "b"]
    assert store.keys() == {"a", "b"}
    assert store.path.read_text().count("\n") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.jsonl"]  # no lock file left


def test_torn_last_line_is_reported_set_aside_and_never_overwritten(tmp_path):
    path = tmp_path / "runs.jsonl"
    store = ResultsStore(path)
    store.append({"run_key": "a"})
    good = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b'{"run_key": "b", "val_')  # a crash in mid-write
    with pytest.warns(TornRecordWarning, match=r"runs\.jsonl, line 2: incomplete record"):
        assert store.read() == [{"run_key": "a"}]
    assert path.read_bytes() == good
    assert store.torn_path.read_bytes() == b'{"run_key": "b", "val_\n'
    with open(path, "ab") as f:
        f.write(b'{"run_key": "c"')
    with pytest.warns(TornRecordWarning):
        store.append({"run_key": "d"})  # appending first sets the torn line aside
    assert [r["run_key"] for r in store.read()] == ["a", "d"]
    assert store.torn_path.read_bytes() == b'{"run_key": "b", "val_\n{"run_key": "c"\n'


def test_complete_last_record_without_its_newline_is_kept(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_bytes(b'{"run_key": "a"}\n{"run_key": "b"}')
    store = ResultsStore(path)
    store.append({"run_key": "c"})
    assert [r["run_key"] for r in store.read()] == ["a", "b", "c"]
    assert not store.torn_path.exists()


def test_damage_in_the_middle_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_bytes(b'{"run_key": "a"}\n{"run_key": \n{"run_key": "c"}\n')
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"runs\.jsonl, line 2: not a JSON record"):
        ResultsStore(path).read()
    assert path.read_bytes() == before  # nothing guessed, nothing changed


# -- grids and keys -------------------------------------------------------------------------


def test_tiny_grids():
    sizes = [p.size.name for p in grid_points(TINY, "model-size")]
    assert sizes == ["d16-L2", "d24-L2", "d32-L2", "d48-L3", "d64-L3"]
    data = grid_points(TINY, "data-size")  # Kaplan's L(D): fresh tokens, one model
    assert [p.tokens for p in data] == list(TINY.data_size_tokens)
    assert {p.train_bytes for p in data} == {None}
    assert {p.size.name for p in data} == {TINY.data_size_model}
    repeated = grid_points(TINY, "repetition")
    assert [p.train_bytes for p in repeated] == list(TINY.repetition_unique_bytes)
    assert {p.tokens for p in repeated} == {TINY.repetition_tokens}
    step = TINY.batch_size * TINY.seq_len
    for p in grid_points(TINY, "isoflop"):
        flops = p.tokens * flops_per_token(p.size, TINY.seq_len)
        assert abs(flops - p.flops_budget) <= step * flops_per_token(p.size, TINY.seq_len) / 2
        assert p.tokens // step >= MIN_STEPS
        assert p.tokens >= non_embedding_params(p.size)
    with pytest.raises(ValueError,
                       match="choose one of model-size, data-size, repetition, isoflop"):
        grid_points(TINY, "width")


def test_isoflop_grid_drops_models_that_see_fewer_tokens_than_parameters():
    """Such a run has barely begun to learn; on the right arm it misplaces the parabola."""
    big = ModelSize(64, 3, 4)  # 150K non-embedding parameters
    profile = dataclasses.replace(MICRO, extra_sizes=(big,), isoflop_budgets=(6e8, 6e10),
                                  isoflop_sizes=("d8-L1", "d16-L1", "d64-L3"),
                                  isoflop_max_tokens=10**8)
    assert non_embedding_params(big) == 12 * 3 * 64 * 64 + 3 * 13 * 64 + 2 * 64
    kept = {(p.flops_budget, p.size.name) for p in grid_points(profile, "isoflop")}
    # At 6e10 FLOPs d64-L3 would take 500 steps (enough) but see only 64K tokens (too few).
    assert (6e8, "d64-L3") not in kept and (6e10, "d64-L3") not in kept
    assert {(6e8, "d8-L1"), (6e8, "d16-L1"), (6e10, "d16-L1")} <= kept
    wider = dataclasses.replace(profile, isoflop_budgets=(6e11,))
    assert "d64-L3" in {p.size.name for p in grid_points(wider, "isoflop")}


def test_run_key_covers_what_decides_the_outcome():
    base = plan(TINY, "model-size", "synthetic", 16, TINY.corpus_options())
    keys = [s.key for s in base]
    assert len(set(keys)) == 5 and all(len(k) == 16 for k in keys)
    assert keys == [s.key for s in plan(TINY, "model-size", "synthetic", 16,
                                        TINY.corpus_options())]
    assert keys[0] != plan(TINY, "model-size", "synthetic", 16, TINY.corpus_options(),
                           seed=1)[0].key
    other_source = {**TINY.corpus_options(), "order": 2}
    assert keys[0] != plan(TINY, "model-size", "synthetic", 16, other_source)[0].key
    assert run_key({"a": 1, "b": [1, 2]}) == run_key({"b": [1, 2], "a": 1})


# -- sweeps -------------------------------------------------------------------------------


def test_sweep_writes_records_and_a_rerun_trains_nothing(tmp_path, monkeypatch):
    out = tmp_path / "runs.jsonl"
    records = sweep("isoflop", profile=MICRO, out=out, progress=False)
    assert [r["size"] for r in records] == ["d8-L1", "d16-L1", "d16-L2"]
    for r in records:
        assert r["grid"] == "isoflop" and r["flops_budget"] == 6e8 and r["profile"] == "tiny"
        assert r["corpus"] == "synthetic" and r["entropy_floor_bpb"] > 1
        assert abs(r["flops"] / 6e8 - 1) < 0.2
    monkeypatch.setattr(runner, "train", lambda *a, **k: pytest.fail("retrained a run"))
    again = sweep("isoflop", profile=MICRO, out=out, progress=False)
    assert [r["run_key"] for r in again] == [r["run_key"] for r in records]
    table = format_table(again)
    assert "C (FLOPs)" in table and "val bpb" in table and "entropy floor H" in table


def test_data_size_runs_see_fresh_tokens_once():
    records = sweep("data-size", profile=MICRO, progress=False)
    assert [r["tokens"] for r in records] == [2_048, 4_096]
    assert {r["train_bytes"] for r in records} == {20_000}  # the whole sample: nothing repeats


def test_a_data_size_grid_longer_than_the_sample_fails_before_training(monkeypatch):
    monkeypatch.setattr(runner, "train", lambda *a, **k: pytest.fail("trained anyway"))
    repeats = dataclasses.replace(MICRO, data_size_tokens=(4_096, 40_960))
    with pytest.raises(ValueError, match="40,960 fresh tokens, more than synthetic's 20,000"):
        sweep("data-size", profile=repeats, progress=False)


def test_repetition_runs_repeat_small_sets():
    records = sweep("repetition", profile=MICRO, progress=False)
    assert [r["train_bytes"] for r in records] == [1_024, 4_096]
    assert all(len(r["val_curve"]) == 9 for r in records)  # 8 points along the way + final


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _micro_sweep_command(out: Path) -> list[str]:
    return ["-m", "scalinglab", "sweep", "--profile", "tiny", "--grid", "model-size",
            "--sizes", "d16-L2,d24-L2,d32-L2", "--tokens", "32768", "--out", str(out),
            "--no-progress"]


def test_a_sweep_killed_with_sigkill_resumes_with_every_run_once(tmp_path):
    out = tmp_path / "runs.jsonl"
    command = [sys.executable, *_micro_sweep_command(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (out.exists() and out.read_bytes().count(b"\n") >= 1):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the sweep wrote nothing within a minute"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    killed_with = len(_lines(out))
    assert 1 <= killed_with < 3, "the kill came after the sweep had finished"
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    records = _lines(out)
    keys = [r["run_key"] for r in records]
    assert len(records) == 3 and len(set(keys)) == 3
    assert sorted(r["size"] for r in records) == ["d16-L2", "d24-L2", "d32-L2"]


def test_torchrun_shards_whole_runs_across_two_gloo_ranks(tmp_path):
    out = tmp_path / "runs.jsonl"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", *_micro_sweep_command(out)]
    command[command.index("32768")] = "8192"
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    records = _lines(out)
    assert sorted(r["size"] for r in records) == ["d16-L2", "d24-L2", "d32-L2"]
    assert len({r["run_key"] for r in records}) == 3
    # Run i of the grid went to rank i mod 2.
    assert {r["size"]: r["rank"] for r in records} == {"d16-L2": 0, "d24-L2": 1, "d32-L2": 0}
    assert {r["world_size"] for r in records} == {2}
    assert result.stdout.count("val bpb") == 1  # only rank 0 prints the table


def test_a_grid_asking_for_more_data_than_the_corpus_fails_before_training(monkeypatch):
    monkeypatch.setattr(runner, "train", lambda *a, **k: pytest.fail("trained anyway"))
    too_big = dataclasses.replace(MICRO, repetition_unique_bytes=(1_024, 50_000))
    with pytest.raises(ValueError, match="50,000 bytes, more than synthetic's 20,000"):
        sweep("repetition", profile=too_big, progress=False)

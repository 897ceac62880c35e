"""Data-parallel training of one model: two gloo ranks follow one process's loss curve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from scalinglab.data import get_batch, load_corpus
from scalinglab.ddp import BatchSplit, check_torchrun_env, main, rank_batch, train_data_parallel
from scalinglab.profiles import TINY
from scalinglab.train import TrainConfig, train_model

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN_ENV = {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2",
                "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29599"}

# A micro run: d16-L2 on a small synthetic sample, 8 steps of a global batch of 8 sequences.
SAMPLE = {"train_bytes": 20_000, "val_bytes": 4_096}
RUN_FLAGS = ["--profile", "tiny", "--size", "d16-L2", "--tokens", "2048", "--global-batch", "8",
             "--corpus-train-bytes", "20000", "--corpus-val-bytes", "4096",
             "--eval-tokens", "1024", "--threads", "1", "--curve-points", "1000", "--quiet"]


@pytest.fixture(scope="module")
def corpus():
    return load_corpus("synthetic", **{**TINY.corpus_options(), **SAMPLE})


def _single_process(corpus, accum_steps: int) -> dict:
    config = TINY.size("d16-L2").config(corpus.vocab_size, TINY.seq_len)
    train_config = TrainConfig(tokens=2048, batch_size=8, eval_tokens=1024, lr_base=TINY.lr_base)
    _, record = train_data_parallel(config, corpus, train_config, accum_steps=accum_steps,
                                    num_threads=1, progress=False, curve_points=1000)
    return record


def _clear_torchrun_env(monkeypatch) -> None:
    for name in (*TORCHRUN_ENV, "GROUP_RANK", "TORCHELASTIC_RUN_ID"):
        monkeypatch.delenv(name, raising=False)


def test_two_gloo_ranks_match_one_process_accumulating_the_same_global_batch(tmp_path, corpus,
                                                                             monkeypatch):
    _clear_torchrun_env(monkeypatch)
    out = tmp_path / "record.json"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", "-m", "scalinglab.ddp", *RUN_FLAGS, "--out", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    ddp = json.loads(out.read_text())
    one = _single_process(corpus, accum_steps=2)

    assert (ddp["world_size"], ddp["accum_steps"], ddp["micro_batch"]) == (2, 1, 4)
    assert (one["world_size"], one["accum_steps"], one["micro_batch"]) == (1, 2, 4)
    assert ddp["tokens"] == one["tokens"] == 8 * 8 * TINY.seq_len
    steps = [t for t, _ in one["loss_curve"]]
    assert len(steps) == 8 and [t for t, _ in ddp["loss_curve"]] == steps
    # The model learns, so equal curves are not equal by being flat.
    assert one["loss_curve"][-1][1] < one["loss_curve"][0][1] - 0.5
    # Tolerance: DDP's mean (g_a + g_b) / 2 and accumulation's g_a/2 + g_b/2 are the same sum
    # of the same two micro-batch gradients, so with two ranks they agree to the last bit in
    # practice; a tolerance of 1e-6 (relative) leaves room only for summation order (gloo's
    # bucketed all-reduce may add in another order than backward accumulates), which AdamW's
    # normalisation can amplify over a few steps. It catches a real difference: with every
    # rank taking the same rows (a wrong shard) the first step's loss moves by 0.12 bits.
    for (_, a), (_, b) in zip(ddp["loss_curve"], one["loss_curve"], strict=True):
        assert a == pytest.approx(b, rel=1e-6)
    assert ddp["val_bpb"] == pytest.approx(one["val_bpb"], rel=1e-6)
    assert ddp["train_bpb"] == pytest.approx(one["train_bpb"], rel=1e-6)


def test_one_process_without_accumulation_is_scalinglab_train(corpus):
    # Same batches (one get_batch of the global batch per step) and the same arithmetic.
    config = TINY.size("d16-L2").config(corpus.vocab_size, TINY.seq_len)
    train_config = TrainConfig(tokens=2048, batch_size=8, eval_tokens=1024, lr_base=TINY.lr_base)
    _, plain = train_model(config, corpus, train_config, num_threads=1, progress=False,
                           curve_points=1000)
    ours = _single_process(corpus, accum_steps=1)
    assert [t for t, _ in ours["loss_curve"]] == [t for t, _ in plain["loss_curve"]]
    for (_, a), (_, b) in zip(ours["loss_curve"], plain["loss_curve"], strict=True):
        assert round(a, 5) == pytest.approx(b, abs=1.5e-5)
    assert ours["val_bpb"] == pytest.approx(plain["val_bpb"], rel=1e-6)
    # Accumulating two halves is the same gradient up to float rounding in the matmuls.
    accumulated = _single_process(corpus, accum_steps=2)
    assert accumulated["val_bpb"] == pytest.approx(plain["val_bpb"], abs=1e-3)


def test_rank_shards_tile_the_single_process_batch_and_stay_in_step():
    tokens = np.random.default_rng(1).integers(0, 256, 5_000).astype(np.uint8)
    split = BatchSplit(global_batch=6, world_size=3, accum_steps=1)
    rngs = [np.random.default_rng(7) for _ in range(3)]
    reference = np.random.default_rng(7)
    for _ in range(3):  # successive steps: every rank's generator advances alike
        x_all, y_all = get_batch(tokens, 6, 16, reference)
        shards = [rank_batch(tokens, split, 16, rngs[r], r) for r in range(3)]
        assert all(x.shape == (2, 16) for x, _ in shards)
        assert torch.equal(torch.cat([x for x, _ in shards]), x_all)
        assert torch.equal(torch.cat([y for _, y in shards]), y_all)
    with pytest.raises(ValueError, match="rank 3 is outside a world of 3"):
        rank_batch(tokens, split, 16, reference, 3)


def test_a_global_batch_that_does_not_split_names_the_fix():
    with pytest.raises(ValueError, match=r"does not split evenly over 4 rank\(s\) × 1 "
                                         r".*multiple of 4 \(--global-batch\).*--nproc_per_node"):
        BatchSplit(global_batch=6, world_size=4, accum_steps=1)
    with pytest.raises(ValueError, match="multiple of 6"):
        BatchSplit(global_batch=8, world_size=2, accum_steps=3)
    assert BatchSplit(8, 2, 2).micro_batch == 2


def test_bad_world_size_on_the_command_line_fails_before_joining_a_group(monkeypatch, capsys):
    _clear_torchrun_env(monkeypatch)
    for name, value in {**TORCHRUN_ENV, "WORLD_SIZE": "3"}.items():
        monkeypatch.setenv(name, value)
    # No process group exists on port 29599: reaching init_process_group would hang, not fail.
    assert main([*RUN_FLAGS]) == 1
    err = capsys.readouterr().err
    assert "error: a global batch of 8 sequences does not split evenly over 3 rank(s)" in err
    assert "--nproc_per_node" in err


def test_missing_torchrun_environment_names_the_launcher(monkeypatch, capsys):
    with pytest.raises(RuntimeError, match=r"WORLD_SIZE=2 is set but RANK, MASTER_ADDR, "
                                           r"MASTER_PORT are not: launch with `torchrun "
                                           r"--nproc_per_node=N -m scalinglab.ddp"):
        check_torchrun_env({"WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    with pytest.raises(RuntimeError, match="WORLD_SIZE='zero' is not a positive number"):
        check_torchrun_env({"WORLD_SIZE": "zero"})
    assert check_torchrun_env({}) == 1
    _clear_torchrun_env(monkeypatch)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main([*RUN_FLAGS]) == 1
    assert "launch with `torchrun --nproc_per_node=N" in capsys.readouterr().err


def test_library_call_under_torchrun_without_a_process_group_says_how_to_join(monkeypatch,
                                                                             corpus):
    _clear_torchrun_env(monkeypatch)
    for name, value in TORCHRUN_ENV.items():
        monkeypatch.setenv(name, value)
    config = TINY.size("d16-L2").config(corpus.vocab_size, TINY.seq_len)
    with pytest.raises(RuntimeError, match="process_group"):
        train_data_parallel(config, corpus, TrainConfig(tokens=256, batch_size=8))


def test_help_documents_the_launch(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "torchrun --nproc_per_node=N -m scalinglab.ddp" in text
    assert "--global-batch" in text and "--accum-steps" in text

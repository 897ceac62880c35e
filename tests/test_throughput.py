"""scalinglab.throughput: steady-state tokens/s, FLOPs per token and MFU."""

import pytest
import torch

from scalinglab.model import GPT, GPTConfig
from scalinglab.throughput import (
    Throughput,
    datasheet_peak,
    measure_throughput,
    measured_matmul_peak,
)

SMALL = GPTConfig(vocab_size=32, seq_len=16, n_layer=1, n_head=2, d_model=16)


def test_measure_throughput_reports_the_models_cost():
    result = measure_throughput(SMALL, batch_size=4, seconds=0.05, warmup_steps=1,
                                min_steps=2, num_threads=1)
    model = GPT(SMALL)
    assert result.n_params == model.n_params(non_embedding=True)
    assert result.n_params_total == model.n_params(non_embedding=False)
    assert result.flops_per_token == model.flops_per_token(output_layer=True)
    assert result.steps >= 2 and result.seconds >= 0.05
    assert result.tokens_per_s == pytest.approx(result.steps * 4 * 16 / result.seconds)
    assert result.achieved_flops == result.tokens_per_s * result.flops_per_token
    assert result.mfu(2 * result.achieved_flops) == pytest.approx(0.5)
    assert result.as_dict()["achieved_flops"] == result.achieved_flops


def test_threads_are_restored_and_bad_arguments_refused():
    before = torch.get_num_threads()
    measure_throughput(SMALL, batch_size=2, seconds=0.01, warmup_steps=0, num_threads=1)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="seconds"):
        measure_throughput(SMALL, seconds=0)
    with pytest.raises(ValueError, match="precision"):
        measure_throughput(SMALL, precision="fp8")
    r = Throughput(1, 2, 3.0, 4.0, 1, 0, 1.0, 1, 1, "cpu", "fp32")
    with pytest.raises(ValueError, match="peak"):
        r.mfu(0)


def test_matmul_peak_and_datasheet():
    peak = measured_matmul_peak("cpu", n=128, reps=2, best_of=2)
    assert 1e6 < peak < 1e15
    assert datasheet_peak("cpu") is None
    assert datasheet_peak("cuda", name="NVIDIA H100 80GB HBM3") == 989e12
    assert datasheet_peak("cuda", name="NVIDIA H100 PCIe") == 756e12
    assert datasheet_peak("cuda", name="Tesla T4") == 65e12
    assert datasheet_peak("cuda", name="Some Future GPU") is None


def test_measure_family_keeps_the_best_peak():
    from scalinglab.throughput import best_matmul_rate, measure_family

    configs = [SMALL, GPTConfig(vocab_size=32, seq_len=16, n_layer=2, n_head=2, d_model=32)]
    results, peak = measure_family(configs, batch_size=4, seconds=0.05, num_threads=1,
                                   warmup_steps=1)
    assert [r.n_params for r in results] == [GPT(c).n_params() for c in configs]
    assert peak > 0 and all(r.tokens_per_s > 0 for r in results)
    assert best_matmul_rate("cpu", sizes=(64,), best_of=1) > 0


def test_load_benchmark(tmp_path):
    from scalinglab.throughput import load_benchmark

    assert load_benchmark(tmp_path / "missing.json") is None
    path = tmp_path / "t.json"
    path.write_text('{"rows": [{"size": "d64-L3", "batch": "16x64", "n_params": 170560}],'
                    ' "date": "2026-01-01", "device": "cpu"}')
    row = load_benchmark(path)["rows"][0]
    config = GPTConfig(vocab_size=256, seq_len=64, n_layer=3, n_head=4, d_model=64)
    assert row["n_params_non_embedding"] == GPT(config).n_params() == 150_080
    assert (row["seq_len"], row["batch_size"]) == (64, 16)

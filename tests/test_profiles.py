"""Hardware profiles: their grids, how one is chosen, and the errors a reader can meet."""

from __future__ import annotations

import math
import types

import pytest
import torch

from scalinglab import profiles
from scalinglab.profiles import PROFILES, detect_profile, get_profile, profile_report
from scalinglab.sweep.grids import GRIDS, estimate_seconds, grid_points
from scalinglab.train import resolve_precision


def test_the_four_profiles_of_the_design():
    assert list(PROFILES) == ["tiny", "cpu", "colab", "gpu"]
    assert [PROFILES[n].device for n in PROFILES] == ["cpu", "cpu", "cuda", "cuda"]
    assert len(PROFILES["tiny"].model_sizes) == 5


@pytest.mark.parametrize("name", list(PROFILES))
def test_each_profile_is_consistent(name):
    p = PROFILES[name]
    sizes = [s.name for s in p.model_sizes]
    assert len(set(sizes)) == len(sizes)
    # Families grow: bigger models in the model-size grid, more data in the data grids.
    n = [s.d_model ** 2 * s.n_layer for s in p.model_sizes]
    assert n == sorted(n)
    assert list(p.repetition_unique_bytes) == sorted(p.repetition_unique_bytes)
    assert max(p.repetition_unique_bytes) <= (p.train_bytes or float("inf"))
    assert list(p.data_size_tokens) == sorted(p.data_size_tokens)
    # L(D) sees fresh tokens only: never more than the training sample holds.
    assert max(p.data_size_tokens) <= (p.train_bytes or float("inf"))
    for s in p.model_sizes:
        assert s.d_model % s.n_head == 0
        assert p.size(s.name) is s
    # Every IsoFLOP budget keeps four sizes or more: a parabola and a bootstrap interval.
    for budget in p.isoflop_budgets:
        assert len([q for q in grid_points(p, "isoflop") if q.flops_budget == budget]) >= 4


@pytest.mark.parametrize("name", list(PROFILES))
@pytest.mark.parametrize("grid", GRIDS)
def test_grids_fit_their_budget_by_the_throughput_model(name, grid):
    """Each lab trains one family; the estimate leaves a fifth of the budget for the rest."""
    p = PROFILES[name]
    assert 0 < estimate_seconds(p, grid) <= 0.8 * p.budget_s


def test_the_cpu_reference_design_can_measure_exponents():
    """Wide enough to pin an exponent: >= 2.5 decades of N, each model near convergence;
    >= 5 IsoFLOP budgets over >= 2 decades, >= 5 sizes each; fresh data everywhere."""
    ref = profiles.reference_design("cpu")
    assert ref.name == "cpu" and ref is not PROFILES["cpu"]
    assert profiles.reference_design("tiny") is PROFILES["tiny"]
    n = [profiles.non_embedding_params(s) for s in ref.model_sizes]
    assert math.log10(max(n) / min(n)) >= 2.5
    for size, tokens in zip(ref.model_sizes, ref.model_size_tokens, strict=True):
        assert tokens >= 20 * profiles.non_embedding_params(size)
        assert tokens <= ref.train_bytes
    budgets = ref.isoflop_budgets
    assert len(budgets) >= 5 and math.log10(max(budgets) / min(budgets)) >= 2
    points = grid_points(ref, "isoflop")
    for budget in budgets:
        assert len([q for q in points if q.flops_budget == budget]) >= 5
    assert max(q.tokens for q in points) <= ref.train_bytes


def test_the_cpu_stdlib_reference_reads_ten_megabytes_per_model():
    """Chapter 3's figure compares models with compressors given the 10 MB training text."""
    design = profiles.reference_text_design("cpu", "stdlib")
    assert design.model_sizes == profiles.CPU.model_sizes
    assert min(design.model_size_tokens) >= 10_000_000
    assert profiles.reference_text_design("cpu", "pydocs") is profiles.CPU
    assert profiles.reference_text_design("tiny", "stdlib") is profiles.TINY


def test_unknown_size_lists_the_sizes():
    with pytest.raises(ValueError, match="choose one of d16-L2, d24-L2"):
        PROFILES["tiny"].size("d17-L2")


def test_environment_variable_picks_the_profile(monkeypatch):
    monkeypatch.setenv("SCALINGLAB_PROFILE", "colab")
    assert detect_profile() == ("colab", "SCALINGLAB_PROFILE=colab")
    assert get_profile().name == "colab"
    monkeypatch.setenv("SCALINGLAB_PROFILE", "gpu2")
    with pytest.raises(ValueError) as err:
        get_profile()
    assert str(err.value) == ("unknown profile 'gpu2'; choose one of tiny, cpu, colab, gpu "
                              "(or unset SCALINGLAB_PROFILE)")
    with pytest.raises(ValueError, match="unknown profile 'big'"):
        get_profile("big")


def _fake_gpu(monkeypatch, name: str, memory_gb: float, major: int) -> None:
    monkeypatch.delenv("SCALINGLAB_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    # torch says yes for a T4 too (emulated bf16): detection must not ask it.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    props = types.SimpleNamespace(name=name, total_memory=int(memory_gb * 1e9), major=major)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda *_: props)


def test_detection_from_the_hardware(monkeypatch):
    _fake_gpu(monkeypatch, "NVIDIA H100 80GB HBM3", 85, 9)
    assert detect_profile()[0] == "gpu"
    assert resolve_precision("auto", torch.device("cuda")) == "bf16"
    _fake_gpu(monkeypatch, "Tesla T4", 15.8, 7)
    name, why = detect_profile()
    assert name == "colab" and "Tesla T4" in why and "bf16" not in why
    assert resolve_precision("auto", torch.device("cuda")) == "fp16"
    _fake_gpu(monkeypatch, "NVIDIA RTX A4000", 17, 8)  # bf16 but small: colab's grids
    assert detect_profile()[0] == "colab"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert detect_profile() == ("cpu", "no CUDA GPU found")


def test_asking_for_cuda_without_one_names_the_fix(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="SCALINGLAB_PROFILE=cpu"):
        profiles.resolve_device("cuda")
    assert profiles.resolve_device("auto").type == "cpu"


def test_profile_report_says_profile_reason_device_and_torch(monkeypatch):
    monkeypatch.setenv("SCALINGLAB_PROFILE", "tiny")
    report = profile_report()
    lines = report.splitlines()
    assert lines[0].startswith("profile: tiny (SCALINGLAB_PROFILE=tiny)")
    assert lines[1].startswith("device:  cpu")
    assert torch.__version__ in lines[2] and "threads" in lines[2]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "unavailable" in profile_report("gpu")  # the gpu profile on a CPU machine


def test_corpus_options_size_and_shape_the_synthetic_source_only():
    tiny = PROFILES["tiny"]
    options = tiny.corpus_options("synthetic")
    assert options["vocab_size"] == 16 and options["concentrations"] == [16.0, 8.0, 4.0]
    assert tiny.corpus_options("pydocs") == {}


def test_a_device_that_does_not_exist_is_named_in_one_line():
    with pytest.raises(ValueError) as err:
        profiles.resolve_device("banana")
    assert str(err.value) == "'banana' is not a device; use auto, cpu, cuda, cuda:N or mps"

"""The core commands: info, train, sweep, reference (through scalinglab.cli.main)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from scalinglab import profiles
from scalinglab.cli import main
from scalinglab.model import load_checkpoint
from scalinglab.profiles import TINY, ModelSize
from scalinglab.reference import available, load_reference

MICRO = dataclasses.replace(
    TINY, batch_size=4, model_sizes=(ModelSize(8, 1, 2), ModelSize(16, 1, 2), ModelSize(16, 2, 2)),
    model_size_tokens=(2_048, 2_048, 2_048), data_size_model="d16-L2",
    data_size_tokens=(1_024, 2_048), repetition_model="d8-L1",
    repetition_unique_bytes=(1_024, 2_048), repetition_tokens=2_048,
    isoflop_budgets=(1e9,), isoflop_sizes=("d8-L1", "d16-L1", "d16-L2"),
    isoflop_max_tokens=10**6, eval_tokens=1_024, train_bytes=20_000, val_bytes=4_096,
)


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_info_shows_profile_device_versions_and_corpora(capsys, monkeypatch):
    monkeypatch.setenv("SCALINGLAB_PROFILE", "tiny")
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("profile: tiny (SCALINGLAB_PROFILE=tiny)")
    assert f"torch:   {torch.__version__}" in out and "commit:" in out
    synthetic = next(line for line in out.splitlines() if line.strip().startswith("synthetic"))
    assert "bits/byte" in synthetic
    for name in ("pydocs", "stdlib", "shakespeare", "enwik8"):
        assert name in out


def test_train_saves_a_checkpoint_with_config_and_weights_hash(tmp_path, capsys):
    model_path, record_path = tmp_path / "m.pt", tmp_path / "run.json"
    argv = ["train", "--profile", "tiny", "--size", "d16-L2", "--tokens", "4096",
            "--save", str(model_path), "--record", str(record_path), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "val bpb" in out and "saved" in out
    model, meta = load_checkpoint(model_path)
    record = json.loads(record_path.read_text())
    assert meta["model_config"] == record["model"] and model.config.d_model == 16
    assert meta["corpus"] == "synthetic"
    assert meta["record"]["val_bpb"] == record["val_bpb"]
    assert record["tokens"] == 4096 and record["profile"] == "tiny"
    assert len(meta["weights_sha256"]) == 64


def test_sweep_prints_a_table_of_n_d_c_and_bits_per_byte(tmp_path, capsys):
    out_file = tmp_path / "runs.jsonl"
    argv = ["sweep", "--profile", "tiny", "--grid", "model-size", "--sizes", "d16-L2,d24-L2",
            "--tokens", "2048", "--out", str(out_file), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:2] == ["size", "N"] and "D" in header and "bpb" in header
    assert "2 runs in" in out
    assert len(out_file.read_text().splitlines()) == 2


@pytest.mark.parametrize("argv,message", [
    (["train", "--profile", "gpu2"], "unknown profile 'gpu2'; choose one of tiny, cpu"),
    (["train", "--profile", "tiny", "--size", "d99-L9"], "choose one of d16-L2, d24-L2"),
    (["train", "--profile", "tiny", "--corpus", "wiki"], "unknown corpus 'wiki'"),
    (["sweep", "--profile", "tiny", "--grid", "isoflop", "--tokens", "10", "--out", "x.jsonl"],
     "IsoFLOP grid sets each run's tokens"),
    (["sweep", "--profile", "tiny", "--grid", "model-size", "--sizes", "d7-L1",
      "--out", "x.jsonl"], "not in this grid"),
])
def test_bad_input_exits_1_with_a_message_naming_the_fix(argv, message, capsys, tmp_path,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    assert message in capsys.readouterr().err


def test_cuda_asked_for_on_a_machine_without_one(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["train", "--profile", "tiny", "--device", "cuda", "--tokens", "1024"]) == 1
    assert "SCALINGLAB_PROFILE=cpu" in capsys.readouterr().err


def test_reference_regenerates_resumably_with_provenance(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(profiles.PROFILES, "tiny", MICRO)
    argv = ["reference", "--profile", "tiny", "--only", "model-size", "--corpus", "synthetic",
            "--folder", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    path = tmp_path / "tiny_model-size_synthetic.jsonl"
    assert f"wrote {path}" in capsys.readouterr().out
    records, profile = load_reference("model-size", folder=tmp_path)
    assert profile == "tiny" and len(records) == 3
    for r in records:
        for key in ("commit", "device", "torch", "profile", "seed", "date", "run_key"):
            assert r[key] is not None, key
    before = path.read_bytes()
    assert main(argv) == 0
    assert path.read_bytes() == before  # nothing retrained, nothing rewritten
    assert [a["runs"] for a in available(tmp_path)] == [3]
    with pytest.raises(FileNotFoundError, match="python -m scalinglab reference"):
        load_reference("isoflop", folder=tmp_path)

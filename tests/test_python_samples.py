"""Chapter 12's saved Python samples: the reference's own run, sampled and kept with its record."""

import json
from dataclasses import replace

import pytest

from scalinglab import profiles, python_samples


def test_saved_samples_carry_the_run_record_and_every_prompt(tmp_path, monkeypatch):
    tiny = profiles.TINY
    small = replace(tiny, model_size_tokens=(32_768,) * len(tiny.model_sizes))
    monkeypatch.setattr(python_samples, "reference_text_design", lambda p, c: small)
    monkeypatch.setattr(python_samples, "N_BYTES", 40)
    path = python_samples.write_samples("tiny", tmp_path)
    saved = json.loads(path.read_text())
    record = saved["record"]
    assert record["size"] == tiny.model_sizes[-1].name and record["tokens"] >= 32_768
    assert record["commit"] and record["val_bpb"] > 0 and record["run_key"]
    pairs = {(s["prompt"], s["temperature"]) for s in saved["samples"]}
    assert pairs == {(p.decode(), t) for p in python_samples.PROMPTS
                     for t in python_samples.TEMPERATURES}
    assert all(len(s["text"].encode("utf-8", "surrogateescape")) >= 1 for s in saved["samples"])


def test_the_committed_cpu_samples_come_from_the_reference_run():
    from scalinglab.reference import load_reference

    saved = python_samples.load_samples("cpu")
    records, _ = load_reference("model-size", "stdlib", profile="cpu")
    same = [r for r in records if r["run_key"] == saved["record"]["run_key"]]
    assert same and same[0]["val_bpb"] == pytest.approx(saved["record"]["val_bpb"], abs=1e-3)


def test_missing_samples_name_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(python_samples, "samples_path", lambda p, f=None: tmp_path / "none")
    with pytest.raises(FileNotFoundError, match="python -m scalinglab.python_samples"):
        python_samples.load_samples("cpu")

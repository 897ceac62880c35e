"""Run times recorded per notebook and profile, and where labs keep their sweeps."""

import json
from pathlib import Path

import pytest

from scalinglab.runtimes import (
    format_duration,
    load_run_times,
    record_run_time,
    run_time_table,
)
from scalinglab.sweep import lab_results_path


def test_record_then_table_names_measured_and_missing_profiles(tmp_path):
    path = tmp_path / "run_times.json"
    record_run_time("labs/02_entropy_lab.ipynb", "tiny", 41.26, "cpu: X, 1 thread",
                    commit="abc", path=path, date="2026-11-23")
    record_run_time("labs/02_entropy_lab.ipynb", "cpu", 390.0, "cpu: X, 1 thread", path=path)
    data = load_run_times(path)
    assert data["labs/02_entropy_lab.ipynb"]["tiny"] == {
        "wall_s": 41.3, "device": "cpu: X, 1 thread", "date": "2026-11-23", "commit": "abc"}
    table = run_time_table("labs/02_entropy_lab.ipynb", path=path)
    assert "tiny       41 s" in table and "6.5 min" in table
    assert table.count("not measured yet") == 2  # colab and gpu
    # a second measurement replaces the first, and the file stays valid JSON
    record_run_time("labs/02_entropy_lab.ipynb", "tiny", 30.0, "cpu: X, 1 thread", path=path)
    assert json.loads(path.read_text())["labs/02_entropy_lab.ipynb"]["tiny"]["wall_s"] == 30.0


def test_bad_input_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "run_times.json"
    with pytest.raises(ValueError, match="choose one of tiny"):
        record_run_time("a.ipynb", "gpu2", 1.0, "cpu", path=path)
    with pytest.raises(ValueError, match="positive"):
        record_run_time("a.ipynb", "tiny", float("nan"), "cpu", path=path)
    path.write_text('{"a.ipynb": {"tiny": ')  # torn
    with pytest.raises(ValueError, match="git checkout"):
        load_run_times(path)


def test_committed_run_times_are_valid():
    root = Path(__file__).resolve().parents[1]
    for notebook, by_profile in load_run_times().items():
        assert (root / notebook).is_file(), f"a run time for a notebook not in the book: {notebook}"
        for profile, entry in by_profile.items():
            assert entry["wall_s"] > 0 and entry["device"] and entry["date"], (notebook, profile)


@pytest.mark.parametrize("seconds, text", [(4.2, "4 s"), (390, "6.5 min"), (7200, "2.0 h")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_lab_results_path_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALINGLAB_RESULTS", str(tmp_path / "r"))
    path = lab_results_path("lab01", "tiny", "model-size", "synthetic")
    assert path == tmp_path / "r" / "lab01_tiny_model-size_synthetic.jsonl"
    assert path.parent.is_dir()
    with pytest.raises(ValueError, match="choose one of"):
        lab_results_path("lab01", "huge", "model-size", "synthetic")

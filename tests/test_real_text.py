"""Chapter 3's figure: models against the standard compressors on the same held-out bytes."""

import json
import math

import numpy as np
import pytest

from scalinglab.compress.baselines import BaselineResult
from scalinglab.compress.real_text import (
    crossings,
    load_baselines,
    scored_bytes,
    summary,
    two_part_bpb,
    write_baselines,
)
from scalinglab.train import eval_windows


@pytest.mark.parametrize(("n_val", "seq_len", "eval_tokens"),
                         [(1000, 32, 256), (1000, 32, 10_000), (65, 64, 131_072)])
def test_scored_bytes_are_the_bytes_the_windows_score(n_val, seq_len, eval_tokens):
    val = np.random.default_rng(0).integers(0, 256, n_val).astype(np.uint8)
    windows = eval_windows(val, seq_len, eval_tokens).numpy()
    text = np.frombuffer(scored_bytes(val, seq_len, eval_tokens), dtype=np.uint8)
    assert len(text) == windows[:, 1:].size + 1
    # every predicted byte of every window is the text's next byte, once
    assert np.array_equal(windows[:, 1:].ravel(), text[1:])
    assert np.array_equal(windows[:, 0], text[:-1:seq_len])


def _record(size, n_params, bpb):
    return {"size": size, "n_params": n_params, "val_bpb": bpb}


def test_crossings_name_the_first_model_below_each_baseline_and_the_gap():
    family = [_record("b", 2_000, 2.0), _record("a", 1_000, 2.5), _record("c", 4_000, 1.8)]
    baselines = [BaselineResult("gzip -9", 0, 2.2, 0.0, False),
                 BaselineResult("xz -9e +train", 0, 1.5, 0.0, True)]
    by_name = {c.baseline: c for c in crossings(family, baselines)}
    gzip, xz = by_name["gzip -9"], by_name["xz -9e +train"]
    assert gzip.first_size == "b"          # the smallest model below 2.2, not the first listed
    assert gzip.gap_bpb == pytest.approx(1.8 - 2.2)
    assert gzip.break_even_bytes == pytest.approx(32 * 4_000 / 0.4)
    assert xz.first_size is None and xz.gap_bpb == pytest.approx(0.3)
    assert math.isinf(xz.break_even_bytes)
    assert "missed by 0.300" in xz.sentence() and "from b on" in gzip.sentence()


def test_two_part_code_adds_the_float32_weights_per_byte():
    assert two_part_bpb(_record("a", 1_000, 2.0), 32_000) == pytest.approx(3.0)


def test_baselines_are_saved_with_provenance_and_read_back(tmp_path):
    path = write_baselines("tiny", "pydocs", tmp_path)
    results, header = load_baselines("tiny", "pydocs", tmp_path)
    assert header["held_out_bytes"] == 32_768 + 1 and header["commit"] is not None
    names = {r.name for r in results}
    assert {"gzip -9", "xz -9e", "bz2 -9 +train", "zstd -19 +dict"} <= names
    # given the training text, bz2 and xz never do worse on documentation
    rate = {r.name: r.bits_per_byte for r in results}
    assert rate["bz2 -9 +train"] < rate["bz2 -9"] and rate["xz -9e +train"] < rate["xz -9e"]
    saved = json.loads(path.read_text())
    assert saved["results"][0]["size_bytes"] == results[0].size_bytes


def test_a_corrupted_baselines_file_names_the_fix(tmp_path):
    write_baselines("tiny", "pydocs", tmp_path).write_text('{"results": [{"name": 1}]}')
    with pytest.raises(ValueError, match="delete it and rerun"):
        load_baselines("tiny", "pydocs", tmp_path)


def test_the_summary_names_what_is_beaten_and_the_nearest_miss():
    family = [_record("a", 1_000, 2.5), _record("c", 4_000, 1.8)]
    baselines = [BaselineResult("gzip -9", 0, 2.2, 0.0, False),
                 BaselineResult("bz2 -9 +train", 0, 1.7, 0.0, True),
                 BaselineResult("xz -9e +train", 0, 1.5, 0.0, True)]
    said = summary(crossings(family, baselines))
    assert said.startswith("the largest model beats `gzip -9` and misses")
    assert "`xz -9e +train` and `bz2 -9 +train`" in said or "`bz2 -9 +train` and" in said
    assert "nearest (bz2 -9 +train) by 0.100" in said
    assert summary(crossings(family, baselines[1:])).startswith("the largest model misses")

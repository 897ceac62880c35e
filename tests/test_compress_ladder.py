"""The model ladder: train a micro family, code held-out bytes with each, decode them back."""

from __future__ import annotations

import pytest

from scalinglab.compress.ladder import (
    code_checkpoint,
    code_ladder,
    model_size_tokens,
    train_checkpoint,
    train_ladder,
)
from scalinglab.data import load_corpus
from scalinglab.profiles import get_profile


@pytest.fixture(scope="module")
def micro_ladder(tmp_path_factory):
    corpus = load_corpus("synthetic", train_bytes=20_000, val_bytes=2_000)
    folder = tmp_path_factory.mktemp("ladder")
    ladder = [train_checkpoint(corpus, "tiny", size, folder, tokens=4_096)
              for size in ("d8-L2", "d16-L2")]
    return corpus, folder, ladder


def test_model_size_tokens_follow_the_profile():
    profile = get_profile("tiny")
    tokens = model_size_tokens(profile)
    assert list(tokens) == [s.name for s in profile.model_sizes]
    assert list(tokens.values()) == list(profile.model_size_tokens)


def test_micro_ladder_codes_and_decodes_every_model(micro_ladder):
    corpus, _, ladder = micro_ladder
    held = corpus.val.tobytes()[:300]
    rows = code_ladder(ladder, held, progress=False)
    assert [r["size"] for r in rows] == ["d8-L2", "d16-L2"]
    assert rows[0]["n_params"] < rows[1]["n_params"]
    for row in rows:
        assert row["decoded_ok"] and row["decoded_bytes"] == len(held)
        assert 0 < row["header_bytes"] < row["size_bytes"]
        assert row["bits_per_byte"] == pytest.approx(8 * row["size_bytes"] / len(held))
        assert row["bits_per_byte"] > row["ideal_bits_per_byte"]
        assert abs(row["coder_overhead"]) < 0.01
        assert row["two_part_bits_per_byte"] == pytest.approx(
            8 * (row["weights_bytes"] + row["size_bytes"]) / len(held))
        assert row["encode_kb_per_s"] > 0 and row["decode_kb_per_s"] > 0


def test_prefix_decode_and_resume(micro_ladder):
    corpus, folder, ladder = micro_ladder
    path, record = ladder[0]
    row = code_checkpoint(path, corpus.val.tobytes()[:200], decode_bytes=50)
    assert row["decoded_bytes"] == 50
    # a checkpoint already in the folder is loaded, not trained again
    again = train_ladder(corpus, "tiny", folder, sizes=["d8-L2"], progress=False)
    assert again[0][0] == path and again[0][1] == record


def test_scoreboard_sorts_models_and_baselines_by_size(micro_ladder):
    from scalinglab.compress import run_baselines
    from scalinglab.compress.ladder import scoreboard

    corpus, _, ladder = micro_ladder
    held = corpus.val.tobytes()[:300]
    rows = code_ladder(ladder, held, progress=False)
    table = scoreboard(rows, run_baselines(held, corpus.train.tobytes()), floor=1.5)
    lines = table.splitlines()
    assert lines[1].startswith("entropy floor")
    values = [float(line[22:32]) for line in lines[2:]]
    assert values == sorted(values) and len(values) == 2 + 8

"""scalinglab.families: a family's records as arrays, and the two parameter counts (chapter 6)."""

import numpy as np
import pytest

from scalinglab.families import compare_counting, family_arrays, tokens_per_parameter


def _records(floor=1.5, vocab=256, seq_len=32):
    out = []
    for d, layers in ((16, 2), (32, 2), (64, 3), (128, 4)):
        n = 12 * layers * d * d
        emb = (vocab + seq_len) * d
        out.append({"size": f"d{d}-L{layers}", "model": {"d_model": d, "n_layer": layers},
                    "n_params_non_embedding": n, "n_params": n + emb, "tokens": 100_000,
                    "flops": 6.0 * n * 100_000, "entropy_floor_bpb": floor,
                    "val_bpb": (floor or 0.0) + 3.0 * n ** -0.4})
    return out


def test_family_arrays_sorts_and_fills_columns():
    fam = family_arrays(list(reversed(_records())))
    assert fam.sizes[0] == "d16-L2" and np.all(np.diff(fam.N) > 0)
    assert fam.floor == 1.5 and len(fam) == 4
    assert np.all(fam.N_total > fam.N)
    assert fam.d_model.tolist() == [16, 32, 64, 128]
    assert np.all(np.diff(fam.embedding_share) < 0)
    assert np.allclose(fam.tokens_per_parameter, 100_000 / fam.N)


def test_family_without_floor_is_none():
    assert family_arrays(_records(floor=None)).floor is None


def test_family_rejects_empty_and_mixed():
    with pytest.raises(ValueError, match="no records"):
        family_arrays([])
    recs = _records()
    recs[0]["entropy_floor_bpb"] = 2.0
    with pytest.raises(ValueError, match="mix entropy floors"):
        family_arrays(recs)


def test_tokens_per_parameter_both_counts():
    recs = _records()
    assert np.all(tokens_per_parameter(recs) > tokens_per_parameter(recs, non_embedding=False))


def test_compare_counting_recovers_exponent_and_tilts_with_total():
    cmp = compare_counting(_records(), E=1.5)
    assert cmp.non_embedding.alpha == pytest.approx(0.4, abs=1e-6)
    assert cmp.non_embedding.r2_log == pytest.approx(1.0)
    # total N spans fewer decades, so the same fall in loss needs a steeper exponent
    assert cmp.alpha_change > 0
    assert cmp.straighter == "non-embedding"
    text = cmp.table()
    assert "non-embedding" in text and "total" in text

"""The standard compressors, self-contained and given the training text."""

from __future__ import annotations

import bz2
import lzma

import numpy as np
import pytest

from scalinglab.compress import baseline_sizes, run_baselines


def _functions(indices: range) -> bytes:
    lines = (f"def function_{i}(x):\n    return x * {i} + {i % 7}\n" for i in indices)
    return "".join(lines).encode()


TRAIN = _functions(range(800))
HELD_OUT = _functions(range(800, 900))


def test_self_contained_sizes_are_the_real_compressors_output():
    results = {r.name: r for r in run_baselines(HELD_OUT)}
    assert set(results) == {"gzip -9", "bz2 -9", "xz -9e", "zstd -19"}
    xz = lzma.compress(HELD_OUT, preset=9 | lzma.PRESET_EXTREME)
    assert results["xz -9e"].size_bytes == len(xz)
    assert results["bz2 -9"].size_bytes == len(bz2.compress(HELD_OUT, 9))
    for r in results.values():
        assert r.bits_per_byte == pytest.approx(8 * r.size_bytes / len(HELD_OUT))
        assert 0 < r.bits_per_byte < 8 and not r.given_train


def test_seeing_the_training_text_helps_every_baseline_on_similar_text():
    bpb = baseline_sizes(HELD_OUT, TRAIN)
    for name, given in [("gzip -9", "gzip -9 +train"), ("bz2 -9", "bz2 -9 +train"),
                        ("xz -9e", "xz -9e +train"), ("zstd -19", "zstd -19 +dict")]:
        assert bpb[given] < bpb[name], name


def test_random_bytes_do_not_compress():
    noise = np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    assert min(baseline_sizes(noise).values()) > 7.9
    with pytest.raises(ValueError, match="empty"):
        run_baselines(b"")

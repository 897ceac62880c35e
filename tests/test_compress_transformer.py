"""Transformer coding: bit-identical probabilities on both ends, and refusals that say why.

Round trips use ``allow_stored=False``: an untrained micro model loses to storing, and
the point here is its own code.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compress_micro_model import SOURCE, train_micro

from scalinglab.cli import main
from scalinglab.compress import compress, compress_bytes, decompress_bytes, read_header
from scalinglab.compress.archive import pack_archive, unpack_archive
from scalinglab.compress.quantize import escape_frequencies
from scalinglab.compress.transformer_model import (
    PrequentialTransformer,
    _WindowCoder,
    deterministic_torch,
    window_schedule,
)
from scalinglab.model import GPT, GPTConfig, save_checkpoint

MICRO = {"vocab_size": 256, "seq_len": 16, "n_layer": 1, "n_head": 2, "d_model": 16}
TEXT = (b"To be, or not to be, that is the question: whether 'tis nobler in the mind "
        b"to suffer the slings and arrows of outrageous fortune. ") * 3


def _checkpoint(path, seed=0, **overrides):
    torch.manual_seed(seed)
    save_checkpoint(GPT(GPTConfig(**{**MICRO, **overrides})), path)
    return path


@pytest.fixture(scope="module")
def micro_pt(tmp_path_factory):
    return _checkpoint(tmp_path_factory.mktemp("ckpt") / "micro.pt")


def test_window_schedule_covers_every_position_once_with_long_context():
    for n, seq_len, stride in [(1, 8, 4), (2, 8, 4), (100, 16, 8), (101, 16, 16), (57, 8, 1)]:
        blocks = window_schedule(n, seq_len, stride)
        targets = [t for _, _, first, end in blocks for t in range(first, end)]
        assert targets == list(range(1, n))
        for start, stop, first, end in blocks:
            assert 0 <= start and stop - start <= seq_len and stop == end - 1
            if first > seq_len:  # past the first window: at least seq_len - stride + 1 bytes
                assert first - start >= seq_len - stride + 1
    with pytest.raises(ValueError, match="stride"):
        window_schedule(10, 8, 9)


def test_decoder_view_gives_bit_identical_frequencies(micro_pt):
    """The sequential decoder's window (zeros after the target) yields the encoder's integers."""
    from scalinglab.model import load_checkpoint

    model, _ = load_checkpoint(micro_pt)
    coder = _WindowCoder(model, stride=8, escape_bits=10)
    x = np.frombuffer(TEXT[:120], dtype=np.uint8)
    with deterministic_torch():
        for start, stop, first, end in window_schedule(len(x), 16, 8):
            window = x[start:stop]
            full = escape_frequencies(coder.block_probabilities(window, first, end, start))
            for t in range(first, end):
                hidden = window.copy()
                hidden[t - start :] = 0
                partial = coder.block_probabilities(hidden, first, end, start)
                assert np.array_equal(escape_frequencies(partial)[t - first], full[t - first])


def test_pretrained_round_trip_and_header(micro_pt):
    for chunk_bytes in (0, 2048, 50):
        result = compress(TEXT, micro_pt, chunk_bytes=chunk_bytes, allow_stored=False)
        assert decompress_bytes(result.archive, checkpoint=micro_pt) == TEXT
        spec = read_header(result.archive)["model"]
        assert spec["name"] == "pretrained" and spec["torch"] == torch.__version__
        assert len(spec["weights_sha256"]) == 64 and spec["checkpoint"] == "micro.pt"
        assert result.header_bytes < 390  # small beside the book's 4-12 KB samples
        assert spec["chunk_bytes"] == chunk_bytes and spec["escape_bits"] == 10
        n_params = sum(p.numel() for p in GPT(GPTConfig(**MICRO)).parameters())
        assert result.weights_bytes == 4 * n_params
        assert result.adjusted_bits_per_byte > result.bits_per_byte
        # the coder adds little to the ideal code length of the integer probabilities
        assert result.ideal_bits <= 8 * result.payload_bytes <= result.ideal_bits * 1.002 + 64
    for data in (b"", b"Q"):
        archive = compress(data, micro_pt, allow_stored=False).archive
        assert decompress_bytes(archive, checkpoint=micro_pt) == data


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=80), chunk_bytes=st.sampled_from([0, 7, 2048]))
def test_pretrained_round_trips_arbitrary_bytes(micro_pt, data, chunk_bytes):
    archive = compress(data, micro_pt, chunk_bytes=chunk_bytes, allow_stored=False).archive
    assert decompress_bytes(archive, checkpoint=micro_pt) == data


def test_cli_with_a_checkpoint(tmp_path, capsys):
    pt = train_micro(tmp_path / "trained.pt")
    source, packed, restored = tmp_path / "in.txt", tmp_path / "in.slz", tmp_path / "out.txt"
    text = SOURCE[:3000]
    source.write_bytes(text)
    assert main(["compress", str(source), str(packed), "--model", str(pt),
                 "--chunk-bytes", "512"]) == 0
    out = capsys.readouterr().out
    assert "float32 weights" in out and "prequential not measured" in out
    assert main(["decompress", str(packed), str(restored)]) == 1
    assert "pass that checkpoint" in capsys.readouterr().err and not restored.exists()
    assert main(["decompress", str(packed), str(restored), "--model", str(pt)]) == 0
    assert "with the" in capsys.readouterr().out
    assert restored.read_bytes() == text


def test_pretrained_refuses_another_checkpoint_or_none(micro_pt, tmp_path):
    archive = compress(TEXT[:40], micro_pt, allow_stored=False).archive
    other = _checkpoint(tmp_path / "other.pt", seed=1)
    with pytest.raises(ValueError, match="refusing to decode.*micro.pt"):
        decompress_bytes(archive, checkpoint=other)
    with pytest.raises(ValueError, match="pass that checkpoint"):
        decompress_bytes(archive)


def test_a_different_torch_version_is_refused(micro_pt):
    for archive in (compress(TEXT[:30], micro_pt, allow_stored=False).archive,
                    compress(TEXT[:30], "transformer", config=MICRO, allow_stored=False).archive):
        header, payload = unpack_archive(archive)
        header = {k: v for k, v in header.items() if not k.startswith("payload_")}
        header["model"]["torch"] = "1.0.0"
        with pytest.raises(ValueError, match="coded with torch 1.0.0"):
            decompress_bytes(pack_archive(header, payload), checkpoint=micro_pt)


def test_small_vocab_model_codes_small_symbols_and_any_other_byte(tmp_path):
    symbols = bytes(np.random.default_rng(0).integers(0, 16, 3000).astype(np.uint8))
    pt = train_micro(tmp_path / "v16.pt", text=symbols, steps=30, vocab_size=16)
    result = compress(symbols, pt, chunk_bytes=512)
    assert decompress_bytes(result.archive, checkpoint=pt) == symbols
    assert not result.stored and result.payload_bits_per_byte < 4.2  # log2(16) = 4, not 8
    # a compressor accepts every file: bytes the vocabulary lacks go through the escape
    for data in (b"\x01\x02\x03\xc8", bytes(range(256)), symbols[:1000] + SOURCE[:500]):
        archive = compress(data, pt, chunk_bytes=512, allow_stored=False).archive
        assert decompress_bytes(archive, checkpoint=pt) == data
        assert len(compress_bytes(data, pt, chunk_bytes=512)) <= len(data) + 64


@pytest.mark.parametrize("chunk_bytes", [0, 2048])
@pytest.mark.parametrize("data", [b"", b"z", TEXT[:200], bytes(range(256))])
def test_prequential_round_trip(data, chunk_bytes):
    options = {"config": MICRO, "update_bytes": 64, "steps": 2, "batch_size": 4, "seed": 3,
               "chunk_bytes": chunk_bytes}
    archive = compress(data, "transformer", allow_stored=False, **options).archive
    spec = read_header(archive)["model"]
    assert spec["seed"] == 3 and spec["update_bytes"] == 64 and spec["torch"] == torch.__version__
    assert decompress_bytes(archive) == data


def test_prequential_training_is_what_the_decoder_must_repeat():
    data = TEXT[:300]
    options = {"config": MICRO, "update_bytes": 64, "steps": 3, "batch_size": 4}
    archive = compress(data, "transformer", allow_stored=False, **options).archive
    header, payload = unpack_archive(archive)
    header = {k: v for k, v in header.items() if not k.startswith("payload_")}
    header["model"]["seed"] = 1  # a decoder that trains from another seed drifts away
    with pytest.raises(ValueError, match="CRC-32|corrupted"):
        decompress_bytes(pack_archive(header, payload))
    # and learning pays: the same model without its online steps stays near 8 bits/byte
    untrained = compress(data, "transformer", allow_stored=False, **{**options, "steps": 0})
    trained = compress(data, "transformer", allow_stored=False, **options)
    assert untrained.ideal_bits_per_byte > 7.9 and untrained.stored_chunks == 1
    assert trained.ideal_bits_per_byte < untrained.ideal_bits_per_byte - 0.3


def test_prequential_options_are_checked():
    with pytest.raises(ValueError, match="multiple of the stride"):
        PrequentialTransformer(MICRO, update_bytes=50, chunk_bytes=0)  # the sequential coder
    PrequentialTransformer(MICRO, update_bytes=50)  # chunks: training waits for a block's end
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        compress_bytes(b"abc", "missing-model.pt")

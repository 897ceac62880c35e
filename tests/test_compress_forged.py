"""Archives that cannot be forged into harm, and paths that fail in one line.

A forged header carries valid checksums (we recompute them), so only the field
checks stand between it and the decoder: each bad field must be refused with one
line that names it, never a traceback, a huge allocation or an endless decode.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from test_compress_micro_model import MICRO, SOURCE

from scalinglab.cli import main
from scalinglab.compress import RangeDecoder, compress, decompress_bytes, read_header
from scalinglab.compress.archive import MAGIC, crc32, pack_archive, unpack_archive
from scalinglab.model import GPT, GPTConfig, save_checkpoint

HEX = "ab" * 32
TEXT = SOURCE[:1500]


@pytest.fixture(scope="module")
def micro_pt(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("forged") / "micro.pt"
    save_checkpoint(GPT(GPTConfig(**MICRO)), path)
    return path


@pytest.fixture(scope="module")
def archives(micro_pt):
    online = {"config": MICRO, "update_bytes": 256, "steps": 1, "batch_size": 2,
              "chunk_bytes": 256}
    return {
        "order2": compress(TEXT, "order2", allow_stored=False).archive,
        "primed": compress(TEXT, "order2", prime=SOURCE[2000:4000], allow_stored=False).archive,
        "pretrained": compress(TEXT[:300], micro_pt, chunk_bytes=128,
                               allow_stored=False).archive,
        "transformer": compress(TEXT[:300], "transformer", allow_stored=False, **online).archive,
        "stored": compress(b"plain bytes", "order2").archive,
    }


def _forge(archive: bytes, path: str, value) -> bytes:
    """The archive with header field ``path`` (dots for nesting) set to ``value``."""
    header, payload = unpack_archive(archive)
    header = {k: v for k, v in header.items() if not k.startswith("payload_")}
    node = header
    *parents, last = path.split(".")
    for key in parents:
        node[key] = dict(node[key])
        node = node[key]
    node[last] = value
    return pack_archive(header, payload)


def _refused(archive: bytes, match: str, checkpoint=None, prime=None) -> str:
    with pytest.raises(ValueError, match=match) as info:
        decompress_bytes(archive, checkpoint=checkpoint, prime=prime)
    message = str(info.value)
    assert "\n" not in message
    return message


FORGED = [  # (archive, field, value, what the message must say)
    *[("order2", "original_length", v, "original_length")
      for v in (-1, "5", 1.5, True, None, 2**40, 10**10)],
    *[("order2", "crc32", v, "crc32") for v in (-1, 2**32, "x")],
    *[("order2", "model", v, "'model'") for v in (5, [], "order2")],
    *[("order2", "model.name", v, "unknown model") for v in (5, None, "order7-turbo")],
    *[("order2", "model.det_c", v, "model.det_c") for v in (0, "16", 2**20, None)],
    *[("order2", "model.mix_c", v, "model.mix_c") for v in (-3, 1e9)],
    *[("order2", "model.chunk_bytes", v, "model.chunk_bytes") for v in (0, -5, 2**30, True)],
    *[("order2", "prime", v, "prime") for v in (5, "x", [], {"length": 3},
                                              {"sha256": "zz", "length": 3},
                                              {"sha256": HEX, "length": -1})],
    *[("pretrained", "model.weights_sha256", v, "weights_sha256") for v in (5, "abc")],
    *[("pretrained", "model.stride", v, "model.stride") for v in (0, 10**6, "8")],
    *[("pretrained", "model.chunk_bytes", v, "model.chunk_bytes") for v in (-1, 2**30)],
    *[("pretrained", "model.group_chunks", v, "model.group_chunks") for v in (0, 10**9)],
    *[("pretrained", "model.escape_bits", v, "model.escape_bits") for v in (0, 99)],
    *[("pretrained", "model.sub_batches", v, "model.sub_batches") for v in (0, 1000)],
    ("pretrained", "model.torch", 5, "model.torch"),
    *[("transformer", "model.config", v, "model.config")
      for v in (5, {**MICRO, "d_model": 10**6}, {**MICRO, "foo": 1}, {**MICRO, "n_head": 3},
                {**MICRO, "vocab_size": 1000}, {**MICRO, "bias": "yes"})],
    *[("transformer", f"model.{key}", v, f"model.{key}")
      for key, v in [("seed", -1), ("seed", "x"), ("update_bytes", 0), ("steps", 10**9),
                     ("batch_size", 0), ("lr", "x"), ("lr", -1), ("lr", float("inf")),
                     ("stride", 0), ("chunk_bytes", -1), ("group_chunks", 0),
                     ("sub_batches", 99), ("escape_bits", 17)]],
    *[("stored", "crc32", v, "crc32") for v in (-1, "x")],
]


@pytest.mark.parametrize("name,field,value,match", FORGED,
                         ids=[f"{n}-{f}={v!r}"[:60] for n, f, v, _ in FORGED])
def test_each_forged_header_field_is_refused_in_one_line(archives, micro_pt, name, field,
                                                         value, match):
    archive = archives[name]
    if name == "stored":  # a stored header has no payload fields to strip
        header, payload = unpack_archive(archive)
        text = json.dumps({"crc32": value, "model": {"name": "stored"}}).encode()
        head = struct.pack("<4sBI", MAGIC, 2, len(text)) + text
        forged = head + struct.pack("<I", crc32(head)) + payload
    else:
        forged = _forge(archive, field, value)
    prime = SOURCE[2000:4000] if name == "primed" else None
    _refused(forged, match, checkpoint=micro_pt, prime=prime)


def test_a_huge_original_length_is_refused_before_anything_is_allocated(archives, micro_pt):
    for name in ("order2", "pretrained", "transformer"):
        for n in (10**10, 2**36):
            message = _refused(_forge(archives[name], "original_length", n),
                               "cannot come from", checkpoint=micro_pt)
            assert "original_length" in message


def test_decoding_stops_once_it_reads_past_the_code(archives, micro_pt):
    for name in ("order2", "pretrained"):
        n = read_header(archives[name])["original_length"]
        forged = _forge(archives[name], "original_length", n + 5000)
        _refused(forged, "past the end|CRC-32|corrupted", checkpoint=micro_pt)
    dec = RangeDecoder(b"\x01\x02")
    with pytest.raises(ValueError, match="corrupted archive: the decoder read 9 bytes past"):
        for _ in range(100):
            dec.decode_uniform(8)


def test_framing_that_lies_is_refused(archives):
    archive = archives["order2"]
    header_length = struct.unpack_from("<I", archive, 5)[0]
    with pytest.raises(ValueError, match="header claims"):
        decompress_bytes(archive[:5] + struct.pack("<I", 2**31) + archive[9:])
    text = b"[" * 50_000  # JSON nested beyond the parser's recursion limit
    head = struct.pack("<4sBI", MAGIC, 2, len(text)) + text
    with pytest.raises(ValueError, match="not valid JSON|header claims"):
        decompress_bytes(head + struct.pack("<I", crc32(head)))
    header = json.loads(archive[9 : 9 + header_length])
    for key, value in (("payload_length", "12"), ("payload_crc32", -1)):
        text = json.dumps({**header, key: value}).encode()
        head = struct.pack("<4sBI", MAGIC, 2, len(text)) + text
        with pytest.raises(ValueError, match=key):
            decompress_bytes(head + struct.pack("<I", crc32(head)) + archive[13 + header_length:])


def test_version_one_archives_are_refused_by_name(archives):
    archive = archives["order2"]
    with pytest.raises(ValueError, match="format version 1 .*written before chunked coding"):
        decompress_bytes(archive[:4] + b"\x01" + archive[5:])


# -- the CLI: every OSError is one line naming the path ----------------------------------


def _one_line_error(capsys, *parts: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for part in parts:
        assert part in err, (part, err)
    return err


def test_an_output_path_that_is_a_directory_is_refused(tmp_path, capsys):
    source, folder = tmp_path / "in.txt", tmp_path / "folder"
    source.write_bytes(TEXT)
    folder.mkdir()
    for force in ([], ["--force"]):
        assert main(["compress", str(source), str(folder), *force]) == 1
        _one_line_error(capsys, str(folder), "folder")
    packed = tmp_path / "in.slz"
    assert main(["compress", str(source), str(packed)]) == 0
    capsys.readouterr()
    assert main(["decompress", str(packed), str(folder), "--force"]) == 1
    _one_line_error(capsys, str(folder), "folder")
    assert folder.is_dir() and not list(folder.iterdir())


def test_unreadable_inputs_and_unwritable_outputs_fail_in_one_line(tmp_path, capsys,
                                                                   monkeypatch):
    source, out = tmp_path / "in.txt", tmp_path / "out.slz"
    source.write_bytes(TEXT)
    assert main(["compress", str(tmp_path), str(out)]) == 1  # IN is a folder
    _one_line_error(capsys, str(tmp_path), "folder")
    assert main(["compress", str(source), str(out), "--prime", str(tmp_path / "nope")]) == 1
    _one_line_error(capsys, "nope", "does not exist")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("scalinglab.commands.compress.write_atomic", denied)
    assert main(["compress", str(source), str(out)]) == 1
    _one_line_error(capsys, str(out), "Permission denied")
    monkeypatch.setattr(Path, "read_bytes", denied)
    assert main(["compress", str(source), str(out)]) == 1
    _one_line_error(capsys, str(source), "Permission denied")

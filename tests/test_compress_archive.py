"""The archive format and the CLI: damaged input is refused and leaves no output behind."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

import scalinglab.compress.context_models as context_models
from scalinglab.cli import main
from scalinglab.compress import compress_bytes, decompress_bytes, pack_archive, unpack_archive
from scalinglab.compress.archive import MAGIC, crc32, write_atomic

TEXT = Path(context_models.__file__).read_bytes()  # a real file that ships with the package


@pytest.fixture(scope="module")
def archive() -> bytes:
    return compress_bytes(TEXT[:3000], "order2")


def test_archive_layout(archive):
    assert archive[:4] == MAGIC and archive[4] == 2
    (length,) = struct.unpack_from("<I", archive, 5)
    header = json.loads(archive[9 : 9 + length])
    assert header["original_length"] == 3000
    assert header["crc32"] == crc32(TEXT[:3000])
    assert header["model"]["name"] == "order2"
    assert len(archive) == 9 + length + 4 + header["payload_length"]


def test_truncated_archives_are_rejected_at_every_length(archive):
    for cut in [0, 3, 5, 8, 9, 20, len(archive) // 2, len(archive) - 1]:
        with pytest.raises(ValueError, match="truncated|not a scalinglab archive"):
            decompress_bytes(archive[:cut])


def test_every_corrupted_byte_is_caught(archive):
    # Flip one bit at a spread of offsets covering magic, version, header and payload.
    for offset in range(0, len(archive), 7):
        damaged = bytearray(archive)
        damaged[offset] ^= 0x10
        with pytest.raises(ValueError):
            decompress_bytes(bytes(damaged))


def test_specific_errors_name_the_problem(archive):
    with pytest.raises(ValueError, match="magic"):
        decompress_bytes(b"PK\x03\x04" + archive[4:])
    with pytest.raises(ValueError, match="version 9"):
        decompress_bytes(archive[:4] + b"\x09" + archive[5:])
    with pytest.raises(ValueError, match="unexpected bytes"):
        decompress_bytes(archive + b"\x00")


def test_a_consistent_archive_with_a_wrong_crc_is_refused(archive):
    # Rebuild the archive with valid framing but the CRC of different bytes: only
    # the final check on the decoded output can notice.
    header, payload = unpack_archive(archive)
    header = {k: v for k, v in header.items() if not k.startswith("payload_")}
    header["crc32"] ^= 1
    with pytest.raises(ValueError, match="CRC-32 of the original"):
        decompress_bytes(pack_archive(header, payload))


def test_unknown_model_in_header_is_refused(archive):
    header, payload = unpack_archive(archive)
    header = {k: v for k, v in header.items() if not k.startswith("payload_")}
    header["model"] = {"name": "order7-turbo"}
    with pytest.raises(ValueError, match="unknown model"):
        decompress_bytes(pack_archive(header, payload))


def test_write_atomic_leaves_no_temporary_files(tmp_path):
    write_atomic(tmp_path / "out.bin", b"abc")
    assert (tmp_path / "out.bin").read_bytes() == b"abc"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_atomic(tmp_path / "missing" / "out.bin", b"abc")


# -- the CLI ---------------------------------------------------------------------------


def test_cli_round_trip_of_a_real_file_is_byte_identical(tmp_path, capsys):
    source = tmp_path / "context_models.py"
    source.write_bytes(TEXT)
    packed, restored = tmp_path / "cm.slz", tmp_path / "cm.py"
    assert main(["compress", str(source), str(packed), "--model", "order3"]) == 0
    out = capsys.readouterr().out
    assert "bits/byte" in out and f"{len(TEXT):,} bytes" in out
    assert packed.stat().st_size < len(TEXT) / 2
    assert main(["decompress", str(packed), str(restored)]) == 0
    assert "CRC-32 verified" in capsys.readouterr().out
    assert restored.read_bytes() == TEXT


def test_cli_prime_round_trip(tmp_path):
    source, prime = tmp_path / "a.txt", tmp_path / "train.txt"
    source.write_bytes(TEXT[5000:7000])
    prime.write_bytes(TEXT[:5000])
    packed, restored = tmp_path / "a.slz", tmp_path / "b.txt"
    assert main(["compress", str(source), str(packed), "--model", "order2",
                 "--prime", str(prime)]) == 0
    assert main(["decompress", str(packed), str(restored)]) == 1  # prime missing
    assert not restored.exists()
    assert main(["decompress", str(packed), str(restored), "--prime", str(prime)]) == 0
    assert restored.read_bytes() == source.read_bytes()


def test_cli_refuses_damaged_archives_and_writes_nothing(tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_bytes(TEXT[:2000])
    packed = tmp_path / "in.slz"
    assert main(["compress", str(source), str(packed)]) == 0
    blob = packed.read_bytes()
    flipped = blob[:-3] + bytes([blob[-3] ^ 1]) + blob[-2:]
    for name, damaged in [("cut", blob[:-5]), ("flip", flipped)]:
        bad = tmp_path / f"{name}.slz"
        bad.write_bytes(damaged)
        target = tmp_path / f"{name}.out"
        assert main(["decompress", str(bad), str(target)]) == 1
        assert "error:" in capsys.readouterr().err
        assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.slz", "flip.slz", "in.slz",
                                                          "in.txt"]


def test_cli_refuses_to_overwrite_without_force(tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_bytes(b"hello hello hello")
    target = tmp_path / "out.slz"
    target.write_bytes(b"precious")
    assert main(["compress", str(source), str(target)]) == 1
    assert "--force" in capsys.readouterr().err
    assert target.read_bytes() == b"precious"
    assert main(["compress", str(source), str(target), "--force"]) == 0
    assert main(["compress", str(source), str(source)]) == 1
    assert main(["compress", str(tmp_path / "nope"), str(tmp_path / "x")]) == 1
    assert main(["compress", str(source), str(tmp_path / "y"), "--model", "order9"]) == 1
    assert "unknown model 'order9'" in capsys.readouterr().err

"""The archive format: what a decoder needs, in front of the code, and nothing half-written.

Layout (integers little-endian):

    offset  size  field
    0       4     magic b"SLZC"
    4       1     format version (2)
    5       4     header length h
    9       h     header: UTF-8 JSON (sorted keys)
    9 + h   4     CRC-32 of bytes [0, 9 + h): the header's own checksum
    13 + h  …     payload

A **coded** archive's header holds model (the model spec: name, chunk size and
whatever the decoder must rebuild), original_length, crc32 (of the original
bytes), payload_length and payload_crc32; its payload is the range coder's output.
A **stored** archive's header is only ``{"crc32": …, "model": {"name": "stored"}}``
(at most 46 bytes) and its payload is the input itself, so storing costs at most
59 bytes: that is the floor under every compressor here, used whenever a model's
archive would be bigger (random bytes, a script the model never saw, the empty file).

Three checksums, three jobs: the header CRC catches a damaged header before
anything is believed; the payload CRC catches a damaged code before a slow
decoder runs; the CRC of the original proves that what came out is what went in.
Checksums do not prove a header honest, so every field is also checked by type
and range (:mod:`scalinglab.compress.fields`) before it is used.
Files are written to a temporary name in the same folder, flushed, fsynced and
renamed, so a reader never sees half an archive or half a decoded file.

Version 1 (before chunked coding and the escape to storing) is refused with a
message that says so: its binary coder rounded differently, so its streams
cannot be read by this coder.
"""

from __future__ import annotations

import json
import struct
import zlib

from scalinglab._io import write_atomic  # noqa: F401  (re-exported: archives are written with it)
from scalinglab.compress.fields import int_field

MAGIC = b"SLZC"
FORMAT_VERSION = 2
_PREFIX = struct.Struct("<4sBI")
_CRC = struct.Struct("<I")
REQUIRED_KEYS = ("model", "original_length", "crc32", "payload_length", "payload_crc32")
STORED = "stored"
MAX_HEADER_BYTES = 1 << 16
"""A longer header is refused before it is parsed (ours are a few hundred bytes)."""
MAX_ORIGINAL_BYTES = 1 << 36
"""The largest original length a header may state (64 GiB); the payload bounds it further."""
STORED_OVERHEAD_BYTES = _PREFIX.size + _CRC.size + 46
"""What a stored archive adds to its input, at most: prefix, header, header CRC."""


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def _frame(header: dict, payload: bytes) -> bytes:
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    head = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(text)) + text
    return head + _CRC.pack(crc32(head)) + payload


def pack_archive(header: dict, payload: bytes) -> bytes:
    """Magic, version, header (with payload length and CRC added) and payload, as bytes."""
    header = {**header, "payload_length": len(payload), "payload_crc32": crc32(payload)}
    missing = [k for k in REQUIRED_KEYS if k not in header]
    if missing:
        raise ValueError(f"archive header lacks {missing}")
    return _frame(header, payload)


def pack_stored(data: bytes) -> bytes:
    """The input itself behind the smallest header: the archive no model may exceed."""
    return _frame({"crc32": crc32(data), "model": {"name": STORED}}, bytes(data))


def _check_prefix(blob: bytes) -> int:
    if len(blob) < _PREFIX.size:
        raise ValueError(
            f"not a scalinglab archive: {len(blob)} bytes is shorter than the {_PREFIX.size}-byte "
            "prefix (truncated?)"
        )
    magic, version, length = _PREFIX.unpack_from(blob)
    if magic != MAGIC:
        raise ValueError(
            f"not a scalinglab archive (magic {magic!r}, expected {MAGIC!r}); "
            "was it written by `python -m scalinglab compress`?"
        )
    if version == 1:
        raise ValueError(
            "archive format version 1 (written before chunked coding) is not readable by this "
            f"scalinglab, which reads version {FORMAT_VERSION}; decode it with the scalinglab "
            "that wrote it and compress it again"
        )
    if version != FORMAT_VERSION:
        raise ValueError(
            f"archive format version {version} is not supported (this scalinglab reads "
            f"version {FORMAT_VERSION}); decode it with the scalinglab that wrote it"
        )
    if length > MAX_HEADER_BYTES:
        raise ValueError(
            f"corrupted archive: its header claims {length:,} bytes (at most "
            f"{MAX_HEADER_BYTES:,} are allowed)"
        )
    return length


def _parse_header(blob: bytes, length: int) -> tuple[dict, bytes]:
    end = _PREFIX.size + length
    if len(blob) < end + _CRC.size:
        raise ValueError("the archive is truncated inside its header")
    head = blob[:end]
    (stored,) = _CRC.unpack_from(blob, end)
    if crc32(head) != stored:
        raise ValueError("the archive's header is corrupted (header CRC-32 mismatch)")
    try:
        header = json.loads(head[_PREFIX.size :].decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"the archive's header is not valid JSON ({err})") from err
    if not isinstance(header, dict):
        raise ValueError("the archive's header is not a JSON object; it is corrupted")
    if not isinstance(header.get("model"), dict):
        raise ValueError("corrupted archive: header field 'model' must be an object")
    return header, blob[end + _CRC.size :]


def unpack_archive(blob: bytes) -> tuple[dict, bytes]:
    """Check an archive's framing, checksums and fields; return (header, payload) or raise.

    A stored archive's header comes back completed (original_length, payload_length,
    payload_crc32), so that every header reads the same way.
    """
    header, payload = _parse_header(blob, _check_prefix(blob))
    crc = int_field(header, "crc32", 0, 0xFFFFFFFF)
    if header["model"].get("name") == STORED:
        if crc32(payload) != crc:
            raise ValueError("the stored archive is corrupted (CRC-32 mismatch)")
        return {**header, "original_length": len(payload), "payload_length": len(payload),
                "payload_crc32": crc}, payload
    missing = [k for k in REQUIRED_KEYS if k not in header]
    if missing:
        raise ValueError(f"the archive's header lacks {missing}; it is corrupted")
    expected = int_field(header, "payload_length", 0, MAX_ORIGINAL_BYTES)
    int_field(header, "original_length", 0, MAX_ORIGINAL_BYTES)
    payload_crc = int_field(header, "payload_crc32", 0, 0xFFFFFFFF)
    if len(payload) < expected:
        raise ValueError(
            f"the archive is truncated: its payload has {len(payload)} of {expected} bytes"
        )
    if len(payload) > expected:
        raise ValueError(
            f"the archive has {len(payload) - expected} unexpected bytes after its payload; "
            "it is corrupted or two files were joined"
        )
    if crc32(payload) != payload_crc:
        raise ValueError("the archive's payload is corrupted (payload CRC-32 mismatch)")
    return header, payload


def header_size_bytes(blob: bytes) -> int:
    """Bytes of framing and header in front of the payload."""
    _, _, length = _PREFIX.unpack_from(blob)
    return _PREFIX.size + length + _CRC.size

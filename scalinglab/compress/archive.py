"""The archive format: what a decoder needs, in front of the code, and nothing half-written.

Layout (integers little-endian):

    offset  size  field
    0       4     magic b"SLZC"
    4       1     format version (1)
    5       4     header length h
    9       h     header: UTF-8 JSON (sorted keys) with at least
                  model (the model spec: name and whatever the decoder must rebuild),
                  original_length, crc32 (of the original bytes),
                  payload_length, payload_crc32
    9 + h   4     CRC-32 of bytes [0, 9 + h): the header's own checksum
    13 + h  …     payload: the range coder's output (and a model's side table)

Three checksums, three jobs: the header CRC catches a damaged header before
anything is believed; the payload CRC catches a damaged code before a slow
decoder runs; the CRC of the original proves that what came out is what went in.
Files are written to a temporary name in the same folder, flushed, fsynced and
renamed, so a reader never sees half an archive or half a decoded file.
"""

from __future__ import annotations

import json
import struct
import zlib

from scalinglab._io import write_atomic  # noqa: F401  (re-exported: archives are written with it)

MAGIC = b"SLZC"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<4sBI")
_CRC = struct.Struct("<I")
REQUIRED_KEYS = ("model", "original_length", "crc32", "payload_length", "payload_crc32")


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def pack_archive(header: dict, payload: bytes) -> bytes:
    """Magic, version, header (with payload length and CRC added) and payload, as bytes."""
    header = {**header, "payload_length": len(payload), "payload_crc32": crc32(payload)}
    missing = [k for k in REQUIRED_KEYS if k not in header]
    if missing:
        raise ValueError(f"archive header lacks {missing}")
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    head = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(text)) + text
    return head + _CRC.pack(crc32(head)) + payload


def unpack_archive(blob: bytes) -> tuple[dict, bytes]:
    """Check an archive's framing and checksums; return (header, payload) or raise ValueError."""
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
    if version != FORMAT_VERSION:
        raise ValueError(
            f"archive format version {version} is not supported (this scalinglab reads "
            f"version {FORMAT_VERSION}); decode it with the scalinglab that wrote it"
        )
    end = _PREFIX.size + length
    if len(blob) < end + _CRC.size:
        raise ValueError("the archive is truncated inside its header")
    head = blob[:end]
    (stored,) = _CRC.unpack_from(blob, end)
    if crc32(head) != stored:
        raise ValueError("the archive's header is corrupted (header CRC-32 mismatch)")
    try:
        header = json.loads(head[_PREFIX.size :].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"the archive's header is not valid JSON ({err})") from err
    if not isinstance(header, dict):
        raise ValueError("the archive's header is not a JSON object; it is corrupted")
    missing = [k for k in REQUIRED_KEYS if k not in header]
    if missing:
        raise ValueError(f"the archive's header lacks {missing}; it is corrupted")
    payload = blob[end + _CRC.size :]
    expected = header["payload_length"]
    if len(payload) < expected:
        raise ValueError(
            f"the archive is truncated: its payload has {len(payload)} of {expected} bytes"
        )
    if len(payload) > expected:
        raise ValueError(
            f"the archive has {len(payload) - expected} unexpected bytes after its payload; "
            "it is corrupted or two files were joined"
        )
    if crc32(payload) != header["payload_crc32"]:
        raise ValueError("the archive's payload is corrupted (payload CRC-32 mismatch)")
    return header, payload


def header_size_bytes(blob: bytes) -> int:
    """Bytes of framing and header in front of the payload."""
    _, _, length = _PREFIX.unpack_from(blob)
    return _PREFIX.size + length + _CRC.size

"""``compress_bytes`` / ``decompress_bytes``: a model's bits per byte as a file you can open.

``compress(data, model)`` picks a model, codes ``data`` with the range coder,
wraps the code in an archive (see :mod:`scalinglab.compress.archive`) and
reports what it cost next to the ideal code length of the probabilities it used.
The models:

* ``"static"``: static order-0, its frequency table sent in front;
* ``"order0"`` … ``"order5"``: adaptive blended context models;
* ``"transformer"``: a transformer trained online by both ends (prequential);
* a path to a checkpoint ``MODEL.pt``: that pre-trained transformer.

``prime`` lets a count model read a text (the training split, say) before it
codes; the decoder must be given the same text, as it would a dictionary, and
the archive records its SHA-256 so a wrong one is refused.

**Never worse than storing.** Inside an archive, each chunk is coded or stored,
whichever is shorter; and if the model's whole archive would still be bigger
than the input behind a stored archive's 59-byte header, the stored archive is
written instead. So no input grows by more than 59 bytes, whatever the model.

**Three rates** (Delétang et al., 2023, table 1; Blier & Ollivier, 2018). The
*raw* rate is the archive alone. The *adjusted* rate adds what the decoder must
already hold: a checkpoint's float32 weights, or a count model's prime text. The
*prequential* rate is that of a model which learns while it codes and so needs
nothing but the archive: it *is* the raw rate for the adaptive count models and
the online transformer, and ``compress(..., prequential=True)`` measures it for a
checkpoint (the same architecture trained online) or a primed model (unprimed).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from scalinglab.compress.archive import (
    MAX_ORIGINAL_BYTES,
    STORED,
    crc32,
    header_size_bytes,
    pack_archive,
    pack_stored,
    unpack_archive,
)
from scalinglab.compress.context_models import MAX_ORDER, AdaptiveOrderK, StaticOrder0
from scalinglab.compress.fields import int_field, sha256_field

COUNT_MODELS = ("static", *(f"order{k}" for k in range(MAX_ORDER + 1)))
MODEL_NAMES = (*COUNT_MODELS, "transformer")
"""Every model name ``compress`` accepts (besides a checkpoint path, MODEL.pt)."""


def _rate(bits: float, n: int) -> float:
    """Bits per byte; undefined (nan) for an empty input, which has no rate."""
    return bits / n if n else math.nan


@dataclass(frozen=True)
class CompressionResult:
    """An archive and what it cost: sizes, ideal code length, the three rates, time."""

    archive: bytes = field(repr=False)
    model: str
    original_bytes: int
    payload_bytes: int
    ideal_bits: float
    """Sum of -log2 of the integer probabilities the payload codes: the coder's lower bound."""
    wall_s: float
    weights_bytes: int = 0
    """What the decoder must already hold: a checkpoint's float32 weights, a prime text."""
    stored: bool = False
    """The model's archive was bigger than storing the input, so the input is stored."""
    model_archive_bytes: int | None = None
    """Size of the model's own archive (bigger than ``size_bytes`` when ``stored``)."""
    chunk_bytes: int | None = None
    chunks: int = 0
    stored_chunks: int = 0
    """Chunks inside the model's archive that were stored rather than coded."""
    prequential_bytes: int | None = None
    """Archive size of a model that learns as it codes (None where not measured)."""

    @property
    def size_bytes(self) -> int:
        return len(self.archive)

    @property
    def header_bytes(self) -> int:
        return self.size_bytes - self.payload_bytes

    @property
    def bits_per_byte(self) -> float:
        """Raw rate: whole archive (header included), in bits per original byte."""
        return _rate(8 * self.size_bytes, self.original_bytes)

    @property
    def payload_bits_per_byte(self) -> float:
        return _rate(8 * self.payload_bytes, self.original_bytes)

    @property
    def ideal_bits_per_byte(self) -> float:
        """The ideal code length of the coded probabilities: the number a coder chases."""
        return _rate(self.ideal_bits, self.original_bytes)

    @property
    def coder_overhead(self) -> float:
        """Payload bits over ideal bits, minus one (0.001 = 0.1 %); never negative."""
        return 8 * self.payload_bytes / self.ideal_bits - 1 if self.ideal_bits else 0.0

    @property
    def adjusted_bits_per_byte(self) -> float:
        """(archive + weights or prime text) in bits per byte: the two-part cost."""
        return _rate(8 * (self.size_bytes + self.weights_bytes), self.original_bytes)

    @property
    def two_part_bits_per_byte(self) -> float:
        """Same as :attr:`adjusted_bits_per_byte` (the name chapter 3 uses)."""
        return self.adjusted_bits_per_byte

    @property
    def prequential_bits_per_byte(self) -> float | None:
        """Rate of the online code, which needs no weights (None where not measured)."""
        if self.prequential_bytes is None:
            return None
        return _rate(8 * self.prequential_bytes, self.original_bytes)

    @property
    def kb_per_s(self) -> float:
        return self.original_bytes / 1000 / self.wall_s if self.wall_s > 0 else float("inf")


def _is_checkpoint(model: str | os.PathLike) -> bool:
    if isinstance(model, os.PathLike):
        return True
    return str(model).endswith(".pt") or Path(str(model)).is_file()


def make_model(model: str | os.PathLike = "order2", **options):
    """The coder model for a name or a checkpoint path (options go to its constructor)."""
    if not isinstance(model, os.PathLike) and model in COUNT_MODELS:
        if model == "static":
            if options:
                raise ValueError(f"the static model takes no options, got {sorted(options)}")
            return StaticOrder0()
        return AdaptiveOrderK(int(model[5:]), **options)
    if not isinstance(model, os.PathLike) and model == "transformer":
        from scalinglab.compress.transformer_model import PrequentialTransformer

        return PrequentialTransformer(**options)
    if _is_checkpoint(model):
        from scalinglab.compress.transformer_model import PretrainedTransformer

        return PretrainedTransformer(model, **options)
    raise ValueError(
        f"unknown model {str(model)!r}; choose one of {', '.join(MODEL_NAMES)}, "
        "or give a checkpoint path MODEL.pt from `python -m scalinglab train`"
    )


def _prime_record(prime: bytes | None) -> dict | None:
    if not prime:
        return None
    return {"sha256": hashlib.sha256(prime).hexdigest(), "length": len(prime)}


def _learns_online(coder, prime: bytes | None) -> bool:
    return not prime and (coder.name == "transformer" or isinstance(coder, AdaptiveOrderK))


def _prequential_bytes(data: bytes, coder, prime: bytes | None) -> int | None:
    """Archive size of the online counterpart: same architecture, trained as it codes."""
    if coder.name == "pretrained":
        config = {k: v for k, v in vars(coder.model.config).items() if k != "dropout"}
        return compress(data, "transformer", config=config,
                        chunk_bytes=coder.chunk_bytes).size_bytes
    if prime and isinstance(coder, AdaptiveOrderK):
        return compress(data, coder.name, chunk_bytes=coder.chunk_bytes).size_bytes
    return None


def compress(
    data: bytes,
    model: str | os.PathLike = "order2",
    *,
    prime: bytes | None = None,
    prequential: bool = False,
    allow_stored: bool = True,
    **options,
) -> CompressionResult:
    """Code ``data`` with ``model``; return the archive, its sizes, ideal and rates.

    ``prequential=True`` also measures the online counterpart of a checkpoint or a
    primed model (slow for a checkpoint: it trains a model of the same shape).
    ``allow_stored=False`` keeps the model's archive even when storing is smaller
    (to test or time the model's own decoder).
    """
    data = bytes(data)
    coder = make_model(model, **options)
    if prime and coder.name not in COUNT_MODELS:
        raise ValueError(
            "prime (a text read before coding) applies to the count models "
            f"({', '.join(COUNT_MODELS)}); a pre-trained checkpoint already carries its "
            "training text"
        )
    t0 = time.perf_counter()
    payload, ideal = coder.encode(data, prime or b"")
    wall_s = time.perf_counter() - t0
    header = {"model": coder.spec(), "original_length": len(data), "crc32": crc32(data)}
    if prime:
        header["prime"] = _prime_record(prime)
    archive = pack_archive(header, payload)
    model_archive_bytes = len(archive)
    payload_bytes = len(archive) - header_size_bytes(archive)
    stored = pack_stored(data)
    is_stored = allow_stored and len(stored) < len(archive)
    if is_stored:
        archive, payload_bytes, ideal = stored, len(data), 8.0 * len(data)
    if coder.name == "pretrained":
        weights = coder.weights_bytes
    else:
        weights = len(prime) if prime else 0
    chunk_bytes = getattr(coder, "chunk_bytes", None) or None
    if _learns_online(coder, prime):
        online = len(archive)
    else:
        online = _prequential_bytes(data, coder, prime) if prequential else None
    return CompressionResult(
        archive=archive,
        model=coder.name,
        original_bytes=len(data),
        payload_bytes=payload_bytes,
        ideal_bits=ideal,
        wall_s=wall_s,
        weights_bytes=weights,
        stored=is_stored,
        model_archive_bytes=model_archive_bytes,
        chunk_bytes=chunk_bytes,
        chunks=-(-len(data) // chunk_bytes) if chunk_bytes else 0,
        stored_chunks=getattr(coder, "stored_chunks", 0),
        prequential_bytes=online,
    )


def compress_bytes(
    data: bytes, model: str | os.PathLike = "order2", *, prime: bytes | None = None, **options
) -> bytes:
    """The archive for ``data`` (see :func:`compress` for the models)."""
    return compress(data, model, prime=prime, **options).archive


def read_header(archive: bytes) -> dict:
    """An archive's header, after checking its framing, checksums and length fields."""
    return unpack_archive(archive)[0]


def _decoder_for(spec: dict, checkpoint: str | os.PathLike | None):
    name = spec.get("name")
    if name == "static":
        return StaticOrder0()
    if name in COUNT_MODELS:
        return AdaptiveOrderK.from_spec(spec)
    if name == "transformer":
        from scalinglab.compress.transformer_model import PrequentialTransformer

        return PrequentialTransformer.from_spec(spec)
    if name == "pretrained":
        if checkpoint is None:
            recorded = str(spec.get("weights_sha256"))[:12]
            raise ValueError(
                "this archive was coded with the pre-trained checkpoint "
                f"{str(spec.get('checkpoint'))[:80]!r} (weights sha256 {recorded}…); pass that "
                "checkpoint (--model MODEL.pt, or checkpoint=...) to decode it"
            )
        from scalinglab.compress.transformer_model import PretrainedTransformer

        coder = PretrainedTransformer(checkpoint)
        coder.check_spec(spec)
        return coder
    shown = repr(name)[:60]
    raise ValueError(
        f"the archive names an unknown model {shown}; it was written by a newer scalinglab "
        "or is corrupted"
    )


def _check_prime(recorded: object, prime: bytes | None) -> None:
    if recorded is not None:
        if not isinstance(recorded, dict):
            raise ValueError("corrupted archive: header field 'prime' must be an object "
                             f"(sha256, length), got {repr(recorded)[:60]}")
        sha256_field(recorded, "sha256", where="prime.")
        int_field(recorded, "length", 1, MAX_ORIGINAL_BYTES, where="prime.")
    given = _prime_record(prime)
    if recorded == given:
        return
    if recorded is None:
        raise ValueError("this archive was coded without a prime text; decode it without one")
    if given is None:
        raise ValueError(
            f"this archive was coded after priming the model with a {recorded['length']}-byte "
            f"text (sha256 {recorded['sha256'][:12]}…); pass the same text (--prime FILE)"
        )
    raise ValueError(
        f"the prime text given (sha256 {given['sha256'][:12]}…) is not the one the archive "
        f"was coded with (sha256 {recorded['sha256'][:12]}…); pass the same file"
    )


def max_original_length(payload_bytes: int, min_bits_per_byte: float) -> int:
    """The most bytes a payload can decode to, when no byte costs less than the given bits.

    The decoder may read up to 8 zero bytes past the end, so those count too.
    """
    return min(MAX_ORIGINAL_BYTES, int(8 * (payload_bytes + 8) / min_bits_per_byte))


def decompress_bytes(
    archive: bytes,
    *,
    checkpoint: str | os.PathLike | None = None,
    prime: bytes | None = None,
) -> bytes:
    """The original bytes, or ValueError if anything (framing, fields, model, CRC-32) is off."""
    header, payload = unpack_archive(bytes(archive))
    spec = header["model"]
    if spec.get("name") == STORED:
        return payload  # its CRC-32 was checked by unpack_archive
    n = header["original_length"]
    _check_prime(header.get("prime"), prime)
    coder = _decoder_for(spec, checkpoint)
    limit = max_original_length(len(payload), coder.min_bits_per_byte)
    if n > limit:
        raise ValueError(
            f"corrupted archive: original_length {n:,} cannot come from a {len(payload):,}-byte "
            f"payload (model {coder.name} decodes at most {limit:,} bytes from it)"
        )
    data = coder.decode(payload, n, prime or b"")
    if len(data) != n or crc32(data) != header["crc32"]:
        raise ValueError(
            "decoded bytes fail the CRC-32 of the original: the model's probabilities differ "
            "from the encoder's (another machine or torch build?) or the archive is corrupted"
        )
    return data

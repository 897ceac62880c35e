"""``compress_bytes`` / ``decompress_bytes``: a model's bits per byte as a file you can open.

``compress(data, model)`` picks a model, codes ``data`` with the range coder,
wraps the code in an archive (see :mod:`scalinglab.compress.archive`) and
reports what it cost next to the model's ideal code length. The models:

* ``"static"``: static order-0, its frequency table sent in front;
* ``"order0"`` … ``"order5"``: adaptive blended context models;
* ``"transformer"``: a transformer trained online by both ends (prequential);
* a path to a checkpoint ``MODEL.pt``: that pre-trained transformer.

``prime`` lets a count model read a text (the training split, say) before it
codes; the decoder must be given the same text, as it would a dictionary, and
the archive records its SHA-256 so a wrong one is refused.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from scalinglab.compress.archive import crc32, header_size_bytes, pack_archive, unpack_archive
from scalinglab.compress.context_models import MAX_ORDER, AdaptiveOrderK, StaticOrder0

COUNT_MODELS = ("static", *(f"order{k}" for k in range(MAX_ORDER + 1)))
MODEL_NAMES = (*COUNT_MODELS, "transformer")
"""Every model name ``compress`` accepts (besides a checkpoint path, MODEL.pt)."""


@dataclass(frozen=True)
class CompressionResult:
    """An archive and what it cost: sizes, ideal code length, time."""

    archive: bytes = field(repr=False)
    model: str
    original_bytes: int
    payload_bytes: int
    ideal_bits: float
    wall_s: float
    weights_bytes: int | None = None
    """Size of the model's float32 weights when they would have to be sent (pre-trained)."""

    @property
    def size_bytes(self) -> int:
        return len(self.archive)

    @property
    def header_bytes(self) -> int:
        return self.size_bytes - self.payload_bytes

    @property
    def bits_per_byte(self) -> float:
        """Whole archive (header included), in bits per original byte."""
        return 8 * self.size_bytes / max(1, self.original_bytes)

    @property
    def payload_bits_per_byte(self) -> float:
        return 8 * self.payload_bytes / max(1, self.original_bytes)

    @property
    def ideal_bits_per_byte(self) -> float:
        """The model's own code length, sum of -log2 p(byte): the number a coder chases."""
        return self.ideal_bits / max(1, self.original_bytes)

    @property
    def coder_overhead(self) -> float:
        """Payload bits over ideal bits, minus one (0.001 = 0.1 %)."""
        return 8 * self.payload_bytes / self.ideal_bits - 1 if self.ideal_bits else 0.0

    @property
    def two_part_bits_per_byte(self) -> float | None:
        """(weights + archive) in bits per byte, for a model whose weights would be sent."""
        if self.weights_bytes is None:
            return None
        return 8 * (self.weights_bytes + self.size_bytes) / max(1, self.original_bytes)

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


def compress(
    data: bytes, model: str | os.PathLike = "order2", *, prime: bytes | None = None, **options
) -> CompressionResult:
    """Code ``data`` with ``model``; return the archive with its sizes and ideal code length."""
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
    header = {
        "model": coder.spec(),
        "original_length": len(data),
        "crc32": crc32(data),
    }
    if prime:
        header["prime"] = _prime_record(prime)
    archive = pack_archive(header, payload)
    return CompressionResult(
        archive=archive,
        model=coder.name,
        original_bytes=len(data),
        payload_bytes=len(archive) - header_size_bytes(archive),
        ideal_bits=ideal,
        wall_s=wall_s,
        weights_bytes=getattr(coder, "weights_bytes", None) if coder.name == "pretrained" else None,
    )


def compress_bytes(
    data: bytes, model: str | os.PathLike = "order2", *, prime: bytes | None = None, **options
) -> bytes:
    """The archive for ``data`` (see :func:`compress` for the models)."""
    return compress(data, model, prime=prime, **options).archive


def read_header(archive: bytes) -> dict:
    """An archive's header, after checking its framing and checksums."""
    return unpack_archive(archive)[0]


def _decoder_for(spec: dict, checkpoint: str | os.PathLike | None):
    name = spec.get("name") if isinstance(spec, dict) else None
    if name == "static":
        return StaticOrder0()
    if name in COUNT_MODELS:
        try:
            return AdaptiveOrderK(
                int(name[5:]),
                det_concentration=spec["det_c"],
                mix_concentration=spec["mix_c"],
            )
        except KeyError as err:
            raise ValueError(f"the archive's model spec lacks {err}; it is corrupted") from err
    if name == "transformer":
        from scalinglab.compress.transformer_model import PrequentialTransformer

        return PrequentialTransformer.from_spec(spec)
    if name == "pretrained":
        if checkpoint is None:
            recorded = str(spec.get("weights_sha256"))[:12]
            raise ValueError(
                "this archive was coded with the pre-trained checkpoint "
                f"{spec.get('checkpoint')!r} (weights sha256 {recorded}…); pass that "
                "checkpoint (--model MODEL.pt, or checkpoint=...) to decode it"
            )
        from scalinglab.compress.transformer_model import PretrainedTransformer

        coder = PretrainedTransformer(checkpoint)
        coder.check_spec(spec)
        return coder
    raise ValueError(
        f"the archive names an unknown model {name!r}; it was written by a newer scalinglab "
        "or is corrupted"
    )


def decompress_bytes(
    archive: bytes,
    *,
    checkpoint: str | os.PathLike | None = None,
    prime: bytes | None = None,
) -> bytes:
    """The original bytes, or ValueError if anything (framing, model, CRC-32) does not match."""
    header, payload = unpack_archive(bytes(archive))
    n = header["original_length"]
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"the archive's original_length {n!r} is invalid; it is corrupted")
    recorded = header.get("prime")
    given = _prime_record(prime)
    if recorded != given:
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
    coder = _decoder_for(header["model"], checkpoint)
    data = coder.decode(payload, n, prime or b"")
    if len(data) != n or crc32(data) != header["crc32"]:
        raise ValueError(
            "decoded bytes fail the CRC-32 of the original: the model's probabilities differ "
            "from the encoder's (another machine or torch build?) or the archive is corrupted"
        )
    return data

"""A transformer from :mod:`scalinglab.model` as the range coder's model, used two ways.

**Pre-trained** (``PretrainedTransformer``): a checkpoint from ``python -m
scalinglab train`` is shared by encoder and decoder, the way two ends share a
dictionary. The archive records the weights' SHA-256 and the decoder refuses any
other checkpoint. Its honest cost is two-part: the weights plus the code
(Grünwald, 2007, ch. 1); both are reported.

**Prequential** (``PrequentialTransformer``): encoder and decoder build the same
model from the same seed and train it online on the bytes coded so far, so
nothing is shared but the code. The code length is then the model's
prequential description length (Dawid, 1984; Blier & Ollivier, 2018): the area
under its online learning curve, with no weights to pay for.

**Two coders.** By default the file is cut into chunks that are coded as one
batch with a key/value cache (:mod:`scalinglab.compress.chunked`): fast both
ways, at the price of no context across chunk boundaries. ``chunk_bytes=0``
keeps the first design (:mod:`scalinglab.compress.sequential`): one stream with
the most context, decoded with one full window per byte. Both mix the model with
a uniform escape over all 256 byte values
(:func:`~scalinglab.compress.quantize.escape_frequencies`), so a model with a
16-symbol vocabulary still codes any file.

All of it runs on the CPU with one thread and deterministic kernels
(:mod:`scalinglab.compress.windows`); decoding under another torch is refused.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import torch

from scalinglab.compress.arithmetic import RangeDecoder, RangeEncoder
from scalinglab.compress.chunked import (
    CHUNK_BYTES,
    MAX_CHUNK_BYTES,
    MAX_GROUP_CHUNKS,
    MAX_SUB_BATCHES,
    SUB_BATCHES,
    chunk_groups,
    decode_group,
    default_group_chunks,
    encode_group,
    max_group_chunks,
)
from scalinglab.compress.fields import (
    dict_field,
    float_field,
    int_field,
    sha256_field,
    str_field,
)
from scalinglab.compress.quantize import ESCAPE_BITS, FREQUENCY_TOTAL_BITS, min_symbol_bits
from scalinglab.compress.sequential import _WindowCoder
from scalinglab.compress.windows import (
    deterministic_torch,
    torch_version_check,
    window_schedule,
    windows,
)
from scalinglab.model import GPT, GPTConfig, load_checkpoint

__all__ = [
    "CHUNK_BYTES",
    "PrequentialTransformer",
    "PretrainedTransformer",
    "_WindowCoder",
    "deterministic_torch",
    "file_sha256",
    "weights_size_bytes",
    "window_schedule",
]


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_size_bytes(model: GPT, bytes_per_param: int = 4) -> int:
    """What sending the weights would cost: every parameter (tied ones once) in float32."""
    return model.n_params(non_embedding=False) * bytes_per_param


class _TransformerCoder:
    """What both modes share: the coding options (chunks, stride, escape) and their checks."""

    name = "?"
    config: GPTConfig

    def _set_coding(self, stride: int | None, chunk_bytes: int, group_chunks: int | None,
                    escape_bits: int, sub_batches: int = SUB_BATCHES) -> None:
        cfg = self.config
        self.stride = stride or max(1, cfg.seq_len // 2)
        if not 1 <= self.stride <= cfg.seq_len:
            raise ValueError(f"stride must be between 1 and seq_len={cfg.seq_len}, "
                             f"got {self.stride}")
        if not (isinstance(chunk_bytes, int) and 0 <= chunk_bytes <= MAX_CHUNK_BYTES):
            raise ValueError(f"chunk_bytes must be 0 (one sequential stream) or a chunk size "
                             f"up to {MAX_CHUNK_BYTES}, got {chunk_bytes!r}")
        if not (isinstance(escape_bits, int) and 1 <= escape_bits <= FREQUENCY_TOTAL_BITS - 8):
            raise ValueError(f"escape_bits must be in [1, {FREQUENCY_TOTAL_BITS - 8}], "
                             f"got {escape_bits!r}")
        if group_chunks is not None and not 1 <= group_chunks <= MAX_GROUP_CHUNKS:
            raise ValueError(f"group_chunks must be in [1, {MAX_GROUP_CHUNKS}], "
                             f"got {group_chunks!r}")
        if not (isinstance(sub_batches, int) and 1 <= sub_batches <= MAX_SUB_BATCHES):
            raise ValueError(f"sub_batches must be in [1, {MAX_SUB_BATCHES}], "
                             f"got {sub_batches!r}")
        self.chunk_bytes = chunk_bytes
        self.sub_batches = sub_batches
        self.group_chunks = group_chunks or default_group_chunks(cfg)
        self.escape_bits = escape_bits
        self.stored_chunks = 0

    def _coding_spec(self) -> dict:
        return {"stride": self.stride, "chunk_bytes": self.chunk_bytes,
                "group_chunks": self.group_chunks, "sub_batches": self.sub_batches,
                "escape_bits": self.escape_bits, "torch": torch.__version__}

    def _read_coding_spec(self, spec: dict) -> None:
        """Take the coding options from a header, each checked by type and range."""
        torch_version_check(str_field(spec, "torch", where="model.", max_len=64))
        w = "model."
        self._set_coding(
            int_field(spec, "stride", 1, self.config.seq_len, where=w),
            int_field(spec, "chunk_bytes", 0, MAX_CHUNK_BYTES, where=w),
            int_field(spec, "group_chunks", 1, max_group_chunks(self.config), where=w),
            int_field(spec, "escape_bits", 1, FREQUENCY_TOTAL_BITS - 8, where=w),
            int_field(spec, "sub_batches", 1, MAX_SUB_BATCHES, where=w),
        )

    @property
    def min_bits_per_byte(self) -> float:
        """The least a byte can cost (bounds the original length a payload can hold)."""
        flags = 1 / self.chunk_bytes if self.chunk_bytes else 0.0
        return min_symbol_bits(self.escape_bits) + flags

    def _window_coder(self) -> _WindowCoder:
        return _WindowCoder(self.model, self.stride, self.escape_bits)


class PretrainedTransformer(_TransformerCoder):
    """Code with a trained checkpoint that both ends hold (two-part cost: weights + code)."""

    name = "pretrained"

    def __init__(self, checkpoint: str | os.PathLike, stride: int | None = None, *,
                 chunk_bytes: int = CHUNK_BYTES, group_chunks: int | None = None,
                 escape_bits: int = ESCAPE_BITS, sub_batches: int = SUB_BATCHES):
        self.path = Path(checkpoint)
        self.model, meta = load_checkpoint(self.path)
        self.model.eval()
        self.config = self.model.config
        self.weights_sha256 = meta["weights_sha256"]
        self.weights_bytes = weights_size_bytes(self.model)
        self._set_coding(stride, chunk_bytes, group_chunks, escape_bits, sub_batches)

    def spec(self) -> dict:
        # No config: the weights' SHA-256 covers every tensor's name and shape already.
        return {
            "name": self.name,
            "checkpoint": self.path.name,
            "weights_sha256": self.weights_sha256,
            **self._coding_spec(),
        }

    def check_spec(self, spec: dict) -> None:
        """Refuse to decode with a different checkpoint or torch; take the header's options."""
        recorded = sha256_field(spec, "weights_sha256", where="model.")
        if recorded != self.weights_sha256:
            raise ValueError(
                "refusing to decode: the archive was coded with checkpoint "
                f"{str(spec.get('checkpoint'))[:80]!r} (weights sha256 {recorded[:12]}…), "
                f"but {self.path.name} has weights sha256 {self.weights_sha256[:12]}…; "
                "pass the checkpoint the archive was made with"
            )
        self._read_coding_spec(spec)

    def encode(self, data: bytes, prime: bytes = b"") -> tuple[bytes, float]:
        """The code and the ideal length in bits of the integer probabilities it used."""
        x = np.frombuffer(data, dtype=np.uint8)
        enc = RangeEncoder()
        ideal = 0.0
        self.stored_chunks = 0
        with deterministic_torch():
            if not self.chunk_bytes:
                return _encode_sequential(self._window_coder(), enc, x)
            for group in chunk_groups(len(x), self.chunk_bytes, self.group_chunks):
                bits, stored = encode_group(enc, self.model, x, group, self.stride,
                                            self.escape_bits, sub_batches=self.sub_batches)
                ideal += bits
                self.stored_chunks += stored
        return enc.finish(), ideal

    def decode(self, payload: bytes, n: int, prime: bytes = b"") -> bytes:
        dec = RangeDecoder(payload)
        with deterministic_torch():
            if not self.chunk_bytes:
                return _decode_sequential(self._window_coder(), dec, n)
            return b"".join(decode_group(dec, self.model, group, self.stride, self.escape_bits,
                                         sub_batches=self.sub_batches)
                            for group in chunk_groups(n, self.chunk_bytes, self.group_chunks))


def _encode_sequential(coder: _WindowCoder, enc: RangeEncoder,
                       x: np.ndarray, train=None) -> tuple[bytes, float]:
    """One stream; ``train(history, block_index)`` runs after each block (prequential)."""
    ideal = 0.0
    if len(x):
        ideal += coder.encode_first(enc, x)
    for i, block in enumerate(windows(len(x), coder.seq_len, coder.stride)):
        ideal += coder.encode_block(enc, x, block)
        if train is not None:
            train(x[: block[3]], i)
    return enc.finish(), ideal


def _decode_sequential(coder: _WindowCoder, dec: RangeDecoder, n: int, train=None) -> bytes:
    x = bytearray()  # grows as bytes are decoded: a forged length allocates nothing
    if n:
        coder.decode_first(dec, x)
    for i, block in enumerate(windows(n, coder.seq_len, coder.stride)):
        coder.decode_block(dec, x, block)
        if train is not None:
            train(x, i)
    return bytes(x)


PREQUENTIAL_DEFAULT_CONFIG = {
    "vocab_size": 256,
    "seq_len": 64,
    "n_layer": 2,
    "n_head": 2,
    "d_model": 32,
}
"""A small model: online training, not the forward passes, sets its speed."""

MAX_ONLINE_PARAMS = 100_000_000
"""The largest model an archive may ask a decoder to build and train (10^8 parameters)."""

_CONFIG_LIMITS = {"vocab_size": 256, "seq_len": 4096, "n_layer": 64, "n_head": 256,
                  "d_model": 4096}


def _config_from_spec(spec: dict) -> dict:
    """A prequential model's config from a header, refused if odd or too big to build."""
    cfg = dict_field(spec, "config", where="model.")
    unknown = set(cfg) - {f.name for f in fields(GPTConfig)}
    if unknown:
        raise ValueError(f"corrupted archive: header field 'model.config' has unknown keys "
                         f"{sorted(unknown)}")
    out = {k: int_field(cfg, k, 1, high, where="model.config.")
           for k, high in _CONFIG_LIMITS.items()}
    if "bias" in cfg:
        if not isinstance(cfg["bias"], bool):
            raise ValueError("corrupted archive: header field 'model.config.bias' must be "
                             f"true or false, got {cfg['bias']!r}")
        out["bias"] = cfg["bias"]
    d, layers = out["d_model"], out["n_layer"]
    n_params = 12 * layers * d * d + (out["vocab_size"] + out["seq_len"]) * d
    if n_params > MAX_ONLINE_PARAMS:
        raise ValueError(f"corrupted archive: header field 'model.config' describes a model of "
                         f"~{n_params:,} parameters (at most {MAX_ONLINE_PARAMS:,} are built)")
    if d % out["n_head"]:
        raise ValueError(f"corrupted archive: header field 'model.config' has d_model={d} "
                         f"not divisible by n_head={out['n_head']}")
    return out


class PrequentialTransformer(_TransformerCoder):
    """Encoder and decoder train the same seeded model on the bytes coded so far.

    Each time another ``update_bytes`` bytes have been coded, both ends take
    ``steps`` AdamW steps on ``batch_size`` windows drawn (by a generator seeded
    from ``seed`` and the update's index) from all bytes coded so far. With
    chunks, training happens when a window's block ends in every chunk of the
    batch (the model must stay fixed while a block is decoded), and the history
    is the chunks' coded prefixes, joined; the first blocks of a large file are
    therefore coded by a less trained model than a sequential coder would use.
    The schedule is recorded in the archive, so the decoder repeats exactly the
    same training.
    """

    name = "transformer"

    def __init__(
        self,
        config: dict | None = None,
        *,
        seed: int = 0,
        update_bytes: int = 512,
        steps: int = 8,
        batch_size: int = 16,
        lr: float = 1e-2,
        stride: int | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        group_chunks: int | None = None,
        escape_bits: int = ESCAPE_BITS,
        sub_batches: int = SUB_BATCHES,
    ):
        cfg = dict(PREQUENTIAL_DEFAULT_CONFIG if config is None else config)
        cfg["dropout"] = 0.0  # dropout would spend random numbers; keep both ends in step
        self.config = GPTConfig(**cfg)
        self.seed = int(seed)
        self.update_bytes = int(update_bytes)
        self.steps = int(steps)
        self.batch_size = int(batch_size)
        self.lr = float(lr)
        self.model: GPT | None = None  # built from the seed when coding starts
        self._set_coding(stride, chunk_bytes, group_chunks, escape_bits, sub_batches)
        if self.update_bytes < 1 or (not self.chunk_bytes and self.update_bytes % self.stride):
            raise ValueError(
                f"update_bytes ({update_bytes}) must be a positive multiple of the stride "
                f"({self.stride}), so that training happens between coded blocks"
            )
        self.weights_bytes = 0

    def spec(self) -> dict:
        return {
            "name": self.name,
            "config": asdict(self.config),
            "seed": self.seed,
            "update_bytes": self.update_bytes,
            "steps": self.steps,
            "batch_size": self.batch_size,
            "lr": self.lr,
            **self._coding_spec(),
        }

    @classmethod
    def from_spec(cls, spec: dict) -> PrequentialTransformer:
        """The model an archive names, each field checked by type and range."""
        torch_version_check(str_field(spec, "torch", where="model.", max_len=64))
        w = "model."
        config = _config_from_spec(spec)
        return cls(
            config,
            seed=int_field(spec, "seed", 0, (1 << 63) - 1, where=w),
            update_bytes=int_field(spec, "update_bytes", 1, 1 << 30, where=w),
            steps=int_field(spec, "steps", 0, 10_000, where=w),
            batch_size=int_field(spec, "batch_size", 1, 4096, where=w),
            lr=float_field(spec, "lr", 0.0, 10.0, where=w),
            stride=int_field(spec, "stride", 1, config["seq_len"], where=w),
            chunk_bytes=int_field(spec, "chunk_bytes", 0, MAX_CHUNK_BYTES, where=w),
            group_chunks=int_field(spec, "group_chunks", 1,
                                   max_group_chunks(GPTConfig(**config)), where=w),
            escape_bits=int_field(spec, "escape_bits", 1, FREQUENCY_TOTAL_BITS - 8, where=w),
            sub_batches=int_field(spec, "sub_batches", 1, MAX_SUB_BATCHES, where=w),
        )

    def _fresh(self) -> tuple[GPT, torch.optim.Optimizer]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = GPT(self.config)
        model.eval()
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=self.lr, betas=(0.9, 0.99), weight_decay=0.0
        )
        self.model = model
        return model, optimizer

    def _train(self, model: GPT, optimizer, history: np.ndarray, update: int) -> None:
        """``steps`` AdamW steps on windows of the history (identical on both ends)."""
        m = len(history)
        if m < 2:
            return
        length = min(self.config.seq_len, m - 1)
        rng = np.random.default_rng([self.seed, update])
        model.train()
        for _ in range(self.steps):
            offsets = rng.integers(0, m - length, size=self.batch_size)
            idx = offsets[:, None] + np.arange(length)[None, :]
            tokens = np.minimum(history, self.config.vocab_size - 1).astype(np.int64)
            xb = torch.from_numpy(tokens[idx])
            yb = torch.from_numpy(tokens[idx + 1])
            _, loss = model(xb, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        model.eval()

    def _sequential_trainer(self, model: GPT, optimizer):
        per_update = self.update_bytes // self.stride

        def train(history: np.ndarray | bytearray, block: int) -> None:
            if (block + 1) % per_update == 0:
                history = np.frombuffer(bytes(history), dtype=np.uint8)  # a copy, only now
                self._train(model, optimizer, history, block // per_update)

        return train

    def _chunked(self, model: GPT, optimizer) -> _OnlineSchedule:
        return _OnlineSchedule(self, model, optimizer)

    def encode(self, data: bytes, prime: bytes = b"") -> tuple[bytes, float]:
        x = np.frombuffer(data, dtype=np.uint8)
        enc = RangeEncoder()
        ideal = 0.0
        self.stored_chunks = 0
        with deterministic_torch():
            model, optimizer = self._fresh()
            if not self.chunk_bytes:
                return _encode_sequential(self._window_coder(), enc, x,
                                          self._sequential_trainer(model, optimizer))
            schedule = self._chunked(model, optimizer)
            for group in chunk_groups(len(x), self.chunk_bytes, self.group_chunks):
                bits, stored = encode_group(enc, model, x, group, self.stride, self.escape_bits,
                                            schedule.after_block, self.sub_batches)
                schedule.group_done(x[group[0][0] : group[-1][0] + group[-1][1]])
                ideal += bits
                self.stored_chunks += stored
        return enc.finish(), ideal

    def decode(self, payload: bytes, n: int, prime: bytes = b"") -> bytes:
        dec = RangeDecoder(payload)
        out = bytearray()
        with deterministic_torch():
            model, optimizer = self._fresh()
            if not self.chunk_bytes:
                return _decode_sequential(self._window_coder(), dec, n,
                                          self._sequential_trainer(model, optimizer))
            schedule = self._chunked(model, optimizer)
            for group in chunk_groups(n, self.chunk_bytes, self.group_chunks):
                part = decode_group(dec, model, group, self.stride, self.escape_bits,
                                    schedule.after_block, self.sub_batches)
                schedule.group_done(np.frombuffer(part, dtype=np.uint8))
                out += part
        return bytes(out)


class _OnlineSchedule:
    """When a chunked prequential coder trains, and on what (identical on both ends)."""

    def __init__(self, coder: PrequentialTransformer, model: GPT, optimizer):
        self.coder, self.model, self.optimizer = coder, model, optimizer
        self.done: list[np.ndarray] = []  # earlier groups' bytes, in file order
        self.done_bytes = 0
        self.updates = 0

    def after_block(self, x: np.ndarray, lengths: np.ndarray, end: int) -> None:
        coded = self.done_bytes + int(np.minimum(lengths, end).sum())
        due = coded // self.coder.update_bytes
        if due <= self.updates:
            return
        prefixes = [x[row, : min(end, int(size))] for row, size in enumerate(lengths)]
        history = np.concatenate([*self.done, *prefixes])
        for update in range(self.updates, due):
            self.coder._train(self.model, self.optimizer, history, update)
        self.updates = due

    def group_done(self, group_bytes: np.ndarray) -> None:
        self.done.append(np.array(group_bytes, dtype=np.uint8))
        self.done_bytes += len(group_bytes)

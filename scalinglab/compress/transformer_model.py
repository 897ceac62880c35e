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

**Windows.** The model reads at most ``seq_len`` bytes. Targets are coded in
blocks of ``stride`` positions; block [first, end) is predicted from one causal
window x[start : end − 1] with start = max(0, end − 1 − seq_len), so every
target sees at least seq_len − stride + 1 bytes of context once the text is
longer than one window (the first byte is coded with a uniform distribution,
because there is no byte before it). ``window_schedule`` lists the blocks.

**Bit-identical probabilities.** The encoder knows the whole block and runs the
window once. The decoder knows only the bytes before the target, so for each
target it runs *the same window shape* with zeros in the positions not yet
decoded, and reads the same row. Causal attention gives a row no weight on later
positions (their softmax weights are exactly 0) and every other layer works row
by row, so the row's floating-point result cannot depend on the placeholders;
softmax and quantisation then run on the same (block × vocab) array on both
sides. All of it runs on the CPU with one thread and PyTorch's deterministic
algorithms; the header records the torch version and decoding under another one
is refused, since kernels may round differently between releases. Decoding costs
one forward pass per byte (encoding: one per block), so it is slow: that is the
price of a model that is not a lookup table.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from scalinglab.compress.arithmetic import RangeDecoder, RangeEncoder
from scalinglab.compress.quantize import (
    FREQUENCY_TOTAL_BITS,
    ideal_code_length_bits,
    quantize_probabilities,
    softmax_probabilities,
)
from scalinglab.model import GPT, GPTConfig, load_checkpoint


@contextlib.contextmanager
def deterministic_torch() -> Iterator[None]:
    """One CPU thread and deterministic kernels while coding; restores the settings after."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def window_schedule(n: int, seq_len: int, stride: int) -> list[tuple[int, int, int, int]]:
    """Blocks (start, stop, first, end): the model reads x[start:stop] to code x[first:end].

    Row t − 1 − start of that window predicts target t. Position 0 is not in any
    block (it is coded uniformly).
    """
    if not 1 <= stride <= seq_len:
        raise ValueError(f"stride must be between 1 and seq_len={seq_len}, got {stride}")
    blocks = []
    first = 1
    while first < n:
        end = min(first + stride, n)
        stop = end - 1
        blocks.append((max(0, stop - seq_len), stop, first, end))
        first = end
    return blocks


def check_vocab(data: bytes, vocab_size: int) -> None:
    """A model with V < 256 symbols can code only bytes < V: say which byte is out of range."""
    if vocab_size >= 256 or not data:
        return
    arr = np.frombuffer(data, dtype=np.uint8)
    bad = np.flatnonzero(arr >= vocab_size)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"byte {arr[i]} at offset {i} is outside the model's vocabulary of {vocab_size} "
            f"symbols; this model was trained on a {vocab_size}-symbol source (e.g. the synthetic "
            "corpus), so it can only code bytes below that; use a byte-level (vocab 256) model"
        )


def torch_version_check(header_torch: str) -> None:
    if header_torch != torch.__version__:
        raise ValueError(
            f"this archive was coded with torch {header_torch}, but torch {torch.__version__} "
            "is installed; a model's floating-point results may differ between versions, so "
            f"decode it with torch {header_torch}"
        )


class _WindowCoder:
    """Block-by-block coding of bytes with a GPT, shared by both transformer modes."""

    def __init__(self, model: GPT, stride: int):
        self.model = model
        self.vocab_size = model.config.vocab_size
        self.seq_len = model.config.seq_len
        self.stride = stride
        self.uniform = quantize_probabilities(np.full(self.vocab_size, 1.0 / self.vocab_size))

    @torch.no_grad()
    def block_probabilities(
        self, window: np.ndarray, first: int, end: int, start: int
    ) -> np.ndarray:
        """Float64 (end − first, V) next-byte probabilities from one window (batch of one)."""
        tokens = torch.from_numpy(window.astype(np.int64))[None, :]
        logits = self.model(tokens)[0][0, first - 1 - start : end - 1 - start]
        return softmax_probabilities(np.ascontiguousarray(logits.double().numpy()))

    def encode_block(
        self, enc: RangeEncoder, x: np.ndarray, block: tuple[int, int, int, int]
    ) -> tuple[float, float]:
        """Code x[first:end]; returns (ideal bits from the float model, bits of the integer one)."""
        start, stop, first, end = block
        probs = self.block_probabilities(x[start:stop], first, end, start)
        freqs = quantize_probabilities(probs)
        symbols = x[first:end].astype(np.int64)
        cums = np.cumsum(freqs, axis=1) - freqs
        rows = np.arange(end - first)
        cum_list = cums[rows, symbols].tolist()
        freq_list = freqs[rows, symbols].tolist()
        bits = FREQUENCY_TOTAL_BITS
        for c, f in zip(cum_list, freq_list, strict=True):
            enc.encode(c, f, bits)
        quantised = float(-np.log2(np.asarray(freq_list, dtype=np.float64) / (1 << bits)).sum())
        return ideal_code_length_bits(probs, symbols), quantised

    def decode_block(
        self, dec: RangeDecoder, x: np.ndarray, block: tuple[int, int, int, int]
    ) -> None:
        """Fill x[first:end] in place, one forward pass per byte on the encoder's window shape."""
        start, stop, first, end = block
        window = np.zeros(stop - start, dtype=np.uint8)
        window[: first - start] = x[start:first]
        bits = FREQUENCY_TOTAL_BITS
        for t in range(first, end):
            probs = self.block_probabilities(window, first, end, start)
            freqs = quantize_probabilities(probs)[t - first]
            cums = [0, *np.cumsum(freqs).tolist()]
            s = bisect_right(cums, dec.target(bits)) - 1
            dec.consume(cums[s], cums[s + 1] - cums[s], bits)
            x[t] = s
            if t - start < window.size:
                window[t - start] = s

    def encode_first(self, enc: RangeEncoder, x: np.ndarray) -> float:
        s = int(x[0])
        enc.encode(int(self.uniform[:s].sum()), int(self.uniform[s]), FREQUENCY_TOTAL_BITS)
        return float(np.log2(self.vocab_size))

    def decode_first(self, dec: RangeDecoder, x: np.ndarray) -> None:
        cums = [0, *np.cumsum(self.uniform).tolist()]
        s = bisect_right(cums, dec.target(FREQUENCY_TOTAL_BITS)) - 1
        dec.consume(cums[s], cums[s + 1] - cums[s], FREQUENCY_TOTAL_BITS)
        x[0] = s


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_size_bytes(model: GPT, bytes_per_param: int = 4) -> int:
    """What sending the weights would cost: every parameter (tied ones once) in float32."""
    return model.n_params(non_embedding=False) * bytes_per_param


class PretrainedTransformer:
    """Code with a trained checkpoint that both ends hold (two-part cost: weights + code)."""

    name = "pretrained"

    def __init__(self, checkpoint: str | os.PathLike, stride: int | None = None):
        self.path = Path(checkpoint)
        self.model, meta = load_checkpoint(self.path)
        self.model.eval()
        self.weights_sha256 = meta["weights_sha256"]
        cfg = self.model.config
        self.stride = stride or max(1, cfg.seq_len // 2)
        self.coder = _WindowCoder(self.model, self.stride)
        self.weights_bytes = weights_size_bytes(self.model)
        self.last_ideal_bits = 0.0

    def spec(self) -> dict:
        return {
            "name": self.name,
            "checkpoint": self.path.name,
            "weights_sha256": self.weights_sha256,
            "config": asdict(self.model.config),
            "stride": self.stride,
            "torch": torch.__version__,
        }

    def check_spec(self, spec: dict) -> None:
        """Refuse to decode with a different checkpoint or a different torch."""
        if spec.get("weights_sha256") != self.weights_sha256:
            recorded = str(spec.get("weights_sha256"))[:12]
            raise ValueError(
                "refusing to decode: the archive was coded with checkpoint "
                f"{spec.get('checkpoint')!r} (weights sha256 {recorded}…), "
                f"but {self.path.name} has weights sha256 {self.weights_sha256[:12]}…; "
                "pass the checkpoint the archive was made with"
            )
        torch_version_check(spec.get("torch", "?"))
        self.stride = int(spec["stride"])
        self.coder = _WindowCoder(self.model, self.stride)

    def encode(self, data: bytes, prime: bytes = b"") -> tuple[bytes, float]:
        check_vocab(data, self.coder.vocab_size)
        x = np.frombuffer(data, dtype=np.uint8)
        enc = RangeEncoder()
        ideal = 0.0
        with deterministic_torch():
            if len(x):
                ideal += self.coder.encode_first(enc, x)
            for block in window_schedule(len(x), self.coder.seq_len, self.stride):
                ideal += self.coder.encode_block(enc, x, block)[0]
        self.last_ideal_bits = ideal
        return enc.finish(), ideal

    def decode(self, payload: bytes, n: int, prime: bytes = b"") -> bytes:
        x = np.zeros(n, dtype=np.uint8)
        dec = RangeDecoder(payload)
        with deterministic_torch():
            if n:
                self.coder.decode_first(dec, x)
            for block in window_schedule(n, self.coder.seq_len, self.stride):
                self.coder.decode_block(dec, x, block)
        return x.tobytes()


PREQUENTIAL_DEFAULT_CONFIG = {
    "vocab_size": 256,
    "seq_len": 64,
    "n_layer": 2,
    "n_head": 2,
    "d_model": 32,
}
"""A model small enough that decoding (one forward pass per byte) runs at a few KB/s."""


class PrequentialTransformer:
    """Encoder and decoder train the same seeded model on the bytes coded so far.

    After every ``update_bytes`` coded bytes, both ends take ``steps`` AdamW steps
    on ``batch_size`` windows drawn (by a generator seeded from ``seed`` and the
    update's index) from all bytes coded so far. The schedule is recorded in the
    archive, so the decoder repeats exactly the same training.
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
    ):
        cfg = dict(PREQUENTIAL_DEFAULT_CONFIG if config is None else config)
        cfg["dropout"] = 0.0  # dropout would spend random numbers; keep both ends in step
        self.config = GPTConfig(**cfg)
        self.seed = int(seed)
        self.stride = stride or max(1, self.config.seq_len // 2)
        if update_bytes < 1 or update_bytes % self.stride:
            raise ValueError(
                f"update_bytes ({update_bytes}) must be a positive multiple of the stride "
                f"({self.stride}), so that training happens between coded blocks"
            )
        self.update_bytes = int(update_bytes)
        self.steps = int(steps)
        self.batch_size = int(batch_size)
        self.lr = float(lr)
        self.model: GPT | None = None
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
            "stride": self.stride,
            "torch": torch.__version__,
        }

    @classmethod
    def from_spec(cls, spec: dict) -> PrequentialTransformer:
        torch_version_check(spec.get("torch", "?"))
        try:
            return cls(
                spec["config"],
                seed=spec["seed"],
                update_bytes=spec["update_bytes"],
                steps=spec["steps"],
                batch_size=spec["batch_size"],
                lr=spec["lr"],
                stride=spec["stride"],
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"the archive's transformer spec is incomplete ({err})") from err

    def _fresh(self) -> tuple[GPT, torch.optim.Optimizer]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = GPT(self.config)
        model.eval()
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=self.lr, betas=(0.9, 0.99), weight_decay=0.0
        )
        self.model = model
        self.weights_bytes = weights_size_bytes(model)
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
            xb = torch.from_numpy(history[idx].astype(np.int64))
            yb = torch.from_numpy(history[idx + 1].astype(np.int64))
            _, loss = model(xb, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        model.eval()

    def _blocks(self, n: int) -> Iterator[tuple[tuple[int, int, int, int], int | None]]:
        """Each coding block, with the index of the update that follows it (or None)."""
        per_update = self.update_bytes // self.stride
        for i, block in enumerate(window_schedule(n, self.config.seq_len, self.stride)):
            yield block, (i // per_update if (i + 1) % per_update == 0 else None)

    def encode(self, data: bytes, prime: bytes = b"") -> tuple[bytes, float]:
        x = np.frombuffer(data, dtype=np.uint8)
        enc = RangeEncoder()
        ideal = 0.0
        with deterministic_torch():
            model, optimizer = self._fresh()
            coder = _WindowCoder(model, self.stride)
            if len(x):
                ideal += coder.encode_first(enc, x)
            for block, update in self._blocks(len(x)):
                ideal += coder.encode_block(enc, x, block)[0]
                if update is not None:
                    self._train(model, optimizer, x[: block[3]], update)
        return enc.finish(), ideal

    def decode(self, payload: bytes, n: int, prime: bytes = b"") -> bytes:
        x = np.zeros(n, dtype=np.uint8)
        dec = RangeDecoder(payload)
        with deterministic_torch():
            model, optimizer = self._fresh()
            coder = _WindowCoder(model, self.stride)
            if n:
                coder.decode_first(dec, x)
            for block, update in self._blocks(n):
                coder.decode_block(dec, x, block)
                if update is not None:
                    self._train(model, optimizer, x[: block[3]], update)
        return x.tobytes()

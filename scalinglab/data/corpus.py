"""Corpora as token streams: ``load_corpus`` gives train and validation bytes, ``get_batch``
cuts random windows out of them for training.

Every corpus is a stream of bytes, one token per byte, so a model's loss in bits per
token is its loss in bits per byte and can be set beside any compressor's (DESIGN §3).
"""

from __future__ import annotations

import functools
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scalinglab.data import download, text
from scalinglab.data.synthetic import SyntheticSource, cached_source

if TYPE_CHECKING:
    import torch

CORPORA: tuple[str, ...] = ("synthetic", "pydocs", "stdlib", "shakespeare", "enwik8")

SYNTHETIC_TRAIN_BYTES = 1_000_000
SYNTHETIC_VAL_BYTES = 100_000
SYNTHETIC_OPTIONS = ("vocab_size", "order", "concentrations", "zipf_exponent", "source_seed")
ENWIK8_TRAIN_BYTES = 90_000_000
ENWIK8_VAL_BYTES = 5_000_000
SHAKESPEARE_TRAIN_FRACTION = 0.9


@dataclass(frozen=True, eq=False)
class Corpus:
    """Train and validation token streams (uint8, one token per byte) and what they are."""

    name: str
    train: np.ndarray
    val: np.ndarray
    vocab_size: int
    entropy_floor_bpb: float | None
    description: str

    @property
    def size_bytes(self) -> int:
        return int(self.train.size + self.val.size)

    def __repr__(self) -> str:
        floor = "None" if self.entropy_floor_bpb is None else f"{self.entropy_floor_bpb:.4f}"
        return (
            f"Corpus(name={self.name!r}, train={self.train.size:,} bytes, "
            f"val={self.val.size:,} bytes, vocab_size={self.vocab_size}, "
            f"entropy_floor_bpb={floor})"
        )


def _check_size(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer or None, got {value!r}")


def _derived_seeds(seed: int) -> tuple[int, int]:
    """Independent train and validation sample seeds from one corpus seed."""
    train_seed, val_seed = np.random.SeedSequence(seed).generate_state(2)
    return int(train_seed), int(val_seed)


def synthetic_source(
    vocab_size: int = 16,
    order: int = 3,
    concentrations=None,
    zipf_exponent: float = 1.0,
    source_seed: int = 0,
) -> SyntheticSource:
    """The (process-cached) synthetic source for ``load_corpus('synthetic', ...)`` options."""
    if concentrations is not None:
        concentrations = tuple(float(a) for a in concentrations)
    return cached_source(vocab_size, order, concentrations, float(zipf_exponent), source_seed)


def _load_synthetic(train_bytes, val_bytes, seed, options) -> Corpus:
    unknown = sorted(set(options) - set(SYNTHETIC_OPTIONS))
    if unknown:
        raise ValueError(
            f"unknown synthetic source option(s) {', '.join(unknown)}; "
            f"choose from {', '.join(SYNTHETIC_OPTIONS)}"
        )
    source = synthetic_source(**options)
    n_train = SYNTHETIC_TRAIN_BYTES if train_bytes is None else int(train_bytes)
    n_val = SYNTHETIC_VAL_BYTES if val_bytes is None else int(val_bytes)
    train_seed, val_seed = _derived_seeds(seed)
    train = source.sample(n_train, seed=train_seed)
    val = source.sample(n_val, seed=val_seed)
    for array in (train, val):
        array.setflags(write=False)
    description = (
        f"synthetic Zipf-Markov source (V={source.vocab_size}, K={source.order}, "
        f"a={source.concentrations}, zipf exponent {source.zipf_exponent:g}, source seed "
        f"{source.seed}); exact entropy rate {source.entropy_rate:.4f} bits per byte; "
        f"train and validation are independent samples (seed {seed})"
    )
    return Corpus("synthetic", train, val, source.vocab_size, source.entropy_rate, description)


def _prefix(name: str, split: str, data: bytes, n: int | None) -> np.ndarray:
    if n is not None and n > len(data):
        raise ValueError(
            f"the {name} corpus has {len(data):,} {split} bytes, fewer than the {n:,} asked "
            f"for; ask for at most {len(data):,} (or None for all of it)"
        )
    array = np.frombuffer(data, dtype=np.uint8)
    return array if n is None else array[:n]


@functools.lru_cache(maxsize=1)
def _unzip_enwik8(path: str, sha256: str) -> bytes:
    """The 10^8-byte member of a verified enwik8.zip (kept per process, keyed by hash)."""
    with zipfile.ZipFile(path) as archive:
        return archive.read("enwik8")


def _text_splits(name: str) -> tuple[bytes, bytes, str]:
    """(train, validation, description) for a corpus of real text."""
    if name == "pydocs":
        train, val = text.pydocs_bytes()
        return train, val, (
            f"{text.python_label()} help topics (pydoc_data/topics.py), each paragraph once, "
            "split 90/10 contiguously; the text changes between Python versions"
        )
    if name == "stdlib":
        train, val = text.stdlib_bytes()
        n_train, n_val = (len(f) for f in text.stdlib_files())
        return train, val, (
            f"{text.python_label()} standard library .py files without test suites, "
            f"{n_train} files for training and {n_val} for validation (split by a hash of "
            "the path); the text changes between Python versions"
        )
    if name == "shakespeare":
        data = Path(download.fetch("shakespeare")).read_bytes()
        cut = int(SHAKESPEARE_TRAIN_FRACTION * len(data))
        return data[:cut], data[cut:], (
            "Tiny Shakespeare (Karpathy's char-rnn input.txt), split 90/10 contiguously"
        )
    path = download.fetch("enwik8")
    data = _unzip_enwik8(str(path), download.REMOTE_FILES["enwik8"].sha256)
    return (
        data[:ENWIK8_TRAIN_BYTES],
        data[ENWIK8_TRAIN_BYTES : ENWIK8_TRAIN_BYTES + ENWIK8_VAL_BYTES],
        "enwik8 (Hutter Prize: first 10^8 bytes of English Wikipedia, 2006), the standard "
        "split: the first 90M bytes train, the next 5M validate (the last 5M, the test "
        "set, are not used)",
    )


def load_corpus(
    name: str,
    *,
    train_bytes: int | None = None,
    val_bytes: int | None = None,
    seed: int = 0,
    **source_options,
) -> Corpus:
    """Load a corpus by name: ``synthetic``, ``pydocs``, ``stdlib``, ``shakespeare``, ``enwik8``.

    ``train_bytes`` / ``val_bytes`` take prefixes of real text, or set the sample sizes of
    the synthetic source (default 1,000,000 / 100,000). For ``synthetic``, ``seed`` picks
    the samples and ``source_options`` (vocab_size, order, concentrations, zipf_exponent,
    source_seed) pick the source, whose exact entropy rate is the corpus's
    ``entropy_floor_bpb``.
    """
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; choose one of {', '.join(CORPORA)}")
    _check_size("train_bytes", train_bytes)
    _check_size("val_bytes", val_bytes)
    if name == "synthetic":
        return _load_synthetic(train_bytes, val_bytes, seed, source_options)
    if source_options:
        raise ValueError(
            f"option(s) {', '.join(sorted(source_options))} apply only to the synthetic "
            f"source; '{name}' is fixed text"
        )
    train, val, description = _text_splits(name)
    return Corpus(
        name,
        _prefix(name, "training", train, train_bytes),
        _prefix(name, "validation", val, val_bytes),
        256,
        None,
        description,
    )


def get_batch(
    tokens: np.ndarray, batch_size: int, seq_len: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``seq_len + 1`` tokens, as inputs and next-token targets.

    Returns int64 tensors x and y of shape (batch_size, seq_len) with y[:, t] = x[:, t + 1]
    along the stream; offsets come from ``rng``, so a seeded generator gives the same
    batches every run.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            "rng must be a numpy Generator: make one with np.random.default_rng(seed) and "
            "reuse it for every batch"
        )
    for label, value in (("batch_size", batch_size), ("seq_len", seq_len)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    data = np.asarray(tokens)
    if data.ndim != 1:
        raise ValueError(f"tokens must be a 1-D token stream, got shape {data.shape}")
    if data.size < seq_len + 1:
        raise ValueError(
            f"a window of seq_len + 1 = {seq_len + 1} tokens does not fit in {data.size} "
            "tokens; use a shorter seq_len or more data"
        )
    import torch  # here, so that the corpora and the `sample` command load without torch

    offsets = rng.integers(0, data.size - seq_len, size=batch_size)
    windows = data[offsets[:, None] + np.arange(seq_len + 1)].astype(np.int64)
    batch = torch.from_numpy(windows)
    return batch[:, :-1], batch[:, 1:]


def corpus_summaries() -> list[dict]:
    """One line of facts per corpus for ``python -m scalinglab info`` (cheap: nothing big
    is read or hashed).

    Keys: name, offline, cached (True/False for downloads, None for offline corpora),
    size_bytes (train + validation; None for a download not yet cached),
    entropy_floor_bpb (synthetic only), note.
    """
    source = synthetic_source()
    pydocs_train, pydocs_val = text.pydocs_bytes()
    stdlib_train, stdlib_val = text.stdlib_size_bytes()
    shakespeare = download.is_cached("shakespeare")
    enwik8 = download.is_cached("enwik8")
    python = text.python_label()
    return [
        {
            "name": "synthetic", "offline": True, "cached": None,
            "size_bytes": SYNTHETIC_TRAIN_BYTES + SYNTHETIC_VAL_BYTES,
            "entropy_floor_bpb": source.entropy_rate,
            "note": f"Zipf-Markov source V={source.vocab_size}, K={source.order}, "
                    f"a={source.concentrations}; exact entropy rate (sizes are the defaults)",
        },
        {
            "name": "pydocs", "offline": True, "cached": None,
            "size_bytes": len(pydocs_train) + len(pydocs_val), "entropy_floor_bpb": None,
            "note": f"{python} help topics, deduplicated by paragraph, 90/10",
        },
        {
            "name": "stdlib", "offline": True, "cached": None,
            "size_bytes": stdlib_train + stdlib_val, "entropy_floor_bpb": None,
            "note": f"{python} standard library sources without tests, split by file",
        },
        {
            "name": "shakespeare", "offline": False, "cached": shakespeare,
            "size_bytes": download.REMOTE_FILES["shakespeare"].size_bytes if shakespeare else None,
            "entropy_floor_bpb": None,
            "note": "Tiny Shakespeare, 1.1 MB download" + ("" if shakespeare else
                    f" (not cached; goes to {download.cached_path('shakespeare')})"),
        },
        {
            "name": "enwik8", "offline": False, "cached": enwik8,
            "size_bytes": ENWIK8_TRAIN_BYTES + ENWIK8_VAL_BYTES if enwik8 else None,
            "entropy_floor_bpb": None,
            "note": "Hutter Prize Wikipedia, 36 MB download, 90M/5M split" + ("" if enwik8 else
                    f" (not cached; goes to {download.cached_path('enwik8')})"),
        },
    ]

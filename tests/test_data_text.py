"""Offline real text: CPython's help topics and the standard library's sources."""

from __future__ import annotations

import os
import platform
import time
from pathlib import PurePosixPath

import numpy as np
import pytest

from scalinglab.data import load_corpus, text


def _window_overlap(train: bytes, val: bytes, width: int = 64) -> float:
    """Fraction of validation's ``width``-byte windows that also occur in training."""
    seen = {train[i : i + width] for i in range(len(train) - width + 1)}
    n = len(val) - width + 1
    return sum(val[i : i + width] in seen for i in range(n)) / n


# -- pydocs -----------------------------------------------------------------------------------


def test_pydocs_split_is_ninety_ten_with_almost_no_shared_windows():
    train, val = text.pydocs_bytes()
    total = len(train) + len(val)
    assert total > 200_000
    assert len(train) / total == pytest.approx(0.9, abs=0.01)
    assert _window_overlap(train, val) < 0.01


def test_pydocs_keeps_each_paragraph_once():
    train, val = text.pydocs_bytes()
    paragraphs = (train + val).decode("utf-8").split("\n\n")
    assert len(paragraphs) == len(set(paragraphs))
    # ... while the raw topics repeat paragraphs (that is why we deduplicate).
    from pydoc_data.topics import topics

    raw = [p for t in topics.values() for p in t.split("\n\n") if p.strip()]
    assert len(raw) > len(set(raw))


def test_pydocs_split_falls_between_paragraphs():
    train, val = text.pydocs_bytes()
    assert train.endswith(b"\n\n") and not val.startswith(b"\n")


def test_pydocs_corpus_loads_fast_and_names_the_python_version():
    start = time.perf_counter()
    corpus = load_corpus("pydocs")
    assert time.perf_counter() - start < 1.0
    assert platform.python_version() in corpus.description
    assert corpus.vocab_size == 256 and corpus.entropy_floor_bpb is None
    assert corpus.train.dtype == np.uint8
    train, val = text.pydocs_bytes()
    assert corpus.train.tobytes() == train and corpus.val.tobytes() == val


def test_pydocs_prefixes_and_too_large_requests():
    corpus = load_corpus("pydocs", train_bytes=1000, val_bytes=500)
    train, val = text.pydocs_bytes()
    assert corpus.train.tobytes() == train[:1000] and corpus.val.tobytes() == val[:500]
    with pytest.raises(ValueError, match="at most"):
        load_corpus("pydocs", val_bytes=len(val) + 1)


# -- stdlib ---------------------------------------------------------------------------------


def test_stdlib_files_exclude_tests_and_installed_packages():
    train, val = text.stdlib_files()
    files = train + val
    assert len(files) > 300
    for rel in files:
        parts = PurePosixPath(rel).parts
        assert rel.endswith(".py")
        assert not set(parts[:-1]) & {"test", "tests", "idle_test", "site-packages"}, rel
    assert list(train) == sorted(train) and list(val) == sorted(val)
    assert not set(train) & set(val)
    assert 0.05 < len(val) / len(files) < 0.2


def test_a_files_side_does_not_depend_on_the_other_files(monkeypatch):
    """The split hashes each path, so hiding files moves no other file across it."""
    train, val = text.stdlib_files()
    real_walk = os.walk

    def every_other_file(top):
        for folder, subfolders, names in real_walk(top):
            yield folder, subfolders, sorted(names)[::2]

    monkeypatch.setattr(text.os, "walk", every_other_file)
    fewer_train, fewer_val = text.stdlib_files.__wrapped__()
    assert len(fewer_train) + len(fewer_val) < 0.7 * (len(train) + len(val))
    assert set(fewer_train) <= set(train) and set(fewer_val) <= set(val)


def test_stdlib_bytes_are_the_files_in_order():
    train, val = text.stdlib_bytes()
    root = text.stdlib_root()
    train_files, val_files = text.stdlib_files()
    first = (root / train_files[0]).read_bytes()
    assert train.startswith(first)
    assert val.endswith((root / val_files[-1]).read_bytes())
    assert (len(train), len(val)) == text.stdlib_size_bytes()
    assert len(train) + len(val) > 3_000_000


def test_stdlib_corpus_takes_prefixes():
    corpus = load_corpus("stdlib", train_bytes=4096, val_bytes=100)
    train, val = text.stdlib_bytes()
    assert corpus.train.tobytes() == train[:4096]
    assert corpus.val.tobytes() == val[:100]
    assert platform.python_version() in corpus.description

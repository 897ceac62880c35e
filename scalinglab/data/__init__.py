"""Corpora for the book: where the bytes a model learns from come from.

- ``synthetic``: a Zipf–Markov source with an exact entropy rate (``SyntheticSource``);
- ``pydocs``, ``stdlib``: real text that ships with every Python, no download;
- ``shakespeare``, ``enwik8``: downloaded once, SHA-256 pinned, cached.

``load_corpus(name)`` returns a ``Corpus`` of train and validation bytes;
``get_batch`` cuts training windows out of them.
"""

from scalinglab.data.corpus import (
    CORPORA,
    Corpus,
    corpus_summaries,
    get_batch,
    load_corpus,
    synthetic_source,
)
from scalinglab.data.download import cache_dir
from scalinglab.data.synthetic import SyntheticSource, zipf_distribution

__all__ = [
    "CORPORA",
    "Corpus",
    "SyntheticSource",
    "cache_dir",
    "corpus_summaries",
    "get_batch",
    "load_corpus",
    "synthetic_source",
    "zipf_distribution",
]

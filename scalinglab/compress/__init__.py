"""Compression: a model's loss in bits per byte, written to disk and decoded back.

Chapter 3's thesis made executable. The pieces, one module each:

- ``measures``: entropy, cross-entropy, KL, n-gram and Markov entropy rates
  (re-exported from :mod:`scalinglab.entropy`);
- ``huffman`` and ``lz77``: the teaching codes (a code per symbol; copying);
- ``arithmetic``: the exact integer range coder every model drives;
- ``quantize``: float probabilities → integer frequencies, identically on both ends,
  mixed with a uniform escape so that every byte can be coded;
- ``context_models``: static order-0 and adaptive order-k count models;
- ``transformer_model``: a :mod:`scalinglab.model` GPT, pre-trained or prequential,
  coded by ``chunked`` (many chunks as one batch, with the KV cache of ``cached_gpt``)
  or by ``sequential`` (one stream, one forward pass per byte), over ``windows``;
- ``archive`` and ``fields``: the file format, its stored form (never more than 59
  bytes over the input), header checks, atomic writes;
- ``baselines``: gzip, bz2, xz and zstd on the same bytes;
- ``api``: ``compress`` / ``compress_bytes`` / ``decompress_bytes``.
"""

from scalinglab.compress.api import (
    COUNT_MODELS,
    MODEL_NAMES,
    CompressionResult,
    compress,
    compress_bytes,
    decompress_bytes,
    make_model,
    read_header,
)
from scalinglab.compress.archive import pack_archive, unpack_archive, write_atomic
from scalinglab.compress.arithmetic import RangeDecoder, RangeEncoder
from scalinglab.compress.baselines import BaselineResult, baseline_sizes, run_baselines
from scalinglab.compress.context_models import AdaptiveOrderK, StaticOrder0
from scalinglab.compress.huffman import HuffmanCode, huffman_code, huffman_lengths
from scalinglab.compress.lz77 import lz77_decode, lz77_encode, lz77_tokens
from scalinglab.compress.measures import (
    bits_per_byte,
    code_length_bits,
    cross_entropy,
    entropy,
    kl_divergence,
    markov_entropy_rate,
    ngram_entropy,
    stationary_distribution,
)
from scalinglab.compress.quantize import quantize_probabilities, softmax_probabilities

__all__ = [
    "COUNT_MODELS",
    "MODEL_NAMES",
    "AdaptiveOrderK",
    "BaselineResult",
    "CompressionResult",
    "HuffmanCode",
    "RangeDecoder",
    "RangeEncoder",
    "StaticOrder0",
    "baseline_sizes",
    "bits_per_byte",
    "code_length_bits",
    "compress",
    "compress_bytes",
    "cross_entropy",
    "decompress_bytes",
    "entropy",
    "huffman_code",
    "huffman_lengths",
    "kl_divergence",
    "lz77_decode",
    "lz77_encode",
    "lz77_tokens",
    "make_model",
    "markov_entropy_rate",
    "ngram_entropy",
    "pack_archive",
    "quantize_probabilities",
    "read_header",
    "run_baselines",
    "softmax_probabilities",
    "stationary_distribution",
    "unpack_archive",
    "write_atomic",
]

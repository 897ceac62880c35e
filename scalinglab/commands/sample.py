"""``python -m scalinglab sample``: write a fresh sample of the synthetic source to a file.

It prints the source's exact entropy rate and the ideal compressed size n · H / 8, the
target every compressor in chapter 3 is measured against:

    python -m scalinglab sample --corpus synthetic --bytes 1000000 sample.bin
    xz -9e -k sample.bin && ls -l sample.bin.xz
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scalinglab import _args
from scalinglab._io import write_atomic
from scalinglab.data.corpus import CORPORA, synthetic_source


def _numbers(value: str) -> tuple[float, ...]:
    """'16,8,4' -> (16.0, 8.0, 4.0)."""
    try:
        return tuple(float(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, like 16,8,4; got {value!r}"
        ) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sample",
        help="write a sample of the synthetic source and print its exact entropy rate",
        description="Write N bytes sampled from the synthetic Zipf-Markov source (one "
        "symbol per byte) and print its exact entropy rate and the ideal size N*H/8.",
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="file to write")
    parser.add_argument("--corpus", default="synthetic",
                        help="only 'synthetic' can be sampled (default)")
    parser.add_argument("--bytes", dest="n_bytes", type=int, required=True, metavar="N",
                        help="number of bytes (symbols) to write")
    parser.add_argument("--seed", type=_args.seed, default=0,
                        help="seed of the sample (default 0)")
    parser.add_argument("--vocab-size", type=int, default=16, help="symbols V (default 16)")
    parser.add_argument("--order", type=int, default=3, help="memory K (default 3)")
    parser.add_argument("--concentrations", type=_numbers, default=None, metavar="A1,A2,...",
                        help="a_1,...,a_K separated by commas (default V, V/2, V/4, ...)")
    parser.add_argument("--zipf-exponent", type=float, default=1.0,
                        help="exponent of the Zipf base distribution (default 1)")
    parser.add_argument("--source-seed", type=_args.seed, default=0,
                        help="seed of the draw of the source itself (default 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.corpus != "synthetic":
        known = "a corpus of fixed text" if args.corpus in CORPORA else "not a corpus"
        raise ValueError(
            f"only the synthetic source can be sampled; '{args.corpus}' is {known} "
            f"(use --corpus synthetic, or load_corpus('{args.corpus}') for its bytes)"
        )
    if args.n_bytes < 1:
        raise ValueError(f"--bytes must be a positive number of bytes, got {args.n_bytes}")
    source = synthetic_source(
        vocab_size=args.vocab_size,
        order=args.order,
        concentrations=args.concentrations,
        zipf_exponent=args.zipf_exponent,
        source_seed=args.source_seed,
    )
    tokens = source.sample(args.n_bytes, seed=args.seed)
    write_atomic(args.out, tokens.tobytes())
    print(f"wrote {args.n_bytes:,} bytes to {args.out}")
    print(f"entropy rate: {source.entropy_rate:.6f} bits per byte")
    print(f"ideal size: {source.ideal_size_bytes(args.n_bytes):,.0f} bytes "
          f"(N * H / 8, the floor for any compressor)")
    return 0

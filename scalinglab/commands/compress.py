"""``python -m scalinglab compress IN OUT``: code a file with a model; print its bits per byte.

    python -m scalinglab compress notes.txt notes.slz --model order5
    python -m scalinglab compress sample.bin sample.slz --model runs/model.pt
    python -m scalinglab compress notes.txt notes.slz --model transformer

The archive is written through a temporary file and a rename, so OUT is either
complete or absent. See :mod:`scalinglab.compress` for the models.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scalinglab._io import write_atomic
from scalinglab.compress.api import MODEL_NAMES, compress


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compress",
        help="compress a file with a count model or a transformer (range coding)",
        description="Code IN with a model's probabilities and an exact range coder; write the "
        "archive to OUT and print its size in bits per byte next to the model's ideal.",
    )
    parser.add_argument("input", type=Path, metavar="IN", help="file to compress")
    parser.add_argument("output", type=Path, metavar="OUT", help="archive to write")
    parser.add_argument(
        "--model",
        default="order2",
        help=f"one of {', '.join(MODEL_NAMES)}, or a checkpoint MODEL.pt (default order2)",
    )
    parser.add_argument(
        "--prime",
        type=Path,
        metavar="FILE",
        help="count models: read FILE (e.g. the training text) first; decoding needs it too",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="transformer: seed of the online model (default 0)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    parser.set_defaults(func=run)


def check_paths(source: Path, target: Path, force: bool) -> bytes:
    """Read IN after checking that writing OUT is safe; returns IN's bytes."""
    if not source.is_file():
        raise FileNotFoundError(f"input file {source} does not exist")
    if target.resolve() == source.resolve():
        raise ValueError("OUT must be a different file from IN")
    if target.exists() and not force:
        raise ValueError(f"{target} already exists; pass --force to overwrite it")
    return source.read_bytes()


def run(args: argparse.Namespace) -> int:
    data = check_paths(args.input, args.output, args.force)
    prime = args.prime.read_bytes() if args.prime else None
    options = {"seed": args.seed} if args.model == "transformer" else {}
    result = compress(data, args.model, prime=prime, **options)
    write_atomic(args.output, result.archive)
    print(
        f"{args.input}: {result.original_bytes:,} bytes -> {args.output}: "
        f"{result.size_bytes:,} bytes ({result.header_bytes} header + "
        f"{result.payload_bytes:,} code), model {result.model}"
    )
    print(
        f"{result.bits_per_byte:.4f} bits/byte (code alone {result.payload_bits_per_byte:.4f}, "
        f"model's ideal {result.ideal_bits_per_byte:.4f}, coder overhead "
        f"{100 * result.coder_overhead:.3f} %), {result.kb_per_s:.1f} KB/s"
    )
    if result.two_part_bits_per_byte is not None:
        print(
            f"two-part cost: {result.weights_bytes:,} bytes of float32 weights + archive = "
            f"{result.two_part_bits_per_byte:.4f} bits/byte"
        )
    return 0

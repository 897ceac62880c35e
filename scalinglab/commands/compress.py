"""``python -m scalinglab compress IN OUT``: code a file with a model; print its bits per byte.

    python -m scalinglab compress notes.txt notes.slz --model order5
    python -m scalinglab compress sample.bin sample.slz --model runs/model.pt --prequential
    python -m scalinglab compress notes.txt notes.slz --model transformer

The archive is written through a temporary file and a rename, so OUT is either
complete or absent. See :mod:`scalinglab.compress` for the models, and
:mod:`scalinglab.compress.api` for the three rates printed (raw, with the
weights, prequential).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scalinglab._io import write_atomic
from scalinglab.compress.api import MODEL_NAMES, CompressionResult, compress


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compress",
        help="compress a file with a count model or a transformer (range coding)",
        description="Code IN with a model's probabilities and an exact range coder; write the "
        "archive to OUT and print its size in bits per byte: raw, with the model's weights, "
        "and prequential.",
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
    parser.add_argument(
        "--chunk-bytes", type=int, default=None, metavar="N",
        help="bytes per chunk (default 2048); transformers: 0 codes one sequential stream "
        "(more context, decoding ~10× slower)",
    )
    parser.add_argument(
        "--prequential", action="store_true",
        help="checkpoint or --prime: also measure the online code (the same model learning as "
        "it codes, which needs no weights); slow for a checkpoint",
    )
    parser.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    parser.set_defaults(func=run)


def read_file(path: Path, what: str) -> bytes:
    """A file's bytes, or one line naming the path and what went wrong."""
    try:
        return path.read_bytes()
    except IsADirectoryError as err:
        raise ValueError(f"{what} {path} is a folder, not a file; give the path of a file") from err
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{what} {path} does not exist") from err
    except OSError as err:
        raise ValueError(f"cannot read {what} {path}: {err.strerror or err}") from err


def write_file(path: Path, data: bytes) -> None:
    """Write OUT atomically, or say in one line why it cannot be written."""
    try:
        write_atomic(path, data)
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ValueError(f"cannot write {path}: {err.strerror or err}") from err


def check_paths(source: Path, target: Path, force: bool) -> bytes:
    """Read IN after checking that writing OUT is safe; returns IN's bytes."""
    if not source.exists():
        raise FileNotFoundError(f"input file {source} does not exist")
    if target.is_dir():
        raise ValueError(f"OUT {target} is a folder; give the name of a file to write")
    if target.resolve() == source.resolve():
        raise ValueError("OUT must be a different file from IN")
    if target.exists() and not force:
        raise ValueError(f"{target} already exists; pass --force to overwrite it")
    return read_file(source, "input file")


def rates_line(result: CompressionResult, prime: bool) -> str:
    """Raw, adjusted (weights or prime counted) and prequential rates, in one line."""
    raw = f"rates: raw {result.bits_per_byte:.4f} bits/byte"
    if result.model == "static":
        return raw + " (the frequency table is inside the archive; no weights)"
    if result.weights_bytes == 0:
        return raw + " (the model learns as it codes: no weights, so this is also its " \
                     "weights-counted and its prequential rate)"
    held = "prime text" if prime else "float32 weights"
    line = (f"{raw} · with the {result.weights_bytes:,}-byte {held} "
            f"{result.adjusted_bits_per_byte:.4f}")
    if result.prequential_bits_per_byte is not None:
        return line + (f" · prequential {result.prequential_bits_per_byte:.4f} (the same model "
                       "learning as it codes, no weights)")
    return line + " · prequential not measured (add --prequential)"


def run(args: argparse.Namespace) -> int:
    data = check_paths(args.input, args.output, args.force)
    prime = read_file(args.prime, "prime text") if args.prime else None
    options = {"seed": args.seed} if args.model == "transformer" else {}
    if args.chunk_bytes is not None:
        options["chunk_bytes"] = args.chunk_bytes
    result = compress(data, args.model, prime=prime, prequential=args.prequential, **options)
    write_file(args.output, result.archive)
    if result.stored:
        how = (f"stored: the {result.model} model's archive would be "
               f"{result.model_archive_bytes:,} bytes")
    else:
        how = f"{result.header_bytes} header + {result.payload_bytes:,} code, model {result.model}"
        if result.chunks:
            how += (f", {result.chunks:,} chunk{'s' * (result.chunks > 1)} of "
                    f"{result.chunk_bytes:,} bytes, {result.stored_chunks:,} stored")
    print(f"{args.input}: {result.original_bytes:,} bytes -> {args.output}: "
          f"{result.size_bytes:,} bytes ({how})")
    if not result.original_bytes:
        print("an empty file has no rate in bits per byte")
        return 0
    print(rates_line(result, prime is not None))
    print(f"code: ideal {result.ideal_bits_per_byte:.4f} bits/byte from the quantised "
          f"probabilities, coder overhead {100 * result.coder_overhead:.3f} %, "
          f"{result.kb_per_s:.1f} KB/s")
    return 0

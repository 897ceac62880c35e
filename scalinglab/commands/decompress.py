"""``python -m scalinglab decompress IN OUT``: decode an archive and check it byte for byte.

    python -m scalinglab decompress notes.slz notes.txt
    python -m scalinglab decompress sample.slz sample.bin --model runs/model.pt

The decoded bytes are checked against the CRC-32 stored in the archive before
OUT is written (through a temporary file and a rename), so a damaged archive
leaves no output behind.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from scalinglab.commands.compress import check_paths, read_file, write_file
from scalinglab.compress.api import decompress_bytes, read_header


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "decompress",
        help="decode an archive from `compress` (verified by CRC-32)",
        description="Decode IN (written by `python -m scalinglab compress`) to OUT, refusing a "
        "corrupted or truncated archive and a model that differs from the encoder's.",
    )
    parser.add_argument("input", type=Path, metavar="IN", help="archive to decode")
    parser.add_argument("output", type=Path, metavar="OUT", help="file to write")
    parser.add_argument(
        "--model",
        type=Path,
        metavar="MODEL.pt",
        help="the checkpoint the archive was coded with (pre-trained transformer archives)",
    )
    parser.add_argument(
        "--prime", type=Path, metavar="FILE", help="the text the encoder was primed with"
    )
    parser.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    parser.set_defaults(func=run)


def _weights_bytes(checkpoint: Path) -> int:
    from scalinglab.compress.transformer_model import weights_size_bytes
    from scalinglab.model import load_checkpoint

    return weights_size_bytes(load_checkpoint(checkpoint)[0])


def run(args: argparse.Namespace) -> int:
    archive = check_paths(args.input, args.output, args.force)
    prime = read_file(args.prime, "prime text") if args.prime else None
    t0 = time.perf_counter()
    data = decompress_bytes(archive, checkpoint=args.model, prime=prime)
    wall_s = time.perf_counter() - t0
    write_file(args.output, data)
    model = read_header(archive)["model"].get("name", "?")
    print(f"{args.input}: {len(archive):,} bytes -> {args.output}: {len(data):,} bytes "
          f"(model {model}, CRC-32 verified)")
    if not data:
        print("an empty file has no rate in bits per byte")
        return 0
    speed = len(data) / 1000 / wall_s if wall_s > 0 else float("inf")
    rates = f"{8 * len(archive) / len(data):.4f} bits/byte raw"
    side = (_weights_bytes(args.model), "float32 weights") if model == "pretrained" else \
        (len(prime), "prime text") if prime and model != "stored" else None
    if side:
        rates += f", {8 * (len(archive) + side[0]) / len(data):.4f} with the " \
                 f"{side[0]:,}-byte {side[1]}"
    elif model == "transformer" or model.startswith("order"):
        rates += " (the model learned as it coded: no weights, and this is its prequential rate)"
    print(f"{rates}; decoded at {speed:.1f} KB/s")
    return 0

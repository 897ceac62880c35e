"""``python -m scalinglab sweep``: a model-size, data-size, repetition or IsoFLOP family, resumable.

Run under ``torchrun --nproc_per_node=K -m scalinglab sweep …`` to deal whole runs out
to K ranks.
"""

from __future__ import annotations

import argparse
import sys

from scalinglab import _args
from scalinglab.sweep.grids import GRIDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep", help="train a family of models into a resumable JSONL file",
        description="Train a model-size, data-size or IsoFLOP family of a profile. Records "
                    "are appended to --out as they finish; rerunning skips finished runs.")
    parser.add_argument("--grid", required=True, choices=GRIDS, help="which family to train")
    parser.add_argument("--out", required=True, metavar="FILE.jsonl", help="results file")
    parser.add_argument("--profile", default=None,
                        help="hardware profile: tiny, cpu, colab, gpu (default: detected)")
    parser.add_argument("--corpus", default=None, help="corpus name (default: the profile's)")
    parser.add_argument("--seed", type=_args.seed, default=0)
    parser.add_argument("--device", type=_args.device, default=None,
                        help="cpu, cuda, cuda:N, mps or auto (default: the profile's)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="torch.compile each model (CUDA only; default: the profile's)")
    parser.add_argument("--sizes", type=_args.names, default=None,
                        help="only these sizes, comma-separated (e.g. d16-L2,d32-L2)")
    parser.add_argument("--tokens", type=_args.positive_int, default=None,
                        help="train every run on this many tokens, rounded up to whole "
                             "batches (not for isoflop)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scalinglab.profiles import get_profile
    from scalinglab.sweep import format_table, sweep
    from scalinglab.sweep.distributed import ranks_from_env

    profile = get_profile(args.profile)
    if args.tokens is not None and args.grid != "isoflop" and ranks_from_env().is_main and (
        note := _args.tokens_note(args.tokens, profile.batch_size, profile.seq_len)
    ):
        print(f"note: {note}", file=sys.stderr)
    records = sweep(
        args.grid, profile=args.profile, corpus=args.corpus, out=args.out, seed=args.seed,
        device=args.device, compile=args.compile,
        progress=False if args.no_progress else None,
        sizes=args.sizes, tokens=args.tokens,
    )
    if ranks_from_env().is_main:
        print(format_table(records))
        print(f"{len(records)} runs in {args.out}")
    return 0

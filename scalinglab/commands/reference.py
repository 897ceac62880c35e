"""``python -m scalinglab reference``: regenerate the results the website shows."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from scalinglab.sweep.grids import GRIDS

    parser = subparsers.add_parser(
        "reference", help="regenerate scalinglab/reference/*.jsonl for a profile",
        description="Run the reference sweeps of a profile into "
                    "scalinglab/reference/<profile>_<grid>_<corpus>.jsonl (resumable; each "
                    "record carries its provenance).")
    parser.add_argument("--profile", default=None,
                        help="hardware profile: tiny, cpu, colab, gpu (default: detected)")
    parser.add_argument("--only", default=None, choices=GRIDS, help="only this family")
    parser.add_argument("--corpus", default=None, help="only this corpus")
    parser.add_argument("--folder", default=None,
                        help="write here instead of the package's reference folder")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scalinglab.reference import regenerate

    paths = regenerate(args.profile, only=args.only, corpus=args.corpus, folder=args.folder,
                       progress=False if args.no_progress else None)
    for path in paths:
        print(f"wrote {path}")
    return 0

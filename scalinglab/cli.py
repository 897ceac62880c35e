"""Command-line interface: ``python -m scalinglab COMMAND …``.

Subcommands live in :mod:`scalinglab.commands`, one module each, so that the
CLI and the notebooks call the same functions.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import scalinglab.commands as _commands


def build_parser() -> argparse.ArgumentParser:
    """Collect every subcommand module under :mod:`scalinglab.commands`."""
    parser = argparse.ArgumentParser(
        prog="python -m scalinglab",
        description="Scaling Laws as Compression: train, sweep, fit and compress.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{_commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Command-line interface: ``python -m scalinglab COMMAND …``.

Subcommands live in :mod:`scalinglab.commands`, one module each, so that the
CLI and the notebooks call the same functions. Every refusal is one line on
stderr, ``error: …``, naming the flag or path and what to do instead, with a
non-zero exit: 2 for a value the parser refuses, 1 for one the command refuses.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import pkgutil
import sys

import scalinglab.commands as _commands
from scalinglab._args import check_paths, flag_name

# The files each command reads and writes (argument dests), checked before it runs.
# Not here: fit's FILE and a --model checkpoint, whose own loaders say more (how to
# make one) than "does not exist".
PATHS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "compress": (("input", "prime"), ("output",)),
    "decompress": (("input", "prime"), ("output",)),
    "sample": ((), ("out",)),
    "sweep": ((), ("out",)),
    "train": ((), ("save", "record")),
}


# Commands whose module needs a package this Python lacks (the GPU machine has torch but
# not zstandard), and that package: listed in --help and refused in one line when asked
# for, so that the other commands still run.
UNAVAILABLE: dict[str, str] = {}


class UsageError(Exception):
    """A value the parser refused; its message is the whole line to print."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (argparse's add the usage, many lines)."""

    def error(self, message: str):
        if message.startswith("argument ") and message.endswith("expected one argument"):
            message += " (a value that starts with '-' goes after '=', as in --flag=-1)"
        raise UsageError(f"{message}; see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    """Collect every subcommand module under :mod:`scalinglab.commands`."""
    parser = _Parser(
        prog="python -m scalinglab",
        description="Scaling Laws as Compression: train, sweep, fit and compress.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
        try:
            if info.name in UNAVAILABLE:  # a second import would find a half-imported package
                raise ModuleNotFoundError(name=UNAVAILABLE[info.name])
            module = importlib.import_module(f"{_commands.__name__}.{info.name}")
        except ModuleNotFoundError as err:
            missing = (err.name or "").split(".")[0]
            if not missing or missing == "scalinglab":
                raise
            UNAVAILABLE[info.name] = missing
            subparsers.add_parser(info.name, help=f"(unavailable here: needs {missing})")
            continue
        module.register(subparsers)
    return parser


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[command]


def _os_error(err: OSError, command: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """An OSError as one line, naming the flag whose path it concerns when one does."""
    if err.filename is None:  # raised by our own code: already a sentence
        return str(err)
    path = os.fsdecode(err.filename)
    flag = next((f"{flag_name(a)} " for a in command._actions
                 if getattr(args, a.dest, None) is not None
                 and str(getattr(args, a.dest)) == path), "")
    why = {errno.ENOENT: "does not exist; check the path",
           errno.EISDIR: "is a folder; give a file",
           errno.ENOTDIR: "has a file where a folder should be; check the path",
           errno.EACCES: "cannot be opened (permission denied); check its permissions",
           errno.ENOSPC: "could not be written: the disk is full; free some space"}
    return f"{flag}{path} {why.get(err.errno, f'could not be used ({err.strerror})')}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    words = sys.argv[1:] if argv is None else list(argv)
    if words and words[0] in UNAVAILABLE:
        missing = UNAVAILABLE[words[0]]
        print(f"error: the {words[0]} command needs the {missing} package, which this Python "
              f"lacks; install it (pip install {missing}) or use another machine",
              file=sys.stderr)
        return 1
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    command = _subparser(parser, args.command)
    try:
        inputs, outputs = PATHS.get(args.command, ((), ()))
        check_paths(command, args, inputs, outputs)
        return int(args.func(args) or 0)
    except (ValueError, RuntimeError) as err:
        message = str(err)
    except OSError as err:
        message = _os_error(err, command, args)
    print(f"error: {' '.join(message.split())}", file=sys.stderr)  # one line, always
    return 1


if __name__ == "__main__":
    raise SystemExit(main())

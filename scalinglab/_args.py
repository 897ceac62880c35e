"""Command-line values checked as they are parsed, so a bad one is refused in one line.

Each function is an ``argparse`` ``type=``: it returns the parsed value or raises
``ArgumentTypeError`` with a message saying what to give instead; argparse adds
the flag's name (``argument --tokens: ...``). :func:`check_paths` does the same
for the files a command reads and writes.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

DEVICES = "auto, cpu, cuda, cuda:N or mps"


def _int(text: str) -> int:
    try:
        return int(text)  # 1_000_000 works too, as in Python
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    """A whole number ≥ 1 (tokens, bytes)."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {value}")
    return value


def seed(text: str) -> int:
    """A seed: a whole number ≥ 0 (numpy refuses negative seeds)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed must be 0 or more, got {value}")
    return value


def at_least(minimum: int, unit: str):
    """A whole number ≥ ``minimum`` (e.g. bootstrap resamples)."""
    def parse(text: str) -> int:
        value = _int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum} {unit}, got {value}")
        return value
    parse.__name__ = "at_least"
    return parse


def level(text: str) -> float:
    """An interval level strictly between 0 and 1, such as 0.95."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        hint = f" (for {value:g} % give {value / 100:g})" if 1 < value < 100 else ""
        raise argparse.ArgumentTypeError(
            f"must be a fraction between 0 and 1, such as 0.95, got {text!r}{hint}")
    return value


def device(text: str) -> str:
    """A device torch knows and the sweep can use: auto, cpu, cuda, cuda:N, mps."""
    import torch

    if text == "auto":
        return text
    try:
        parsed = torch.device(text)
    except RuntimeError:
        parsed = None
    if parsed is None or parsed.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; use {DEVICES}")
    return text


def names(text: str) -> list[str]:
    """Comma-separated names, such as d16-L2,d32-L2 (at least one)."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected names separated by commas, such as "
                                         f"d16-L2,d32-L2, got {text!r}")
    return parts


def tokens_note(tokens: int, batch_size: int, seq_len: int, flag: str = "--tokens") -> str | None:
    """What training will do with ``tokens`` when it is not a whole number of batches.

    Training takes whole optimiser steps of ``batch_size × seq_len`` tokens, so it
    rounds up; the reader should be told, not find 1,024 in a table after asking for 10.
    """
    step = batch_size * seq_len
    steps = max(1, math.ceil(tokens / step))
    if steps * step == tokens:
        return None
    batches = "one batch" if steps == 1 else f"{steps:,} batches"
    return (f"{flag} {tokens:,} rounded up to {steps * step:,} ({batches} of "
            f"{batch_size} × {seq_len} tokens)")


def flag_name(action: argparse.Action) -> str:
    """How the user wrote the argument: ``--prime``, or a positional's ``IN``."""
    return action.option_strings[-1] if action.option_strings else (action.metavar or
                                                                     action.dest.upper())


def check_paths(parser: argparse.ArgumentParser, args: argparse.Namespace,
                inputs: tuple[str, ...] = (), outputs: tuple[str, ...] = ()) -> None:
    """Refuse, naming the flag, an input that is not a file or an output that is a folder."""
    actions = {a.dest: a for a in parser._actions}
    for dest in inputs:
        value = getattr(args, dest, None)
        if value is None or dest not in actions:
            continue
        path, name = Path(value), flag_name(actions[dest])
        if path.is_dir():
            raise ValueError(f"{name} {path} is a folder, not a file; give the path of a file")
        if not path.is_file():
            raise FileNotFoundError(f"{name} {path} does not exist; check the path")
        if not os.access(path, os.R_OK):
            raise PermissionError(f"{name} {path} cannot be read (permission denied); "
                                  "check its permissions")
    for dest in outputs:
        value = getattr(args, dest, None)
        if value is None or dest not in actions:
            continue
        path, name = Path(value), flag_name(actions[dest])
        if path.is_dir():
            raise ValueError(f"{name} {path} is a folder; give the name of a file to write "
                             "(inside it, or elsewhere)")
        folder = path.parent
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{name} {path}: {folder} is a file, not a folder; "
                             "give a path inside a folder")

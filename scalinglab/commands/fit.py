"""``python -m scalinglab fit FILE``: fit a sweep's run records and print the law.

Reads the sweep's JSONL results (one run record per line), fits a power law,
Chinchilla's law or IsoFLOP parabolas with :mod:`scalinglab.fit`, and prints
each parameter with its bootstrap interval. A last line cut off mid-write (a
sweep killed while appending) is skipped and reported; any other bad line is
an error naming its line number. A run listed twice counts once (with a
warning), and records of different grids, corpora or profiles are refused
unless ``--grid``/``--corpus``/``--profile`` says which to fit
(:mod:`scalinglab.sweep.records`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

from scalinglab import _args

LAWS = ("power", "chinchilla", "isoflop")
X_COLUMNS = ("n_params", "n_params_non_embedding", "tokens", "flops")
PARAM_COLUMNS = ("n_params", "n_params_non_embedding")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit", help="fit a scaling law to a sweep's results (JSONL) and print it",
        description="Fit a power law (y = E + A·x^-α), Chinchilla's law L = E + A/N^α + B/D^β, "
                    "or IsoFLOP parabolas (Chinchilla's approach 2) to a sweep's run records, "
                    "and print every parameter with a seeded bootstrap interval.")
    parser.add_argument("file", help="a sweep's results: JSONL, one run record per line")
    parser.add_argument("--law", choices=LAWS, default="power",
                        help="which law to fit (default: power)")
    parser.add_argument("--x", choices=X_COLUMNS, default="n_params",
                        help="the scale column: x for --law power, N for chinchilla and "
                             "isoflop (default: n_params)")
    parser.add_argument("--y", default="val_bpb", help="the loss column (default: val_bpb)")
    parser.add_argument("--fix-E", dest="fix_E", default=None, metavar="VALUE|floor",
                        help="power law only: fix the floor E to VALUE, or to the records' "
                             "entropy_floor_bpb with 'floor' (default: E free)")
    parser.add_argument("--n-boot", dest="n_boot", type=_args.at_least(20, "resamples"),
                        default=None, help="bootstrap resamples, at least 20 (default: the "
                                           "fit's own, 200–1000)")
    parser.add_argument("--seed", type=_args.seed, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument("--level", type=_args.level, default=0.95,
                        help="interval level, a fraction between 0 and 1 (default: 0.95)")
    choose = parser.add_argument_group(
        "which records", "A file that mixes families is refused until one is chosen.")
    choose.add_argument("--grid", default=None, help="fit only the records of this grid")
    choose.add_argument("--corpus", default=None, help="fit only the records of this corpus")
    choose.add_argument("--profile", default=None,
                        help="fit only the records of this profile")
    choose.add_argument("--tokens", type=_args.positive_int, default=None,
                        help="fit only the records trained on this many tokens")
    parser.set_defaults(func=run)


def read_records(path: str | Path) -> tuple[list[tuple[int, dict]], list[str]]:
    """(line number, record) pairs from a JSONL file, and notes on skipped lines.

    A last line that does not parse is a run cut off mid-write: skipped, with a
    note. A bad line anywhere else means the file is damaged: ValueError.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a results file; give the path of a "
                         "sweep's .jsonl file")
    if not path.is_file():
        raise FileNotFoundError(f"no such results file: {path}; check the path")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    records, notes = [], []
    for position, (number, line) in enumerate(numbered):
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as err:
            if position == len(numbered) - 1:
                notes.append(f"line {number} of {path} is not a complete run record (a sweep "
                             "cut off mid-write?); skipped it")
                continue
            raise ValueError(f"line {number} of {path} is not a valid run record ({err}); "
                             "fix or remove that line") from None
        records.append((number, record))
    if not records:
        raise ValueError(f"{path} holds no run records; run a sweep first "
                         "(python -m scalinglab sweep ...)")
    return records, notes


def _column(records: list[tuple[int, dict]], key: str) -> list[float]:
    """One positive finite number per record, or an error naming the line."""
    values = []
    for number, record in records:
        if key not in record or record[key] is None:
            found = ", ".join(sorted(record)) or "nothing"
            raise ValueError(f"the record on line {number} has no {key!r} (it has: {found}); "
                             "pick another column with --x/--y")
        value = record[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value > 0
        ):
            raise ValueError(f"the record on line {number} has {key} = {value!r}; it must be a "
                             "positive finite number")
        values.append(float(value))
    return values


def _floor(records: list[tuple[int, dict]], fix_E: str) -> float:
    if fix_E != "floor":
        try:
            return float(fix_E)
        except ValueError:
            raise ValueError(f"--fix-E takes a number or 'floor'; got {fix_E!r}") from None
    floors = {record.get("entropy_floor_bpb") for _, record in records}
    if None in floors:
        raise ValueError("--fix-E floor needs entropy_floor_bpb in every record, but some have "
                         "none (real text has no known floor); give a number or leave E free")
    if len(floors) > 1:
        raise ValueError(f"the records disagree on entropy_floor_bpb ({sorted(floors)}); fit "
                         "one corpus at a time or give --fix-E a number")
    return float(floors.pop())


def one_family_records(records: list[tuple[int, dict]],
                       args: argparse.Namespace) -> list[tuple[int, dict]]:
    """The (line, record) pairs left once repeated runs are dropped and one family is chosen."""
    from scalinglab.sweep.records import one_family, unique_records

    kept = one_family(unique_records([record for _, record in records]), grid=args.grid,
                      corpus=args.corpus, profile=args.profile, tokens=args.tokens)
    chosen = {id(record) for record in kept}
    return [(number, record) for number, record in records if id(record) in chosen]


def run(args: argparse.Namespace) -> int:
    from scalinglab.fit import fit_chinchilla, fit_isoflop, fit_power_law

    records, notes = read_records(args.file)
    listed = len(records)
    if args.law != "power" and args.fix_E is not None:
        raise ValueError("--fix-E applies to --law power only")
    if args.law != "power" and args.x not in PARAM_COLUMNS:
        raise ValueError(f"--law {args.law} needs a parameter count for --x "
                         f"({' or '.join(PARAM_COLUMNS)}), not {args.x!r}")
    boot = {} if args.n_boot is None else {"n_boot": args.n_boot}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = one_family_records(records, args)
        if args.law == "power":
            E = None if args.fix_E is None else _floor(records, args.fix_E)
            y = _column(records, args.y)
            for (number, _), value in zip(records, y, strict=True):
                if E is not None and value <= E:
                    raise ValueError(f"the record on line {number} has {args.y} = {value!r}, "
                                     f"not above the floor E = {E!r}; check the floor or leave "
                                     "E free")
            fit = fit_power_law(_column(records, args.x), y, E=E, seed=args.seed, **boot)
            what = f"x = {args.x}, y = {args.y}"
        elif args.law == "chinchilla":
            fit = fit_chinchilla(_column(records, args.x), _column(records, "tokens"),
                                 _column(records, args.y), seed=args.seed, **boot)
            what = f"N = {args.x}, D = tokens, L = {args.y}"
        else:
            fit = fit_isoflop([record for _, record in records], n_key=args.x,
                              loss_key=args.y)
            what = f"N = {args.x}, loss = {args.y}"
        text = fit.summary(args.level)
    skipped = f", {len(notes)} line skipped" if notes else ""
    if len(records) < listed:
        skipped += f", {listed - len(records)} not fitted (repeated or another family)"
    print(f"{args.file}: {len(records)} run records{skipped} ({what})")
    print(text)
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    for item in caught:
        print(f"warning: {item.message}", file=sys.stderr)
    return 0

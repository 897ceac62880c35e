"""Clean run records before a fit: every run once, and one family at a time.

A fit treats each record as an independent measurement. A run listed twice
(two files concatenated, a sweep run twice by hand) would count twice and
narrow every interval for nothing; records of two grids, corpora or profiles,
or two runs of the same grid point that differ in their tokens or seed, are
not one curve. :func:`unique_records` drops the repeats (with a warning naming
them) and :func:`one_family` refuses a mixture unless told which part to keep.

    records = one_family(unique_records(ResultsStore("runs.jsonl").read()), grid="isoflop")
"""

from __future__ import annotations

import json
import warnings

FAMILY_FIELDS = ("grid", "corpus", "profile")
# What may tell two runs of one grid point apart, in the order worth naming.
RUN_FIELDS = ("tokens", "seed", "corpus_options", "model", "optim")


class DuplicateRecordWarning(UserWarning):
    """Some records repeat a run already listed; the repeats were dropped."""


def _identity(record: dict) -> str:
    """The run key, or (a record without one) the record itself."""
    key = record.get("run_key")
    if key is not None:
        return f"run_key {key}"
    return json.dumps(record, sort_keys=True, default=str)


def _listing(items: list, limit: int = 5) -> str:
    shown = ", ".join(str(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def unique_records(records: list[dict]) -> list[dict]:
    """Each run once: the first record of each ``run_key`` (or, without one, of each content).

    A warning (:class:`DuplicateRecordWarning`) names the repeated runs.
    """
    seen: set[str] = set()
    kept, repeated = [], []
    for record in records:
        identity = _identity(record)
        if identity in seen:
            repeated.append(record.get("run_key", "(no run_key)"))
            continue
        seen.add(identity)
        kept.append(record)
    if repeated:
        warnings.warn(
            f"dropped {len(repeated)} duplicate record(s) of runs listed earlier "
            f"({_listing(sorted(set(map(str, repeated))))}); each run counts once",
            DuplicateRecordWarning, stacklevel=2,
        )
    return kept


def _show(value) -> str:
    if value is None:
        return "none recorded"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _values(records: list[dict], field: str) -> list[str]:
    return sorted({_show(r.get(field)) for r in records})


def _point(record: dict) -> tuple | None:
    """The grid point a record measures: what its grid varies, not how it was trained."""
    if record.get("size") is None:
        return None
    grid = record.get("grid")
    return (grid, record["size"], record.get("flops_budget"), record.get("train_bytes"),
            record.get("tokens") if grid == "data-size" else None)


def one_family(records: list[dict], *, grid: str | None = None, corpus: str | None = None,
               profile: str | None = None, tokens: int | None = None) -> list[dict]:
    """The records of one grid, corpus and profile; an error naming the choice if they mix.

    ``grid``, ``corpus``, ``profile`` and ``tokens`` keep only the records with
    that value (the CLI's ``--grid``, ``--corpus``, ``--profile``, ``--tokens``).
    Two runs of one grid point (the same size, budget or data set) that differ
    in tokens, seed or corpus options are a mixture too.
    """
    chosen = {"grid": grid, "corpus": corpus, "profile": profile, "tokens": tokens}
    for field in (*FAMILY_FIELDS, "tokens"):
        wanted = chosen[field]
        if wanted is None:
            continue
        kept = [r for r in records if r.get(field) == wanted]
        if not kept:
            raise ValueError(f"no record has {field} {wanted!r} (they have "
                             f"{_listing(_values(records, field))}); choose one of those "
                             f"with --{field}")
        records = kept
    for field in FAMILY_FIELDS:
        values = _values(records, field)
        if len(values) > 1:
            raise ValueError(f"the records mix {len(values)} values of {field} "
                             f"({_listing(values)}); fit one at a time: choose one with "
                             f"--{field} ({field}=... in Python)")
    first: dict[tuple, dict] = {}
    for record in records:
        point = _point(record)
        if point is None:
            continue
        other = first.setdefault(point, record)
        if other is record:
            continue
        differ = [f for f in RUN_FIELDS if other.get(f) != record.get(f)] or ["run_key"]
        if differ[0] == "tokens":
            what = f"tokens ({_show(other.get('tokens'))} and {_show(record.get('tokens'))})"
            fix = "choose one with --tokens"
        else:
            what = ", ".join(differ)
            fix = "keep one run per point (sweep them into separate --out files)"
        raise ValueError(f"two runs of size {record['size']} in the {point[0]} grid differ in "
                         f"{what}; {fix}")
    return records

"""Measured run times of the book's notebooks, per hardware profile.

Every lab tells its reader, before it trains anything, how long it took under
each profile (ARCHITECTURE.md). Those numbers are not typed in by hand: each
time ``book/execute.py`` runs a notebook under a profile it records the wall
time, device and date here, in ``scalinglab/reference/run_times.json``, which
ships with the package so that a lab opened in Colab can print it too. A
profile nobody has run yet is reported as such, never estimated.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from scalinglab._io import write_atomic
from scalinglab.profiles import PROFILES

RUN_TIMES_PATH = Path(__file__).resolve().parent / "reference" / "run_times.json"


def load_run_times(path: str | os.PathLike | None = None) -> dict[str, dict[str, dict]]:
    """``{notebook: {profile: {"wall_s", "device", "date", "commit"}}}``; empty if no file."""
    path = Path(path or RUN_TIMES_PATH)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path} is not valid JSON ({err}); restore it with `git checkout -- {path.name}` "
            "or delete it and re-run `make execute`"
        ) from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} should hold a JSON object keyed by notebook path")
    return data


def record_run_time(notebook: str, profile: str, wall_s: float, device: str,
                    commit: str | None = None, path: str | os.PathLike | None = None,
                    date: str | None = None) -> dict:
    """Store one measurement (replacing the notebook's previous one for that profile)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if not wall_s > 0:
        raise ValueError(f"a run time must be positive, got {wall_s!r}")
    path = Path(path or RUN_TIMES_PATH)
    data = load_run_times(path)
    entry = {
        "wall_s": round(float(wall_s), 1),
        "device": device,
        "date": date or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
        "commit": commit,
    }
    data.setdefault(notebook, {})[profile] = entry
    ordered = {nb: {p: data[nb][p] for p in PROFILES if p in data[nb]} for nb in sorted(data)}
    write_atomic(path, (json.dumps(ordered, indent=1, ensure_ascii=False) + "\n").encode())
    return entry


def format_duration(seconds: float) -> str:
    """``42 s``, ``6.5 min``, ``1.2 h``: a run time as a reader would say it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def run_time_table(notebook: str, path: str | os.PathLike | None = None) -> str:
    """A few lines for a lab's first cells: how long it took under each profile, and where.

    ``notebook`` is the path from the repository root, e.g. ``labs/02_entropy_lab.ipynb``.
    """
    measured = load_run_times(path).get(notebook, {})
    lines = [f"measured run time of {notebook}:"]
    for name, profile in PROFILES.items():
        entry = measured.get(name)
        if entry:
            lines.append(f"  {name:<6} {format_duration(entry['wall_s']):>8}   on {entry['device']}"
                         f" ({entry['date']})")
        else:
            lines.append(f"  {name:<6} {'—':>8}   not measured yet (budget: {profile.budget})")
    return "\n".join(lines)

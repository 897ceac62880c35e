"""Re-run the book's notebooks in place under a hardware profile (``make execute``).

The website is built from the notebooks' committed outputs, so refreshing them
is its own step. Each executed notebook records, in its metadata under
``scalinglab.execution``, the profile it ran under and a hash of its code cells;
a notebook whose code and profile are unchanged is skipped (the cache), unless
``--force`` is given. Notebooks are written atomically: an interrupted run leaves
the previous version intact.

Every run also records its wall time, device and date in
``scalinglab/reference/run_times.json`` (the table each lab prints at its top).
``--measure`` runs the notebooks only to time them under a profile, leaving the
committed outputs as they are: that is how a lab's ``cpu`` time is measured while
the book keeps showing the outputs of another profile.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from scalinglab._io import write_atomic


def code_hash(nb: nbformat.NotebookNode) -> str:
    """Hash of the code cells' sources: what decides whether outputs are stale."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode() + b"\0")
    return digest.hexdigest()[:16]


def is_current(nb: nbformat.NotebookNode, profile: str) -> bool:
    record = nb.metadata.get("scalinglab", {}).get("execution", {})
    return record.get("profile") == profile and record.get("code_sha256") == code_hash(nb)


def _record(path: Path, profile: str, wall_s: float, run_times: Path | None = None) -> None:
    """Store the run time under the notebook's path from the repository root."""
    from scalinglab.profiles import get_profile, resolve_device
    from scalinglab.provenance import device_name, git_commit
    from scalinglab.runtimes import record_run_time

    root = Path(__file__).resolve().parent.parent
    try:
        name = path.resolve().relative_to(root).as_posix()
    except ValueError:
        name = path.name
    device = device_name(resolve_device(get_profile(profile).device))
    record_run_time(name, profile, wall_s, device, commit=git_commit(), path=run_times)


def execute(path: Path, profile: str, timeout_s: int, write: bool = True,
            run_times: Path | None = None) -> float:
    """Run ``path`` top to bottom under ``profile``; record its run time (in ``run_times``,
    default the package's run_times.json); keep its outputs unless ``write`` is False."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    client.execute()
    wall_s = time.perf_counter() - start
    _record(path, profile, wall_s, run_times)
    if not write:
        return wall_s
    nb.metadata.setdefault("scalinglab", {})["execution"] = {
        "profile": profile,
        "code_sha256": code_hash(nb),
        "wall_s": round(wall_s, 1),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
    }
    write_atomic(path, nbformat.writes(nb).encode("utf-8"))
    return wall_s


RUN_TIME_CALL = re.compile(r'print\(run_time_table\("([^"]+)"\)\)')


def refresh_run_time_outputs(path: Path, run_times: Path | None = None) -> bool:
    """Rewrite the printed run-time table of a lab's first cells with today's measurements.

    The table is printed when the lab runs, so a measurement made later (``--measure``)
    would otherwise show only after the next full run. The new output is exactly what the
    cell prints now; nothing else in the notebook changes. Returns whether it changed.
    """
    from scalinglab.runtimes import run_time_table

    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        match = RUN_TIME_CALL.search(cell.source) if cell.cell_type == "code" else None
        if not match:
            continue
        text = run_time_table(match.group(1), path=run_times) + "\n"
        streams = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
        if len(streams) == 1 and streams[0].get("text") != text:
            streams[0]["text"] = text
            changed = True
    if changed:
        write_atomic(path, nbformat.writes(nb).encode("utf-8"))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks, or folders of them")
    parser.add_argument("--profile", required=True)
    parser.add_argument("--force", action="store_true", help="re-run even unchanged notebooks")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--run-times", type=Path, default=None,
                        help="record run times here (default: scalinglab/reference/run_times.json)")
    parser.add_argument("--refresh-run-times", action="store_true",
                        help="only rewrite each lab's printed run-time table (no execution)")
    parser.add_argument("--measure", action="store_true",
                        help="only time the notebooks (run_times.json); keep their outputs")
    args = parser.parse_args(argv)
    os.environ["SCALINGLAB_PROFILE"] = args.profile
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        parser.error(f"no such notebook or folder: {', '.join(missing)}")
    notebooks = sorted(p for arg in args.paths
                       for p in (arg.glob("*.ipynb") if arg.is_dir() else [arg]))
    if args.refresh_run_times:
        for path in notebooks:
            if refresh_run_time_outputs(path, args.run_times):
                print(f"  refreshed  {path}")
        return 0
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        if not (args.force or args.measure) and is_current(nb, args.profile):
            print(f"  unchanged  {path}")
            continue
        print(f"  running    {path} (profile {args.profile}) ...", flush=True)
        wall_s = execute(path, args.profile, args.timeout, write=not args.measure,
                         run_times=args.run_times)
        print(f"  done       {path} in {wall_s:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

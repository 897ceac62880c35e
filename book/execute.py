"""Re-run the book's notebooks in place under a hardware profile (``make execute``).

The website is built from the notebooks' committed outputs, so refreshing them
is its own step. Each executed notebook records, in its metadata under
``scalinglab.execution``, the profile it ran under and a hash of its code cells;
a notebook whose code and profile are unchanged is skipped (the cache), unless
``--force`` is given. Notebooks are written atomically: an interrupted run leaves
the previous version intact.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


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


def execute(path: Path, profile: str, timeout_s: int) -> float:
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
    nb.metadata.setdefault("scalinglab", {})["execution"] = {
        "profile": profile,
        "code_sha256": code_hash(nb),
        "wall_s": round(wall_s, 1),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
    }
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, suffix=".ipynb.tmp", delete=False, encoding="utf-8"
    ) as tmp:
        nbformat.write(nb, tmp)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, path)
    return wall_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--force", action="store_true", help="re-run even unchanged notebooks")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    os.environ["SCALINGLAB_PROFILE"] = args.profile
    notebooks = sorted(p for folder in args.folders for p in folder.glob("*.ipynb"))
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        if not args.force and is_current(nb, args.profile):
            print(f"  unchanged  {path}")
            continue
        print(f"  running    {path} (profile {args.profile}) ...", flush=True)
        wall_s = execute(path, args.profile, args.timeout)
        print(f"  done       {path} in {wall_s:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

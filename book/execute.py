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
import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from scalinglab._io import write_atomic

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


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
    record_run_time(name, profile, wall_s, device, commit=code_commit(git_commit(), root),
                    path=run_times)


def code_commit(commit: str | None, root: Path) -> str | None:
    """``commit`` without ``-dirty`` when only notebooks and run times differ from it.

    Executing notebooks writes their outputs back, so the second notebook of a run
    would otherwise be recorded as run from a dirty tree; outputs are not code.
    """
    if not commit or not commit.endswith("-dirty"):
        return commit
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
         ":(exclude)*.ipynb", ":(exclude)scalinglab/reference/run_times.json"],
        cwd=root, capture_output=True, text=True,
    )
    clean = status.returncode == 0 and not status.stdout.strip()
    return commit.removesuffix("-dirty") if clean else commit


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
    settle_progress_bars(nb)
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


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MODEL_REF = re.compile(r"IPY_MODEL_([0-9a-f]+)")


def _progress_text(state: dict, box: dict) -> str | None:
    """The finished line of a tqdm bar (an HBox of HTML, FloatProgress, HTML), or None."""
    children = [state.get(MODEL_REF.sub(r"\1", ref), {}) for ref in box["state"]["children"]]
    names = [child.get("model_name") for child in children]
    if names != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    left, right = (html.unescape(c["state"]["value"]) for c in (children[0], children[2]))
    return " ".join(f"{left} {right}".replace("\u2007", " ").split())


def settle_progress_bars(nb: nbformat.NotebookNode) -> int:
    """Replace each training progress bar by its last line of text, or by nothing.

    A static page cannot run a bar; a bar that was hidden when it closed (a model's
    bar, ``leave=False``) still keeps its height on the page, a blank gap. So a hidden
    bar is dropped, a kept one (a sweep's) becomes one line of text, and the widget
    models no output shows any more are removed. Returns how many bars were settled.
    """
    widgets = nb.metadata.get("widgets", {}).get(WIDGET_STATE)
    if not widgets:
        return 0
    state = widgets["state"]
    settled, dropped = 0, set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            model_id = output.get("data", {}).get(WIDGET_VIEW, {}).get("model_id")
            box = state.get(model_id) if model_id else None
            text = _progress_text(state, box) if box and box["model_name"] == "HBoxModel" else None
            if text is None:
                outputs.append(output)
                continue
            settled += 1
            dropped.add(model_id)
            layout = state.get(MODEL_REF.sub(r"\1", box["state"]["layout"]), {})
            if layout.get("state", {}).get("visibility") != "hidden":
                outputs.append(nbformat.v4.new_output("stream", name="stderr", text=text + "\n"))
        cell.outputs = outputs
    # Drop the models only the settled bars used. Everything else stays, including models
    # no output names but that still act on the page (a slider's jslink).
    only_bars = _reachable(state, dropped)
    in_use = _reachable(state, set(state) - only_bars)
    widgets["state"] = {k: v for k, v in state.items() if k not in only_bars - in_use}
    return settled


def _reachable(state: dict, roots: set[str]) -> set[str]:
    """The widget models ``roots`` refer to, directly or through others, roots included."""
    seen, todo = set(), list(roots)
    while todo:
        model_id = todo.pop()
        if model_id in seen or model_id not in state:
            continue
        seen.add(model_id)
        todo.extend(MODEL_REF.findall(json.dumps(state[model_id]["state"])))
    return seen


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
    # The kernel inherits this: figures go into the outputs as PNG whatever the caller's
    # environment sets (MPLBACKEND=Agg, as in the test set-up, would drop every figure).
    os.environ["MPLBACKEND"] = INLINE_BACKEND
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

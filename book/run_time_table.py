"""Write the syllabus's table of measured lab run times (``book/_generated/run_times.md``).

The times come from ``scalinglab/reference/run_times.json``, which ``book/execute.py``
fills in each time it runs a notebook under a profile; nothing here is typed by hand.
A profile nobody has run a lab under yet shows "—". The table lists every lab in
``labs/`` and every notebook that has a measurement; a notebook listed in the book's
table of contents is linked (relative to ``book/``, where the page that includes the
table lives), any other is named in plain text so the build has no broken links.

    python book/run_time_table.py            # the defaults below
    python book/run_time_table.py --run-times other.json --out /tmp/run_times.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere in a checkout
    sys.path.insert(0, str(ROOT))

from scalinglab.profiles import PROFILES  # noqa: E402
from scalinglab.runtimes import RUN_TIMES_PATH, format_duration, load_run_times  # noqa: E402

DEFAULT_OUT = ROOT / "book" / "_generated" / "run_times.md"
DEFAULT_TOC = ROOT / "book" / "_toc.yml"
NOT_MEASURED = "—"


def toc_files(toc: Path) -> set[str]:
    """The ``file:`` entries of a Jupyter Book table of contents (paths without suffix)."""
    if not toc.exists():
        return set()
    files = set()
    for line in toc.read_text(encoding="utf-8").splitlines():
        entry = line.strip().lstrip("-").strip()
        if entry.startswith("file:"):
            path = entry[len("file:"):].strip().strip("'\"")
            files.add(str(Path(path).with_suffix("")))
    return files


def notebook_title(path: Path) -> str | None:
    """The first ``# `` heading of a notebook's markdown cells, if it has one."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        for line in (source if isinstance(source, str) else "".join(source)).splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return None


def notebook_cell(notebook: str, root: Path, linked: set[str]) -> str:
    """The table's first column: the notebook's title, linked when the book has its page."""
    title = notebook_title(root / notebook) or Path(notebook).stem
    title = title.replace("|", "\\|")
    if str(Path(notebook).with_suffix("")) in linked:
        return f"[{title}](../{notebook})"
    return f"{title} (`{notebook}`)"


def notebooks_to_list(run_times: dict, root: Path) -> list[str]:
    """Every lab on disk and every measured notebook, labs first, each group sorted."""
    labs = {p.relative_to(root).as_posix() for p in (root / "labs").glob("*.ipynb")}
    names = labs | set(run_times)
    return sorted(names, key=lambda n: (not n.startswith("labs/"), n))


def render(run_times: dict, root: Path = ROOT, linked: set[str] | None = None) -> str:
    """The markdown: one row per notebook, one column per profile, then where each was run."""
    linked = set() if linked is None else linked
    profiles = list(PROFILES)
    lines = [
        "| notebook | " + " | ".join(f"`{p}`" for p in profiles) + " |",
        "| --- | " + " | ".join("---:" for _ in profiles) + " |",
    ]
    measured_rows = []
    for notebook in notebooks_to_list(run_times, root):
        entries = run_times.get(notebook, {})
        cells = []
        for profile in profiles:
            entry = entries.get(profile)
            if entry and entry.get("wall_s"):
                cells.append(format_duration(float(entry["wall_s"])))
                measured_rows.append((notebook, profile, entry))
            else:
                cells.append(NOT_MEASURED)
        lines.append(f"| {notebook_cell(notebook, root, linked)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"{NOT_MEASURED}: not measured yet under that profile.")
    lines.append("")
    if measured_rows:
        lines += [
            "Where each time was measured:",
            "",
            "| notebook | profile | device | date |",
            "| --- | --- | --- | --- |",
        ]
        for notebook, profile, entry in measured_rows:
            device = str(entry.get("device") or "unknown").replace("|", "\\|")
            date = entry.get("date") or "unknown"
            lines.append(f"| `{notebook}` | `{profile}` | {device} | {date} |")
        lines.append("")
    else:
        lines.append("No lab has been timed yet under any profile.")
        lines.append("")
    return "\n".join(lines)


def write_table(run_times_path: Path | None = None, out: Path = DEFAULT_OUT,
                root: Path = ROOT, toc: Path | None = DEFAULT_TOC) -> Path:
    """Read the measurements, write the table to ``out``; return ``out``."""
    run_times = load_run_times(run_times_path or RUN_TIMES_PATH)
    text = render(run_times, root, toc_files(toc) if toc else set())
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-times", type=Path, default=RUN_TIMES_PATH,
                        help="the measurements (default: scalinglab/reference/run_times.json)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the markdown to write")
    parser.add_argument("--toc", type=Path, default=DEFAULT_TOC,
                        help="the book's table of contents: notebooks in it are linked")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository root")
    args = parser.parse_args(argv)
    out = write_table(args.run_times, args.out, args.root, args.toc)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The syllabus's run-time table is generated from run_times.json, never typed by hand."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def table_module():
    spec = importlib.util.spec_from_file_location("run_time_table",
                                                  ROOT / "book" / "run_time_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def checkout(tmp_path):
    """A small repository: two labs on disk, a toc listing one of them."""
    labs = tmp_path / "labs"
    labs.mkdir()
    for stem, title in (("01_first_lab", "Lab 1: a first law"), ("02_entropy_lab", None)):
        cells = [{"cell_type": "markdown", "metadata": {}, "source": [f"# {title}\n", "text"]}
                 ] if title else []
        (labs / f"{stem}.ipynb").write_text(json.dumps({"cells": cells}), encoding="utf-8")
    toc = tmp_path / "_toc.yml"
    toc.write_text("root: book/intro\nparts:\n  - chapters:\n      - file: labs/01_first_lab\n",
                   encoding="utf-8")
    run_times = tmp_path / "run_times.json"
    run_times.write_text(json.dumps({
        "labs/01_first_lab.ipynb": {
            "tiny": {"wall_s": 42.0, "device": "cpu: AMD EPYC, 1 thread", "date": "2026-11-23",
                     "commit": "abc"},
            "gpu": {"wall_s": 390.0, "device": "cuda: NVIDIA H100", "date": "2026-11-24",
                    "commit": "abc"},
        },
        "chapters/04_power_laws.ipynb": {
            "tiny": {"wall_s": 5400.0, "device": "cpu", "date": "2026-11-23", "commit": None},
        },
    }), encoding="utf-8")
    return tmp_path, run_times, toc


def rows(text: str, header: str) -> list[list[str]]:
    """The body rows of the markdown table whose header starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    body = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        body.append([cell.strip() for cell in line.strip("|").split("|")])
    return body


def test_table_rows_and_unmeasured_profiles(table_module, checkout):
    root, run_times, toc = checkout
    out = table_module.write_table(run_times, root / "book" / "_generated" / "run_times.md",
                                   root=root, toc=toc)
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "| notebook | `tiny` | `cpu` | `colab` | `gpu` |"
    table = rows(text, "| notebook | `tiny`")
    assert [row[0] for row in table] == [
        "[Lab 1: a first law](../labs/01_first_lab.ipynb)",       # in the toc: linked
        "02_entropy_lab (`labs/02_entropy_lab.ipynb`)",           # on disk, not in the toc
        "04_power_laws (`chapters/04_power_laws.ipynb`)",         # measured, not on disk
    ]
    assert table[0][1:] == ["42 s", "—", "—", "6.5 min"]
    assert table[1][1:] == ["—", "—", "—", "—"]                   # never measured
    assert table[2][1:] == ["1.5 h", "—", "—", "—"]
    devices = rows(text, "| notebook | profile | device")
    assert ["`labs/01_first_lab.ipynb`", "`gpu`", "cuda: NVIDIA H100", "2026-11-24"] in devices
    assert len(devices) == 3


def test_no_measurements_yet(table_module, checkout, tmp_path):
    root, _, toc = checkout
    text = table_module.render(table_module.load_run_times(tmp_path / "missing.json"), root,
                               table_module.toc_files(toc))
    table = rows(text, "| notebook | `tiny`")
    assert len(table) == 2 and all(row[1:] == ["—"] * 4 for row in table)
    assert "No lab has been timed yet" in text


def test_script_runs_from_the_command_line(table_module, checkout):
    root, run_times, toc = checkout
    out = root / "out.md"
    assert table_module.main(["--run-times", str(run_times), "--out", str(out),
                              "--toc", str(toc), "--root", str(root)]) == 0
    assert "6.5 min" in out.read_text(encoding="utf-8")


def test_real_toc_is_readable(table_module):
    files = table_module.toc_files(ROOT / "book" / "_toc.yml")
    assert "chapters/04_power_laws" in files and "book/glossary" in files

"""Every notebook follows the book's conventions (ARCHITECTURE.md).

First code cell: the Colab bootstrap, installing scalinglab from the repository
named in book/_config.yml. Second: the profile report. Then hidden assert
cells (``remove-cell``) that check the science, an exercises section with
solutions behind a toggle, and a place in the table of contents.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("labs/*.ipynb")])
CONFIG = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.add(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return files


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under chapters/ or labs/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_is_the_colab_bootstrap(path):
    first = _code_cells(nbformat.read(path, as_version=4))[0].source
    assert "google.colab" in first, "first code cell must detect Colab"
    assert f"git+{REPO_URL}" in first, f"first code cell must install from {REPO_URL}"
    assert "pip install" in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_second_cell_reports_the_profile(path):
    second = _code_cells(nbformat.read(path, as_version=4))[1].source
    assert "profile_report()" in second


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_hidden_cells_assert_the_science(path):
    nb = nbformat.read(path, as_version=4)
    hidden = [c for c in _code_cells(nb) if "remove-cell" in c.metadata.get("tags", [])]
    assert hidden, "no hidden (remove-cell) check cells"
    assert all("assert" in c.source for c in hidden), "a remove-cell cell that asserts nothing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_with_hidden_solutions(path):
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                     if c.cell_type == "markdown")
    assert re.search(r"^#+ Exercises", text, re.M), "no Exercises section"
    exercises = re.findall(r":::\{exercise\}", text)
    solutions = re.findall(r":::\{solution\}[^\n]*\n(?::label:[^\n]*\n)?:class: dropdown", text)
    assert exercises, "no {exercise} directives"
    assert len(solutions) == len(exercises), "every exercise needs a dropdown solution"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_widget_cells_are_ignored_by_nbval(path):
    for cell in _code_cells(nbformat.read(path, as_version=4)):
        if "explorer(" in cell.source:
            assert "nbval-ignore-output" in cell.metadata.get("tags", []), cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_the_table_of_contents(path):
    assert str(path.relative_to(ROOT).with_suffix("")) in _toc_files()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_state_their_profile(path):
    """Outputs come from a named profile, the one the front page says."""
    nb = nbformat.read(path, as_version=4)
    execution = nb.metadata.get("scalinglab", {}).get("execution")
    assert execution, "not executed with `make execute` (no scalinglab.execution metadata)"
    intro = " ".join((ROOT / "book" / "intro.md").read_text().split())
    assert f"`{execution['profile']}` profile" in intro, (
        f"{path.name} was executed under {execution['profile']!r}; the front page must say so"
    )


def test_toc_lists_only_pages_that_exist():
    for file in _toc_files():
        matches = [p for p in ROOT.glob(file + ".*") if p.suffix in (".md", ".ipynb")]
        assert matches, f"_toc.yml lists {file}, which does not exist"


LABS = sorted(ROOT.glob("labs/*.ipynb"))


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_lab_states_its_measured_run_time_first(path):
    """A lab prints its measured run time per profile right after the profile report,
    and its `tiny` time has been measured (book/execute.py records it)."""
    from scalinglab.runtimes import load_run_times

    name = path.relative_to(ROOT).as_posix()
    first_code = _code_cells(nbformat.read(path, as_version=4))[2]
    assert f'run_time_table("{name}")' in first_code.source, (
        "the third code cell must print run_time_table for this lab's own path")
    assert "tiny" in load_run_times().get(name, {}), f"no measured tiny run time for {name}"


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_lab_shows_the_reference_results_of_a_larger_profile(path):
    sources = "\n".join(c.source for c in _code_cells(nbformat.read(path, as_version=4)))
    assert "load_reference(" in sources, "a lab loads reference results beside its own runs"
    assert "get_profile(" in sources, "a lab trains what its profile says"


# A cell that draws: matplotlib calls on an axes or figure, pyplot, or the book's own
# plotting helpers (plot_*, *_figure, loglog_axes).
DRAWS = re.compile(
    r"\b(ax|axes|axs|fig|ax[0-9A-Za-z_]*)\.(plot|scatter|loglog|semilogx|semilogy|bar|barh|hist"
    r"|legend|fill_between|axhline|axvline|errorbar|imshow|step|text|annotate)\(|\bplt\."
    r"|\b[a-z_]*_figure\(|\bloglog_axes\(|\bplot_[a-z_]+\("
)
IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")


def _shows_a_figure(cell) -> bool:
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if any(kind in data for kind in IMAGE_TYPES):
            return True
        # a slider over figures drawn ahead (scalinglab.frames) carries them as widgets
        if "application/vnd.jupyter.widget-view+json" in data:
            return True
    return False


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_that_draws_shows_its_figure(path):
    """The committed outputs are what the website shows: a figure that was drawn but not
    kept (a notebook executed with MPLBACKEND=Agg) is missing from the page."""
    nb = nbformat.read(path, as_version=4)
    blank = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and DRAWS.search(cell.source)
             and "remove-cell" not in cell.metadata.get("tags", [])
             and not _shows_a_figure(cell)]
    assert not blank, f"cells {blank} draw but their committed outputs hold no figure"


# The text column holds 88 columns of code at the site's code font (book/assets/book.css).
CODE_COLUMNS = 88


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_a_reader_sees_fits_the_text_column(path):
    """Hidden check cells and the collapsed Colab bootstrap are exempt."""
    nb = nbformat.read(path, as_version=4)
    long = [(i, line) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            and not {"remove-cell", "hide-cell"} & set(cell.metadata.get("tags", []))
            for line in cell.source.splitlines() if len(line) > CODE_COLUMNS]
    assert not long, f"code lines over {CODE_COLUMNS} columns (cell, line): {long[:5]}"

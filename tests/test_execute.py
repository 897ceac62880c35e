"""`make execute`: notebooks re-run in place, unchanged ones skipped, failures lose nothing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("book_execute", ROOT / "book" / "execute.py")
book_execute = importlib.util.module_from_spec(spec)
spec.loader.exec_module(book_execute)


def _notebook(path: Path, source: str) -> Path:
    nb = new_notebook(cells=[new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _execute_tiny(path: Path, tmp_path: Path) -> None:
    """Run one notebook under ``tiny``, its run time kept out of the package's file."""
    book_execute.main([str(path), "--profile", "tiny", "--run-times",
                       str(tmp_path / "run_times.json")])


def test_execute_records_profile_and_skips_unchanged(tmp_path, capsys):
    path = _notebook(tmp_path / "a.ipynb", "print(6 * 7)")
    run_times = tmp_path / "run_times.json"
    book_execute.main([str(tmp_path), "--profile", "tiny", "--run-times", str(run_times)])
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].outputs[0]["text"].strip() == "42"
    execution = nb.metadata["scalinglab"]["execution"]
    assert execution["profile"] == "tiny"
    assert execution["code_sha256"] == book_execute.code_hash(nb)

    book_execute.main([str(tmp_path), "--profile", "tiny", "--run-times", str(run_times)])
    assert "unchanged" in capsys.readouterr().out
    assert book_execute.is_current(nbformat.read(path, as_version=4), "tiny")
    assert not book_execute.is_current(nbformat.read(path, as_version=4), "cpu")


def test_a_failing_notebook_leaves_the_committed_version_intact(tmp_path):
    path = _notebook(tmp_path / "b.ipynb", "raise RuntimeError('boom')")
    before = path.read_bytes()
    with pytest.raises(Exception, match="boom"):
        book_execute.main([str(tmp_path), "--profile", "tiny",
                           "--run-times", str(tmp_path / "run_times.json")])
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.tmp"))


def test_run_times_are_recorded_and_measure_keeps_the_outputs(tmp_path):
    from scalinglab.runtimes import load_run_times

    path = _notebook(tmp_path / "c.ipynb", "print(6 * 7)")
    before = path.read_bytes()
    run_times = tmp_path / "run_times.json"
    book_execute.main([str(path), "--profile", "cpu", "--measure", "--run-times", str(run_times)])
    assert path.read_bytes() == before          # --measure only times the notebook
    entry = load_run_times(run_times)["c.ipynb"]["cpu"]
    assert entry["wall_s"] > 0 and entry["device"].startswith("cpu")


def test_refresh_rewrites_only_the_printed_run_time_table(tmp_path):
    from nbformat.v4 import new_output

    from scalinglab.runtimes import record_run_time, run_time_table

    run_times = tmp_path / "run_times.json"
    record_run_time("labs/x_lab.ipynb", "cpu", 390.0, "cpu: X, 1 thread", path=run_times)
    cell = new_code_cell('print(run_time_table("labs/x_lab.ipynb"))',
                         outputs=[new_output("stream", name="stdout", text="stale\n")])
    other = new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")])
    nb = new_notebook(cells=[cell, other])
    path = tmp_path / "x_lab.ipynb"
    nbformat.write(nb, path)
    book_execute.main([str(path), "--profile", "tiny", "--refresh-run-times",
                       "--run-times", str(run_times)])
    after = nbformat.read(path, as_version=4)
    assert after.cells[0].outputs[0]["text"] == run_time_table("labs/x_lab.ipynb",
                                                              path=run_times) + "\n"
    assert "6.5 min" in after.cells[0].outputs[0]["text"]
    assert after.cells[1].outputs[0]["text"] == "1\n"


def test_figures_are_kept_whatever_backend_the_environment_sets(tmp_path, monkeypatch):
    """Under MPLBACKEND=Agg a cell ending in ``ax.legend();`` would show nothing."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = _notebook(tmp_path / "figure.ipynb",
                     "import matplotlib.pyplot as plt\n"
                     "fig, ax = plt.subplots()\n"
                     "ax.plot([1, 2], [3, 4], label='a line')\n"
                     "ax.legend();")
    _execute_tiny(path, tmp_path)
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs


def test_progress_bars_settle_into_one_line_or_nothing(tmp_path):
    """A finished sweep's bar becomes its last line; a model's hidden bar leaves no gap."""
    path = _notebook(tmp_path / "bars.ipynb",
                     "from tqdm.notebook import tqdm\n"
                     "for _ in tqdm(range(3), desc='sweep'):\n"
                     "    for _ in tqdm(range(5), desc='model', leave=False):\n"
                     "        pass")
    _execute_tiny(path, tmp_path)
    nb = nbformat.read(path, as_version=4)
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["stream"], outputs
    assert outputs[0].text.startswith("sweep: 100%") and "3/3" in outputs[0].text
    assert not nb.metadata.get("widgets", {}).get(book_execute.WIDGET_STATE, {}).get("state")


def test_written_outputs_do_not_make_the_code_dirty(tmp_path):
    """A run records the commit of its code; notebooks written back are not code."""
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    _notebook(tmp_path / "a.ipynb", "print(1)")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    (tmp_path / "a.ipynb").write_text((tmp_path / "a.ipynb").read_text() + "\n")
    assert book_execute.code_commit("abc-dirty", tmp_path) == "abc"
    (tmp_path / "code.py").write_text("x = 2\n")
    assert book_execute.code_commit("abc-dirty", tmp_path) == "abc-dirty"
    assert book_execute.code_commit("abc", tmp_path) == "abc"


def test_settling_bars_keeps_a_sliders_link(tmp_path):
    """A jslink is named by no output, yet it is what moves a slider's figure on the page."""
    path = _notebook(tmp_path / "slider.ipynb",
                     "import ipywidgets as w\n"
                     "from tqdm.notebook import tqdm\n"
                     "for _ in tqdm(range(2), leave=False):\n"
                     "    pass\n"
                     "s, t = w.IntSlider(), w.IntText()\n"
                     "w.jslink((s, 'value'), (t, 'value'))\n"
                     "w.VBox([s, t])")
    _execute_tiny(path, tmp_path)
    nb = nbformat.read(path, as_version=4)
    state = nb.metadata["widgets"][book_execute.WIDGET_STATE]["state"]
    names = [model["model_name"] for model in state.values()]
    assert "LinkModel" in names and "IntSliderModel" in names
    assert "FloatProgressModel" not in names  # the bar itself is gone

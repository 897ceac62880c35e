"""`python -m scalinglab fit FILE`: reads a sweep's JSONL, prints the law with intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scalinglab.cli import main
from scalinglab.fit import CHINCHILLA_PUBLISHED

FLOOR = 1.573


def write_sweep(path, rows, torn_tail: str | None = None):
    lines = [json.dumps(row) for row in rows]
    text = "\n".join(lines) + "\n" + (torn_tail or "")
    path.write_text(text, encoding="utf-8")
    return str(path)


def model_size_sweep(n=8, floor=FLOOR, seed=0):
    rng = np.random.default_rng(seed)
    sizes = np.geomspace(2e3, 2e6, n)
    return [
        {"n_params": float(N), "n_params_non_embedding": float(N) * 0.8, "tokens": 5e5,
         "flops": 6 * N * 5e5, "val_bpb": floor + 4.0 * N**-0.33 * np.exp(0.01 * rng.normal()),
         "entropy_floor_bpb": floor, "grid": "model-size"}
        for N in sizes
    ]


def good_path(tmp_path):
    return write_sweep(tmp_path / "good.jsonl", model_size_sweep())


def test_power_law_with_the_records_floor(tmp_path, capsys):
    path = write_sweep(tmp_path / "sweep.jsonl", model_size_sweep())
    assert main(["fit", path, "--fix-E", "floor"]) == 0
    out = capsys.readouterr().out
    assert "8 run records" in out and "E fixed at 1.573" in out
    alpha_line = next(line for line in out.splitlines() if line.strip().startswith("alpha"))
    estimate = float(alpha_line.split()[1])
    assert estimate == pytest.approx(0.33, abs=0.02)
    assert "[" in alpha_line  # an interval is printed


def test_a_torn_last_line_is_skipped_and_reported(tmp_path, capsys):
    path = write_sweep(tmp_path / "sweep.jsonl", model_size_sweep(), torn_tail='{"n_params": 3')
    assert main(["fit", path, "--fix-E", "1.573", "--n-boot", "200"]) == 0
    captured = capsys.readouterr()
    assert "line 9" in captured.err and "skipped" in captured.err
    assert "1 line skipped" in captured.out


def test_a_damaged_middle_line_is_an_error_naming_it(tmp_path, capsys):
    rows = model_size_sweep()
    path = tmp_path / "sweep.jsonl"
    lines = [json.dumps(r) for r in rows]
    lines[2] = lines[2][:20]
    path.write_text("\n".join(lines) + "\n")
    assert main(["fit", str(path)]) == 1
    assert "line 3" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "holds no run records"), ("\n\n", "holds no run records"),
     ('{"n_params": 1000.0}\n', "has no 'val_bpb'")],
)
def test_empty_files_and_missing_columns(tmp_path, capsys, content, message):
    path = tmp_path / "sweep.jsonl"
    path.write_text(content)
    assert main(["fit", str(path)]) == 1
    assert message in capsys.readouterr().err


def test_bad_values_and_options_are_named(tmp_path, capsys):
    rows = model_size_sweep()
    rows[4]["val_bpb"] = -1.0
    path = write_sweep(tmp_path / "bad.jsonl", rows)
    assert main(["fit", path]) == 1
    assert "line 5 has val_bpb = -1.0" in capsys.readouterr().err
    text_rows = [dict(r, entropy_floor_bpb=None) for r in model_size_sweep()]  # real text
    path = write_sweep(tmp_path / "text.jsonl", text_rows)
    assert main(["fit", path, "--fix-E", "floor"]) == 1
    assert "entropy_floor_bpb" in capsys.readouterr().err
    assert main(["fit", good_path(tmp_path), "--fix-E", "1.9"]) == 1
    assert "line 1 has val_bpb" in capsys.readouterr().err  # below the floor given
    assert main(["fit", str(tmp_path / "missing.jsonl")]) == 1
    assert "no such results file" in capsys.readouterr().err
    assert main(["fit", good_path(tmp_path), "--law", "chinchilla", "--x", "flops"]) == 1
    assert "parameter count" in capsys.readouterr().err


def test_isoflop_and_chinchilla_laws(tmp_path, capsys):
    rows = []
    for C in np.geomspace(1e18, 1e20, 4):
        n_opt = CHINCHILLA_PUBLISHED.optimal_allocation(C)[0]
        for N in np.geomspace(n_opt / 8, n_opt * 8, 7):
            D = C / (6 * N)
            rows.append({"n_params": N, "tokens": D, "flops": 6 * N * D, "flops_budget": C,
                         "val_bpb": CHINCHILLA_PUBLISHED.predict(N, D)})
    path = write_sweep(tmp_path / "isoflop.jsonl", rows)
    assert main(["fit", path, "--law", "isoflop", "--n-boot", "100"]) == 0
    out = capsys.readouterr().out
    a_line = next(line for line in out.splitlines() if line.strip().startswith("a "))
    assert float(a_line.split()[1]) == pytest.approx(CHINCHILLA_PUBLISHED.a, abs=1e-3)
    assert main(["fit", path, "--law", "chinchilla", "--n-boot", "20"]) == 0
    out = capsys.readouterr().out
    beta_line = next(line for line in out.splitlines() if line.strip().startswith("beta"))
    assert float(beta_line.split()[1]) == pytest.approx(0.28, rel=0.01)

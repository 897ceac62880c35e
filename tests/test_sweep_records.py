"""A fit counts each run once and fits one family at a time (scalinglab.sweep.records)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scalinglab.cli import main
from scalinglab.sweep import DuplicateRecordWarning, one_family, unique_records

FLOOR = 1.5


def model_size_runs(n=5, grid="model-size", corpus="synthetic", profile="tiny", tokens=4096,
                    seed=0):
    """Records shaped like a sweep's: a run key, a size, its grid, corpus and profile."""
    rng = np.random.default_rng(seed)
    return [{"run_key": f"{grid}-{corpus}-{profile}-{tokens}-{i}", "size": f"d{16 * (i + 1)}-L2",
             "grid": grid, "corpus": corpus, "profile": profile, "tokens": tokens, "seed": seed,
             "n_params": float(N), "val_bpb": FLOOR + 3.0 * N**-0.3 * np.exp(0.01 * rng.normal())}
            for i, N in enumerate(np.geomspace(1e3, 1e6, n))]


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


# -- the library function ----------------------------------------------------------------------


def test_unique_records_keeps_the_first_of_each_run_and_names_the_repeats():
    runs = model_size_runs()
    again = [dict(r, val_bpb=9.9) for r in runs[:2]]  # the same runs, stored a second time
    with pytest.warns(DuplicateRecordWarning,
                      match=r"dropped 2 duplicate record\(s\).*model-size-synthetic-tiny-4096-0, "
                            r"model-size-synthetic-tiny-4096-1\); each run counts once"):
        kept = unique_records(runs + again)
    assert kept == runs
    no_keys = [{"n_params": 1.0, "val_bpb": 2.0}, {"n_params": 1.0, "val_bpb": 2.0},
               {"n_params": 2.0, "val_bpb": 2.0}]
    with pytest.warns(DuplicateRecordWarning, match="no run_key"):
        assert unique_records(no_keys) == [no_keys[0], no_keys[2]]


def test_unique_records_is_silent_when_every_run_is_there_once(recwarn):
    runs = model_size_runs()
    assert unique_records(runs) == runs
    assert not recwarn.list


@pytest.mark.parametrize(("field", "other", "flag"), [
    ("grid", "isoflop", "--grid"), ("corpus", "pydocs", "--corpus"),
    ("profile", "cpu", "--profile")])
def test_one_family_refuses_a_mixture_and_names_the_flag_that_chooses(field, other, flag):
    runs = model_size_runs()
    mixed = runs + model_size_runs(**{field: other})
    with pytest.raises(ValueError, match=f"the records mix 2 values of {field} .*; fit one at a "
                                         f"time: choose one with {flag}"):
        one_family(mixed)
    assert one_family(mixed, **{field: runs[0][field]}) == runs
    with pytest.raises(ValueError, match=f"no record has {field} 'nope'.*with {flag}"):
        one_family(mixed, **{field: "nope"})


def test_one_family_refuses_two_runs_of_one_point_that_differ_in_tokens_or_seed():
    runs, longer = model_size_runs(tokens=2048), model_size_runs(tokens=4096)
    message = (r"two runs of size d16-L2 in the model-size grid differ in tokens "
               r"\(2,048 and 4,096\); choose one with --tokens")
    with pytest.raises(ValueError, match=message):
        one_family(runs + longer)
    assert one_family(runs + longer, tokens=4096) == longer
    reseeded = [dict(r, run_key=r["run_key"] + "s", seed=1) for r in runs]
    with pytest.raises(ValueError, match="differ in seed; keep one run per point"):
        one_family(runs + reseeded)
    # a data-size grid varies its tokens: one size at several token counts is the family
    data_size = [dict(r, grid="data-size", size="d48-L3") for r in runs[:1] + longer[:1]]
    assert one_family(data_size) == data_size


# -- through the fit command --------------------------------------------------------------------


def test_fit_counts_a_run_listed_twice_once(tmp_path, capsys):
    runs = model_size_runs()
    once = write(tmp_path / "once.jsonl", runs)
    twice = write(tmp_path / "twice.jsonl", runs + runs)
    assert main(["fit", once, "--n-boot", "50"]) == 0
    fit_once = capsys.readouterr().out.splitlines()
    assert main(["fit", twice, "--n-boot", "50"]) == 0
    captured = capsys.readouterr()
    fit_twice = captured.out.splitlines()
    assert fit_twice[0].startswith(f"{twice}: 5 run records, 5 not fitted")
    assert fit_twice[1:] == fit_once[1:]  # the same estimates and the same intervals
    assert "warning: dropped 5 duplicate record(s) of runs listed earlier" in captured.err
    assert "model-size-synthetic-tiny-4096-0" in captured.err


def test_fit_refuses_mixed_grids_until_told_which(tmp_path, capsys):
    path = write(tmp_path / "mixed.jsonl", model_size_runs() + model_size_runs(grid="isoflop"))
    assert main(["fit", path]) == 1
    err = capsys.readouterr().err
    assert err == ("error: the records mix 2 values of grid (isoflop, model-size); fit one at a "
                   "time: choose one with --grid (grid=... in Python)\n")
    assert main(["fit", path, "--grid", "model-size", "--n-boot", "50"]) == 0
    assert "5 run records, 5 not fitted" in capsys.readouterr().out
    longer = write(tmp_path / "tokens.jsonl", model_size_runs() + model_size_runs(tokens=8192))
    assert main(["fit", longer]) == 1
    assert "choose one with --tokens" in capsys.readouterr().err
    assert main(["fit", longer, "--tokens", "8192", "--n-boot", "50"]) == 0

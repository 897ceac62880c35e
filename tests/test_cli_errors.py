"""Every refused input is one line naming the flag or path and the fix, with a non-zero exit."""

from __future__ import annotations

import json

import pytest

from scalinglab.cli import main

GOOD_RECORDS = "".join(json.dumps({"n_params": 1e3 * 10**i, "val_bpb": 2.0 + 1 / (i + 1)}) + "\n"
                       for i in range(5))


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A working folder holding a file, a folder and a small results file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_bytes(b"hello, hello, hello\n")
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "runs.jsonl").write_text(GOOD_RECORDS)
    return tmp_path


SWEEP = ["sweep", "--profile", "tiny", "--grid", "model-size", "--out", "x.jsonl"]
HELP = "; see `python -m scalinglab {} --help`"

CASES = [
    (["train", "--device", "banana"], 2,
     "argument --device: 'banana' is not a device; use auto, cpu, cuda, cuda:N or mps"
     + HELP.format("train")),
    ([*SWEEP, "--device", "banana"], 2,
     "argument --device: 'banana' is not a device; use auto, cpu, cuda, cuda:N or mps"
     + HELP.format("sweep")),
    (["train", "--tokens", "0"], 2,
     "argument --tokens: must be a whole number of at least 1, got 0" + HELP.format("train")),
    ([*SWEEP, "--tokens", "0"], 2,
     "argument --tokens: must be a whole number of at least 1, got 0" + HELP.format("sweep")),
    (["train", "--tokens=-5"], 2,
     "argument --tokens: must be a whole number of at least 1, got -5" + HELP.format("train")),
    (["train", "--seed=-1"], 2,
     "argument --seed: a seed must be 0 or more, got -1" + HELP.format("train")),
    ([*SWEEP, "--sizes", ""], 2,
     "argument --sizes: expected names separated by commas, such as d16-L2,d32-L2, got ''"
     + HELP.format("sweep")),
    (["fit", "runs.jsonl", "--level", "95"], 2,
     "argument --level: must be a fraction between 0 and 1, such as 0.95, got '95' "
     "(for 95 % give 0.95)" + HELP.format("fit")),
    (["fit", "runs.jsonl", "--level", "nan"], 2,
     "argument --level: must be a fraction between 0 and 1, such as 0.95, got 'nan'"
     + HELP.format("fit")),
    (["fit", "runs.jsonl", "--n-boot", "5"], 2,
     "argument --n-boot: must be at least 20 resamples, got 5" + HELP.format("fit")),
    (["fit", "a_folder"], 1,
     "a_folder is a folder, not a results file; give the path of a sweep's .jsonl file"),
    (["fit", "missing.jsonl"], 1, "no such results file: missing.jsonl; check the path"),
    (["sample", "--bytes", "10", "--concentrations", "-1,2"], 2,
     "argument --concentrations: expected one argument (a value that starts with '-' goes "
     "after '=', as in --flag=-1)" + HELP.format("sample")),
    (["sample", "--bytes", "10", "a_folder"], 1,
     "OUT a_folder is a folder; give the name of a file to write (inside it, or elsewhere)"),
    (["compress", "a_folder", "out.slz"], 1,
     "IN a_folder is a folder, not a file; give the path of a file"),
    (["compress", "in.txt", "out.slz", "--prime", "missing.txt"], 1,
     "--prime missing.txt does not exist; check the path"),
    (["decompress", "missing.slz", "out.txt"], 1, "IN missing.slz does not exist; check the path"),
    (["train", "--record", "a_folder"], 1,
     "--record a_folder is a folder; give the name of a file to write (inside it, or elsewhere)"),
    (["train", "--save", "in.txt/model.pt"], 1,
     "--save in.txt/model.pt: in.txt is a file, not a folder; give a path inside a folder"),
    ([*SWEEP[:-1], "a_folder"], 1,
     "--out a_folder is a folder; give the name of a file to write (inside it, or elsewhere)"),
]


@pytest.mark.parametrize(("argv", "code", "message"), CASES,
                         ids=[" ".join(argv) for argv, _, _ in CASES])
def test_refused_input_is_one_line_naming_the_fix(files, capsys, argv, code, message):
    assert main(argv) == code
    captured = capsys.readouterr()
    assert captured.err == f"error: {message}\n"
    assert not (files / "out.slz").exists() and not (files / "x.jsonl").exists()


def test_an_unknown_command_is_one_line_listing_the_commands(capsys):
    assert main(["bogus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: argument COMMAND: invalid choice: 'bogus' (choose from ")
    assert "'fit'" in err and err.endswith("); see `python -m scalinglab --help`\n")
    assert err.count("\n") == 1


def test_an_os_error_names_the_flag_whose_path_it_concerns(files, capsys, monkeypatch):
    import scalinglab.commands.sample as sample

    def refuse(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(sample, "write_atomic", refuse)
    assert main(["sample", "--bytes", "10", "locked.bin"]) == 1
    assert capsys.readouterr().err == (
        "error: OUT locked.bin cannot be opened (permission denied); check its permissions\n")


def test_tokens_rounded_up_to_a_batch_are_said_once(files, capsys):
    argv = ["train", "--profile", "tiny", "--size", "d16-L2", "--tokens", "10", "--record",
            "run.json", "--no-progress"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    note = "note: --tokens 10 rounded up to 1,024 (one batch of 32 × 32 tokens)"
    assert err.count(note) == 1
    assert json.loads((files / "run.json").read_text())["tokens"] == 1024  # what the note says
    assert main([*argv[:-3], "--tokens", "2048", "--no-progress"]) == 0
    assert "rounded" not in capsys.readouterr().err  # a whole number of batches: nothing to say


def test_a_sweep_says_how_it_rounds_its_tokens(files, capsys):
    argv = [*SWEEP, "--sizes", "d16-L2", "--tokens", "1500", "--no-progress"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert err.count("note: --tokens 1,500 rounded up to 2,048 (2 batches of 32 × 32 tokens)") == 1

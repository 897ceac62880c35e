"""`python -m scalinglab sample`: a sample of the synthetic source and its ideal size."""

from __future__ import annotations

import re

import numpy as np
import pytest

from scalinglab.cli import main
from scalinglab.data import synthetic_source


def test_sample_writes_the_source_and_prints_its_floor(tmp_path, capsys):
    out = tmp_path / "sample.bin"
    assert main(["sample", "--corpus", "synthetic", "--bytes", "20000", "--seed", "3",
                 str(out)]) == 0
    source = synthetic_source()
    assert out.read_bytes() == source.sample(20_000, seed=3).tobytes()
    printed = capsys.readouterr().out
    rate = float(re.search(r"entropy rate: ([\d.]+) bits per byte", printed).group(1))
    ideal = float(re.search(r"ideal size: ([\d,]+) bytes", printed).group(1).replace(",", ""))
    assert rate == pytest.approx(source.entropy_rate, abs=1e-6)
    assert ideal == pytest.approx(20_000 * source.entropy_rate / 8, abs=0.5)
    assert [p.name for p in tmp_path.iterdir()] == ["sample.bin"]  # no temporary left


def test_sample_passes_source_options(tmp_path, capsys):
    out = tmp_path / "small.bin"
    argv = ["sample", "--bytes", "5000", "--vocab-size", "4", "--order", "2",
            "--concentrations", "2,1", "--zipf-exponent", "1.5", "--source-seed", "9",
            str(out)]
    assert main(argv) == 0
    data = np.frombuffer(out.read_bytes(), dtype=np.uint8)
    assert data.size == 5000 and data.max() < 4
    source = synthetic_source(vocab_size=4, order=2, concentrations=(2, 1), zipf_exponent=1.5,
                              source_seed=9)
    assert f"{source.entropy_rate:.6f}" in capsys.readouterr().out


def test_sample_replaces_an_existing_file_whole(tmp_path):
    out = tmp_path / "sample.bin"
    out.write_bytes(b"x" * 100_000)
    assert main(["sample", "--bytes", "10", str(out)]) == 0
    assert len(out.read_bytes()) == 10


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--corpus", "pydocs", "--bytes", "10"], "only the synthetic source can be sampled"),
        (["--corpus", "wiki", "--bytes", "10"], "only the synthetic source can be sampled"),
        (["--bytes", "0"], "positive"),
        (["--bytes", "10", "--order", "2", "--concentrations", "1,2,3"],
         "one value per order"),
    ],
)
def test_sample_errors_are_clear(tmp_path, capsys, argv, message):
    assert main(["sample", *argv, str(tmp_path / "out.bin")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.bin").exists()


def test_sample_into_a_missing_folder_fails_cleanly(tmp_path, capsys):
    assert main(["sample", "--bytes", "10", str(tmp_path / "nope" / "out.bin")]) == 1
    assert "does not exist" in capsys.readouterr().err

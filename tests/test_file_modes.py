"""Files the library writes get the user's umask, and a replaced file keeps its mode."""

from __future__ import annotations

import os
import stat

import pytest

from scalinglab._io import current_umask, new_file_mode, write_atomic
from scalinglab.cli import main
from scalinglab.model import GPT, GPTConfig, save_checkpoint
from scalinglab.sweep import ResultsStore, TornRecordWarning


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o002, 0o022, 0o077], ids=lambda m: f"umask{m:03o}")
def umask(request):
    before = os.umask(request.param)
    yield request.param
    os.umask(before)


def test_the_umask_is_read_without_changing_it(umask):
    assert current_umask() == umask
    assert current_umask() == umask
    assert new_file_mode() == 0o666 & ~umask


def test_results_checkpoints_and_archives_get_the_users_umask(tmp_path, umask):
    expected = 0o666 & ~umask
    store = ResultsStore(tmp_path / "runs.jsonl")
    store.append({"run_key": "a"})
    assert mode(store.path) == expected
    write_atomic(tmp_path / "sample.bin", b"abc")
    assert mode(tmp_path / "sample.bin") == expected
    config = GPTConfig(vocab_size=4, seq_len=4, d_model=8, n_layer=1, n_head=2)
    save_checkpoint(GPT(config), tmp_path / "model.pt")
    assert mode(tmp_path / "model.pt") == expected
    (tmp_path / "in.txt").write_bytes(b"abracadabra")
    assert main(["compress", str(tmp_path / "in.txt"), str(tmp_path / "in.slz")]) == 0
    assert mode(tmp_path / "in.slz") == expected
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_repaired_results_file_keeps_its_mode(tmp_path, umask):
    store = ResultsStore(tmp_path / "runs.jsonl")
    store.append({"run_key": "a"})
    os.chmod(store.path, 0o664)  # a results folder shared with a group
    with open(store.path, "ab") as f:
        f.write(b'{"run_key": "b", "val_')  # a crash in mid-write
    with pytest.warns(TornRecordWarning):
        assert store.read() == [{"run_key": "a"}]
    assert mode(store.path) == 0o664
    os.chmod(tmp_path / "runs.jsonl", 0o640)
    write_atomic(store.path, b'{"run_key": "c"}\n')  # replacing a file keeps its mode too
    assert mode(store.path) == 0o640

"""Two sweeps on one results file share the work; a kill inside a write loses one run only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scalinglab.sweep.runner as runner
from scalinglab.cli import main
from scalinglab.sweep import ResultsStore, TornRecordWarning
from scalinglab.sweep.claims import RunClaim

ROOT = Path(__file__).resolve().parents[1]
SIZES = ["d16-L2", "d24-L2", "d32-L2"]


def _sweep_argv(out: Path) -> list[str]:
    return ["sweep", "--profile", "tiny", "--grid", "model-size", "--sizes", ",".join(SIZES),
            "--tokens", "2048", "--out", str(out), "--no-progress"]


def _child(script: str, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SCALINGLAB_PROFILE": "tiny"}
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT, env=env, **popen)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# Each child logs every training it starts. Its first training waits until the other
# child has started one too, so both are inside the sweep at once whatever the
# machine's speed (the two minutes are a safety net, not part of the test).
SHARED_SWEEP = """
import os, sys, time
from pathlib import Path
import scalinglab.sweep.runner as runner
from scalinglab.cli import main

folder = Path(sys.argv[1])
real_train = runner.train

def logged_train(*args, **kwargs):
    (folder / f"started.{os.getpid()}").touch()
    give_up = time.monotonic() + 120
    while len(list(folder.glob("started.*"))) < 2 and time.monotonic() < give_up:
        time.sleep(0.01)
    with open(folder / "trainings.log", "a") as log:
        log.write(kwargs["extra"]["run_key"] + "\\n")
    return real_train(*args, **kwargs)

runner.train = logged_train
sys.exit(main(sys.argv[2:]))
"""


def test_two_sweeps_on_one_file_train_each_run_once(tmp_path):
    out = tmp_path / "runs.jsonl"
    argv = _sweep_argv(out)
    children = [_child(SHARED_SWEEP, str(tmp_path), *argv, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for child in children:
        stdout, stderr = child.communicate(timeout=300)
        assert child.returncode == 0, stderr[-3000:]
        assert "3 runs in" in stdout  # each sees the whole family, whoever trained it
    keys = [r["run_key"] for r in _records(out)]
    assert sorted(r["size"] for r in _records(out)) == sorted(SIZES)
    assert len(keys) == len(set(keys)) == 3
    trainings = (tmp_path / "trainings.log").read_text().split()
    assert sorted(trainings) == sorted(keys)  # three runs, three trainings
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("started.")) == [
        "runs.jsonl", "trainings.log"]  # no lock file left behind


def test_a_claim_is_exclusive_and_dies_with_its_process(tmp_path):
    path = tmp_path / "runs.jsonl.abc.lock"
    holder = _child("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT);"
                    "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
                    str(path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    claim = RunClaim(path)
    assert not claim.acquire(wait=False)  # another process trains this run
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert claim.acquire(wait=False)  # the kernel let go of the dead holder's lock
    claim.release()
    assert not path.exists()


def test_a_claim_on_a_lock_file_its_holder_removed_is_taken_again(tmp_path):
    path = tmp_path / "runs.jsonl.abc.lock"
    first, second = RunClaim(path), RunClaim(path)
    assert first.acquire(wait=False)
    stale = os.open(path, os.O_RDWR)  # opened before the holder lets go
    first.release()
    assert second.acquire(wait=False)
    other = RunClaim(path)
    assert not other.acquire(wait=False)  # the new file at the path is the one that counts
    second.release()
    os.close(stale)


# -- a kill inside a write -----------------------------------------------------------------

# The child runs the sweep with every record padded to several MB, and os.write
# cut into 64 KB pieces. On the last run's record it stops after the first MB,
# says so and waits: the parent then kills it in the middle of that write.
TORN_SWEEP = """
import os, sys
import scalinglab.sweep.runner as runner
from scalinglab.cli import main

real_train, real_write = runner.train, os.write
trained = []

def padded_train(*args, **kwargs):
    trained.append(kwargs["extra"]["run_key"])
    return {**real_train(*args, **kwargs), "padding": "x" * 4_000_000}

def chunked_write(fd, data):
    if len(data) < 1_000_000:
        return real_write(fd, data)
    for start in range(0, len(data), 1 << 16):
        if len(trained) == 3 and start == 1 << 20:
            print("inside the write", flush=True)
            sys.stdin.read()  # killed here
        real_write(fd, data[start:start + (1 << 16)])
    return len(data)

runner.train, os.write = padded_train, chunked_write
sys.exit(main(sys.argv[1:]))
"""


def test_a_sweep_killed_inside_a_write_resumes_with_only_the_lost_run(tmp_path, monkeypatch):
    out = tmp_path / "runs.jsonl"
    argv = _sweep_argv(out)
    child = _child(TORN_SWEEP, *argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    assert line == "inside the write\n", child.stderr.read()[-3000:]
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    data = out.read_bytes()
    complete = data[: data.rindex(b"\n") + 1]
    assert len(data) - len(complete) == 1 << 20  # the last record is cut at 1 MB
    before = [json.loads(x) for x in complete.splitlines()]
    assert len(before) == 2

    trained, real_train = [], runner.train

    def logged_train(*args, **kwargs):
        trained.append(kwargs["extra"]["run_key"])
        return real_train(*args, **kwargs)

    monkeypatch.setattr(runner, "train", logged_train)
    with pytest.warns(TornRecordWarning, match=r"runs\.jsonl, line 3: incomplete record"):
        assert main(argv) == 0
    after = _records(out)
    assert after[:2] == before and out.read_bytes().startswith(complete)  # nothing lost
    assert len(trained) == 1 and trained[0] not in {r["run_key"] for r in before}
    assert sorted(r["size"] for r in after) == sorted(SIZES)
    assert ResultsStore(out).torn_path.read_bytes() == data[len(complete):] + b"\n"


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(payloads=st.lists(st.integers(0, 8192).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
                        min_size=1, max_size=4),
       cut=st.floats(0, 1, exclude_max=True))
def test_a_results_file_cut_anywhere_in_its_last_record_keeps_the_others(payloads, cut):
    with tempfile.TemporaryDirectory() as folder:
        store = ResultsStore(Path(folder) / "runs.jsonl")
        for i, payload in enumerate(payloads):
            store.append({"run_key": str(i), "payload": payload.hex()})
        data = store.path.read_bytes()
        last = data.rstrip(b"\n").rfind(b"\n") + 1  # where the last record starts
        end = last + int(cut * (len(data) - 1 - last))  # never the whole line
        store.path.write_bytes(data[:end])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TornRecordWarning)
            records = store.read()
        assert [r["payload"] for r in records] == [p.hex() for p in payloads[:-1]]
        assert store.path.read_bytes() == data[:last]
        if end > last:
            assert store.torn_path.read_bytes() == data[last:end] + b"\n"
        store.append({"run_key": "again"})
        assert [r["run_key"] for r in store.read()][-1] == "again"

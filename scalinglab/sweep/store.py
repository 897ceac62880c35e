"""An append-only results file that survives a crash: one JSON record per line.

A sweep can run for hours; the machine can die at any moment. So:

* each record is appended as one ``write`` of one line, then flushed and
  fsynced, so a finished run is on disk before the next one starts;
* a record is never rewritten; a restarted sweep reads the file and skips the
  runs whose ``run_key`` is already there;
* a crash during a write can leave a *torn* last line (no newline, not valid
  JSON). Reading reports it with a warning naming the file and line, appends
  its bytes to ``FILE.torn`` (never overwritten, so nothing is lost) and puts
  the file back to its last complete line with an atomic rename;
* an invalid line anywhere else is not a crash artefact but damage, and is an
  error naming the line: the store does not guess.

Several processes (the ranks of a ``torchrun`` sweep, or two sweeps started on
the same ``--out``) may share one file: every read, repair and append holds an
exclusive ``flock`` on the file's folder (not on the file, which a repair
replaces; and no lock file is left lying around). :meth:`ResultsStore.append_new`
checks for the run's key and appends under one lock, so a run is stored once
however many processes finish it; :meth:`ResultsStore.claim` lets one process
at a time train a run (see :mod:`scalinglab.sweep.claims`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

from scalinglab._io import atomic_file, fsync_dir
from scalinglab.sweep.claims import RunClaim


class TornRecordWarning(UserWarning):
    """The last line of a results file was cut short by a crash and was set aside."""


class ResultsStore:
    """Records of a sweep in a JSONL file at ``path`` (created on the first append)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.torn_path = self.path.with_name(self.path.name + ".torn")

    def __repr__(self) -> str:
        return f"ResultsStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _parse(self, data: bytes) -> tuple[list[dict], int | None]:
        """Records in ``data``, and the byte offset where a torn last line starts (or None)."""
        records: list[dict] = []
        lines = data.split(b"\n")
        # After the last newline comes either nothing or the torn tail of a write.
        tail = lines.pop()
        offset = 0
        for number, line in enumerate(lines, start=1):
            offset += len(line) + 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise ValueError(
                    f"{self.path}, line {number}: not a JSON record ({err}); only a torn last "
                    "line is repaired automatically; fix or remove this line by hand"
                ) from None
            if not isinstance(record, dict):
                raise ValueError(f"{self.path}, line {number}: a record must be a JSON object")
            records.append(record)
        if not tail.strip():
            return records, None
        try:
            record = json.loads(tail)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return records, offset
        if not isinstance(record, dict):
            return records, offset
        records.append(record)  # complete JSON, only its newline missing: keep it
        return records, None

    def _set_aside_torn(self, data: bytes, offset: int) -> None:
        line_number = data[:offset].count(b"\n") + 1
        torn = data[offset:]
        with open(self.torn_path, "ab") as f:
            f.write(torn + b"\n")
            f.flush()
            os.fsync(f.fileno())
        with atomic_file(self.path) as f:  # keeps the file's mode: a shared folder stays shared
            f.write(data[:offset])
        warnings.warn(
            f"{self.path}, line {line_number}: incomplete record ({len(torn)} bytes, cut short "
            f"by a crash?); moved it to {self.torn_path} and kept the {line_number - 1} "
            "complete lines before it",
            TornRecordWarning,
            stacklevel=3,
        )

    def _read_repairing(self) -> list[dict]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        records, torn_at = self._parse(data)
        if torn_at is not None:
            self._set_aside_torn(data, torn_at)
        elif data and not data.endswith(b"\n"):
            # A complete last record missing only its newline: finish the line.
            with open(self.path, "ab") as f:
                f.write(b"\n")
                f.flush()
                os.fsync(f.fileno())
        return records

    def read(self, repair: bool = True) -> list[dict]:
        """Every complete record, in file order; sets a torn last line aside (see above).

        ``repair=False`` reads without locking or writing anything (for files in a
        read-only place, such as an installed package): a torn line is only reported.
        """
        if repair:
            with self._locked():
                return self._read_repairing()
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        records, torn_at = self._parse(data)
        if torn_at is not None:
            warnings.warn(f"{self.path}: incomplete last line (cut short by a crash?) ignored",
                          TornRecordWarning, stacklevel=2)
        return records

    def keys(self) -> set[str]:
        """The ``run_key`` of every record in the file."""
        return {r["run_key"] for r in self.read() if "run_key" in r}

    def append(self, record: dict) -> None:
        """Add one record as one line, durably (flush + fsync) before returning."""
        line = _line(record)
        with self._locked():
            self._read_repairing()  # never append after a torn line
            self._write_line(line)

    def append_new(self, record: dict) -> bool:
        """Append ``record`` unless one with its ``run_key`` is stored; True if it was added.

        The check and the append happen under one lock, so two processes that
        both finish a run store it once.
        """
        line = _line(record)
        with self._locked():
            stored = {r.get("run_key") for r in self._read_repairing()}
            if record.get("run_key") in stored:
                return False
            self._write_line(line)
            return True

    def claim(self, run_key: str) -> RunClaim:
        """The lock a process holds while it trains run ``run_key`` for this file."""
        return RunClaim(self.path.with_name(f"{self.path.name}.{run_key}.lock"))

    def _write_line(self, line: str) -> None:
        created = not self.path.exists()
        # 0o666 lets the umask set the permissions, as for any file the user creates
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            data = line.encode()
            while data:  # a regular file takes it all at once; loop in case it does not
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.path.parent)


def _line(record: dict) -> str:
    return json.dumps(record, sort_keys=True, allow_nan=False, default=_jsonable) + "\n"


def _jsonable(value):
    """numpy scalars and paths, as JSON understands them."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot store {type(value).__name__} in a results record")

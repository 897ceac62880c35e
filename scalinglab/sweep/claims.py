"""One process at a time trains a run: a ``flock`` on ``<out>.<run_key>.lock`` while it trains.

Two sweeps started on the same results file would otherwise both train every
run. Each sweep claims a run before training it. A run whose claim another
process holds is left for later; at the end the sweep waits for that claim, and
then finds the run stored (or, if its holder died, trains it itself).

Why ``flock`` and not a marker written into the results file: the kernel drops
a lock when its process dies, however it dies, so a crashed sweep never leaves
a run claimed for ever. The lock file is removed by its holder on release
(while still locked), so a finished sweep leaves no file behind; a crash can
leave an empty one, which the next sweep that claims the run removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from scalinglab._io import new_file_mode


class RunClaim:
    """An exclusive ``flock`` on one run's lock file; release it when the run is stored."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"RunClaim({str(self.path)!r}, held={self.held})"

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait: bool) -> bool:
        """Take the claim; with ``wait=False`` give up at once (False) if another process has it."""
        if self._fd is not None:
            return True
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, new_file_mode())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            # The holder before us removes the file as it lets go; a lock on a removed
            # file guards nothing, so start again on whatever file is at the path now.
            try:
                here = os.stat(self.path)
            except FileNotFoundError:
                here = None
            mine = os.fstat(fd)
            if here is not None and (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino):
                self._fd = fd
                return True
            os.close(fd)

    def release(self) -> None:
        """Remove the lock file, then let go of it (in that order: see :meth:`acquire`)."""
        if self._fd is None:
            return
        try:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunClaim:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

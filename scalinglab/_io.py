"""Writing files so that nothing half-written ever looks complete, with the user's permissions.

Every file the library writes (results, a repaired results file, checkpoints,
archives, samples) goes through :func:`atomic_file`: a temporary file in the
same folder, flushed, fsynced and renamed into place. The new file gets the
mode of the file it replaces, else ``0o666`` less the umask, as any file the
user creates would; never the ``0o600`` of ``tempfile.mkstemp``, which would
lock a shared results folder to one user.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows.

    Linux shows it in ``/proc/self/status``; elsewhere it is set and restored at
    once under a lock (``os.umask`` can only be read by writing it).
    """
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def new_file_mode() -> int:
    """``0o666`` less the umask: the mode a new file of the user's gets."""
    return 0o666 & ~current_umask()


def _target_mode(path: Path) -> int:
    """The mode of the file ``path`` holds now (kept on replacing), else a new file's."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return new_file_mode()


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the file system allows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new contents into; it replaces ``path`` on success.

    The temporary file lives in the same folder, so the rename is atomic: a crash
    or an exception leaves either the old file or the new one, never a torn one,
    and no temporary file behind.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"output folder {folder} does not exist; create it first")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name to write, such as "
                                f"{path / 'out'}")
    mode = _target_mode(path)
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            yield f
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(folder)


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_file`."""
    with atomic_file(path) as f:
        f.write(data)

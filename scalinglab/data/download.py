"""Downloaded corpora: pinned SHA-256, a local cache, and nothing half-written.

A file is fetched once into the cache folder (``SCALINGLAB_CACHE``, else
``~/.cache/scalinglab``): it is streamed into a temporary file in that folder, hashed
as it arrives, and renamed into place only when its SHA-256 matches the pinned value.
Every load hashes the cached file again (a tenth of a second for enwik8's 36 MB), so a
file damaged on disk is reported and fetched again, never used. The damaged file is
moved aside to ``<name>.corrupt`` first and deleted only once a verified copy has
replaced it: offline, the error says where it lies, and nothing is lost.

The pinned hashes are the ones the Hugging Face ``datasets`` library records for the
same URLs (``datasets/enwik8/dataset_infos.json``, ``datasets/tiny_shakespeare/
dataset_infos.json``), which many independent projects pin as well.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import secrets
import sys
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

OFFLINE_CORPORA = ("synthetic", "pydocs", "stdlib")
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """Where a downloadable corpus lives, and the bytes we expect to get from there."""

    corpus: str
    filename: str
    url: str
    sha256: str
    size_bytes: int


REMOTE_FILES: dict[str, RemoteFile] = {
    # The Hutter Prize file: the first 10^8 bytes of an English Wikipedia XML dump of
    # 2006, zipped (Mahoney, 2006). The zip holds one member, ``enwik8``.
    "enwik8": RemoteFile(
        corpus="enwik8",
        filename="enwik8.zip",
        url="http://mattmahoney.net/dc/enwik8.zip",
        sha256="547994d9980ebed1288380d652999f38a14fe291a6247c157c3d33d4932534bc",
        size_bytes=36_445_475,
    ),
    # Tiny Shakespeare from Karpathy's char-rnn repository (Karpathy, 2015).
    "shakespeare": RemoteFile(
        corpus="shakespeare",
        filename="tinyshakespeare_input.txt",
        url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        size_bytes=1_115_394,
    ),
}

_NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)


def cache_dir() -> Path:
    """The cache folder: ``SCALINGLAB_CACHE`` if set, else ``~/.cache/scalinglab``."""
    configured = os.environ.get("SCALINGLAB_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "scalinglab"


def remote_file(corpus: str) -> RemoteFile:
    try:
        return REMOTE_FILES[corpus]
    except KeyError:
        raise ValueError(
            f"'{corpus}' is not a downloadable corpus; choose one of {', '.join(REMOTE_FILES)}"
        ) from None


def cached_path(corpus: str) -> Path:
    """Where the corpus's file lies (or will lie) in the cache."""
    return cache_dir() / remote_file(corpus).filename


def is_cached(corpus: str) -> bool:
    """Whether the file is in the cache with the right size (cheap: not hashed)."""
    path = cached_path(corpus)
    return path.is_file() and path.stat().st_size == remote_file(corpus).size_bytes


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def corrupt_path(path: Path) -> Path:
    """Where a cached file that failed its hash is kept until a verified copy replaces it."""
    return path.with_name(path.name + ".corrupt")


def _kept_note(path: Path) -> str:
    aside = corrupt_path(path)
    if not aside.exists():
        return ""
    return (f" The damaged copy found in the cache is kept at {aside} (it failed its SHA-256 "
            "check, so it is not used).")


def _offline_error(remote: RemoteFile, path: Path, err: BaseException) -> RuntimeError:
    return RuntimeError(
        f"could not download the '{remote.corpus}' corpus from {remote.url} ({err})."
        f"{_kept_note(path)} "
        f"Without a network, use a corpus that needs no download: {', '.join(OFFLINE_CORPORA)}. "
        f"Or fetch {remote.url} on another machine and copy it by hand to {path} "
        f"(SHA-256 {remote.sha256}); set SCALINGLAB_CACHE to use another cache folder."
    )


def _download(remote: RemoteFile, path: Path, timeout: float) -> None:
    """Stream ``remote`` into a temporary file next to ``path``; rename only if verified."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as out:
            digest = hashlib.sha256()
            try:
                with urllib.request.urlopen(remote.url, timeout=timeout) as response:
                    while chunk := response.read(_READ_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            except _NETWORK_ERRORS as err:
                raise _offline_error(remote, path, err) from err
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != remote.sha256:
            raise RuntimeError(
                f"the file downloaded from {remote.url} has SHA-256 {digest.hexdigest()}, "
                f"not the pinned {remote.sha256}, so it was discarded. The download was "
                f"damaged or the server changed the file: try again, or copy a verified "
                f"copy by hand to {path}.{_kept_note(path)}"
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    corrupt_path(path).unlink(missing_ok=True)  # a verified copy is in place: drop the bad one


def fetch(corpus: str, *, timeout: float = 60.0) -> Path:
    """The verified cached file of a downloadable corpus, downloading it if needed.

    A cached file whose SHA-256 does not match is reported (a warning), moved aside
    to ``<name>.corrupt`` and downloaded again; the bad copy is deleted only once the
    new one is verified.
    """
    remote = remote_file(corpus)
    path = cached_path(corpus)
    if path.is_file():
        found = sha256_of(path)
        if found == remote.sha256:
            return path
        aside = corrupt_path(path)
        warnings.warn(
            f"cached file {path} is corrupted (SHA-256 {found}, expected {remote.sha256}); "
            f"moved it to {aside} and downloading it again",
            RuntimeWarning,
            stacklevel=2,
        )
        os.replace(path, aside)
    print(f"downloading the '{corpus}' corpus ({remote.size_bytes / 1e6:.1f} MB) from "
          f"{remote.url} to {path}", file=sys.stderr)
    _download(remote, path, timeout)
    return path

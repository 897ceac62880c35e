"""Downloaded corpora against a local HTTP server: verified, cached, never half-written."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import re
import socket
import threading
import zipfile
from pathlib import Path

import pytest

from scalinglab.data import corpus as corpus_module
from scalinglab.data import corpus_summaries, download, load_corpus
from scalinglab.data.download import RemoteFile

TEXT = b"".join(f"line {i}: to be or not to be\n".encode() for i in range(400))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 serving the folder it returns, in a thread."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SCALINGLAB_CACHE", str(folder))
    return folder


def _serve(monkeypatch, server, corpus: str, payload: bytes, sha256: str | None = None) -> None:
    """Serve ``payload`` and point ``corpus`` at it, pinned to ``sha256`` (default: its own)."""
    root, url = server
    filename = download.REMOTE_FILES[corpus].filename
    (root / filename).write_bytes(payload)
    pinned = sha256 or hashlib.sha256(payload).hexdigest()
    remote = RemoteFile(corpus, filename, f"{url}/{filename}", pinned, len(payload))
    monkeypatch.setitem(download.REMOTE_FILES, corpus, remote)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_download_is_verified_cached_and_split(server, cache, monkeypatch):
    _serve(monkeypatch, server, "shakespeare", TEXT)
    corpus = load_corpus("shakespeare")
    cut = int(0.9 * len(TEXT))
    assert corpus.train.tobytes() == TEXT[:cut] and corpus.val.tobytes() == TEXT[cut:]
    assert sorted(p.name for p in cache.iterdir()) == ["tinyshakespeare_input.txt"]
    # A second load uses the cache: it works with the server gone.
    (server[0] / "tinyshakespeare_input.txt").unlink()
    assert load_corpus("shakespeare").val.tobytes() == TEXT[cut:]


def test_corrupted_cache_is_reported_deleted_and_fetched_again(server, cache, monkeypatch):
    _serve(monkeypatch, server, "shakespeare", TEXT)
    path = download.fetch("shakespeare")
    path.write_bytes(TEXT[:-10] + b"corrupted!")
    with pytest.warns(RuntimeWarning, match="corrupted"):
        corpus = load_corpus("shakespeare")
    assert corpus.train.tobytes() + corpus.val.tobytes() == TEXT
    assert path.read_bytes() == TEXT


def test_wrong_hash_from_the_server_leaves_nothing_behind(server, cache, monkeypatch):
    _serve(monkeypatch, server, "shakespeare", TEXT, sha256="0" * 64)
    with pytest.raises(RuntimeError, match="SHA-256"):
        load_corpus("shakespeare")
    assert not cache.exists() or list(cache.iterdir()) == []


def test_offline_error_names_the_offline_corpora_and_the_manual_fix(cache, monkeypatch):
    remote = download.REMOTE_FILES["enwik8"]
    dead = RemoteFile("enwik8", remote.filename, f"http://127.0.0.1:{_closed_port()}/x.zip",
                      remote.sha256, remote.size_bytes)
    monkeypatch.setitem(download.REMOTE_FILES, "enwik8", dead)
    with pytest.raises(RuntimeError) as info:
        load_corpus("enwik8")
    message = str(info.value)
    assert "could not download" in message
    for offline in ("synthetic", "pydocs", "stdlib"):
        assert offline in message
    assert str(cache / "enwik8.zip") in message and remote.sha256 in message
    assert not cache.exists() or list(cache.iterdir()) == []


def test_enwik8_is_unzipped_and_split_train_then_validation(server, cache, monkeypatch):
    member = bytes(range(256)) * 40  # 10,240 bytes
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("enwik8", member)
    _serve(monkeypatch, server, "enwik8", buffer.getvalue())
    monkeypatch.setattr(corpus_module, "ENWIK8_TRAIN_BYTES", 9_000)
    monkeypatch.setattr(corpus_module, "ENWIK8_VAL_BYTES", 500)
    corpus = load_corpus("enwik8")
    assert corpus.train.tobytes() == member[:9_000]
    assert corpus.val.tobytes() == member[9_000:9_500]  # the last bytes are the test set
    assert corpus.vocab_size == 256 and corpus.entropy_floor_bpb is None


def test_summaries_say_whether_a_download_is_cached(server, cache, monkeypatch):
    before = {row["name"]: row for row in corpus_summaries()}
    assert before["shakespeare"]["cached"] is False
    assert before["shakespeare"]["size_bytes"] is None
    _serve(monkeypatch, server, "shakespeare", TEXT)
    download.fetch("shakespeare")
    after = {row["name"]: row for row in corpus_summaries()}
    assert after["shakespeare"]["cached"] is True
    assert after["shakespeare"]["size_bytes"] == len(TEXT)


def test_cache_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SCALINGLAB_CACHE", str(tmp_path / "here"))
    assert download.cache_dir() == tmp_path / "here"
    monkeypatch.delenv("SCALINGLAB_CACHE")
    assert download.cache_dir() == Path.home() / ".cache" / "scalinglab"


def test_a_corrupted_cache_is_kept_aside_until_a_verified_copy_replaces_it(server, cache,
                                                                         monkeypatch):
    _serve(monkeypatch, server, "shakespeare", TEXT)
    path = download.fetch("shakespeare")
    damaged = TEXT[:-10] + b"corrupted!"
    path.write_bytes(damaged)
    aside = path.with_name(path.name + ".corrupt")
    live = download.REMOTE_FILES["shakespeare"]
    dead = RemoteFile("shakespeare", live.filename, f"http://127.0.0.1:{_closed_port()}/x.txt",
                      live.sha256, live.size_bytes)
    monkeypatch.setitem(download.REMOTE_FILES, "shakespeare", dead)
    kept = re.escape(f"damaged copy found in the cache is kept at {aside}")
    with pytest.warns(RuntimeWarning, match=re.escape(f"moved it to {aside}")), \
            pytest.raises(RuntimeError, match=kept):
        load_corpus("shakespeare")  # offline: the damaged copy is set aside, never deleted
    assert aside.read_bytes() == damaged and not path.exists()
    monkeypatch.setitem(download.REMOTE_FILES, "shakespeare", live)
    corpus = load_corpus("shakespeare")  # online again: a verified copy replaces it
    assert corpus.train.tobytes() + corpus.val.tobytes() == TEXT
    assert sorted(p.name for p in cache.iterdir()) == ["tinyshakespeare_input.txt"]

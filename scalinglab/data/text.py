"""Real text that ships with every Python: no download, no licence question.

``pydocs``: the prose of CPython's help topics (``pydoc_data/topics.py``), about
380 KB of English about Python. The topics are overlapping excerpts of the language
reference, so a plain split would put the same paragraphs on both sides: we keep each
paragraph once, in first-seen order, then split 90/10 contiguously (DESIGN §10 measured
0.7 % of validation's 64-byte windows in training, against 8.5 % without deduplication).

``stdlib``: the standard library's own ``.py`` files (about 11 MB), without test suites,
split by file so that no file is on both sides.

Both depend on the Python version, which every ``description`` states.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import sys
import sysconfig
from pathlib import Path

PYDOCS_TRAIN_FRACTION = 0.9
STDLIB_VAL_FRACTION = 0.1
STDLIB_EXCLUDED_DIRS = frozenset(
    {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__"}
)
"""Folder names skipped anywhere under the stdlib: installed packages and test suites."""

PYTHON_VERSION = platform.python_version()


@functools.lru_cache(maxsize=1)
def pydocs_bytes() -> tuple[bytes, bytes]:
    """(train, validation) UTF-8 bytes of CPython's help topics, deduplicated by paragraph."""
    from pydoc_data.topics import topics

    seen: set[str] = set()
    paragraphs: list[str] = []
    for key in sorted(topics):
        for piece in topics[key].split("\n\n"):
            # Without its outer newlines a paragraph reads the same wherever a run of
            # blank lines put it, and joining with one blank line cannot merge two.
            paragraph = piece.strip("\n")
            if paragraph.strip() and paragraph not in seen:
                seen.add(paragraph)
                paragraphs.append(paragraph)
    text = "\n\n".join(paragraphs).encode("utf-8")
    # Cut at the first paragraph start after 90 %, so no paragraph straddles the split.
    cut = text.find(b"\n\n", int(PYDOCS_TRAIN_FRACTION * len(text)))
    cut = len(text) if cut < 0 else cut + 2
    return text[:cut], text[cut:]


def stdlib_root() -> Path:
    """The folder holding the standard library's ``.py`` files for this Python."""
    return Path(sysconfig.get_paths()["stdlib"])


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def stdlib_files() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, validation) relative paths of the stdlib's ``.py`` files, sorted by path.

    A file goes to validation when a hash of its relative path falls in the lowest
    10 %: deterministic on every machine, and independent of which other files exist.
    """
    root = stdlib_root()
    if not root.is_dir():
        raise FileNotFoundError(
            f"the standard library folder {root} does not exist; the 'stdlib' corpus needs "
            "a full Python install (use 'pydocs' or 'synthetic' instead)"
        )
    venv = Path(sys.prefix).resolve() if sys.prefix != sys.base_prefix else None
    found: list[str] = []
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        subfolders[:] = sorted(
            d for d in subfolders
            if d not in STDLIB_EXCLUDED_DIRS
            and not (venv is not None and _inside((here / d).resolve(), venv))
        )
        rel = here.relative_to(root)
        found.extend((rel / name).as_posix() for name in names if name.endswith(".py"))
    found.sort()
    train, val = [], []
    for rel in found:
        h = int.from_bytes(hashlib.sha256(rel.encode("utf-8")).digest()[:8], "big")
        (val if h % 1000 < STDLIB_VAL_FRACTION * 1000 else train).append(rel)
    return tuple(train), tuple(val)


@functools.lru_cache(maxsize=1)
def stdlib_bytes() -> tuple[bytes, bytes]:
    """(train, validation) bytes of the stdlib sources, files concatenated in path order.

    About 11 MB, read once per process and kept (a tenth of a second to assemble).
    """
    root = stdlib_root()
    train, val = stdlib_files()
    return (b"".join((root / rel).read_bytes() for rel in train),
            b"".join((root / rel).read_bytes() for rel in val))


def stdlib_size_bytes() -> tuple[int, int]:
    """(train, validation) sizes from file sizes alone: cheap, for ``scalinglab info``."""
    root = stdlib_root()
    train, val = stdlib_files()
    return (sum((root / rel).stat().st_size for rel in train),
            sum((root / rel).stat().st_size for rel in val))


def python_label() -> str:
    """'CPython 3.11.7': the text of both corpora changes between versions."""
    return f"{platform.python_implementation()} {PYTHON_VERSION}"

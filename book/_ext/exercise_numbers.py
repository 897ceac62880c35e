"""Number exercises per chapter (8.1, 8.2, ...), not across the whole book.

sphinx-exercise counts every exercise of the book in one sequence, so the lab of
chapter 8 opened at "Exercise 74". Once the pages are written, this renumbers
each chapter page and then its lab in one sequence of their own: chapter N's
exercises are N.1, N.2, ..., and its lab's carry on from where the chapter
stopped. Titles and the "Solution to Exercise ..." links change together.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx

CAPTION = re.compile(r'<span class="caption-number">Exercise (\d+) </span>')
PAGE = re.compile(r"^(chapters|labs)/(\d\d)_")


def renumber_page(html: str, chapter: int, start: int) -> tuple[str, int]:
    """Rewrite one page's exercise numbers as chapter.k from ``start``; return the page
    and the next k."""
    mapping: dict[str, str] = {}
    for found in CAPTION.finditer(html):
        mapping.setdefault(found.group(1), f"{chapter}.{start + len(mapping)}")
    if not mapping:
        return html, start
    pattern = re.compile(r"(Exercise )(" + "|".join(map(re.escape, mapping)) + r")\b")
    return pattern.sub(lambda m: m.group(1) + mapping[m.group(2)], html), start + len(mapping)


def _renumber(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    # chapters/ sorts before labs/: each chapter is numbered before its lab.
    docs = sorted(doc for doc in app.env.found_docs if PAGE.match(doc))
    next_k: dict[int, int] = {}
    for doc in docs:
        chapter = int(PAGE.match(doc).group(2))
        path = Path(app.outdir) / f"{doc}.html"
        if not path.exists():
            continue
        html, next_k[chapter] = renumber_page(path.read_text(encoding="utf-8"), chapter,
                                              next_k.get(chapter, 1))
        path.write_text(html, encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", _renumber)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Every internal link and anchor of the built site resolves; every Colab button opens the
notebook the page was built from. Static checks of ``_build/html`` (no browser needed)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from .conftest import HTML, ROOT

COLAB = re.compile(r'href="(https://colab\.research\.google\.com/github/[^"]+)"')


class _Links(HTMLParser):
    """Collects the page's ids and the URLs it points at (links, images, scripts, styles)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and attrs.get("rel") == "canonical"):
                self.urls.append(attrs[key])


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _pages() -> list[Path]:
    if not (HTML / "index.html").exists():
        pytest.fail("no built site at _build/html: run `make book` first (make check-site does)")
    return sorted(p for p in HTML.rglob("*.html")
                  if not p.relative_to(HTML).parts[0].startswith("_"))


def test_no_internal_link_or_anchor_is_broken():
    parsed: dict[Path, _Links] = {}
    broken = []
    for page in _pages():
        links = parsed.setdefault(page, _parse(page))
        for url in links.urls:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:")):
                continue  # outside links are not followed offline
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(HTML)} → {url} (no such file)")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed.setdefault(target, _parse(target)).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(HTML)} → {url} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def _repository() -> tuple[str, str]:
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    repo = config["repository"]
    return urlsplit(repo["url"]).path.strip("/"), repo.get("branch", "main")


def test_every_notebook_page_opens_its_own_notebook_in_colab():
    repo, branch = _repository()
    notebooks = sorted([*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("labs/*.ipynb")])
    assert notebooks
    for notebook in notebooks:
        relative = notebook.relative_to(ROOT)
        page = HTML / relative.with_suffix(".html")
        assert page.exists(), f"{relative} has no page in the built site"
        links = COLAB.findall(page.read_text(encoding="utf-8"))
        assert links, f"{page.relative_to(HTML)} has no Colab button"
        expected = (f"https://colab.research.google.com/github/{repo}/blob/{branch}/"
                    f"{relative.as_posix()}")
        assert set(links) == {expected}, f"{page.relative_to(HTML)}: {links} ≠ {expected}"


class _ProseText(HTMLParser):
    """The text a reader sees as prose: no code, outputs, scripts or typeset math."""

    SKIP = {"script", "style", "pre", "code", "textarea", "svg"}
    VOID = {"br", "img", "hr", "meta", "link", "input", "wbr", "source", "col", "area", "base"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        skip = tag in self.SKIP or "math" in classes or (self.stack and self.stack[-1])
        self.stack.append(bool(skip))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.text.append(data)


def test_no_page_shows_a_raw_dollar_sign():
    """A `$` left in the prose is maths that did not parse (lab 6 once read "0^8$")."""
    offenders = {}
    for path in sorted(HTML.rglob("*.html")):
        relative = path.relative_to(HTML)
        if relative.parts[0].startswith(("_", "genindex", "search")):
            continue
        parser = _ProseText()
        parser.feed(path.read_text(encoding="utf-8"))
        text = " ".join(parser.text)
        found = [text[max(0, m.start() - 30): m.end() + 30] for m in re.finditer(r"\$", text)]
        if found:
            offenders[str(relative)] = found[:3]
    assert not offenders, offenders

"""The built website, checked as a reader meets it: in a real browser, offline.

Run by ``make check-site`` after ``make book``. Screenshots are saved under
``_build/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import re

from .conftest import HTML

MATH_MARKUP = re.compile(r'class="math[ "]')


def _pages() -> list[str]:
    return sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
                  if not p.relative_to(HTML).parts[0].startswith(("_", "genindex", "search")))


def test_every_page_with_math_renders_it_and_stays_on_the_machine(visit):
    math_pages = [p for p in _pages() if MATH_MARKUP.search((HTML / p).read_text())]
    assert math_pages, "no page with math was built"
    for relative in math_pages:
        v = visit(relative)
        v.page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
        rendered = v.page.locator("mjx-container").count()
        assert rendered > 0, f"{relative}: MathJax rendered nothing"
        assert not v.outside, f"{relative}: requests left the machine: {v.outside}"
        assert not v.failed, f"{relative}: failed requests: {v.failed}"
        v.screenshot("math_" + relative.replace("/", "_").removesuffix(".html"))


def test_widget_page_shows_the_slider_and_its_figure(visit):
    v = visit("chapters/00_how_to_use.html")
    slider = v.page.wait_for_selector(".widget-slider", timeout=20_000)
    assert slider.is_visible()
    figure = v.page.locator(".widget-output img, .jp-OutputArea-output img").first
    figure.wait_for(timeout=20_000)
    assert figure.is_visible()
    slider.scroll_into_view_if_needed()
    v.screenshot("widget_00_how_to_use_light")
    assert not v.outside, f"requests left the machine: {v.outside}"
    assert not v.failed, f"failed requests: {v.failed}"


def test_pages_read_in_dark_mode_too(visit):
    v = visit("chapters/00_how_to_use.html", color_scheme="dark")
    v.page.wait_for_selector(".widget-slider", timeout=20_000).scroll_into_view_if_needed()
    theme = v.page.evaluate(
        "document.documentElement.dataset.theme || document.documentElement.dataset.mode"
    )
    v.screenshot("widget_00_how_to_use_dark")
    assert theme in {"dark", "auto"}, theme
    assert not v.outside


def test_no_built_page_names_a_cdn():
    cdn = re.compile(r"cdn\.jsdelivr|unpkg\.com|cdnjs|googleapis")
    offenders = [p for p in _pages() if cdn.search((HTML / p).read_text())]
    assert not offenders, f"pages that load from a CDN: {offenders}"

"""The built website, checked as a reader meets it: in a real browser, offline.

Run by ``make check-site`` after ``make book``. Screenshots are saved under
``_build/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import re

import pytest

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


# The frames of a slider's box (scalinglab.frames: a VBox of the slider and a Stack of
# images): the sources of those visible now.
VISIBLE_FRAME = """box => Array.from(box.querySelectorAll('img.widget-image'))
  .filter(img => img.offsetParent !== null).map(img => img.src)"""

# Pages whose sliders must move with no kernel: figures drawn ahead (scalinglab.frames).
SLIDER_PAGES = ["chapters/00_how_to_use.html", "chapters/03_compression.html",
                "chapters/04_power_laws.html", "chapters/08_compute_optimal.html",
                "labs/01_first_scaling_law_lab.html"]


@pytest.mark.parametrize("relative", SLIDER_PAGES)
def test_moving_a_slider_changes_the_figure_with_no_kernel(visit, relative):
    v = visit(relative)
    v.page.wait_for_selector("img.widget-image", state="attached", timeout=20_000)
    slider = v.page.locator(".widget-slider").first
    slider.scroll_into_view_if_needed()
    box = slider.locator("xpath=..")
    readout = slider.locator(".widget-readout")
    before, value_before = box.evaluate(VISIBLE_FRAME), readout.inner_text()
    assert len(before) == 1, f"{relative}: expected one visible frame, saw {len(before)}"
    v.screenshot("slider_before_" + relative.replace("/", "_").removesuffix(".html"))
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for key in ("ArrowRight", "ArrowLeft"):  # a slider at its right end moves left
        for _ in range(3):
            handle.press(key)
        v.page.wait_for_timeout(300)
        after, value_after = box.evaluate(VISIBLE_FRAME), readout.inner_text()
        if value_after != value_before:
            break
    assert value_after != value_before, f"{relative}: the slider did not move"
    assert len(after) == 1 and after != before, f"{relative}: the figure did not change"
    v.screenshot("slider_after_" + relative.replace("/", "_").removesuffix(".html"))
    assert not v.outside, f"requests left the machine: {v.outside}"
    assert not v.failed, f"failed requests: {v.failed}"


# The corner pixel of every visible figure, as the browser decoded it: a figure with a
# transparent background would show its black axes and labels on the dark theme's black.
FIGURE_CORNERS = """() => Array.from(
    document.querySelectorAll('.cell_output img, img.widget-image'))
  .filter(img => img.offsetParent !== null && img.naturalWidth > 0).map(img => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    return Array.from(context.getImageData(1, 1, 1, 1).data);
  })"""


@pytest.mark.parametrize("relative", ["chapters/00_how_to_use.html",
                                      "labs/01_first_scaling_law_lab.html"])
def test_figures_read_in_dark_mode_too(visit, relative):
    v = visit(relative, color_scheme="dark")
    v.page.wait_for_selector(".cell_output img, img.widget-image", timeout=20_000)
    v.page.wait_for_timeout(500)
    theme = v.page.evaluate(
        "document.documentElement.dataset.theme || document.documentElement.dataset.mode"
    )
    assert theme in {"dark", "auto"}, theme
    background = v.page.evaluate(
        "getComputedStyle(document.body).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number)")
    assert max(background) < 80, f"the dark theme did not apply: body background {background}"
    corners = v.page.evaluate(FIGURE_CORNERS)
    assert corners, f"{relative}: no figure decoded"
    dark = [c for c in corners if c[3] < 250 or min(c[:3]) < 230]
    assert not dark, f"{relative}: figures without an opaque light background: {dark}"
    first = v.page.locator(".cell_output img, img.widget-image").first
    first.scroll_into_view_if_needed()
    v.screenshot("dark_" + relative.replace("/", "_").removesuffix(".html"))
    assert not v.outside


def test_no_built_page_names_a_cdn():
    cdn = re.compile(r"cdn\.jsdelivr|unpkg\.com|cdnjs|googleapis")
    offenders = [p for p in _pages() if cdn.search((HTML / p).read_text())]
    assert not offenders, f"pages that load from a CDN: {offenders}"


def test_the_glossary_filters_as_the_reader_types(visit):
    v = visit("book/glossary.html")
    box = v.page.wait_for_selector("#glossary-filter", timeout=20_000)
    rows = v.page.locator("#glossary-search ~ * tbody tr, #glossary-search ~ table tbody tr")
    total = rows.count()
    assert total > 10
    box.fill("entropy")
    shown = [r for r in rows.all() if r.is_visible()]
    assert 0 < len(shown) < total
    assert all("entropy" in r.inner_text().lower() for r in shown)
    box.fill("熵")
    shown_zh = [r for r in rows.all() if r.is_visible()]
    assert 0 < len(shown_zh) < total and all("熵" in r.inner_text() for r in shown_zh)
    v.screenshot("glossary_filtered")
    box.fill("")
    assert sum(r.is_visible() for r in rows.all()) == total

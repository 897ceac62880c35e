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


NOTEBOOK_PAGES = sorted(str(p.relative_to(HTML.parents[1]).with_suffix(".html"))
                        for p in [*HTML.parents[1].glob("chapters/*.ipynb"),
                                  *HTML.parents[1].glob("labs/*.ipynb")])
IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")

# Every figure image in a cell's output, loaded (eagerly) and decoded: how many did?
DECODED_FIGURES = """async () => {
  // figures a widget draws (sliders' frames, explorers) are checked by the slider tests
  const imgs = Array.from(document.querySelectorAll('.cell_output img'))
    .filter(img => !img.closest('[class*="widget"]'));
  const ok = await Promise.all(imgs.map(img => {
    img.loading = 'eager';
    return img.decode().then(() => img.naturalWidth > 0, () => false);
  }));
  return ok.filter(Boolean).length;
}"""


def _figures_in_notebook(relative_html: str) -> int:
    import nbformat

    nb = nbformat.read(HTML.parents[1] / relative_html.replace(".html", ".ipynb"), as_version=4)
    count = 0
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "remove-cell" in tags or "remove-output" in tags:
            continue
        count += sum(any(kind in o.get("data", {}) for kind in IMAGE_TYPES)
                     for o in cell.get("outputs", []))
    return count


@pytest.mark.parametrize("relative", NOTEBOOK_PAGES)
def test_every_figure_of_the_notebook_is_on_its_page(visit, relative):
    """A figure the notebook holds but the page does not show is a failure, whatever the
    code did; and a notebook page that draws shows at least one figure."""
    expected = _figures_in_notebook(relative)
    v = visit(relative)
    shown = v.page.evaluate(DECODED_FIGURES)
    assert shown == expected, f"{relative}: {shown} figures decoded, the notebook holds {expected}"


def test_exercises_are_numbered_per_chapter():
    """Chapter 8's lab carries on from chapter 8's exercises (8.7, ...), not from 74."""
    for relative, chapter in (("chapters/08_compute_optimal.html", 8),
                              ("labs/08_compute_optimal_lab.html", 8),
                              ("chapters/03_compression.html", 3)):
        captions = re.findall(r'<span class="caption-number">Exercise ([0-9.]+) </span>',
                              (HTML / relative).read_text())
        assert captions, f"{relative}: no exercises found"
        assert all(c.startswith(f"{chapter}.") for c in captions), (relative, captions)
    lab = re.findall(r'caption-number">Exercise [0-9]+\.([0-9]+) ',
                     (HTML / "labs/08_compute_optimal_lab.html").read_text())
    assert int(lab[0]) > 1  # the lab continues the chapter's sequence


# What reaches past the text column, once maths is typeset: code and equations must fit;
# a printed output (a wide table) may scroll inside its own box.
OVERFLOW = """() => {
  const article = document.querySelector('article.bd-article');
  const right = article.getBoundingClientRect().right + 1;
  const out = [];
  for (const el of article.querySelectorAll('*')) {
    if (el.closest('.cell_output')) continue;
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > right) {
      const owner = el.closest('pre, mjx-container, table, p, li') || el;
      out.push(owner.tagName + ': ' + (owner.textContent || '').trim().slice(0, 60));
    }
  }
  return [...new Set(out)].slice(0, 5);
}"""


@pytest.mark.parametrize("relative", NOTEBOOK_PAGES + ["book/errata.html", "book/glossary.html"])
def test_nothing_is_cut_off_at_the_right_edge(visit, relative):
    """At 1280 px no code line or equation runs past the text column (code is wrapped to
    88 columns); a wide printed table scrolls inside its output box."""
    v = visit(relative)
    if MATH_MARKUP.search((HTML / relative).read_text()):
        v.page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
        v.page.wait_for_timeout(300)
    overflow = v.page.evaluate(OVERFLOW)
    assert not overflow, f"{relative}: past the right edge of the text column: {overflow}"

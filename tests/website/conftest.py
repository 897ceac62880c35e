"""Serve the built site on 127.0.0.1 and drive it in the system's headless Chromium."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_SCHEMES = {"data", "blob", "about"}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


@pytest.fixture(scope="session")
def site_url():
    if not (HTML / "index.html").exists():
        pytest.fail("no built site at _build/html: run `make book` first (make check-site does)")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); "
                    "the browser check of the site is skipped")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        profile_dir = tmp_path_factory.mktemp("chromium-profile")
        context = pw.chromium.launch_persistent_context(
            str(profile_dir), executable_path=executable, args=CHROMIUM_FLAGS,
            headless=True, viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


class PageVisit:
    """A page opened in the browser, with every request it made recorded."""

    def __init__(self, context, site_url: str):
        self.page = context.new_page()
        self.site_host = urlparse(site_url).netloc
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.page.route("**/*", self._guard)
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("response", self._on_response)

    def _guard(self, route):
        url = urlparse(route.request.url)
        if url.scheme in LOCAL_SCHEMES or url.netloc == self.site_host:
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def _on_response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")

    def screenshot(self, name: str, **kwargs) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), **kwargs)
        return path


@pytest.fixture
def visit(browser, site_url):
    visits: list[PageVisit] = []

    def open_page(relative: str, *, color_scheme: str = "light") -> PageVisit:
        v = PageVisit(browser, site_url)
        v.page.emulate_media(color_scheme=color_scheme)
        v.page.goto(f"{site_url}/{relative}", wait_until="load")
        visits.append(v)
        return v

    yield open_page
    for v in visits:
        v.page.close()

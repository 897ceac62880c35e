"""Keep the website self-contained: no page refers to a script on a CDN.

Jupyter Book always loads sphinx-thebe, which writes thebe's CDN address into
every page even when live code is off (as here: the book launches Colab and
Binder instead). This extension unhooks that step, so a page read offline
neither loads nor names an outside script.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _drop_thebe_core(app: Sphinx) -> None:
    listeners = app.events.listeners.get("env-before-read-docs", [])
    for listener in list(listeners):
        handler = listener.handler
        if handler.__module__ == "sphinx_thebe" and handler.__name__ == "init_thebe_core":
            listeners.remove(listener)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _drop_thebe_core)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

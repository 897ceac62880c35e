"""Numbers the prose quotes, published from the cell that computes them.

A sentence such as "the exponent is 0.51" goes stale the day the runs change.
The book's text instead names the number, ``{glue:text}`iso_a:.3f```, and the
cell that computes it calls ``glue("iso_a", iso.a)`` (a sentence chosen by the
results, ``{glue:md}`verdict```, likewise); the website pastes the
value in when it is built (myst-nb's glue), so text and output cannot drift.

Outside a book build (Colab, plain Jupyter) myst-nb may be missing; then
``glue`` does nothing but return the value, and the printed output says the same.
"""

from __future__ import annotations

import numpy as np


def glue(name: str, value: float | int | str) -> float | int | str:
    """Publish ``value`` under ``name`` for the page's text; return it unchanged.

    numpy scalars are turned into Python numbers first, so the page shows ``0.51``,
    not ``np.float64(0.51)``.
    """
    if isinstance(value, np.integer):
        value = int(value)
    elif isinstance(value, np.floating):
        value = float(value)
    if isinstance(value, float) and not np.isfinite(value):
        raise ValueError(f"glue({name!r}): {value!r} is not a number the text can quote")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    if isinstance(value, str):  # a sentence: pasted as Markdown, {glue:md}`name`
        from IPython.display import Markdown

        myst_glue(name, Markdown(value), display=False)
    else:  # a number: {glue:text}`name:.3f`
        myst_glue(name, value, display=False)
    return value

"""One BLAS thread while fitting: a fit is thousands of tiny solves.

scipy's L-BFGS-B calls BLAS and LAPACK on 5×5 problems at every step. OpenBLAS
hands each call to all its threads, and on a busy machine (a 2-core CI runner
running two test workers, a laptop with a notebook training in the background)
waking them costs far more than the arithmetic: a Chinchilla fit that takes
0.1 s on one thread took 10 s on two contended ones. So the fits pin the
OpenBLAS copies that numpy and scipy load to one thread for their duration
and restore the previous count afterwards. It works where the libraries can
be found by name (Linux wheels); elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

_SYMBOLS = ("openblas", "scipy_openblas")
_SUFFIXES = ("", "64_")

F = TypeVar("F", bound=Callable)


@functools.cache
def _controls() -> tuple[tuple[Callable[[], int], Callable[[int], None]], ...]:
    """(get, set) thread-count functions of each OpenBLAS loaded in this process."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    except OSError:
        return ()
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _SYMBOLS:
            for suffix in _SUFFIXES:
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype = ctypes.c_int
                    put.argtypes = [ctypes.c_int]
                    found.append((get, put))
    return tuple(found)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    controls = _controls()
    before = [get() for get, _ in controls]
    try:
        for _, put in controls:
            put(1)
        yield
    finally:
        for (_, put), count in zip(controls, before, strict=True):
            put(count)


def single_threaded(function: F) -> F:
    """Run `function` with one BLAS thread (see the module's docstring)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]

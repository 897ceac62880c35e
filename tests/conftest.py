"""Shared test set-up: quiet, never touching the user's cache, property tests replayable."""

import os

import pytest
from hypothesis import core as hypothesis_core
from hypothesis import settings as hypothesis_settings

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Downloads and caches go to a temporary folder, never ~/.cache."""
    monkeypatch.setenv("SCALINGLAB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


# nbval waits a fixed 5 s for each output message once a cell has finished; on a busy
# machine a kernel can take longer to flush a figure or a widget's state, and the cell
# then fails with "Timeout of 5 seconds exceeded waiting for output" although it ran.
NBVAL_OUTPUT_TIMEOUT_S = 300


def pytest_collection_modifyitems(config, items):
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT_S


# Property tests draw from a fresh random seed each session, so that every run of the
# suite tries new examples; the seed is printed in the header, and setting
# HYPOTHESIS_SEED (or passing --hypothesis-seed) replays a session exactly. It is put
# in the environment here, before pytest-xdist starts its workers, so they share it.
HYPOTHESIS_SEED = int(os.environ.get("HYPOTHESIS_SEED") or int.from_bytes(os.urandom(4), "big"))
os.environ["HYPOTHESIS_SEED"] = str(HYPOTHESIS_SEED)

# No deadline (a busy CI machine is not a failure) and no example database (each
# session starts from its seed alone, so the printed seed is all a replay needs).
hypothesis_settings.register_profile("scalinglab", deadline=None, database=None,
                                     derandomize=False, print_blob=True)
hypothesis_settings.load_profile("scalinglab")


def _seed_option(config):
    return config.getoption("hypothesis_seed", default=None)


def pytest_configure(config):
    if _seed_option(config) is None:
        hypothesis_core.global_force_seed = HYPOTHESIS_SEED


def pytest_report_header(config):
    given = _seed_option(config)
    if given is not None:
        return f"hypothesis seed: {given} (from --hypothesis-seed)"
    return (f"hypothesis seed: {HYPOTHESIS_SEED} (replay a failure with "
            f"HYPOTHESIS_SEED={HYPOTHESIS_SEED})")

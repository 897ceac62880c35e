"""Property tests see new examples each session, from a seed the header prints."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import core, settings

TESTS = Path(__file__).resolve().parent


def test_every_session_draws_from_the_seed_it_prints(request):
    given = request.config.getoption("hypothesis_seed", default=None)
    expected = int(given) if given is not None else int(os.environ["HYPOTHESIS_SEED"])
    assert core.global_force_seed == expected
    header = request.config.hook.pytest_report_header(config=request.config,
                                                      start_path=request.config.rootpath)
    lines = [line for part in header for line in ([part] if isinstance(part, str) else part)]
    assert any(f"hypothesis seed: {expected}" in line for line in lines)


def test_no_property_test_pins_its_examples():
    assert not settings.default.derandomize and settings.default.database is None
    pinned = "derandomize" + "=True"
    offenders = [p.name for p in TESTS.glob("test_*.py") if pinned in p.read_text()]
    assert offenders == []

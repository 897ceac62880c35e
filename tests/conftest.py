"""Shared test set-up: quiet, deterministic, and never touching the user's cache."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Downloads and caches go to a temporary folder, never ~/.cache."""
    monkeypatch.setenv("SCALINGLAB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))

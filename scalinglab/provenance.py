"""Where a result came from: code version, device, library versions and date.

Every run record and every reference result carries these fields, so a number
on the website can be traced to the commit and hardware that produced it
(ARCHITECTURE.md, "Decisions to know"). The keys describe the software and
hardware, never the host's name or the user's paths, so records from different
machines compare cleanly.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

import scalinglab

_PACKAGE_DIR = Path(scalinglab.__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit the code was run from, with ``-dirty`` if tracked files were edited.

    Three sources, in order: ``SCALINGLAB_COMMIT`` (set it where there is no
    ``.git``, e.g. in a container), the repository around the package, and the
    commit pip recorded when it installed from git (as Colab's first cell does).
    ``None`` when none of them knows.
    """
    if env := os.environ.get("SCALINGLAB_COMMIT"):
        return env
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_PACKAGE_DIR, capture_output=True, text=True,
            timeout=10,
        )
        if head.returncode == 0:
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"], cwd=_PACKAGE_DIR,
                capture_output=True, text=True, timeout=10,
            )
            dirty = status.returncode == 0 and bool(status.stdout.strip())
            return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        direct_url = metadata.distribution("scalinglab").read_text("direct_url.json")
        if direct_url:
            commit = json.loads(direct_url).get("vcs_info", {}).get("commit_id")
            if commit:
                return commit
    except (metadata.PackageNotFoundError, ValueError):
        pass
    return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def device_name(device: str | torch.device | None = None) -> str:
    """The device in words: the GPU's name, or the CPU's model and torch's thread count."""
    device = torch.device(device) if device is not None else None
    if device is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    threads = torch.get_num_threads()
    return f"cpu: {_cpu_name()}, {threads} thread{'' if threads == 1 else 's'}"


def provenance(device: str | torch.device | None = None) -> dict:
    """Commit, device, versions and the date (UTC, ISO 8601) of a result."""
    return {
        "commit": git_commit(),
        "device": device_name(device),
        "torch": str(torch.__version__),
        "cuda": torch.version.cuda,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": f"{sys.platform}-{platform.machine()}",
        "scalinglab": scalinglab.__version__,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }

"""Reference results: the sweeps behind the website's figures, kept with their provenance.

A lab either trains now, in the reader's profile, or loads the results of a
larger profile from ``scalinglab/reference/`` and says which (ARCHITECTURE.md, "Decisions to know").
Each file is ``<profile>_<grid>_<corpus>.jsonl``, written by the same resumable
sweep as everything else, so regenerating is one command::

    python -m scalinglab reference --profile cpu

and an interrupted regeneration picks up where it stopped. Every record holds
its commit, device, torch version, profile, seed and date. The gpu reference is
one command of at most 8 minutes with the throughput benchmark, run in priority
order against the clock (:mod:`scalinglab.gpu_reference`); it trains the same
designs into the same files as ``regenerate("gpu")``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from scalinglab.profiles import PROFILES, get_profile, reference_design, reference_text_design
from scalinglab.sweep.grids import check_grid
from scalinglab.sweep.runner import default_out, format_table, sweep
from scalinglab.sweep.store import ResultsStore

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

# (grid, corpus): the model-size, data-size, repetition and IsoFLOP labs on the synthetic
# source (chapters 6-8), and the model-size law on real text that ships with Python (its
# prose, and its source code for chapter 3's compression figure). The synthetic source
# trains the profile's reference design; real text is a fixed size, so it trains the
# lab's own grid, which already sees it many times over, unless the profile has a text
# design (profiles.REFERENCE_TEXT_DESIGNS: the gpu one, whose lab grid would not fit
# its one command of 8 minutes, and the cpu one on the stdlib, one pass over 10 MB).
REFERENCE_SWEEPS: tuple[tuple[str, str], ...] = (
    ("model-size", "synthetic"),
    ("isoflop", "synthetic"),
    ("data-size", "synthetic"),
    ("repetition", "synthetic"),
    ("model-size", "pydocs"),
    ("model-size", "stdlib"),
)

# Larger profiles first: the one a lab falls back to when it does not train.
PROFILES_BY_SIZE = ("gpu", "colab", "cpu", "tiny")


def reference_path(profile: str, grid: str, corpus: str = "synthetic",
                   folder: str | os.PathLike | None = None) -> Path:
    return default_out(profile, grid, corpus, folder or REFERENCE_DIR)


def regenerate(
    profile: str | None = None,
    *,
    only: str | None = None,
    corpus: str | None = None,
    folder: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> list[Path]:
    """Run (or finish) the reference sweeps of ``profile``; return the files written."""
    prof = get_profile(profile)
    wanted = [(g, c) for g, c in REFERENCE_SWEEPS
              if (only is None or g == check_grid(only)) and (corpus is None or c == corpus)]
    if not wanted:
        raise ValueError(f"no reference sweep matches grid={only!r}, corpus={corpus!r}; the "
                         f"sweeps are {', '.join(f'{g}/{c}' for g, c in REFERENCE_SWEEPS)}")
    paths = []
    for grid, corpus_name in wanted:
        path = reference_path(prof.name, grid, corpus_name, folder)
        design = (reference_design(prof) if corpus_name == "synthetic"
                  else reference_text_design(prof, corpus_name))
        records = sweep(grid, profile=design, corpus=corpus_name, out=path, progress=progress)
        stale = len(ResultsStore(path).read()) - len(records)
        if stale:
            warnings.warn(f"{path} also holds {stale} record(s) of runs that the {prof.name} "
                          "profile no longer defines; delete the file and rerun to start clean",
                          stacklevel=2)
        if progress is not False:
            print(f"\n{prof.name} / {grid} / {corpus_name}:\n{format_table(records)}")
        paths.append(path)
        if grid == "model-size" and corpus_name != "synthetic":
            # the compressors on the same held-out bytes, for chapter 3's figure
            from scalinglab.compress.real_text import write_baselines

            paths.append(write_baselines(prof.name, corpus_name, folder))
    return paths


def available(folder: str | os.PathLike | None = None) -> list[dict]:
    """The reference files present: profile, grid, corpus, path, number of records."""
    found = []
    for path in sorted(Path(folder or REFERENCE_DIR).glob("*.jsonl")):
        parts = path.stem.split("_")
        if len(parts) == 3 and parts[0] in PROFILES:
            found.append({"profile": parts[0], "grid": parts[1], "corpus": parts[2],
                          "path": path, "runs": len(ResultsStore(path).read(repair=False))})
    return found


def load_reference(grid: str, corpus: str = "synthetic", profile: str | None = None,
                   folder: str | os.PathLike | None = None) -> tuple[list[dict], str]:
    """Reference records of a family and the profile they come from.

    With ``profile=None`` the largest profile that has the file is used; a lab
    should print which one it got.
    """
    check_grid(grid)
    candidates = [profile] if profile else list(PROFILES_BY_SIZE)
    for name in candidates:
        get_profile(name)
        path = reference_path(name, grid, corpus, folder)
        if path.exists():
            return ResultsStore(path).read(repair=False), name
    raise FileNotFoundError(
        f"no reference results for {grid} on {corpus} (profile {profile or 'any'}) in "
        f"{Path(folder or REFERENCE_DIR)}; create them with `python -m scalinglab reference "
        f"--profile {profile or 'tiny'} --only {grid}`"
    )

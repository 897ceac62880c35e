"""Families of runs and the results file they go to.

``sweep(grid, ...)`` trains a model-size, data-size or IsoFLOP family
(:mod:`.grids`) into an append-only JSONL file that survives crashes
(:mod:`.store`), optionally across the ranks of ``torchrun`` (:mod:`.distributed`)
or several sweeps on one file (:mod:`.claims`). Before a fit, :mod:`.records`
keeps each run once and one family at a time.
"""

from scalinglab.sweep.grids import (
    GRIDS,
    GridPoint,
    RunSpec,
    estimate_seconds,
    grid_points,
    plan,
    run_key,
)
from scalinglab.sweep.records import DuplicateRecordWarning, one_family, unique_records
from scalinglab.sweep.runner import default_out, format_table, lab_results_path, sweep
from scalinglab.sweep.store import ResultsStore, TornRecordWarning

__all__ = [
    "GRIDS",
    "DuplicateRecordWarning",
    "GridPoint",
    "ResultsStore",
    "RunSpec",
    "TornRecordWarning",
    "default_out",
    "estimate_seconds",
    "format_table",
    "grid_points",
    "lab_results_path",
    "one_family",
    "plan",
    "run_key",
    "sweep",
    "unique_records",
]

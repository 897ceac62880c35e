"""The gpu reference set: what the book shows from a GPU, in one command of at most 8 minutes.

A lent GPU gives 15 minutes of device time in all, start-up included, and one
command may run for 10, so everything the website shows from a GPU comes from
one command designed to take 8 (ARCHITECTURE.md)::

    python -m scalinglab reference --profile gpu --plan      # every run, its FLOPs, its seconds
    python -m scalinglab reference --profile gpu --out DIR   # run it (needs a CUDA GPU)

It runs, in priority order, into ``DIR``:

1. the throughput benchmark (:mod:`scalinglab.loop_comparison` at ~10M and ~124M
   parameters: plain fp32, plain bf16, scalinglab compiled), ``throughput_gpu.json``
   and ``.md``, MFU against the datasheet and a measured matmul peak;
2. the IsoFLOP study on the synthetic source, ``gpu_isoflop_synthetic.jsonl``;
3. the model-size family on the synthetic source, ``gpu_model-size_synthetic.jsonl``;
4. the model-size family on real text, ``gpu_model-size_pydocs.jsonl`` then
   ``gpu_model-size_stdlib.jsonl`` (their val_bpb is chapter 3's bits per byte);

and ``gpu_reference_log.json``: every step's predicted and measured seconds, the
data that will replace :mod:`scalinglab.gpu_time`'s assumptions. Seven files.
:mod:`scalinglab.gpu_plan` lays the steps out and predicts their seconds.

Every result is written the moment it ends (a JSONL record appended and fsynced,
the benchmark table replaced whole after each size), so a run cut off at its
limit keeps everything it finished, and the same command run again skips what is
stored. Before each step the runner reads the clock: a step that would end past
``budget_s`` (predicted seconds, scaled by how far the measured steps ran over
their predictions) is skipped, the rest go on. A plan predicted over the budget
is refused unless ``over_budget``.

``scale="tiny"`` runs the same steps through the same code into the same files,
in miniature (micro models, a few thousand tokens each) on the CPU, in seconds:
what the tests run. Its results are not reference results, so it writes only to
a folder it is given.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import torch

from scalinglab._io import write_atomic
from scalinglab.data import load_corpus
from scalinglab.gpu_plan import (
    BUDGET_S,
    Scale,
    Step,
    check_budget,
    plan_steps,
    scale_of,
    vocab_size,
)
from scalinglab.gpu_time import H100, TimeModel
from scalinglab.loop_comparison import Size, measure_size, new_table, save_table
from scalinglab.profiles import Profile
from scalinglab.provenance import provenance
from scalinglab.reference import REFERENCE_DIR
from scalinglab.sweep.grids import RunSpec
from scalinglab.sweep.store import ResultsStore
from scalinglab.train import train

BENCHMARK_STEM = "throughput_gpu"
LOG_NAME = "gpu_reference_log.json"
NO_GPU = ("the gpu profile needs a CUDA GPU and this torch sees none; run it with --plan to "
          "see what it would do, use --profile cpu, or test the path here with --scale tiny "
          "--out DIR")


def process_age_s() -> float | None:
    """Seconds since this process started (Linux; None elsewhere): a command's start-up."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


class _Log:
    """``gpu_reference_log.json``: the plan, and each step's status and measured seconds."""

    def __init__(self, path: Path, steps: list[Step], budget_s: float, scale: str,
                 model: TimeModel, device: torch.device) -> None:
        self.path = path
        self.data = {
            "scale": scale, "budget_s": budget_s,
            "predicted_total_s": sum(s.seconds for s in steps),
            "time_model": asdict(model),
            "steps": [{"item": s.item, "what": s.what, "flops": s.flops,
                       "predicted_s": s.seconds, "measured_s": None, "status": "planned"}
                      for s in steps],
            **provenance(device),
        }

    def set(self, index: int, status: str, measured_s: float | None = None) -> None:
        self.data["steps"][index].update(status=status, measured_s=measured_s)
        write_atomic(self.path, (json.dumps(self.data, indent=1) + "\n").encode())


def run_gpu_reference(
    out: str | Path,
    *,
    scale: str = "full",
    budget_s: float = BUDGET_S,
    over_budget: bool = False,
    model: TimeModel = H100,
    progress: bool = True,
    spent_s: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
) -> list[Path]:
    """Run the gpu reference into folder ``out``; return the result files there.

    Refuses a plan predicted over ``budget_s`` unless ``over_budget``; skips each
    step that would end past it, counting ``spent_s`` seconds already gone (the
    command passes its start-up, :func:`process_age_s`). ``clock`` is for tests.
    Raises RuntimeError at the end if a step failed (the others are stored).
    """
    setup = scale_of(scale)
    folder = Path(out)
    if scale != "full" and folder.resolve() == REFERENCE_DIR.resolve():
        raise ValueError(f"--scale {scale} results are not reference results; write them to "
                         f"another folder than {REFERENCE_DIR} (--out DIR)")
    steps = plan_steps(scale, model)
    # What ``out`` holds already (a run cut off, then resumed) is neither run nor counted.
    benchmark = folder / f"{BENCHMARK_STEM}.json"
    table = json.loads(benchmark.read_text()) if benchmark.is_file() else None
    benchmarked = {r["size"] for r in table["rows"]} if table else set()
    stored = {path: ResultsStore(path).keys() if path.is_file() else set()
              for path in {_results_path(folder, s) for s in steps if "/" in s.item}}
    to_train = {s.action.corpus for s in steps if isinstance(s.action, RunSpec)
                and s.action.key not in stored[_results_path(folder, s)]}

    def done_before(step: Step) -> str | None:
        if isinstance(step.action, Size) and step.action.name in benchmarked:
            return "stored before"
        if isinstance(step.action, str) and step.action not in to_train:
            return "not needed: its runs are stored"
        if isinstance(step.action, RunSpec) and (step.action.key
                                                 in stored[_results_path(folder, step)]):
            return "stored before"
        return None

    if not over_budget:
        left = [s for s in steps if done_before(s) is None]
        check_budget(left, budget_s, "the gpu reference plan" if len(left) == len(steps)
                     else "what is left of the gpu reference plan")
    if setup.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(NO_GPU)
    device = torch.device(setup.device)
    folder.mkdir(parents=True, exist_ok=True)
    log = _Log(folder / LOG_NAME, steps, budget_s, scale, model, device)
    t0 = clock() - spent_s   # the start-up is behind us
    log.set(0, "done", spent_s)
    measured = predicted = 0.0   # over finished steps, to rescale the predictions
    corpora: dict = {}
    failures: list[str] = []
    for index, step in enumerate(steps[1:], start=1):
        raw = step.seconds / model.safety
        expected = raw * max(model.safety, measured / predicted if predicted else 0.0)
        elapsed = clock() - t0
        status = done_before(step)
        if (status is None and isinstance(step.action, RunSpec)
                and step.action.corpus not in corpora):
            status = "skipped: its corpus was not loaded"
        if status is None and elapsed + expected > budget_s:
            status = f"skipped: would end past the budget ({elapsed:.0f} + {expected:.0f} s)"
        if status is not None:
            log.set(index, status)
            _say(progress, elapsed, step, status)
            continue
        start = clock()
        try:
            if isinstance(step.action, Size):
                if table is None:
                    table = new_table(device, setup.seconds_per_loop, setup.matmul_n)
                table["rows"] += measure_size(step.action, device, setup.seconds_per_loop, table)
                save_table(table, folder, BENCHMARK_STEM)
            elif isinstance(step.action, str):
                corpora[step.action] = _load(step.action, setup.designs[step.action])
            else:
                _train(step, corpora[step.action.corpus], setup, device, folder)
            status = "done"
        except Exception as err:  # one failure must not cost the rest of the device time
            status = f"failed: {type(err).__name__}: {' '.join(str(err).split())}"
            failures.append(f"{step.item} {step.what}: {status}")
        seconds = clock() - start
        measured, predicted = measured + seconds, predicted + raw
        log.set(index, status, seconds)
        _say(progress, clock() - t0, step, f"{status} in {seconds:.1f} s "
                                           f"(predicted {step.seconds:.1f} s)")
    if failures:
        raise RuntimeError(f"{len(failures)} step(s) of the gpu reference failed, the rest are "
                           f"stored; first: {failures[0]}; see {log.path}")
    return sorted(p for p in folder.iterdir()
                  if p.name.startswith(("gpu_", BENCHMARK_STEM)) and p.is_file())


def _results_path(folder: Path, step: Step) -> Path:
    grid, corpus = step.item.split("/")
    return folder / f"gpu_{grid}_{corpus}.jsonl"


def _load(corpus: str, design: Profile):
    data = load_corpus(corpus, **design.corpus_options(corpus))
    if data.vocab_size != vocab_size(design, corpus):
        raise RuntimeError(f"{corpus} has {data.vocab_size} symbols, the plan assumed "
                           f"{vocab_size(design, corpus)}; fix vocab_size in scalinglab.gpu_plan")
    return data


def _train(step: Step, data, setup: Scale, device: torch.device, folder: Path) -> None:
    """Train one run and append its record, with the keys a sweep adds (scalinglab.sweep)."""
    spec: RunSpec = step.action
    design = setup.designs[spec.corpus]
    extra = {"grid": spec.point.grid, "run_key": spec.key, "size": spec.point.size.name,
             "corpus_options": spec.corpus_options}
    if spec.point.flops_budget is not None:
        extra["flops_budget"] = spec.point.flops_budget
    if setup.name != "full":
        extra["scale"] = setup.name   # miniature: never to be read as a reference result
    record = train(spec.model, data, spec.optim, device=device, compile=design.compile,
                   progress=False, num_threads=design.num_threads,
                   eval_points=spec.point.eval_points, profile=design.name, extra=extra)
    ResultsStore(_results_path(folder, step)).append_new(record)


def _say(progress: bool, elapsed: float, step: Step, status: str) -> None:
    if progress:
        stamp = datetime.now(timezone.utc).strftime("%H:%M:%S")
        print(f"{stamp} [{elapsed:5.0f} s] {step.item} {step.what}: {status}", flush=True)

"""Train a family of runs, resumably: ``records = sweep("model-size", corpus="synthetic")``."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from pathlib import Path

from scalinglab.data import load_corpus
from scalinglab.profiles import Profile, get_profile
from scalinglab.sweep.distributed import barrier, process_group, shard
from scalinglab.sweep.grids import RunSpec, check_grid, plan
from scalinglab.sweep.store import ResultsStore
from scalinglab.train import train


def _with_overrides(specs: list[RunSpec], sizes: list[str] | None,
                    tokens: int | None) -> list[RunSpec]:
    if sizes:
        known = {s.point.size.name for s in specs}
        unknown = [name for name in sizes if name not in known]
        if unknown:
            raise ValueError(
                f"model size(s) {', '.join(unknown)} are not in this grid; "
                f"choose from {', '.join(sorted(known))}"
            )
        specs = [s for s in specs if s.point.size.name in sizes]
    if tokens is not None:
        if any(s.point.grid == "isoflop" for s in specs):
            raise ValueError("an IsoFLOP grid sets each run's tokens from its budget; "
                             "drop --tokens or choose another grid")
        for spec in specs:
            spec.optim = dataclasses.replace(spec.optim, tokens=tokens)
            spec.point = dataclasses.replace(spec.point, tokens=tokens)
    return specs


def _run_claimed(store: ResultsStore, spec: RunSpec, run: Callable[[RunSpec], None], *,
                 wait: bool) -> bool:
    """Train ``spec`` under its claim unless the store has it; False if the claim is taken.

    The store is read again once the claim is held: the process that held it
    before may have stored the run in the meantime.
    """
    with store.claim(spec.key) as claim:
        if not claim.acquire(wait=wait):
            return False
        if spec.key not in store.keys():
            run(spec)
    return True


def sweep(
    grid: str,
    *,
    profile: str | Profile | None = None,
    corpus: str | None = None,
    out: str | os.PathLike | None = None,
    seed: int = 0,
    device: str | None = None,
    compile: bool | None = None,
    progress: bool | None = None,
    sizes: list[str] | None = None,
    tokens: int | None = None,
) -> list[dict]:
    """Train every run of family ``grid`` that ``out`` does not hold yet; return all its records.

    ``grid`` is ``model-size``, ``data-size``, ``repetition`` or ``isoflop``; ``profile`` (default:
    the detected one) sets the sizes and budgets; ``corpus`` defaults to the
    profile's. With ``out`` the records go to an append-only JSONL file and a
    rerun skips what is there (see :mod:`scalinglab.sweep.store`); without it
    nothing is saved. ``sizes`` and ``tokens`` narrow a grid for quick looks.
    Under ``torchrun`` each rank trains every world_size-th run; ``out`` is then
    required, since it is how the ranks share their results. Sweeps started
    separately on one ``out`` share the work too: each run is claimed while it
    trains (:mod:`scalinglab.sweep.claims`), so it is trained and stored once.

    Records come back in grid order, each with ``grid``, ``run_key``, ``size``
    and (IsoFLOP) ``flops_budget`` added to :func:`scalinglab.train.train`'s.
    """
    from tqdm.auto import tqdm

    check_grid(grid)
    profile = get_profile(profile)
    corpus_name = corpus or profile.corpus
    options = profile.corpus_options(corpus_name)
    store = ResultsStore(out) if out is not None else None
    with process_group(device or profile.device) as (ranks, run_device):
        if ranks.world_size > 1 and store is None:
            raise ValueError("a distributed sweep needs --out FILE: ranks share results there")
        data = load_corpus(corpus_name, **options)
        specs = plan(profile, grid, corpus_name, data.vocab_size, options, seed)
        specs = _with_overrides(specs, sizes, tokens)
        too_big = sorted({s.optim.train_bytes for s in specs
                          if (s.optim.train_bytes or 0) > len(data.train)})
        if too_big:
            raise ValueError(
                f"the {grid} grid of profile {profile.name} asks for training sets of "
                f"{', '.join(f'{b:,}' for b in too_big)} bytes, more than {corpus_name}'s "
                f"{len(data.train):,}; use a larger corpus or a smaller profile"
            )
        if grid == "data-size" and max(s.optim.tokens for s in specs) > len(data.train):
            raise ValueError(
                f"the data-size grid of profile {profile.name} asks for "
                f"{max(s.optim.tokens for s in specs):,} fresh tokens, more than "
                f"{corpus_name}'s {len(data.train):,}; L(D) must never repeat a byte: use "
                "a larger corpus or smaller data_size_tokens"
            )
        done = store.keys() if store is not None else set()
        owned = shard(specs, ranks)
        mine = [s for s in owned if s.key not in done]
        compile_ = profile.compile if compile is None else compile
        show = progress if ranks.is_main else False
        fresh: list[dict] = []
        bar = tqdm(total=len(owned), initial=len(owned) - len(mine),
                   desc=f"{grid} sweep ({profile.name})", unit="run",
                   disable=None if show is None else not show)

        def run(spec: RunSpec) -> None:
            bar.set_postfix(size=spec.point.size.name, refresh=True)
            extra = {"grid": grid, "run_key": spec.key, "size": spec.point.size.name,
                     "corpus_options": options}
            if ranks.world_size > 1:
                extra.update(rank=ranks.rank, world_size=ranks.world_size)
            if spec.point.flops_budget is not None:
                extra["flops_budget"] = spec.point.flops_budget
            record = train(spec.model, data, spec.optim, device=run_device, compile=compile_,
                           progress=show, num_threads=profile.num_threads,
                           eval_points=spec.point.eval_points, profile=profile.name,
                           extra=extra)
            if store is None or store.append_new(record):
                fresh.append(record)

        # Another sweep on the same file may be training a run (its claim is held):
        # skip it, and come back once the rest is done, by when it is usually stored.
        elsewhere = []
        for spec in mine:
            if store is None:
                run(spec)
            elif not _run_claimed(store, spec, run, wait=False):
                elsewhere.append(spec)
                continue
            bar.update(1)
        for spec in elsewhere:
            _run_claimed(store, spec, run, wait=True)
            bar.update(1)
        bar.close()
        barrier()
        stored = store.read() if store is not None else fresh
    first: dict[str, dict] = {}
    for record in stored:
        first.setdefault(record.get("run_key"), record)
    return [first[s.key] for s in specs if s.key in first]


def _si(x: float) -> str:
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    exponent = int(math.floor(math.log10(abs(x)) / 3))
    exponent = max(-1, min(exponent, 5))
    return f"{x / 10 ** (3 * exponent):.3g}{['m', '', 'K', 'M', 'G', 'T', 'P'][exponent + 1]}"


def format_table(records: list[dict]) -> str:
    """The table a sweep prints: size, N (Kaplan's and total), D, C and validation bits/byte."""
    header = ["size", "N", "N total", "D", "C (FLOPs)", "val bpb", "L - H", "wall s"]
    rows = []
    for r in records:
        floor = r.get("entropy_floor_bpb")
        rows.append([
            str(r.get("size", "")),
            _si(r["n_params_non_embedding"]),
            _si(r["n_params"]),
            _si(r["tokens"]) if r.get("train_bytes") is None or r.get("grid") != "repetition"
            else f"{_si(r['tokens'])} ({_si(r['train_bytes'])} unique)",
            _si(r["flops"]),
            f"{r['val_bpb']:.4f}",
            "" if floor is None else f"{r['val_bpb'] - floor:.4f}",
            f"{r['wall_s']:.1f}",
        ])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    if records and records[0].get("entropy_floor_bpb") is not None:
        lines.append(f"entropy floor H = {records[0]['entropy_floor_bpb']:.4f} bits per byte")
    return "\n".join(lines)


def default_out(profile: str, grid: str, corpus: str, folder: str | os.PathLike = ".") -> Path:
    """``<folder>/<profile>_<grid>_<corpus>.jsonl``, the naming the reference results use."""
    return Path(folder) / f"{profile}_{grid}_{corpus}.jsonl"


RESULTS_ENV = "SCALINGLAB_RESULTS"


def lab_results_path(lab: str, profile: str | Profile, grid: str, corpus: str) -> Path:
    """Where a lab keeps a family it trains: ``$SCALINGLAB_RESULTS`` (else ``./results``).

    One file per lab, profile, grid and corpus, so that an interrupted lab resumes
    where it stopped and two labs never append to the same file. The test suite
    points ``SCALINGLAB_RESULTS`` at a fresh folder so every test run trains anew.
    """
    folder = Path(os.environ.get(RESULTS_ENV) or "results")
    folder.mkdir(parents=True, exist_ok=True)
    name = profile if isinstance(profile, str) else profile.name
    return folder / f"{lab}_{default_out(get_profile(name).name, check_grid(grid), corpus).name}"

"""The gpu reference's plan: every step in priority order, its FLOPs and predicted seconds.

``python -m scalinglab reference --profile gpu --plan`` prints it. The steps are
the throughput benchmark's sizes, then each (grid, corpus) of :data:`ITEMS`,
with a corpus load before its first family; the seconds come from
:mod:`scalinglab.gpu_time`'s model of an H100 with its safety factor, and a plan
over its budget is refused (:func:`check_budget`). A *scale* picks the designs:
``full`` is the reference (:data:`scalinglab.profiles.GPU_REFERENCE` and its text
design), ``tiny`` the same steps in miniature for tests (:func:`miniature`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from scalinglab.gpu_time import H100, TimeModel, training_flops_per_token
from scalinglab.loop_comparison import GPU_SIZES, Size
from scalinglab.profiles import (
    ModelSize,
    Profile,
    non_embedding_params,
    reference_design,
    reference_text_design,
)
from scalinglab.sweep.grids import RunSpec, flops_per_token, plan

BUDGET_S = 8 * 60   # one command on a lent GPU, leaving time for a short follow-up
SCALES = ("full", "tiny")
# (grid, corpus) after the benchmark, in priority order. pydocs before the stdlib: the
# labs and chapter 6 load pydocs.
ITEMS: tuple[tuple[str, str], ...] = (
    ("isoflop", "synthetic"),
    ("model-size", "synthetic"),
    ("model-size", "pydocs"),
    ("model-size", "stdlib"),
)
# Seconds of each loop of the benchmark (the plain fp32 loop; the others run the same steps).
SECONDS_PER_LOOP = 3.0


@dataclass(frozen=True)
class Step:
    """One line of the plan: something the command does, what it costs, and how to do it."""

    item: str              # "start-up", "throughput", "isoflop/synthetic", ...
    what: str
    flops: float           # training FLOPs (C = D · flops per token for a run); 0 for loads
    seconds: float         # predicted, safety factor included
    action: Size | RunSpec | str | None = None   # benchmark size, run, or corpus to load


@dataclass(frozen=True)
class Scale:
    """What a scale decides: the designs of each corpus, the benchmark, the device."""

    name: str
    designs: dict[str, Profile]
    benchmark_sizes: tuple[Size, ...]
    seconds_per_loop: float
    device: str
    matmul_n: int | None = None   # the peak's matmul size (None: 8192 on a GPU)


_MICRO = (ModelSize(8, 1, 2), ModelSize(16, 1, 2))
_MICRO_BENCHMARK = (Size("micro-a", 16, 1, 2, 16, 256, 4), Size("micro-b", 32, 1, 2, 16, 256, 4))


def miniature(design: Profile) -> Profile:
    """``design`` in miniature: two micro models, 56 steps of 4 × 16 tokens each, one budget.

    The IsoFLOP budget gives d16-L1 just over 50 steps and its own parameter count in
    tokens, the least a grid keeps (scalinglab.sweep.grids).
    """
    return replace(design, seq_len=16, batch_size=4, model_sizes=_MICRO,
                   model_size_tokens=(3_584, 3_584), data_size_model="d16-L1",
                   repetition_model="d16-L1", isoflop_budgets=(7.5e7,),
                   isoflop_sizes=("d8-L1", "d16-L1"), isoflop_max_tokens=100_000,
                   isoflop_max_tokens_per_param=math.inf, eval_tokens=64, extra_sizes=(),
                   train_bytes=20_000, val_bytes=2_048, num_threads=1)


def scale_of(name: str) -> Scale:
    """The designs, benchmark sizes and device of scale ``"full"`` or ``"tiny"``."""
    if name not in SCALES:
        raise ValueError(f"unknown scale {name!r}; choose one of {', '.join(SCALES)}")
    designs = {"synthetic": reference_design("gpu"),
               "pydocs": reference_text_design("gpu", "pydocs"),
               "stdlib": reference_text_design("gpu", "stdlib")}
    if name == "full":
        return Scale(name, designs, GPU_SIZES, SECONDS_PER_LOOP, "cuda")
    return Scale(name, {c: miniature(d) for c, d in designs.items()}, _MICRO_BENCHMARK, 0.02,
                 "cpu", matmul_n=64)


def vocab_size(design: Profile, corpus: str) -> int:
    """Symbols of ``corpus`` under ``design``, known before loading it: the plan needs them."""
    return int(dict(design.synthetic_options)["vocab_size"]) if corpus == "synthetic" else 256


def _si(x: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


def plan_steps(scale: str = "full", model: TimeModel = H100) -> list[Step]:
    """Every step of the gpu reference in the order it runs, with FLOPs and predicted seconds."""
    setup = scale_of(scale)
    k = model.safety
    steps = [Step("start-up", "python, import torch, CUDA context, matmul peak", 0.0,
                  k * model.startup_s)]
    for size in setup.benchmark_sizes:
        shape = ModelSize(size.d_model, size.n_layer, size.n_head)
        flops = (model.benchmark_steps(size, setup.seconds_per_loop) * size.batch_size
                 * size.seq_len * training_flops_per_token(shape, size.seq_len, size.vocab_size))
        n = non_embedding_params(shape)
        steps.append(Step("throughput", f"{size.name} (N={_si(n)}, {size.batch_size}x"
                          f"{size.seq_len}): fp32, bf16, scalinglab", flops,
                          k * model.benchmark_seconds(size, setup.seconds_per_loop), size))
    loaded: set[str] = set()
    for grid, corpus in ITEMS:
        design = setup.designs[corpus]
        if corpus not in loaded:
            loaded.add(corpus)
            if corpus == "synthetic":
                n_bytes = (design.train_bytes or 0) + (design.val_bytes or 0)
                steps.append(Step(f"load {corpus}", f"sample {_si(n_bytes)} bytes", 0.0,
                                  k * model.sample_seconds(n_bytes), corpus))
            else:
                steps.append(Step(f"load {corpus}", "read and split", 0.0,
                                  k * model.text_load_s, corpus))
        vocab = vocab_size(design, corpus)
        for spec in plan(design, grid, corpus, vocab, design.corpus_options(corpus)):
            point = spec.point
            per_param = point.tokens / non_embedding_params(point.size)
            budget = f", C={point.flops_budget:.0e}" if point.flops_budget else ""
            seconds = model.train_seconds(point.size, design.seq_len, design.batch_size, vocab,
                                          point.tokens, 2 + point.eval_points,
                                          design.eval_tokens)
            steps.append(Step(f"{grid}/{corpus}", f"{point.size.name}, {_si(point.tokens)} "
                              f"tokens ({per_param:.0f}/param){budget}",
                              point.tokens * flops_per_token(point.size, design.seq_len),
                              k * seconds, spec))
    return steps


def format_plan(steps: list[Step], budget_s: float, model: TimeModel = H100) -> str:
    """The plan as a table: every step, its FLOPs, predicted seconds and the running total."""
    header = f"{'#':>3}  {'item':20}  {'run':48}  {'FLOPs':>8}  {'pred. s':>7}  {'cum. s':>7}"
    lines = [f"gpu reference plan: {len(steps)} steps, seconds predicted for {model.name} "
             f"with a safety factor of {model.safety:g}", "", header, "-" * len(header)]
    total = 0.0
    for i, step in enumerate(steps, start=1):
        total += step.seconds
        flops = f"{step.flops:.2e}" if step.flops else "-"
        lines.append(f"{i:>3}  {step.item:20}  {step.what:48}  {flops:>8}  "
                     f"{step.seconds:7.1f}  {total:7.1f}")
    verdict = (f"{budget_s - total:.0f} s to spare" if total <= budget_s
               else f"{total - budget_s:.0f} s OVER")
    by_item: dict[str, float] = {}
    pending = 0.0   # a corpus load counts with the family that follows it
    for step in steps:
        if step.item.startswith("load "):
            pending += step.seconds
        else:
            by_item[step.item] = by_item.get(step.item, 0.0) + step.seconds + pending
            pending = 0.0
    lines += ["", f"total {total:.1f} s predicted against a budget of {budget_s:g} s "
                  f"(--budget-s): {verdict}",
              "by item (with its corpus load): " + "; ".join(f"{k} {v:.0f} s"
                                                             for k, v in by_item.items()),
              "",
              "assumptions (scalinglab/gpu_time.py, to be replaced by gpu_reference_log.json):",
              f"  peak {model.peak_flops / 1e12:.0f} TFLOP/s dense bf16 (NVIDIA H100 SXM "
              "datasheet); plain fp32 loops at "
              f"{model.fp32_flops / 1e12:.0f} TFLOP/s",
              f"  a step takes max(floor, FLOPs / (MFU x peak)); floor "
              f"{1e3 * model.step_floor_s:g} ms + {1e3 * model.step_floor_per_layer_s:g} ms "
              "per layer (eager launch overhead, He 2022)",
              f"  MFU {100 * model.mfu_small:g} % at <= {_si(model.mfu_small_params)} "
              f"parameters, log-linear to {100 * model.mfu_large:g} % at "
              f"{_si(model.mfu_large_params)}",
              f"  torch.compile {model.compile_s:g} s + {model.compile_per_layer_s:g} s per "
              "layer, in the benchmark only; synthetic and text runs are eager",
              f"  start-up {model.startup_s:g} s; sampling {1e6 * model.synthetic_s_per_byte:g} "
              f"us per byte; {model.run_overhead_s:g} s per run"]
    return "\n".join(lines)


def check_budget(steps: list[Step], budget_s: float,
                 what: str = "the gpu reference plan") -> None:
    """Refuse a plan whose predicted seconds exceed ``budget_s``, in one line naming the fix."""
    total = sum(s.seconds for s in steps)
    if total > budget_s:
        raise ValueError(
            f"{what} predicts {total:.0f} s, over --budget-s {budget_s:g}; "
            "see it with --plan, raise --budget-s, or add --over-budget to run it anyway "
            "(steps that would end past the budget are then skipped)")

"""Hardware profiles: how big the book's experiments are on the reader's machine.

The same lab runs in seconds in CI and for minutes on a GPU; what changes is a
*profile* (ARCHITECTURE.md): the model sizes of a family, the tokens each model
sees and the compute budgets of the IsoFLOP curves. Profiles are plain data, a
frozen dataclass each, so a lab can print exactly what it is about to train.

========  ==================  ================================
profile   where               budget
========  ==================  ================================
tiny      CI, any CPU         seconds (the notebook tests)
cpu       a laptop            ≤ 15 min per lab
colab     Colab's free T4     ≤ 20 min per lab
gpu       one A100 / H100     ≤ 8 min per lab on an H100
========  ==================  ================================

The profile is ``SCALINGLAB_PROFILE`` if set, else detected from the hardware
(:func:`detect_profile`).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace

import torch

from scalinglab.model import GPTConfig

ENV_VAR = "SCALINGLAB_PROFILE"


@dataclass(frozen=True)
class ModelSize:
    """One member of a model family: width, depth and heads. Named like ``d32-L2``."""

    d_model: int
    n_layer: int
    n_head: int

    @property
    def name(self) -> str:
        return f"d{self.d_model}-L{self.n_layer}"

    def config(self, vocab_size: int, seq_len: int, **overrides) -> GPTConfig:
        """The full model config for a corpus with ``vocab_size`` tokens."""
        return GPTConfig(vocab_size=vocab_size, seq_len=seq_len, n_layer=self.n_layer,
                         n_head=self.n_head, d_model=self.d_model, **overrides)


@functools.lru_cache(maxsize=256)
def non_embedding_params(size: ModelSize) -> int:
    """Kaplan's N of ``size``: it does not depend on the vocabulary or the context length."""
    from scalinglab.model import GPT

    with torch.device("meta"):
        return GPT(size.config(vocab_size=2, seq_len=1)).n_params(non_embedding=True)


@dataclass(frozen=True)
class Profile:
    """Everything a profile decides, as data.

    Grids: the model-size family trains ``model_sizes[i]`` on
    ``model_size_tokens[i]`` tokens (small models converge sooner, so they may
    see fewer); the data-size family (Kaplan's L(D)) trains ``data_size_model``
    on ``data_size_tokens[j]`` fresh tokens, one pass over data it never sees
    twice; the repetition family trains ``repetition_model`` on
    ``repetition_tokens`` tokens drawn from only ``repetition_unique_bytes[j]``
    distinct training bytes (so small sets repeat); the IsoFLOP family trains
    every size in ``isoflop_sizes`` at each budget C, on C / flops_per_token
    tokens, keeping the runs of at least 50 steps, between one and
    ``isoflop_max_tokens_per_param`` tokens per non-embedding parameter and at
    most ``isoflop_max_tokens`` tokens.
    """

    name: str
    description: str
    budget: str                       # the time a lab may take, in words
    budget_s: float                   # the same, per lab, in seconds
    device: str                       # "cpu" or "cuda"
    seq_len: int
    batch_size: int
    model_sizes: tuple[ModelSize, ...]
    model_size_tokens: tuple[int, ...]
    data_size_model: str
    data_size_tokens: tuple[int, ...]
    repetition_model: str
    repetition_unique_bytes: tuple[int, ...]
    repetition_tokens: int
    isoflop_budgets: tuple[float, ...]
    isoflop_sizes: tuple[str, ...]
    isoflop_max_tokens: int
    eval_tokens: int
    # Sizes far from a budget's optimum only cost time: at most this many tokens per
    # non-embedding parameter (the optima of the cpu grids lie at 80-110).
    isoflop_max_tokens_per_param: float = float("inf")
    corpus: str = "synthetic"
    synthetic_options: tuple[tuple[str, object], ...] = (
        ("vocab_size", 16), ("order", 3), ("concentrations", (16.0, 8.0, 4.0)),
    )
    # Sample sizes of the synthetic source (None: its defaults); real text is used whole.
    train_bytes: int | None = None
    val_bytes: int | None = None
    extra_sizes: tuple[ModelSize, ...] = ()  # sizes outside the model-size family (IsoFLOP)
    lr_base: float = 6e-3             # peak lr = lr_base·sqrt(128/d_model), see train.py
    num_threads: int | None = None    # torch CPU threads (None: torch's default)
    compile: bool = False
    # A rough throughput model used only to check that grids fit their budget:
    # seconds per token ≈ 1/max_tokens_per_s + flops_per_token/flops_per_s.
    est_max_tokens_per_s: float = 3.0e5
    est_flops_per_s: float = 1.0e11

    def __post_init__(self) -> None:
        if len(self.model_sizes) != len(self.model_size_tokens):
            raise ValueError(f"profile {self.name}: one token count per model size, please")
        names = [s.name for s in (*self.model_sizes, *self.extra_sizes)]
        if len(set(names)) != len(names):
            raise ValueError(f"profile {self.name}: duplicate model size names {names}")
        for size in (self.data_size_model, self.repetition_model, *self.isoflop_sizes):
            self.size(size)

    @property
    def size_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in (*self.model_sizes, *self.extra_sizes))

    def size(self, name: str) -> ModelSize:
        """The model size called ``name`` (e.g. ``"d32-L2"``)."""
        for size in (*self.model_sizes, *self.extra_sizes):
            if size.name == name:
                return size
        raise ValueError(
            f"unknown model size {name!r} in profile {self.name!r}; "
            f"choose one of {', '.join(self.size_names)}"
        )

    def corpus_options(self, corpus: str | None = None) -> dict:
        """Keyword arguments for ``scalinglab.data.load_corpus`` in this profile.

        The synthetic source is sampled at the profile's sizes with its options;
        real text is fixed, so it is loaded whole (no options).
        """
        corpus = corpus or self.corpus
        if corpus != "synthetic":
            return {}
        options: dict = {"train_bytes": self.train_bytes, "val_bytes": self.val_bytes}
        options.update({k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in self.synthetic_options})
        return options

    def estimated_tokens_per_s(self, flops_per_token: float) -> float:
        return 1.0 / (1.0 / self.est_max_tokens_per_s + flops_per_token / self.est_flops_per_s)


_SMALL = (ModelSize(16, 2, 2), ModelSize(24, 2, 2), ModelSize(32, 2, 2),
          ModelSize(48, 3, 3), ModelSize(64, 3, 4))

TINY = Profile(
    name="tiny",
    description="CI and any CPU: five micro models on the synthetic source, seconds per lab",
    budget="under a minute per lab on one CPU core",
    budget_s=60,
    device="cpu",
    # 32 positions are plenty for an order-3 source, and with fewer positions to sort
    # through attention leaves its early plateau sooner (measured: d16-L2 on 500K tokens
    # reaches 1.94 bits/byte at T = 32 against 2.22 at T = 64).
    seq_len=32,
    batch_size=32,
    model_sizes=_SMALL,
    # Larger models see more data so that the largest are not starved (measured: with a
    # flat 500K the top two sizes end within 0.015 bits/byte of each other).
    model_size_tokens=(400_000, 450_000, 550_000, 650_000, 800_000),
    # Sets small enough for d32-L2 to memorise (measured: on 4K bytes it reaches 1.40
    # bits/byte on its training bytes and 2.07 on held-out ones; on 32K, 1.76 and 1.82).
    # Kaplan's L(D): the largest model of the family, on fresh tokens only.
    data_size_model="d48-L3",
    data_size_tokens=(50_000, 100_000, 200_000, 400_000, 800_000),
    repetition_model="d32-L2",
    repetition_unique_bytes=(2_048, 4_096, 8_192, 16_384, 32_768),
    repetition_tokens=307_200,
    # Budgets where each curve has a clear minimum inside its sizes (measured: at 5e9 and
    # 1e10 FLOPs d8 and d12 tie within 0.003 bits/byte, too flat to place a minimum).
    isoflop_budgets=(1.5e10, 4.5e10, 1e11),
    isoflop_sizes=("d8-L2", "d12-L2", "d16-L2", "d24-L2", "d32-L2", "d48-L3"),
    isoflop_max_tokens=2_500_000,
    eval_tokens=32_768,
    train_bytes=1_000_000,
    val_bytes=65_536,
    extra_sizes=(ModelSize(8, 2, 2), ModelSize(12, 2, 2)),
    # One thread: these matrices are too small to split, and when another process holds
    # the other core an OpenMP barrier can wait a whole scheduler tick (~16 ms) per op.
    num_threads=1,
    est_flops_per_s=6.0e10,
)

CPU = Profile(
    name="cpu",
    description="a laptop CPU: seven models up to 0.8M parameters, converged on the "
                "synthetic source",
    budget="≤ 15 min per lab on a laptop",
    budget_s=15 * 60,
    device="cpu",
    seq_len=64,
    batch_size=16,
    model_sizes=(*_SMALL, ModelSize(96, 4, 4), ModelSize(128, 4, 4)),
    model_size_tokens=(1_000_000, 1_000_000, 1_500_000, 2_000_000, 2_000_000,
                       2_500_000, 3_000_000),
    data_size_model="d64-L3",
    data_size_tokens=(250_000, 500_000, 1_000_000, 2_000_000, 4_000_000),
    repetition_model="d64-L3",
    repetition_unique_bytes=(32_768, 65_536, 131_072, 262_144, 524_288, 1_048_576, 2_097_152),
    repetition_tokens=2_097_152,
    isoflop_budgets=(1e11, 3e11, 1e12),
    isoflop_sizes=("d16-L2", "d24-L2", "d32-L2", "d48-L3", "d64-L3", "d96-L4", "d128-L4"),
    # Up to 20M tokens so that d24 and d16 (9.5M and 19M) bracket the 1e12 minimum from
    # the left (measured: d24 ends within 0.005 bits/byte of the best, d32, so d24 alone
    # could come out best on another machine and put the minimum at the grid's edge). The
    # 4M training bytes then repeat up to 5 times, harmless for models this small.
    isoflop_max_tokens=20_000_000,
    eval_tokens=131_072,
    train_bytes=4_000_000,
    val_bytes=262_144,
)

# The cpu *reference* design: what the website plots beside a reader's own cpu runs. It
# is a background job of about two hours on one core (``python -m scalinglab reference
# --profile cpu``), sized to measure exponents rather than to fit a lab's 15 minutes:
# 2.64 decades of non-embedding N (1.0K to 0.45M), each model on max(20 N, 5M) fresh
# tokens; five IsoFLOP budgets over 2 decades of compute with five or six sizes each
# around the optimum (a sixth, 1e13, would have cost as much again as the other five);
# and L(D) on one model with fresh data from 125K to 8M tokens. The training sample is
# large enough that no run of it sees a byte twice in expectation.
# (d128-L4 would add 0.25 decades for 30 minutes; a d6-L2 at the bottom adds as much for
# 17 seconds.)
_REFERENCE_LADDER = (ModelSize(6, 2, 2), ModelSize(8, 2, 2), ModelSize(12, 2, 2),
                     ModelSize(16, 2, 2), ModelSize(24, 2, 2), ModelSize(32, 2, 2),
                     ModelSize(48, 3, 3), ModelSize(64, 3, 4), ModelSize(96, 4, 4))
CONVERGED_TOKENS_PER_PARAM = 20   # Hoffmann et al. (2022): about 20 tokens per parameter
CONVERGED_MIN_TOKENS = 5_000_000  # small models need many steps, whatever their size


def converged_tokens(size: ModelSize, per_param: float = CONVERGED_TOKENS_PER_PARAM,
                     floor: int = CONVERGED_MIN_TOKENS) -> int:
    """Tokens that bring ``size`` close to its own convergence: max(per_param · N, floor).

    N is the non-embedding count. Measured on the cpu grid, a model of 25K parameters
    still gains 0.025 bits per byte between 1.5M and 5.6M tokens, so small models get a
    floor of steps as well as a multiple of their size.
    """
    return int(max(per_param * non_embedding_params(size), floor))


CPU_REFERENCE = replace(
    CPU,
    description="the cpu reference: nine models from 1.0K to 0.45M parameters on "
                "max(20N, 5M) fresh tokens, five IsoFLOP budgets, L(D) on fresh data",
    budget="about two hours on one core, in the background",
    budget_s=3 * 3600,
    model_sizes=_REFERENCE_LADDER,
    model_size_tokens=tuple(converged_tokens(s) for s in _REFERENCE_LADDER),
    data_size_tokens=(125_000, 250_000, 500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000),
    isoflop_budgets=(3e10, 1e11, 3e11, 1e12, 3e12),
    isoflop_sizes=("d8-L2", "d12-L2", "d16-L2", "d24-L2", "d32-L2", "d40-L2", "d48-L3",
                   "d64-L3", "d80-L3", "d96-L4"),
    isoflop_max_tokens=50_000_000,
    # From 4 to 1,500 tokens per parameter: five sizes per budget, centred on the
    # optima measured at 80-110 tokens per parameter.
    isoflop_max_tokens_per_param=1_500,
    extra_sizes=(ModelSize(40, 2, 2), ModelSize(80, 3, 4)),
    train_bytes=40_000_000,
)

# The design ``python -m scalinglab reference --profile NAME`` trains, where it is
# larger than the lab's own (the others train the lab's grids).
REFERENCE_DESIGNS: dict[str, Profile] = {"cpu": CPU_REFERENCE}


def reference_design(name: str | Profile) -> Profile:
    """The grids of profile ``name``'s reference results (the lab's own unless larger)."""
    profile = get_profile(name)
    return REFERENCE_DESIGNS.get(profile.name, profile)


_GPU_SIZES = (ModelSize(64, 2, 2), ModelSize(128, 2, 4), ModelSize(128, 4, 4),
              ModelSize(192, 4, 6), ModelSize(256, 4, 8), ModelSize(384, 6, 6),
              ModelSize(512, 8, 8))
_D320 = ModelSize(320, 5, 5)  # between d256-L4 and d384-L6, for the IsoFLOP grids
_RICH_SOURCE = (("vocab_size", 32), ("order", 3), ("concentrations", (32.0, 16.0, 8.0)))

COLAB = Profile(
    name="colab",
    description="Colab's free T4 GPU (fp16 with loss scaling): six models up to 10M parameters",
    budget="≤ 20 min per lab on a T4",
    budget_s=20 * 60,
    device="cuda",
    seq_len=128,
    batch_size=32,
    model_sizes=_GPU_SIZES[:6],
    model_size_tokens=(8_000_000, 8_000_000, 12_000_000, 16_000_000, 20_000_000, 30_000_000),
    data_size_model="d256-L4",
    data_size_tokens=(1_000_000, 2_000_000, 4_000_000, 8_000_000, 16_000_000),
    repetition_model="d192-L4",
    repetition_unique_bytes=(500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000, 16_000_000),
    repetition_tokens=16_000_000,
    isoflop_budgets=(3e13, 1e14, 3e14),
    isoflop_sizes=("d64-L2", "d128-L2", "d128-L4", "d192-L4", "d256-L4", "d320-L5", "d384-L6"),
    isoflop_max_tokens=60_000_000,
    eval_tokens=524_288,
    synthetic_options=_RICH_SOURCE,
    extra_sizes=(_D320,),
    train_bytes=20_000_000,
    val_bytes=1_048_576,
    est_max_tokens_per_s=4.0e5,
    est_flops_per_s=1.5e13,
)

GPU = Profile(
    name="gpu",
    description="one A100 / H100 (bf16, fused AdamW, torch.compile): seven models up to 25M "
                "parameters; the reference results",
    budget="≤ 8 min per lab on an H100",
    budget_s=8 * 60,
    device="cuda",
    seq_len=256,
    batch_size=64,
    model_sizes=_GPU_SIZES,
    model_size_tokens=(20_000_000, 20_000_000, 25_000_000, 30_000_000, 40_000_000,
                       60_000_000, 80_000_000),
    data_size_model="d384-L6",
    data_size_tokens=(2_000_000, 4_000_000, 8_000_000, 16_000_000, 32_000_000),
    repetition_model="d384-L6",
    repetition_unique_bytes=(1_000_000, 2_000_000, 4_000_000, 8_000_000, 16_000_000, 32_000_000),
    repetition_tokens=32_000_000,
    # Budgets low enough that every one keeps four or more sizes from about 2 to over 100
    # tokens per parameter (the cpu profile's optima lie at 80-120) within the token cap.
    isoflop_budgets=(5e13, 1.5e14, 5e14),
    isoflop_sizes=("d64-L2", "d96-L3", "d128-L2", "d128-L4", "d192-L4", "d256-L4", "d320-L5",
                   "d384-L6"),
    isoflop_max_tokens=120_000_000,
    eval_tokens=1_048_576,
    synthetic_options=_RICH_SOURCE,
    extra_sizes=(ModelSize(96, 3, 3), _D320),
    train_bytes=64_000_000,
    val_bytes=2_097_152,
    compile=True,
    est_max_tokens_per_s=1.5e6,
    est_flops_per_s=2.0e14,
)

# The gpu *reference* design: what ``python -m scalinglab reference --profile gpu`` trains,
# with the throughput benchmark, in one command of at most 8 minutes on an H100 (a lent GPU
# gives 15 minutes of device time in all; scalinglab.gpu_reference prints the plan and its
# predicted seconds). On a GPU these models are overhead-bound (scalinglab.gpu_time): a
# step costs about the same few milliseconds whatever the size, so time goes with steps,
# and the small models far left of an IsoFLOP minimum are the dear ones. Hence: 2.9
# decades of non-embedding N (3.8K to 3.2M), each model on max(20 N, 10M) tokens (10M is
# 610 steps of 64 × 256 tokens); five IsoFLOP budgets over two decades (1e12 to 1e14
# FLOPs) with six to eight sizes each, from 1 to 480 tokens per parameter, so that each
# budget has sizes on both sides of the D/N of 20-100 where the optimum is expected (the
# cpu grids measured 80-110 on the simpler source); the rich source (V=32, K=3) as in
# the lab. The 32M training bytes repeat at most twice (the largest run sees 63M tokens),
# harmless for models this small.
_GPU_REFERENCE_LADDER = (ModelSize(12, 2, 2), ModelSize(16, 2, 2), ModelSize(24, 2, 2),
                         ModelSize(32, 2, 2), ModelSize(48, 3, 3), ModelSize(64, 3, 4),
                         ModelSize(96, 3, 3), ModelSize(128, 4, 4), ModelSize(192, 4, 6),
                         ModelSize(256, 4, 8))
GPU_CONVERGED_MIN_TOKENS = 10_000_000

GPU_REFERENCE = replace(
    GPU,
    description="the gpu reference: ten models from 3.8K to 3.2M parameters near "
                "convergence and five IsoFLOP budgets from 1e12 to 1e14 FLOPs, in one "
                "command of 8 minutes on an H100 with the throughput benchmark",
    budget="one command of ≤ 8 min on an H100, throughput benchmark included",
    model_sizes=_GPU_REFERENCE_LADDER,
    model_size_tokens=tuple(converged_tokens(s, floor=GPU_CONVERGED_MIN_TOKENS)
                            for s in _GPU_REFERENCE_LADDER),
    data_size_model="d192-L4",
    repetition_model="d192-L4",
    isoflop_budgets=(1e12, 3e12, 1e13, 3e13, 1e14),
    isoflop_sizes=("d24-L2", "d32-L2", "d40-L2", "d48-L2", "d64-L2", "d64-L3", "d80-L3",
                   "d96-L3", "d112-L3", "d128-L3", "d128-L4", "d160-L4", "d192-L4"),
    isoflop_max_tokens=64_000_000,
    isoflop_max_tokens_per_param=480,
    eval_tokens=524_288,
    extra_sizes=(ModelSize(40, 2, 2), ModelSize(48, 2, 2), ModelSize(64, 2, 2),
                 ModelSize(80, 3, 4), ModelSize(112, 3, 4), ModelSize(128, 3, 4),
                 ModelSize(160, 4, 5)),
    train_bytes=32_000_000,
    val_bytes=1_048_576,
    # Eager: compiling each new shape would cost more than the run (scalinglab.gpu_time).
    compile=False,
)
REFERENCE_DESIGNS["gpu"] = GPU_REFERENCE

# Real text for the gpu reference (pydocs for chapter 6 and lab 3, the stdlib's source for
# chapter 3's compression figure): 2.7 decades of N, each model on 8M tokens, a little
# under one pass over the stdlib's training files and many over pydocs' 0.34 MB, where the
# early-stopped val_bpb_best is the number to read.
_GPU_TEXT_LADDER = (ModelSize(16, 2, 2), ModelSize(32, 2, 2), ModelSize(64, 2, 2),
                    ModelSize(96, 3, 3), ModelSize(128, 4, 4), ModelSize(192, 4, 6),
                    ModelSize(256, 4, 8))
GPU_TEXT_REFERENCE = replace(
    GPU_REFERENCE,
    description="the gpu reference on real text: seven models from 6.6K to 3.2M parameters, "
                "8M tokens each",
    model_sizes=_GPU_TEXT_LADDER,
    model_size_tokens=(8_000_000,) * len(_GPU_TEXT_LADDER),
    isoflop_sizes=("d64-L2",),
    extra_sizes=(),
)
# The cpu reference on the stdlib's Python source, the corpus of chapter 3's figure of
# models against gzip, bz2, xz and zstd: the lab's seven models, each on 10M training
# bytes, about one pass over the 10.6 MB training split (windows are drawn at random, so
# some bytes are seen twice and some not at all). The lab grid's 1-3M bytes leave even
# the largest model behind gzip. About an hour on one core. (pydocs keeps the lab grid:
# its whole training split is 0.34 MB, which the lab grid already reads 3-9 times.)
STDLIB_PASS_TOKENS = 10_000_000
CPU_STDLIB_REFERENCE = replace(
    CPU,
    description="the cpu reference on Python source: seven models from 6.6K to 0.79M "
                "parameters, each on 10M bytes (about one pass over the training split)",
    budget="about an hour on one core, in the background",
    budget_s=2 * 3600,
    model_size_tokens=(STDLIB_PASS_TOKENS,) * len(CPU.model_sizes),
)
# The design of a real-text corpus, where it differs from the lab's grid, by (profile, corpus).
REFERENCE_TEXT_DESIGNS: dict[tuple[str, str], Profile] = {
    ("gpu", "pydocs"): GPU_TEXT_REFERENCE,
    ("gpu", "stdlib"): GPU_TEXT_REFERENCE,
    ("cpu", "stdlib"): CPU_STDLIB_REFERENCE,
}


def reference_text_design(profile: str | Profile, corpus: str) -> Profile:
    """The design a reference sweep on real text trains: its own, or the lab's grid."""
    prof = get_profile(profile)
    return REFERENCE_TEXT_DESIGNS.get((prof.name, corpus), prof)

PROFILES: dict[str, Profile] = {p.name: p for p in (TINY, CPU, COLAB, GPU)}


def _unknown(name: str) -> ValueError:
    return ValueError(
        f"unknown profile {name!r}; choose one of {', '.join(PROFILES)} (or unset {ENV_VAR})"
    )


def native_bf16(device: int | torch.device = 0) -> bool:
    """Whether a CUDA GPU computes in bf16 natively (compute capability 8.0, Ampere, or later).

    ``torch.cuda.is_bf16_supported()`` also says yes for older GPUs such as the T4,
    where bf16 is emulated and slow; those train in fp16 with loss scaling instead.
    """
    return torch.cuda.is_available() and torch.cuda.get_device_properties(device).major >= 8


def detect_profile() -> tuple[str, str]:
    """The profile to use and why: ``SCALINGLAB_PROFILE``, else the hardware found.

    A CUDA GPU with bf16 and at least 40 GB (A100 / H100 class) gets ``gpu``;
    any other CUDA GPU (a T4 in Colab) gets ``colab``; no GPU gets ``cpu``.
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        if env not in PROFILES:
            raise _unknown(env)
        return env, f"{ENV_VAR}={env}"
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        memory_gb = props.total_memory / 1e9
        bf16 = native_bf16(0)
        if bf16 and memory_gb >= 40:
            return "gpu", f"found {props.name} ({memory_gb:.0f} GB, bf16)"
        return "colab", f"found {props.name} ({memory_gb:.0f} GB{', bf16' if bf16 else ''})"
    return "cpu", "no CUDA GPU found"


def get_profile(name: str | Profile | None = None) -> Profile:
    """The profile called ``name``, or the detected one when ``name`` is None."""
    if isinstance(name, Profile):
        return name
    if name is None:
        name = detect_profile()[0]
    if name not in PROFILES:
        raise _unknown(name)
    return PROFILES[name]


def resolve_device(preference: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA if present else CPU; asking for CUDA without one is an error."""
    preference = str(preference)
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(preference)
    except RuntimeError:
        raise ValueError(f"{preference!r} is not a device; use auto, cpu, cuda, cuda:N or mps"
                         ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {preference!r} asked for, but this torch sees no CUDA GPU "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
            "use a CPU profile (--profile cpu, or SCALINGLAB_PROFILE=cpu), or install a "
            "CUDA build of torch on a machine with an NVIDIA GPU"
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"device {preference!r} asked for, but MPS is not available; use cpu")
    return device


def profile_report(name: str | Profile | None = None) -> str:
    """A few lines for a notebook's second cell: profile, why, device, torch, threads."""
    if isinstance(name, Profile):
        profile, why = name, "given"
    elif name is not None:
        profile, why = get_profile(name), "asked for"
    else:
        detected, why = detect_profile()
        profile = get_profile(detected)
    from scalinglab.provenance import device_name

    try:
        device = device_name(resolve_device(profile.device))
    except RuntimeError as err:
        device = f"unavailable ({err})"
    return "\n".join([
        f"profile: {profile.name} ({why}): {profile.budget}",
        f"device:  {device}",
        f"torch:   {torch.__version__}, {torch.get_num_threads()} CPU threads",
    ])

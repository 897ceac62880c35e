"""Training efficiency, measured: number formats, activation memory, and a table of settings.

Chapter 10 and its lab. Three pieces:

* :func:`saved_activation_bytes`: the activation memory of one training step,
  measured exactly and on any device by summing the storage of every tensor that
  autograd saves for the backward pass during one forward pass
  (``torch.autograd.graph.saved_tensors_hooks``). Parameters are not counted
  (they are the weights, held anyway); each storage is counted once.
* :func:`enable_activation_checkpointing`: wraps every transformer block's
  ``forward`` in ``torch.utils.checkpoint`` without touching ``model.py``. A
  checkpointed block keeps only its input; its inside is recomputed during the
  backward pass (Chen et al., 2016).
* :func:`run_settings`: trains the same model on the same tokens under several
  settings (fp32, bf16 autocast, fp16 with a GradScaler, activation
  checkpointing, gradient accumulation, two data-parallel processes under
  ``torchrun``, ``torch.compile``, fp8) and returns one row per setting: tokens/s,
  activation bytes (and peak CUDA memory on a GPU), final validation bits per
  byte, or the reason the setting was skipped on this machine.

The training loop here is built from the pieces of :mod:`scalinglab.train`, as is
:mod:`scalinglab.ddp`'s (a global batch cut into equal micro-batches, each loss
divided by their number), so a run with
``accum_steps=k`` computes the same gradients as one with ``k = 1`` up to the
order of floating-point sums, and the two-process run of ``scalinglab.ddp`` the
same again.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

from scalinglab.data import get_batch
from scalinglab.model import GPT, GPTConfig, unwrap
from scalinglab.profiles import native_bf16, resolve_device
from scalinglab.train import (
    TrainConfig,
    accumulate_gradients,
    apply_learning_rate,
    autocast,
    build_model,
    build_optimizer,
    cpu_threads,
    evaluate_bpb,
    optimizer_step,
    prepare_tokens,
)

SETTINGS = ("fp32", "bf16", "fp16", "checkpointing", "accum4", "ddp2", "compile", "fp8")

# What one model size per profile trains in the lab's table: small enough that the whole
# table, a two-process torchrun included, fits the profile's budget.
LAB_SETTINGS_RUN = {
    "tiny": {"size": "d32-L2", "tokens": 262_144, "eval_tokens": 16_384},
    "cpu": {"size": "d64-L3", "tokens": 1_000_000, "eval_tokens": 65_536},
    "colab": {"size": "d192-L4", "tokens": 4_000_000, "eval_tokens": 262_144},
    "gpu": {"size": "d384-L6", "tokens": 16_000_000, "eval_tokens": 524_288},
}


# -- number formats --------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberFormat:
    """What ``torch.finfo`` says about a floating-point format."""

    name: str
    bits: int
    exponent_bits: int
    mantissa_bits: int
    max: float
    smallest_normal: float
    eps: float


FORMATS = (
    ("fp32", torch.float32, 8, 23),
    ("bf16", torch.bfloat16, 8, 7),
    ("fp16", torch.float16, 5, 10),
    ("fp8 E5M2", getattr(torch, "float8_e5m2", None), 5, 2),
    ("fp8 E4M3", getattr(torch, "float8_e4m3fn", None), 4, 3),
)


def number_formats() -> list[NumberFormat]:
    """The formats of :data:`FORMATS` this torch knows, with their range and precision."""
    rows = []
    for name, dtype, exponent, mantissa in FORMATS:
        if dtype is None:
            continue
        info = torch.finfo(dtype)
        rows.append(NumberFormat(name, info.bits, exponent, mantissa, float(info.max),
                                 float(info.smallest_normal), float(info.eps)))
    return rows


def format_number_formats(rows: Sequence[NumberFormat]) -> str:
    lines = [f"{'format':<9} {'bits':>4} {'exp':>3} {'mant':>4} {'largest':>11} "
             f"{'smallest normal':>15} {'eps (1 ulp at 1)':>16}"]
    for r in rows:
        lines.append(f"{r.name:<9} {r.bits:>4} {r.exponent_bits:>3} {r.mantissa_bits:>4} "
                     f"{r.max:>11.4g} {r.smallest_normal:>15.4g} {r.eps:>16.4g}")
    return "\n".join(lines)


def training_memory_bytes(n_params: int, mixed_precision: bool = False) -> dict[str, int]:
    """Bytes of the model state AdamW training keeps, activations aside.

    fp32 training: weights, gradients and AdamW's two moments, 4 bytes each, 16 per
    parameter. Mixed precision in the style of Micikevicius et al. (2018) keeps an
    fp32 master copy and adds a 16-bit working copy of the weights and 16-bit
    gradients: 4 + 2 + 2 + 8 = 16 bytes as well, so it saves activation memory and
    time, not state.
    """
    if mixed_precision:
        parts = {"fp32 master weights": 4, "16-bit weights": 2, "16-bit gradients": 2,
                 "AdamW moments (fp32)": 8}
    else:
        parts = {"weights": 4, "gradients": 4, "AdamW moments": 8}
    return {name: per * n_params for name, per in parts.items()}


# -- activation memory ---------------------------------------------------------------------------


def saved_activation_bytes(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                           precision: str = "fp32") -> int:
    """Bytes of the tensors autograd keeps for the backward pass of one forward pass.

    Every tensor saved for backward passes through the pack hook; the bytes of its
    storage are counted once per storage, and storages that belong to parameters
    are left out. The count depends only on the model, the batch shape and the
    precision, not on the device or on the allocator, so it is the same on any machine.
    """
    inner = unwrap(model)
    param_storages = {p.untyped_storage().data_ptr() for p in inner.parameters()}
    seen: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in param_storages:
            seen[ptr] = max(seen.get(ptr, 0), storage.nbytes())
        return tensor

    was_training = model.training
    model.train()
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            with autocast(x.device, precision):
                _, loss = model(x, y)
        del loss
    finally:
        model.train(was_training)
    return int(sum(seen.values()))


def enable_activation_checkpointing(model: torch.nn.Module) -> torch.nn.Module:
    """Recompute each transformer block in the backward pass instead of storing its inside.

    Each block's ``forward`` is replaced, on that block only, by a call through
    ``torch.utils.checkpoint.checkpoint`` (non-reentrant) while gradients are on;
    evaluation runs the plain forward. Returns the same model.
    """
    for block in unwrap(model).blocks:
        if "forward" in vars(block):  # already wrapped
            continue
        plain = block.forward

        def forward(x: torch.Tensor, _plain=plain) -> torch.Tensor:
            if torch.is_grad_enabled():
                return checkpoint(_plain, x, use_reentrant=False)
            return _plain(x)

        block.forward = forward
    return model


def disable_activation_checkpointing(model: torch.nn.Module) -> torch.nn.Module:
    """Undo :func:`enable_activation_checkpointing`."""
    for block in unwrap(model).blocks:
        vars(block).pop("forward", None)
    return model


def is_checkpointed(model: torch.nn.Module) -> bool:
    return any("forward" in vars(block) for block in unwrap(model).blocks)


# -- one setting ----------------------------------------------------------------------------------


@dataclass
class SettingResult:
    """One row of the settings table; ``status`` is "measured" or "skipped"."""

    setting: str
    status: str
    reason: str = ""
    precision: str = "fp32"
    world_size: int = 1
    accum_steps: int = 1
    micro_batch: int = 0
    global_batch: int = 0
    tokens: int = 0
    tokens_per_s: float | None = None
    activation_bytes: int | None = None
    peak_cuda_bytes: int | None = None
    val_bpb: float | None = None
    train_s: float | None = None
    wall_s: float | None = None
    entropy_floor_bpb: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        return self.status == "measured"


def fp8_support(device: torch.device) -> tuple[bool, str]:
    """Whether this device and torch could train in fp8, and why (not)."""
    if device.type != "cuda":
        return False, "fp8 matmuls need an NVIDIA GPU of compute capability ≥ 8.9 (Ada, Hopper)"
    major, minor = torch.cuda.get_device_capability(device)
    if (major, minor) < (8, 9):
        return False, f"this GPU has compute capability {major}.{minor}; fp8 needs ≥ 8.9"
    if not hasattr(torch, "float8_e4m3fn") or not hasattr(torch, "_scaled_mm"):
        return False, f"torch {torch.__version__} has no fp8 matmul (torch._scaled_mm)"
    return False, (f"the GPU (capability {major}.{minor}) and torch support fp8 matmuls, but "
                   "fp8 training needs per-tensor scaling of every linear layer (e.g. "
                   "torchao.float8), which this trainer does not implement")


def skip_reason(setting: str, device: torch.device) -> str | None:
    """Why ``setting`` cannot run on ``device``; None when it can."""
    if setting == "fp16" and device.type != "cuda":
        return "fp16 with a GradScaler needs a CUDA GPU (fp16 matmuls on a CPU are emulated)"
    if setting == "bf16":
        if device.type == "cuda" and not native_bf16(device):
            return "this GPU has no native bf16 (compute capability < 8.0)"
        if device.type == "cpu":
            try:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    torch.ones(2, 2) @ torch.ones(2, 2)
            except (RuntimeError, TypeError) as err:
                return f"this torch has no CPU bf16 autocast ({err})"
    if setting == "compile" and device.type != "cuda":
        return ("torch.compile is measured on CUDA only: on a CPU its compile time (tens of "
                "seconds) is more than a short run saves")
    if setting == "fp8":
        return fp8_support(device)[1]
    if setting == "ddp2":
        import torch.distributed as dist

        if not dist.is_available():
            return "this torch was built without torch.distributed"
        if device.type == "cuda" and torch.cuda.device_count() < 2:
            return "two data-parallel ranks on CUDA need two GPUs (NCCL, one rank per GPU)"
    return None


def _setting_options(setting: str, device: torch.device) -> dict:
    # Checkpointing and accumulation run in fp32 everywhere, so that they compare with the
    # fp32 row exactly; torch.compile runs in the GPU's own 16-bit format.
    precision = "fp32"
    if setting in ("bf16", "fp16"):
        precision = setting
    elif setting == "compile" and device.type == "cuda":
        precision = "bf16" if native_bf16(device) else "fp16"
    return {
        "precision": precision,
        "checkpointing": setting == "checkpointing",
        "accum_steps": 4 if setting == "accum4" else 1,
        "compile": setting == "compile",
    }


def train_setting(model_config: GPTConfig, corpus: Any, train_config: TrainConfig, *,
                  precision: str = "fp32", checkpointing: bool = False, accum_steps: int = 1,
                  compile: bool = False, device: str | torch.device = "cpu",
                  num_threads: int | None = None) -> tuple[GPT, dict]:
    """Train one model the way :mod:`scalinglab.ddp` does in one process; return it and a record.

    The global batch ``train_config.batch_size`` is drawn once per step and cut
    into ``accum_steps`` equal micro-batches; each micro-batch's mean loss is
    divided by ``accum_steps`` before its backward pass. The record holds
    tokens, train_s, tokens_per_s (training steps only, evaluation excluded),
    val_bpb, activation_bytes (one micro-batch's forward) and peak_cuda_bytes.
    """
    with cpu_threads(num_threads):
        return _train_setting(model_config, corpus, train_config, precision, checkpointing,
                              accum_steps, compile, resolve_device(device))


def _train_setting(model_config: GPTConfig, corpus: Any, cfg: TrainConfig, precision: str,
                   checkpointing: bool, accum_steps: int, compile: bool,
                   device: torch.device) -> tuple[GPT, dict]:
    wall_start = time.perf_counter()
    if cfg.batch_size % accum_steps:
        raise ValueError(f"a global batch of {cfg.batch_size} does not split into "
                         f"{accum_steps} equal micro-batches; choose a multiple of {accum_steps}")
    micro = cfg.batch_size // accum_steps
    T = model_config.seq_len
    data = prepare_tokens(model_config, corpus, cfg)

    model, rng = build_model(model_config, cfg.seed, device)
    if checkpointing:
        enable_activation_checkpointing(model)
    step_model: torch.nn.Module = torch.compile(model) if compile else model
    optimizer, peak_lr, scaler = build_optimizer(model, cfg, precision, device)

    # Activation memory of one micro-batch, measured before training on a batch of the
    # same shape (the count depends on shapes and dtypes only).
    probe = torch.zeros(micro, T, dtype=torch.long, device=device)
    activation_bytes = saved_activation_bytes(model, probe, probe, precision)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)

    steps = max(1, math.ceil(cfg.tokens / (cfg.batch_size * T)))
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        apply_learning_rate(optimizer, step, steps, peak_lr, cfg)
        x, y = get_batch(data.train, cfg.batch_size, T, rng)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        accumulate_gradients(step_model, x, y, None, device=device, precision=precision,
                             scaler=scaler, accum_steps=accum_steps)
        optimizer_step(model, optimizer, scaler, cfg.grad_clip)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    train_s = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    val_bpb = evaluate_bpb(model, data.val_windows, device, precision)
    tokens = steps * cfg.batch_size * T
    return model, {
        "tokens": tokens, "steps": steps, "train_s": train_s,
        "tokens_per_s": tokens / train_s if train_s > 0 else None,
        "val_bpb": val_bpb, "activation_bytes": activation_bytes, "peak_cuda_bytes": peak,
        "precision": precision, "accum_steps": accum_steps, "micro_batch": micro,
        "global_batch": cfg.batch_size, "checkpointing": checkpointing, "compiled": compile,
        "wall_s": time.perf_counter() - wall_start,
    }


def torchrun_ddp(size: str, tokens: int, *, profile: str, nproc: int = 2,
                 global_batch: int | None = None, eval_tokens: int | None = None,
                 seed: int = 0, device: str | None = None, timeout: float = 600) -> dict:
    """Run ``torchrun --nproc_per_node=nproc -m scalinglab.ddp`` in a subprocess; its record."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "record.json"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={nproc}", "-m", "scalinglab.ddp", "--size", size,
                   "--tokens", str(tokens), "--profile", profile, "--seed", str(seed),
                   "--out", str(out), "--quiet"]
        if global_batch is not None:
            command += ["--global-batch", str(global_batch)]
        if eval_tokens is not None:
            command += ["--eval-tokens", str(eval_tokens)]
        if device is not None:
            command += ["--device", device]
        env = {k: v for k, v in os.environ.items()
               if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
        env["OMP_NUM_THREADS"] = env.get("OMP_NUM_THREADS", "1")
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
        if done.returncode != 0 or not out.is_file():
            raise RuntimeError(f"torchrun failed (exit {done.returncode}):\n"
                               f"{done.stderr[-2000:]}")
        return json.loads(out.read_text())


def run_settings(profile: Any, settings: Sequence[str] = SETTINGS, *, size: str | None = None,
                 tokens: int | None = None, eval_tokens: int | None = None, seed: int = 0,
                 progress: bool = True) -> list[SettingResult]:
    """Train ``size`` of ``profile`` on the same tokens under each setting; one row each.

    Defaults come from :data:`LAB_SETTINGS_RUN` for the profile. Settings this
    machine cannot run are returned with ``status="skipped"`` and the reason.
    """
    from scalinglab.data import load_corpus
    from scalinglab.profiles import get_profile

    profile = get_profile(profile)
    defaults = LAB_SETTINGS_RUN.get(profile.name, LAB_SETTINGS_RUN["cpu"])
    size_name = size or defaults["size"]
    tokens = tokens or defaults["tokens"]
    eval_tokens = eval_tokens or defaults["eval_tokens"]
    device = resolve_device(profile.device)
    corpus = load_corpus(profile.corpus, **profile.corpus_options())
    model_config = profile.size(size_name).config(corpus.vocab_size, profile.seq_len)
    cfg = TrainConfig(tokens=tokens, batch_size=profile.batch_size, lr_base=profile.lr_base,
                      seed=seed, eval_tokens=eval_tokens)
    rows = []
    for setting in settings:
        if setting not in SETTINGS:
            raise ValueError(f"unknown setting {setting!r}; choose from {', '.join(SETTINGS)}")
        reason = skip_reason(setting, device)
        if reason is not None:
            rows.append(SettingResult(setting, "skipped", reason))
        elif setting == "ddp2":
            start = time.perf_counter()
            record = torchrun_ddp(size_name, tokens, profile=profile.name, nproc=2,
                                  global_batch=cfg.batch_size, eval_tokens=eval_tokens,
                                  seed=seed)
            micro = record["micro_batch"]
            probe_model = GPT(model_config).to(device)
            probe = torch.zeros(micro, profile.seq_len, dtype=torch.long, device=device)
            rows.append(SettingResult(
                setting, "measured", precision=record["precision"],
                world_size=record["world_size"], accum_steps=record["accum_steps"],
                micro_batch=micro, global_batch=record["global_batch"],
                tokens=record["tokens"], tokens_per_s=record["tokens_per_s"],
                activation_bytes=saved_activation_bytes(probe_model, probe, probe,
                                                        record["precision"]),
                val_bpb=record["val_bpb"], train_s=record["train_s"],
                wall_s=time.perf_counter() - start,
                extra={"launcher": "torchrun --nproc_per_node=2 -m scalinglab.ddp",
                       "backend": "nccl" if device.type == "cuda" else "gloo"}))
        else:
            options = _setting_options(setting, device)
            _, record = train_setting(model_config, corpus, cfg, device=device,
                                      num_threads=profile.num_threads, **options)
            rows.append(SettingResult(
                setting, "measured", precision=record["precision"],
                accum_steps=record["accum_steps"], micro_batch=record["micro_batch"],
                global_batch=record["global_batch"], tokens=record["tokens"],
                tokens_per_s=record["tokens_per_s"], activation_bytes=record["activation_bytes"],
                peak_cuda_bytes=record["peak_cuda_bytes"], val_bpb=record["val_bpb"],
                train_s=record["train_s"], wall_s=record["wall_s"]))
        rows[-1].entropy_floor_bpb = corpus.entropy_floor_bpb
        if progress:
            row = rows[-1]
            print(f"  {row.setting}: " + (f"{row.tokens_per_s:,.0f} tokens/s, val "
                                            f"{row.val_bpb:.4f} bits/byte" if row.measured
                                            else "skipped"), flush=True)
    return rows


def format_settings(rows: Sequence[SettingResult]) -> str:
    """The settings table as aligned text; skipped settings list their reasons below."""
    header = (f"{'setting':<14} {'precision':<9} {'ranks×micro':>11} {'tokens/s':>10} "
              f"{'activations':>12} {'peak CUDA':>10} {'val bpb':>8}")
    lines = [header]
    for r in rows:
        if not r.measured:
            continue
        peak = f"{r.peak_cuda_bytes / 2**20:.1f} MiB" if r.peak_cuda_bytes else "n/a"
        lines.append(f"{r.setting:<14} {r.precision:<9} "
                     f"{f'{r.world_size}×{r.accum_steps}×{r.micro_batch}':>11} "
                     f"{r.tokens_per_s:>10,.0f} {r.activation_bytes / 2**20:>8.2f} MiB "
                     f"{peak:>10} {r.val_bpb:>8.4f}")
    skipped = [r for r in rows if not r.measured]
    if skipped:
        lines.append("not measured here:")
        lines += [f"  {r.setting}: {r.reason}" for r in skipped]
    return "\n".join(lines)


def settings_to_json(rows: Sequence[SettingResult]) -> str:
    return json.dumps([asdict(r) for r in rows], indent=1)

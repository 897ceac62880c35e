"""One training run, from a model config and a corpus to a run record.

The loop is the one every GPT trainer shares, kept in plain sight: sample a
batch, forward, backward, clip, step, with

* AdamW (Loshchilov & Hutter, 2019), weight decay on matrices only, fused on CUDA;
* linear warmup, then cosine decay to a floor (Loshchilov & Hutter, 2017);
* gradient clipping at norm 1, which keeps the first steps of small models sane;
* bf16 autocast on GPUs that have it, fp16 with a GradScaler on those that do
  not (a T4), fp32 on the CPU (Micikevicius et al., 2018);
* optional ``torch.compile`` on CUDA (on the CPU it costs more than it saves);
* evaluation in **bits per byte**: the mean cross-entropy in nats divided by
  ln 2, on a fixed set of contiguous validation windows, so that every model of
  a sweep is scored on exactly the same bytes.

Everything a plot or a fit needs about the run goes into one JSON-ready dict,
the *run record* (see :func:`train`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from scalinglab.data import get_batch
from scalinglab.model import GPT, GPTConfig
from scalinglab.profiles import native_bf16, resolve_device
from scalinglab.provenance import provenance

LN2 = math.log(2.0)
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class TrainConfig:
    """What defines a run's outcome: how much data, the optimiser and its schedule, the seed.

    The defaults are the recipe measured in DESIGN.md §10. ``lr=None`` scales the
    peak learning rate with width as ``lr_base·sqrt(128/d_model)``: narrower
    models tolerate larger steps, and one rule keeps a whole family stable.
    ``train_bytes`` restricts training to the first that many bytes of the
    corpus, which is how a data-size sweep makes small datasets repeat.
    """

    tokens: int = 500_000
    batch_size: int = 16
    lr: float | None = None
    lr_base: float = 6e-3
    warmup_frac: float = 0.05
    min_lr_frac: float = 0.1
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    eval_tokens: int = 32_768
    precision: str = "auto"
    seed: int = 0
    train_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.tokens < 1 or self.batch_size < 1:
            raise ValueError("TrainConfig needs tokens ≥ 1 and batch_size ≥ 1")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}"
            )
        if not 0 <= self.warmup_frac < 1 or not 0 <= self.min_lr_frac <= 1:
            raise ValueError("warmup_frac must be in [0, 1) and min_lr_frac in [0, 1]")
        if self.eval_tokens < 1:
            raise ValueError(f"eval_tokens must be ≥ 1, got {self.eval_tokens}")

    def peak_lr(self, d_model: int) -> float:
        return self.lr if self.lr is not None else self.lr_base * math.sqrt(128 / d_model)


def learning_rate(step: int, steps: int, peak: float, warmup_frac: float,
                  min_lr_frac: float) -> float:
    """Linear warmup to ``peak`` over the first ``warmup_frac`` of the steps, then a
    half cosine down to ``min_lr_frac·peak`` at the last step."""
    warmup = max(1, round(warmup_frac * steps))
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - 1 - warmup)
    floor = min_lr_frac * peak
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * min(1.0, progress)))


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` → bf16 on GPUs that support it, fp16 on older GPUs, fp32 on the CPU."""
    if precision != "auto":
        if precision == "fp16" and device.type != "cuda":
            raise ValueError("fp16 training needs a CUDA GPU; use fp32 (or bf16) on the CPU")
        return precision
    if device.type == "cuda":
        return "bf16" if native_bf16(device) else "fp16"
    return "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def configure_optimizer(model: GPT, peak_lr: float, weight_decay: float,
                        betas: tuple[float, float], device: torch.device) -> torch.optim.AdamW:
    """AdamW with decay on weight matrices and embeddings, none on biases and norms.

    Decaying a LayerNorm gain or a bias pulls it towards zero for no benefit;
    matrices are where decay regularises (as in GPT-3's recipe, Brown et al., 2020).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    # One fused kernel for all parameters on CUDA; the multi-tensor path on the CPU.
    kwargs = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.AdamW(groups, lr=peak_lr, betas=betas, **kwargs)


def eval_windows(tokens: np.ndarray, seq_len: int, max_tokens: int) -> torch.Tensor:
    """Contiguous, non-overlapping windows of ``seq_len + 1`` bytes from the start of ``tokens``.

    No randomness: every model evaluated with the same ``tokens`` and
    ``max_tokens`` is scored on the same bytes, each predicted once.
    """
    n = min(max_tokens // seq_len, (len(tokens) - 1) // seq_len)
    if n < 1:
        raise ValueError(
            f"{len(tokens)} bytes hold no evaluation window of {seq_len + 1}; "
            "use more validation bytes or a shorter seq_len"
        )
    starts = np.arange(n) * seq_len
    return torch.from_numpy(np.asarray(tokens)[starts[:, None] + np.arange(seq_len + 1)]
                            .astype(np.int64))


@torch.inference_mode()
def evaluate_bpb(model: torch.nn.Module, windows: torch.Tensor, device: torch.device,
                 precision: str = "fp32", batch_size: int = 64) -> float:
    """Mean cross-entropy over every predicted byte of ``windows``, in bits per byte."""
    was_training = model.training
    model.eval()
    total_nats, count = 0.0, 0
    for chunk in windows.split(batch_size):
        chunk = chunk.to(device, non_blocking=True)
        with autocast(device, precision):
            _, loss = model(chunk[:, :-1], chunk[:, 1:])
        n = chunk[:, 1:].numel()
        total_nats += loss.item() * n
        count += n
    model.train(was_training)
    return total_nats / count / LN2


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def _configure_cuda() -> None:
    # TF32 for the matmuls left in fp32: fp32's range with a 10-bit mantissa, several
    # times the fp32 rate on Ampere and later GPUs.
    torch.set_float32_matmul_precision("high")


def _train_model(
    model_config: GPTConfig,
    corpus: Any,
    train_config: TrainConfig | None = None,
    *,
    device: str | torch.device = "auto",
    compile: bool = False,
    progress: bool | None = None,
    eval_points: int = 0,
    curve_points: int = 100,
    profile: str | None = None,
    extra: dict | None = None,
    batch_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[GPT, dict]:
    from tqdm.auto import tqdm

    cfg = train_config or TrainConfig()
    wall_start = time.perf_counter()
    device = resolve_device(device)
    precision = resolve_precision(cfg.precision, device)
    if device.type == "cuda":
        _configure_cuda()

    train_tokens = np.asarray(corpus.train)
    if cfg.train_bytes is not None:
        if cfg.train_bytes > len(train_tokens):
            raise ValueError(
                f"train_bytes={cfg.train_bytes:,} is more than the corpus's "
                f"{len(train_tokens):,} training bytes; load a larger corpus or ask for fewer"
            )
        train_tokens = train_tokens[: cfg.train_bytes]
    if model_config.vocab_size < corpus.vocab_size:
        raise ValueError(
            f"model vocab_size={model_config.vocab_size} is smaller than the corpus's "
            f"{corpus.vocab_size}; build the config with vocab_size=corpus.vocab_size"
        )
    T = model_config.seq_len
    if len(train_tokens) < T + 1:
        raise ValueError(f"{len(train_tokens)} training bytes hold no window of {T + 1}")
    val_windows = eval_windows(corpus.val, T, cfg.eval_tokens)
    train_windows = eval_windows(train_tokens, T, cfg.eval_tokens)

    _seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = GPT(model_config).to(device)
    step_model = model
    compiled = bool(compile and device.type == "cuda")
    if compiled:
        step_model = torch.compile(model)
    peak_lr = cfg.peak_lr(model_config.d_model)
    optimizer = configure_optimizer(model, peak_lr, cfg.weight_decay, (cfg.beta1, cfg.beta2),
                                    device)
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None

    tokens_per_step = cfg.batch_size * T
    steps = max(1, math.ceil(cfg.tokens / tokens_per_step))
    log_every = max(1, steps // max(1, curve_points))
    eval_at = {round(steps * (i + 1) / (eval_points + 1)) for i in range(eval_points)}
    loss_curve: list[list[float]] = []
    val_curve: list[list[float]] = []
    running = torch.zeros((), device=device)
    since_log = 0
    train_s = 0.0
    # Throughput is also timed after the first fifth of the steps, which hold the one-off
    # costs (torch.compile, allocator warm-up) that a longer run would amortise.
    steady_from, steady_mark = steps // 5, 0.0
    bar = tqdm(total=steps, desc=f"d{model_config.d_model}-L{model_config.n_layer}",
               unit="step", leave=False, disable=None if progress is None else not progress)
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        lr = learning_rate(step, steps, peak_lr, cfg.warmup_frac, cfg.min_lr_frac)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch(train_tokens, cfg.batch_size, T, rng)
        if batch_transform is not None:  # e.g. input noise (chapter 7); targets stay clean
            x = batch_transform(x)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast(device, precision):
            _, loss = step_model(x, y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        # Accumulate on the device; reading a number back every step would stall a GPU.
        running += loss.detach()
        since_log += 1
        if since_log == log_every or step == steps - 1:
            bpb = running.item() / since_log / LN2
            if not math.isfinite(bpb):
                bar.close()
                raise RuntimeError(
                    f"training diverged at step {step + 1}/{steps} (loss {bpb}); "
                    f"lower the learning rate (peak was {peak_lr:.2e})"
                )
            loss_curve.append([(step + 1) * tokens_per_step, round(bpb, 5)])
            bar.set_postfix(train_bpb=f"{bpb:.3f}", refresh=False)
            running.zero_()
            since_log = 0
        bar.update(1)
        if step + 1 == steady_from:
            if device.type == "cuda":
                torch.cuda.synchronize()
            steady_mark = train_s + time.perf_counter() - t0
        if step + 1 in eval_at:
            train_s += time.perf_counter() - t0
            val_curve.append([(step + 1) * tokens_per_step,
                              evaluate_bpb(model, val_windows, device, precision)])
            t0 = time.perf_counter()
    if device.type == "cuda":
        torch.cuda.synchronize()
    train_s += time.perf_counter() - t0
    bar.close()

    val_bpb = evaluate_bpb(model, val_windows, device, precision)
    train_bpb = evaluate_bpb(model, train_windows, device, precision)
    tokens = steps * tokens_per_step
    val_curve.append([tokens, val_bpb])
    record = {
        "n_params": model.n_params(non_embedding=False),
        "n_params_non_embedding": model.n_params(non_embedding=True),
        "tokens": tokens,
        "flops": tokens * model.flops_per_token(),
        "flops_per_token": model.flops_per_token(),
        "val_bpb": val_bpb,
        "val_bpb_best": min(v for _, v in val_curve),
        "train_bpb": train_bpb,
        "entropy_floor_bpb": corpus.entropy_floor_bpb,
        "corpus": corpus.name,
        "train_bytes": len(train_tokens),
        "val_bytes_evaluated": int(val_windows[:, 1:].numel()),
        "profile": profile,
        "seed": cfg.seed,
        "model": asdict(model_config),
        "optim": {**asdict(cfg), "peak_lr": peak_lr, "steps": steps,
                  "warmup_steps": max(1, round(cfg.warmup_frac * steps)),
                  "optimizer": "AdamW", "schedule": "linear warmup, cosine decay"},
        "precision": precision,
        "compiled": compiled,
        "wall_s": time.perf_counter() - wall_start,
        "train_s": train_s,
        "tokens_per_s": tokens / train_s if train_s > 0 else None,
        "tokens_per_s_steady": ((steps - steady_from) * tokens_per_step / (train_s - steady_mark)
                                if train_s > steady_mark else None),
        "loss_curve": loss_curve,
        "val_curve": val_curve,
        **provenance(device),
        **(extra or {}),
    }
    return model, record


@contextlib.contextmanager
def cpu_threads(n: int | None):
    """Use ``n`` torch CPU threads inside the block, and the previous number after it."""
    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train_model(
    model_config: GPTConfig,
    corpus: Any,
    train_config: TrainConfig | None = None,
    *,
    num_threads: int | None = None,
    **options,
) -> tuple[GPT, dict]:
    """Train one model; return it with its run record (see :func:`train`)."""
    with cpu_threads(num_threads):
        return _train_model(model_config, corpus, train_config, **options)


def train(
    model_config: GPTConfig,
    corpus: Any,
    train_config: TrainConfig | None = None,
    **options,
) -> dict:
    """Train one model on ``corpus`` and return its run record.

    ``corpus`` is a :class:`scalinglab.data.Corpus` (anything with ``name``,
    ``train``, ``val``, ``vocab_size`` and ``entropy_floor_bpb``). Keyword
    options: ``device`` ("auto", "cpu", "cuda"), ``compile`` (CUDA only),
    ``progress`` (None: a bar when attached to a terminal), ``num_threads``,
    ``eval_points`` (extra validation points during training), ``profile``,
    ``batch_transform`` (a function applied to each training batch's inputs, not
    its targets, before the step: data augmentation such as input noise).

    The record holds: n_params and n_params_non_embedding (total and Kaplan's
    N), tokens D, flops C = D·flops_per_token, val_bpb and train_bpb (final, on
    fixed windows), val_bpb_best, entropy_floor_bpb, loss_curve ([tokens,
    train_bpb] pairs), val_curve, the model and optim configs, wall_s,
    tokens_per_s, precision, and provenance (commit, device, torch, date, ...).
    """
    return train_model(model_config, corpus, train_config, **options)[1]

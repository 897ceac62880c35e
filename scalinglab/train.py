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

    The defaults are the recipe measured when the book was designed (ARCHITECTURE.md).
    ``lr=None`` scales the peak learning rate with width as ``lr_base·sqrt(128/d_model)``: narrower
    models tolerate larger steps, and one rule keeps a whole family stable.
    ``train_bytes`` restricts training to the first that many bytes of the
    corpus, which is how a repetition sweep makes small datasets repeat.
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
        for name in ("tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")
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


# -- the pieces of the loop, shared by every trainer of the package ---------------------------
# scalinglab.ddp (data parallel), scalinglab.efficiency (precisions, checkpointing) and
# scalinglab.shrink.loop (distillation, pruning masks) train with these same pieces, so a
# change to the recipe lands in all of them and their runs stay comparable bit for bit.

# loss_fn(model, x, y) -> (loss to minimise, data cross-entropy in nats)
LossFn = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor],
                  tuple[torch.Tensor, torch.Tensor]]


def cross_entropy_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """The ordinary objective: mean next-byte cross-entropy (nats), which is also the data term."""
    _, loss = model(x, y)
    return loss, loss


@dataclass
class TrainingTokens:
    """The bytes a run trains on and the fixed windows it is scored on."""

    train: np.ndarray
    val_windows: torch.Tensor
    train_windows: torch.Tensor


def prepare_tokens(model_config: GPTConfig, corpus: Any, cfg: TrainConfig) -> TrainingTokens:
    """Check that ``model_config`` can train on ``corpus`` and cut out the run's bytes.

    ``cfg.train_bytes`` keeps the first that many training bytes (a data-size
    sweep's small datasets); validation and training bpb are measured on the
    contiguous windows of :func:`eval_windows`, the same for every model.
    """
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
        raise ValueError(f"{len(train_tokens)} training bytes hold no window of {T + 1}; "
                         "load a larger corpus or use a shorter seq_len")
    return TrainingTokens(train_tokens, eval_windows(corpus.val, T, cfg.eval_tokens),
                          eval_windows(train_tokens, T, cfg.eval_tokens))


def build_model(model_config: GPTConfig, seed: int,
                device: torch.device) -> tuple[GPT, np.random.Generator]:
    """The model initialised from ``seed``, and the batch generator seeded with it.

    One seed fixes both the initial weights and the stream of batches, so two
    trainers (or two ranks) given the same seed start from the same model and
    see the same bytes in the same order.
    """
    _seed_everything(seed)
    return GPT(model_config).to(device), np.random.default_rng(seed)


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig, precision: str,
                    device: torch.device
                    ) -> tuple[torch.optim.AdamW, float, torch.amp.GradScaler | None]:
    """AdamW at the config's peak learning rate, and a GradScaler when training in fp16.

    fp16's narrow range underflows small gradients; scaling the loss before the
    backward pass and unscaling before the step keeps them (Micikevicius et al., 2018).
    """
    peak_lr = cfg.peak_lr(model.config.d_model)
    optimizer = configure_optimizer(model, peak_lr, cfg.weight_decay, (cfg.beta1, cfg.beta2),
                                    device)
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    return optimizer, peak_lr, scaler


def apply_learning_rate(optimizer: torch.optim.Optimizer, step: int, steps: int,
                        peak_lr: float, cfg: TrainConfig) -> float:
    """Set every parameter group to the schedule's rate for ``step``; return it."""
    lr = learning_rate(step, steps, peak_lr, cfg.warmup_frac, cfg.min_lr_frac)
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def accumulate_gradients(step_model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                         log: LossLog | None, *, device: torch.device, precision: str,
                         scaler: torch.amp.GradScaler | None, accum_steps: int = 1,
                         loss_fn: LossFn = cross_entropy_loss) -> None:
    """Forward and backward over ``accum_steps`` equal micro-batches of the batch ``x, y``.

    Each micro-batch's loss is divided by ``accum_steps``: equal micro-batches, so
    the mean of their means is the whole batch's mean and the summed gradients
    are the whole batch's. A model with ``no_sync`` (DistributedDataParallel)
    all-reduces on the last micro-batch only. The data cross-entropy goes to ``log``
    (None: not logged, as when only throughput is measured).
    """
    hold = getattr(step_model, "no_sync", None)
    micro = x.size(0) // accum_steps
    for i, (xm, ym) in enumerate(zip(x.split(micro), y.split(micro), strict=True)):
        last = i == accum_steps - 1
        with contextlib.nullcontext() if last or hold is None else hold():
            with autocast(device, precision):
                loss, data_ce = loss_fn(step_model, xm, ym)
            if accum_steps > 1:
                loss, data_ce = loss / accum_steps, data_ce / accum_steps
            (scaler.scale(loss) if scaler is not None else loss).backward()
        if log is not None:
            log.add(data_ce)


def optimizer_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                   scaler: torch.amp.GradScaler | None, grad_clip: float) -> None:
    """Clip the gradients' norm at ``grad_clip`` (0: no clipping), step, and clear them.

    With a GradScaler the gradients are unscaled first, so that the clipping
    threshold means the same in fp16 as in fp32.
    """
    if scaler is not None:
        scaler.unscale_(optimizer)
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)


class LossLog:
    """The training loss curve: mean bits per byte over every ``log_every`` steps.

    Losses are summed on the device; reading a number back every step would
    stall a GPU. ``digits`` rounds the logged values.
    """

    def __init__(self, steps: int, curve_points: int, tokens_per_step: int, peak_lr: float,
                 device: torch.device, digits: int = 5) -> None:
        self.steps, self.tokens_per_step, self.peak_lr = steps, tokens_per_step, peak_lr
        self.log_every = max(1, steps // max(1, curve_points))
        self.digits = digits
        self.curve: list[list[float]] = []
        self.running = torch.zeros((), device=device)
        self.since_log = 0

    def add(self, loss: torch.Tensor) -> None:
        self.running += loss.detach()

    def end_step(self, step: int, reduce: Callable[[torch.Tensor], int] | None = None,
                 bar: Any = None) -> float | None:
        """Count ``step`` as done; at a logging point return the mean bpb, else None.

        ``reduce`` sums ``running`` over processes and returns how many there are
        (data parallelism: the mean over ranks of their means is the global mean).
        ``bar``, a tqdm progress bar, advances one step and shows the logged bpb.
        """
        self.since_log += 1
        if bar is not None:
            bar.update(1)
        if self.since_log != self.log_every and step != self.steps - 1:
            return None
        parts = reduce(self.running) if reduce is not None else 1
        bpb = self.running.item() / parts / self.since_log / LN2
        if not math.isfinite(bpb):
            if bar is not None:
                bar.close()
            raise RuntimeError(
                f"training diverged at step {step + 1}/{self.steps} (loss {bpb}); "
                f"lower the learning rate (peak was {self.peak_lr:.2e})"
            )
        self.curve.append([(step + 1) * self.tokens_per_step, round(bpb, self.digits)])
        self.running.zero_()
        self.since_log = 0
        if bar is not None:
            # no forced redraw: in Jupyter each one is a message, and a flood of them can
            # overflow the kernel's output queue (the bar redraws on its own clock)
            bar.set_postfix(train_bpb=f"{bpb:.3f}", refresh=False)
        return bpb


def run_record(model: GPT, corpus: Any, cfg: TrainConfig, data: TrainingTokens, *,
               steps: int, tokens_per_step: int, peak_lr: float, precision: str,
               device: torch.device, loss_curve: list, val_curve: list, train_s: float,
               wall_start: float, profile: str | None, fields: dict | None = None,
               extra: dict | None = None) -> dict:
    """Score the trained model on the fixed windows and assemble its run record.

    ``fields`` are a trainer's own entries (compiled, world_size, ...); ``extra``
    goes in last, so a sweep's keys (grid, run_key) are never overwritten.
    """
    val_bpb = evaluate_bpb(model, data.val_windows, device, precision)
    train_bpb = evaluate_bpb(model, data.train_windows, device, precision)
    tokens = steps * tokens_per_step
    val_curve.append([tokens, val_bpb])
    return {
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
        "train_bytes": len(data.train),
        "val_bytes_evaluated": int(data.val_windows[:, 1:].numel()),
        "profile": profile,
        "seed": cfg.seed,
        "model": asdict(model.config),
        "optim": {**asdict(cfg), "peak_lr": peak_lr, "steps": steps,
                  "warmup_steps": max(1, round(cfg.warmup_frac * steps)),
                  "optimizer": "AdamW", "schedule": "linear warmup, cosine decay"},
        "precision": precision,
        **(fields or {}),
        "wall_s": time.perf_counter() - wall_start,
        "train_s": train_s,
        "tokens_per_s": tokens / train_s if train_s > 0 else None,
        "loss_curve": loss_curve,
        "val_curve": val_curve,
        **provenance(device),
        **(extra or {}),
    }


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

    data = prepare_tokens(model_config, corpus, cfg)
    T = model_config.seq_len

    model, rng = build_model(model_config, cfg.seed, device)
    step_model = model
    compiled = bool(compile and device.type == "cuda")
    if compiled:
        step_model = torch.compile(model)
    optimizer, peak_lr, scaler = build_optimizer(model, cfg, precision, device)

    tokens_per_step = cfg.batch_size * T
    steps = max(1, math.ceil(cfg.tokens / tokens_per_step))
    log = LossLog(steps, curve_points, tokens_per_step, peak_lr, device)
    eval_at = {round(steps * (i + 1) / (eval_points + 1)) for i in range(eval_points)}
    val_curve: list[list[float]] = []
    train_s = 0.0
    # Throughput is also timed after the first fifth of the steps, which hold the one-off
    # costs (torch.compile, allocator warm-up) that a longer run would amortise.
    steady_from, steady_mark = steps // 5, 0.0
    bar = tqdm(total=steps, desc=f"d{model_config.d_model}-L{model_config.n_layer}",
               unit="step", leave=False, disable=None if progress is None else not progress)
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        apply_learning_rate(optimizer, step, steps, peak_lr, cfg)
        x, y = get_batch(data.train, cfg.batch_size, T, rng)
        if batch_transform is not None:  # e.g. input noise (chapter 7); targets stay clean
            x = batch_transform(x)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        accumulate_gradients(step_model, x, y, log, device=device, precision=precision,
                             scaler=scaler)
        optimizer_step(model, optimizer, scaler, cfg.grad_clip)
        log.end_step(step, bar=bar)
        if step + 1 == steady_from:
            if device.type == "cuda":
                torch.cuda.synchronize()
            steady_mark = train_s + time.perf_counter() - t0
        if step + 1 in eval_at:
            train_s += time.perf_counter() - t0
            val_curve.append([(step + 1) * tokens_per_step,
                              evaluate_bpb(model, data.val_windows, device, precision)])
            t0 = time.perf_counter()
    if device.type == "cuda":
        torch.cuda.synchronize()
    train_s += time.perf_counter() - t0
    bar.close()

    steady_tokens = (steps - steady_from) * tokens_per_step
    record = run_record(
        model, corpus, cfg, data, steps=steps, tokens_per_step=tokens_per_step,
        peak_lr=peak_lr, precision=precision, device=device, loss_curve=log.curve,
        val_curve=val_curve, train_s=train_s, wall_start=wall_start, profile=profile,
        fields={"compiled": compiled,
                "tokens_per_s_steady": (steady_tokens / (train_s - steady_mark)
                                        if train_s > steady_mark else None)},
        extra=extra,
    )
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

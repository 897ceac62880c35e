"""A training loop for models that already exist: fine-tuning a shrunk model, distilling.

:func:`scalinglab.train.train_model` builds its model from a config and owns its
loss; shrinking needs two things it does not offer: to start from a given model
(a pruned one, a fresh student) and to change the loss (distillation) or act
after each step (holding pruning masks). This loop is the same recipe, in the
same order, from the same pieces (``get_batch``, ``learning_rate``,
``configure_optimizer``, gradient clipping at ``grad_clip``), so with the default
loss and a model built from the same seed it reproduces ``train_model``'s loss
curve step for step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from scalinglab.data import get_batch
from scalinglab.model import GPT
from scalinglab.profiles import resolve_device
from scalinglab.train import (
    LN2,
    TrainConfig,
    autocast,
    configure_optimizer,
    cpu_threads,
    eval_windows,
    evaluate_bpb,
    learning_rate,
    resolve_precision,
)

# loss_fn(model, x, y) -> (loss to minimise, data cross-entropy in nats)
LossFn = Callable[[GPT, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def cross_entropy_loss(model: GPT, x: torch.Tensor, y: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """The ordinary objective: mean next-byte cross-entropy (nats), which is also the data term."""
    _, loss = model(x, y)
    return loss, loss


def train_loop(
    model: GPT,
    corpus: Any,
    train_config: TrainConfig | None = None,
    *,
    loss_fn: LossFn = cross_entropy_loss,
    after_step: Callable[[GPT], None] | None = None,
    device: str | torch.device = "cpu",
    num_threads: int | None = None,
    curve_points: int = 100,
) -> dict:
    """Train ``model`` in place for ``train_config.tokens`` tokens; return a small record.

    Batches come from ``numpy.random.default_rng(train_config.seed)`` as in
    ``train_model``. The record holds tokens, steps, peak_lr, ``loss_curve``
    ([tokens, data cross-entropy in bits per byte] pairs), val_bpb, train_s.
    """
    cfg = train_config or TrainConfig()
    device = resolve_device(device)
    precision = resolve_precision(cfg.precision, device)
    train_tokens = np.asarray(corpus.train)
    if cfg.train_bytes is not None:
        train_tokens = train_tokens[: cfg.train_bytes]
    T = model.config.seq_len
    if len(train_tokens) < T + 1:
        raise ValueError(f"{len(train_tokens)} training bytes hold no window of {T + 1}; "
                         "load a larger corpus or use a shorter seq_len")
    with cpu_threads(num_threads):
        model.to(device)
        rng = np.random.default_rng(cfg.seed)
        peak_lr = cfg.peak_lr(model.config.d_model)
        optimizer = configure_optimizer(model, peak_lr, cfg.weight_decay,
                                        (cfg.beta1, cfg.beta2), device)
        tokens_per_step = cfg.batch_size * T
        steps = max(1, math.ceil(cfg.tokens / tokens_per_step))
        log_every = max(1, steps // max(1, curve_points))
        loss_curve: list[list[float]] = []
        running, since_log = 0.0, 0
        model.train()
        t0 = time.perf_counter()
        for step in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, steps, peak_lr, cfg.warmup_frac,
                                            cfg.min_lr_frac)
            x, y = get_batch(train_tokens, cfg.batch_size, T, rng)
            x, y = x.to(device), y.to(device)
            with autocast(device, precision):
                loss, data_ce = loss_fn(model, x, y)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if after_step is not None:
                after_step(model)
            running += data_ce.item()
            since_log += 1
            if since_log == log_every or step == steps - 1:
                bpb = running / since_log / LN2
                if not math.isfinite(bpb):
                    raise RuntimeError(f"training diverged at step {step + 1}/{steps}; "
                                       f"lower the learning rate (peak was {peak_lr:.2e})")
                loss_curve.append([(step + 1) * tokens_per_step, round(bpb, 5)])
                running, since_log = 0.0, 0
        train_s = time.perf_counter() - t0
        val_bpb = evaluate_bpb(model, eval_windows(corpus.val, T, cfg.eval_tokens), device,
                               precision)
    return {"tokens": steps * tokens_per_step, "steps": steps, "peak_lr": peak_lr,
            "loss_curve": loss_curve, "val_bpb": val_bpb, "train_s": train_s,
            "precision": precision}

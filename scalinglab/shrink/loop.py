"""A training loop for models that already exist: fine-tuning a shrunk model, distilling.

:func:`scalinglab.train.train_model` builds its model from a config and owns its
loss; shrinking needs two things it does not offer: to start from a given model
(a pruned one, a fresh student) and to change the loss (distillation) or act
after each step (holding pruning masks). This loop is the same recipe, in the
same order, from the same pieces of :mod:`scalinglab.train` (``prepare_tokens``,
``build_optimizer``, ``accumulate_gradients``, ``optimizer_step``, ``LossLog``), so with the default
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
    LossFn,
    LossLog,
    TrainConfig,
    accumulate_gradients,
    apply_learning_rate,
    build_optimizer,
    cpu_threads,
    cross_entropy_loss,
    evaluate_bpb,
    optimizer_step,
    prepare_tokens,
    resolve_precision,
)

__all__ = ["LossFn", "cross_entropy_loss", "train_loop"]


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
    data = prepare_tokens(model.config, corpus, cfg)
    T = model.config.seq_len
    with cpu_threads(num_threads):
        model.to(device)
        rng = np.random.default_rng(cfg.seed)
        optimizer, peak_lr, scaler = build_optimizer(model, cfg, precision, device)
        tokens_per_step = cfg.batch_size * T
        steps = max(1, math.ceil(cfg.tokens / tokens_per_step))
        log = LossLog(steps, curve_points, tokens_per_step, peak_lr, device)
        model.train()
        t0 = time.perf_counter()
        for step in range(steps):
            apply_learning_rate(optimizer, step, steps, peak_lr, cfg)
            x, y = get_batch(data.train, cfg.batch_size, T, rng)
            x, y = x.to(device), y.to(device)
            accumulate_gradients(model, x, y, log, device=device, precision=precision,
                                 scaler=scaler, loss_fn=loss_fn)
            optimizer_step(model, optimizer, scaler, cfg.grad_clip)
            if after_step is not None:
                after_step(model)
            log.end_step(step)
        train_s = time.perf_counter() - t0
        val_bpb = evaluate_bpb(model, data.val_windows, device, precision)
    return {"tokens": steps * tokens_per_step, "steps": steps, "peak_lr": peak_lr,
            "loss_curve": log.curve, "val_bpb": val_bpb, "train_s": train_s,
            "precision": precision}

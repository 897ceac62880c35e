"""Training efficiency: activation bytes, checkpointing, accumulation, the settings table."""

from __future__ import annotations

import pytest
import torch

from scalinglab.data import load_corpus
from scalinglab.ddp import train_data_parallel
from scalinglab.efficiency import (
    SettingResult,
    disable_activation_checkpointing,
    enable_activation_checkpointing,
    format_settings,
    is_checkpointed,
    number_formats,
    saved_activation_bytes,
    skip_reason,
    train_setting,
    training_memory_bytes,
)
from scalinglab.model import GPT, GPTConfig
from scalinglab.profiles import TINY
from scalinglab.train import TrainConfig

CONFIG = GPTConfig(vocab_size=16, seq_len=32, n_layer=3, n_head=2, d_model=32)


def _batch(batch: int = 8):
    g = torch.Generator().manual_seed(1)
    return (torch.randint(0, 16, (batch, 32), generator=g),
            torch.randint(0, 16, (batch, 32), generator=g))


def _loss_and_grads(model, x, y):
    model.zero_grad()
    _, loss = model(x, y)
    loss.backward()
    return loss.item(), [p.grad.clone() for p in model.parameters()]


def test_checkpointing_same_loss_and_gradients_fewer_saved_bytes():
    torch.manual_seed(0)
    model = GPT(CONFIG)
    x, y = _batch()
    plain_bytes = saved_activation_bytes(model, x, y)
    loss, grads = _loss_and_grads(model, x, y)
    enable_activation_checkpointing(model)
    assert is_checkpointed(model)
    ckpt_bytes = saved_activation_bytes(model, x, y)
    loss_c, grads_c = _loss_and_grads(model, x, y)
    assert ckpt_bytes < plain_bytes / 3
    # Recomputation repeats the same fp32 operations on the same inputs: bit for bit.
    assert loss_c == loss
    for g, gc in zip(grads, grads_c, strict=True):
        torch.testing.assert_close(gc, g, rtol=0, atol=0)
    # A checkpointed block keeps only its input: one (B, T, d) fp32 tensor per layer.
    deeper = GPT(GPTConfig(**{**CONFIG.__dict__, "n_layer": 5}))
    enable_activation_checkpointing(deeper)
    per_layer = (saved_activation_bytes(deeper, x, y) - ckpt_bytes) / 2
    assert per_layer == x.numel() * CONFIG.d_model * 4
    disable_activation_checkpointing(model)
    assert not is_checkpointed(model)
    assert saved_activation_bytes(model, x, y) == plain_bytes


def test_saved_bytes_scale_with_batch_and_shrink_in_bf16():
    model = GPT(CONFIG)
    x8, y8 = _batch(8)
    x4, y4 = _batch(4)
    b8, b4 = saved_activation_bytes(model, x8, y8), saved_activation_bytes(model, x4, y4)
    assert b8 == pytest.approx(2 * b4, rel=0.02)
    if skip_reason("bf16", torch.device("cpu")) is None:
        assert saved_activation_bytes(model, x8, y8, "bf16") < b8


def test_number_formats_and_state_memory():
    rows = {r.name: r for r in number_formats()}
    assert rows["fp16"].max == 65504.0
    assert rows["bf16"].smallest_normal == rows["fp32"].smallest_normal
    assert rows["bf16"].eps > rows["fp16"].eps > rows["fp32"].eps
    assert sum(training_memory_bytes(1000).values()) == 16_000
    assert sum(training_memory_bytes(1000, mixed_precision=True).values()) == 16_000


def test_accumulation_matches_one_batch_and_the_ddp_loop():
    corpus = load_corpus("synthetic", **{**TINY.corpus_options(), "train_bytes": 20_000,
                                         "val_bytes": 4_096})
    config = TINY.size("d16-L2").config(corpus.vocab_size, TINY.seq_len)
    cfg = TrainConfig(tokens=4096, batch_size=8, eval_tokens=1024, lr_base=TINY.lr_base)
    _, one = train_setting(config, corpus, cfg, num_threads=1)
    _, four = train_setting(config, corpus, cfg, accum_steps=4, num_threads=1)
    _, ckpt = train_setting(config, corpus, cfg, checkpointing=True, num_threads=1)
    _, ddp_loop = train_data_parallel(config, corpus, cfg, num_threads=1, progress=False)
    assert one["val_bpb"] == ddp_loop["val_bpb"]  # the same loop, the same arithmetic
    assert four["val_bpb"] == pytest.approx(one["val_bpb"], abs=1e-5)
    assert ckpt["val_bpb"] == one["val_bpb"]
    assert ckpt["activation_bytes"] < one["activation_bytes"]
    assert four["activation_bytes"] < one["activation_bytes"]
    assert one["tokens_per_s"] > 0
    with pytest.raises(ValueError, match="micro-batches"):
        train_setting(config, corpus, cfg, accum_steps=3)


def test_skips_say_why_on_a_cpu():
    cpu = torch.device("cpu")
    assert "CUDA" in skip_reason("fp16", cpu)
    assert "8.9" in skip_reason("fp8", cpu)
    assert skip_reason("compile", cpu)
    assert skip_reason("fp32", cpu) is None
    text = format_settings([SettingResult("fp8", "skipped", "no fp8 here"),
                            SettingResult("fp32", "measured", tokens_per_s=10.0,
                                          activation_bytes=2**20, val_bpb=2.0, micro_batch=4)])
    assert "no fp8 here" in text and "fp32" in text

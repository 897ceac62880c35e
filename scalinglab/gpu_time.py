"""How long the gpu reference takes on one H100, predicted before anything was measured there.

A lent GPU gives 15 minutes of device time in all, so the gpu reference set is
designed to fit one command of 8 minutes (ARCHITECTURE.md) and its plan prints a
prediction for every run. The prediction is a small model whose numbers are
*assumptions*, each stated here with where it comes from, to be replaced by the
first measured run (``gpu_reference_log.json`` records predicted against
measured seconds for every item):

* **peak**: 989 TFLOP/s dense bf16, the NVIDIA H100 SXM datasheet (nvidia2022h100).
* **a step has a floor**: the book's models are small, and a small model on a GPU
  is *overhead-bound* (He, 2022, "Making Deep Learning Go Brrrr From First
  Principles"): the GPU waits for Python and PyTorch to launch its kernels, at
  roughly 5-10 µs each in eager mode. Counting the operations of one step of
  ``scalinglab.train`` (autocast casts, matmuls, attention, their backward) at
  that rate gives about 0.4 ms per block and 0.5 ms for the batch, embeddings,
  loss, clipping and fused AdamW; we assume 1 ms + 0.5 ms per layer (2 ms at 2
  layers, 4 ms at 6), a server CPU being slower per thread than a desktop's.
  The synthetic runs are *not* compiled: ``torch.compile`` would lower the floor
  but costs 20-60 s per new shape, more than any of those runs takes.
* **MFU grows with size**: above the floor a step takes FLOPs / (MFU × peak), with
  MFU 5 % at 1M parameters and below, rising log-linearly to 40 % at 100M (small
  matmuls fill few of the 132 SMs). nanoGPT's README trains a 6-layer, 384-wide
  character model (10.7M parameters, 64 × 256 tokens a step) for 5,000 steps in
  about 3 minutes on one A100, compilation and evaluation included: at least 10 %
  of that GPU's peak. This curve says 14 % at 10M.
* **torch.compile** costs 20 s + 2.5 s per layer (35 s at 6 layers, 50 s at 12)
  the first time a shape is compiled: only the throughput benchmark compiles.
* **plain fp32** (the benchmark's first loop) runs at 40 TFLOP/s, 60 % of the
  H100 SXM's 67 TFLOP/s fp32 datasheet figure.
* **fixed costs**: 20 s to start Python, import torch and make the CUDA context;
  0.3 µs per byte to sample the synthetic source on one core (an estimate: its
  numpy sampler advances the 8,192 segments of a 4M-byte chunk one symbol at a
  time, some 1 ms a symbol, then repairs a few); 0.5 s per run to build the
  model, score it and store its record; 10 ns per parameter to initialise a
  model on the CPU and move it to the GPU.
* **safety factor** 1.5 on every prediction, so a plan of 8 minutes is expected
  to take about 5 and to end within 8 even where the assumptions are this far off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from scalinglab.loop_comparison import Size, loop_steps, scalinglab_steps
from scalinglab.model import GPT
from scalinglab.profiles import ModelSize, non_embedding_params
from scalinglab.sweep.grids import flops_per_token

EVAL_BATCH = 64  # windows per forward pass in scalinglab.train.evaluate_bpb


@dataclass(frozen=True)
class TimeModel:
    """Predicted seconds on one GPU; every field is an assumption the module docstring cites."""

    name: str = "H100 SXM (assumed, not yet measured)"
    peak_flops: float = 989e12           # dense bf16, NVIDIA H100 SXM datasheet
    fp32_flops: float = 40e12            # 60 % of the 67 TFLOP/s fp32 datasheet figure
    startup_s: float = 20.0              # python, import torch, CUDA context
    step_floor_s: float = 1.0e-3         # eager launch overhead per optimiser step ...
    step_floor_per_layer_s: float = 0.5e-3   # ... and per transformer block
    mfu_small: float = 0.05              # at mfu_small_params and below
    mfu_small_params: float = 1e6
    mfu_large: float = 0.40              # at mfu_large_params and above
    mfu_large_params: float = 1e8
    compile_s: float = 20.0              # torch.compile of a new shape ...
    compile_per_layer_s: float = 2.5     # ... and per block
    synthetic_s_per_byte: float = 0.3e-6
    text_load_s: float = 3.0             # reading and splitting the stdlib's files
    run_overhead_s: float = 0.5          # build, score and store one run
    build_s_per_param: float = 1e-8      # initialise on the CPU, copy to the GPU
    safety: float = 1.5

    def mfu(self, n_params: float) -> float:
        """Assumed model FLOPs utilisation of a model with ``n_params`` parameters."""
        lo, hi = math.log(self.mfu_small_params), math.log(self.mfu_large_params)
        x = min(1.0, max(0.0, (math.log(max(n_params, 1.0)) - lo) / (hi - lo)))
        return math.exp(math.log(self.mfu_small) + x * math.log(self.mfu_large / self.mfu_small))

    def step_floor(self, n_layer: int) -> float:
        return self.step_floor_s + self.step_floor_per_layer_s * n_layer

    def step_seconds(self, size: ModelSize, seq_len: int, batch_size: int,
                     vocab_size: int) -> float:
        """One eager bf16 training step: the launch floor or the maths, whichever is longer."""
        flops = batch_size * seq_len * training_flops_per_token(size, seq_len, vocab_size)
        compute = flops / (self.mfu(non_embedding_params(size)) * self.peak_flops)
        return max(self.step_floor(size.n_layer), compute)

    def train_seconds(self, size: ModelSize, seq_len: int, batch_size: int, vocab_size: int,
                      tokens: int, evaluations: int, eval_tokens: int) -> float:
        """A whole run without the safety factor: its steps, its evaluations and its overhead.

        An evaluation is a forward pass (a third of a step's work, and half its
        launches) over ``eval_tokens`` in batches of 64 windows.
        """
        steps = math.ceil(tokens / (batch_size * seq_len))
        step = self.step_seconds(size, seq_len, batch_size, vocab_size)
        chunks = math.ceil(max(1, eval_tokens // seq_len) / EVAL_BATCH)
        forward = max(self.step_floor(size.n_layer) / 2,
                      self.step_seconds(size, seq_len, EVAL_BATCH, vocab_size) / 3)
        return steps * step + evaluations * chunks * forward + self.run_overhead_s

    def compile_seconds(self, n_layer: int) -> float:
        return self.compile_s + self.compile_per_layer_s * n_layer

    def sample_seconds(self, n_bytes: int) -> float:
        return n_bytes * self.synthetic_s_per_byte

    def benchmark_steps(self, size: Size, seconds_per_loop: float) -> int:
        """Optimiser steps of one size of the loop comparison, all loops and the probe."""
        steps, warmup = loop_steps(size.batch_size * size.seq_len / self._fp32_step(size),
                                   size, seconds_per_loop)
        return 4 + 2 * (steps + warmup) + scalinglab_steps(steps, warmup)

    def benchmark_seconds(self, size: Size, seconds_per_loop: float) -> float:
        """One size of the loop comparison: an fp32 probe, plain fp32, plain bf16, then the
        trainer, compiled (its steps counted at the plain bf16 rate)."""
        model = _meta_model(size)
        step_flops = size.batch_size * size.seq_len * model.flops_per_token(output_layer=True)
        fp32 = self._fp32_step(size)
        bf16 = max(self.step_floor(size.n_layer),
                   step_flops / (self.mfu(model.n_params(non_embedding=True)) * self.peak_flops))
        steps, warmup = loop_steps(size.batch_size * size.seq_len / fp32, size, seconds_per_loop)
        builds = 4 * model.n_params(non_embedding=False) * self.build_s_per_param
        return (builds + 4 * fp32 + (steps + warmup) * (fp32 + bf16)
                + self.compile_seconds(size.n_layer) + scalinglab_steps(steps, warmup) * bf16
                + self.run_overhead_s)

    def _fp32_step(self, size: Size) -> float:
        model = _meta_model(size)
        step_flops = size.batch_size * size.seq_len * model.flops_per_token(output_layer=True)
        return max(self.step_floor(size.n_layer), step_flops / self.fp32_flops)


def _meta_model(size: Size) -> GPT:
    with torch.device("meta"):
        return GPT(size.config())


def training_flops_per_token(size: ModelSize, seq_len: int, vocab_size: int) -> float:
    """6N + attention (the grids' count) + the output layer, which the GPU also computes."""
    return flops_per_token(size, seq_len) + 6.0 * vocab_size * size.d_model


H100 = TimeModel()

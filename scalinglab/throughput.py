"""Training throughput and model FLOPs utilisation (MFU), measured on this device.

Three numbers describe how fast a model trains here (chapter 5):

* **tokens per second** in steady state: a short training loop on random tokens,
  whose first steps (allocator warm-up, one-off kernel choices, compilation) are
  run but not timed;
* **FLOPs per token**, from the model: ``GPT.flops_per_token(output_layer=True)``,
  that is 6N + the attention term + the output layer (Kaplan et al., 2020, Table 1);
* **MFU**, the achieved FLOP/s (tokens/s × FLOPs per token) over a peak: the rate
  a large matmul reaches on this device (:func:`measured_matmul_peak`), or a GPU's
  dense bf16 datasheet figure where it is known (:func:`datasheet_peak`).

:func:`measure_family` times a list of models and re-measures the peak after each;
:func:`load_benchmark` reads the committed CPU benchmark table, where the repository
is present. ``benchmarks/throughput.py`` builds its comparison of training loops on
these pieces.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from scalinglab.model import GPT, GPTConfig

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' datasheets, FLOP/s; fp16 for
# GPUs without bf16. The first matching name wins, so the specific variants come first.
DATASHEET_PEAK = (
    ("H100 PCIe", 756e12), ("H100 NVL", 835e12), ("H100", 989e12), ("H200", 989e12),
    ("A100", 312e12), ("L40S", 362e12), ("L4", 121e12), ("A10", 125e12), ("T4", 65e12),
    ("V100", 125e12),
)


def _device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def datasheet_peak(device: str | torch.device, name: str | None = None) -> float | None:
    """The datasheet dense bf16 peak of a GPU in FLOP/s; ``None`` for a CPU or an unknown GPU.

    ``name`` (e.g. ``"NVIDIA H100 80GB HBM3"``) looks a GPU up without having one.
    """
    if name is None:
        device = _device(device)
        if device.type != "cuda":
            return None
        name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in DATASHEET_PEAK if key in name), None)


def measured_matmul_peak(device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                         n: int | None = None, reps: int | None = None,
                         best_of: int = 1) -> float:
    """FLOP/s of an ``n``×``n`` matmul in ``dtype`` (2n³ FLOPs each), the best of ``best_of``.

    Defaults: n = 8192 and 30 repetitions on a GPU, n = 1024 and 10 on a CPU. Taking
    the best of a few measurements makes the peak robust to a moment of competing load.
    """
    device = _device(device)
    n = n or (8192 if device.type == "cuda" else 1024)
    reps = reps or (30 if device.type == "cuda" else 10)
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(max(1, best_of)):
        _sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            a @ b
        _sync(device)
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - start))
    return best


@dataclass(frozen=True)
class Throughput:
    """One throughput measurement; ``achieved_flops`` = tokens/s × FLOPs per token."""

    n_params: int                 # non-embedding N (Kaplan's convention)
    n_params_total: int
    flops_per_token: float        # 6N + attention + output layer, training
    tokens_per_s: float           # steady state, warm-up steps not timed
    steps: int                    # timed steps
    warmup_steps: int
    seconds: float                # time of the timed steps
    batch_size: int
    seq_len: int
    device: str
    precision: str

    @property
    def achieved_flops(self) -> float:
        return self.tokens_per_s * self.flops_per_token

    def mfu(self, peak_flops: float) -> float:
        """Model FLOPs utilisation: the fraction of ``peak_flops`` spent on the model's maths."""
        if peak_flops <= 0:
            raise ValueError(f"peak_flops must be positive, got {peak_flops}")
        return self.achieved_flops / peak_flops

    def as_dict(self) -> dict:
        return {**asdict(self), "achieved_flops": self.achieved_flops}


def measure_throughput(config: GPTConfig, *, batch_size: int = 16, seconds: float = 2.0,
                       warmup_steps: int = 3, min_steps: int = 3,
                       device: str | torch.device = "cpu", precision: str = "fp32",
                       num_threads: int | None = None, seed: int = 0) -> Throughput:
    """Train a fresh ``GPT(config)`` on random tokens for about ``seconds``; time its steps.

    Each step is a plain training step (forward, cross-entropy, backward, AdamW,
    zero_grad) on a batch of ``batch_size`` windows of ``config.seq_len`` tokens.
    The first ``warmup_steps`` steps are run but not timed; then steps run until
    ``seconds`` have passed (and at least ``min_steps``). ``precision`` is "fp32" or
    "bf16" (autocast). ``num_threads`` sets torch's CPU threads for the measurement.
    """
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    device = _device(device)
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = GPT(config).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        context = (torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16"
                   else contextlib.nullcontext())
        T = config.seq_len
        # A few batches drawn ahead and cycled, so that no data loading is timed.
        batches = [torch.randint(0, config.vocab_size, (batch_size, T + 1),
                                 generator=generator).to(device) for _ in range(4)]
        # On a GPU the clock is read only every few steps, so that timing adds no sync.
        check_every = 10 if device.type == "cuda" else 1

        def step(i: int) -> None:
            batch = batches[i % len(batches)]
            with context:
                _, loss = model(batch[:, :-1], batch[:, 1:])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        for i in range(warmup_steps):
            step(i)
        _sync(device)
        start = time.perf_counter()
        steps = 0
        while True:
            step(steps)
            steps += 1
            if steps >= min_steps and steps % check_every == 0:
                _sync(device)
                if time.perf_counter() - start >= seconds:
                    break
        _sync(device)
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(previous_threads)
    return Throughput(
        n_params=model.n_params(non_embedding=True),
        n_params_total=model.n_params(non_embedding=False),
        flops_per_token=model.flops_per_token(output_layer=True),
        tokens_per_s=steps * batch_size * T / elapsed,
        steps=steps, warmup_steps=warmup_steps, seconds=elapsed,
        batch_size=batch_size, seq_len=T, device=str(device), precision=precision,
    )


def best_matmul_rate(device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                     sizes: tuple[int, ...] | None = None, best_of: int = 3) -> float:
    """The best FLOP/s of square matmuls of several ``sizes``: a peak this device reaches.

    Defaults: n = 256, 512, 1024 on a CPU (a mid-size product that fits the cache can
    be the fastest), 4096 and 8192 on a GPU.
    """
    device = _device(device)
    sizes = sizes or ((4096, 8192) if device.type == "cuda" else (256, 512, 1024))
    # About 0.2 GFLOP per try on a CPU (a few milliseconds); a GPU keeps the default 30 reps.
    return max(measured_matmul_peak(device, dtype, n=n, best_of=best_of,
                                    reps=None if device.type == "cuda" else max(3, int(1e8 / n**3)))
               for n in sizes)


def measure_family(configs: list[GPTConfig], *, batch_size: int, seconds: float = 2.0,
                   device: str | torch.device = "cpu", precision: str = "fp32",
                   num_threads: int | None = None,
                   warmup_steps: int = 5) -> tuple[list[Throughput], float]:
    """Throughput of each config, and the best matmul rate measured before and after each.

    The peak is measured again after every model, and the highest rate is kept,
    so that a moment of competing load during one peak measurement does not make
    the peak too low (and the MFU too high). Returns ``(results, peak_flops)``.
    """
    device = _device(device)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        peak = best_matmul_rate(device, dtype)
        results = []
        for config in configs:
            results.append(measure_throughput(config, batch_size=batch_size, seconds=seconds,
                                              warmup_steps=warmup_steps, device=device,
                                              precision=precision))
            peak = max(peak, best_matmul_rate(device, dtype, best_of=1))
    finally:
        torch.set_num_threads(previous_threads)
    return results, peak


BENCHMARK_CPU = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / \
    "throughput_cpu.json"


def load_benchmark(path: str | os.PathLike | None = None) -> dict | None:
    """The committed table of ``benchmarks/throughput.py --save``, or ``None`` if absent.

    The table ships with the repository, not with the installed package (in Colab it is
    not there). Each row gains ``n_params_non_embedding``, ``seq_len`` and
    ``batch_size``, read from its size name (``d64-L3``) and batch (``16x64``).
    """
    path = Path(path) if path is not None else BENCHMARK_CPU
    if not path.is_file():
        return None
    table = json.loads(path.read_text())
    for row in table["rows"]:
        width, depth = (int(part[1:]) for part in row["size"].split("-"))
        batch_size, seq_len = (int(part) for part in row["batch"].split("x"))
        row["n_params_non_embedding"] = depth * (12 * width**2 + 13 * width) + 2 * width
        row["seq_len"], row["batch_size"] = seq_len, batch_size
    return table

"""Three ways to train one model, timed side by side: the rows of ``benchmarks/throughput.py``.

* **plain fp32** — the loop a reader writes first: AdamW with its defaults, fp32,
  ``loss.item()`` logged every step;
* **plain bf16** — the same loop inside ``torch.autocast(dtype=torch.bfloat16)``,
  without fused kernels or compilation;
* **scalinglab** — :func:`scalinglab.train.train_model`: bf16 autocast (fp16 +
  GradScaler where bf16 is missing), TF32 matmuls, fused AdamW, ``torch.compile``,
  no host sync per step, plus the work a real run does (clipping, schedule).

Each row holds tokens per second in steady state (the first steps, which hold
compilation and warm-up, are not timed) and the MFU against two peaks: the
GPU's datasheet dense bf16 figure and the rate a large matmul reaches here (on a
CPU, which has no datasheet figure, each loop is held to the matmul rate of its
own precision). Targets on an H100 at ~124M parameters: ≥ 1.3× the plain bf16
loop and ≥ 55 % MFU against 989 TFLOP/s.

:func:`compare_loops` calls back after each size, so a caller with a time limit
(the gpu reference, :mod:`scalinglab.gpu_reference`) keeps every finished size.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from scalinglab._io import write_atomic
from scalinglab.data import get_batch
from scalinglab.model import GPT, GPTConfig
from scalinglab.provenance import provenance
from scalinglab.throughput import datasheet_peak, measured_matmul_peak
from scalinglab.train import TrainConfig, train_model

MIN_STEPS = 10  # timed steps per loop, however slow the plain fp32 loop is


@dataclass(frozen=True)
class Size:
    """A model and the batch it is timed with."""

    name: str
    d_model: int
    n_layer: int
    n_head: int
    seq_len: int
    vocab_size: int
    batch_size: int

    def config(self) -> GPTConfig:
        return GPTConfig(vocab_size=self.vocab_size, seq_len=self.seq_len, n_layer=self.n_layer,
                         n_head=self.n_head, d_model=self.d_model)


GPU_SIZES = (
    Size("10M", 384, 6, 6, 256, 256, 64),
    # GPT-2 small: 124M parameters with its 50,257-token vocabulary padded to 50,304.
    Size("124M", 768, 12, 12, 1024, 50304, 32),
)
CPU_SIZES = (
    Size("d64-L3", 64, 3, 4, 64, 256, 16),
    Size("d128-L4", 128, 4, 4, 128, 256, 16),
)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop(size: Size, tokens: np.ndarray, device: torch.device, steps: int, warmup: int,
               bf16: bool) -> float:
    """The loop a reader writes first; returns steady-state tokens per second."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = GPT(size.config()).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
    context = (torch.autocast(device.type, dtype=torch.bfloat16) if bf16
               else contextlib.nullcontext())
    losses = []
    start = time.perf_counter()
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            start = time.perf_counter()
        x, y = get_batch(tokens, size.batch_size, size.seq_len, rng)
        x, y = x.to(device), y.to(device)
        with context:
            _, loss = model(x, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    _sync(device)
    return steps * size.batch_size * size.seq_len / (time.perf_counter() - start)


def scalinglab_loop(size: Size, tokens: np.ndarray, device: torch.device, steps: int,
                    warmup: int, compile: bool | None = None) -> tuple[float, str, bool]:
    """scalinglab's trainer (compiled on CUDA unless ``compile=False``); its record times
    the steps after the first fifth."""
    corpus = SimpleNamespace(name="random tokens", train=tokens, val=tokens[: 4 * size.seq_len],
                             vocab_size=size.vocab_size, entropy_floor_bpb=None)
    optim = TrainConfig(tokens=scalinglab_steps(steps, warmup) * size.batch_size * size.seq_len,
                        batch_size=size.batch_size, lr=3e-4, eval_tokens=size.seq_len)
    compile = device.type == "cuda" if compile is None else compile
    _, record = train_model(size.config(), corpus, optim, device=device, compile=compile,
                            progress=False)
    return record["tokens_per_s_steady"], record["precision"], record["compiled"]


def scalinglab_steps(steps: int, warmup: int) -> int:
    """All the trainer's steps: it leaves the first fifth untimed, so at least 5 × warmup."""
    return max(5 * warmup, warmup + steps)


def loop_steps(fp32_tokens_per_s: float, size: Size, seconds: float) -> tuple[int, int]:
    """(timed steps, warm-up steps) that take about ``seconds`` in the plain fp32 loop."""
    steps = int(seconds * fp32_tokens_per_s / (size.batch_size * size.seq_len))
    steps = max(MIN_STEPS, steps)
    return steps, max(2, steps // 5)


def measure_size(size: Size, device: torch.device, seconds: float, peaks: dict) -> list[dict]:
    """The three rows of one size: each loop for the same steps, about ``seconds`` in fp32."""
    with torch.device("meta"):
        model = GPT(size.config())
    n_params = model.n_params(non_embedding=False)
    flops = model.flops_per_token(output_layer=True)
    tokens = np.random.default_rng(0).integers(0, size.vocab_size, 2_000_000, dtype=np.int64)
    # Plain loops run with PyTorch's defaults (no TF32); the trainer turns TF32 on.
    torch.set_float32_matmul_precision("highest")
    probe = plain_loop(size, tokens, device, steps=3, warmup=1, bf16=False)
    steps, warmup = loop_steps(probe, size, seconds)
    fp32 = plain_loop(size, tokens, device, steps, warmup, bf16=False)
    bf16 = plain_loop(size, tokens, device, steps, warmup, bf16=True)
    failed = ""
    try:
        ours, precision, compiled = scalinglab_loop(size, tokens, device, steps, warmup)
    except Exception as err:  # torch.compile needs a working Triton and C compiler
        if device.type != "cuda":
            raise
        failed = f", compile failed ({type(err).__name__}: {' '.join(str(err).split())[:80]})"
        ours, precision, compiled = scalinglab_loop(size, tokens, device, steps, warmup,
                                                    compile=False)
    ours_how = (f"{precision}, " + ("fused AdamW, TF32" if device.type == "cuda"
                                     else "foreach AdamW") + (", compiled" if compiled else "")
                + failed)
    sheet = peaks["datasheet_peak"]
    rows = []
    for loop, rate, how, measured in (
        ("plain fp32", fp32, "fp32", peaks["measured_peak_fp32"]),
        ("plain bf16", bf16, "bf16 autocast", peaks["measured_peak_bf16"]),
        ("scalinglab", ours, ours_how, peaks["measured_peak_bf16"] if precision != "fp32"
         else peaks["measured_peak_fp32"]),
    ):
        rows.append({
            "size": size.name, "n_params": n_params, "loop": loop, "setup": how,
            "batch": f"{size.batch_size}x{size.seq_len}", "tokens_per_s": rate,
            "vs_plain_fp32": rate / fp32, "vs_plain_bf16": rate / bf16,
            "mfu_datasheet": rate * flops / sheet if sheet else None,
            "mfu_measured": rate * flops / measured,
        })
    return rows


def measure_peaks(device: torch.device, n: int | None = None) -> dict:
    """The datasheet peak and the measured ``n``×``n`` matmul peaks the MFU columns divide by.

    A GPU's utilisation is quoted against its bf16 peak whatever the loop's
    precision; a CPU has no datasheet figure here, so each loop is held to the
    matmul peak of its own precision (fp32 or bf16). ``n`` defaults to 8192 on a
    GPU and 1024 on a CPU (where bf16 can be emulated and slow: keep it small in tests).
    """
    n = n or (8192 if device.type == "cuda" else 1024)
    peak_bf16 = measured_matmul_peak(device, torch.bfloat16, n=n)
    peak_fp32 = peak_bf16 if device.type == "cuda" else measured_matmul_peak(device,
                                                                             torch.float32, n=n)
    return {"datasheet_peak": datasheet_peak(device), "measured_peak_bf16": peak_bf16,
            "measured_peak_fp32": peak_fp32, "matmul_n": n}


def new_table(device: torch.device, seconds: float, matmul_n: int | None = None) -> dict:
    """A comparison with no rows yet: the peaks its MFU columns divide by, the machine's
    load, the seconds per loop and the provenance."""
    return {"rows": [], **measure_peaks(device, matmul_n), "load_average": os.getloadavg()[0],
            "seconds_per_loop": seconds, **provenance(device)}


def compare_loops(sizes: tuple[Size, ...], device: torch.device, seconds: float,
                  on_size: Callable[[dict], None] | None = None) -> dict:
    """Time the three loops for every size; the table as a dict of rows, peaks and provenance.

    ``on_size(table)`` is called after each size with the rows so far, so a run
    cut off by a time limit keeps every size it finished.
    """
    table = new_table(device, seconds)
    for size in sizes:
        table["rows"] += measure_size(size, device, seconds, table)
        if on_size is not None:
            on_size(table)
    return table


def format_table(table: dict) -> str:
    """The Markdown table of :func:`compare_loops`' rows, with the peaks and the targets."""
    cpu = table["device"].startswith("cpu")
    sheet = table["datasheet_peak"]
    n = table["matmul_n"]
    threads = f", {torch.get_num_threads()} thread(s)" if cpu else ""
    lines = [
        f"# Training throughput on {table['device']}",
        "",
        f"torch {table['torch']}, commit {table['commit']}, {table['date']}{threads}; "
        f"load average {table['load_average']:.2f} on {os.cpu_count()} cores when it started.",
        f"Peaks: datasheet {'%.0f TFLOP/s' % (sheet / 1e12) if sheet else 'n/a'}; measured "
        f"{n}x{n} matmul: bf16 {table['measured_peak_bf16'] / 1e12:.3g} TFLOP/s"
        + (f", fp32 {table['measured_peak_fp32'] / 1e12:.3g} TFLOP/s (each loop against its "
           "own precision's)" if cpu else "")
        + ". MFU counts 6N + attention + output layer per token; steady state (first fifth "
        "of the steps not timed).",
        "",
        "| size | params | loop | setup | batch | tokens/s | × plain fp32 | × plain bf16 "
        "| MFU (datasheet) | MFU (measured peak) |",
        "| --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = table["rows"]
    for r in rows:
        mfu_sheet = f"{100 * r['mfu_datasheet']:.1f} %" if r["mfu_datasheet"] else "n/a"
        lines.append(
            f"| {r['size']} | {r['n_params'] / 1e6:.2f}M | {r['loop']} | {r['setup']} | "
            f"{r['batch']} | {r['tokens_per_s']:,.0f} | {r['vs_plain_fp32']:.2f} | "
            f"{r['vs_plain_bf16']:.2f} | {mfu_sheet} | {100 * r['mfu_measured']:.1f} % |")
    if not cpu:
        big = [r for r in rows if r["size"] == "124M" and r["loop"] == "scalinglab"]
        if big and big[0]["mfu_datasheet"] is not None:
            r = big[0]
            ok = r["vs_plain_bf16"] >= 1.3 and r["mfu_datasheet"] >= 0.55
            lines += ["", f"Targets at 124M (≥ 1.3× plain bf16, ≥ 55 % MFU): "
                          f"{r['vs_plain_bf16']:.2f}×, {100 * r['mfu_datasheet']:.1f} % — "
                          f"{'met' if ok else 'NOT met'}."]
    else:
        lines += ["", "GPU numbers are NOT measured here (no CUDA device): the bf16, fused-AdamW "
                      "and torch.compile paths, the ~10M and ~124M sizes and the H100 targets "
                      "(≥ 1.3× plain bf16, ≥ 55 % MFU) await a run on a GPU. On a CPU the "
                      "trainer runs fp32 without compile, so it matches the plain fp32 loop "
                      "rather than beating it; CPU bf16 autocast is shown for completeness."]
    return "\n".join(lines)


def save_table(table: dict, folder: str | os.PathLike, stem: str) -> tuple[Path, Path]:
    """Write ``<stem>.md`` and ``<stem>.json`` in ``folder``, each replaced whole (atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / f"{stem}.md", folder / f"{stem}.json"
    write_atomic(paths[0], (format_table(table) + "\n").encode())
    write_atomic(paths[1], (json.dumps(table, indent=1) + "\n").encode())
    return paths

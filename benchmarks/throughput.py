"""Training throughput and model FLOPs utilisation: scalinglab's trainer vs plain loops.

Three ways to train the same model on the same batches (see
:mod:`scalinglab.loop_comparison`, which holds the loops):

* **plain fp32** — the loop a reader writes first: AdamW with its defaults, fp32,
  ``loss.item()`` logged every step;
* **plain bf16** — the same loop inside ``torch.autocast(dtype=torch.bfloat16)``,
  without fused kernels or compilation;
* **scalinglab** — :func:`scalinglab.train.train_model`: bf16 autocast (fp16 +
  GradScaler where bf16 is missing), TF32 matmuls, fused AdamW, ``torch.compile``,
  no host sync per step, plus the work a real run does (clipping, schedule).

For each it prints tokens per second in steady state (the first steps, which hold
compilation and warm-up, are not timed) and the model FLOPs utilisation (MFU):
tokens/s × FLOPs per token (6N + attention + output layer) over a peak, both the
GPU's datasheet dense bf16 peak and the rate a large bf16 matmul reaches on this
device (on a CPU, which has no datasheet figure here, each loop is held to the
measured matmul rate of its own precision). Targets on an H100: at
~124M parameters (GPT-2 small's shape) ≥ 1.3× the plain bf16 loop and ≥ 55 % MFU
against 989 TFLOP/s.

    python benchmarks/throughput.py [--seconds 10] [--threads 1] [--save]

On a CPU it trains two small models for about two minutes in all and says that
the GPU numbers are not measured. On a GPU, ``python -m scalinglab reference
--profile gpu`` runs the same rows first and writes them as ``throughput_gpu``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from scalinglab.loop_comparison import CPU_SIZES, GPU_SIZES, compare_loops, format_table, save_table

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None,
                        help="time per loop and size (default: 8 on a CPU, 20 on a GPU)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (default 1: steady under other load)")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/ files")
    args = parser.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    sizes = GPU_SIZES if device.type == "cuda" else CPU_SIZES
    seconds = args.seconds or (20.0 if device.type == "cuda" else 8.0)
    table = compare_loops(sizes, device, seconds)
    print(format_table(table))
    if args.save:
        stem = "throughput_" + ("cpu" if device.type == "cpu" else
                                table["device"].replace("NVIDIA ", "").replace(" ", "-"))
        save_table(table, RESULTS, stem)
        print(f"\nwrote {RESULTS / stem}.md and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

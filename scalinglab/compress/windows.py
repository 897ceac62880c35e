"""What both ends of a transformer code agree on: the windows the model reads, and determinism.

**Windows.** The model reads at most ``seq_len`` bytes. Targets are coded in
blocks of ``stride`` positions; block [first, end) is predicted from one causal
window x[start : end − 1] with start = max(0, end − 1 − seq_len), so every
target sees at least seq_len − stride + 1 bytes of context once the text is
longer than one window (the first byte has no byte before it and is coded
without a model). ``windows`` yields the blocks lazily, so a stated length
costs nothing until it is decoded.

**Determinism.** Encoder and decoder must compute bit-identical probabilities,
so coding runs on the CPU with one thread and PyTorch's deterministic
algorithms, and an archive records the torch version that made it: kernels may
round differently between releases.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def deterministic_torch() -> Iterator[None]:
    """One CPU thread and deterministic kernels while coding; restores the settings after."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def _check_stride(seq_len: int, stride: int) -> None:
    if not 1 <= stride <= seq_len:
        raise ValueError(f"stride must be between 1 and seq_len={seq_len}, got {stride}")


def windows(n: int, seq_len: int, stride: int) -> Iterator[tuple[int, int, int, int]]:
    """Blocks (start, stop, first, end), lazily: the model reads x[start:stop] to code x[first:end].

    Row t − 1 − start of that window predicts target t. Position 0 is not in any
    block.
    """
    _check_stride(seq_len, stride)
    return _windows(n, seq_len, stride)


def _windows(n: int, seq_len: int, stride: int) -> Iterator[tuple[int, int, int, int]]:
    first = 1
    while first < n:
        end = min(first + stride, n)
        stop = end - 1
        yield max(0, stop - seq_len), stop, first, end
        first = end


def window_schedule(n: int, seq_len: int, stride: int) -> list[tuple[int, int, int, int]]:
    """Every block of :func:`windows` as a list (for reading; coders iterate lazily)."""
    return list(windows(n, seq_len, stride))


def torch_version_check(header_torch: object) -> None:
    """Refuse to decode under another torch than the encoder's."""
    if header_torch != torch.__version__:
        raise ValueError(
            f"this archive was coded with torch {header_torch}, but torch {torch.__version__} "
            "is installed; a model's floating-point results may differ between versions, so "
            f"decode it with torch {header_torch}"
        )

"""What every way of shrinking a model shares: the result type, the layers it touches, the score.

Chapter 11 puts every shrunk model on one plane: loss in bits per byte against
size in bytes. Each method returns a :class:`ShrunkModel` holding a model that
runs through the ordinary ``GPT.forward`` (so it is scored by the same
:func:`scalinglab.train.evaluate_bpb` as any trained model) and ``size_bytes``,
the bytes its stored form would really take.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn

from scalinglab.compress.transformer_model import weights_size_bytes
from scalinglab.model import GPT
from scalinglab.train import eval_windows, evaluate_bpb

FLOAT_BYTES = 4  # a parameter left in float32


def model_size_bytes(model: GPT, bytes_per_param: int = FLOAT_BYTES) -> int:
    """Every parameter (tied ones once) at ``bytes_per_param``: the unshrunk baseline.

    The same count as :func:`scalinglab.compress.transformer_model.weights_size_bytes`,
    under the name chapter 11 uses.
    """
    return weights_size_bytes(model, bytes_per_param)


@dataclass
class ShrunkModel:
    """A shrunk model, what its stored form weighs, and how it was made.

    ``model`` is a plain :class:`~scalinglab.model.GPT` (possibly with some
    layers swapped for smaller ones); ``details`` holds the method's settings and
    anything a later step needs (e.g. the pruning masks).
    """

    model: GPT
    size_bytes: int
    method: str
    details: dict[str, Any] = field(default_factory=dict)


def block_linears(model: GPT) -> Iterator[tuple[str, nn.Linear]]:
    """The Linear layers inside the transformer blocks, by name (``blocks.0.attn.qkv``, ...).

    The output layer is left out: it is the token embedding itself (tied weights),
    which each method treats as the embedding.
    """
    for name, module in model.named_modules():
        if name.startswith("blocks.") and isinstance(module, nn.Linear):
            yield name, module


def check_gpt(model: Any, who: str) -> None:
    if not isinstance(model, GPT):
        raise ValueError(f"{who} expects a scalinglab GPT, got {type(model).__name__}; "
                         "pass the model itself (e.g. the first item train_model returns)")


def val_bpb(model: nn.Module, corpus: Any, *, eval_tokens: int = 32_768,
            device: str | torch.device = "cpu") -> float:
    """Bits per byte on the corpus's validation bytes, on the same fixed windows as training.

    Shrunk models keep the ordinary forward pass, so this is
    :func:`scalinglab.train.evaluate_bpb` on :func:`scalinglab.train.eval_windows`:
    a shrunk model and its original are scored on exactly the same bytes.
    """
    device = torch.device(device)
    windows = eval_windows(corpus.val, model.config.seq_len, eval_tokens)
    return evaluate_bpb(model.to(device), windows, device)

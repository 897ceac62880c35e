"""A micro transformer trained in a second, for the compression tests that need a real model.

An untrained model spends more than 8 bits on every byte, so every chunk would
be stored and the model's own code would never be tested. This one is trained
on Python source, so it beats storing on text and loses on random bytes: a file
of both exercises the coded and the stored chunks. Other test files import
``train_micro`` from here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import scalinglab.compress.context_models as context_models
from scalinglab.compress import compress
from scalinglab.model import GPT, GPTConfig, save_checkpoint

MICRO = {"vocab_size": 256, "seq_len": 16, "n_layer": 1, "n_head": 2, "d_model": 16}
SOURCE = Path(context_models.__file__).read_bytes()  # ~12 KB of Python that ships with us


def train_micro(path: Path, text: bytes = SOURCE, steps: int = 150, **overrides) -> Path:
    """Train MICRO (with ``overrides``) on ``text`` for ``steps`` AdamW steps; save it."""
    config = GPTConfig(**{**MICRO, **overrides})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = GPT(config)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        data = torch.from_numpy(np.frombuffer(text, dtype=np.uint8).astype(np.int64))
        data = data.clamp(max=config.vocab_size - 1)
        T = config.seq_len
        for _ in range(steps):
            starts = torch.randint(0, len(data) - T - 1, (16,))
            x = torch.stack([data[s : s + T] for s in starts.tolist()])
            y = torch.stack([data[s + 1 : s + T + 1] for s in starts.tolist()])
            _, loss = model(x, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    save_checkpoint(model, path)
    return path


def test_the_micro_model_beats_storing_on_text_and_loses_on_noise(tmp_path):
    pt = train_micro(tmp_path / "micro.pt")
    text = compress(SOURCE[:4096], pt, chunk_bytes=1024)
    assert not text.stored and text.stored_chunks == 0 and text.bits_per_byte < 6
    noise = compress(np.random.default_rng(0).bytes(4096), pt, chunk_bytes=1024,
                     allow_stored=False)
    assert noise.stored_chunks == 4  # every chunk: storing beats the model

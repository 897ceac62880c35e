"""A :class:`scalinglab.model.GPT` run one position at a time for a batch, with a KV cache.

A decoder learns byte t only after it has decoded byte t − 1, so it must run
the model once per byte. Rerunning the whole window each time (what the
sequential coder does) repeats all the work on the bytes before; a key/value
cache keeps each layer's keys and values of the positions already seen, so a
step costs one position's worth of work (Pope et al., 2022, "Efficiently
scaling transformer inference"). And since a Python step's overhead is the
same for one sequence as for hundreds, the steps run for a whole batch of
independent chunks at once.

The model's positions are learned and absolute (``wpe``), so a cache is valid
only while the window's start stays put: when the window slides, the caller
starts again with :meth:`CachedGPT.prefill` of the bytes the new window keeps.

The arithmetic is the model's own layers, called in the order of
:meth:`GPT.forward` through their functional forms (fewer Python calls per
step); this file only adds the cache. Keys are cached transposed, (batch, head,
head_dim, position), so that one query's scores are a broadcast multiply and a
sum over head_dim: for a single query that beats a batched matrix product of
thousands of 1-row matrices. It lives here rather than in :mod:`scalinglab.model`
because only the compressor needs it.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from scalinglab.model import GPT


class CachedGPT:
    """Keys and values of ``batch`` windows of up to ``seq_len`` positions, layer by layer."""

    def __init__(self, model: GPT, batch: int):
        cfg = model.config
        self.model = model
        self.batch = batch
        self.d_model = cfg.d_model
        self.n_head = cfg.n_head
        self.head_dim = cfg.d_model // cfg.n_head
        self.scale = 1.0 / math.sqrt(self.head_dim)
        dtype = model.wte.weight.dtype
        self.keys = [torch.zeros(batch, cfg.n_head, self.head_dim, cfg.seq_len, dtype=dtype)
                     for _ in range(cfg.n_layer)]
        self.values = [torch.zeros(batch, cfg.n_head, cfg.seq_len, self.head_dim, dtype=dtype)
                       for _ in range(cfg.n_layer)]
        self.length = 0

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        B, T, _ = t.shape
        return t.view(B, T, self.n_head, self.head_dim).transpose(1, 2)

    @staticmethod
    def _norm(layer, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, layer.normalized_shape, layer.weight, layer.bias, layer.eps)

    @staticmethod
    def _mlp(block, x: torch.Tensor) -> torch.Tensor:
        mlp = block.mlp
        h = F.gelu(F.linear(CachedGPT._norm(block.ln_2, x), mlp.fc.weight, mlp.fc.bias))
        return F.linear(h, mlp.proj.weight, mlp.proj.bias)

    @torch.no_grad()
    def prefill(self, tokens: torch.Tensor) -> None:
        """Start a window: cache positions 0 … P − 1 of ``tokens`` (batch, P); no logits.

        The last layer's attention and MLP are skipped: their outputs at these
        positions feed no later step, only their keys and values do.
        """
        m = self.model
        B, P = tokens.shape
        self.length = P
        if P == 0:
            return
        x = m.wte(tokens) + m.wpe(torch.arange(P))
        last = len(m.blocks) - 1
        for i, block in enumerate(m.blocks):
            attn = block.attn
            qkv = F.linear(self._norm(block.ln_1, x), attn.qkv.weight, attn.qkv.bias)
            q, k, v = (self._heads(t) for t in qkv.split(self.d_model, dim=2))
            self.keys[i][:, :, :, :P] = k.transpose(-1, -2)
            self.values[i][:, :, :P] = v
            if i == last:
                break
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + F.linear(y.transpose(1, 2).reshape(B, P, -1), attn.proj.weight,
                             attn.proj.bias)
            x = x + self._mlp(block, x)

    @torch.no_grad()
    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Append one position (``tokens`` of shape (batch,)); its logits, (batch, vocab)."""
        m = self.model
        pos = self.length
        if pos >= m.config.seq_len:
            raise ValueError(f"the window is full ({pos} positions); prefill a new one")
        B, H, D = tokens.shape[0], self.n_head, self.head_dim
        x = F.embedding(tokens, m.wte.weight) + m.wpe.weight[pos]  # (batch, d_model)
        for i, block in enumerate(m.blocks):
            attn = block.attn
            qkv = F.linear(self._norm(block.ln_1, x), attn.qkv.weight, attn.qkv.bias)
            q, k, v = (t.view(B, H, D) for t in qkv.split(self.d_model, dim=1))
            keys, values = self.keys[i], self.values[i]
            keys[:, :, :, pos] = k
            values[:, :, pos] = v
            # One query attends to every cached position: no mask needed.
            scores = (keys[:, :, :, : pos + 1] * q[..., None]).sum(dim=2) * self.scale
            weights = torch.softmax(scores, dim=-1)
            y = (weights[..., None] * values[:, :, : pos + 1]).sum(dim=2)
            x = x + F.linear(y.reshape(B, -1), attn.proj.weight, attn.proj.bias)
            x = x + self._mlp(block, x)
        self.length = pos + 1
        return F.linear(self._norm(m.ln_f, x), m.lm_head.weight)

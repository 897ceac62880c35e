"""A decoder-only transformer, small enough to read in one sitting.

The model is the GPT-2 shape (Radford et al., 2019) in the pre-LayerNorm form
(Xiong et al., 2020): each block normalises its input, adds causal
self-attention (Vaswani et al., 2017) and then a GELU MLP (Hendrycks & Gimpel,
2016) back into the residual stream. The output layer shares its weights with
the token embedding (Press & Wolf, 2017), so a byte's vector is used both to
read it and to predict it.

The model also knows its own cost, in the two conventions the book uses
(chapter 5):

* ``n_params(non_embedding=True)`` is Kaplan et al. (2020)'s N: every parameter
  except the token and position embeddings. Their scaling laws are cleanest in
  this N, because an embedding table is a lookup, not computation.
* ``n_params(non_embedding=False)`` is the total the optimiser updates (the tied
  output layer counted once), which is what a checkpoint weighs.
* ``flops_per_token()`` is the training cost of one token, 6N plus the
  attention term (Kaplan et al., 2020, Table 1), so that compute C = D ·
  flops_per_token() ≈ 6·N·D.

Everything here runs on a CPU; on a GPU the attention goes to a fused kernel
through ``torch.nn.functional.scaled_dot_product_attention``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
from torch.nn import functional as F

from scalinglab._io import atomic_file

CHECKPOINT_FORMAT = "scalinglab-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass
class GPTConfig:
    """The shape of a model. ``vocab_size`` comes from the corpus (256 for bytes)."""

    vocab_size: int = 256
    seq_len: int = 64
    n_layer: int = 2
    n_head: int = 2
    d_model: int = 32
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self) -> None:
        for field in ("vocab_size", "seq_len", "n_layer", "n_head", "d_model"):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"GPTConfig.{field} must be a positive integer, got {value!r}")
        if self.d_model % self.n_head:
            raise ValueError(
                f"d_model={self.d_model} is not divisible by n_head={self.n_head}; "
                "choose n_head that divides d_model"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class CausalSelfAttention(nn.Module):
    """Multi-head attention in which position t sees only positions ≤ t."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.dropout = config.dropout
        # One matrix makes queries, keys and values together: one matmul instead of three.
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=config.bias)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        # (B, T, C) -> (B, heads, T, head_dim): each head attends on its own slice.
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0
        )
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.proj(y))


class MLP(nn.Module):
    """The position-wise feed-forward layer, four times as wide as the stream."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model, bias=config.bias)
        self.proj = nn.Linear(4 * config.d_model, config.d_model, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-LN block: x + attn(LN(x)), then + mlp(LN(x)).

    Normalising before each sub-layer keeps the residual stream an identity path,
    which lets these models train without a long warmup (Xiong et al., 2020).
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Token + position embeddings, ``n_layer`` blocks, a final LayerNorm, a tied head."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.seq_len, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.d_model, bias=config.bias)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        # Weight tying (Press & Wolf, 2017): the head reads out in the embedding's own basis.
        self.lm_head.weight = self.wte.weight
        self._init_weights()

    def _init_weights(self) -> None:
        """Normal weights of std sqrt(2 / (5·d_model)), zero biases.

        GPT-2's fixed std of 0.02 suits d_model ≈ 768 but is far too small for the
        book's 16-wide models, whose attention then starts uniform and stalls on a
        plateau for a seed-dependent time. The width-aware std (Nguyen & Salazar,
        2019) is 0.023 at d_model = 768 and 0.16 at 16.
        """
        std = math.sqrt(2.0 / (5.0 * self.config.d_model))
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() >= 2:
                # Each block adds two projections into the residual stream; shrinking them
                # by 1/sqrt(2·n_layer) keeps the stream's variance independent of depth at
                # initialisation (Radford et al., 2019).
                residual = name.endswith("proj.weight")
                scale = 1 / math.sqrt(2 * self.config.n_layer) if residual else 1.0
                nn.init.normal_(p, mean=0.0, std=std * scale)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, T, vocab) at every position; loss = mean cross-entropy in nats.

        Every position's logits are returned (not just the last), because a
        compressor needs the model's probability for every byte it codes.
        """
        B, T = idx.shape
        if T > self.config.seq_len:
            raise ValueError(
                f"sequence of length {T} is longer than the model's seq_len="
                f"{self.config.seq_len}; cut it into windows of at most {self.config.seq_len}"
            )
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            # Under autocast, cross_entropy computes in fp32 whatever the logits' dtype.
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    # -- what the model costs -------------------------------------------------------------

    def n_params(self, non_embedding: bool = True) -> int:
        """Parameter count: Kaplan's non-embedding N by default, else the total.

        ``parameters()`` yields a shared tensor once, so the tied head is not
        counted twice. The non-embedding count drops the token and position
        tables (Kaplan et al., 2020, section 2.1); for these weight-tied models
        that also drops the output layer, which is the same matrix.
        """
        total = sum(p.numel() for p in self.parameters())
        if non_embedding:
            total -= self.wte.weight.numel() + self.wpe.weight.numel()
        return total

    def n_params_by_group(self) -> dict[str, int]:
        """Parameters by group, so "which N?" is a choice the reader can see.

        Token and position embeddings, the blocks' weights and biases, their
        LayerNorms, the final LayerNorm, and the total (the tied output layer is the
        token table, counted once). Kaplan's non-embedding N is the total less the
        two tables. The groups are checked to add up to ``n_params(False)``.
        """
        block_norms = sum(p.numel() for block in self.blocks for name, p in
                          block.named_parameters() if name.startswith("ln"))
        blocks = sum(p.numel() for p in self.blocks.parameters())
        groups = {
            "token embedding": self.wte.weight.numel(),
            "position embedding": self.wpe.weight.numel(),
            "blocks (weights, biases)": blocks - block_norms,
            "block LayerNorms": block_norms,
            "final LayerNorm": sum(p.numel() for p in self.ln_f.parameters()),
        }
        groups["total"] = sum(groups.values())
        if groups["total"] != self.n_params(non_embedding=False):
            raise RuntimeError(f"parameter groups {groups} do not add up to the model's "
                               f"{self.n_params(non_embedding=False):,}; a module is missing")
        return groups

    def flops_per_token(self, output_layer: bool = False) -> float:
        """Training FLOPs per token: 6·N + 6·n_layer·seq_len·d_model.

        A forward pass costs about 2 FLOPs per parameter per token (one multiply,
        one add), and the backward pass twice that, hence 6·N (Kaplan et al.,
        2020, Table 1). Attention adds work that no parameter accounts for:
        scores q·k and the weighted sum of values, 2·n_layer·n_ctx·d_model forward
        in Kaplan's count, where the causal mask halves the full 4·n_layer·n_ctx·d
        (a token attends to n_ctx/2 earlier ones on average), times 3 for training.
        Like Kaplan, the count leaves out the embedding lookup and the output
        layer (vocab·d_model each way), small next to N once models grow.
        ``output_layer=True`` adds the output layer's 6·vocab·d_model, which is
        real work on the hardware and belongs in a utilisation (MFU) figure when
        the vocabulary is large (GPT-2's 50,257 tokens).
        """
        c = self.config
        flops = 6.0 * self.n_params(non_embedding=True) + 6.0 * c.n_layer * c.seq_len * c.d_model
        return flops + (6.0 * c.vocab_size * c.d_model if output_layer else 0.0)

    def mfu(self, tokens_per_s: float, peak_flops: float) -> float:
        """Model FLOPs utilisation: the fraction of ``peak_flops`` spent on the model's maths
        (output layer included; Chowdhery et al., 2022, appendix B)."""
        return tokens_per_s * self.flops_per_token(output_layer=True) / peak_flops

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample ``max_new_tokens`` tokens after the prompt ``idx`` (B, T)."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        for _ in range(max_new_tokens):
            context = idx[:, -self.config.seq_len :]
            logits = self(context)[0][:, -1, :] / temperature
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = F.softmax(logits.float(), dim=-1)
            idx = torch.cat([idx, torch.multinomial(probs, 1, generator=generator)], dim=1)
        return idx


# -- checkpoints --------------------------------------------------------------------------


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model behind ``torch.compile`` or DistributedDataParallel wrappers."""
    while True:
        inner = getattr(model, "_orig_mod", None) or getattr(model, "module", None)
        if inner is None:
            return model
        model = inner


def weights_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(model: nn.Module, path: str | os.PathLike, **extra) -> str:
    """Write the model's config, weights and their hash to ``path``; returns the hash.

    The file is written to a temporary name in the same folder, fsynced and then
    renamed, so a crash never leaves a half-written checkpoint under ``path``.
    ``extra`` (e.g. ``corpus=``, ``record=``) is stored alongside.
    """
    model = unwrap(model)
    if not isinstance(model, GPT):
        raise ValueError(f"save_checkpoint expects a scalinglab GPT, got {type(model).__name__}")
    state_dict = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    sha = weights_sha256(state_dict)
    reserved = {"format", "version", "model_config", "state_dict", "weights_sha256"}
    if clash := reserved & extra.keys():
        raise ValueError(f"checkpoint keys {sorted(clash)} are reserved; rename those extras")
    try:  # plain JSON data only, so that torch.load(weights_only=True) can read it back
        extra = json.loads(json.dumps(extra))
    except (TypeError, ValueError) as err:
        raise ValueError(f"checkpoint extras must be JSON data (numbers, strings, lists, "
                         f"dicts): {err}") from err
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_config": asdict(model.config),
        "state_dict": state_dict,
        "weights_sha256": sha,
        **extra,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as f:  # the user's umask, not mkstemp's 0600
        torch.save(checkpoint, f)
    return sha


def load_checkpoint(path: str | os.PathLike, map_location: str = "cpu") -> tuple[GPT, dict]:
    """Rebuild a model from a checkpoint, refusing one whose weights do not match its hash.

    Returns the model (in eval mode) and the checkpoint's other entries.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"no checkpoint at {path}; train one with `python -m scalinglab train --save`"
        )
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # a truncated or foreign file: say which
        raise ValueError(f"{path} is not a readable scalinglab checkpoint ({err})") from err
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a scalinglab checkpoint (no format tag)")
    if checkpoint.get("version") != CHECKPOINT_VERSION:
        raise ValueError(
            f"{path} has checkpoint version {checkpoint.get('version')}, this scalinglab "
            f"reads version {CHECKPOINT_VERSION}; re-save it with a matching scalinglab"
        )
    state_dict = checkpoint.pop("state_dict")
    sha = weights_sha256(state_dict)
    if sha != checkpoint["weights_sha256"]:
        raise ValueError(
            f"{path}: weights hash {sha[:12]}… does not match the stored "
            f"{checkpoint['weights_sha256'][:12]}…; the file is corrupted, re-create it"
        )
    model = GPT(GPTConfig(**checkpoint["model_config"]))
    model.load_state_dict(state_dict)
    model.eval()
    return model, checkpoint

"""Magnitude pruning: remove the weights, or the whole units, that matter least by size.

*Unstructured* pruning (Han et al., 2015) zeroes the individual weights of
smallest magnitude, either the smallest fraction of each layer
(``scope="layer"``) or of all block weights pooled together (``scope="global"``,
which lets some layers keep more than others). Exactly ``round(sparsity·n)``
weights go, ties broken by position, so the achieved sparsity is the target to
within one weight. A sparse matrix only saves bytes if it is stored sparsely;
``size_bytes`` counts a bitmask format: one bit per weight saying whether it is
kept, plus the kept values in float32 (below about 3 % density a list of
indices would be smaller; we do not go there).

*Structured* pruning removes whole MLP hidden units: the unit's row of
``mlp.fc`` and its column of ``mlp.proj``, ranked by the product of their norms
(the size of what the unit can add to the residual stream; norm-ranked
structured pruning as in Li et al., 2017). The MLP layers are replaced by
genuinely narrower ``nn.Linear`` layers, so the pruned model is smaller in
memory and in FLOPs, not merely full of zeros. Attention heads are pruned by
zeroing (``prune_heads``): this GPT's attention splits ``d_model`` evenly into
heads, so a head cannot be cut out without changing the model class; its
query, key and value rows and its output-projection columns are zeroed, and
``size_bytes`` counts only the structure that remains.

A pruned model usually recovers much of its loss with a little more training
with the pruned weights held at zero: :func:`fine_tune_pruned`.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn as nn

from scalinglab.model import GPT
from scalinglab.shrink.common import FLOAT_BYTES, ShrunkModel, block_linears, check_gpt

SCOPES = ("layer", "global")


def _check_fraction(value: float, name: str) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1) (the fraction removed), got {value!r}")


def _smallest_mask(magnitudes: torch.Tensor, n_remove: int) -> torch.Tensor:
    """A keep-mask (True = kept) that drops exactly the ``n_remove`` smallest entries."""
    keep = torch.ones(magnitudes.numel(), dtype=torch.bool)
    if n_remove:
        order = torch.argsort(magnitudes.reshape(-1), stable=True)
        keep[order[:n_remove]] = False
    return keep.view_as(magnitudes)


def sparse_size_bytes(mask: torch.Tensor) -> int:
    """Bytes for a matrix stored as a bitmask plus its kept values in float32."""
    return math.ceil(mask.numel() / 8) + int(mask.sum()) * FLOAT_BYTES


def magnitude_masks(model: GPT, sparsity: float, scope: str = "layer") -> dict[str, torch.Tensor]:
    """Keep-masks for each block Linear weight, removing the smallest-magnitude ``sparsity``."""
    check_gpt(model, "magnitude_masks")
    _check_fraction(sparsity, "sparsity")
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; choose 'layer' or 'global'")
    weights = {f"{name}.weight": layer.weight.detach().abs()
               for name, layer in block_linears(model)}
    if scope == "layer":
        return {name: _smallest_mask(w, round(sparsity * w.numel())) for name, w in weights.items()}
    pooled = torch.cat([w.reshape(-1) for w in weights.values()])
    keep = _smallest_mask(pooled, round(sparsity * pooled.numel()))
    masks, start = {}, 0
    for name, w in weights.items():
        masks[name] = keep[start:start + w.numel()].view_as(w)
        start += w.numel()
    return masks


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Zero, in place, every weight whose mask entry is False."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, mask in masks.items():
            params[name].mul_(mask.to(params[name].device, params[name].dtype))


def _pruned_size_bytes(model: GPT, masks: dict[str, torch.Tensor]) -> int:
    params = dict(model.named_parameters())
    dense = sum(p.numel() for name, p in params.items() if name not in masks)
    return dense * FLOAT_BYTES + sum(sparse_size_bytes(m) for m in masks.values())


def prune_magnitude(model: GPT, sparsity: float, scope: str = "layer") -> ShrunkModel:
    """A copy of ``model`` with the smallest ``sparsity`` of its block weights set to zero.

    Embeddings, biases and LayerNorms are kept dense. ``details["masks"]`` holds
    the keep-masks, for :func:`fine_tune_pruned`.
    """
    masks = magnitude_masks(model, sparsity, scope)
    shrunk = copy.deepcopy(model)
    apply_masks(shrunk, masks)
    return ShrunkModel(model=shrunk, size_bytes=_pruned_size_bytes(shrunk, masks),
                       method=f"prune-{scope}", details={"sparsity": sparsity, "scope": scope,
                                                         "masks": masks})


def sparsity_of(model: nn.Module, masks: dict[str, torch.Tensor]) -> dict[str, float]:
    """The fraction of exact zeros in each masked weight (what the pruning achieved)."""
    params = dict(model.named_parameters())
    return {name: float((params[name] == 0).float().mean()) for name in masks}


# -- structured ---------------------------------------------------------------------------


def mlp_unit_scores(block: nn.Module) -> torch.Tensor:
    """Each MLP hidden unit's weight: ||its fc row|| · ||its proj column||."""
    fc, proj = block.mlp.fc.weight.detach(), block.mlp.proj.weight.detach()
    return fc.norm(dim=1) * proj.norm(dim=0)


def prune_mlp_units(model: GPT, fraction: float) -> ShrunkModel:
    """A genuinely narrower copy of ``model``: each block loses ``round(fraction·width)`` units.

    The kept units' weights are copied unchanged, so the result computes exactly
    what the original computes with the removed units zeroed.
    ``details["kept_units"]`` lists, per block, the original indices kept.
    """
    check_gpt(model, "prune_mlp_units")
    _check_fraction(fraction, "fraction")
    shrunk = copy.deepcopy(model)
    kept_units = []
    for block in shrunk.blocks:
        fc, proj = block.mlp.fc, block.mlp.proj
        width = fc.out_features
        n_keep = width - round(fraction * width)
        keep = torch.topk(mlp_unit_scores(block), n_keep).indices.sort().values
        new_fc = nn.Linear(fc.in_features, n_keep, bias=fc.bias is not None)
        new_proj = nn.Linear(n_keep, proj.out_features, bias=proj.bias is not None)
        with torch.no_grad():
            new_fc.weight.copy_(fc.weight[keep])
            new_proj.weight.copy_(proj.weight[:, keep])
            if fc.bias is not None:
                new_fc.bias.copy_(fc.bias[keep])
            if proj.bias is not None:
                new_proj.bias.copy_(proj.bias)
        block.mlp.fc, block.mlp.proj = new_fc.to(fc.weight.device), new_proj.to(fc.weight.device)
        kept_units.append(keep.tolist())
    size_bytes = sum(p.numel() for p in shrunk.parameters()) * FLOAT_BYTES
    return ShrunkModel(model=shrunk, size_bytes=size_bytes, method="prune-mlp-units",
                       details={"fraction": fraction, "kept_units": kept_units})


def head_scores(block: nn.Module, n_head: int) -> torch.Tensor:
    """Each head's weight: the norm of its value rows times the norm of its output columns."""
    qkv, proj = block.attn.qkv.weight.detach(), block.attn.proj.weight.detach()
    d = proj.shape[0]
    value = qkv[2 * d:].reshape(n_head, d // n_head, -1)
    out = proj.reshape(d, n_head, d // n_head)
    return value.flatten(1).norm(dim=1) * out.transpose(0, 1).flatten(1).norm(dim=1)


def prune_heads(model: GPT, fraction: float) -> ShrunkModel:
    """Zero the ``round(fraction·n_head)`` weakest heads of every block (Michel et al., 2019).

    A zeroed head's values are zero, so it adds nothing whatever its attention
    pattern. ``size_bytes`` counts the remaining structure: the kept heads'
    query/key/value rows (and biases) and output-projection columns, plus every
    other parameter in float32. ``details["masks"]`` keeps the zeroed weights at
    zero in :func:`fine_tune_pruned`.
    """
    check_gpt(model, "prune_heads")
    _check_fraction(fraction, "fraction")
    shrunk = copy.deepcopy(model)
    n_head, d = shrunk.config.n_head, shrunk.config.d_model
    head_dim = d // n_head
    n_drop = round(fraction * n_head)
    masks: dict[str, torch.Tensor] = {}
    dropped_heads = []
    removed = 0
    for i, block in enumerate(shrunk.blocks):
        drop = torch.topk(head_scores(block, n_head), n_drop, largest=False).indices.tolist()
        dropped_heads.append(sorted(drop))
        rows = torch.ones(3 * d, dtype=torch.bool)
        cols = torch.ones(d, dtype=torch.bool)
        for h in drop:
            for part in range(3):  # the head's query, key and value rows
                rows[part * d + h * head_dim: part * d + (h + 1) * head_dim] = False
            cols[h * head_dim:(h + 1) * head_dim] = False
        prefix = f"blocks.{i}.attn"
        masks[f"{prefix}.qkv.weight"] = rows[:, None].expand(3 * d, d).clone()
        masks[f"{prefix}.proj.weight"] = cols[None, :].expand(d, d).clone()
        removed += int((~rows).sum()) * d + int((~cols).sum()) * d
        if block.attn.qkv.bias is not None:
            masks[f"{prefix}.qkv.bias"] = rows.clone()
            removed += int((~rows).sum())
    apply_masks(shrunk, masks)
    size_bytes = (sum(p.numel() for p in shrunk.parameters()) - removed) * FLOAT_BYTES
    return ShrunkModel(model=shrunk, size_bytes=size_bytes, method="prune-heads",
                       details={"fraction": fraction, "dropped_heads": dropped_heads,
                                "masks": masks})


# -- recovering with the masks held -------------------------------------------------------


def fine_tune_pruned(shrunk: ShrunkModel, corpus: Any, train_config: Any = None,
                     **options) -> tuple[ShrunkModel, dict]:
    """Train a pruned model further with its pruned weights held at zero (Han et al., 2015).

    The masks are re-applied after every optimiser step, so neither the gradient
    nor weight decay can revive a pruned weight; ``size_bytes`` is unchanged.
    Options are those of :func:`scalinglab.shrink.loop.train_loop`. Returns the
    fine-tuned :class:`ShrunkModel` and the loop's record.
    """
    from scalinglab.shrink.loop import train_loop

    masks = shrunk.details.get("masks")
    if masks is None:
        raise ValueError(f"a {shrunk.method!r} model has no masks to hold; fine-tune it with "
                         "scalinglab.shrink.loop.train_loop (structured pruning needs none)")
    model = copy.deepcopy(shrunk.model)
    record = train_loop(model, corpus, train_config,
                        after_step=lambda m: apply_masks(m, masks), **options)
    return ShrunkModel(model=model, size_bytes=shrunk.size_bytes, method=shrunk.method,
                       details={**shrunk.details, "fine_tuned_tokens": record["tokens"]}), record

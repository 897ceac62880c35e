"""Low-rank factorization: replace a weight matrix by the product of two thin ones.

A Linear layer's ``W`` (out × in) is replaced by ``U_r·V_r``, with ``U_r``
(out × r) and ``V_r`` (r × in) from the truncated singular value decomposition
``W ≈ Σ_{k≤r} σ_k u_k v_kᵀ``, which by the Eckart–Young theorem (Eckart & Young,
1936) is the closest rank-r matrix to ``W`` in Frobenius and spectral norm. The
layer then stores ``r·(out + in)`` numbers instead of ``out·in``, a saving only
when ``r < out·in / (out + in)``; applied to the layers of trained networks as
in Denton et al. (2014). Each factor takes ``√σ_k``, so the two are equally
scaled.

``size_bytes`` is every parameter of the factored model in float32, counted by
:func:`scalinglab.shrink.common.model_size_bytes`: nothing is hidden.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from scalinglab.model import GPT
from scalinglab.shrink.common import ShrunkModel, block_linears, check_gpt, model_size_bytes


class FactoredLinear(nn.Module):
    """``x ↦ up(down(x))``: a rank-r Linear layer stored as two factors (bias on ``up``)."""

    def __init__(self, in_features: int, out_features: int, rank: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        self.down = nn.Linear(in_features, rank, bias=False)
        self.up = nn.Linear(rank, out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.down(x))

    def weight_product(self) -> torch.Tensor:
        """The (out × in) matrix the two factors stand for."""
        return self.up.weight @ self.down.weight


def rank_for_energy(singular_values: torch.Tensor, energy: float) -> int:
    """The smallest rank whose singular values hold ``energy`` of ``Σ σ²`` (the squared
    Frobenius norm): the fraction of the matrix kept, in the sense Eckart–Young measures."""
    if not 0.0 < energy <= 1.0:
        raise ValueError(f"energy must be in (0, 1], got {energy!r}")
    power = singular_values.double() ** 2
    total = power.sum()
    if total == 0:
        return 1
    kept = torch.cumsum(power, 0) / total
    # a tiny tolerance so that energy=1.0 is reached despite rounding in the sum
    return int(torch.searchsorted(kept, torch.tensor(energy - 1e-12, dtype=kept.dtype))) + 1


def factorize(layer: nn.Linear, rank: int) -> FactoredLinear:
    """The best rank-``rank`` factorization of ``layer`` (truncated SVD)."""
    full = min(layer.in_features, layer.out_features)
    if not 1 <= rank <= full:
        raise ValueError(f"rank {rank} is outside 1..{full} for a {layer.out_features}×"
                         f"{layer.in_features} layer")
    w = layer.weight.detach().double()
    U, S, Vh = torch.linalg.svd(w, full_matrices=False)
    root = S[:rank].sqrt()
    factored = FactoredLinear(layer.in_features, layer.out_features, rank,
                              bias=layer.bias is not None)
    with torch.no_grad():
        factored.up.weight.copy_(U[:, :rank] * root)
        factored.down.weight.copy_(root[:, None] * Vh[:rank])
        if layer.bias is not None:
            factored.up.bias.copy_(layer.bias)
    return factored.to(layer.weight.device)


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name), child, module)


def low_rank(model: GPT, *, rank: int | None = None, rank_frac: float | None = None,
             energy: float | None = None, keep_dense_if_larger: bool = True) -> ShrunkModel:
    """A copy of ``model`` with each block Linear replaced by a truncated-SVD factorization.

    Give exactly one of ``rank`` (the same r for every layer, capped at each
    layer's full rank), ``rank_frac`` (r = round(frac · min(out, in)), at least
    1) or ``energy`` (per layer, the smallest r keeping that fraction of Σ σ²).
    With ``keep_dense_if_larger`` a layer whose factors would hold more numbers
    than the dense matrix stays dense. The token embedding (tied to the output
    layer) is left alone. ``details["ranks"]`` gives each layer's rank (None = dense).
    """
    check_gpt(model, "low_rank")
    if sum(v is not None for v in (rank, rank_frac, energy)) != 1:
        raise ValueError("give exactly one of rank=, rank_frac= or energy= "
                         "(e.g. low_rank(model, rank_frac=0.5))")
    if rank is not None and (not isinstance(rank, int) or rank < 1):
        raise ValueError(f"rank must be a positive integer, got {rank!r}")
    if rank_frac is not None and not 0.0 < rank_frac <= 1.0:
        raise ValueError(f"rank_frac must be in (0, 1], got {rank_frac!r}")
    shrunk = copy.deepcopy(model)
    ranks: dict[str, int | None] = {}
    for name, layer in list(block_linears(shrunk)):
        out_f, in_f = layer.out_features, layer.in_features
        full = min(out_f, in_f)
        if rank is not None:
            r = min(rank, full)
        elif rank_frac is not None:
            r = max(1, round(rank_frac * full))
        else:
            S = torch.linalg.svdvals(layer.weight.detach().double())
            r = rank_for_energy(S, energy)
        if keep_dense_if_larger and r * (out_f + in_f) >= out_f * in_f:
            ranks[name] = None
            continue
        _set_module(shrunk, name, factorize(layer, r))
        ranks[name] = r
    method = (f"low-rank r={rank}" if rank is not None else
              f"low-rank {rank_frac:g} of full rank" if rank_frac is not None else
              f"low-rank energy {energy:g}")
    return ShrunkModel(model=shrunk, size_bytes=model_size_bytes(shrunk), method=method,
                       details={"ranks": ranks})

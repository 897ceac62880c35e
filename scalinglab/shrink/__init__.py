"""Making models smaller (chapter 11): quantization, pruning, low-rank factors, distillation.

Each method returns a :class:`ShrunkModel`: a model that runs through the
ordinary forward pass, so :func:`val_bpb` scores it on the same bytes as the
original, and ``size_bytes``, what its stored form weighs. The chapter plots
one against the other.
"""

from scalinglab.shrink.common import (
    ShrunkModel,
    block_linears,
    model_size_bytes,
    val_bpb,
)
from scalinglab.shrink.distill import distill, distillation_loss, soft_kl
from scalinglab.shrink.loop import train_loop
from scalinglab.shrink.lowrank import FactoredLinear, factorize, low_rank, rank_for_energy
from scalinglab.shrink.prune import (
    apply_masks,
    fine_tune_pruned,
    magnitude_masks,
    prune_heads,
    prune_magnitude,
    prune_mlp_units,
    sparsity_of,
)
from scalinglab.shrink.quantize import (
    QuantizedTensor,
    pack_int4,
    quantization_error_bound,
    quantize,
    quantize_tensor,
    unpack_int4,
)

__all__ = [
    "FactoredLinear",
    "QuantizedTensor",
    "ShrunkModel",
    "apply_masks",
    "block_linears",
    "distill",
    "distillation_loss",
    "factorize",
    "fine_tune_pruned",
    "low_rank",
    "magnitude_masks",
    "model_size_bytes",
    "pack_int4",
    "prune_heads",
    "prune_magnitude",
    "prune_mlp_units",
    "quantization_error_bound",
    "quantize",
    "quantize_tensor",
    "rank_for_energy",
    "soft_kl",
    "sparsity_of",
    "train_loop",
    "unpack_int4",
    "val_bpb",
]

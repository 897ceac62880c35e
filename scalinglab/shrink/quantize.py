"""Post-training weight quantization: store each weight as a small integer times a scale.

Symmetric, per-output-channel, round-to-nearest quantization (Jacob et al., 2018):
row ``i`` of a weight matrix gets one scale ``s_i = max_j |W_ij| / q_max`` and
each weight is stored as the integer ``q = round(W / s)`` in ``[-q_max, q_max]``,
``q_max = 2^(bits-1) - 1`` (127 for int8, 7 for int4). Because the scale is set
by the row's largest weight, nothing is clipped, and rounding moves a weight by
at most half a step: ``|W - q·s| ≤ s/2`` (:func:`quantization_error_bound`).
One scale per output channel rather than one per matrix matters because rows
differ in size; a single large row would otherwise waste the others' levels.

The returned model holds the *dequantized* weights ``q·s`` in float32, so it runs
through the ordinary forward pass and is scored like any other model; its
``size_bytes`` is what the quantized form would take on disk: the integers
(int4 packed two per byte, :func:`pack_int4`), the scales (fp16 by default) and
every parameter left in float32 (biases, LayerNorms, and the embeddings unless
``include_embedding=True``).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

from scalinglab.model import GPT
from scalinglab.shrink.common import FLOAT_BYTES, ShrunkModel, block_linears, check_gpt

BITS = (8, 4)
SCALE_DTYPES = {"fp16": torch.float16, "fp32": torch.float32}


@dataclass
class QuantizedTensor:
    """Integers and per-row scales for one weight matrix (rows = output channels)."""

    q: torch.Tensor          # int8 values in [-q_max, q_max], the matrix's shape
    scale: torch.Tensor      # one per row, in the stored dtype (fp16 or fp32)
    bits: int

    def dequantize(self) -> torch.Tensor:
        return self.q.float() * self.scale.float().unsqueeze(1)

    @property
    def size_bytes(self) -> int:
        """Packed integers (``bits`` per weight) plus the scales."""
        payload = math.ceil(self.q.numel() * self.bits / 8)
        return payload + self.scale.numel() * self.scale.element_size()


def _check_bits(bits: int) -> None:
    if bits not in BITS:
        raise ValueError(f"bits={bits!r} is not supported; choose 8 (int8) or 4 (int4)")


def _scale_dtype(scale_dtype: str) -> torch.dtype:
    if scale_dtype not in SCALE_DTYPES:
        raise ValueError(f"unknown scale_dtype {scale_dtype!r}; choose fp16 or fp32")
    return SCALE_DTYPES[scale_dtype]


def quantize_tensor(weight: torch.Tensor, bits: int = 8,
                    scale_dtype: str = "fp16") -> QuantizedTensor:
    """Symmetric per-row quantization of a 2-D ``weight`` to ``bits``-bit integers.

    The scale is rounded *up* to its stored dtype before the weights are divided
    by it, so the stored scale still covers the row's largest weight and the
    ``s/2`` error bound holds for the scale actually kept.
    """
    _check_bits(bits)
    dtype = _scale_dtype(scale_dtype)
    if weight.dim() != 2:
        raise ValueError(f"quantize_tensor expects a 2-D weight matrix, got shape "
                         f"{tuple(weight.shape)}")
    w = weight.detach().float()
    q_max = 2 ** (bits - 1) - 1
    scale = w.abs().amax(dim=1) / q_max
    # An all-zero row has nothing to scale; any positive scale stores it exactly as zeros.
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    stored = scale.to(dtype)
    low = stored.float() < scale
    stored[low] = torch.nextafter(stored[low], torch.full_like(stored[low], math.inf))
    if not torch.isfinite(stored).all() or (stored == 0).any():
        raise ValueError(f"weights too large or too small for {scale_dtype} scales; "
                         "use scale_dtype='fp32'")
    q = torch.clamp(torch.round(w / stored.float().unsqueeze(1)), -q_max, q_max)
    return QuantizedTensor(q=q.to(torch.int8), scale=stored, bits=bits)


def quantization_error_bound(weight: torch.Tensor, bits: int = 8,
                             scale_dtype: str = "fp16") -> torch.Tensor:
    """The worst-case dequantization error of each row (output channel): half its scale.

    Round-to-nearest moves a value by at most half a step, and a symmetric scale
    set by the row's largest magnitude never clips; so ``|W_ij - q_ij·s_i| ≤ s_i/2``.
    """
    return quantize_tensor(weight, bits, scale_dtype).scale.float() / 2


def pack_int4(q: torch.Tensor) -> torch.Tensor:
    """Two int4 values per byte (low nibble first), as an int4 checkpoint would store them."""
    flat = q.reshape(-1).to(torch.int16)
    if flat.numel() and (flat.min() < -8 or flat.max() > 7):
        raise ValueError("pack_int4 needs values in [-8, 7]; quantize with bits=4 first")
    if flat.numel() % 2:
        flat = torch.cat([flat, flat.new_zeros(1)])
    nibbles = (flat & 0xF).view(-1, 2)
    return (nibbles[:, 0] | (nibbles[:, 1] << 4)).to(torch.uint8)


def unpack_int4(packed: torch.Tensor, numel: int) -> torch.Tensor:
    """The inverse of :func:`pack_int4`: ``numel`` signed values as int8."""
    b = packed.to(torch.int16)
    nibbles = torch.stack([b & 0xF, b >> 4], dim=1).reshape(-1)[:numel]
    return torch.where(nibbles > 7, nibbles - 16, nibbles).to(torch.int8)


def quantize(model: GPT, bits: int = 8, *, include_embedding: bool = False,
             scale_dtype: str = "fp16") -> ShrunkModel:
    """A copy of ``model`` with its block Linear weights quantized to ``bits`` (8 or 4).

    With ``include_embedding=True`` the token and position tables are quantized
    too, one scale per row (per byte value, per position); the tied output layer
    then reads the same dequantized table. ``details["tensors"]`` keeps each
    :class:`QuantizedTensor` by parameter name, for error checks.
    """
    check_gpt(model, "quantize")
    _check_bits(bits)
    _scale_dtype(scale_dtype)
    shrunk = copy.deepcopy(model)  # deepcopy keeps the head tied to the embedding
    targets = {f"{name}.weight": layer.weight for name, layer in block_linears(shrunk)}
    if include_embedding:
        targets["wte.weight"] = shrunk.wte.weight
        targets["wpe.weight"] = shrunk.wpe.weight
    tensors: dict[str, QuantizedTensor] = {}
    with torch.no_grad():
        for name, param in targets.items():
            tensors[name] = quantize_tensor(param, bits, scale_dtype)
            param.copy_(tensors[name].dequantize())
    quantized_ids = {id(p) for p in targets.values()}
    float_params = sum(p.numel() for p in shrunk.parameters() if id(p) not in quantized_ids)
    size_bytes = sum(t.size_bytes for t in tensors.values()) + float_params * FLOAT_BYTES
    return ShrunkModel(
        model=shrunk,
        size_bytes=size_bytes,
        method=f"int{bits}",
        details={"bits": bits, "scale_dtype": scale_dtype,
                 "include_embedding": include_embedding, "float_params": float_params,
                 "tensors": tensors},
    )

"""Post-training quantization: error bounds, packing, sizes, and that the model still runs."""

import pytest
import torch

from scalinglab.model import GPT, GPTConfig
from scalinglab.shrink import (
    model_size_bytes,
    pack_int4,
    quantization_error_bound,
    quantize,
    quantize_tensor,
    unpack_int4,
)


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=16, seq_len=16, n_layer=2, n_head=2, d_model=16, **kw))


@pytest.mark.parametrize("bits", [8, 4])
@pytest.mark.parametrize("scale_dtype", ["fp16", "fp32"])
def test_every_weight_within_half_a_step(bits, scale_dtype):
    torch.manual_seed(1)
    w = torch.randn(40, 24) * torch.logspace(-3, 1, 40)[:, None]  # rows of very different size
    qt = quantize_tensor(w, bits, scale_dtype)
    bound = quantization_error_bound(w, bits, scale_dtype)
    err = (w - qt.dequantize()).abs()
    # slack only for float32 rounding in w/s and q·s (a few ulps of the weight)
    assert (err <= bound[:, None] + 4 * torch.finfo(torch.float32).eps * w.abs()).all()
    assert qt.q.abs().max() <= 2 ** (bits - 1) - 1
    # the bound is tight: some weight lands near half a step from its level
    assert (err / bound[:, None]).max() > 0.9


def test_int8_is_more_accurate_than_int4():
    torch.manual_seed(2)
    w = torch.randn(64, 32)
    err8 = (w - quantize_tensor(w, 8).dequantize()).abs()
    err4 = (w - quantize_tensor(w, 4).dequantize()).abs()
    assert err8.max() < err4.max() and err8.mean() < err4.mean()
    assert (quantization_error_bound(w, 8) < quantization_error_bound(w, 4)).all()


def test_zero_row_is_stored_exactly():
    w = torch.randn(3, 5)
    w[1] = 0
    assert torch.equal(quantize_tensor(w, 4).dequantize()[1], torch.zeros(5))


def test_int4_packing_round_trips_and_matches_the_size_count():
    torch.manual_seed(3)
    w = torch.randn(7, 9)  # an odd number of weights
    qt = quantize_tensor(w, 4)
    packed = pack_int4(qt.q)
    assert packed.dtype == torch.uint8 and packed.numel() == (63 + 1) // 2
    assert torch.equal(unpack_int4(packed, 63).view(7, 9), qt.q)
    assert qt.size_bytes == packed.numel() + 7 * 2  # payload + fp16 scales


def test_quantized_model_size_and_weights():
    model = _model()
    q8, q4 = quantize(model, 8), quantize(model, 4)
    linear_numel = sum(m.weight.numel() for n, m in model.named_modules()
                       if n.startswith("blocks.") and isinstance(m, torch.nn.Linear))
    linear_rows = sum(m.weight.shape[0] for n, m in model.named_modules()
                      if n.startswith("blocks.") and isinstance(m, torch.nn.Linear))
    rest = model.n_params(non_embedding=False) - linear_numel
    assert q8.size_bytes == linear_numel + 2 * linear_rows + 4 * rest
    assert q4.size_bytes == linear_numel // 2 + 2 * linear_rows + 4 * rest
    assert q4.size_bytes < q8.size_bytes < model_size_bytes(model)
    # the original is untouched, the copy holds the dequantized values, the head stays tied
    qkv = q8.model.blocks[0].attn.qkv.weight
    assert not torch.equal(qkv, model.blocks[0].attn.qkv.weight)
    assert torch.equal(qkv, q8.details["tensors"]["blocks.0.attn.qkv.weight"].dequantize())
    assert q8.model.lm_head.weight is q8.model.wte.weight
    assert torch.equal(q8.model.wte.weight, model.wte.weight)  # embedding left in float


def test_embedding_quantization_shrinks_more_and_outputs_stay_close():
    model = _model().eval()
    full = quantize(model, 8, include_embedding=True)
    assert full.size_bytes < quantize(model, 8).size_bytes
    assert full.model.lm_head.weight is full.model.wte.weight
    x = torch.randint(0, 16, (2, 16))
    with torch.no_grad():
        ref = model(x)[0]
        d8 = (full.model(x)[0] - ref).abs().max()
        d4 = (quantize(model, 4, include_embedding=True).model(x)[0] - ref).abs().max()
    assert 0 < d8 < d4


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="choose 8"):
        quantize(_model(), bits=3)
    with pytest.raises(ValueError, match="fp16 or fp32"):
        quantize_tensor(torch.randn(2, 2), 8, scale_dtype="bf8")
    with pytest.raises(ValueError, match="scalinglab GPT"):
        quantize(torch.nn.Linear(2, 2))

"""Low-rank factorization: exact at full rank, smaller and less exact as the rank falls."""

import pytest
import torch

from scalinglab.model import GPT, GPTConfig
from scalinglab.shrink import FactoredLinear, factorize, low_rank, model_size_bytes, rank_for_energy


def _model(seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=16, seq_len=16, n_layer=2, n_head=2, d_model=16)).eval()


def test_full_rank_leaves_outputs_unchanged():
    model = _model()
    full = low_rank(model, rank_frac=1.0, keep_dense_if_larger=False)
    names = [f"blocks.{i}.{n}" for i in range(2) for n in ("attn.qkv", "attn.proj", "mlp.fc",
                                                             "mlp.proj")]
    assert all(isinstance(full.model.get_submodule(n), FactoredLinear) for n in names)
    x = torch.randint(0, 16, (3, 16))
    with torch.no_grad():
        assert torch.allclose(full.model(x)[0], model(x)[0], atol=1e-4)


def test_parameter_count_and_error_fall_and_rise_with_rank():
    model = _model()
    x = torch.randint(0, 16, (3, 16))
    sizes, errors = [], []
    for r in (16, 8, 4, 2, 1):
        shrunk = low_rank(model, rank=r, keep_dense_if_larger=False)
        assert shrunk.size_bytes == model_size_bytes(shrunk.model)
        sizes.append(shrunk.model.n_params(non_embedding=False))
        fc = shrunk.model.blocks[0].mlp.fc
        with torch.no_grad():
            errors.append(torch.linalg.matrix_norm(fc.weight_product()
                                                   - model.blocks[0].mlp.fc.weight).item())
            output_error = (shrunk.model(x)[0] - model(x)[0]).abs().max().item()
        assert (output_error < 1e-4) == (r == 16)
    assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False))
    assert errors[0] < 1e-4 and all(a < b for a, b in zip(errors, errors[1:], strict=False))
    # each block Linear (out×in) at rank r holds r·(out+in) weights + out biases
    one = low_rank(model, rank=1, keep_dense_if_larger=False).model
    assert one.blocks[0].mlp.fc.down.weight.shape == (1, 16)
    assert one.blocks[0].mlp.fc.up.weight.shape == (64, 1)


def test_factors_are_the_truncated_svd():
    torch.manual_seed(4)
    layer = torch.nn.Linear(12, 20)
    f = factorize(layer, 5)
    U, S, Vh = torch.linalg.svd(layer.weight.detach().double())
    best = (U[:, :5] * S[:5]) @ Vh[:5]
    assert torch.allclose(f.weight_product().double(), best, atol=1e-5)
    # Eckart–Young: the error is exactly the dropped singular values
    err = torch.linalg.matrix_norm(layer.weight.double() - f.weight_product().double()).item()
    assert err == pytest.approx(S[5:].pow(2).sum().sqrt().item(), rel=1e-4)


def test_energy_rank_and_dense_fallback():
    s = torch.tensor([3.0, 2.0, 1.0, 0.0])
    assert rank_for_energy(s, 9 / 14) == 1
    assert rank_for_energy(s, 0.7) == 2
    assert rank_for_energy(s, 1.0) == 3
    model = _model()
    kept = low_rank(model, rank_frac=0.5)  # a 16×16 at rank 8 would not be smaller
    assert kept.details["ranks"]["blocks.0.attn.proj"] is None
    assert kept.details["ranks"]["blocks.0.mlp.fc"] == 8
    assert kept.size_bytes < model_size_bytes(model)
    assert low_rank(model, energy=0.5).size_bytes < low_rank(model, energy=0.99).size_bytes


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="exactly one of"):
        low_rank(_model(), rank=2, energy=0.9)
    with pytest.raises(ValueError, match="outside"):
        factorize(torch.nn.Linear(4, 3), 4)

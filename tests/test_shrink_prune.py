"""Magnitude pruning: exact sparsity, smallest weights first, whole units, masks held."""

import pytest
import torch

from scalinglab.data import load_corpus
from scalinglab.model import GPT, GPTConfig
from scalinglab.shrink import (
    block_linears,
    fine_tune_pruned,
    model_size_bytes,
    prune_heads,
    prune_magnitude,
    prune_mlp_units,
    sparsity_of,
)
from scalinglab.train import TrainConfig


def _model(seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=16, seq_len=16, n_layer=2, n_head=4, d_model=16))


@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.8])
def test_per_layer_sparsity_is_exact_within_one_weight(sparsity):
    model = _model()
    pruned = prune_magnitude(model, sparsity, scope="layer")
    params = dict(pruned.model.named_parameters())
    for name, mask in pruned.details["masks"].items():
        n = mask.numel()
        zeros = int((params[name] == 0).sum())
        assert abs(zeros - sparsity * n) <= 1, name
        # every removed weight is no larger than every kept one
        w = dict(model.named_parameters())[name].detach().abs()
        assert w[~mask].max() <= w[mask].min()


def test_global_sparsity_is_exact_and_uneven_across_layers():
    model = _model()
    pruned = prune_magnitude(model, 0.6, scope="global")
    masks = pruned.details["masks"]
    total = sum(m.numel() for m in masks.values())
    removed = sum(int((~m).sum()) for m in masks.values())
    assert abs(removed - 0.6 * total) <= 1
    per_layer = sparsity_of(pruned.model, masks)
    assert max(per_layer.values()) - min(per_layer.values()) > 0.05
    # one threshold for all: no kept weight anywhere is smaller than a removed one
    params = dict(model.named_parameters())
    kept_min = min(params[n].detach().abs()[m].min() for n, m in masks.items())
    removed_max = max(params[n].detach().abs()[~m].max() for n, m in masks.items())
    assert removed_max <= kept_min


def test_sparse_size_counts_bitmask_and_kept_values():
    model = _model()
    pruned = prune_magnitude(model, 0.75)
    masks = pruned.details["masks"]
    masked = sum(m.numel() for m in masks.values())
    dense = model.n_params(non_embedding=False) - masked
    expected = 4 * dense + sum(-(-m.numel() // 8) + 4 * int(m.sum()) for m in masks.values())
    assert pruned.size_bytes == expected < model_size_bytes(model)
    assert prune_magnitude(model, 0.0).size_bytes > model_size_bytes(model)  # the mask costs


def test_mlp_unit_pruning_removes_whole_rows_and_computes_the_same_as_zeroing():
    model = _model().eval()
    pruned = prune_mlp_units(model, 0.5)
    x = torch.randint(0, 16, (2, 16))
    zeroed = _model().eval()
    with torch.no_grad():
        for block, kept in zip(zeroed.blocks, pruned.details["kept_units"], strict=True):
            drop = torch.ones(64, dtype=torch.bool)
            drop[kept] = False
            block.mlp.fc.weight[drop] = 0
            block.mlp.fc.bias[drop] = 0
        assert torch.allclose(pruned.model(x)[0], zeroed(x)[0], atol=1e-5)
    for block in pruned.model.blocks:
        assert block.mlp.fc.weight.shape == (32, 16) and block.mlp.proj.weight.shape == (16, 32)
    removed = 2 * (32 * 16 + 32 + 16 * 32)  # per block: fc rows, fc biases, proj columns
    assert pruned.size_bytes == model_size_bytes(model) - 4 * removed
    total = model.n_params(non_embedding=False)
    assert pruned.model.n_params(non_embedding=False) == total - removed


def test_mlp_units_kept_are_the_strongest():
    model = _model()
    pruned = prune_mlp_units(model, 0.75)
    block = model.blocks[0]
    score = block.mlp.fc.weight.norm(dim=1) * block.mlp.proj.weight.norm(dim=0)
    kept = torch.tensor(pruned.details["kept_units"][0])
    dropped = torch.ones(64, dtype=torch.bool)
    dropped[kept] = False
    assert len(kept) == 16 and score[kept].min() >= score[dropped].max()


def test_head_pruning_zeroes_whole_head_rows():
    model = _model()
    pruned = prune_heads(model, 0.5)
    d, hd = 16, 4
    for block, dropped in zip(pruned.model.blocks, pruned.details["dropped_heads"], strict=True):
        assert len(dropped) == 2
        qkv, proj = block.attn.qkv.weight, block.attn.proj.weight
        for h in range(4):
            rows = torch.cat([qkv[p * d + h * hd: p * d + (h + 1) * hd] for p in range(3)])
            cols = proj[:, h * hd:(h + 1) * hd]
            if h in dropped:
                assert (rows == 0).all() and (cols == 0).all()
            else:
                assert (rows != 0).all(dim=1).all() and (cols != 0).any()
    removed_per_block = 2 * hd * (3 * d + 3 + d)  # qkv rows + their biases + proj columns
    assert pruned.size_bytes == model_size_bytes(model) - 4 * 2 * removed_per_block


def test_fine_tuning_keeps_pruned_weights_at_zero():
    corpus = load_corpus("synthetic", train_bytes=4_000, val_bytes=1_000)
    pruned = prune_magnitude(_model(), 0.7)
    tuned, record = fine_tune_pruned(pruned, corpus, TrainConfig(tokens=16 * 4 * 5, batch_size=4,
                                                                 eval_tokens=256))
    params = dict(tuned.model.named_parameters())
    before = dict(pruned.model.named_parameters())
    for name, mask in pruned.details["masks"].items():
        assert (params[name][~mask] == 0).all()
        assert not torch.equal(params[name][mask], before[name][mask])  # kept ones trained
    assert record["steps"] == 5 and tuned.size_bytes == pruned.size_bytes


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="sparsity must be in"):
        prune_magnitude(_model(), 1.0)
    with pytest.raises(ValueError, match="'layer' or 'global'"):
        prune_magnitude(_model(), 0.5, scope="row")
    with pytest.raises(ValueError, match="no masks"):
        fine_tune_pruned(prune_mlp_units(_model(), 0.5), None)
    assert len(list(block_linears(_model()))) == 8

"""The model: its forward pass, its two parameter counts, its FLOPs, its checkpoints."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from scalinglab.model import GPT, GPTConfig, load_checkpoint, save_checkpoint, weights_sha256


@pytest.fixture(autouse=True)
def _one_thread():
    """Micro models run fastest on one thread, and never stall on a busy second core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _model(**overrides) -> GPT:
    torch.manual_seed(0)
    config = dict(vocab_size=16, seq_len=32, n_layer=2, n_head=2, d_model=24)
    return GPT(GPTConfig(**{**config, **overrides}))


def test_logits_for_every_position_and_loss_is_mean_cross_entropy_in_nats():
    model = _model()
    idx = torch.randint(0, 16, (3, 32))
    targets = torch.randint(0, 16, (3, 32))
    logits, loss = model(idx, targets)
    assert logits.shape == (3, 32, 16)
    expected = F.cross_entropy(logits.reshape(-1, 16), targets.reshape(-1))
    assert torch.allclose(loss, expected)
    # At initialisation the prediction is close to uniform: at most half a nat above ln V.
    assert math.log(16) < loss.item() < math.log(16) + 0.5
    assert model(idx)[1] is None


def test_attention_is_causal():
    model = _model().eval()
    idx = torch.randint(0, 16, (1, 32))
    changed = idx.clone()
    changed[0, 20:] = (changed[0, 20:] + 1) % 16
    a, b = model(idx)[0], model(changed)[0]
    assert torch.allclose(a[0, :20], b[0, :20], atol=1e-6)
    assert not torch.allclose(a[0, 20:], b[0, 20:])


def test_total_count_is_the_direct_sum_with_the_tied_matrix_once():
    model = _model()
    assert model.lm_head.weight is model.wte.weight
    unique = {p.data_ptr(): p.numel() for _, p in model.named_parameters(remove_duplicate=False)}
    assert model.n_params(non_embedding=False) == sum(unique.values())
    # Counting the head separately would add V·d.
    every = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    assert every - model.n_params(non_embedding=False) == 16 * 24


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("d_model,n_layer", [(24, 2), (64, 3)])
def test_non_embedding_count_matches_kaplans_formula(d_model, n_layer, bias):
    model = _model(d_model=d_model, n_layer=n_layer, bias=bias, n_head=4)
    d = d_model
    # Per block: 12d² weights (qkv 3d², proj d², MLP 8d²), 9d linear biases and two
    # LayerNorms of 2d (d each without their biases); then a final LayerNorm.
    per_block = 12 * d * d + (9 * d + 4 * d if bias else 2 * d)
    final_ln = 2 * d if bias else d
    assert model.n_params() == n_layer * per_block + final_ln
    embeddings = 16 * d + 32 * d
    assert model.n_params(non_embedding=False) == model.n_params() + embeddings


@pytest.mark.parametrize("d_model,n_layer,seq_len", [(24, 2, 32), (32, 3, 16)])
def test_flops_per_token_against_counted_matmuls(d_model, n_layer, seq_len):
    """Count every matmul of a forward + backward pass and reconcile it with 6N + attention.

    The counter (math attention, no fused kernel) sees three things the formula treats
    differently: the output layer (6·V·d per token, outside Kaplan's N), the masked half
    of the attention scores (a causal kernel skips it: 6·L·T·d), and the LayerNorm
    gains, which are parameters but no matmul.
    """
    vocab = 16
    model = _model(d_model=d_model, n_layer=n_layer, seq_len=seq_len, bias=False)
    B = 2
    idx = torch.randint(0, vocab, (B, seq_len))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        _, loss = model(idx, idx)
        loss.backward()
    counted = counter.get_total_flops() / (B * seq_len)
    layernorm_params = (2 * n_layer + 1) * d_model
    head = 6 * vocab * d_model
    masked_half = 6 * n_layer * seq_len * d_model
    assert counted == model.flops_per_token() + head + masked_half - 6 * layernorm_params
    assert model.flops_per_token() == (6 * model.n_params()
                                       + 6 * n_layer * seq_len * d_model)
    assert model.flops_per_token(output_layer=True) == model.flops_per_token() + head
    assert model.mfu(1000.0, 1e12) == 1000.0 * model.flops_per_token(output_layer=True) / 1e12


def test_config_errors_name_the_fix():
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPTConfig(d_model=30, n_head=4)
    with pytest.raises(ValueError, match="positive integer"):
        GPTConfig(n_layer=0)
    model = _model()
    with pytest.raises(ValueError, match="longer than the model's seq_len"):
        model(torch.zeros(1, 33, dtype=torch.long))


def test_checkpoint_round_trip_and_hash(tmp_path):
    model = _model().eval()
    path = tmp_path / "sub" / "model.pt"
    sha = save_checkpoint(model, path, corpus="synthetic", record={"val_bpb": 1.7})
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]  # no temp file left
    loaded, meta = load_checkpoint(path)
    assert meta["weights_sha256"] == sha == weights_sha256(model.state_dict())
    assert meta["corpus"] == "synthetic" and meta["record"]["val_bpb"] == 1.7
    assert meta["format"] == "scalinglab-checkpoint" and meta["version"] == 1
    assert loaded.config == model.config
    idx = torch.randint(0, 16, (2, 32))
    assert torch.equal(loaded(idx)[0], model(idx)[0])
    assert loaded.lm_head.weight is loaded.wte.weight


def test_checkpoint_with_altered_weights_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(_model(), path)
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["state_dict"]["ln_f.weight"][0] += 1e-3
    torch.save(checkpoint, path)
    with pytest.raises(ValueError, match="does not match"):
        load_checkpoint(path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable scalinglab checkpoint"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="train one"):
        load_checkpoint(tmp_path / "missing.pt")


def test_generate_extends_the_prompt():
    model = _model().eval()
    prompt = torch.zeros(1, 3, dtype=torch.long)
    out = model.generate(prompt, 40, generator=torch.Generator().manual_seed(0), top_k=4)
    assert out.shape == (1, 43) and torch.equal(out[:, :3], prompt)
    assert int(out.max()) < 16


def test_parameter_groups_add_up_and_give_both_counts():
    from scalinglab.model import GPT, GPTConfig

    model = GPT(GPTConfig(vocab_size=256, seq_len=32, n_layer=3, n_head=4, d_model=64))
    groups = model.n_params_by_group()
    assert groups["total"] == model.n_params(non_embedding=False)
    assert groups["total"] - groups["token embedding"] - groups["position embedding"] == (
        model.n_params())
    assert groups["token embedding"] == 256 * 64 and groups["position embedding"] == 32 * 64
    assert groups["block LayerNorms"] == 3 * 2 * 2 * 64  # two norms a block, weight and bias
    assert groups["blocks (weights, biases)"] == 3 * (12 * 64 * 64 + 9 * 64)

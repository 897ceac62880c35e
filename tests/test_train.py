"""One training run: schedule, units, determinism and the run record."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from scalinglab.model import GPT, GPTConfig
from scalinglab.train import (
    TrainConfig,
    configure_optimizer,
    eval_windows,
    evaluate_bpb,
    learning_rate,
    resolve_precision,
    train,
    train_model,
)


@pytest.fixture(autouse=True)
def _one_thread():
    """Micro models run fastest on one thread, and never stall on a busy second core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _corpus(n_train: int = 40_000, n_val: int = 4_096) -> SimpleNamespace:
    """A tiny order-1 Markov stream over 8 symbols: learnable in a few dozen steps."""
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.full(8, 0.3), size=8)
    stream = np.zeros(n_train + n_val, dtype=np.uint8)
    for t in range(1, stream.size):
        stream[t] = rng.choice(8, p=P[stream[t - 1]])
    return SimpleNamespace(name="markov8", train=stream[:n_train], val=stream[n_train:],
                           vocab_size=8, entropy_floor_bpb=None)


CORPUS = _corpus()
CONFIG = GPTConfig(vocab_size=8, seq_len=32, n_layer=1, n_head=2, d_model=16)


def _train(**kw):
    optim = dict(tokens=24_576, batch_size=8, eval_tokens=2_048)
    return train(CONFIG, CORPUS, TrainConfig(**{**optim, **kw}), progress=False)


def test_same_seed_same_run_other_seed_other_run():
    a, b, c = _train(seed=3), _train(seed=3), _train(seed=4)
    assert a["loss_curve"] == b["loss_curve"] and a["val_bpb"] == b["val_bpb"]
    assert a["train_bpb"] == b["train_bpb"]
    assert a["loss_curve"] != c["loss_curve"]


def test_record_fields_and_their_arithmetic():
    r = _train(seed=0)
    steps = math.ceil(24_576 / (8 * 32))
    assert r["tokens"] == steps * 8 * 32 == 24_576
    model = GPT(CONFIG)
    assert r["n_params"] == model.n_params(non_embedding=False)
    assert r["n_params_non_embedding"] == model.n_params()
    assert r["flops"] == r["tokens"] * model.flops_per_token()
    assert r["model"] == {"vocab_size": 8, "seq_len": 32, "n_layer": 1, "n_head": 2,
                          "d_model": 16, "dropout": 0.0, "bias": True}
    assert r["optim"]["steps"] == steps and r["optim"]["peak_lr"] == pytest.approx(
        6e-3 * math.sqrt(128 / 16))
    for key in ("device", "torch", "commit", "date", "wall_s", "tokens_per_s", "seed",
                "entropy_floor_bpb", "corpus", "val_bpb", "train_bpb", "precision"):
        assert key in r
    assert r["precision"] == "fp32" and r["device"].startswith("cpu")
    assert r["loss_curve"][-1][0] == r["tokens"]
    # It learned: the final training loss is well below the uniform 3 bits and the first point.
    assert r["loss_curve"][-1][1] < r["loss_curve"][0][1] - 0.3
    assert r["val_bpb"] < 2.7 and r["val_bpb_best"] <= r["val_bpb"]
    assert r["wall_s"] >= r["train_s"] > 0


def test_schedule_warms_up_linearly_then_decays_by_cosine_to_the_floor():
    steps, peak = 200, 1e-3
    lrs = [learning_rate(s, steps, peak, 0.05, 0.1) for s in range(steps)]
    assert lrs[:10] == pytest.approx([peak * (s + 1) / 10 for s in range(10)])
    assert max(lrs) == pytest.approx(peak)
    assert lrs[-1] == pytest.approx(0.1 * peak)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:], strict=False))
    # Halfway through the decay the cosine is at the midpoint between peak and floor.
    mid = 10 + (steps - 1 - 10) / 2
    assert learning_rate(int(mid), steps, peak, 0.05, 0.1) == pytest.approx(
        0.55 * peak, rel=0.02)


class _Uniform(torch.nn.Module):
    """Predicts every symbol with equal probability: exactly log2(V) bits per byte."""

    def forward(self, idx, targets):
        logits = torch.zeros(*idx.shape, 8)
        return logits, torch.nn.functional.cross_entropy(logits.view(-1, 8), targets.reshape(-1))


def test_bits_per_byte_is_nats_over_ln2_on_fixed_windows():
    windows = eval_windows(CORPUS.val, 32, 2_048)
    assert windows.shape == (64, 33)
    assert torch.equal(windows[1, 0], torch.tensor(int(CORPUS.val[32])))  # contiguous
    assert torch.equal(windows, eval_windows(CORPUS.val, 32, 2_048))  # no randomness
    assert evaluate_bpb(_Uniform(), windows, torch.device("cpu")) == pytest.approx(3.0)
    assert eval_windows(CORPUS.val[:100], 32, 10_000).shape == (3, 33)
    with pytest.raises(ValueError, match="no evaluation window"):
        eval_windows(CORPUS.val[:20], 32, 2_048)


def test_train_bytes_limits_the_training_set():
    model, r = train_model(CONFIG, CORPUS, TrainConfig(tokens=2_048, batch_size=8,
                                                       eval_tokens=512, train_bytes=1_000),
                           progress=False)
    assert r["train_bytes"] == 1_000
    with pytest.raises(ValueError, match="more than the corpus's"):
        _train(tokens=256, train_bytes=10**7)


def test_eval_points_give_a_validation_curve():
    r = train(CONFIG, CORPUS, TrainConfig(tokens=8_192, batch_size=8, eval_tokens=512),
              progress=False, eval_points=3)
    assert [t for t, _ in r["val_curve"]] == [2048, 4096, 6144, 8192]
    assert r["val_bpb_best"] == min(v for _, v in r["val_curve"])


def test_bad_input_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="vocab_size=corpus.vocab_size"):
        train(GPTConfig(vocab_size=4, seq_len=32, n_layer=1, n_head=2, d_model=16), CORPUS,
              TrainConfig(tokens=256), progress=False)
    with pytest.raises(ValueError, match="choose one of auto, fp32, bf16, fp16"):
        TrainConfig(precision="fp8")
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        resolve_precision("fp16", torch.device("cpu"))
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"


def test_weight_decay_only_on_matrices():
    model = GPT(CONFIG)
    opt = configure_optimizer(model, 1e-3, 0.1, (0.9, 0.95), torch.device("cpu"))
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decayed["params"])
    assert all(p.dim() == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))

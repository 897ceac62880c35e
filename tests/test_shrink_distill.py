"""Distillation: the loss's two terms, and that λ = 0 is plain training."""

import math

import pytest
import torch
import torch.nn.functional as F

from scalinglab.data import load_corpus
from scalinglab.model import GPT, GPTConfig
from scalinglab.shrink import distill, distillation_loss, soft_kl
from scalinglab.train import TrainConfig, train_model


def test_lambda_zero_is_the_data_cross_entropy():
    torch.manual_seed(0)
    s, t, y = torch.randn(2, 5, 7), torch.randn(2, 5, 7), torch.randint(0, 7, (2, 5))
    loss, ce = distillation_loss(s, t, y, temperature=3.0, alpha=0.0)
    assert loss.item() == pytest.approx(F.cross_entropy(s.view(-1, 7), y.view(-1)).item())
    assert torch.equal(loss, ce)


def test_kl_is_zero_for_identical_models_and_positive_otherwise():
    torch.manual_seed(1)
    s, t = torch.randn(3, 4, 9), torch.randn(3, 4, 9)
    assert soft_kl(s, s, temperature=2.0).item() == pytest.approx(0.0, abs=1e-6)
    assert soft_kl(s, t, temperature=2.0).item() > 0.01
    y = torch.randint(0, 9, (3, 4))
    loss, ce = distillation_loss(s, s, y, temperature=4.0, alpha=0.7)
    assert loss.item() == pytest.approx(0.3 * ce.item(), rel=1e-5)


def test_kl_matches_its_definition_and_the_t_squared_weight():
    torch.manual_seed(2)
    s, t, y = torch.randn(6, 5), torch.randn(6, 5), torch.randint(0, 5, (6,))
    T = 3.0
    p, q = F.softmax(t / T, -1), F.softmax(s / T, -1)
    kl = (p * (p.log() - q.log())).sum(-1).mean()
    assert soft_kl(s, t, T).item() == pytest.approx(kl.item(), rel=1e-5)
    loss, ce = distillation_loss(s, t, y, temperature=T, alpha=1.0)
    assert loss.item() == pytest.approx(T * T * kl.item(), rel=1e-5)


def test_distill_with_lambda_zero_reproduces_plain_training():
    corpus = load_corpus("synthetic", train_bytes=5_000, val_bytes=1_000)
    cfg = GPTConfig(vocab_size=corpus.vocab_size, seq_len=16, n_layer=1, n_head=2, d_model=16)
    train_cfg = TrainConfig(tokens=16 * 4 * 12, batch_size=4, eval_tokens=512, seed=3)
    plain_model, plain = train_model(cfg, corpus, train_cfg, num_threads=1, progress=False,
                                     device="cpu")
    torch.manual_seed(9)
    teacher = GPT(GPTConfig(vocab_size=corpus.vocab_size, seq_len=16, n_layer=1, n_head=2,
                            d_model=32))
    student, rec = distill(cfg, teacher, corpus, train_cfg, alpha=0.0, num_threads=1)
    assert len(rec["loss_curve"]) == len(plain["loss_curve"]) == 12
    for (t1, b1), (t2, b2) in zip(rec["loss_curve"], plain["loss_curve"], strict=True):
        assert t1 == t2 and b1 == pytest.approx(b2, abs=2e-4)
    assert rec["val_bpb"] == pytest.approx(plain["val_bpb"], abs=1e-4)
    # and a teacher with weight does change the student
    _, helped = distill(cfg, teacher, corpus, train_cfg, alpha=0.9, num_threads=1)
    assert not math.isclose(helped["loss_curve"][-1][1], plain["loss_curve"][-1][1],
                            abs_tol=1e-3)


def test_bad_arguments_are_named():
    s = torch.randn(2, 3)
    with pytest.raises(ValueError, match="alpha"):
        distillation_loss(s, s, torch.zeros(2, dtype=torch.long), alpha=1.5)
    with pytest.raises(ValueError, match="temperature"):
        soft_kl(s, s, temperature=0)
    teacher = GPT(GPTConfig(vocab_size=16, seq_len=8, n_layer=1, n_head=1, d_model=8))
    with pytest.raises(ValueError, match="seq_len"):
        distill(GPTConfig(vocab_size=16, seq_len=16, n_layer=1, n_head=1, d_model=8), teacher,
                None)

"""scalinglab.repetition: effective data of repeated tokens, R*, input noise (chapter 7)."""

import numpy as np
import pytest
import torch

from scalinglab.repetition import (
    R_STAR_D,
    effective_data,
    effective_unique,
    fit_r_star,
    fraction_of_fresh,
    noisy_inputs,
    repetition_family,
    repetitions,
    train_with_input_noise,
)


def test_repetitions_and_fresh_data():
    assert repetitions(100, 400) == 3.0
    assert effective_data(100, 100) == 100.0          # one epoch: every token is fresh
    assert effective_data(100, 50) == 50.0            # less than one epoch: just the tokens


def test_effective_data_matches_the_formula_and_its_limits():
    U, D = 1000.0, 5000.0
    R = D / U - 1
    assert effective_data(U, D) == pytest.approx(U + U * R_STAR_D * (1 - np.exp(-R / R_STAR_D)))
    # few repetitions are worth almost as much as fresh data, many saturate at U·(1 + R*)
    assert fraction_of_fresh(U, 2 * U) > 0.96
    assert effective_data(U, 1e9 * U) == pytest.approx(U * (1 + R_STAR_D))
    d = effective_data(U, U * np.array([1, 2, 4, 16, 64, 256.0]))
    assert np.all(np.diff(d) > 0) and np.all(d <= U * np.array([1, 2, 4, 16, 64, 256]))


def test_effective_data_rejects_bad_input():
    with pytest.raises(ValueError, match="r_star"):
        effective_data(1, 2, r_star=0)
    with pytest.raises(ValueError, match="positive"):
        repetitions(0, 10)


def test_fit_r_star_recovers_a_known_half_life():
    U = np.geomspace(1e3, 6.4e4, 7)
    D = np.full_like(U, 6.4e4)
    L = 1.5 + 30.0 * effective_data(U, D, 8.0) ** -0.5
    fit = fit_r_star(U, D, L)
    assert 5.0 < fit.r_star < 13.0
    lo, hi = fit.plausible(1.5)
    assert lo <= fit.r_star <= hi
    assert fit.predict(U, D) == pytest.approx(L, rel=1e-3)


def test_effective_unique_inverts_the_law():
    E, A, alpha = 1.5, 20.0, 0.7
    U = np.array([1e3, 1e4])
    assert effective_unique(E + A * U ** -alpha, E, A, alpha) == pytest.approx(U)
    assert effective_unique(E - 0.1, E, A, alpha) == np.inf


def test_repetition_family_sorts_and_checks():
    rec = [{"train_bytes": b, "tokens": 64, "val_bpb": v, "val_bpb_best": v, "train_bpb": t,
            "entropy_floor_bpb": 1.0, "size": "d8-L1"}
           for b, v, t in ((32, 2.0, 1.9), (8, 3.0, 1.2))]
    fam = repetition_family(rec)
    assert fam.unique.tolist() == [8, 32] and fam.repetitions.tolist() == [7, 1]
    assert fam.gap_bpb == pytest.approx([1.8, 0.1])
    with pytest.raises(ValueError, match="one model"):
        repetition_family([rec[0], {**rec[1], "size": "d16-L1"}])


def test_noisy_inputs_replaces_about_p_and_keeps_symbols():
    g = torch.Generator().manual_seed(0)
    x = torch.zeros((64, 64), dtype=torch.int64)
    y = noisy_inputs(x, 0.2, 16, g)
    changed = (y != x).float().mean().item()
    assert 0.15 < changed < 0.22            # 0.2 · 15/16 of the bytes change on average
    assert y.min() >= 0 and y.max() < 16 and torch.equal(x, torch.zeros_like(x))
    assert torch.equal(noisy_inputs(x, 0.0, 16), x)
    with pytest.raises(ValueError):
        noisy_inputs(x, 1.0, 16)


def test_the_trainer_feeds_transformed_inputs_and_clean_targets():
    from scalinglab.data import load_corpus
    from scalinglab.model import GPTConfig
    from scalinglab.train import TrainConfig, train

    corpus = load_corpus("synthetic", train_bytes=4_000, val_bytes=1_024)
    config = GPTConfig(vocab_size=16, seq_len=16, n_layer=1, n_head=1, d_model=8)
    run = TrainConfig(tokens=640, batch_size=4, eval_tokens=512)
    seen = []

    def spy(x):
        seen.append(x.clone())
        return x

    plain = train(config, corpus, run, device="cpu")
    spied = train(config, corpus, run, device="cpu", batch_transform=spy)
    assert len(seen) == 640 // (4 * 16)           # one call per step
    assert spied["val_bpb"] == plain["val_bpb"]     # an identity transform changes nothing
    noisy = train_with_input_noise(config, corpus, run, 0.5, device="cpu")
    assert noisy["input_noise"] == 0.5 and noisy["val_bpb"] != plain["val_bpb"]
    assert train_with_input_noise(config, corpus, run, 0.0, device="cpu")["val_bpb"] == \
        plain["val_bpb"]

"""Sampling cuts, the hidden-state wrapper, the snippet task and fine-tuning (chapter 12)."""

import numpy as np
import pytest
import torch

from scalinglab.finetune import (
    Classifier,
    FineTuneConfig,
    accuracy,
    filter_logits,
    fine_tune,
    generate,
    hidden_states,
    sample_next,
    snippet_capacity,
    snippet_dataset,
)
from scalinglab.model import GPT, GPTConfig


def tiny_gpt(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=256, seq_len=16, n_layer=1, n_head=2, d_model=16))


def test_top_k_keeps_exactly_k():
    torch.manual_seed(0)
    logits = torch.randn(5, 256)
    logits[0, :10] = 3.0  # ties at the top still leave exactly k
    for k in (1, 3, 10, 256):
        kept = torch.isfinite(filter_logits(logits, top_k=k)).sum(-1)
        assert (kept == k).all()
    kept = torch.isfinite(filter_logits(logits, top_k=4))
    assert (logits.masked_fill(~kept, -1e9).topk(4).values == logits.topk(4).values).all()


def test_top_p_keeps_smallest_set_reaching_p():
    logits = torch.log(torch.tensor([0.5, 0.25, 0.15, 0.1]))
    for p, expected in ((0.3, 1), (0.5, 1), (0.6, 2), (0.75, 2), (0.8, 3), (0.95, 4), (1.0, 4)):
        kept = torch.isfinite(filter_logits(logits, top_p=p))
        assert int(kept.sum()) == expected, p
        assert kept[:expected].all()
    torch.manual_seed(1)
    logits = torch.randn(8, 50) * 2
    probs = torch.softmax(logits, -1)
    for p in (0.1, 0.5, 0.9):
        kept = torch.isfinite(filter_logits(logits, top_p=p))
        mass = (probs * kept).sum(-1)
        smallest_kept = probs.masked_fill(~kept, 2.0).min(-1).values
        assert (mass >= p - 1e-6).all()
        assert (mass - smallest_kept < p).all()  # dropping the least likely kept falls short


def test_temperature_zero_is_greedy_and_small_temperature_nearly_so():
    torch.manual_seed(2)
    logits = torch.randn(100, 30)
    assert (sample_next(logits, temperature=0) == logits.argmax(-1)).all()
    g = torch.Generator().manual_seed(0)
    assert (sample_next(logits, temperature=1e-4, generator=g) == logits.argmax(-1)).all()
    with pytest.raises(ValueError):
        sample_next(logits, temperature=-1)


def test_sampling_matches_the_distribution():
    logits = torch.log(torch.tensor([0.7, 0.2, 0.1])).expand(20_000, 3)
    g = torch.Generator().manual_seed(0)
    counts = np.bincount(sample_next(logits, generator=g).numpy(), minlength=3) / 20_000
    assert np.allclose(counts, [0.7, 0.2, 0.1], atol=0.015)


def test_generate_returns_bytes_and_surprise():
    model = tiny_gpt()
    sample = generate(model, b"def ", 40, temperature=1.0, top_k=50, seed=3)
    assert isinstance(sample.data, bytes) and len(sample.data) == 40
    assert sample.surprise_bits.shape == (40,) and (sample.surprise_bits >= 0).all()
    assert sample.data == generate(model, b"def ", 40, top_k=50, seed=3).data
    greedy = generate(model, b"def ", 20, temperature=0)
    assert greedy.bits_per_byte <= sample.bits_per_byte
    assert isinstance(sample.text, str)


def test_hidden_states_feed_the_tied_head():
    model = tiny_gpt().eval()
    idx = torch.randint(0, 256, (3, 16))
    with torch.no_grad():
        assert torch.allclose(model.lm_head(hidden_states(model, idx)), model(idx)[0], atol=1e-6)


def test_snippets_are_balanced_and_split_by_source():
    x, y = snippet_dataset(40, 32, "train", seed=0)
    xt, _ = snippet_dataset(40, 32, "test", seed=0)
    assert x.shape == (40, 32) and int(y.sum()) == 20
    train_rows = {bytes(r.tolist()) for r in x.to(torch.uint8)}
    assert not train_rows & {bytes(r.tolist()) for r in xt.to(torch.uint8)}
    with pytest.raises(ValueError):
        snippet_dataset(3, 32)


def test_fine_tune_learns_and_leaves_the_body_alone():
    body = tiny_gpt()
    before = {k: v.clone() for k, v in body.state_dict().items()}
    x, y = snippet_dataset(64, 16, "train", seed=0)
    clf = fine_tune(body, x, y, FineTuneConfig(steps=60, seed=0))
    assert accuracy(clf, x, y) > 0.8
    assert all(torch.equal(before[k], v) for k, v in body.state_dict().items())
    frozen = fine_tune(body, x, y, FineTuneConfig(steps=5), freeze_body=True, pool="last")
    assert all(torch.equal(before[k], v) for k, v in frozen.body.state_dict().items())
    assert isinstance(frozen, Classifier)


def test_snippet_capacity_is_what_snippet_dataset_can_cut():
    """The validation side is small: a profile with long contexts must ask for fewer."""
    cap = snippet_capacity(256, "test")
    assert cap % 2 == 0 and 100 < cap < 1000
    x, y = snippet_dataset(cap, 256, "test", seed=0)
    assert x.shape == (cap, 256) and int(y.sum()) == cap // 2
    with pytest.raises(ValueError, match=f"at most {cap} balanced ones; ask for fewer"):
        snippet_dataset(cap + 2, 256, "test", seed=0)
    assert snippet_capacity(64, "train") > snippet_capacity(64, "test")

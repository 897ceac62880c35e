"""scalinglab.curves: learning curves from records and the compute frontier (lab 1)."""

import numpy as np
import pytest

from scalinglab.curves import compute_curve, compute_frontier, learning_curve, smooth_curve


def _record(size, flops_per_token, tokens, bpb):
    return {"size": size, "flops_per_token": flops_per_token,
            "loss_curve": [[t, b] for t, b in zip(tokens, bpb, strict=True)]}


def _family():
    tokens = np.arange(1, 201) * 1000.0
    small = _record("small", 10.0, tokens, 2.0 + 5.0 * tokens ** -0.5)
    large = _record("large", 100.0, tokens, 1.5 + 5.0 * tokens ** -0.5)
    return small, large


def test_learning_curve_returns_arrays():
    tokens, bpb = learning_curve(_record("a", 1.0, [1, 2], [3.0, 2.5]))
    assert tokens.tolist() == [1, 2] and bpb.tolist() == [3.0, 2.5]


def test_learning_curve_without_curve_says_what_to_do():
    with pytest.raises(ValueError, match="no loss_curve"):
        learning_curve({"size": "d16"})


def test_smooth_curve_averages_in_log_bins():
    tokens = np.array([1.0, 10.0, 11.0, 12.0, 100.0])
    bpb = np.array([5.0, 3.0, 2.0, 1.0, 0.5])
    x, y = smooth_curve(tokens, bpb, bins_per_decade=1)
    assert np.allclose(x, [1.0, (10 * 11 * 12) ** (1 / 3), 100.0])
    assert np.allclose(y, [5.0, 2.0, 0.5])


def test_smooth_curve_removes_noise_but_keeps_the_trend():
    rng = np.random.default_rng(0)
    tokens = np.arange(1, 2001) * 100.0
    clean = 2.0 + 10.0 * tokens ** -0.3
    x, y = smooth_curve(tokens, clean + rng.normal(0, 0.1, tokens.size))
    late = x > 1e4
    assert np.all(np.abs(y[late] - (2.0 + 10.0 * x[late] ** -0.3)) < 0.05)


@pytest.mark.parametrize("tokens, bpb", [([], []), ([0.0, 1.0], [1.0, 1.0]), ([1.0], [1.0, 2.0])])
def test_smooth_curve_rejects_bad_input(tokens, bpb):
    with pytest.raises(ValueError):
        smooth_curve(tokens, bpb)


def test_compute_curve_multiplies_tokens_by_flops_per_token():
    small, _ = _family()
    flops, _ = compute_curve(small)
    tokens, _ = smooth_curve(*learning_curve(small))
    assert np.allclose(flops, 10.0 * tokens)


def test_frontier_never_rises_and_hands_over_to_the_larger_model():
    small, large = _family()
    frontier = compute_frontier([small, large])
    assert np.all(np.diff(frontier.bpb) <= 0)
    assert np.all(frontier.bpb <= frontier.envelope + 1e-12)
    assert frontier.best[0] == "small" and frontier.best[-1] == "large"
    assert frontier.best_at(5e4) == "small"  # the large model has not started yet
    assert frontier.flops[0] == pytest.approx(10.0 * 1000)
    assert frontier.flops[-1] == frontier.flops.max()
    with pytest.raises(ValueError, match="below the smallest budget"):
        frontier.best_at(1.0)


def test_frontier_keeps_a_finished_run_until_another_beats_it():
    # the small run ends low; the large one, just started, is still worse: the frontier stays flat
    tokens = np.arange(1, 101) * 1000.0
    small = _record("small", 1.0, tokens, np.linspace(3.0, 1.0, 100))
    large = _record("large", 10.0, tokens, np.linspace(3.0, 0.5, 100))
    frontier = compute_frontier([small, large])
    after = frontier.flops > 1e5
    assert np.all(np.diff(frontier.bpb) <= 0)
    assert np.any(frontier.envelope[after] > frontier.bpb[after])  # the raw envelope jumps up
    assert frontier.best[-1] == "large" and "small" in frontier.best


def test_frontier_needs_records():
    with pytest.raises(ValueError, match="no records"):
        compute_frontier([])

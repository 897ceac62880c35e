"""The comparison plane of chapter 11: the directly-trained curve, every method, the checks."""

import numpy as np
import pytest
import torch

from scalinglab.model import GPT, GPTConfig
from scalinglab.shrink import model_size_bytes, quantize
from scalinglab.shrink.compare import (
    Row,
    direct_curve,
    format_rows,
    plot_against_direct,
    quantization_check,
    quantize_per_tensor,
    shrink_all,
)


def _model(seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=16, seq_len=16, n_layer=2, n_head=2, d_model=16))


class _Corpus:
    def __init__(self):
        rng = np.random.default_rng(0)
        self.val = rng.integers(0, 16, 4096).astype(np.uint8)
        self.train = rng.integers(0, 16, 4096).astype(np.uint8)
        self.vocab_size = 16


def _records():
    return [{"size": "b", "n_params": 2000, "val_bpb": 2.0, "entropy_floor_bpb": 1.5},
            {"size": "a", "n_params": 1000, "val_bpb": 2.5, "entropy_floor_bpb": 1.5},
            {"size": "c", "n_params": 4000, "val_bpb": 1.75, "entropy_floor_bpb": 1.5}]


def test_curve_passes_through_points_and_follows_the_law_outside():
    curve = direct_curve(_records())
    assert list(curve.names) == ["a", "b", "c"]
    np.testing.assert_allclose(curve.bpb_at(curve.size_bytes), curve.val_bpb)
    # the excess halves per doubling on both ends: continued beyond them
    np.testing.assert_allclose(curve.bpb_at([2000, 32000]), [3.5, 1.625])
    assert curve.margin(8000, 1.9) > 0 and curve.margin(8000, 2.1) < 0
    assert list(curve.inside([5000, 20000])) == [True, False]


def test_plot_against_direct_draws_every_model_and_clips_the_damaged_one():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = direct_curve(_records(), profile="cpu")
    rows = [Row("float32", 8000, 1.9), Row("int8", 2000, 1.91), Row("int2", 1000, 9.0)]
    fig = plot_against_direct(rows, curve, floor=1.5, trained="trained now, tiny",
                              also=("gpu", _records()))
    ax = fig.axes[0]
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    assert [line.get_label() for line in stars] == [
        "float32 (trained now, tiny)", "int8 (trained now, tiny)", "int2 (trained now, tiny)"]
    top = curve.val_bpb.max() + 0.15
    assert stars[2].get_ydata()[0] == top <= ax.get_ylim()[1]  # drawn at the edge, not at 9
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "trained directly, reference (cpu)" in labels
    assert "trained directly, reference (gpu)" in labels and "entropy floor" in labels
    squares = [line for line in ax.lines if line.get_marker() == "s"]
    np.testing.assert_allclose(squares[0].get_xdata(), [8000, 4000, 16000])
    assert ax.get_xscale() == "log" and ax.get_ylim()[0] < 1.5
    plt.close(fig)


def test_curve_rejects_a_loss_below_the_floor():
    with pytest.raises(ValueError):
        direct_curve(_records(), floor=1.8)
    with pytest.raises(ValueError):
        direct_curve(_records()[:1])


def test_quantization_check_is_within_the_bound():
    model = _model()
    for bits in (8, 4):
        worst = quantization_check(model, quantize(model, bits))
        assert 0.5 < worst <= 1 + 1e-5


def test_per_tensor_is_no_better_than_per_channel():
    model = _model()
    with torch.no_grad():
        model.blocks[0].mlp.fc.weight[:8] *= 20  # rows of very different size
    per_row, per_matrix = quantize(model, 4), quantize_per_tensor(model, 4)
    w = model.blocks[0].mlp.fc.weight
    err_row = (w - per_row.model.blocks[0].mlp.fc.weight).pow(2).mean()
    err_matrix = (w - per_matrix.model.blocks[0].mlp.fc.weight).pow(2).mean()
    assert err_matrix > 2 * err_row
    assert per_matrix.size_bytes < per_row.size_bytes < model_size_bytes(model)


def test_shrink_all_rows():
    model, corpus = _model(), _Corpus()
    rows = shrink_all(model, corpus, eval_tokens=512)
    names = [r.method for r in rows]
    assert names[0] == "float32" and "int8" in names and "prune 80%" in names
    assert rows[0].size_bytes == model_size_bytes(model)
    assert all(r.size_bytes < rows[0].size_bytes for r in rows[1:])
    assert all(np.isfinite(r.val_bpb) for r in rows)
    table = format_rows(rows + [Row("x", 3000, 9.0)], direct_curve(_records()))
    assert "below?" in table and "int4" in table

"""ipywidgets explorers: move an exponent and watch a law change.

Each explorer is a pure figure function (tested without a browser) wrapped in
ipywidgets, so it is live in Jupyter and Colab.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from scalinglab.plots import PALETTE, loglog_axes, plot_power_law


def scale_factor(alpha: float, scale: float = 10.0) -> float:
    """How much a power law ``L ∝ x^(−α)`` multiplies the loss when ``x`` grows ``scale``-fold.

    A power law turns a ×10 in scale into a ×10^(−α) in loss, not a ×α
    (one of the errors the book corrects, chapter 1).
    """
    return float(scale ** (-alpha))


def exponent_figure(
    alpha: float, *, reference_alpha: float = 0.076, x_range=(1e6, 1e11)
) -> Figure:
    """Loss against scale for exponent ``alpha``, beside a reference exponent.

    Both curves start at the same loss at the left edge so only the slope differs.
    """
    x = np.logspace(np.log10(x_range[0]), np.log10(x_range[1]), 64)
    fig, ax = loglog_axes("parameters N", "loss (relative to N = 10⁶)")
    x0 = x_range[0]
    plot_power_law(ax, x, x0**reference_alpha, reference_alpha, color=PALETTE[1],
                   linestyle="--", label=f"α = {reference_alpha:.3f} (Kaplan et al. 2020)")
    plot_power_law(ax, x, x0**alpha, alpha, color=PALETTE[0], linewidth=2.5,
                   label=f"α = {alpha:.3f}")
    ax.set_title(f"×10 in N multiplies the loss by 10^(−α) = {scale_factor(alpha):.3f}")
    ax.legend(loc="lower left")
    return fig


def exponent_explorer(alpha: float = 0.076, *, reference_alpha: float = 0.076):
    """A slider over the exponent α showing :func:`exponent_figure`, with or without a kernel.

    The figures are drawn ahead for α from 0.04 to 0.60 in steps of 0.04 (plus ``alpha`` and the
    reference) and linked in the browser (:mod:`scalinglab.frames`), so the
    slider also moves on the book's website.
    """
    from scalinglab.frames import frame_slider, frame_values

    values = frame_values(0.04, 0.6, 15, include=(alpha, reference_alpha))
    return frame_slider(lambda a: exponent_figure(a, reference_alpha=reference_alpha),
                        values, value=alpha, description="α")


def power_law_figure(x, y, E: float, A: float, alpha: float) -> Figure:
    """Measured points, the law ``E + A·x^(−α)`` on log–log axes, and its log-space residuals.

    The top panel draws ``y`` against ``x`` with the curve and the floor ``E``
    (dotted); the bottom panel draws ``log10 y − log10 ŷ`` at each point, the
    quantity a log-space fit makes small (chapter 4). Lines, in order: points,
    curve, floor on the top axes; residual points and zero on the bottom axes.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    fig, (ax, res) = plt.subplots(
        2, 1, figsize=(6.0, 5.0), sharex=True, layout="constrained",
        gridspec_kw={"height_ratios": (3, 1)},
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.25)
    ax.set_ylabel("loss (bits per byte)")
    from matplotlib.ticker import ScalarFormatter

    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    grid = np.logspace(np.log10(x.min()) - 0.3, np.log10(x.max()) + 0.3, 128)
    ax.plot(x, y, "o", color=PALETTE[0], label="measured")
    plot_power_law(ax, grid, A, alpha, E, color=PALETTE[1],
                   label=f"E + A·x^(−α): E = {E:.3f}, A = {A:.3g}, α = {alpha:.3f}")
    ax.axhline(E if E > 0 else np.nan, color=PALETTE[1], linestyle=":", linewidth=1.0,
               label="floor E")
    ax.legend(loc="upper right", fontsize="small")
    predicted = E + A * x ** (-alpha)
    residual = np.log10(y) - np.log10(predicted)
    res.plot(x, residual, "o", color=PALETTE[0])
    res.axhline(0.0, color="0.4", linewidth=1.0)
    res.set_xlabel("non-embedding parameters N")
    res.set_ylabel("log₁₀ y − log₁₀ ŷ")
    res.grid(True, which="both", alpha=0.25)
    rms = float(np.sqrt(np.mean(residual**2)))
    ax.set_title(f"rms log₁₀ residual = {rms:.4f}")
    return fig


def best_amplitude(x, y, E: float, alpha: float) -> float:
    """The A that best fits ``log(y − E) = log A − α log x`` for a given α and floor E."""
    x = np.asarray(x, dtype=float)
    gap = np.asarray(y, dtype=float) - E
    if np.any(gap <= 0):
        raise ValueError(f"every loss must lie above the floor E = {E:.4g} to draw the law "
                         f"through it; lower E (the smallest loss is {np.min(y):.4g})")
    return float(np.exp(np.mean(np.log(gap) + alpha * np.log(x))))


def power_law_frames(x, y, E: float | None = None, count: int = 20):
    """α drawn ahead: :func:`power_law_figure` for each α with E fixed and A at its best.

    With ``E=None`` the floor is the free least-squares fit's. Works with no
    kernel (:mod:`scalinglab.frames`); the box also has ``E`` and ``alpha_fit``.
    """
    from scalinglab.fit import fit_power_law
    from scalinglab.frames import frame_slider, frame_values

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    fitted = fit_power_law(x, y, E=E, loss="squares")
    floor = float(fitted.E)
    alpha_fit = float(fitted.alpha)
    values = frame_values(max(0.01, alpha_fit / 3), max(2 * alpha_fit, alpha_fit + 0.1), count,
                          include=(alpha_fit,))
    box = frame_slider(
        lambda a: power_law_figure(x, y, floor, best_amplitude(x, y, floor, a), a),
        values, value=alpha_fit, description="α")
    box.E, box.alpha_fit = floor, alpha_fit
    return box


def power_law_explorer(x, y, E: float | None = None):
    """Two tabs over measured points: α drawn ahead (moves anywhere), and live E, A, α + fit.

    The first tab (:func:`power_law_frames`) works on the website with no kernel.
    In the second, moving a slider redraws :func:`power_law_figure`; "fit" snaps
    the sliders to :func:`scalinglab.fit.fit_power_law` (E fixed at ``E`` when
    it is a number, free when None) and shows the 95 % bootstrap interval for α.
    The returned ``Tab`` has ``frames`` (the first tab), ``sliders``,
    ``fit_button``, ``label`` and ``figure`` (the last figure drawn) attributes.
    """
    import ipywidgets as widgets

    frames = power_law_frames(x, y, E)
    live = live_power_law_explorer(x, y, E)
    tabs = widgets.Tab(children=[frames, live],
                       titles=["move α", "live: E, A, α, fit"])
    tabs.frames = frames
    for name in ("sliders", "fit_button", "label"):
        setattr(tabs, name, getattr(live, name))
    tabs.live = live
    return tabs


def live_power_law_explorer(x, y, E: float | None = None):
    """Sliders for E, A and α over measured points, and a "fit" button (needs a kernel).

    Moving a slider redraws :func:`power_law_figure`; "fit" snaps the sliders
    to :func:`scalinglab.fit.fit_power_law` (E fixed at ``E`` when it is a
    number, free when None) and shows the 95 % bootstrap interval for α.
    Returns an ipywidgets box; its ``sliders``, ``fit_button``, ``label`` and
    ``figure`` (the last figure drawn) attributes are there for inspection.
    """
    import ipywidgets as widgets
    from IPython.display import display

    from scalinglab.fit import fit_power_law

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    start = fit_power_law(x, y, E=0.0)
    E0 = 0.5 * float(y.min()) if E is None else float(E)
    log_a = np.log10(start.A)
    sliders = {
        "E": widgets.FloatSlider(value=E0, min=0.0, max=float(y.min()) * 0.999,
                                 step=0.001, description="E", readout_format=".3f",
                                 continuous_update=False),
        "A": widgets.FloatLogSlider(value=start.A, base=10, min=np.floor(log_a) - 3,
                                    max=np.ceil(log_a) + 5, step=0.01, description="A",
                                    readout_format=".3g", continuous_update=False),
        "alpha": widgets.FloatSlider(value=max(start.alpha, 0.0), min=0.0, max=2.0,
                                     step=0.001, description="α", readout_format=".3f",
                                     continuous_update=False),
    }
    fit_button = widgets.Button(description="fit")
    label = widgets.Label(value="press “fit” for the least-squares values")
    output = widgets.Output()
    box = widgets.VBox([*sliders.values(), widgets.HBox([fit_button, label]), output])
    box.sliders, box.fit_button, box.label, box.figure = sliders, fit_button, label, None
    busy = {"on": False}

    def draw(_change=None) -> None:
        if busy["on"]:
            return
        fig = power_law_figure(x, y, sliders["E"].value, sliders["A"].value,
                               sliders["alpha"].value)
        box.figure = fig
        with output:
            output.clear_output(wait=True)
            display(fig)
        plt.close(fig)

    def fit(_button=None) -> None:
        result = fit_power_law(x, y, E=E, loss="squares")
        busy["on"] = True
        try:
            a_slider = sliders["A"]
            log_a = np.log10(result.A)
            a_slider.min = min(a_slider.min, np.floor(log_a) - 1)
            a_slider.max = max(a_slider.max, np.ceil(log_a) + 1)
            sliders["alpha"].max = max(sliders["alpha"].max, np.ceil(result.alpha))
            sliders["E"].value = result.E
            a_slider.value = result.A
            sliders["alpha"].value = result.alpha
        finally:
            busy["on"] = False
        try:
            low, high = result.ci()["alpha"]
            interval = f"95 % interval [{low:.3f}, {high:.3f}]"
        except ValueError as err:
            interval = f"no interval ({err})"
        floor = f"E fixed at {result.E:.3f}" if result.E_fixed else f"E = {result.E:.3f} (free)"
        label.value = f"fit: {floor}, A = {result.A:.3g}, α = {result.alpha:.3f}, {interval}"
        draw()

    for slider in sliders.values():
        slider.observe(draw, names="value")
    fit_button.on_click(fit)
    draw()
    return box


CODE_LENGTH_MESSAGE_SYMBOLS = 1000
"""Length n of the message the code-length explorer's arithmetic coder codes."""


def code_lengths(zipf_exponent: float, vocab_size: int = 16, *,
                 n_symbols: int = CODE_LENGTH_MESSAGE_SYMBOLS,
                 seed: int = 0) -> tuple[float, float, float]:
    """Entropy, Huffman length and real arithmetic-code length, in bits per symbol.

    For the Zipf distribution over ``vocab_size`` symbols: ``H`` (the floor),
    the Huffman code's expected length ``L`` (H ≤ L < H + 1, a symbol code spends
    a whole number of bits on every symbol), and the length of the actual bytes
    the library's range coder writes for a seeded sample of ``n_symbols`` symbols
    with a static model that knows the distribution (its quantised frequencies,
    nothing sent in front), divided by ``n_symbols``. That last number is the
    sample's ideal code length plus the coder's flush (at most a few bytes per
    message), so it sits near H + O(1/n) and fluctuates around H with the sample.
    """
    from scalinglab.compress import RangeEncoder, huffman_code, quantize_probabilities
    from scalinglab.compress.quantize import FREQUENCY_TOTAL_BITS
    from scalinglab.data import zipf_distribution
    from scalinglab.entropy import entropy

    p = zipf_distribution(vocab_size, zipf_exponent)
    h = entropy(p)
    huffman = huffman_code(p).average_length(p)
    symbols = np.random.default_rng(seed).choice(vocab_size, size=n_symbols, p=p)
    freqs = quantize_probabilities(p, FREQUENCY_TOTAL_BITS)
    cums = np.concatenate([[0], np.cumsum(freqs)]).tolist()
    freq_list = freqs.tolist()
    encoder = RangeEncoder()
    for s in symbols.tolist():
        encoder.encode(cums[s], freq_list[s], FREQUENCY_TOTAL_BITS)
    arithmetic = 8 * len(encoder.finish()) / n_symbols
    return h, huffman, arithmetic


def code_length_figure(zipf_exponent: float, vocab_size: int = 16) -> Figure:
    """Bars of H, the Huffman length and the arithmetic code's length for a Zipf source.

    Why: a symbol code wastes up to a bit per symbol (most when the source is
    skewed and H is small), while arithmetic coding pays about 2 bits per
    *message*, so its per-symbol cost stays at H whatever the exponent (chapter 3).
    Bars, in order: entropy, Huffman, arithmetic (n = 1000 symbols).
    """
    n = CODE_LENGTH_MESSAGE_SYMBOLS
    h, huffman, arithmetic = code_lengths(zipf_exponent, vocab_size, n_symbols=n)
    fig, ax = plt.subplots(figsize=(6.0, 4.0), layout="constrained")
    labels = ["entropy H", "Huffman code", f"arithmetic code\n(n = {n})"]
    values = [h, huffman, arithmetic]
    bars = ax.bar(labels, values, color=PALETTE[:3])
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(f"{value:.3f}", (bar.get_x() + bar.get_width() / 2, value),
                    ha="center", va="bottom", xytext=(0, 2), textcoords="offset points")
    ax.axhline(h, color="0.4", linestyle=":", linewidth=1.0)
    ax.set_xlabel(f"code for a Zipf source, {vocab_size} symbols, exponent {zipf_exponent:.2f}")
    ax.set_ylabel("code length (bits per symbol)")
    ax.set_ylim(0, max(values) * 1.15 + 0.05)
    ax.set_title(f"H = {h:.3f}, Huffman = {huffman:.3f}, "
                 f"arithmetic = {arithmetic:.3f} bits/symbol")
    return fig


def code_length_explorer(zipf_exponent: float = 1.0, vocab_size: int = 16):
    """A slider over the Zipf exponent showing :func:`code_length_figure`, with or without a
    kernel (figures drawn ahead for s = 0 to 4, linked in the browser: :mod:`scalinglab.frames`)."""
    from scalinglab.frames import frame_slider, frame_values

    values = frame_values(0.0, 4.0, 17, include=(zipf_exponent,))
    return frame_slider(lambda s: code_length_figure(s, vocab_size), values,
                        value=zipf_exponent, description="Zipf s", readout="{:.2f}")

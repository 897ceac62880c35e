"""A ladder of models as a ladder of file sizes: train a family, code held-out bytes with each.

``train_ladder`` trains the profile's model sizes on a corpus with
:mod:`scalinglab.train` and saves one checkpoint per size into a folder (a
checkpoint already there is reused, so an interrupted run resumes).
``code_ladder`` codes the same held-out bytes with each checkpoint through the
range coder, decodes the archive back, checks it byte for byte and returns one
row per model: archive size, bits per byte, the model's ideal code length, the
coder's overhead, the two-part cost with the weights, and the speeds.

Used by ``labs/03_compression_lab.ipynb`` and ``benchmarks/compression.py``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from scalinglab.compress.api import compress, decompress_bytes
from scalinglab.model import load_checkpoint, save_checkpoint
from scalinglab.profiles import Profile, get_profile


def model_size_tokens(profile: Profile | str) -> dict[str, int]:
    """Each size of the profile's model-size sweep and the tokens it trains on."""
    profile = get_profile(profile)
    names = [s.name for s in profile.model_sizes]
    return dict(zip(names, profile.model_size_tokens, strict=True))


def train_checkpoint(corpus, profile: Profile | str, size: str, folder: str | os.PathLike,
                     tokens: int | None = None, device: str | None = None) -> tuple[Path, dict]:
    """Train one size of ``profile`` on ``corpus`` and save it as ``folder/CORPUS-SIZE.pt``.

    Returns the checkpoint's path and the run record (n_params, tokens, val_bpb,
    train_s). An existing checkpoint is loaded instead of trained again. ``device``
    defaults to the profile's; coding always runs on the CPU.
    """
    from scalinglab.train import TrainConfig, train_model

    profile = get_profile(profile)
    path = Path(folder) / f"{corpus.name}-{size}.pt"
    if path.exists():
        return path, load_checkpoint(path)[1]["record"]
    if tokens is None:
        tokens = model_size_tokens(profile)[size]
    config = profile.size(size).config(corpus.vocab_size, profile.seq_len)
    train_config = TrainConfig(tokens=tokens, batch_size=profile.batch_size,
                               lr_base=profile.lr_base, seed=0,
                               eval_tokens=min(profile.eval_tokens, len(corpus.val) - 1))
    t0 = time.perf_counter()
    model, record = train_model(config, corpus, train_config, device=device or profile.device,
                                progress=False,
                                num_threads=profile.num_threads)
    train_s = time.perf_counter() - t0
    summary = {"size": size, "n_params": record["n_params"], "tokens": tokens,
               "val_bpb": record["val_bpb"], "train_s": train_s}
    save_checkpoint(model, path, corpus=corpus.name, record=summary)
    return path, summary


def train_ladder(corpus, profile: Profile | str, folder: str | os.PathLike,
                 sizes: list[str] | tuple[str, ...] | None = None,
                 progress: bool = True) -> list[tuple[Path, dict]]:
    """``train_checkpoint`` for each size (all of the profile's when ``sizes`` is None)."""
    profile = get_profile(profile)
    out = []
    for size in sizes or model_size_tokens(profile):
        path, record = train_checkpoint(corpus, profile, size, folder)
        out.append((path, record))
        if progress:
            print(f"  {size}: {record['n_params']:,} parameters, val {record['val_bpb']:.3f} "
                  f"bits/byte, trained in {record['train_s']:.1f} s", flush=True)
    return out


def _kb_per_s(n_bytes: int, wall_s: float) -> float:
    return n_bytes / 1000 / wall_s if wall_s > 0 else float("inf")


def code_checkpoint(checkpoint: str | os.PathLike, held_out: bytes,
                    decode_bytes: int | None = None) -> dict:
    """Code ``held_out`` with a checkpoint, decode it back, and return what it cost.

    ``decode_bytes=None`` decodes the whole archive; a number decodes a separately
    coded prefix of that many bytes instead. A mismatch raises ``AssertionError``.
    """
    held_out = bytes(held_out)
    result = compress(held_out, checkpoint)
    if decode_bytes is None or decode_bytes >= len(held_out):
        checked, archive = held_out, result.archive
    else:
        checked = held_out[:decode_bytes]
        archive = compress(checked, checkpoint).archive
    t0 = time.perf_counter()
    back = decompress_bytes(archive, checkpoint=checkpoint)
    decode_s = time.perf_counter() - t0
    if back != checked:
        raise AssertionError(f"{Path(checkpoint).name}: the archive did not decode back")
    return {
        "size_bytes": result.size_bytes,
        "header_bytes": result.header_bytes,
        "bits_per_byte": result.bits_per_byte,
        "ideal_bits_per_byte": result.ideal_bits_per_byte,
        "coder_overhead": result.coder_overhead,
        "two_part_bits_per_byte": result.two_part_bits_per_byte,
        "weights_bytes": result.weights_bytes,
        "encode_kb_per_s": _kb_per_s(len(held_out), result.wall_s),
        "decode_kb_per_s": _kb_per_s(len(checked), decode_s),
        "decoded_bytes": len(checked),
        "decoded_ok": True,
    }


def code_ladder(ladder: list[tuple[Path, dict]], held_out: bytes,
                decode_bytes: int | None = None, progress: bool = True) -> list[dict]:
    """``code_checkpoint`` for each (checkpoint, record) of ``train_ladder``: one row each."""
    rows = []
    for path, record in ladder:
        row = {**record, **code_checkpoint(path, held_out, decode_bytes)}
        rows.append(row)
        if progress:
            print(f"  {record['size']}: {row['bits_per_byte']:.3f} bits/byte, encoded at "
                  f"{row['encode_kb_per_s']:.1f} KB/s, decoded {row['decoded_bytes']:,} bytes "
                  f"back at {row['decode_kb_per_s']:.1f} KB/s",
                  flush=True)
    return rows


def scoreboard(rows: list[dict], baselines: list, floor: float | None = None) -> str:
    """Models (rows of ``code_ladder``) and baselines (``run_baselines``) as one text table.

    Sorted from the smallest file to the largest; ``floor`` adds the entropy floor.
    """
    lines = [f"{'coder':<22}{'bits/byte':>10}{'ideal':>8}{'overhead':>10}{'bytes':>8}"]
    if floor is not None:
        lines.append(f"{'entropy floor':<22}{floor:>10.3f}")
    entries = [(r["bits_per_byte"], f"{r['size']} ({r['n_params']:,} p)",
                f"{r['ideal_bits_per_byte']:>8.3f}{100 * r['coder_overhead']:>9.3f}%",
                r["size_bytes"]) for r in rows]
    entries += [(b.bits_per_byte, b.name, " " * 18, b.size_bytes) for b in baselines]
    for bpb, name, middle, size in sorted(entries, key=lambda e: e[0]):
        lines.append(f"{name:<22}{bpb:>10.3f}{middle}{size:>8,}")
    return "\n".join(lines)


_BASELINE_COLOURS = {"gzip": 0, "bz2": 1, "xz": 2, "zstd": 3}


def plot_scoreboard(rows: list[dict], baselines: list, floor: float | None = None, *,
                    label: str = "trained now", title: str | None = None):
    """Bits per byte against parameters (log x): one point per model, a line per baseline.

    Filled points are whole archives, open ones the models' ideal code lengths;
    baselines alone are dashed, given the training text dotted. Returns (fig, ax).
    """
    import matplotlib.pyplot as plt

    from scalinglab.plots import PALETTE

    fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    ax.set_xscale("log")
    ax.grid(True, which="both", alpha=0.25)
    n = [r["n_params"] for r in rows]
    ax.plot(n, [r["bits_per_byte"] for r in rows], "o-", color="black",
            label=f"archive, {label}")
    ax.plot(n, [r["ideal_bits_per_byte"] for r in rows], "o--", color="black",
            mfc="white", label=f"ideal code length, {label}")
    for b in baselines:
        colour = PALETTE[_BASELINE_COLOURS[b.name.split()[0]]]
        ax.axhline(b.bits_per_byte, color=colour, ls=":" if b.given_train else "--",
                   lw=1.2, label=b.name)
    if floor is not None:
        ax.axhline(floor, color="grey", lw=2, label=f"entropy floor {floor:.3f}")
    ax.set_xlabel("parameters N")
    ax.set_ylabel("bits per byte")
    if title:
        ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return fig, ax

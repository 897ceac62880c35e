"""The book's thesis on real text: a family of models against gzip, bz2, xz and zstd.

A reference family on a real-text corpus (``model-size`` on ``stdlib`` or
``pydocs``) is scored on fixed held-out bytes: each record's ``val_bpb`` is the
model's ideal code length on exactly those bytes (:func:`scored_bytes`). The
standard compressors are run on the same bytes, alone and given the whole
training split, and saved beside the reference
(``reference/<profile>_baselines_<corpus>.json``) with provenance, so the
figure is the same whatever Python a reader runs (the corpora are Python's own
files and change between versions).

:func:`crossings` says, for each compressor, the first model that beats it or
by how much the largest misses, and what the weights cost: a two-part code sends
the float32 weights too, and pays them back only on a text of
``32 N / (b_baseline − b_model)`` bytes or more.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scalinglab.compress.baselines import BaselineResult, run_baselines

WEIGHT_BITS = 32
"""float32 weights, as the checkpoints store them."""


def scored_bytes(val: np.ndarray, seq_len: int, eval_tokens: int) -> bytes:
    """The held-out bytes that :func:`scalinglab.train.eval_windows` scores, as one text.

    Windows of ``seq_len + 1`` bytes start every ``seq_len`` bytes, so together
    they cover ``val[: n·seq_len + 1]``, each byte after the first predicted once.
    """
    n = min(eval_tokens // seq_len, (len(val) - 1) // seq_len)
    return np.asarray(val[: n * seq_len + 1], dtype=np.uint8).tobytes()


def baselines_path(profile: str, corpus: str, folder: str | os.PathLike | None = None) -> Path:
    from scalinglab.reference import REFERENCE_DIR

    return Path(folder or REFERENCE_DIR) / f"{profile}_baselines_{corpus}.json"


def measure_baselines(profile: str, corpus: str) -> dict:
    """Run every baseline on the bytes ``profile``'s reference on ``corpus`` is scored on."""
    from scalinglab.data import load_corpus
    from scalinglab.profiles import reference_text_design
    from scalinglab.provenance import provenance

    design = reference_text_design(profile, corpus)
    data = load_corpus(corpus)
    held = scored_bytes(data.val, design.seq_len, design.eval_tokens)
    train = np.asarray(data.train, dtype=np.uint8).tobytes()
    results = run_baselines(held, train)
    return {"profile": profile, "corpus": corpus, "held_out_bytes": len(held),
            "held_out_sha256": hashlib.sha256(held).hexdigest(), "train_bytes": len(train),
            **provenance("cpu"),
            "results": [{"name": r.name, "size_bytes": r.size_bytes,
                         "bits_per_byte": r.bits_per_byte, "given_train": r.given_train}
                        for r in results]}


def write_baselines(profile: str, corpus: str, folder: str | os.PathLike | None = None) -> Path:
    """Measure and save the baselines of ``profile``'s reference on ``corpus``."""
    from scalinglab._io import atomic_file

    path = baselines_path(profile, corpus, folder)
    with atomic_file(path) as f:
        f.write((json.dumps(measure_baselines(profile, corpus), indent=1) + "\n").encode())
    return path


def load_baselines(profile: str, corpus: str,
                   folder: str | os.PathLike | None = None) -> tuple[list[BaselineResult], dict]:
    """The saved baselines (measured now, not saved, when there is no file) and their header."""
    path = baselines_path(profile, corpus, folder)
    try:
        saved = json.loads(path.read_text()) if path.exists() else measure_baselines(profile,
                                                                                     corpus)
        results = [BaselineResult(r["name"], int(r["size_bytes"]), float(r["bits_per_byte"]),
                                  0.0, bool(r["given_train"])) for r in saved["results"]]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a baselines file ({err}); delete it and rerun "
                         f"`python -m scalinglab reference --profile {profile} --corpus "
                         f"{corpus}`") from None
    header = {k: v for k, v in saved.items() if k != "results"}
    return results, header


@dataclass(frozen=True)
class Crossing:
    """Where a family of models stands against one compressor."""

    baseline: str
    baseline_bpb: float
    first_size: str | None      # the smallest model that beats it, if any
    gap_bpb: float              # largest model minus baseline: negative when it wins
    break_even_bytes: float     # text length from which the weights are paid back (inf: never)

    def sentence(self) -> str:
        if self.first_size is None:
            return (f"{self.baseline} ({self.baseline_bpb:.3f}): missed by "
                    f"{self.gap_bpb:.3f} bits/byte at the largest model")
        return (f"{self.baseline} ({self.baseline_bpb:.3f}): beaten from {self.first_size} on; "
                f"the largest model's weights are paid back from "
                f"{self.break_even_bytes / 1e6:,.1f} MB of text")


def crossings(records: list[dict], baselines: list[BaselineResult]) -> list[Crossing]:
    """For each baseline: the first model below it, the largest model's gap, the break-even."""
    family = sorted(records, key=lambda r: r["n_params"])
    largest = family[-1]
    out = []
    for b in sorted(baselines, key=lambda b: b.bits_per_byte):
        first = next((r["size"] for r in family if r["val_bpb"] < b.bits_per_byte), None)
        saved = b.bits_per_byte - largest["val_bpb"]
        out.append(Crossing(b.name, b.bits_per_byte, first, -saved,
                            WEIGHT_BITS * largest["n_params"] / saved if saved > 0
                            else float("inf")))
    return out


def summary(crossings_: list[Crossing]) -> str:
    """One sentence: which compressors the largest model beats, and the nearest one it misses."""
    beaten = [c.baseline for c in crossings_ if c.gap_bpb < 0]
    missed = [c for c in crossings_ if c.gap_bpb >= 0]
    said = []
    if beaten:
        said.append(f"beats {_listed(beaten)}")
    if missed:
        near = min(missed, key=lambda c: c.gap_bpb)
        said.append(f"misses {_listed([c.baseline for c in missed])}, the nearest "
                    f"({near.baseline}) by {near.gap_bpb:.3f} bits per byte")
    return "the largest model " + " and ".join(said)


def _listed(names: list[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def two_part_bpb(record: dict, n_bytes: int) -> float:
    """Bits per byte on ``n_bytes`` of text when the float32 weights are sent too."""
    return record["val_bpb"] + WEIGHT_BITS * record["n_params"] / n_bytes


_COLOURS = {"gzip": 0, "bz2": 1, "xz": 2, "zstd": 3}


def plot_against_compressors(families: dict[str, list[dict]], baselines: list[BaselineResult],
                             *, ax=None, title: str | None = None, legend: bool = True):
    """Bits per byte against parameters (log x): a line per family, a level per compressor.

    Compressors alone are dashed, given the training text solid. Returns the axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    from scalinglab.plots import PALETTE

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.4), layout="constrained")
    ax.set_xscale("log")
    ax.grid(True, which="both", alpha=0.25)
    for (label, records), marker in zip(families.items(), "os^D", strict=False):
        family = sorted(records, key=lambda r: r["n_params"])
        ax.plot([r["n_params"] for r in family], [r["val_bpb"] for r in family],
                marker + "-", color="black", mfc="black" if marker == "o" else "white",
                label=label)
    for b in baselines:
        ax.axhline(b.bits_per_byte, color=PALETTE[_COLOURS[b.name.split()[0]]],
                   ls="-" if b.given_train else "--", lw=1.2, label=b.name)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("parameters N (every weight counts)")
    ax.set_ylabel("held-out bits per byte")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return ax

"""Bits per byte for every coder and baseline, corpus by corpus: where does a model win?

    .venv/bin/python benchmarks/compression.py                  # tiny sweep, ≈ 5 min on 2 cores
    .venv/bin/python benchmarks/compression.py --profile cpu --sweep-corpora synthetic

For each corpus the held-out split (at most ``--sample-bytes``) is coded by

* the count models (static order-0, adaptive order-0…5), self-contained, and
  order-2/order-5 primed with the training text;
* the standard compressors, self-contained and given the training text;
* a prequential transformer (trained online by both ends);
* a pre-trained transformer at each size of the profile's model-size sweep
  (trained here with :mod:`scalinglab.train` on the corpus's training split),
  so the table shows where a model overtakes each baseline.

Every count-model archive is decoded back and compared byte for byte. The
transformer decoders run one forward pass per byte, so they are checked, and
timed, on a separately coded prefix of ``--decode-check-bytes``.

The table goes to stdout and to ``benchmarks/results/compression_<profile>.md``
with provenance (date, machine, torch, commit). Timings on a shared machine are
indicative.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scalinglab.compress import (  # noqa: E402
    compress,
    decompress_bytes,
    run_baselines,
)

RESULTS = ROOT / "benchmarks" / "results"
TRAIN_GIVEN_BYTES = 1_000_000
"""The baselines' and the pre-trained models' training text: at most this much of train."""
PRIME_BYTES = 340_000
"""Primed count models read at most this much training text (pure Python reads ~50-200 KB/s)."""


def _kbps(n_bytes: int, wall_s: float) -> float:
    return n_bytes / 1000 / wall_s if wall_s > 0 else float("inf")


def count_rows(held: bytes, train: bytes) -> list[dict]:
    rows = []
    prime = train[:PRIME_BYTES]
    runs = [(m, None) for m in ("static", "order0", "order1", "order2", "order3", "order4",
                                "order5")]
    runs += [("order2", prime), ("order5", prime)]
    for model, primer in runs:
        result = compress(held, model, prime=primer)
        t0 = time.perf_counter()
        back = decompress_bytes(result.archive, prime=primer)
        dec_s = time.perf_counter() - t0
        assert back == held, f"{model} failed to round-trip"
        # Priming time is in both encode and decode wall time; report coding speed alone.
        prime_s = 0.0
        if primer:
            t0 = time.perf_counter()
            compress(b"", model, prime=primer)
            prime_s = time.perf_counter() - t0
        rows.append({
            "coder": model + (f" +train ({len(primer) // 1000} KB read)" if primer else ""),
            "kind": "count",
            "given_train": bool(primer),
            "bpb": result.bits_per_byte,
            "ideal_bpb": result.ideal_bits_per_byte,
            "overhead": result.coder_overhead,
            "enc_kbps": _kbps(len(held), result.wall_s - prime_s),
            "dec_kbps": _kbps(len(held), dec_s - prime_s),
            "verified": f"all {len(held):,} B",
        })
    return rows


def baseline_rows(held: bytes, train: bytes) -> list[dict]:
    return [{
        "coder": r.name,
        "kind": "baseline",
        "given_train": r.given_train,
        "bpb": r.bits_per_byte,
        "enc_kbps": _kbps(len(held), r.wall_s),
    } for r in run_baselines(held, train)]


def transformer_row(held: bytes, model, label: str, check_bytes: int, **extra) -> dict:
    """Code all of ``held``; decode a separately coded prefix to verify and time the decoder."""
    result = compress(held, model)
    prefix = held[:check_bytes]
    small = compress(prefix, model)
    checkpoint = model if label.startswith("pretrained") else None
    t0 = time.perf_counter()
    assert decompress_bytes(small.archive, checkpoint=checkpoint) == prefix, label
    dec_s = time.perf_counter() - t0
    return {
        "coder": label,
        "kind": "transformer",
        "bpb": result.bits_per_byte,
        "ideal_bpb": result.ideal_bits_per_byte,
        "overhead": result.coder_overhead,
        "two_part_bpb": result.two_part_bits_per_byte,
        "enc_kbps": _kbps(len(held), result.wall_s),
        "dec_kbps": _kbps(len(prefix), dec_s),
        "verified": f"first {len(prefix):,} B",
        **extra,
    }


def sweep_rows(corpus, held: bytes, profile, check_bytes: int, sizes: list[str] | None,
               folder: Path) -> list[dict]:
    from scalinglab.compress.ladder import model_size_tokens, train_checkpoint

    rows = []
    for size in model_size_tokens(profile):
        if sizes and size not in sizes:
            continue
        path, record = train_checkpoint(corpus, profile, size, folder, device="cpu")
        rows.append(transformer_row(
            held, path, f"pretrained {size}", check_bytes,
            n_params=record["n_params"], tokens=record["tokens"], val_bpb=record["val_bpb"],
            train_s=record["train_s"],
        ))
        print(f"  {size}: {rows[-1]['bpb']:.3f} bits/byte "
              f"(trained {record['train_s']:.0f} s, val_bpb {record['val_bpb']:.3f})", flush=True)
    return rows


def corpus_table(name: str, held: bytes, rows: list[dict], floor: float | None) -> str:
    xz = next(r["bpb"] for r in rows if r["coder"] == "xz -9e")
    xz_train = next((r["bpb"] for r in rows if r["coder"] == "xz -9e +train"), None)
    lines = [f"### {name}: {len(held):,} held-out bytes"
             + (f", entropy floor {floor:.4f} bits/byte" if floor else ""), ""]
    head = "| coder | bits/byte | " + ("× floor | " if floor else "")
    head += "÷ xz -9e | ideal | coder overhead | two-part | encode KB/s | decode KB/s | decoded |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    if floor:
        lines.append(f"| entropy floor (exact) | {floor:.4f} | 1.000 | {floor / xz:.3f} "
                     "| | | | | | |")
    for r in sorted(rows, key=lambda r: r["bpb"]):
        cells = [r["coder"], f"{r['bpb']:.4f}"]
        if floor:
            cells.append(f"{r['bpb'] / floor:.3f}")
        cells.append(f"{r['bpb'] / xz:.3f}")
        cells.append(f"{r['ideal_bpb']:.4f}" if "ideal_bpb" in r else "")
        cells.append(f"{100 * r['overhead']:.3f} %" if "overhead" in r else "")
        two = r.get("two_part_bpb")
        cells.append(f"{two:.3f}" if two is not None else "")
        cells.append(f"{r['enc_kbps']:.1f}")
        cells.append(f"{r['dec_kbps']:.1f}" if "dec_kbps" in r else "")
        cells.append(r.get("verified", ""))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += crossover(rows, xz, xz_train, floor)
    return "\n".join(lines)


def crossover(rows: list[dict], xz: float, xz_train: float | None,
              floor: float | None) -> list[str]:
    """Which baselines the pre-trained models beat, size by size (archive bits per byte)."""
    models = [r for r in rows if r["coder"].startswith("pretrained")]
    if not models:
        return ["Pre-trained transformer sweep: not run for this corpus.", ""]
    baselines = [r for r in rows if r["kind"] == "baseline"]
    out = ["Crossover (pre-trained transformer archives vs. each baseline):", ""]
    for b in baselines:
        winners = [m["coder"].split()[1] for m in models if m["bpb"] < b["bpb"]]
        first = winners[0] if winners else None
        verdict = (f"overtaken from {first} on" if first and len(winners) == len(models)
                   else f"beaten by {', '.join(winners)}" if winners else "never overtaken")
        out.append(f"- {b['coder']} ({b['bpb']:.3f}): {verdict}")
    best = min(models, key=lambda m: m["bpb"])
    largest = max(models, key=lambda m: m["n_params"])
    if floor:
        out.append(f"- largest model {largest['coder']} ({largest['n_params']:,} parameters): "
                   f"{largest['bpb'] / floor:.3f} × the entropy floor "
                   f"(model's own val_bpb {largest['val_bpb']:.3f})")
    out.append(f"- best model {best['coder']}: {best['bpb']:.3f} bits/byte, "
               f"{best['bpb'] / xz:.3f} × xz -9e"
               + (f", {best['bpb'] / xz_train:.3f} × xz -9e given the training text"
                  if xz_train else ""))
    return out + [""]


def main(argv: list[str] | None = None) -> int:
    from scalinglab.data import load_corpus
    from scalinglab.data.download import is_cached
    from scalinglab.profiles import get_profile
    from scalinglab.provenance import provenance

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="tiny", help="model-size sweep to run (tiny, cpu)")
    parser.add_argument("--corpora", default="synthetic,pydocs,stdlib,shakespeare,enwik8")
    parser.add_argument("--sweep-corpora", default="synthetic,pydocs",
                        help="corpora on which to train and code the model-size sweep")
    parser.add_argument("--sizes", default="", help="only these sweep sizes, e.g. d64-L3")
    parser.add_argument("--sample-bytes", type=int, default=100_000)
    parser.add_argument("--decode-check-bytes", type=int, default=2_000)
    parser.add_argument("--no-transformer", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    profile = get_profile(args.profile)
    sizes = [s for s in args.sizes.split(",") if s] or None
    sweep_corpora = {c for c in args.sweep_corpora.split(",") if c}
    started = time.perf_counter()
    sections = []
    skipped = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in [c for c in args.corpora.split(",") if c]:
            if name in ("shakespeare", "enwik8") and not is_cached(name):
                skipped.append(name)
                continue
            print(f"[{time.perf_counter() - started:5.0f} s] {name}", flush=True)
            corpus = load_corpus(name)
            held = corpus.val.tobytes()[: args.sample_bytes]
            train = corpus.train.tobytes()[:TRAIN_GIVEN_BYTES]
            rows = baseline_rows(held, train) + count_rows(held, train)
            if not args.no_transformer:
                rows.append(transformer_row(held, "transformer", "transformer (prequential)",
                                            args.decode_check_bytes))
                if name in sweep_corpora:
                    rows += sweep_rows(corpus, held, profile, args.decode_check_bytes, sizes,
                                       Path(tmp))
            sections.append(corpus_table(name, held, rows, corpus.entropy_floor_bpb))
            print(sections[-1], flush=True)

    prov = provenance("cpu")
    report = [
        f"# Compression benchmark ({profile.name} profile)",
        "",
        f"Date {prov['date']} · {prov['device']} · torch {prov['torch']} · Python "
        f"{prov['python']} · commit {prov['commit'] or 'none'} · "
        f"total {time.perf_counter() - started:.0f} s.",
        "",
        "Bits per byte are whole archives (header included) over the held-out split. "
        "*ideal* is the model's own code length, sum of -log2 p; *coder overhead* is the "
        "range code's payload over that ideal. *+train* rows see the training split (primed "
        f"count models its first {PRIME_BYTES // 1000} KB; baselines and pre-trained models up "
        f"to {TRAIN_GIVEN_BYTES // 1000} KB); *two-part* adds the float32 weights. Pre-trained "
        f"sizes are the {profile.name} profile's model-size sweep, trained here on the CPU. "
        "The prequential transformer is d32-L2 (seq_len 64), trained by both ends every 512 "
        "coded bytes with 8 AdamW steps (lr 0.01) on 16 windows of the history. "
        "Speeds are for one core (coding is single-threaded), on a machine shared with "
        "other jobs: indicative.",
        "",
        *sections,
    ]
    if skipped:
        report.append(f"Not cached, so not measured: {', '.join(skipped)} "
                      "(`scalinglab.data.load_corpus(NAME)` downloads and caches one).")
    text = "\n".join(report) + "\n"
    # The default run (tiny sweep) is the CPU machine's table; other sweeps get their own file.
    suffix = "" if profile.name == "tiny" else f"_{profile.name}-profile"
    out = args.out or RESULTS / f"compression_cpu{suffix}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    from scalinglab.compress.archive import write_atomic

    write_atomic(out, text.encode())
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Bits per byte for every coder and baseline, corpus by corpus, and how fast a model decodes.

    .venv/bin/python benchmarks/compression.py                  # tiny sweep, est. ~10 min
    .venv/bin/python benchmarks/compression.py --quick          # a smoke test, ~1 min
    .venv/bin/python benchmarks/compression.py --profile cpu --sweep-corpora synthetic

For each corpus the held-out split (at most ``--sample-bytes``) is coded by

* the count models (static order-0, adaptive order-0…5), self-contained, and
  order-2/order-5 primed with the training text;
* the standard compressors, self-contained and given the training text;
* a prequential transformer (trained online by both ends);
* a pre-trained transformer at each size of the profile's model-size sweep
  (trained here with :mod:`scalinglab.train` on the corpus's training split),
  so the table shows where a model overtakes each baseline.

Every archive is decoded back in full and compared byte for byte. Transformer
rows use the batched, chunked coder (:mod:`scalinglab.compress.chunked`).

Two more tables:

* **Sequential vs batched**, on the same model and the same file: the old
  one-stream coder (one forward pass per decoded byte, ``chunk_bytes=0``)
  against the chunked one, with both sizes (what chunking costs in bits per
  byte) and both speeds, each archive decoded in full (``--sequential-bytes``
  caps the sequential one, which runs at a few KB/s).
* **1 MB round trip**: ``--megabyte-size`` (d64-L3) encodes and decodes 1 MB of
  the synthetic source; the target is under a minute on 2 cores.

On 2 cores the default run is estimated at about 10 minutes, some 4 of them in the
old sequential decoders (~1-2 KB/s over 2 × 100 KB, twice). The tables go to stdout and
to ``benchmarks/results/compression_<profile>.md``
with provenance (date, machine, torch, commit). Run it on a quiet machine:
timings on a shared one mean little. ``--quick`` writes nothing unless ``--out``
is given.
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
MEGABYTE = 1_000_000
TARGET_MEGABYTE_S = 60.0


def _kbps(n_bytes: int, wall_s: float) -> float:
    return n_bytes / 1000 / wall_s if wall_s > 0 else float("inf")


def _decode_timed(archive: bytes, **options) -> tuple[bytes, float]:
    t0 = time.perf_counter()
    back = decompress_bytes(archive, **options)
    return back, time.perf_counter() - t0


def count_rows(held: bytes, train: bytes, prime_bytes: int) -> list[dict]:
    rows = []
    prime = train[:prime_bytes]
    runs = [(m, None) for m in ("static", "order0", "order1", "order2", "order3", "order4",
                                "order5")]
    runs += [("order2", prime), ("order5", prime)]
    for model, primer in runs:
        result = compress(held, model, prime=primer)
        back, dec_s = _decode_timed(result.archive, prime=primer)
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
            "two_part_bpb": result.adjusted_bits_per_byte if primer else None,
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


def transformer_row(held: bytes, model, label: str, **extra) -> dict:
    """Code all of ``held`` with the batched coder and decode every byte back."""
    result = compress(held, model)
    checkpoint = model if label.startswith("pretrained") else None
    back, dec_s = _decode_timed(result.archive, checkpoint=checkpoint)
    assert back == held, label
    return {
        "coder": label,
        "kind": "transformer",
        "bpb": result.bits_per_byte,
        "ideal_bpb": result.ideal_bits_per_byte,
        "overhead": result.coder_overhead,
        "two_part_bpb": result.adjusted_bits_per_byte if result.weights_bytes else None,
        "enc_kbps": _kbps(len(held), result.wall_s),
        "dec_kbps": _kbps(len(held), dec_s),
        "verified": f"all {len(held):,} B",
        "stored_chunks": f"{result.stored_chunks}/{result.chunks}",
        **extra,
    }


def sweep_rows(corpus, held: bytes, profile, sizes: list[str] | None, folder: Path,
               tokens: int | None) -> tuple[list[dict], dict[str, Path]]:
    from scalinglab.compress.ladder import model_size_tokens, train_checkpoint

    rows, paths = [], {}
    for size in model_size_tokens(profile):
        if sizes and size not in sizes:
            continue
        path, record = train_checkpoint(corpus, profile, size, folder, tokens=tokens,
                                        device="cpu")
        paths[size] = path
        rows.append(transformer_row(
            held, path, f"pretrained {size}",
            n_params=record["n_params"], tokens=record["tokens"], val_bpb=record["val_bpb"],
            train_s=record["train_s"],
        ))
        print(f"  {size}: {rows[-1]['bpb']:.3f} bits/byte "
              f"(trained {record['train_s']:.0f} s, val_bpb {record['val_bpb']:.3f})", flush=True)
    return rows, paths


def speed_row(held: bytes, model, label: str, sequential_bytes: int | None) -> dict:
    """The sequential and the batched coder on the same model and file, each decoded in full."""
    checkpoint = model if label.startswith("pretrained") else None
    sample = held[:sequential_bytes] if sequential_bytes else held
    out = {"coder": label, "bytes": len(held), "sequential_bytes": len(sample)}
    for name, data, chunk_bytes in (("sequential", sample, 0), ("batched", held, None),
                                    ("batched_same", sample, None)):
        options = {} if chunk_bytes is None else {"chunk_bytes": chunk_bytes}
        result = compress(data, model, **options)
        back, dec_s = _decode_timed(result.archive, checkpoint=checkpoint)
        assert back == data, (label, name)
        out[name] = {"bpb": result.bits_per_byte, "ideal_bpb": result.ideal_bits_per_byte,
                     "enc_kbps": _kbps(len(data), result.wall_s),
                     "dec_kbps": _kbps(len(data), dec_s), "bytes": len(data)}
    print(f"  {label}: decode sequential {out['sequential']['dec_kbps']:.1f} KB/s, "
          f"batched {out['batched']['dec_kbps']:.1f} KB/s", flush=True)
    return out


def speed_table(rows: list[dict]) -> str:
    lines = ["Sequential (one stream, one forward pass per decoded byte) vs batched (2,048-byte "
             "chunks decoded as one batch with a KV cache), same model, same file; every "
             "archive decoded in full and checked:", "",
             "| model | file bytes | sequential bits/byte | batched bits/byte | chunking costs "
             "| sequential enc / dec KB/s | batched enc / dec KB/s | decode speed-up |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        seq, bat, same = r["sequential"], r["batched"], r["batched_same"]
        cost = same["bpb"] - seq["bpb"]
        note = "" if r["sequential_bytes"] == r["bytes"] else \
            f" (sequential on the first {r['sequential_bytes']:,} B)"
        lines.append(
            f"| {r['coder']} | {r['bytes']:,}{note} | {seq['bpb']:.4f} | {same['bpb']:.4f} "
            f"| {cost:+.4f} bits/byte | {seq['enc_kbps']:.1f} / {seq['dec_kbps']:.2f} "
            f"| {bat['enc_kbps']:.1f} / {bat['dec_kbps']:.1f} "
            f"| {bat['dec_kbps'] / seq['dec_kbps']:.1f}× |")
    return "\n".join(lines + [""])


def megabyte_round_trip(checkpoint: Path, label: str, n_bytes: int) -> str:
    """Encode and decode ``n_bytes`` of the synthetic source; against the 60 s target."""
    from scalinglab.data import load_corpus

    data = load_corpus("synthetic", val_bytes=n_bytes).val.tobytes()
    t0 = time.perf_counter()
    result = compress(data, checkpoint)
    enc_s = time.perf_counter() - t0
    back, dec_s = _decode_timed(result.archive, checkpoint=checkpoint)
    assert back == data
    total = enc_s + dec_s
    verdict = ("meets" if total < TARGET_MEGABYTE_S else "misses") + \
        f" the {TARGET_MEGABYTE_S:.0f} s target" if n_bytes == MEGABYTE else \
        f"(--quick: {n_bytes:,} bytes, not the 1 MB target)"
    line = (f"Round trip of {n_bytes:,} bytes of the synthetic source through {label}: "
            f"encode {enc_s:.1f} s, decode {dec_s:.1f} s, total {total:.1f} s, "
            f"{result.bits_per_byte:.4f} bits/byte, {result.chunks} chunks; {verdict}.")
    print(line, flush=True)
    return line + "\n"


def corpus_table(name: str, held: bytes, rows: list[dict], floor: float | None) -> str:
    xz = next(r["bpb"] for r in rows if r["coder"] == "xz -9e")
    xz_train = next((r["bpb"] for r in rows if r["coder"] == "xz -9e +train"), None)
    lines = [f"### {name}: {len(held):,} held-out bytes"
             + (f", entropy floor {floor:.4f} bits/byte" if floor else ""), ""]
    head = "| coder | bits/byte | " + ("× floor | " if floor else "")
    head += ("÷ xz -9e | ideal | coder overhead | + weights | encode KB/s | decode KB/s "
             "| decoded | stored chunks |")
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    if floor:
        lines.append(f"| entropy floor (exact) | {floor:.4f} | 1.000 | {floor / xz:.3f} "
                     "| | | | | | | |")
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
        cells.append(r.get("stored_chunks", ""))
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
    parser.add_argument("--speed-sizes", default="d64-L3",
                        help="sweep sizes timed sequential vs batched (with the prequential)")
    parser.add_argument("--sequential-bytes", type=int, default=0,
                        help="decode only this many bytes with the slow sequential coder "
                        "(0: the whole file, as the batched coder)")
    parser.add_argument("--megabyte-size", default="d64-L3",
                        help="sweep size for the 1 MB round trip ('' to skip)")
    parser.add_argument("--no-transformer", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: synthetic only, 3 KB, d16-L2 trained briefly")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    tokens = None
    if args.quick:
        args.corpora = args.sweep_corpora = "synthetic"
        args.sizes = args.speed_sizes = args.megabyte_size = "d16-L2"
        args.sample_bytes, tokens = 3_000, 4_096
    profile = get_profile(args.profile)
    sizes = [s for s in args.sizes.split(",") if s] or None
    speed_sizes = [s for s in args.speed_sizes.split(",") if s]
    sweep_corpora = {c for c in args.sweep_corpora.split(",") if c}
    prime_bytes = 20_000 if args.quick else PRIME_BYTES
    started = time.perf_counter()
    sections, speeds, skipped, megabyte = [], [], [], ""
    with tempfile.TemporaryDirectory() as tmp:
        for name in [c for c in args.corpora.split(",") if c]:
            if name in ("shakespeare", "enwik8") and not is_cached(name):
                skipped.append(name)
                continue
            print(f"[{time.perf_counter() - started:5.0f} s] {name}", flush=True)
            corpus = load_corpus(name)
            held = corpus.val.tobytes()[: args.sample_bytes]
            train = corpus.train.tobytes()[:TRAIN_GIVEN_BYTES]
            rows = baseline_rows(held, train) + count_rows(held, train, prime_bytes)
            if not args.no_transformer:
                rows.append(transformer_row(held, "transformer", "transformer (prequential)"))
                if name in sweep_corpora:
                    run_sizes = sorted(set(sizes or []) | set(speed_sizes)) if sizes else None
                    sweep, paths = sweep_rows(corpus, held, profile, run_sizes, Path(tmp), tokens)
                    rows += sweep
                    speeds.append(speed_row(held, "transformer",
                                            f"transformer (prequential), {name}",
                                            args.sequential_bytes))
                    for size in speed_sizes:
                        if size in paths:
                            speeds.append(speed_row(held, paths[size],
                                                    f"pretrained {size}, {name}",
                                                    args.sequential_bytes))
                    if name == "synthetic" and args.megabyte_size in paths:
                        megabyte = megabyte_round_trip(
                            paths[args.megabyte_size], f"pretrained {args.megabyte_size}",
                            30_000 if args.quick else MEGABYTE)
            sections.append(corpus_table(name, held, rows, corpus.entropy_floor_bpb))
            print(sections[-1], flush=True)
    if speeds:
        print(speed_table(speeds), flush=True)

    prov = provenance("cpu")
    report = [
        f"# Compression benchmark ({profile.name} profile)",
        "",
        f"Date {prov['date']} · {prov['device']} · torch {prov['torch']} · Python "
        f"{prov['python']} · commit {prov['commit'] or 'none'} · "
        f"total {time.perf_counter() - started:.0f} s.",
        "",
        "Bits per byte are whole archives (header included) over the held-out split. "
        "*ideal* is the code length of the integer probabilities the coder used, sum of "
        "-log2(freq / 2^24) (a lower bound on the payload, so the *coder overhead* over it "
        "is never negative). *+train* rows see the training split (primed count models its "
        f"first {prime_bytes // 1000} KB; baselines and pre-trained models up to "
        f"{TRAIN_GIVEN_BYTES // 1000} KB); *+ weights* adds what the decoder must hold "
        "(float32 weights, or the prime text). Pre-trained sizes are the "
        f"{profile.name} profile's model-size sweep, trained here on the CPU. Transformers "
        "code 2,048-byte chunks as one batch with a KV cache (*stored chunks*: how many were "
        "cheaper stored). The prequential transformer is d32-L2 (seq_len 64), trained by "
        "both ends every 512 coded bytes with 8 AdamW steps (lr 0.01) on 16 windows of the "
        "history. Every archive is decoded in full. Kernels run single-threaded; batched "
        "coding splits large batches over 2 threads.",
        "",
        *sections,
    ]
    if speeds:
        report += ["### Decoding speed", "", speed_table(speeds)]
    if megabyte:
        report += [megabyte]
    if skipped:
        report.append(f"Not cached, so not measured: {', '.join(skipped)} "
                      "(`scalinglab.data.load_corpus(NAME)` downloads and caches one).")
    text = "\n".join(report) + "\n"
    if args.quick and args.out is None:
        print("(--quick: no results file written)")
        return 0
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

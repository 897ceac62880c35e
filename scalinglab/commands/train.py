"""``python -m scalinglab train``: one training run, optionally saved as a checkpoint."""

from __future__ import annotations

import argparse
import json
import sys

from scalinglab import _args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train one model and report its bits per byte",
        description="Train one model of a profile's family on a corpus; print its run record "
                    "summary and optionally save a checkpoint (config + weights + their hash).")
    parser.add_argument("--profile", default=None,
                        help="hardware profile: tiny, cpu, colab, gpu (default: detected)")
    parser.add_argument("--corpus", default=None, help="corpus name (default: the profile's)")
    parser.add_argument("--size", default=None,
                        help="model size by name, e.g. d32-L2 (default: the profile's "
                             "data-size model)")
    parser.add_argument("--tokens", type=_args.positive_int, default=None,
                        help="training tokens, rounded up to whole batches (default: the "
                             "size's tokens in the model-size grid)")
    parser.add_argument("--seed", type=_args.seed, default=0)
    parser.add_argument("--device", type=_args.device, default=None,
                        help="cpu, cuda, cuda:N, mps or auto (default: the profile's)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="torch.compile the model (CUDA only; default: the profile's)")
    parser.add_argument("--save", default=None, metavar="MODEL.pt", help="write a checkpoint")
    parser.add_argument("--record", default=None, metavar="RUN.json",
                        help="write the full run record as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scalinglab.data import load_corpus
    from scalinglab.model import save_checkpoint
    from scalinglab.profiles import get_profile
    from scalinglab.sweep.runner import format_table
    from scalinglab.train import TrainConfig, train_model

    profile = get_profile(args.profile)
    corpus_name = args.corpus or profile.corpus
    size = profile.size(args.size or profile.data_size_model)
    tokens = args.tokens
    if tokens is None:
        tokens = dict(zip(profile.model_sizes, profile.model_size_tokens, strict=True))[size]
    if args.tokens is not None and (
        note := _args.tokens_note(args.tokens, profile.batch_size, profile.seq_len)
    ):
        print(f"note: {note}", file=sys.stderr)
    options = profile.corpus_options(corpus_name)
    corpus = load_corpus(corpus_name, **options)
    config = size.config(vocab_size=corpus.vocab_size, seq_len=profile.seq_len)
    optim = TrainConfig(tokens=tokens, batch_size=profile.batch_size, lr_base=profile.lr_base,
                        eval_tokens=profile.eval_tokens, seed=args.seed)
    model, record = train_model(
        config, corpus, optim, device=args.device or profile.device,
        compile=profile.compile if args.compile is None else args.compile,
        progress=False if args.no_progress else None, num_threads=profile.num_threads,
        profile=profile.name, extra={"size": size.name, "corpus_options": options},
    )
    print(format_table([record]))
    print(f"train bpb {record['train_bpb']:.4f}, {record['tokens_per_s']:,.0f} tokens/s on "
          f"{record['device']} ({record['precision']})")
    if args.save:
        sha = save_checkpoint(model, args.save, corpus=corpus_name, corpus_options=options,
                              record=record)
        print(f"saved {args.save} (weights sha256 {sha[:16]}…)")
    if args.record:
        from scalinglab._io import write_atomic

        write_atomic(args.record, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
    return 0

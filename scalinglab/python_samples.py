"""Python written by a model: samples from the stdlib reference's largest run, kept with provenance.

Chapter 12 shows what a byte-level model trained on Python's own source writes.
The model worth showing is the largest of the cpu stdlib reference (d128-L4 on
10M bytes, about 20 minutes on one core), longer than a chapter may run, so its
samples are generated once::

    python -m scalinglab.python_samples --profile cpu

and kept in ``scalinglab/reference/<profile>_samples_stdlib.json`` with the
run's record (provenance included). The run repeats the reference's own recipe
and seed, so its ``val_bpb`` can be checked against the reference record of the
same run key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from scalinglab._io import atomic_file
from scalinglab.data import load_corpus
from scalinglab.finetune import generate
from scalinglab.model import GPT
from scalinglab.profiles import get_profile, reference_text_design
from scalinglab.sweep.grids import plan
from scalinglab.train import train_model

CORPUS = "stdlib"
PROMPTS = (b"def ", b"class ")
TEMPERATURES = (0.8, 1.0)
TOP_P_BELOW_ONE = 0.95
"""Below T = 1 the tail is cut too (nucleus sampling), as is usual for showing text."""
N_BYTES = 600
KEPT_RECORD_FIELDS = ("run_key", "size", "n_params", "n_params_non_embedding", "tokens",
                      "val_bpb", "train_bytes", "commit", "device", "torch", "date",
                      "wall_s", "profile")


def samples_path(profile: str, folder: str | os.PathLike | None = None) -> Path:
    from scalinglab.reference import REFERENCE_DIR

    return Path(folder or REFERENCE_DIR) / f"{profile}_samples_{CORPUS}.json"


def train_largest(profile: str) -> tuple[GPT, dict]:
    """Train the largest model of ``profile``'s stdlib reference with the reference's recipe."""
    design = reference_text_design(profile, CORPUS)
    data = load_corpus(CORPUS)
    spec = plan(design, "model-size", CORPUS, data.vocab_size, {}, 0)[-1]
    model, record = train_model(spec.model, data, spec.optim, num_threads=design.num_threads,
                                progress=False, eval_points=spec.point.eval_points,
                                profile=design.name,
                                extra={"grid": "model-size", "run_key": spec.key,
                                       "size": spec.point.size.name})
    return model, record


def draw_samples(model: GPT) -> list[dict]:
    """One sample per prompt and temperature, each with its surprise under the model."""
    out = []
    for prompt in PROMPTS:
        for temperature in TEMPERATURES:
            top_p = TOP_P_BELOW_ONE if temperature < 1 else None
            sample = generate(model, prompt, N_BYTES, temperature=temperature, top_p=top_p,
                              seed=0)
            out.append({"prompt": prompt.decode(), "temperature": temperature, "top_p": top_p,
                        "text": sample.text, "bits_per_byte": float(sample.bits_per_byte)})
    return out


def write_samples(profile: str, folder: str | os.PathLike | None = None) -> Path:
    """Train, sample and save; returns the file written."""
    model, record = train_largest(profile)
    result = {"record": {k: record.get(k) for k in KEPT_RECORD_FIELDS},
              "samples": draw_samples(model)}
    path = samples_path(profile, folder)
    with atomic_file(path) as f:
        f.write((json.dumps(result, indent=1, ensure_ascii=False) + "\n").encode())
    return path


def load_samples(profile: str | None = None) -> dict:
    """The saved samples of ``profile`` (default: the largest profile that has them)."""
    from scalinglab.reference import PROFILES_BY_SIZE

    names = [profile] if profile else list(PROFILES_BY_SIZE)
    for name in names:
        path = samples_path(name)
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError(
        f"no saved stdlib samples for {' or '.join(names)}; run "
        f"`python -m scalinglab.python_samples --profile {names[0]}`"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scalinglab.python_samples",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--folder", default=None, help="write here instead of the reference folder")
    args = parser.parse_args(argv)
    try:
        get_profile(args.profile)
    except ValueError as err:
        print(f"error: --profile: {err}", file=sys.stderr)
        return 2
    print(write_samples(args.profile, args.folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())

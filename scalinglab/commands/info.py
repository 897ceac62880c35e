"""``python -m scalinglab info``: the profile, the device, the versions and the corpora."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info", help="show the profile, device, versions and corpora",
        description="Show the hardware profile (and why it was chosen), the device, library "
                    "versions and each corpus with its size.")
    parser.add_argument("--profile", default=None,
                        help="profile to report (default: SCALINGLAB_PROFILE, else detected)")
    parser.set_defaults(func=run)


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def run(args: argparse.Namespace) -> int:
    from scalinglab.data import corpus_summaries
    from scalinglab.profiles import profile_report
    from scalinglab.provenance import provenance

    print(profile_report(args.profile))
    prov = provenance("cpu")
    print(f"python:  {prov['python']}, numpy {prov['numpy']}, scalinglab {prov['scalinglab']}")
    print(f"commit:  {prov['commit'] or 'unknown (not a git checkout)'}")
    print("\ncorpora:")
    rows = [("name", "offline", "size", "entropy floor", "note")]
    for c in corpus_summaries():
        floor = c.get("entropy_floor_bpb")
        rows.append((c["name"], "yes" if c["offline"] else "download", _size(c["size_bytes"]),
                     "-" if floor is None else f"{floor:.4f} bits/byte", c["note"]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths, strict=True))
              + "  " + r[4])
    return 0

"""``python -m scalinglab reference``: regenerate the results the website shows.

For ``--profile gpu`` it is the gpu reference set of :mod:`scalinglab.gpu_reference`:
the throughput benchmark and the sweeps, in priority order, in one command
planned to take at most ``--budget-s`` seconds (8 minutes); ``--plan`` prints
every run with its FLOPs and predicted seconds.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    from scalinglab.sweep.grids import GRIDS

    parser = subparsers.add_parser(
        "reference", help="regenerate scalinglab/reference/*.jsonl for a profile",
        description="Run the reference sweeps of a profile into "
                    "scalinglab/reference/<profile>_<grid>_<corpus>.jsonl (resumable; each "
                    "record carries its provenance). With --profile gpu: the throughput "
                    "benchmark and the gpu sweeps in priority order, in one command of at "
                    "most --budget-s seconds (see --plan).")
    parser.add_argument("--profile", default=None,
                        help="hardware profile: tiny, cpu, colab, gpu (default: detected)")
    parser.add_argument("--only", default=None, choices=GRIDS, help="only this family")
    parser.add_argument("--corpus", default=None, help="only this corpus")
    parser.add_argument("--folder", "--out", dest="folder", default=None,
                        help="write here instead of the package's reference folder")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    gpu = parser.add_argument_group("gpu profile")
    gpu.add_argument("--plan", action="store_true",
                     help="print every run with its FLOPs and predicted seconds, then stop")
    gpu.add_argument("--budget-s", type=float, default=None,
                     help="refuse a plan predicted over this many seconds, and skip any step "
                          "that would end past it (default 480)")
    gpu.add_argument("--over-budget", action="store_true",
                     help="run a plan predicted over --budget-s anyway")
    gpu.add_argument("--scale", default="full", choices=("full", "tiny"),
                     help="tiny: the same steps in miniature on the CPU, in seconds, into "
                          "--out DIR (for tests; not reference results)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scalinglab.profiles import get_profile

    if get_profile(args.profile).name == "gpu":
        return _run_gpu(args)
    gpu_only = [flag for flag, given in (("--plan", args.plan), ("--budget-s", args.budget_s),
                                         ("--over-budget", args.over_budget),
                                         ("--scale", args.scale != "full")) if given]
    if gpu_only:
        raise ValueError(f"{', '.join(gpu_only)} apply to --profile gpu only; drop them, or "
                         "add --profile gpu")
    from scalinglab.reference import regenerate

    paths = regenerate(args.profile, only=args.only, corpus=args.corpus, folder=args.folder,
                       progress=False if args.no_progress else None)
    for path in paths:
        print(f"wrote {path}")
    return 0


def _run_gpu(args: argparse.Namespace) -> int:
    from scalinglab import gpu_plan
    from scalinglab import gpu_reference as gpu
    from scalinglab.reference import REFERENCE_DIR

    if args.only or args.corpus:
        raise ValueError("the gpu reference runs as one set in priority order and resumes "
                         "where it stopped; drop --only and --corpus")
    budget_s = gpu_plan.BUDGET_S if args.budget_s is None else args.budget_s
    if args.plan:
        steps = gpu_plan.plan_steps(args.scale)
        print(gpu_plan.format_plan(steps, budget_s))
        if not args.over_budget:
            gpu_plan.check_budget(steps, budget_s)
        return 0
    if args.scale != "full" and args.folder is None:
        raise ValueError(f"--scale {args.scale} writes miniature results, not reference "
                         "results; give them a folder with --out DIR")
    # Run as `python -m scalinglab`, the process's start-up (python, torch) is budget spent.
    main = getattr(sys.modules.get("__main__"), "__spec__", None)
    started = gpu.process_age_s() if getattr(main, "name", "") == "scalinglab.__main__" else 0.0
    paths = gpu.run_gpu_reference(
        args.folder or REFERENCE_DIR, scale=args.scale, budget_s=budget_s,
        over_budget=args.over_budget, progress=not args.no_progress,
        spent_s=started if started is not None else gpu.H100.startup_s)
    for path in paths:
        print(f"wrote {path}")
    return 0

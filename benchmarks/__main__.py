"""Every benchmark in one command: `python -m benchmarks` (full) or `--quick` (minutes).

python -m benchmarks --quick            # make bench:      results in benchmarks/results/quick/
python -m benchmarks                    # make bench-full: results in benchmarks/results/
python -m benchmarks --only gap,peers   # a subset of the four
python -m benchmarks --only families    # the families of city weeks (benchmarks/families.py)
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from . import city, families, gap, peers, vrptw
from .common import DEFAULT_RESULTS

QUICK = {
    "gap": ["gap1", "gap12", "c10200", "d20200"],
    "city": ["--quick", "--hard-timeout", "90"],
    "peers": ["--quick"],
    "vrptw": ["C101", "R101", "RC208", "--time-limit", "10", "--peer", "pyvrp"],
    "families": ["--quick"],
}
FULL = {
    "gap": ["--set", "all"],
    "city": ["--repeats", "3"],
    "peers": [],
    "vrptw": ["--set", "solomon", "--peer", "pyvrp"],
    "families": [],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the GAP, city, peer, VRPTW and families benchmarks."
    )
    parser.add_argument("--quick", action="store_true", help="a subset in a few minutes")
    parser.add_argument(
        "--only",
        default="gap,city,peers,vrptw",
        help="comma-separated, of gap, city, peers, vrptw and families (hours: "
        "`make bench-families`)",
    )
    parser.add_argument("--out", type=Path, help="results directory")
    parser.add_argument(
        "--rev",
        help="benchmark matcher/ and cityweek.py as of this git revision (default: working tree)",
    )
    args = parser.parse_args(argv)
    if args.rev:
        os.environ["VOLMATCH_BENCH_REV"] = args.rev
    out = args.out or (DEFAULT_RESULTS / "quick" if args.quick else DEFAULT_RESULTS)
    plan = QUICK if args.quick else FULL
    mains = {
        "gap": gap.main,
        "city": city.main,
        "peers": peers.main,
        "vrptw": vrptw.main,
        "families": families.main,
    }
    for name in args.only.split(","):
        started = time.monotonic()
        print(f"\n=== {name} ===", flush=True)
        target = out / "families" if name == "families" else out
        mains[name]([*plan[name], "--out", str(target)])
        print(f"=== {name}: {time.monotonic() - started:.0f} s ===", flush=True)
    print(f"\nresults in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

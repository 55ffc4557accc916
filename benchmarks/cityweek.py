"""The benchmarks' city week: `scenarios.cityweek.city_week` (the catalog scenario `city-week`
with its totals fixed), and a command that writes one as JSON.

    python -m benchmarks.cityweek --volunteers 5000 --requests 600 --seed 0 -o week.json
"""

from __future__ import annotations

import argparse
import sys

from scenarios.cityweek import CST, SCENARIO, WEEK_START, city_week
from scenarios.generate import dumps

__all__ = ["CST", "SCENARIO", "WEEK_START", "city_week"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a seeded city-week instance (FORMAT.md) as JSON."
    )
    parser.add_argument("--volunteers", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", help="file to write (default stdout)")
    args = parser.parse_args(argv)
    text = dumps(city_week(args.volunteers, args.requests, args.seed))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

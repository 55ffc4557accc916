"""A seeded, realistic city week of volunteer supply and demand (FORMAT.md instance).

The catalog scenario `city-week` (scenarios/catalog/city-week.toml) at the requested numbers of
volunteers and requests: volunteers cluster round 22 partner universities (students),
residential communities (residents and certified caregivers) and the law firms of the high-tech
zone (lawyers); requests are smartphone tutoring, door-to-door bathing help (two certified,
same-gender helpers), legal-aid duty (half the shifts mandatory), garbage-sorting promotion,
exam-day water delivery and visits to older people living alone (some in dialect). There is one
generator, `scenarios.generate`; this module only fixes the totals.

Deterministic: the same (volunteers, requests, seed) always gives byte-identical JSON.
Vectorised: 100,000 volunteers take a few seconds.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from typing import Any

from scenarios.generate import build, dumps
from scenarios.spec import load_scenario

__all__ = ["CST", "SCENARIO", "WEEK_START", "city_week"]

SCENARIO = "city-week"
_horizon = load_scenario(SCENARIO).spec.horizon
CST: timezone = _horizon.tz
WEEK_START = datetime(_horizon.start.year, _horizon.start.month, _horizon.start.day, tzinfo=CST)


def city_week(volunteers: int, requests: int, seed: int = 0) -> dict[str, Any]:
    """A city week with exactly the given numbers of volunteers and requests."""
    return build(
        load_scenario(SCENARIO), seed=seed, volunteers=volunteers, requests=requests
    ).instance


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

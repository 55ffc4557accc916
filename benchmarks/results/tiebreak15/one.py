"""One solve of an instance file at a time limit, printed on one line (status, coverage,
travel, bounds, when coverage was proven, tier seconds, wall seconds)."""

import json
import sys
import time
from pathlib import Path

import matcher

path, limit = Path(sys.argv[1]), float(sys.argv[2])
instance = matcher.parse_instance(json.loads(path.read_text(encoding="utf-8")))
started = time.perf_counter()
plan = matcher.solve(instance, time_limit_s=limit)
s = plan.stats
print(
    f"{path.name:22s} {plan.status:9s} cov {plan.objective.coverage} "
    f"travel {plan.objective.travel_km:9.1f} bound {plan.bound.coverage} "
    f"tb {s.get('travel_bound_km')} covproven@ {s.get('coverage_proven_at_s')} "
    f"t1 {s.get('tier1_seconds')} t2 {s.get('tier2_seconds')} "
    f"{time.perf_counter() - started:.1f}s"
)

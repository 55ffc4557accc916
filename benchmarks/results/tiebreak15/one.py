import json, sys, time, matcher
path, limit = sys.argv[1], float(sys.argv[2])
inst = matcher.parse_instance(json.load(open(path)))
t = time.perf_counter()
plan = matcher.solve(inst, time_limit_s=limit)
s = plan.stats
print(f"{path.split('/')[-1]:22s} {plan.status:9s} cov {plan.objective.coverage} travel {plan.objective.travel_km:9.1f} "
      f"bound {plan.bound.coverage} tb {s.get('travel_bound_km')} covproven@ {s.get('coverage_proven_at_s')} "
      f"t1 {s.get('tier1_seconds')} t2 {s.get('tier2_seconds')} {time.perf_counter()-t:.1f}s")

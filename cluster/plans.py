"""Plans of independent tiles put side by side into the whole instance's plan: assignments,
unfilled and at-fault requests listed together; coverage, travel, the soft terms and the
coverage bounds added (tiles share no volunteer and no request, so each sum is the whole's);
the status the weakest of the tiles'."""

from __future__ import annotations

from collections.abc import Sequence

from matcher import Plan
from matcher.model import Bound, Objective

__all__ = ["merge_plans"]

# Statistics that add up over tiles; the others are reported as the largest tile's.
_SUMMED = ("volunteers", "requests", "candidate_pairs", "conflict_sets", "parts")


def merge_plans(plans: Sequence[Plan], seconds: float) -> Plan:
    """The whole instance's plan from its tiles' plans, `seconds` after the solve started."""
    statuses = {p.status for p in plans}
    status = (
        "infeasible"
        if "infeasible" in statuses
        else "optimal"
        if statuses == {"optimal"}
        else "feasible"
    )
    bounds = [p.bound.coverage for p in plans]
    bound = None if any(b is None for b in bounds) else sum(b for b in bounds if b is not None)
    objective = Objective(
        coverage=sum(p.objective.coverage for p in plans),
        travel_km=round(sum(p.objective.travel_km for p in plans), 3),
        preference=round(sum(p.objective.preference for p in plans), 6),
        fairness_penalty=round(sum(p.objective.fairness_penalty for p in plans), 6),
        stability=sum(p.objective.stability for p in plans),
    )
    stats: dict[str, float | int | str | bool] = {"tiles": len(plans)}
    for key in _SUMMED:
        values = [v for p in plans if isinstance(v := p.stats.get(key), int | float)]
        if values:
            stats[key] = sum(values)
    largest = max(plans, key=lambda p: p.stats.get("candidate_pairs", 0) or 0, default=None)
    if largest is not None:
        for key, value in largest.stats.items():
            stats.setdefault(f"largest_tile_{key}" if key not in _SUMMED else key, value)
    stats["solve_seconds"] = round(seconds, 3)
    if bound:
        stats["gap"] = round((bound - objective.coverage) / bound, 6)
    return Plan(
        status=status,
        assignments=tuple(a for p in plans for a in p.assignments),
        unfilled=tuple(u for p in plans for u in p.unfilled),
        at_fault=tuple(f for p in plans for f in p.at_fault),
        objective=objective,
        bound=Bound(coverage=bound),
        stats=stats,
        warnings=tuple(w for p in plans for w in p.warnings),
    )

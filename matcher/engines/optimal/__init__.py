"""`optimal`: the lexicographic optimum of FORMAT.md, proven where the budget allows.

Per independent part of the problem (see `decompose`), starting from the greedy plan
(`part.PartSolver`):
1. Columns (`columns`): the nearest candidates of every request, the plan in hand's pairs and
   pinned pairs; small parts take every pair.
2. Tiers (`tiers`, solved by `tier.solve_tier`): the LP relaxation on the columns, priced
   against every other pair and grown until no pair left out could improve it, gives a proven
   bound; the MIP on the columns (HiGHS, clique formulation; `mip`) gives the plan; reduced-cost
   fixing adds every pair that could still appear in a better plan, until the restricted MIP is
   provably optimal for the whole part. Coverage and travel are settled together where they can
   be (tier 12), else one after the other.
3. Tier 3, the soft score (preferences, stability, fairness), on the optimal face (`face`).
4. While time remains and a tier is unproven: local search and large-neighbourhood search
   (`lns`).
Time is shared out by `budget`. A mandatory request that no plan can staff makes the problem
infeasible; the staffing-relaxed model (tier 0) then finds the largest set of mandatory requests
that can be staffed together and names the others as at fault.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ...objective import plan_coverage
from ...problem import IntArray, ProblemData
from ..base import Control, Deadline, EngineResult, Progress, SolveParams, Status
from ..column_dive import gap_shape
from ..decompose import Part, split
from ..greedy import greedy_selection, short_requests
from ..kernels import prepare
from .part import FULL_COLUMNS, PartResult, PartSolver, replace_mandatory, trivial_bound

__all__ = ["optimal"]

# Least budget of a part (time allowing), whatever its share of the pairs: a 2-pair part beside
# a 40,000-pair one had a millisecond and was never proven.
_PART_SECONDS = 0.5


def optimal(data: ProblemData, params: SolveParams, control: Control) -> EngineResult:
    deadline = Deadline(params.time_limit_s)
    started = time.perf_counter()
    selected = np.zeros(data.num_pairs, dtype=bool)
    per_request = np.bincount(data.pair_request, minlength=data.num_requests)
    # Mandatory requests with fewer candidates than their minimum fail before any search.
    at_fault: list[IntArray] = [
        np.flatnonzero(
            data.request_mandatory & (per_request + data.request_dropped < data.request_min)
        )
    ]
    starved: list[IntArray] = []
    cost_bound: float | None = 0.0
    parts = split(replace_mandatory(data, at_fault[0]))
    if any(p.data.num_pairs > FULL_COLUMNS or gap_shape(p.data) is not None for p in parts):
        # The local search will be wanted early (beside the MIPs of large or GAP-shaped parts):
        # its compiled loop starts loading now. Parts the MIPs prove alone never wait for it.
        prepare()
    total_pairs = max(sum(p.data.num_pairs for p in parts), 1)
    bound = 0
    proven = True
    done_pairs = 0
    stats_sum: dict[str, float] = {}
    handed_back = False
    for i, part in enumerate(parts):
        if control.should_stop() or handed_back:  # the caller will solve again anyway
            result = _fallback(part)
        else:
            share = part.data.num_pairs / max(total_pairs - done_pairs, 1)
            # Small parts take milliseconds, but a share by pairs could leave them none at all.
            seconds = max(deadline.remaining() * share, min(deadline.remaining(), _PART_SECONDS))
            budget = Deadline(max(seconds, 0.0))
            result = PartSolver(part.data, budget, params, control, started=started).run()
        selected[part.pairs] = result.selected
        bound += result.bound
        proven &= result.proven
        # A bound on the whole plan's travel only if every part has one.
        cost_bound = (
            None
            if cost_bound is None or result.cost_bound is None
            else cost_bound + result.cost_bound
        )
        at_fault.append(part.requests[result.at_fault])
        starved.append(part.requests[result.starved])
        handed_back |= bool(result.stats.get("handed_back"))
        for key, value in result.stats.items():
            # Flags hold for the whole problem when they hold for every part; timings add up.
            if key not in stats_sum:
                stats_sum[key] = value
            elif key.endswith("_proven"):
                stats_sum[key] = min(stats_sum[key], value)
            elif key.endswith(("_at_s", "_slack")):  # moments since the start, worst gaps
                stats_sum[key] = max(stats_sum[key], value)
            else:
                stats_sum[key] += value
        done_pairs += part.data.num_pairs
        control.on_progress(
            Progress(
                phase=f"part {i + 1}/{len(parts)}",
                fraction=done_pairs / total_pairs,
                coverage=plan_coverage(data, selected),
            )
        )
    faults = np.unique(np.concatenate(at_fault)).astype(np.int64)
    status = Status.INFEASIBLE if len(faults) else Status.OPTIMAL if proven else Status.FEASIBLE
    stats: dict[str, float | int | str | bool] = {
        "engine": "optimal",
        "parts": len(parts),
        "largest_part_pairs": max((p.data.num_pairs for p in parts), default=0),
        "engine_seconds": round(time.perf_counter() - started, 3),
        **{k: (bool(v) if k.endswith("_proven") else round(v, 3)) for k, v in stats_sum.items()},
    }
    if cost_bound is not None and parts:
        stats["travel_bound_km"] = math.floor(cost_bound) / 1000.0  # floored: stays a bound
    return EngineResult(
        selected=selected,
        status=status,
        coverage_bound=bound,
        at_fault=faults,
        stats=stats,
        cost_bound=cost_bound if parts else None,
        starved=np.unique(np.concatenate(starved)).astype(np.int64)
        if starved
        else np.zeros(0, np.int64),
    )


def _fallback(part: Part) -> PartResult:
    """A part left to greedy (a stop came first): nothing proven; its short requests named."""
    sel = greedy_selection(part.data)
    proven = float(plan_coverage(part.data, sel.selected) >= trivial_bound(part.data))
    return PartResult(
        sel.selected.copy(),
        trivial_bound(part.data),
        False,
        short_requests(sel),
        {
            "coverage_proven": proven,
            "staffing_proven": 0.0,
            "travel_proven": 0.0,
            "soft_proven": 0.0,
        },
    )

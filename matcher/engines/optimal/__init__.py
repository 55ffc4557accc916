"""`optimal`: the lexicographic optimum of FORMAT.md, proven where the budget allows.

Per independent part of the problem (see `decompose`), starting from the greedy plan
(`part.PartSolver`):
1. Columns (`columns`): the nearest candidates of every request, the plan in hand's pairs and
   pinned pairs; small parts take every pair.
2. Tiers (`tiers`, solved by `tier.solve_tier`): the LP relaxation on the columns, priced
   against every other pair and grown until no pair left out could improve it, gives a proven
   bound (and, rounded, a first plan: `rounding`); the MIP on the columns (HiGHS, clique
   formulation; `mip`) gives the plan; reduced-cost fixing adds every pair that could still
   appear in a better plan, until the restricted MIP is provably optimal for the whole part. Coverage and travel are settled together where they can
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
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ...objective import lexicographic_key, plan_coverage
from ...problem import BoolArray, IntArray, ProblemData
from ..base import Control, Deadline, EngineResult, Progress, SolveParams, Status
from ..column_dive import gap_shape
from ..decompose import Part, split
from ..greedy import greedy_selection, short_requests
from ..kernels import prepare
from .part import FULL_COLUMNS, PartResult, PartSolver, replace_mandatory, trivial_bound

__all__ = [
    "Assembly",
    "PartPlan",
    "PartResult",
    "better_result",
    "fallback",
    "optimal",
    "plan_parts",
    "solve_part",
]

# Least budget of a part (time allowing), whatever its share of the pairs: a 2-pair part beside
# a 40,000-pair one had a millisecond and was never proven.
_PART_SECONDS = 0.5


def optimal(data: ProblemData, params: SolveParams, control: Control) -> EngineResult:
    deadline = Deadline(params.time_limit_s)
    started = time.perf_counter()
    plan = plan_parts(data)
    if any(p.data.num_pairs > FULL_COLUMNS or gap_shape(p.data) is not None for p in plan.parts):
        # The local search will be wanted early (beside the MIPs of large or GAP-shaped parts):
        # its compiled loop starts loading now. Parts the MIPs prove alone never wait for it.
        prepare()
    assembly = Assembly(data, plan)
    left = max(plan.pairs, 1)
    # Bounds of the parts not solved yet, for progress reports: each part's trivial bound.
    pending = [trivial_bound(p.data) for p in plan.parts]
    results: list[PartResult] = []
    for i, part in enumerate(plan.parts):

        def report(coverage: int, bound: int | None, i: int = i) -> None:
            """Progress within part i: the parts done, and this one's plan and bound so far."""
            elapsed = time.perf_counter() - started
            control.on_progress(
                Progress(
                    phase=f"part {i + 1}/{len(plan.parts)}",
                    fraction=min(elapsed / params.time_limit_s, 0.99),
                    coverage=plan_coverage(data, assembly.selected) + coverage,
                    bound=None if bound is None else assembly.bound + bound + sum(pending[i + 1 :]),
                )
            )

        if control.should_stop() or assembly.handed_back:  # the caller will solve again anyway
            result = fallback(part)
        else:
            share = part.data.num_pairs / max(left, 1)
            # Small parts take milliseconds, but a share by pairs could leave them none at all.
            seconds = max(deadline.remaining() * share, min(deadline.remaining(), _PART_SECONDS))
            result = solve_part(part.data, seconds, params, control, started=started, report=report)
        assembly.add(part, result)
        results.append(result)
        left -= part.data.num_pairs
        control.on_progress(
            Progress(
                phase=f"part {i + 1}/{len(plan.parts)}",
                fraction=1.0 - left / max(plan.pairs, 1),
                coverage=plan_coverage(data, assembly.selected),
                bound=assembly.bound + sum(pending[i + 1 :]),
            )
        )
    if not assembly.handed_back and _solve_again(plan, results, deadline, params, control, started):
        assembly = Assembly(data, plan)
        for part, result in zip(plan.parts, results, strict=True):
            assembly.add(part, result)
    return assembly.result(time.perf_counter() - started)


def _solve_again(
    plan: PartPlan,
    results: list[PartResult],
    deadline: Deadline,
    params: SolveParams,
    control: Control,
    started: float,
) -> bool:
    """The parts that ended unproven, solved again from their plans with the time the others
    left (parts proven early hand theirs on), shared by pairs; a result is replaced by the
    better of the two, and the plan's coverage and bound are reported after each. Whether any
    part was solved again."""
    again = [i for i, r in enumerate(results) if not r.proven]
    left = sum(plan.parts[i].data.num_pairs for i in again)
    solved = False
    for i in again:
        if control.should_stop() or deadline.remaining() < _PART_SECONDS:
            break
        data = plan.parts[i].data
        share = data.num_pairs / max(left, 1)
        left -= data.num_pairs
        seconds = max(deadline.remaining() * share, _PART_SECONDS)
        result = solve_part(
            data, seconds, params, control, started=started, start=results[i].selected
        )
        results[i] = better_result(data, results[i], result)
        solved = True
        control.on_progress(
            Progress(
                phase=f"part {i + 1}/{len(plan.parts)} again",
                fraction=min((time.perf_counter() - started) / params.time_limit_s, 0.99),
                coverage=sum(
                    plan_coverage(p.data, r.selected)
                    for p, r in zip(plan.parts, results, strict=True)
                ),
                bound=sum(r.bound for r in results),
            )
        )
    return solved


def better_result(data: ProblemData, first: PartResult, second: PartResult) -> PartResult:
    """Two results of one part combined: the better plan (the second on a tie), the lower of
    the two coverage bounds, and the higher of their bounds on the optimal travel."""
    second_better = lexicographic_key(data, second.selected) >= lexicographic_key(
        data, first.selected
    )
    chosen = second if second_better else first
    bound = min(first.bound, second.bound)
    bounds = [b for b in (first.cost_bound, second.cost_bound) if b is not None]
    stats = {
        **chosen.stats,
        "coverage_proven": float(plan_coverage(data, chosen.selected) >= bound),
    }
    return replace(chosen, bound=bound, stats=stats, cost_bound=max(bounds) if bounds else None)


@dataclass(frozen=True, eq=False)
class PartPlan:
    """A problem cut into independent parts (`decompose.split`), after the mandatory requests
    with too few candidates to ever be staffed were made optional (they are at fault)."""

    parts: list[Part]
    unstaffable: IntArray

    @property
    def pairs(self) -> int:
        return sum(p.data.num_pairs for p in self.parts)


def plan_parts(data: ProblemData) -> PartPlan:
    """The independent parts of `data`, each to be solved on its own (`solve_part`, in any
    order, in any process) and assembled (`Assembly`)."""
    per_request = np.bincount(data.pair_request, minlength=data.num_requests)
    # Mandatory requests with fewer candidates than their minimum fail before any search.
    unstaffable = np.flatnonzero(
        data.request_mandatory & (per_request + data.request_dropped < data.request_min)
    ).astype(np.int64)
    return PartPlan(split(replace_mandatory(data, unstaffable)), unstaffable)


def solve_part(
    data: ProblemData,
    seconds: float,
    params: SolveParams,
    control: Control,
    *,
    started: float | None = None,
    report: Callable[[int, int | None], None] | None = None,
    start: BoolArray | None = None,
) -> PartResult:
    """One part's tiers within `seconds` (`started`: the engine's start, for the moments the
    stats report; `report`: told the part's coverage and proven bound as they improve;
    `start`: a plan of the part to start from where better than greedy's)."""
    budget = Deadline(max(seconds, 0.0))
    return PartSolver(
        data, budget, params, control, started=started, report=report, start=start
    ).run()


class Assembly:
    """The parts' results put together into the whole problem's `EngineResult`: plans side by
    side, bounds added, proofs holding only if they hold for every part."""

    def __init__(self, data: ProblemData, plan: PartPlan) -> None:
        self.data = data
        self.selected = np.zeros(data.num_pairs, dtype=bool)
        self.parts = len(plan.parts)
        self.largest = max((p.data.num_pairs for p in plan.parts), default=0)
        self.bound = 0
        self.proven = True
        self.cost_bound: float | None = 0.0
        self.at_fault: list[IntArray] = [plan.unstaffable]
        self.starved: list[IntArray] = []
        self.stats: dict[str, float] = {}
        self.moments: dict[str, int] = {}  # per `_at_s` stat, how many parts reached it
        self.added = 0
        self.handed_back = False

    def add(self, part: Part, result: PartResult) -> None:
        self.selected[part.pairs] = result.selected
        self.bound += result.bound
        self.proven &= result.proven
        # A bound on the whole plan's travel only if every part has one.
        self.cost_bound = (
            None
            if self.cost_bound is None or result.cost_bound is None
            else self.cost_bound + result.cost_bound
        )
        self.at_fault.append(part.requests[result.at_fault])
        self.starved.append(part.requests[result.starved])
        self.handed_back |= bool(result.stats.get("handed_back"))
        self.added += 1
        for key, value in result.stats.items():
            if key.endswith("_at_s"):
                self.moments[key] = self.moments.get(key, 0) + 1
            # Flags hold for the whole problem when they hold for every part; timings add up.
            if key not in self.stats:
                self.stats[key] = value
            elif key.endswith("_proven"):
                self.stats[key] = min(self.stats[key], value)
            elif key.endswith(("_at_s", "_slack")):  # moments since the start, worst gaps
                self.stats[key] = max(self.stats[key], value)
            else:
                self.stats[key] += value

    def result(self, seconds: float) -> EngineResult:
        """The whole problem's result, `seconds` after the engine started."""
        faults = np.unique(np.concatenate(self.at_fault)).astype(np.int64)
        status = (
            Status.INFEASIBLE if len(faults) else Status.OPTIMAL if self.proven else Status.FEASIBLE
        )
        stats: dict[str, float | int | str | bool] = {
            "engine": "optimal",
            "parts": self.parts,
            "largest_part_pairs": self.largest,
            "engine_seconds": round(seconds, 3),
            # A moment (coverage proven at...) is the whole problem's once every part reached it.
            **{
                k: (bool(v) if k.endswith("_proven") else round(v, 3))
                for k, v in self.stats.items()
                if self.moments.get(k, self.added) == self.added
            },
        }
        if self.cost_bound is not None and self.parts:
            # Floored: it stays a bound.
            stats["travel_bound_km"] = math.floor(self.cost_bound) / 1000.0
        starved = (
            np.unique(np.concatenate(self.starved)).astype(np.int64)
            if self.starved
            else np.zeros(0, np.int64)
        )
        return EngineResult(
            selected=self.selected,
            status=status,
            coverage_bound=self.bound,
            at_fault=faults,
            stats=stats,
            cost_bound=self.cost_bound if self.parts else None,
            starved=starved,
        )


def fallback(part: Part) -> PartResult:
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

"""`optimal`: the lexicographic optimum of FORMAT.md, proven where the budget allows.

Per independent part (see `decompose`):
1. the greedy plan, as a first incumbent;
2. tier 1, coverage, by MIP (HiGHS) on the clique formulation, whose LP relaxation is tight;
3. tier 2, travel, by MIP with coverage held at its optimum;
4. tier 3, the soft score, with coverage and travel held;
5. while time remains and a tier is unproven, large-neighbourhood search: free the pairs of a
   few related volunteers, re-solve that small MIP exactly, keep what improves (`lns`).
A mandatory request that no plan can staff makes the MIP infeasible; the staffing-relaxed model
then finds the largest set of mandatory requests that can be staffed together, and names the
others as at fault.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from ..problem import BoolArray, IntArray, ProblemData
from .base import Control, Deadline, EngineResult, Progress, SolveParams, Status, plan_coverage
from .decompose import Part, split
from .formulation import Formulation, formulate
from .greedy import greedy_selection
from .lns import improve
from .milp import Solved, solve_milp

__all__ = ["fairness_penalty", "lexicographic_key", "optimal", "soft_score"]

# Share of a part's remaining budget given to each tier before the next one starts.
_TIER1_SHARE = 0.5
_TIER2_SHARE = 0.7


def lexicographic_key(data: ProblemData, selected: BoolArray) -> tuple[float, float, float]:
    """A selection's objective as a key where larger is better: (coverage, -travel, soft)."""
    return (
        float(plan_coverage(data, selected)),
        -float(data.pair_cost[selected].sum()),
        soft_score(data, selected),
    )


def soft_score(data: ProblemData, selected: BoolArray) -> float:
    """Tier 3: bonuses of chosen pairs minus the fairness penalty."""
    return float(data.pair_bonus[selected].sum()) - fairness_penalty(data, selected)


def fairness_penalty(data: ProblemData, selected: BoolArray) -> float:
    """The convex penalty on each volunteer's load beyond the fairness breakpoints."""
    load = np.bincount(
        data.pair_volunteer[selected],
        weights=data.pair_load[selected],
        minlength=data.num_volunteers,
    )
    excess = np.maximum(load[:, None] - data.fairness_breakpoints[None, :], 0.0)
    return float((excess * data.fairness_slopes[None, :]).sum())


@dataclass
class _PartResult:
    selected: BoolArray
    bound: int
    proven: bool
    at_fault: IntArray
    stats: dict[str, float]


def optimal(data: ProblemData, params: SolveParams, control: Control) -> EngineResult:
    deadline = Deadline(params.time_limit_s)
    started = time.perf_counter()
    selected = np.zeros(data.num_pairs, dtype=bool)
    per_request = np.bincount(data.pair_request, minlength=data.num_requests)
    # Mandatory requests with fewer candidates than their minimum fail before any search.
    at_fault: list[IntArray] = [
        np.flatnonzero(data.request_mandatory & (per_request < data.request_min))
    ]
    data_ok = replace_mandatory(data, at_fault[0])
    parts = split(data_ok)
    total_pairs = max(sum(p.data.num_pairs for p in parts), 1)
    bound = 0
    proven = True
    done_pairs = 0
    timings: dict[str, float] = {}
    for i, part in enumerate(parts):
        if control.should_stop():
            result = _fallback(part)
        else:
            share = part.data.num_pairs / max(total_pairs - done_pairs, 1)
            budget = max(deadline.remaining() * share, 0.0)
            result = _solve_part(part.data, Deadline(budget), deadline, params, control)
        selected[part.pairs] = result.selected
        bound += result.bound
        proven &= result.proven
        at_fault.append(part.requests[result.at_fault])
        for key, value in result.stats.items():
            timings[key] = timings.get(key, 0.0) + value
        done_pairs += part.data.num_pairs
        control.on_progress(
            Progress(
                phase=f"part {i + 1}/{len(parts)}",
                fraction=done_pairs / total_pairs,
                coverage=plan_coverage(data, selected),
            )
        )
    faults = np.unique(np.concatenate(at_fault)).astype(np.int64)
    if len(faults):
        status = Status.INFEASIBLE
    else:
        status = Status.OPTIMAL if proven else Status.FEASIBLE
    stats: dict[str, float | int | str | bool] = {
        "engine": "optimal",
        "parts": len(parts),
        "largest_part_pairs": max((p.data.num_pairs for p in parts), default=0),
        "engine_seconds": round(time.perf_counter() - started, 3),
        **{k: round(v, 3) for k, v in timings.items()},
    }
    return EngineResult(
        selected=selected, status=status, coverage_bound=bound, at_fault=faults, stats=stats
    )


def replace_mandatory(data: ProblemData, not_mandatory: IntArray) -> ProblemData:
    """`data` with the given requests no longer mandatory (their pinned pairs unpinned)."""
    if len(not_mandatory) == 0:
        return data
    mandatory = data.request_mandatory.copy()
    mandatory[not_mandatory] = False
    pinned = data.pair_pinned & ~np.isin(data.pair_request, not_mandatory)
    return replace(data, request_mandatory=mandatory, pair_pinned=pinned)


def _trivial_bound(data: ProblemData) -> int:
    per_request = np.bincount(data.pair_request, minlength=data.num_requests)
    return int((data.request_priority * np.minimum(per_request, data.request_max)).sum())


def _fallback(part: Part) -> _PartResult:
    sel = greedy_selection(part.data)
    return _PartResult(
        sel.selected.copy(), _trivial_bound(part.data), False, np.zeros(0, np.int64), {}
    )


def _solve_part(
    data: ProblemData, budget: Deadline, overall: Deadline, params: SolveParams, control: Control
) -> _PartResult:
    stats: dict[str, float] = {}
    at_fault = np.zeros(0, dtype=np.int64)
    form = formulate(data)
    tier1 = solve_milp(
        form, form.coverage, maximize=True, time_limit_s=budget.remaining() * _TIER1_SHARE
    )
    stats["tier1_seconds"] = tier1.seconds
    if tier1.solved is Solved.INFEASIBLE:
        at_fault = _unstaffable(data, budget)
        data = replace_mandatory(data, at_fault)
        form = formulate(data)
        tier1 = solve_milp(
            form, form.coverage, maximize=True, time_limit_s=budget.remaining() * _TIER1_SHARE
        )
    incumbent = greedy_selection(data).selected.copy()
    bound = _trivial_bound(data)
    if tier1.bound is not None:
        bound = min(bound, int(np.floor(tier1.bound + 1e-6)))
    if tier1.values is not None:
        incumbent = _better(data, incumbent, tier1.values[: data.num_pairs] > 0.5)
    coverage = plan_coverage(data, incumbent)
    tier1_proven = coverage >= bound
    tier2_proven = tier3_proven = False

    if not budget.expired() and not control.should_stop():
        held = form.with_row(form.coverage, coverage - 0.5, np.inf)
        travel = float(data.pair_cost[incumbent].sum())
        tier2 = solve_milp(
            held,
            held.cost,
            maximize=False,
            time_limit_s=budget.remaining() * _TIER2_SHARE,
            abs_gap=max(params.travel_gap * travel, 0.999),
        )
        stats["tier2_seconds"] = tier2.seconds
        if tier2.values is not None:
            incumbent = _better(data, incumbent, tier2.values[: data.num_pairs] > 0.5)
        tier2_proven = tier2.solved is Solved.OPTIMAL and tier1_proven
        if not budget.expired() and not control.should_stop():
            travel = float(data.pair_cost[incumbent].sum())
            soft_form, soft = held.with_row(held.cost, -np.inf, travel + 0.5).with_soft_terms(data)
            tier3 = solve_milp(
                soft_form, soft, maximize=True, time_limit_s=budget.remaining(), abs_gap=1e-6
            )
            stats["tier3_seconds"] = tier3.seconds
            if tier3.values is not None:
                incumbent = _better(data, incumbent, tier3.values[: data.num_pairs] > 0.5)
            tier3_proven = tier3.solved is Solved.OPTIMAL and tier2_proven

    proven = tier1_proven and tier2_proven and tier3_proven
    if not proven and not budget.expired() and not control.should_stop():
        lns_started = time.perf_counter()
        incumbent = improve(data, incumbent, budget, control, seed=params.seed)
        stats["lns_seconds"] = time.perf_counter() - lns_started
        tier1_proven = plan_coverage(data, incumbent) >= bound
    return _PartResult(incumbent, bound, proven, at_fault, stats)


def _better(data: ProblemData, current: BoolArray, candidate: BoolArray) -> BoolArray:
    if lexicographic_key(data, candidate) > lexicographic_key(data, current):
        return candidate
    return current


def _unstaffable(data: ProblemData, budget: Deadline) -> IntArray:
    """Mandatory requests left out of a plan that staffs as many mandatory requests (and keeps as
    many pinned pairs) as possible."""
    relaxed: Formulation = formulate(data, relax_staffing=True)
    weight = float(relaxed.coverage.sum()) + 1.0
    outcome = solve_milp(
        relaxed,
        weight * relaxed.staffing + relaxed.coverage,
        maximize=True,
        time_limit_s=max(budget.remaining() * 0.5, 0.05),
    )
    mandatory = np.flatnonzero(data.request_mandatory)
    if outcome.values is None:
        return mandatory.astype(np.int64)
    chosen = outcome.values[: data.num_pairs] > 0.5
    filled = np.bincount(data.pair_request[chosen], minlength=data.num_requests)
    short = data.request_mandatory & (filled < data.request_min)
    pinned_requests = np.unique(data.pair_request[data.pair_pinned & ~chosen])
    short[pinned_requests] = True
    return np.flatnonzero(short).astype(np.int64)

"""Soundness of what the optimal engine claims to have proven.

A plan's claims: `status == "optimal"` (coverage, travel and the soft score are all optimal),
`bound.coverage` (a proven upper bound on coverage), `stats["coverage_proven"]` (the plan reaches
that bound), `stats["travel_bound_km"]` (a proven lower bound on the optimal travel, given when
coverage is proven). Each is compared here with an exact reference: brute force from the rules
(`matcher_testkit.brute_force_optimum`) or, on arrays, an enumeration of every selection checked
by `ProblemData.violations`, independent of the engine's formulation, pricing and tiers.

Every instance is small and every solve has a short time limit: a wrong claim shows on a handful
of pairs, and the whole module stays fast on a loaded machine.
"""

from __future__ import annotations

import importlib
import math
import sys
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from matcher_testkit import (
    HYPOTHESIS_SOLVING,
    Json,
    brute_force_optimum,
    make_instance,
    pairs_of,
    request,
    solve_arrays,
    tiny_problems,
    truncated,
    volunteer,
)

from matcher import ENGINES, Control, ProblemData, SolveParams, check_plan, parse_instance, solve
from matcher.engines.base import Deadline, EngineResult
from matcher.engines.optimal.tier import solve_tier
from matcher.engines.optimal.tiers import coverage_bound, coverage_first
from matcher.objective import plan_coverage, soft_score

TIME_LIMIT_S = 2.0
# The module, not the engine function `matcher.engines.optimal` that shadows its name.
optimal_part = importlib.import_module("matcher.engines.optimal.part")
KM_SLACK = 1e-3  # plans and stats round kilometres to metres


# --------------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------------


def array_optimum(data: ProblemData) -> tuple[int, int] | None:
    """(coverage, cost) of the lexicographic optimum over every selection of pairs that
    `ProblemData.violations` accepts, by enumeration; None when no selection is feasible."""
    n = data.num_pairs
    assert n <= 16, "enumeration is for tiny problems"
    best: tuple[int, int] | None = None
    for mask in range(1 << n):
        selected = np.array([(mask >> i) & 1 for i in range(n)], dtype=bool)
        if data.violations(selected) != (0, 0):
            continue
        key = (plan_coverage(data, selected), int(data.pair_cost[selected].sum()))
        if best is None or (key[0], -key[1]) > (best[0], -best[1]):
            best = key
    return best


def assert_plan_claims_sound(instance: Json, plan: Any) -> None:
    """Every claim of `plan` holds against the brute-force optimum of `instance`."""
    parsed = parse_instance(instance)
    report = check_plan(parsed, plan)
    assert report.ok, [str(v) for v in report.violations]
    best = brute_force_optimum(parsed)
    assert best is not None, "these instances are feasible"
    coverage, travel = best
    cov, km = plan.objective.coverage, plan.objective.travel_km
    bound = plan.bound.coverage
    if bound is not None:
        assert bound >= coverage, f"bound.coverage {bound} below the optimum {coverage}"
    if plan.stats.get("coverage_proven"):
        assert cov == coverage, f"coverage_proven with {cov}, optimum {coverage}"
    if plan.status == "optimal":
        assert cov == coverage, f"optimal with coverage {cov}, optimum {coverage}"
        assert km <= travel + KM_SLACK, f"optimal with travel {km} km, optimum {travel} km"
    if "travel_bound_km" in plan.stats and cov == coverage:
        claimed = float(plan.stats["travel_bound_km"])
        assert claimed <= travel + KM_SLACK, f"travel_bound_km {claimed} above optimum {travel}"


def assert_result_claims_sound(data: ProblemData, result: EngineResult) -> None:
    """Every claim of an engine result holds against the enumerated optimum of `data`."""
    assert data.violations(result.selected) == (0, 0)
    best = array_optimum(data)
    assert best is not None
    coverage, cost = best
    cov = plan_coverage(data, result.selected)
    travel = int(data.pair_cost[result.selected].sum())
    if result.coverage_bound is not None:
        assert result.coverage_bound >= coverage
    if result.stats.get("coverage_proven"):
        assert cov == coverage
    if "travel_bound_km" in result.stats and cov == coverage:
        # Array costs are metres when compiled; the stat divides them by 1000.
        claimed = float(result.stats["travel_bound_km"]) * 1000.0
        assert claimed <= cost + 1e-6, f"travel bound {claimed} above optimum {cost}"
    if result.status == "optimal":
        assert (cov, travel) == (coverage, cost), f"optimal {(cov, travel)}, optimum {best}"


def run_optimal(data: ProblemData, control: Control | None = None) -> EngineResult:
    params = SolveParams(time_limit_s=TIME_LIMIT_S)
    return ENGINES["optimal"](data, params, control or Control())


# --------------------------------------------------------------------------------------------
# Combined tier 12 (W * coverage - travel)
# --------------------------------------------------------------------------------------------


def weight_gadget(*, previous: bool = False) -> Json:
    """Two independent components solved in one part (small components are packed together).

    Chain (r3 starts first, r1 last; everyone takes at most one request): greedy staffs all
    three with v2->r3, v1->r2, v0->r1, 4 km each (12 km); dropping r3 leaves v1->r1, v2->r2
    at 0 km. So the plan of coverage 3 costs 12 km more than one of coverage 2, more than the
    weight W = 2 * (longest pair, 4 km) + 1 m of the combined tier: maximising
    W * coverage - travel prefers coverage 2 there.
    Swap: a then b; greedy gives x->a (1 km), y->b (4 km) = 5 km; y->a, x->b is 3 km.

    Greedy (coverage 5, 17 km) is lexicographically better than the combined tier's optimum
    (coverage 4), so it stays the incumbent; the tier is declared proven with the incumbent's
    value as its bound, hence travel_bound_km = 17 and status optimal, while the optimum is
    coverage 5 with 15 km (v0->r1, v1->r2, v2->r3, y->a, x->b)."""
    one = {"max_assignments": 1}
    vols = [
        volunteer("v0", north_km=0, max_travel_km=6, **one),
        volunteer("v1", north_km=4, max_travel_km=6, **one),
        volunteer("v2", north_km=8, max_travel_km=6, **one),
        volunteer("x", north_km=1, east_km=100, max_travel_km=5, **one),
        volunteer("y", north_km=-2, east_km=100, max_travel_km=5, **one),
    ]
    reqs = [
        request("r1", north_km=4, start=12, end=13),
        request("r2", north_km=8, start=10, end=11),
        request("r3", north_km=12, start=8, end=9),
        request("a", north_km=0, east_km=100, start=14, end=15),
        request("b", north_km=2, east_km=100, start=16, end=17),
    ]
    return make_instance(vols, reqs, previous=[("x", "a"), ("y", "b")] if previous else [])


@pytest.mark.parametrize("previous", [False, True], ids=["plain", "previous_pairs"])
def test_combined_tier_weight_does_not_prove_a_suboptimal_travel(previous: bool) -> None:
    instance = weight_gadget(previous=previous)
    plan = solve(instance, time_limit_s=TIME_LIMIT_S)
    assert plan.objective.coverage == 5
    assert_plan_claims_sound(instance, plan)


# --------------------------------------------------------------------------------------------
# Decomposition: flags of parts that were never solved
# --------------------------------------------------------------------------------------------


def two_parts_greedy_short() -> ProblemData:
    """Two parts (a component of 4000+ pairs is a part of its own; parts run smallest first).
    Small part: volunteer 11 -> request 401. Large part: volunteers 0-9 can do requests 0-399
    (1 m each); request 400 comes first in greedy's order and takes volunteer 0 (0 m) although
    volunteer 10 (5 m) could do it: greedy staffs 10 of the 11 the large part can. Everyone
    takes at most one request. The optimum covers 12."""
    pv = [*np.repeat(np.arange(10), 400).tolist(), 0, 10, 11]
    pr = [*np.tile(np.arange(400), 10).tolist(), 400, 400, 401]
    cost = [1] * 4000 + [0, 5, 0]
    order = np.r_[np.arange(1, 401), 0, 401]
    return ProblemData.build(
        num_volunteers=12,
        num_requests=402,
        pair_volunteer=pv,
        pair_request=pr,
        pair_cost=cost,
        volunteer_max_pairs=np.ones(12, dtype=np.int64),
        request_order=order,
    )


def test_coverage_proven_is_not_claimed_for_parts_left_unsolved() -> None:
    """A stop request after the first part leaves the second one to greedy (`_fallback`, no
    stats); the flags are merged only over the parts that report them, so the first part's
    `coverage_proven` stands for the whole plan."""
    data = two_parts_greedy_short()
    polls: list[int] = []

    def stop_after_first_poll() -> bool:
        polls.append(1)
        return len(polls) > 1

    result = ENGINES["optimal"](
        data, SolveParams(time_limit_s=TIME_LIMIT_S), Control(stop_after_first_poll)
    )
    coverage = plan_coverage(data, result.selected)
    assert result.status != "optimal"
    if result.stats.get("coverage_proven"):
        assert result.coverage_bound == coverage, (
            f"coverage_proven with coverage {coverage}, bound {result.coverage_bound}"
        )
        assert coverage == 12


# --------------------------------------------------------------------------------------------
# Candidates the compile step leaves out (12 * volunteers_needed + 40 per request)
# --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("capped_candidates")
def test_optimal_soft_score_accounts_for_candidates_left_out_by_compile() -> None:
    """60 volunteers at the request's own place all qualify; compile keeps 52 of them (ties,
    in input order). The last one prefers the service: the same coverage and travel (0 km)
    with preference 1 exists, yet the plan says optimal with preference 0 (tier 3 never looks
    at left-out candidates, and tier 12's closure only keeps pairs of strictly better plans)."""
    vols = [volunteer(f"v{i:02d}") for i in range(59)]
    vols.append(volunteer("z", preferences={"visit": 1.0}))
    instance = make_instance(vols, [request("r1")])
    plan = solve(instance, time_limit_s=TIME_LIMIT_S)
    assert plan.objective.coverage == 1 and plan.objective.travel_km == 0.0
    if plan.status == "optimal":
        assert pairs_of(plan) == {("z", "r1")}, (
            "a plan with preference 1.0 ties on coverage and travel"
        )


def test_coverage_bound_counts_left_out_candidates_of_a_request_below_its_maximum() -> None:
    """Arrays: one request needing 2, one candidate kept (0 m) and one left out (5 m, recorded
    in `request_dropped`). `_trivial_bound` counts only kept pairs (bound 1) and W = 2 * 0 + 1
    makes the left-out candidate look like a loss in tier 12, so the engine says optimal with
    coverage 1 and bound 1; the left-out volunteer makes coverage 2."""
    full = ProblemData.build(
        num_volunteers=2,
        num_requests=1,
        pair_volunteer=[0, 1],
        pair_request=[0, 0],
        pair_cost=[0, 5],
        request_max=[2],
    )
    assert array_optimum(full) == (2, 5)
    data = truncated(full, np.array([False, True]))
    result = run_optimal(data)
    assert result.coverage_bound is not None and result.coverage_bound >= 2
    assert result.status != "optimal"
    assert not result.stats.get("coverage_proven")


# --------------------------------------------------------------------------------------------
# Restricted columns (parts above 15,000 pairs)
# --------------------------------------------------------------------------------------------


def test_optimal_soft_score_on_restricted_columns() -> None:
    """150 volunteers x 101 requests (15,150 pairs: restricted columns), every pair 10 m, each
    volunteer at most one request; only pair (149, 50) has a bonus. Any plan staffing all 101
    at 1,010 m is travel-optimal, and one of them holds the bonus; reduced-cost fixing keeps
    only pairs of strictly better plans, so tier 3 on those columns misses it and the engine
    says optimal with soft score 0."""
    nv, nr = 150, 101
    pv = np.repeat(np.arange(nv), nr)
    pr = np.tile(np.arange(nr), nv)
    bonus = ((pv == 149) & (pr == 50)).astype(float)
    data = ProblemData.build(
        num_volunteers=nv,
        num_requests=nr,
        pair_volunteer=pv,
        pair_request=pr,
        pair_cost=np.full(nv * nr, 10),
        volunteer_max_pairs=np.ones(nv, dtype=np.int64),
        pair_bonus=bonus,
    )
    result = run_optimal(data)
    assert plan_coverage(data, result.selected) == 101
    assert int(data.pair_cost[result.selected].sum()) == 1010
    if result.status == "optimal":
        assert float(data.pair_bonus[result.selected].sum()) == 1.0


# --------------------------------------------------------------------------------------------
# Stopped solves: what they return must still keep the rules it claims to keep
# --------------------------------------------------------------------------------------------


def test_plan_of_a_solve_stopped_before_any_part_keeps_the_hard_rules() -> None:
    """`two_mandatory_one_order`: a stop request before the first part makes that part
    greedy's (`_fallback`). HEAD before 4ded622 dropped greedy's at-fault requests: the plan
    said feasible while r2 (mandatory) is empty, and check_plan rejected it. Since, r2 is at
    fault with "no plan gives it 1 volunteer(s)", which is false (v2 -> r1, v1 -> r2)."""
    instance = two_mandatory_one_order()
    parsed = parse_instance(instance)
    assert brute_force_optimum(parsed) is not None
    plan = solve(instance, time_limit_s=TIME_LIMIT_S, control=Control(should_stop=lambda: True))
    assert plan.status != "optimal"
    report = check_plan(parsed, plan)
    assert report.ok, [str(v) for v in report.violations]
    # Naming r2 at fault is the only way to return greedy's plan, but not as a proof.
    assert not unstaffable_claims(plan)


def unstaffable_claims(plan: Any) -> list[str]:
    """The plan's statements that no plan can staff a request (what status infeasible means in
    FORMAT.md), in its at_fault reasons."""
    return [f.reason for f in plan.at_fault if "no plan" in f.reason]


# --------------------------------------------------------------------------------------------
# Excluded pairs are removed after compile's cap
# --------------------------------------------------------------------------------------------


def crowded_with_exclusions(needed: int, excluded: int, *, mandatory: bool = False) -> Json:
    """r1 needs `needed`; 12 * needed + 40 volunteers stand within a few metres of it (compile's
    cap), the first `excluded` of them declined it (`excluded`), and one more volunteer 2 km away
    can do it. Compile keeps the cap's nearest, then removes the excluded pairs, and records
    nothing of the volunteer 2 km away as a candidate of r1 but the count."""
    crowd = 12 * needed + 40
    vols = [volunteer(f"n{i:02d}", north_km=0.01 * i) for i in range(crowd)]
    vols.append(volunteer("far", north_km=2))
    instance = make_instance(vols, [request("r1", volunteers_needed=needed, mandatory=mandatory)])
    instance["excluded"] = [
        {"volunteer_id": f"n{i:02d}", "request_id": "r1"} for i in range(excluded)
    ]
    return instance


@pytest.mark.usefixtures("capped_candidates")
@pytest.mark.parametrize("mandatory", [False, True], ids=["optional", "mandatory"])
def test_request_whose_kept_candidates_all_declined_is_not_called_unstaffable(
    mandatory: bool,
) -> None:
    """All 52 kept candidates declined: r1 has no pair left, so no part holds it and nothing
    bounds it. HEAD says optimal with coverage 0 and bound 0 (optional), or infeasible with r1
    at fault, "no plan gives it 1 volunteer" (mandatory); far -> r1 keeps every rule."""
    instance = crowded_with_exclusions(1, 52, mandatory=mandatory)
    plan = solve(instance, time_limit_s=TIME_LIMIT_S)
    if plan.status == "infeasible":
        pytest.fail(f"infeasible, at fault {plan.at_fault}, although far -> r1 staffs r1")
    assert plan.bound.coverage is not None and plan.bound.coverage >= 1
    if plan.status == "optimal":
        assert pairs_of(plan) == {("far", "r1")}


@pytest.mark.usefixtures("capped_candidates")
def test_coverage_bound_counts_candidates_behind_declined_ones() -> None:
    """r1 needs 2; 63 of its 64 kept candidates declined, leaving one pair and the volunteer
    2 km away outside the pairs. HEAD bounds coverage by the pairs kept (1) and says optimal
    with coverage 1; n63 and far staff it fully (coverage 2)."""
    plan = solve(crowded_with_exclusions(2, 63), time_limit_s=TIME_LIMIT_S)
    assert plan.bound.coverage is not None and plan.bound.coverage >= 2
    if plan.status == "optimal" or plan.stats.get("coverage_proven"):
        assert plan.objective.coverage == 2


def colocated_exam_site() -> Json:
    """53 mandatory requests at one place and time (an exam site) and 53 volunteers on a line
    away from it, 50 m apart: each request keeps the same nearest 52 (compile's cap), so no
    pair reaches the 53rd volunteer. Giving each request its own volunteer keeps every rule."""
    vols = [volunteer(f"v{i:02d}", north_km=0.05 * i) for i in range(53)]
    return make_instance(vols, [request(f"r{j:02d}", mandatory=True) for j in range(53)])


def nearest_cannot_fit() -> Json:
    """A 2-hour mandatory request; its 52 nearest volunteers have max_hours 1 (rule 7 rules them
    out, but compile's rules 1-5 keep them as its candidates), and w, 1 km away and uncapped, is
    left out. w -> r1 keeps every rule."""
    vols = [volunteer(f"v{i:02d}", north_km=0.01 * i, max_hours=1) for i in range(52)]
    vols.append(volunteer("w", north_km=1))
    return make_instance(vols, [request("r1", start=9, end=11, mandatory=True)])


def dorm_and_ring() -> Json:
    """53 volunteers living at one address (a dorm) and 53 mandatory visits at the same time on
    a ring 10 km around it, 1.2 km apart (no two within a kilometre). Every request is 10 km
    from everyone: each keeps the same 52 (ties in input order), so the 53rd volunteer is
    nobody's candidate. One volunteer per visit keeps every rule."""
    vols = [volunteer(f"v{i:02d}") for i in range(53)]
    reqs = [
        request(
            f"r{j:02d}",
            north_km=10 * math.cos(2 * math.pi * j / 53),
            east_km=10 * math.sin(2 * math.pi * j / 53),
            mandatory=True,
        )
        for j in range(53)
    ]
    return make_instance(vols, reqs)


@pytest.mark.usefixtures("capped_candidates")
@pytest.mark.parametrize("build", [colocated_exam_site, nearest_cannot_fit, dorm_and_ring])
def test_mandatory_requests_staffable_beyond_compiles_cap_are_not_called_unstaffable(
    build: Any,
) -> None:
    """The engine can only see the kept candidates, so it says infeasible and names requests
    that "no plan" can staff."""
    plan = solve(build(), time_limit_s=2.0)
    assert plan.status != "infeasible", (
        f"infeasible, at fault {[a.request_id for a in plan.at_fault]}"
    )


@pytest.mark.usefixtures("capped_candidates")
@pytest.mark.parametrize("build", [colocated_exam_site, nearest_cannot_fit, dorm_and_ring])
def test_no_time_share_left_for_a_widening_still_widens_a_doubtful_verdict(
    build: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load the share of the limit a widening needs can be spent before the engine hands
    back; an infeasible verdict on requests with left-out candidates is widened all the same."""
    # Never time for a widening (`matcher.solve` the name is the function, hence sys.modules).
    monkeypatch.setattr(sys.modules["matcher.solve"], "_WIDEN_SOLVE_SHARE", 2.0)
    plan = solve(build(), time_limit_s=2.0)
    assert plan.status != "infeasible", (
        f"infeasible, at fault {[a.request_id for a in plan.at_fault]}"
    )


# --------------------------------------------------------------------------------------------
# Hours caps: loads rounded up to whole seconds
# --------------------------------------------------------------------------------------------


def test_hours_cap_bound_with_fractional_second_durations() -> None:
    """max_hours 1; r1 lasts 1799.5 s and r2 1800.5 s: together exactly one hour, which rule 7
    allows. Compile rounds each load up to whole seconds (1800 + 1801 > 3600), so the engine
    says optimal with coverage 1 and bound.coverage 1; the optimum is 2."""
    vols = [volunteer("v1", max_hours=1)]
    reqs = [
        request("r1", start=9, end=9 + 1799.5 / 3600),
        request("r2", start=12, end=12 + 1800.5 / 3600),
    ]
    instance = make_instance(vols, reqs)
    assert brute_force_optimum(parse_instance(instance)) == (2, 0.0)
    assert_plan_claims_sound(instance, solve(instance, time_limit_s=TIME_LIMIT_S))


# --------------------------------------------------------------------------------------------
# Units: travel is compared in whole metres per pair, the plan reports kilometres
# --------------------------------------------------------------------------------------------


def test_travel_bound_km_is_below_the_travel_of_an_optimal_plan() -> None:
    """Ten volunteers each 1.6 m from their own request (nobody reaches another): the plan is
    forced and optimal, travel_km 0.016. Pair costs are rounded metres (2 each), so the engine
    reports travel_bound_km 0.020, above the travel of the very plan it proves optimal."""
    vols = [volunteer(f"v{i}", north_km=0.0016 + 10 * i, max_travel_km=1) for i in range(10)]
    reqs = [request(f"r{i}", north_km=10 * i) for i in range(10)]
    plan = solve(make_instance(vols, reqs), time_limit_s=TIME_LIMIT_S)
    assert plan.objective.coverage == 10
    if "travel_bound_km" in plan.stats:
        assert float(plan.stats["travel_bound_km"]) <= plan.objective.travel_km + 1e-9


# --------------------------------------------------------------------------------------------
# Random arrays: every mechanism at once, against enumeration
# --------------------------------------------------------------------------------------------


@st.composite
def problems(draw: st.DrawFn) -> tuple[ProblemData, ProblemData]:
    """(whole problem, what the engine is given): a random problem of at most 12 pairs with
    loads, caps, conflict sets, headcount ranges, priorities, mandatory requests, a pinned
    pair, bonuses and fairness; the engine's copy may leave out each request's costliest candidates beyond its
    maximum, recorded like compile records them."""
    data = draw(tiny_problems())
    n, nr, request_max = data.num_pairs, data.num_requests, data.request_max
    if draw(st.booleans()):
        data = replace(
            data, fairness_breakpoints=np.array([1, 3]), fairness_slopes=np.array([0.25, 0.25])
        )
    drop = np.zeros(n, dtype=bool)
    for r in range(nr):
        mine = np.flatnonzero(data.pair_request == r)
        mine = mine[np.argsort(data.pair_cost[mine], kind="stable")]
        keep = draw(st.integers(request_max[r], max(len(mine), request_max[r])))
        drop[mine[keep:]] = True
    drop &= ~data.pair_pinned
    return data, truncated(data, drop) if drop.any() else data


def feasible_selections(data: ProblemData) -> np.ndarray:
    """Every selection of pairs that keeps the hard rules of `ProblemData.violations` (restated
    on a matrix of selections), as rows of 0 and 1."""
    n, nv, nr = data.num_pairs, data.num_volunteers, data.num_requests
    masks = np.arange(1 << n, dtype=np.int64)
    chosen = ((masks[:, None] >> np.arange(n)) & 1).astype(np.int64)  # selections x pairs
    by_volunteer = np.eye(nv, dtype=np.int64)[data.pair_volunteer]  # pairs x volunteers
    by_request = np.eye(nr, dtype=np.int64)[data.pair_request]
    load = chosen @ (by_volunteer * data.pair_load[:, None])
    ok = np.all(load <= data.volunteer_capacity, axis=1)
    ok &= np.all(chosen @ by_volunteer <= data.volunteer_max_pairs, axis=1)
    filled = chosen @ by_request
    ok &= np.all(filled <= data.request_max, axis=1)
    ok &= ~np.any((filled > 0) & (filled < data.request_min), axis=1)
    ok &= ~np.any(data.request_mandatory & (filled < data.request_min), axis=1)
    ok &= np.all(chosen[:, data.pair_pinned] == 1, axis=1)
    for s in range(data.num_conflict_sets):
        members = data.conflict_requests[data.conflict_indptr[s] : data.conflict_indptr[s + 1]]
        in_set = np.isin(data.pair_request, members)[:, None]
        ok &= np.all(chosen @ (by_volunteer * in_set) <= 1, axis=1)
    return chosen[ok]


def enumerated_optimum(data: ProblemData) -> tuple[int, int, float] | None:
    """(coverage, cost, soft score) of the lexicographic optimum, by enumerating every selection
    at once (`feasible_selections`; the optimum found is checked with `violations` itself)."""
    chosen = feasible_selections(data)
    if len(chosen) == 0:
        return None
    by_volunteer = np.eye(data.num_volunteers, dtype=np.int64)[data.pair_volunteer]
    load = chosen @ (by_volunteer * data.pair_load[:, None])
    coverage = chosen @ data.request_priority[data.pair_request]
    cost = chosen @ data.pair_cost
    excess = np.maximum(load[:, :, None] - data.fairness_breakpoints[None, None, :], 0)
    soft = chosen @ data.pair_bonus - (excess * data.fairness_slopes).sum(axis=(1, 2))
    best = np.lexsort((-soft, cost, -coverage))[0]
    selected = chosen[best].astype(bool)
    assert data.violations(selected) == (0, 0)
    assert soft_score(data, selected) == pytest.approx(soft[best])
    return int(coverage[best]), int(cost[best]), float(soft[best])


def assert_array_claims(whole: ProblemData, given: ProblemData, result: EngineResult) -> None:
    assert given.violations(result.selected) == (0, 0) or result.status == "infeasible"
    best = enumerated_optimum(whole)
    if best is None:
        assert result.status == "infeasible"
        return
    if result.status == "infeasible":
        # Arrays that leave candidates out may hide every feasible plan from the engine: it can
        # then only say infeasible, but not that it proved it.
        hidden = bool(given.request_dropped.any())
        assert hidden and not result.stats.get("staffing_proven"), (
            f"infeasible, at fault {result.at_fault}; optimum {best}"
        )
        return
    coverage, cost, soft = best
    cov = plan_coverage(given, result.selected)
    travel = int(given.pair_cost[result.selected].sum())
    if result.coverage_bound is not None:
        assert result.coverage_bound >= coverage, f"bound {result.coverage_bound}, optimum {best}"
    if result.stats.get("coverage_proven"):
        assert cov == coverage, f"coverage_proven at {cov}, optimum {best}"
    if "travel_bound_km" in result.stats and cov == coverage:
        claimed = float(result.stats["travel_bound_km"]) * 1000.0
        assert claimed <= cost + 1e-6, f"travel bound {claimed}, optimum {best}"
    if result.status == "optimal":
        assert (cov, travel) == (coverage, cost), f"optimal at {(cov, travel)}, optimum {best}"
        assert soft_score(given, result.selected) >= soft - 1e-6, f"soft score, optimum {best}"


@pytest.mark.parametrize("columns", ["all", "restricted"])
@settings(HYPOTHESIS_SOLVING, max_examples=25)
@given(problem=problems())
def test_claims_on_random_arrays(columns: str, problem: tuple[ProblemData, ProblemData]) -> None:
    """With `restricted`, every part starts from restricted columns (as parts of more than
    15,000 pairs do): pricing, reduced-cost fixing and the left-out candidates' bounds must make
    the same claims true."""
    whole, data = problem
    note(f"whole: {describe(whole)}\ngiven: {describe(data)}")
    result = solve_arrays(data, columns)
    assert_array_claims(whole, data, result)


def fairness_between_two_helpers() -> tuple[ProblemData, ProblemData]:
    """(whole, given): r0 needs exactly two of v0, v1, v2 and r1 one of anyone; v2's pair on r1
    weighs 2 units, so taking it costs fairness (a quarter per unit above 1) where v3 or v4
    (whose pairs on r0, at cost 8, compile left out) would not. The greedy plan takes v2."""
    whole = ProblemData.build(
        num_volunteers=5, num_requests=2, pair_volunteer=[0, 0, 1, 1, 2, 2, 3, 3, 4, 4],
        pair_request=[0, 1] * 5, pair_cost=[0, 0, 0, 0, 1, 0, 8, 0, 8, 0],
        pair_load=[1, 1, 1, 1, 1, 2, 1, 1, 1, 1], volunteer_capacity=[2] * 5,
        volunteer_max_pairs=[1] * 5, request_min=[2, 1], request_max=[2, 1],
    )  # fmt: skip
    whole = replace(
        whole, fairness_breakpoints=np.array([1, 3]), fairness_slopes=np.array([0.25, 0.25])
    )
    return whole, truncated(whole, np.array([False] * 6 + [True, False, True, False]))


def test_tier_one_breaks_no_ties_by_travel_where_candidates_were_left_out() -> None:
    """Found by `test_claims_on_random_arrays`: v0 can take r0 or r1, and r0's other candidate
    (v1, 8 km) was left out by compile. Weighed against the travel of the pairs kept, that
    candidate's travel outweighed its slot, and tier 1 proved a coverage bound of 1 where a
    plan of 2 exists."""
    whole = ProblemData.build(
        num_volunteers=2, num_requests=2, pair_volunteer=[0, 0, 1], pair_request=[0, 1, 0],
        pair_cost=[0, 1, 8], volunteer_capacity=[2, 2], volunteer_max_pairs=[1, 1],
        request_min=[1, 1], request_max=[1, 1],
    )  # fmt: skip
    data = truncated(whole, np.array([False, False, True]))
    assert coverage_first(data).tie == 0.0
    result = solve_arrays(data, "restricted")
    assert_array_claims(whole, data, result)


@pytest.mark.parametrize("columns", ["all", "restricted"])
def test_the_soft_score_is_proven_only_by_a_mip_run_to_its_gap(columns: str) -> None:
    """Found by `test_claims_on_random_arrays`: the plan taking v2 was called optimal. On
    restricted columns the first MIP stopped within 0.999 and its "optimal" was taken to settle
    the soft score; on all pairs HiGHS, started from that plan, called it optimal below its own
    bound. Both claims now hold only where the bound shows them."""
    whole, data = fairness_between_two_helpers()
    result = solve_arrays(data, columns)
    assert_array_claims(whole, data, result)


@settings(HYPOTHESIS_SOLVING, max_examples=50)
@given(data=tiny_problems())
def test_tier_one_weighs_a_unit_of_coverage_above_any_travel(data: ProblemData) -> None:
    """Tier 1 after the combined tier breaks ties by travel: over every plan, its value orders
    plans as (coverage, then less travel) does, and proves the plan's coverage back."""
    tier = coverage_first(data)
    chosen = feasible_selections(data)
    values = chosen @ tier.objective.on_pairs(data)
    coverage = chosen @ data.request_priority[data.pair_request]
    cost = chosen @ data.pair_cost
    assert [coverage_bound(tier, v) for v in values] == coverage.tolist()
    if len(chosen):
        lexicographic = np.lexsort((cost, -coverage))[0]
        assert values.max() == pytest.approx(values[lexicographic], abs=1e-12)
        assert (coverage[lexicographic], cost[lexicographic]) == (
            coverage[values.argmax()], cost[values.argmax()]
        )  # fmt: skip


@settings(HYPOTHESIS_SOLVING, max_examples=25)
@given(data=tiny_problems())
def test_tier_one_with_its_tie_breaker_claims_only_what_holds(data: ProblemData) -> None:
    """On restricted columns (pricing, dive, reduced-cost fixing at the tier's step), the
    coverage bound tier 1 proves holds, and a proven tier is at the optimum's coverage."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimal_part, "FULL_COLUMNS", 0)
        state = optimal_part.PartSolver(data, Deadline(0.5), SolveParams(), Control()).state
    assume(data.violations(state.incumbent) == (0, 0))
    tier = coverage_first(data)
    outcome = solve_tier(state, tier, closure_limit=2.0)
    best = enumerated_optimum(data)
    assert best is not None and outcome is not None
    assert coverage_bound(tier, outcome.bound) >= best[0]
    if outcome.proven:
        assert plan_coverage(data, state.incumbent) == best[0]


def describe(data: ProblemData) -> str:
    """The arrays of `data` as a dict literal, for a failing example's note."""
    return repr(
        {
            name: (value.tolist() if isinstance(value, np.ndarray) else value)
            for name, value in vars(data).items()
            if not name.startswith("_")
        }
    )


# --------------------------------------------------------------------------------------------
# Greedy: a baseline proves nothing
# --------------------------------------------------------------------------------------------


def two_mandatory_one_order() -> Json:
    """Both requests mandatory; greedy gives r1 to v1 (nearest), and only v1 reaches r2.
    v2 -> r1 with v1 -> r2 keeps every rule."""
    vols = [
        volunteer("v1", max_assignments=1),
        volunteer("v2", north_km=1, max_assignments=1, max_travel_km=1.5),
    ]
    reqs = [
        request("r1", start=8, end=9, mandatory=True),
        request("r2", north_km=-3, start=10, end=11, mandatory=True),
    ]
    return make_instance(vols, reqs)


@pytest.mark.parametrize(
    "build", [weight_gadget, two_mandatory_one_order, nearest_cannot_fit, colocated_exam_site]
)
def test_greedy_claims_no_proof(build: Any) -> None:
    instance = build()
    plan = solve(instance, engine="greedy", time_limit_s=TIME_LIMIT_S)
    assert plan.status != "optimal"
    assert plan.bound.coverage is None
    assert "coverage_proven" not in plan.stats and "travel_bound_km" not in plan.stats
    report = check_plan(parse_instance(instance), plan)
    assert report.ok, [str(v) for v in report.violations]


def test_greedy_does_not_say_no_plan_staffs_a_request_it_merely_missed() -> None:
    """Greedy leaves r2 empty and reports status infeasible with r2 at fault: "mandatory, but no
    plan gives it 1 volunteer(s)". A plan staffing both exists (FORMAT: infeasible is for when
    no plan can)."""
    instance = two_mandatory_one_order()
    assert brute_force_optimum(parse_instance(instance)) is not None
    plan = solve(instance, engine="greedy", time_limit_s=TIME_LIMIT_S)
    claims = unstaffable_claims(plan)
    assert plan.status != "infeasible" or not claims, claims


def test_coverage_bound_holds_when_only_left_out_candidates_can_staff_a_request() -> None:
    """R's 52 nearest volunteers (100 m) each also hold the only pass to their own request at
    the same time; 8 more, 3 km away, reach R only. The optimum staffs all 53; whatever the
    engine keeps, its bound must allow 53 and it may not prove less."""
    near = [
        volunteer(f"n{i:02d}", north_km=0.1, east_km=0.001 * i, skills=[f"s{i}"]) for i in range(52)
    ]
    far = [volunteer(f"f{i}", north_km=3, east_km=0.01 * i) for i in range(8)]
    own = [
        request(f"p{i:02d}", north_km=0.1, east_km=0.001 * i + 0.2, required_skills=[f"s{i}"])
        for i in range(52)
    ]
    plan = solve(make_instance(near + far, [request("R"), *own]), time_limit_s=TIME_LIMIT_S)
    assert plan.bound.coverage is not None and plan.bound.coverage >= 53
    if plan.status == "optimal" or plan.stats.get("coverage_proven"):
        assert plan.objective.coverage == 53

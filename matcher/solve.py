"""The public entry point: instance in, plan out.

`solve` validates the instance, compiles it to arrays, runs an engine and turns the chosen pairs
back into a `Plan` with explanations, objective, bound and statistics. Everything a user, the
HTTP service, the scenarios and the benchmarks do goes through here or through `ENGINES`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any, Literal

import numpy as np

from . import rules
from .compile import Compiled, compile_instance
from .engines import ENGINES
from .engines.base import Control, Deadline, EngineResult, SolveParams, Status
from .explain import Explanation, explain, explain_visits
from .model import (
    Assignment,
    Bound,
    Instance,
    Objective,
    Plan,
    QuotaOutcome,
    Request,
    Volunteer,
)
from .objective import fairness_of_loads, fairness_penalty, quota_shortfall
from .problem import BoolArray, ProblemData
from .validate import instance_warnings, parse_instance
from .visits import VisitPlanner, VisitsResult, team_exclusions

__all__ = ["DEFAULT_TIME_LIMIT_S", "EngineName", "build_plan", "solve"]

EngineName = Literal["optimal", "greedy"]
DEFAULT_TIME_LIMIT_S = 10.0
_WIDENINGS = 2  # rounds of compiling more candidates for requests short of them
_WIDEN_FACTOR = 4
# Share of the time limit a solve from the start after a widening must still have.
_WIDEN_SOLVE_SHARE = 0.5
# Most of a mixed week's time limit its fixed part may take (the visits have the rest).
_FIXED_SHARE_MAX = 2 / 3


def solve(
    instance: Instance | str | bytes | Mapping[str, Any],
    *,
    engine: EngineName = "optimal",
    time_limit_s: float | None = None,
    seed: int | None = None,
    workers: int = 2,
    control: Control | None = None,
) -> Plan:
    """Solve a matching problem. `time_limit_s` and `seed` override the instance's options;
    `workers` (1 or 2) is how many threads the solve may keep busy (`SolveParams.workers`).
    Raises `InstanceError` (naming record and field) on bad input and `ValueError` on bad
    arguments, before any solving."""
    started = time.perf_counter()
    problem = parse_instance(instance)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    options = problem.options
    if time_limit_s is None:
        time_limit_s = (
            options.time_limit_s if options.time_limit_s is not None else DEFAULT_TIME_LIMIT_S
        )
    params = SolveParams(
        time_limit_s=time_limit_s, seed=options.seed if seed is None else seed, workers=workers
    )
    control = control or Control()
    if not any(r.flexible or r.same_attributes for r in problem.requests):
        compiled, result, compile_seconds = _solve_fixed(problem, engine, params, started, control)
        return build_plan(compiled, result, started=started, compile_seconds=compile_seconds)
    return _solve_mixed(problem, engine, params, started, control)


def _solve_fixed(
    problem: Instance,
    engine: EngineName,
    params: SolveParams,
    started: float,
    control: Control,
) -> tuple[Compiled, EngineResult, float]:
    """Compile and solve an instance of fixed requests (FORMAT v1) within the time limit
    (counted from `started`)."""
    compiled = compile_instance(problem)
    compile_seconds = last_compile_s = time.perf_counter() - started
    # Compile keeps each request's nearest candidates. When the engine finds requests whose
    # left-out candidates could do better, it hands back early: compile more for them, again.
    factor = np.ones(len(problem.requests), dtype=np.int64)
    for attempt in range(_WIDENINGS + 1):
        result = _run_engine(
            engine, compiled, params, started, control,
            widen_compile_s=last_compile_s if attempt < _WIDENINGS else None,
        )  # fmt: skip
        if result.stats.get("handed_back"):
            factor[result.starved] *= _WIDEN_FACTOR
        else:
            # "No plan can staff it" must hold for every plan, not only the kept candidates:
            # a request at fault that had some left out is compiled wider and solved again,
            # even when the time share for a widening is spent (under load a 2 s solve of 53
            # mandatory requests named one at fault that one more compile staffs).
            doubtful = result.at_fault[compiled.data.request_dropped[result.at_fault] > 0]
            if result.status is not Status.INFEASIBLE or not doubtful.size:
                break
            if attempt == _WIDENINGS:
                break
            factor[doubtful] *= _WIDEN_FACTOR
        compiling = time.perf_counter()
        compiled = compile_instance(problem, cap_factor=factor)
        last_compile_s = time.perf_counter() - compiling
    result.stats["candidate_widenings"] = attempt
    return compiled, result, compile_seconds


def _solve_mixed(
    problem: Instance,
    engine: EngineName,
    params: SolveParams,
    started: float,
    control: Control,
) -> Plan:
    """A week with routed requests (flexible visits, teams sharing attributes): the fixed
    requests first, by the v1 path with the routed ones as placeholders (their share of the
    time limit by headcount, between a half and two thirds), then the routed ones day by day
    around the fixed part's assignments in the time left (`matcher.visits`), then one plan of
    both."""
    planner = VisitPlanner(problem)
    flexible = set(planner.flex)
    fixed_index = [i for i in range(len(problem.requests)) if i not in flexible]
    fixed_ids = {problem.requests[i].id for i in fixed_index}
    # The routed requests stand in the fixed part as placeholders at the middle of their
    # window (optional, no team rule), so that it leaves them volunteers; their pairs are
    # dropped before the visits are routed. Without them the fixed part took the volunteers
    # the visits needed: on a 5,000-volunteer week of 1,500 fixed requests and 600 visits it
    # staffed 6013 slots against 6565 with every visit fixed at mid-window.
    placeholders = (
        tuple(_placeholder(problem.requests[i]) for i in planner.flex) if fixed_index else ()
    )
    fixed_problem = problem.model_copy(
        update={
            "requests": (*(problem.requests[i] for i in fixed_index), *placeholders),
            "pinned": tuple(p for p in problem.pinned if p.request_id in fixed_ids),
            "previous": tuple(p for p in problem.previous if p.request_id in fixed_ids),
            "excluded": (*problem.excluded, *team_exclusions(problem)),
        }
    )
    limit = params.time_limit_s
    fixed_slots = sum(problem.requests[i].volunteers_needed for i in fixed_index)
    routed_slots = sum(problem.requests[i].volunteers_needed for i in planner.flex)
    # By headcount, between a half and two thirds: by candidate pairs (the first idea), a
    # 5,000-volunteer week of 1,500 fixed requests left its 600 visits 0.9 s of 30.
    share = (
        min(_FIXED_SHARE_MAX, max(0.5, fixed_slots / (fixed_slots + routed_slots)))
        if fixed_index
        else 0.05  # nothing to solve: its plan is built at once
    )
    compiled, result, compile_seconds = _solve_fixed(
        fixed_problem, engine, replace(params, time_limit_s=limit * share), started, control
    )
    data = compiled.data
    if placeholders:  # the fixed part's plan: without the placeholders' pairs, proven nothing
        result = replace(
            result,
            selected=result.selected & (data.pair_request < len(fixed_index)),
            status=Status.INFEASIBLE if result.at_fault.size else Status.FEASIBLE,
            coverage_bound=_fixed_bound(data, result.coverage_bound, len(fixed_index)),
        )
    fixed_plan = build_plan(
        compiled, result, started=started, compile_seconds=compile_seconds,
        explained=len(fixed_index),  # not the placeholders
    )  # fmt: skip
    chosen = np.flatnonzero(result.selected)
    booked = [
        (int(data.pair_volunteer[p]), fixed_index[int(data.pair_request[p])])
        for p in chosen.tolist()
    ]
    # What is left, less a reserve for the explanations and the plan (about a second on a
    # 5,000-volunteer week).
    left = limit - (time.perf_counter() - started)
    deadline = Deadline(max(left - min(1.5, 0.05 * limit), 0.01))
    visits = planner.plan(booked, deadline=deadline, seed=params.seed, control=control)
    why = explain_visits(planner, visits.shortfalls, visits.at_fault)
    return _mixed_plan(problem, compiled, result, fixed_plan, fixed_index, visits, why, started)


def _fixed_bound(data: ProblemData, bound: int | None, fixed: int) -> int | None:
    """A bound on the coverage of the first `fixed` requests of `data`, from the engine's
    `bound` on all of them and the placeholders (valid: the placeholders may stay empty, but
    it counts theirs too), and each request's headcount its candidates allow (those compile
    left out included): the lesser of the two."""
    candidates = np.bincount(data.pair_request, minlength=data.num_requests)
    reach = np.minimum(data.request_max, candidates + data.request_dropped)[:fixed]
    reach = np.where(reach >= data.request_min[:fixed], reach, 0)
    alone = int((data.request_priority[:fixed] * reach).sum())
    return alone if bound is None else min(bound, alone)


def _placeholder(request: Request) -> Request:
    """A routed request as a fixed, optional request at the middle of its window, without a
    team rule: what the fixed part leaves room for."""
    minutes = request.duration_hours * 60
    slack = (request.window_end - request.window_start).total_seconds() / 60 - minutes
    start = request.window_start + timedelta(seconds=round(slack * 30))
    return request.model_copy(
        update={
            "start": start,
            "end": start + timedelta(minutes=minutes),
            "earliest_start": None,
            "latest_end": None,
            "duration": None,
            "same_attributes": (),
            "mandatory": False,
        }
    )


def _mixed_plan(
    problem: Instance,
    compiled: Compiled,
    result: EngineResult,
    fixed_plan: Plan,
    fixed_index: list[int],
    visits: VisitsResult,
    why: Explanation,
    started: float,
) -> Plan:
    """One plan of the fixed part's and the visits' assignments. The soft terms are counted
    over both with the shared functions: fairness from each volunteer's load (the fixed
    part's pairs plus the visits' hours, in the fixed part's load units), preference and
    stability per assignment, changes and quotas from the reference rules over every pair."""
    vols, reqs = problem.volunteers, problem.requests
    order = {r.id: i for i, r in enumerate(reqs)}
    v_order = {v.id: i for i, v in enumerate(vols)}
    visit_assignments = [
        Assignment(
            volunteer_id=vols[a.volunteer].id,
            request_id=reqs[a.request].id,
            distance_km=a.distance_km,
            start=a.start if reqs[a.request].flexible else None,
            end=a.end if reqs[a.request].flexible else None,
        )
        for a in visits.assignments
    ]
    assignments = tuple(
        sorted(
            (*fixed_plan.assignments, *visit_assignments),
            key=lambda a: (order[a.request_id], v_order[a.volunteer_id]),
        )
    )
    data = compiled.data
    load = np.bincount(
        data.pair_volunteer[result.selected],
        weights=data.pair_load[result.selected],
        minlength=len(vols),
    ).astype(np.float64)
    load_per_hour = 3_600_000_000 / compiled.tables.load_unit
    for a in visits.assignments:
        load[a.volunteer] += reqs[a.request].duration_hours * load_per_hour
    previous = {(p.volunteer_id, p.request_id) for p in problem.previous}
    planned = {(a.volunteer_id, a.request_id) for a in assignments}
    preference = fixed_plan.objective.preference + sum(
        vols[a.volunteer].preferences.get(reqs[a.request].service_type, 0.0)
        for a in visits.assignments
    )
    options = problem.options
    objective = Objective(
        coverage=fixed_plan.objective.coverage + visits.coverage,
        travel_km=round(sum(a.distance_km for a in assignments), 3),
        preference=round(preference, 6),
        fairness_penalty=round(float(fairness_of_loads(data, load).sum()), 6),
        stability=fixed_plan.objective.stability
        + sum((a.volunteer_id, a.request_id) in previous for a in visit_assignments),
        changes=(
            rules.change_count(problem, planned)
            if problem.previous or options.max_changes is not None or options.change_cost_km > 0
            else 0
        ),
        quota_shortfall=round(_soft_quota_shortfall(problem, assignments), 6),
    )
    placed_v = [vols[v_order[a.volunteer_id]] for a in assignments]
    placed_r = [reqs[order[a.request_id]] for a in assignments]
    broken = [
        str(v)
        for v in (
            *rules.quota_violations(problem, placed_v, placed_r),
            *rules.change_violations(problem, planned),
        )
    ]
    infeasible = fixed_plan.status == Status.INFEASIBLE.value or visits.at_fault or broken
    # Routes prove nothing; without any, the fixed part was the whole instance.
    status = (
        Status.INFEASIBLE
        if infeasible
        else Status.FEASIBLE
        if len(fixed_index) < len(reqs)
        else Status(fixed_plan.status)
    )
    fixed_bound = result.coverage_bound
    bound = None if fixed_bound is None else fixed_bound + visits.coverage_bound
    stats: dict[str, float | int | str | bool] = {**fixed_plan.stats, **visits.stats}
    stats.pop("travel_bound_km", None)  # a bound on the fixed part's travel only
    stats.update(
        engine=f"{fixed_plan.stats.get('engine', 'fixed')}+routing",
        solve_seconds=round(time.perf_counter() - started, 3),
        requests=len(reqs),
        fixed_requests=len(fixed_index),
        routed_requests=len(reqs) - len(fixed_index),
        visits_coverage_bound=visits.coverage_bound,
    )
    if fixed_bound is not None:
        stats["fixed_coverage_bound"] = fixed_bound
    if bound:
        stats["gap"] = round((bound - objective.coverage) / bound, 6)
    else:
        stats.pop("gap", None)
    unfilled = sorted((*fixed_plan.unfilled, *why.unfilled), key=lambda u: order[u.request_id])
    return Plan(
        warnings=(*instance_warnings(problem), *broken),
        quotas=_all_quota_outcomes(problem, placed_v, placed_r),
        status=status.value,
        assignments=assignments,
        unfilled=tuple(unfilled),
        at_fault=(*fixed_plan.at_fault, *why.at_fault),
        objective=objective,
        bound=Bound(coverage=bound),
        stats=stats,
    )


def _soft_quota_shortfall(problem: Instance, assignments: tuple[Assignment, ...]) -> float:
    """The soft quotas' weighed shortfall over every assignment (`objective.quota_shortfall`
    counted from the rules: weight per assignment, or per hour, short of the share)."""
    vols = {v.id: v for v in problem.volunteers}
    reqs = {r.id: r for r in problem.requests}
    placed_v = [vols[a.volunteer_id] for a in assignments]
    placed_r = [reqs[a.request_id] for a in assignments]
    total = 0.0
    for quota in problem.options.quotas:
        if quota.hard:
            continue
        group, amount = rules.quota_amounts(quota, placed_v, placed_r)
        inside = group - quota.share * amount if quota.minimum else quota.share * amount - group
        total += quota.weight * max(-inside, 0.0)
    return total


def _all_quota_outcomes(
    problem: Instance, placed_v: list[Volunteer], placed_r: list[Request]
) -> tuple[QuotaOutcome, ...]:
    """Each quota with the share every assignment (fixed and visits) gives its group."""
    out = []
    for quota in problem.options.quotas:
        group, total = rules.quota_amounts(quota, placed_v, placed_r)
        out.append(
            QuotaOutcome(
                group=quota.group, of=quota.of, min_share=quota.min_share,
                max_share=quota.max_share, hard=quota.hard,
                share=round(group / total, 6) if total else 0.0, amount=round(group, 6),
                met=rules.quota_met(quota, group, total),
            )
        )  # fmt: skip
    return tuple(out)


def _run_engine(
    engine: EngineName,
    compiled: Compiled,
    params: SolveParams,
    started: float,
    control: Control,
    *,
    widen_compile_s: float | None,
) -> EngineResult:
    """Run the engine with what is left of the solve's time limit (less a little for the
    explanations, never under a tenth of it so that greedy at least runs). With
    `widen_compile_s` (the last compile's seconds) it may hand back starved requests while a
    widening still fits: a compile as long as the last and a solve from the start with
    `_WIDEN_SOLVE_SHARE` of the limit. A later one would run past the limit or leave the second
    solve too little time to beat the first (docs/engines.md, the compiled candidates)."""
    limit = params.time_limit_s
    left = limit - (time.perf_counter() - started)
    budget = max(0.97 * left - 0.1, 0.1 * limit)
    within = 0.0
    if widen_compile_s is not None:
        within = max(left - widen_compile_s - _WIDEN_SOLVE_SHARE * limit, 0.0)
    run_params = replace(params, time_limit_s=budget, hand_back_within_s=within)
    return ENGINES[engine](compiled.data, run_params, control)


def build_plan(
    compiled: Compiled,
    result: EngineResult,
    *,
    started: float,
    compile_seconds: float = 0.0,
    explained: int | None = None,
) -> Plan:
    """Turn an engine's chosen pairs into a plan with explanations (of the first `explained`
    requests only, when given) and statistics."""
    data = compiled.data
    chosen = np.flatnonzero(result.selected)
    vols, reqs = compiled.instance.volunteers, compiled.instance.requests
    order = chosen[np.lexsort((data.pair_volunteer[chosen], data.pair_request[chosen]))]
    assignments = tuple(
        Assignment(
            volunteer_id=vols[data.pair_volunteer[p]].id,
            request_id=reqs[data.pair_request[p]].id,
            distance_km=round(float(compiled.pair_distance_km[p]), 3),
        )
        for p in order.tolist()
    )
    why = explain(
        compiled,
        result.selected,
        result.at_fault.tolist(),
        proven=result.status is Status.OPTIMAL,
        unstaffable_proven=bool(result.stats.get("staffing_proven", False)),
        first=explained,
    )
    selected = result.selected
    coverage = int(data.request_priority[data.pair_request[selected]].sum())
    objective = Objective(
        coverage=coverage,
        travel_km=round(float(compiled.pair_distance_km[selected].sum()), 3),
        preference=round(float(compiled.pair_preference[selected].sum()), 6),
        fairness_penalty=round(fairness_penalty(data, selected), 6),
        stability=int(compiled.pair_previous[selected].sum()),
        # Counted where changes matter: against a previous plan, under a budget or a price
        # (a repair whose held proposals were all declined has no previous pairs left).
        changes=(
            data.changes(selected)
            if compiled.instance.previous
            or data.limits_changes
            or compiled.instance.options.change_cost_km > 0
            else 0
        ),
        quota_shortfall=round(quota_shortfall(data, selected), 6),
    )
    status = result.status
    warnings = list(instance_warnings(compiled.instance))
    broken = _broken_global_rows(compiled, selected)
    if broken:  # no plan was found that keeps them: say so rather than call it feasible
        status = Status.INFEASIBLE
        warnings.extend(broken)
    bound = result.coverage_bound
    stats: dict[str, float | int | str | bool] = {
        **result.stats,
        "solve_seconds": round(time.perf_counter() - started, 3),
        "compile_seconds": round(compile_seconds, 3),
        "volunteers": data.num_volunteers,
        "requests": data.num_requests,
        "candidate_pairs": data.num_pairs,
        "conflict_sets": data.num_conflict_sets,
    }
    if bound is not None and bound > 0:
        stats["gap"] = round((bound - coverage) / bound, 6)
    if compiled.instance.options.change_cost_km > 0:
        # The engine's tier-2 bound is on travel plus the price of changes, not on travel.
        stats.pop("travel_bound_km", None)
    return Plan(
        warnings=tuple(warnings),
        quotas=_quota_outcomes(compiled, selected),
        status=status.value,
        assignments=assignments,
        unfilled=why.unfilled,
        at_fault=why.at_fault,
        objective=objective,
        bound=Bound(coverage=bound),
        stats=stats,
    )


def _quota_outcomes(compiled: Compiled, selected: BoolArray) -> tuple[QuotaOutcome, ...]:
    """Each quota with the share the plan gives its group, in pairs or hours."""
    data = compiled.data
    if not len(data.quota_group):
        return ()
    members = data.volunteer_group[data.pair_volunteer] == data.quota_group[:, None]
    hours = data.pair_load * compiled.tables.load_unit / 3_600_000_000
    broken = data.broken_quotas(selected)
    out = []
    for q, quota in enumerate(compiled.instance.options.quotas):
        amount = hours if quota.of == "hours" else np.ones(data.num_pairs)
        total = float(amount[selected].sum())
        group = float(amount[selected & members[q]].sum())
        out.append(
            QuotaOutcome(
                group=quota.group,
                of=quota.of,
                min_share=quota.min_share,
                max_share=quota.max_share,
                hard=quota.hard,
                share=round(group / total, 6) if total else 0.0,
                amount=round(group, 6),
                met=not bool(broken[q]),
            )
        )
    return tuple(out)


def _broken_global_rows(compiled: Compiled, selected: BoolArray) -> list[str]:
    """Sentences for the hard quotas and change budget a selection breaks (an engine returns
    such a plan only when it found none that keeps them)."""
    data = compiled.data
    out = []
    broken = data.broken_quotas(selected) & data.quota_hard
    for q in np.flatnonzero(broken).tolist():
        quota = compiled.instance.options.quotas[q]
        bound = "at least" if quota.min_share is not None else "at most"
        out.append(
            f"options.quotas[{q}]: no plan was found that gives group {quota.group} {bound} "
            f"{quota.share:.4g} of the {quota.of} (rule 13)"
        )
    if data.limits_changes and data.changes(selected) > data.max_changes:
        out.append(
            f"options.max_changes: no plan was found within {data.max_changes} changes; this "
            f"one makes {data.changes(selected)} (the previous plan cannot stay valid with "
            "fewer: raise max_changes) (rule 14)"
        )
    return out

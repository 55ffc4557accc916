"""A plain CP-SAT model of a week of home visits: issue 18's CP-SAT comparison.

Coverage only (tier 1: the sum over requests of priority times helpers assigned), with its
proven bound, for weeks small enough to model whole. One model for fixed and flexible requests
(a fixed request is a window exactly as long as its duration):

- a start variable per request, in whole minutes, shared by its team;
- a pair (volunteer, request, availability interval) exists where rules 1-3 and 5 hold (skills,
  language, attributes, travel radius) and the request's window leaves a start inside that merged
  availability interval with the way from home before it and back home after it (rule 6b);
  choosing it bounds the start to that range (rule 4);
- two chosen requests of a volunteer in the same interval are ordered with the travel time
  between them (rule 6: a disjunction per pair whose windows could clash); visits in different
  intervals already leave and reach home in time, which covers the way between them (triangle
  inequality), and so does the way home for all but the first visit of an interval;
- `max_hours` and `max_assignments` (rules 7, 13), at most one pair per volunteer and request,
  `min_volunteers` or nobody (rule 9), `mandatory` (rule 10), `same_attributes` (rule 3b: one
  value chosen per key and request).

Travel times are rounded up to the minute, so the model is a little stricter than the rules
(its plans always pass `check_plan`; its bound is the bound of whole-minute starts). Travel is
not optimized: the plan's `distance_km` is each visit's leg from the previous stop (FORMAT v1.1),
as the checker counts it. Commitments and pinned pairs are not modelled (the city-visits weeks
have none); excluded pairs are left out.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from matcher import Instance
from matcher.geo import great_circle_km

__all__ = ["cpsat_visits"]

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _minute(t: datetime) -> int:
    return math.floor((t - _EPOCH).total_seconds() / 60.0 + 1e-9)


def _merged(v: Any) -> list[tuple[int, int]]:
    spans = sorted((_minute(a.start), _minute(a.end)) for a in v.availability)
    out: list[list[int]] = []
    for lo, hi in spans:
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def _km(a: Any, b: Any) -> float:
    return float(great_circle_km(a.location.lat, a.location.lon, b.location.lat, b.location.lon))


def _qualifies(v: Any, r: Any) -> bool:
    if not set(r.required_skills) <= set(v.skills):
        return False
    if r.languages and not set(r.languages) & set(v.languages):
        return False
    if any(v.attributes.get(k) != value for k, value in r.attributes.items()):
        return False
    return all(k in v.attributes for k in r.same_attributes)


def cpsat_visits(instance: Instance, time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """Solve the week's coverage with CP-SAT; the plan (as assignments), status and bound."""
    from ortools.sat.python import cp_model

    if any(v.commitments for v in instance.volunteers) or instance.pinned:
        raise ValueError("the CP-SAT peer models no commitments and no pinned pairs")
    started = time.perf_counter()
    speed = instance.options.travel_speed_kmh
    excluded = {(p.volunteer_id, p.request_id) for p in instance.excluded}
    model = cp_model.CpModel()
    window: dict[str, tuple[int, int, int]] = {}  # earliest start, latest start, duration
    start: dict[str, Any] = {}
    for r in instance.requests:
        duration = round(r.duration_hours * 60)
        lo, hi = _minute(r.window_start), _minute(r.window_end) - duration
        window[r.id] = (lo, hi, duration)
        start[r.id] = model.new_int_var(lo, hi, f"s_{r.id}")
    pairs: dict[tuple[str, str, int], Any] = {}
    by_slot: dict[tuple[str, int], list[str]] = defaultdict(list)
    for v in instance.volunteers:
        intervals = _merged(v)
        for r in instance.requests:
            if (v.id, r.id) in excluded or not _qualifies(v, r):
                continue
            km = _km(v, r)
            if v.max_travel_km is not None and km > v.max_travel_km + 1e-6:
                continue
            lo, hi, duration = window[r.id]
            way = math.ceil(km / speed * 60 - 1e-9)
            for k, (a, b) in enumerate(intervals):
                first, last = max(lo, a + way), min(hi, b - duration - way)
                if first > last:
                    continue
                x = model.new_bool_var(f"x_{v.id}_{r.id}_{k}")
                model.add(start[r.id] >= first).only_enforce_if(x)
                model.add(start[r.id] <= last).only_enforce_if(x)
                pairs[v.id, r.id, k] = x
                by_slot[v.id, k].append(r.id)
    requests = {r.id: r for r in instance.requests}
    volunteers = {v.id: v for v in instance.volunteers}
    for (vid, k), rids in by_slot.items():
        for i, r1 in enumerate(rids):
            for r2 in rids[i + 1 :]:
                lo1, hi1, d1 = window[r1]
                lo2, hi2, d2 = window[r2]
                gap = math.ceil(_km(requests[r1], requests[r2]) / speed * 60 - 1e-9)
                can_12 = lo1 + d1 + gap <= hi2  # r1 then r2 is possible at all
                can_21 = lo2 + d2 + gap <= hi1
                if hi1 + d1 + gap <= lo2 or hi2 + d2 + gap <= lo1:
                    continue  # always apart
                both = [pairs[vid, r1, k], pairs[vid, r2, k]]
                if not can_12 and not can_21:
                    model.add_bool_or([~b for b in both])
                    continue
                order = model.new_bool_var(f"o_{vid}_{r1}_{r2}_{k}")
                model.add(start[r2] >= start[r1] + d1 + gap).only_enforce_if([*both, order])
                model.add(start[r1] >= start[r2] + d2 + gap).only_enforce_if([*both, ~order])
    mine: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    team: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for (vid, rid, _k), x in pairs.items():
        mine[vid].append((rid, x))
        team[rid].append((vid, x))
    for vid, chosen in mine.items():
        v = volunteers[vid]
        per_request: dict[str, list[Any]] = defaultdict(list)
        for rid, x in chosen:
            per_request[rid].append(x)
        for xs in per_request.values():
            if len(xs) > 1:
                model.add_at_most_one(xs)
        if v.max_hours is not None:
            model.add(
                sum(window[rid][2] * x for rid, x in chosen) <= math.floor(v.max_hours * 60 + 1e-9)
            )
        if v.max_assignments is not None:
            model.add(sum(x for _, x in chosen) <= v.max_assignments)
    for r in instance.requests:
        xs = [x for _, x in team[r.id]]
        staffed = model.new_bool_var(f"z_{r.id}")
        model.add(sum(xs) <= r.volunteers_needed * staffed)
        model.add(sum(xs) >= r.min_volunteers * staffed)
        if r.mandatory:
            model.add(staffed == 1)
        for key in r.same_attributes:
            values: dict[str, list[Any]] = defaultdict(list)
            for vid, x in team[r.id]:
                values[str(volunteers[vid].attributes[key])].append(x)
            chosen_value = {value: model.new_bool_var(f"g_{r.id}_{key}_{value}") for value in values}
            model.add_at_most_one(chosen_value.values())
            for value, xs_of in values.items():
                for x in xs_of:
                    model.add_implication(x, chosen_value[value])
    model.maximize(sum(requests[rid].priority * x for (_vid, rid, _k), x in pairs.items()))
    built = time.perf_counter() - started
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit_s - built, 1.0)
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = seed
    code = solver.solve(model)
    status = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}.get(code, "unknown")
    answer: dict[str, Any] = {
        "status": status,
        "pairs": len(pairs),
        "model_seconds": round(built, 3),
        "seconds": round(time.perf_counter() - started, 3),
        "assignments": [],
        "coverage": None,
        "bound": None,
    }
    if status == "unknown":
        return answer
    answer["bound"] = math.floor(solver.best_objective_bound + 1e-6)
    chosen_pairs = [(vid, rid) for (vid, rid, _k), x in pairs.items() if solver.value(x)]
    answer["coverage"] = sum(requests[rid].priority for _, rid in chosen_pairs)
    answer["assignments"] = _with_legs(
        instance, chosen_pairs, {r: solver.value(s) for r, s in start.items()}
    )
    return answer


def _with_legs(
    instance: Instance, chosen: list[tuple[str, str]], starts: dict[str, int]
) -> list[dict[str, Any]]:
    """Assignments with their chosen times (flexible visits) and `distance_km`: for a flexible
    visit the leg from the volunteer's previous visit in the same availability interval, else
    from home; for a fixed request the way from home (FORMAT v1.1)."""
    volunteers = {v.id: v for v in instance.volunteers}
    requests = {r.id: r for r in instance.requests}
    out: list[dict[str, Any]] = []
    by_volunteer: dict[str, list[str]] = defaultdict(list)
    for vid, rid in chosen:
        by_volunteer[vid].append(rid)
    for vid, rids in by_volunteer.items():
        v = volunteers[vid]
        intervals = _merged(v)
        rids.sort(key=lambda rid: starts[rid])
        for i, rid in enumerate(rids):
            r = requests[rid]
            s = starts[rid]
            here = next(k for k, (a, b) in enumerate(intervals) if a <= s <= b)
            previous = None
            for other in rids[:i]:
                a, b = intervals[here]
                if a <= starts[other] <= b:
                    previous = requests[other]
            origin = previous if previous is not None and r.flexible else v
            record: dict[str, Any] = {
                "volunteer_id": vid,
                "request_id": rid,
                "distance_km": round(_km(origin, r), 3),
            }
            if r.flexible:
                begin = _EPOCH + timedelta(minutes=s)
                tz = r.window_start.tzinfo
                record["start"] = begin.astimezone(tz).isoformat()
                record["end"] = (
                    (begin + timedelta(hours=r.duration_hours)).astimezone(tz).isoformat()
                )
            out.append(record)
    return out

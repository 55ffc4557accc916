"""The plan checker: does a plan keep every hard rule of FORMAT.md for its instance?

Written from the rules themselves (`matcher.rules`), not from the compiled arrays, so that it
checks the engines rather than repeating them. Used by `volmatch check`, the tests, the service
and the benchmarks. Flexible visits (format v1.1) are checked at the start each assignment
gives (rule 4b), and their `distance_km` against their travel leg.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from . import rules
from .model import Assignment, Instance, Plan, Request, Volunteer
from .rules import Engagement, Violation

__all__ = ["CheckReport", "check_plan"]


@dataclass(frozen=True)
class CheckReport:
    violations: tuple[Violation, ...]
    coverage: int
    travel_km: float
    assignments: int

    @property
    def ok(self) -> bool:
        return not self.violations


def check_plan(instance: Instance, plan: Plan) -> CheckReport:
    """Every hard-rule violation of `plan` for `instance`, with its coverage and travel.

    Under status `infeasible`, rules 9, 10 and 11 are excused on the requests the plan names in
    `at_fault`: that is how a plan says no plan can staff them (for example a pinned volunteer
    whom not enough others can join)."""
    volunteers = {v.id: v for v in instance.volunteers}
    requests = {r.id: r for r in instance.requests}
    speed = instance.options.travel_speed_kmh
    out: list[Violation] = []
    by_volunteer: dict[str, list[Request]] = defaultdict(list)
    starts: dict[str, dict[str, datetime]] = defaultdict(dict)
    teams: dict[str, list[Assignment]] = defaultdict(list)
    placed: list[tuple[Assignment, Volunteer, Request]] = []
    headcount: dict[str, int] = defaultdict(int)
    coverage = 0
    for a in plan.assignments:
        v, r = volunteers.get(a.volunteer_id), requests.get(a.request_id)
        if v is None or r is None:
            out.append(
                Violation(8, f"assignment {a.volunteer_id} -> {a.request_id} names an unknown id")
            )
            continue
        start = rules.chosen_start(r, a.start)
        at = Engagement.of_request(r, start) if start is not None else None
        out.extend(rules.pair_violations(v, r, at))
        placed.append((a, v, r))
        by_volunteer[v.id].append(r)
        if start is not None:
            starts[v.id][r.id] = start
        teams[r.id].append(a)
        headcount[r.id] += 1
        coverage += r.priority
    for vid, assigned in by_volunteer.items():
        out.extend(rules.schedule_violations(volunteers[vid], assigned, speed, starts[vid]))
    for rid, team in teams.items():
        r = requests[rid]
        out.extend(rules.chosen_time_violations(r, team))
        out.extend(rules.team_attribute_violations(r, [volunteers[a.volunteer_id] for a in team]))
    travel = 0.0
    for a, v, r in placed:
        leg = _travel_leg(v, r, by_volunteer[v.id], starts[v.id])
        travel += leg
        if r.id in starts[v.id] and abs(a.distance_km - leg) > rules.PLAN_KM_TOLERANCE:
            out.append(
                Violation(
                    "leg",
                    f"assignment {v.id} -> {r.id} gives distance_km {a.distance_km:g}, "
                    f"but its leg from the previous stop is {leg:.3f} km",
                )
            )
    excused = {f.request_id for f in plan.at_fault} if plan.status == "infeasible" else set()
    for r in instance.requests:
        for violation in rules.headcount_violations(r, headcount.get(r.id, 0)):
            if violation.rule in (9, 10) and r.id in excused:
                continue
            out.append(violation)
    planned = {(a.volunteer_id, a.request_id) for a in plan.assignments}
    for pair in instance.excluded:
        if (pair.volunteer_id, pair.request_id) in planned:
            out.append(
                Violation(12, f"excluded pair {pair.volunteer_id} -> {pair.request_id} is assigned")
            )
    for pair in instance.pinned:
        if (pair.volunteer_id, pair.request_id) not in planned and pair.request_id not in excused:
            out.append(
                Violation(11, f"pinned pair {pair.volunteer_id} -> {pair.request_id} is missing")
            )
    out.extend(
        rules.quota_violations(instance, [v for _, v, _ in placed], [r for _, _, r in placed])
    )
    out.extend(rules.change_violations(instance, planned))
    return CheckReport(tuple(out), coverage, round(travel, 3), len(plan.assignments))


def _travel_leg(
    v: Volunteer, r: Request, assigned: list[Request], starts: dict[str, datetime]
) -> float:
    """The travel objective of the assignment of `v` to `r` (one of `assigned`): the distance
    from home, or for a flexible visit at a chosen start, its leg from the previous stop."""
    if r.id not in starts:
        return rules.distance_km(v, r)
    committed = [Engagement.of_commitment(c) for c in v.commitments]
    mine = rules.engagements(v, assigned, starts)
    here = next(e for e in mine if e.request_id == r.id)
    return rules.travel_leg_km(v, here, [*mine, *committed])

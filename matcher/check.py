"""The plan checker: does a plan keep every hard rule of FORMAT.md for its instance?

Written from the rules themselves (`matcher.rules`), not from the compiled arrays, so that it
checks the engines rather than repeating them. Used by `volmatch check`, the tests, the service
and the benchmarks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from . import rules
from .model import Instance, Plan, Request, Volunteer
from .rules import Violation

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
    headcount: dict[str, int] = defaultdict(int)
    placed_volunteers: list[Volunteer] = []
    placed_requests: list[Request] = []
    coverage = 0
    travel = 0.0
    for a in plan.assignments:
        v, r = volunteers.get(a.volunteer_id), requests.get(a.request_id)
        if v is None or r is None:
            out.append(
                Violation(8, f"assignment {a.volunteer_id} -> {a.request_id} names an unknown id")
            )
            continue
        out.extend(rules.pair_violations(v, r))
        placed_volunteers.append(v)
        placed_requests.append(r)
        by_volunteer[v.id].append(r)
        headcount[r.id] += 1
        coverage += r.priority
        travel += rules.distance_km(v, r)
    for vid, assigned in by_volunteer.items():
        out.extend(rules.schedule_violations(volunteers[vid], assigned, speed))
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
    out.extend(rules.quota_violations(instance, placed_volunteers, placed_requests))
    out.extend(rules.change_violations(instance, planned))
    return CheckReport(tuple(out), coverage, round(travel, 3), len(plan.assignments))

"""Property tests of the engines on random small instances (issue 2, Tests).

- Every plan of every engine passes `check_plan` (the hard rules, from `matcher.rules`).
- Plans are consistent with themselves: objective, distances, `unfilled`, `at_fault`, bound and
  status say what the assignments are.
- `optimal` covers at least as much as `greedy` whenever greedy's plan is feasible.
- On tiny instances, `optimal` equals the lexicographic optimum (coverage, then travel) found by
  enumerating every set of pairs with the reference rules, and its bound is a true bound.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given, note, settings
from matcher_strategies import instances
from matcher_testkit import ENGINE_NAMES, HYPOTHESIS_SOLVING, Json, brute_force_optimum, run

from matcher import Instance, Plan, check_plan, parse_instance, rules

SETTINGS = settings(HYPOTHESIS_SOLVING, max_examples=60)


def assert_consistent(instance: Instance, plan: Plan) -> None:
    """What a plan says about itself matches its assignments."""
    report = check_plan(instance, plan)
    assert report.ok, [str(v) for v in report.violations]
    vols = {v.id: v for v in instance.volunteers}
    reqs = {r.id: r for r in instance.requests}
    # Objective and distances.
    assert plan.objective.coverage == report.coverage
    assert plan.objective.travel_km == pytest.approx(report.travel_km, abs=1e-3)
    for a in plan.assignments:
        assert a.distance_km == pytest.approx(
            rules.distance_km(vols[a.volunteer_id], reqs[a.request_id]), abs=1e-3
        )
    # Every request short of volunteers_needed is listed, with codes and reasons.
    staffed = Counter(a.request_id for a in plan.assignments)
    short = {r.id: r.volunteers_needed - staffed[r.id] for r in instance.requests}
    short = {rid: missing for rid, missing in short.items() if missing > 0}
    assert {u.request_id: u.missing for u in plan.unfilled} == short
    assert len(plan.unfilled) == len(short)
    for u in plan.unfilled:
        assert u.codes, u
        assert len(u.reasons) == len(u.codes)
        assert all(reason.strip() for reason in u.reasons)
    # Status, at_fault and bound.
    assert (plan.status == "infeasible") == bool(plan.at_fault)
    for fault in plan.at_fault:
        assert fault.rules and fault.reason
        assert reqs[fault.request_id].mandatory or any(
            p.request_id == fault.request_id for p in instance.pinned
        )
    if plan.bound.coverage is not None:
        assert plan.bound.coverage >= plan.objective.coverage
    if plan.status == "optimal":
        assert plan.bound.coverage == plan.objective.coverage


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@SETTINGS
@given(instances(max_volunteers=5, max_requests=5, mandatory=True, pinned=True))
def test_every_plan_passes_check_and_is_consistent(engine: str, data: Json) -> None:
    note(json.dumps(data))
    instance = parse_instance(data)
    assert_consistent(instance, run(instance, engine))


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@SETTINGS
@given(instances(max_volunteers=5, max_requests=5))
def test_plans_without_mandatory_or_pinned_are_never_infeasible(engine: str, data: Json) -> None:
    note(json.dumps(data))
    instance = parse_instance(data)
    plan = run(instance, engine)
    assert plan.status != "infeasible"
    assert_consistent(instance, plan)


@SETTINGS
@given(instances(max_volunteers=5, max_requests=5, mandatory=True, pinned=True))
def test_optimal_covers_at_least_greedy(data: Json) -> None:
    note(json.dumps(data))
    instance = parse_instance(data)
    greedy = run(instance, "greedy")
    optimal = run(instance, "optimal")
    if greedy.status != "infeasible" and check_plan(instance, greedy).ok:
        assert optimal.status != "infeasible"
        assert optimal.objective.coverage >= greedy.objective.coverage
    if optimal.bound.coverage is not None and greedy.status != "infeasible":
        assert optimal.bound.coverage >= greedy.objective.coverage


@SETTINGS
@given(instances(max_volunteers=3, max_requests=3, mandatory=True, pinned=True))
def test_optimal_equals_brute_force(data: Json) -> None:
    note(json.dumps(data))
    instance = parse_instance(data)
    best = brute_force_optimum(instance)
    plan = run(instance, "optimal")
    assert check_plan(instance, plan).ok
    if best is None:
        # No plan keeps every hard rule: the solver must say so and name the requests.
        assert plan.status == "infeasible"
        assert plan.at_fault
        return
    coverage, travel = best
    assert plan.status != "infeasible", plan.at_fault
    assert plan.objective.coverage == coverage
    # Travel is optimised in whole metres: allow a metre per assignment.
    assert plan.objective.travel_km == pytest.approx(travel, abs=1e-3 * (1 + len(plan.assignments)))
    assert plan.bound.coverage is not None and plan.bound.coverage >= coverage
    assert plan.status == "optimal"  # tiny instances are proven within the time limit

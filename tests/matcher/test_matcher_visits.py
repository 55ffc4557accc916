"""Flexible home visits in the matcher (`matcher.visits`, wired in `matcher.solve`).

Every plan here goes through `matcher.check_plan` and `assert_flexible_rules`, a second
checker written here from FORMAT v1.1's semantics (docs/format.md): windows, a team's common start, rules 4 and 6 with the
chosen times, rule 6b (the day starts and ends at home), the travel leg of each flexible
assignment, caps, headcounts, excluded pairs and rules 1-3, 3b and 5.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from matcher_testkit import (
    Json,
    at,
    commitment,
    make_instance,
    pairs_of,
    place,
    request,
    volunteer,
)

from matcher import Instance, Plan, check_plan, parse_instance, rules, solve
from matcher.compile import compile_instance
from matcher.engines import ENGINES, Control, SolveParams
from matcher.solve import build_plan

LIMIT = 0.5  # seconds per solve: these instances are tiny
EPS = timedelta(microseconds=1)


def visit(
    rid: str,
    earliest: float = 9.0,
    latest: float = 12.0,
    minutes: float = 60.0,
    *,
    north_km: float = 0.0,
    east_km: float = 0.0,
    **fields: Any,
) -> Json:
    """A flexible visit: window [earliest, latest] hours after BASE, `minutes` long."""
    return {
        "id": rid,
        "service_type": "visit",
        "location": place(north_km, east_km),
        "earliest_start": at(earliest),
        "latest_end": at(latest),
        "duration": minutes,
        **fields,
    }


def assert_flexible_rules(instance: Instance, plan: Plan) -> None:
    """Every hard rule of FORMAT v1.1 on `plan`, from the instance alone."""
    vols = {v.id: v for v in instance.volunteers}
    reqs = {r.id: r for r in instance.requests}
    speed = instance.options.travel_speed_kmh
    excluded = {(p.volunteer_id, p.request_id) for p in instance.excluded}
    starts: dict[str, set[datetime]] = defaultdict(set)
    headcount: dict[str, int] = defaultdict(int)
    # (start, end, place, request) of every engagement of each volunteer
    engaged: dict[str, list[tuple[datetime, datetime, Any, str | None]]] = defaultdict(list)
    for v in instance.volunteers:
        for c in v.commitments:
            engaged[v.id].append((c.start, c.end, c, None))
    for a in plan.assignments:
        v, r = vols[a.volunteer_id], reqs[a.request_id]
        assert (v.id, r.id) not in excluded
        headcount[r.id] += 1
        assert not rules.missing_skills(v, r) and rules.speaks_language(v, r)
        assert not rules.mismatched_attributes(v, r) and rules.within_reach(v, r)
        if r.flexible:
            assert a.start is not None and a.end is not None
            assert a.start.utcoffset() == r.window_start.utcoffset()
            assert r.window_start <= a.start and a.end <= r.window_end
            assert abs(a.end - a.start - timedelta(minutes=r.duration or 0)) <= EPS
            starts[r.id].add(a.start)
            for key in r.same_attributes:
                assert key in v.attributes
            span = (a.start, a.end)
        else:
            assert a.start is None and a.end is None
            assert a.distance_km == pytest.approx(rules.distance_km(v, r), abs=1e-3)
            span = (r.window_start, r.window_end)
        assert any(s <= span[0] and span[1] <= e for s, e in rules.merged_availability(
            v.availability)), f"{v.id} unavailable for {r.id}"  # fmt: skip
        engaged[v.id].append((*span, r, r.id))
    for rid, chosen in starts.items():
        assert len(chosen) == 1, f"the team of {rid} does not share its start"
        r = reqs[rid]
        values = {
            tuple(rules.attribute_key(vols[a.volunteer_id].attributes[k]) for k in
                  r.same_attributes)
            for a in plan.assignments if a.request_id == rid
        }  # fmt: skip
        assert len(values) == 1
    for r in instance.requests:
        n = headcount.get(r.id, 0)
        assert n <= r.volunteers_needed and (n == 0 or n >= r.min_volunteers)
    by_pair = {(a.volunteer_id, a.request_id): a for a in plan.assignments}
    for vid, items in engaged.items():
        v = vols[vid]
        items.sort(key=lambda x: x[0])
        for i, (_s1, e1, p1, _) in enumerate(items):  # rule 6 with travel, every two
            for s2, _e2, p2, _ in items[i + 1 :]:
                need = timedelta(hours=rules.distance_km(p1, p2) / speed)
                assert e1 + need <= s2 + EPS, f"{vid}: no time between engagements"
        hours = sum(r.duration_hours for _, _, r, rid in items if rid is not None)
        hours += sum(c.duration_hours for c in v.commitments)
        if v.max_hours is not None:
            assert hours <= v.max_hours + 1e-9
        if v.max_assignments is not None:
            assert len(items) <= v.max_assignments
        for i0, i1 in rules.merged_availability(v.availability):  # rule 6b and the legs
            inside = [x for x in items if i0 <= x[1] and x[0] <= i1]  # touching counts
            for k, (s1, e1, p1, vid_rid) in enumerate(inside):
                if vid_rid is None or not reqs[vid_rid].flexible:
                    continue
                before = [x for x in inside if x[1] <= s1 and x is not inside[k]]
                prev = max(before, key=lambda x: (x[1], x[0]))[2] if before else v
                leg = rules.distance_km(prev, p1)
                assert by_pair[(vid, vid_rid)].distance_km == pytest.approx(leg, abs=2e-3)
                if not before:
                    assert i0 + timedelta(hours=leg / speed) <= s1 + EPS
                if not [x for x in inside if x[0] >= e1 and x is not inside[k]]:
                    home = timedelta(hours=rules.distance_km(p1, v) / speed)
                    assert e1 + home <= i1 + EPS
    total = sum(reqs[a.request_id].priority for a in plan.assignments)
    assert plan.objective.coverage == total
    assert plan.objective.travel_km == pytest.approx(
        sum(a.distance_km for a in plan.assignments), abs=1e-3
    )
    if plan.bound.coverage is not None:
        assert plan.bound.coverage >= plan.objective.coverage


def run(data: Json, **kwargs: Any) -> tuple[Instance, Plan]:
    instance = parse_instance(data)
    plan = solve(instance, time_limit_s=kwargs.pop("time_limit_s", LIMIT), **kwargs)
    assert_flexible_rules(instance, plan)
    report = check_plan(instance, plan)
    assert report.ok, [str(v) for v in report.violations]
    rounding = 1e-3 * (len(plan.assignments) + 1)  # each distance_km is rounded to the metre
    assert report.travel_km == pytest.approx(plan.objective.travel_km, abs=rounding)
    return instance, plan


def test_one_volunteer_chains_two_visits_and_counts_the_leg_between() -> None:
    data = make_instance(
        [volunteer("v1", availability=((8, 18),)), volunteer("far", north_km=30)],
        [visit("a", east_km=2), visit("b", east_km=4)],
    )
    _, plan = run(data)
    got = {a.request_id: a for a in plan.assignments}
    assert pairs_of(plan) == {("v1", "a"), ("v1", "b")}
    first, second = sorted(got.values(), key=lambda a: a.start or datetime.max)
    assert first.request_id == "a" and first.distance_km == pytest.approx(2.0, abs=1e-3)
    assert second.distance_km == pytest.approx(2.0, abs=1e-3)  # from a, not from home (4 km)
    assert plan.objective.travel_km == pytest.approx(4.0, abs=1e-3)
    assert first.end is not None and second.start is not None
    assert second.start >= first.end + timedelta(hours=2.0 / 20.0)
    assert plan.status == "feasible" and plan.stats["engine"] == "optimal+routing"


def test_a_team_of_two_of_one_gender_shares_its_start() -> None:
    data = make_instance(
        [
            volunteer("f1", east_km=1, attributes={"gender": "f"}),
            volunteer("m1", east_km=1, attributes={"gender": "m"}),
            volunteer("m2", east_km=20, attributes={"gender": "m"}),
            volunteer("f2", east_km=3, attributes={"gender": "f"}),
            volunteer("nobody", east_km=0.5),
        ],
        [visit("bath", 9, 12, 90, volunteers_needed=2, min_volunteers=2,
               same_attributes=["gender"])],
    )  # fmt: skip
    _, plan = run(data)
    assert pairs_of(plan) == {("f1", "bath"), ("f2", "bath")}
    assert len({a.start for a in plan.assignments}) == 1


def test_a_team_without_enough_of_one_gender_is_explained() -> None:
    data = make_instance(
        [
            volunteer("f1", attributes={"gender": "f"}),
            volunteer("m1", attributes={"gender": "m"}),
        ],
        [visit("bath", volunteers_needed=2, min_volunteers=2, same_attributes=["gender"])],
    )
    _, plan = run(data)
    assert plan.assignments == ()
    (u,) = plan.unfilled
    assert u.codes == ("below_min_volunteers",) and "of one gender" in u.reasons[0]
    assert plan.bound.coverage == 0  # no plan staffs it


def test_a_fixed_request_with_same_attributes_gets_a_team_of_one_gender() -> None:
    vols = [
        volunteer("f1", east_km=1, attributes={"gender": "f"}),
        volunteer("m1", east_km=1, attributes={"gender": "m"}),
        volunteer("f2", east_km=3, attributes={"gender": "f"}),
        volunteer("m2", east_km=6, attributes={"gender": "m"}),
    ]
    team = request("f", volunteers_needed=2, same_attributes=["gender"])
    _, plan = run(make_instance(vols, [team]))
    assert pairs_of(plan) == {("f1", "f"), ("f2", "f")}  # 4 km, not m1 + m2's 7 km
    assert all(a.start is None for a in plan.assignments)
    assert plan.objective.travel_km == pytest.approx(4.0, abs=1e-3)  # from home, as in v1
    # Pinned, it stays in the fixed part: the others must share the pinned volunteer's value.
    _, plan = run(make_instance(vols, [team], pinned=[("m2", "f")]))
    assert pairs_of(plan) == {("m1", "f"), ("m2", "f")}
    assert plan.status == "optimal"


def test_a_visit_starts_at_the_fixed_request_it_follows() -> None:
    data = make_instance(
        [volunteer("v1", availability=((8, 18),))],
        [request("fixed", start=9, end=10, east_km=5), visit("a", 9, 12, 60, east_km=6)],
    )
    _, plan = run(data)
    got = {a.request_id: a for a in plan.assignments}
    assert set(got) == {"fixed", "a"}
    assert got["fixed"].distance_km == pytest.approx(5.0, abs=1e-3)
    assert got["a"].distance_km == pytest.approx(1.0, abs=1e-3)  # from the fixed request
    assert got["a"].start is not None
    assert got["a"].start >= datetime.fromisoformat(at(10)) + timedelta(hours=1 / 20)
    assert plan.objective.travel_km == pytest.approx(6.0, abs=1e-3)


def test_the_fixed_part_leaves_room_for_the_visits() -> None:
    # Only v1 can make the visit (a skill), and it is nearest to the fixed request too: the
    # fixed part, solved with the visit as a mid-window placeholder, gives the request to v2.
    data = make_instance(
        [volunteer("v1", skills=["bath"]), volunteer("v2", east_km=1)],
        [request("fixed", start=9, end=10), visit("x", 9, 10.5, 60, required_skills=["bath"])],
    )
    _, plan = run(data)
    assert pairs_of(plan) == {("v2", "fixed"), ("v1", "x")}


def test_a_commitment_leaves_the_visit_only_the_time_around_it() -> None:
    # Committed 10:00-11:00 at 4 km; the visit (1 h between 9 and 13) must come after it.
    data = make_instance(
        [volunteer("v1", availability=((8, 18),), commitments=[commitment(10, 11, east_km=4)])],
        [visit("a", 9, 13, 60, east_km=4.5)],
    )
    _, plan = run(data)
    (a,) = plan.assignments
    assert a.distance_km == pytest.approx(0.5, abs=1e-3)
    assert a.start is not None and a.start >= datetime.fromisoformat(at(11))


def test_a_commitment_just_before_the_availability_leaves_time_to_come_back() -> None:
    # Committed 7:00-8:00 10 km away, available from 8:00: the visit near home (8:00-10:00,
    # 60 min) cannot start before 8:30 (rule 6 with the commitment outside the interval).
    data = make_instance(
        [volunteer("v1", availability=((8, 18),), commitments=[commitment(7, 8, east_km=10)])],
        [visit("a", 8, 10, 60, east_km=0.1)],
    )
    _, plan = run(data)
    (a,) = plan.assignments
    assert a.start is not None and a.start >= datetime.fromisoformat(at(8.5))
    # It touches the interval: the leg is from there (rules.route_of).
    assert a.distance_km == pytest.approx(9.9, abs=1e-3)
    # Ending before the interval, it is outside: the volunteer goes home first (conservative).
    data["volunteers"][0]["commitments"] = [commitment(7, 7.9, east_km=10)]
    _, plan = run(data)
    (a,) = plan.assignments
    assert a.start is not None and a.start >= datetime.fromisoformat(at(8.4))
    assert a.distance_km == pytest.approx(0.1, abs=1e-3)


@pytest.mark.parametrize(
    ("caps", "staffed"), [({"max_assignments": 2}, 2), ({"max_hours": 2.5}, 2), ({}, 3)]
)
def test_weekly_caps_hold_across_days(caps: Json, staffed: int) -> None:
    days = ((8, 18), (32, 42), (56, 66))
    data = make_instance(
        [volunteer("v1", availability=days, **caps)],
        [visit(f"d{k}", 24 * k + 9, 24 * k + 12, 60, east_km=1) for k in range(3)],
    )
    # Time enough for every day under load: a day left unrouted would be `time_limit`, not the cap.
    _, plan = run(data, time_limit_s=2.0)
    assert len(plan.assignments) == staffed
    assert plan.stats["routing_days"] == 3
    if staffed < 3:
        (u,) = plan.unfilled
        assert u.codes[0] in ("assignment_cap", "hours_cap")


def test_caps_hold_over_two_gaps_of_one_day() -> None:
    # A fixed request splits the day in two gaps; each sees the whole cap, the trim keeps one.
    data = make_instance(
        [volunteer("v1", availability=((8, 18),), max_assignments=2)],
        [
            request("fixed", start=11, end=12, east_km=1, priority=5),
            visit("am", 8, 11, 60, east_km=1),
            visit("pm", 12, 18, 60, east_km=1),
        ],
    )
    _, plan = run(data)
    assert ("v1", "fixed") in pairs_of(plan) and len(plan.assignments) == 2


def test_an_excluded_pair_is_honoured() -> None:
    near = volunteer("near", east_km=1)
    data = make_instance([near, volunteer("far", east_km=8)], [visit("a", east_km=1)])
    data["excluded"] = [{"volunteer_id": "near", "request_id": "a"}]
    _, plan = run(data)
    assert pairs_of(plan) == {("far", "a")}
    data["excluded"].append({"volunteer_id": "far", "request_id": "a"})
    _, plan = run(data)
    assert plan.assignments == ()
    assert plan.unfilled[0].codes == ("no_candidate",) and "excluded" in plan.unfilled[0].reasons[0]


def test_a_smaller_team_is_taken_when_the_full_one_is_not_there() -> None:
    data = make_instance(
        [volunteer("v1", east_km=1)],
        [visit("a", volunteers_needed=2, min_volunteers=1)],
    )
    _, plan = run(data)
    assert pairs_of(plan) == {("v1", "a")}
    assert plan.unfilled[0].missing == 1
    assert plan.bound.coverage == 1


def test_a_mandatory_visit_nobody_can_staff_makes_the_plan_infeasible() -> None:
    data = make_instance(
        [volunteer("v1")],
        [visit("bath", mandatory=True, required_skills=["nursing"]), visit("chat", east_km=1)],
    )
    _, plan = run(data)
    assert plan.status == "infeasible"
    assert [f.request_id for f in plan.at_fault] == ["bath"]
    assert 10 in plan.at_fault[0].rules and 1 in plan.at_fault[0].rules
    (u,) = plan.unfilled
    assert u.codes == ("mandatory_unstaffable", "no_candidate")
    assert "no plan gives it" in u.reasons[0] and "nursing" in u.reasons[1]
    assert pairs_of(plan) == {("v1", "chat")}


def test_a_visit_whose_candidates_are_busy_names_them() -> None:
    data = make_instance(
        [volunteer("v1", availability=((8, 18),))],
        [
            request("fixed", start=9, end=12, priority=3),
            visit("a", 9, 12, 60),
        ],
    )
    _, plan = run(data)
    (u,) = plan.unfilled
    assert u.request_id == "a" and u.codes == ("candidates_busy", "below_min_volunteers")
    assert "v1 at fixed" in u.reasons[0]


def _v1_week(seed: int) -> Json:
    rng = random.Random(seed)
    vols = [
        volunteer(f"v{i}", north_km=rng.uniform(-5, 5), east_km=rng.uniform(-5, 5),
                  availability=((8, 20),), max_assignments=rng.choice([None, 1, 2]) or 3)
        for i in range(8)
    ]  # fmt: skip
    reqs = [
        request(f"r{j}", start=(s := rng.choice([9, 10, 13])), end=s + rng.choice([1, 2]),
                north_km=rng.uniform(-5, 5), east_km=rng.uniform(-5, 5),
                volunteers_needed=rng.choice([1, 2]))
        for j in range(6)
    ]  # fmt: skip
    return make_instance(vols, reqs)


@pytest.mark.parametrize("seed", [1, 2])
def test_an_instance_without_visits_is_solved_exactly_the_v1_way(seed: int) -> None:
    instance = parse_instance(_v1_week(seed))
    plan = solve(instance, time_limit_s=2.0)
    compiled = compile_instance(instance)
    result = ENGINES["optimal"](compiled.data, SolveParams(time_limit_s=2.0), Control())
    direct = build_plan(compiled, result, started=0.0)
    assert plan.status == direct.status == "optimal"
    assert plan.assignments == direct.assignments and plan.objective == direct.objective
    assert plan.bound == direct.bound and plan.unfilled == direct.unfilled
    assert "routing_days" not in plan.stats and plan.stats["engine"] == "optimal"


def test_the_fixed_part_of_a_mixed_week_is_the_plan_without_its_visits() -> None:
    data = _v1_week(3)
    # Visits nobody can reach in time: they change nothing in the fixed part.
    data["requests"] += [visit("x", 6, 7, 30, north_km=2), visit("y", 21, 23, 30)]
    _, plan = run(data, time_limit_s=2.0)
    fixed_only = solve(
        parse_instance({**data, "requests": data["requests"][:-2]}), time_limit_s=2.0
    )
    assert plan.assignments == fixed_only.assignments
    assert plan.objective.coverage == fixed_only.objective.coverage
    assert plan.status == "feasible"  # travel of the visits is never proven
    assert {u.request_id for u in plan.unfilled} >= {"x", "y"}


def test_the_bound_is_the_fixed_bound_plus_the_visits_bound() -> None:
    data = make_instance(
        [volunteer(f"v{i}", east_km=i, attributes={"gender": "fm"[i % 2]}) for i in range(4)],
        [
            request("f1", start=9, end=10, volunteers_needed=2),
            request("f2", start=14, end=15, priority=2),
            visit("a", 9, 12, 60, priority=3, volunteers_needed=2,
                  same_attributes=["gender"]),  # 2 of each gender: 3 x 2
            visit("b", 9, 12, 60, volunteers_needed=3, min_volunteers=3,
                  same_attributes=["gender"]),  # never 3 of one gender: 0
            visit("c", 9, 12, 60, required_skills=["x"]),  # nobody: 0
            visit("d", 16, 18, 60, volunteers_needed=9, min_volunteers=2),  # 4 of 9
        ],
    )  # fmt: skip
    _, plan = run(data)
    assert plan.bound.coverage is not None
    assert plan.stats["visits_coverage_bound"] == 3 * 2 + 0 + 0 + 4
    # The fixed part's bound holds for the fixed requests (and the placeholders of the visits
    # it is solved with): at least what they reach alone.
    fixed = solve(parse_instance({**data, "requests": data["requests"][:2]}), time_limit_s=LIMIT)
    fixed_bound = plan.stats["fixed_coverage_bound"]
    assert isinstance(fixed_bound, int) and fixed_bound >= fixed.objective.coverage
    assert plan.bound.coverage == fixed_bound + 10
    assert plan.objective.coverage <= plan.bound.coverage


def test_times_keep_the_offset_of_the_request() -> None:
    data = make_instance(
        [volunteer("v1")],
        [{**visit("a"), "earliest_start": at(9, UTC), "latest_end": at(12, UTC)}],
    )
    _, plan = run(data)
    (a,) = plan.assignments
    assert a.start is not None and a.start.utcoffset() == timedelta(0)


def _mixed_week(seed: int) -> Json:
    rng = random.Random(seed)
    days = [(24 * d + 8, 24 * d + 18) for d in range(2)]
    vols = []
    for i in range(10):
        fields: Json = {"attributes": {"gender": rng.choice("fm")}}
        if rng.random() < 0.4:
            fields["max_hours"] = rng.choice([1.5, 2.0, 4.0])
        if rng.random() < 0.3:
            fields["max_assignments"] = rng.choice([1, 2, 3])
        if rng.random() < 0.3:
            d = rng.choice([0, 24])
            fields["commitments"] = [
                commitment(d + 12, d + 13, north_km=rng.uniform(-4, 4))
            ]
        if rng.random() < 0.3:
            fields["max_travel_km"] = rng.choice([3.0, 6.0])
        vols.append(
            volunteer(f"v{i}", north_km=rng.uniform(-4, 4), east_km=rng.uniform(-4, 4),
                      availability=rng.sample(days, rng.choice([1, 2])), **fields)
        )  # fmt: skip
    reqs = []
    for j in range(5):
        d = rng.choice([0, 24])
        s = d + rng.choice([9, 10, 14])
        reqs.append(request(f"r{j}", start=s, end=s + 1, north_km=rng.uniform(-4, 4),
                            east_km=rng.uniform(-4, 4)))  # fmt: skip
    for j in range(8):
        d = rng.choice([0, 24])
        e = d + rng.choice([8, 9, 11, 13])
        need = rng.choice([1, 1, 2])
        extra: Json = {}
        if need == 2:
            extra = {"volunteers_needed": 2, "min_volunteers": rng.choice([1, 2])}
            if rng.random() < 0.5:
                extra["same_attributes"] = ["gender"]
        reqs.append(
            visit(f"x{j}", e, e + rng.choice([2, 3, 5]), rng.choice([30, 60, 90]),
                  north_km=rng.uniform(-4, 4), east_km=rng.uniform(-4, 4), **extra)
        )  # fmt: skip
    data = make_instance(vols, reqs)
    data["excluded"] = [{"volunteer_id": "v0", "request_id": "x0"}]
    return data


@pytest.mark.parametrize("seed", range(24))
def test_random_mixed_weeks_keep_every_rule(seed: int) -> None:
    instance, plan = run(_mixed_week(seed), time_limit_s=0.4)
    assert plan.status in ("feasible", "infeasible")
    unfilled = {u.request_id: u for u in plan.unfilled}
    counts: dict[str, int] = defaultdict(int)
    for a in plan.assignments:
        counts[a.request_id] += 1
    for r in instance.requests:
        short = r.volunteers_needed - counts.get(r.id, 0)
        assert (short > 0) == (r.id in unfilled)
        if short:
            assert unfilled[r.id].missing == short and unfilled[r.id].codes


def test_a_mixed_week_solves_with_the_greedy_engine_too() -> None:
    instance, plan = run(_mixed_week(5), engine="greedy")
    assert plan.stats["engine"] == "greedy+routing"
    assert plan.bound.coverage is not None and plan.bound.coverage >= plan.objective.coverage
    assert any(a.start is not None for a in plan.assignments)
    assert len(instance.requests) == plan.stats["requests"]


def _two_days() -> Json:
    """One volunteer at home both days, a visit on each day."""
    return make_instance(
        [volunteer("v1", availability=((8, 18), (32, 42)))],
        [visit("monday", 9, 12, east_km=1), visit("tuesday", 33, 36, east_km=1)],
    )


def test_an_expired_deadline_routes_no_day_and_still_bounds_and_explains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from matcher import visits as visits_module
    from matcher.engines.base import Deadline

    def no_routing(*_: object, **__: object) -> None:
        raise AssertionError("a day was routed after the deadline")

    instance = parse_instance(_two_days())
    full = visits_module.VisitPlanner(instance).plan([], deadline=Deadline(60.0))
    monkeypatch.setattr(visits_module, "solve_routes", no_routing)
    late = visits_module.VisitPlanner(instance).plan([], deadline=Deadline(0.0))
    assert late.assignments == () and late.stats["routing_days_skipped"] == 2
    assert late.coverage_bound == full.coverage_bound > 0  # the bound sees no routes
    assert {s.request for s in late.shortfalls} == {0, 1}


def test_the_day_loop_stops_at_the_deadline_with_a_valid_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The deadline expires once the first day is routed (a spy, no clock): the second day is
    # not routed, the plan keeps every rule and says why the visit is short.
    from matcher import visits as visits_module
    from matcher.engines.base import Deadline

    routed: list[int] = []
    real = visits_module.solve_routes  # type: ignore[attr-defined]

    def counting(*args: Any, **kwargs: Any) -> Any:
        routed.append(1)
        return real(*args, **kwargs)

    class ExpiresAfterOneDay(Deadline):
        def expired(self) -> bool:
            return bool(routed)

    monkeypatch.setattr(visits_module, "solve_routes", counting)
    monkeypatch.setattr(visits_module, "Deadline", ExpiresAfterOneDay)
    _, plan = run(_two_days(), time_limit_s=5.0)
    assert len(routed) == 1 and plan.stats["routing_days_skipped"] == 1
    assert pairs_of(plan) == {("v1", "monday")}
    (short,) = plan.unfilled
    assert short.request_id == "tuesday" and short.codes == ("time_limit",)


def test_a_day_searches_its_share_of_the_time_left_after_the_later_days_set_ups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from matcher import visits as visits_module
    from matcher.engines.base import Deadline

    limits: list[float] = []
    real = visits_module.solve_routes  # type: ignore[attr-defined]

    def recording(data: Any, params: SolveParams, control: Any = None) -> Any:
        limits.append(params.time_limit_s)
        return real(data, params, control)

    class TenSecondsLeft(Deadline):  # no clock: always 10 s left
        def remaining(self) -> float:
            return 10.0

        def expired(self) -> bool:
            return False

    monkeypatch.setattr(visits_module, "solve_routes", recording)
    planner = visits_module.VisitPlanner(parse_instance(_two_days()))
    stats: dict[str, float | int | str | bool] = dict.fromkeys(
        ("routing_vehicles", "routing_seconds", "routing_iterations", "routing_coverage_bound"), 0
    )
    spent = planner.route([0], team_min=False, deadline=TenSecondsLeft(0.0), share=0.5, seed=0,
                          control=Control(), stats=stats, reserve=4.0)  # fmt: skip
    assert limits == [pytest.approx(3.0)]  # half of the 10 s less the 4 s kept for later days
    assert spent == 0.0 and planner.staffed[0] == 1

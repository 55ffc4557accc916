"""One test group per hard rule 1-11 of FORMAT.md.

Each rule gets a penalised case (a tiny instance where the rule is what forbids an assignment:
no engine may plan it, and `check_plan` flags a hand-made plan that contains it, naming exactly
that rule) and an unpenalised case (the same instance with the rule satisfied: the assignment
is allowed and every engine makes it). The pair of cases is what makes each test able to fail:
an engine that assigns nothing passes the first and fails the second.
"""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from typing import Any

import pytest
from matcher_testkit import (
    Json,
    at,
    commitment,
    hand_plan,
    make_instance,
    pairs_of,
    request,
    request_ids_unfilled,
    run,
    violated_rules,
    volunteer,
)

from matcher import check_plan, parse_instance
from matcher.model import AtFault

PAIR = ("v1", "r1")


def assert_blocked(data: Json, engine: str, rule: int, pair: tuple[str, str] = PAIR) -> None:
    plan = run(data, engine)
    assert pair not in pairs_of(plan)
    assert check_plan(parse_instance(data), plan).ok
    assert violated_rules(data, [pair]) == {rule}


def assert_chosen(data: Json, engine: str, pair: tuple[str, str] = PAIR) -> None:
    plan = run(data, engine)
    assert pair in pairs_of(plan)
    assert check_plan(parse_instance(data), plan).ok
    assert violated_rules(data, [pair]) == set()


# --------------------------------------------------------------------------------------------
# Rule 1: required skills
# --------------------------------------------------------------------------------------------


def skills_case(skills: list[str]) -> Json:
    return make_instance(
        [volunteer("v1", skills=skills)], [request("r1", required_skills=["first_aid", "driving"])]
    )


@pytest.mark.parametrize("skills", [[], ["first_aid"], ["driving"], ["First_Aid", "driving"]])
def test_rule1_missing_skill_blocks(engine: str, skills: list[str]) -> None:
    assert_blocked(skills_case(skills), engine, rule=1)


@pytest.mark.parametrize("skills", [["first_aid", "driving"], ["driving", "cooking", "first_aid"]])
def test_rule1_all_skills_allow(engine: str, skills: list[str]) -> None:
    assert_chosen(skills_case(skills), engine)


# --------------------------------------------------------------------------------------------
# Rule 2: languages
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spoken", [[], ["en"], ["ZH"]])
def test_rule2_no_shared_language_blocks(engine: str, spoken: list[str]) -> None:
    data = make_instance(
        [volunteer("v1", languages=spoken)], [request("r1", languages=["zh", "yue"])]
    )
    assert_blocked(data, engine, rule=2)


@pytest.mark.parametrize(
    ("spoken", "wanted"),
    [(["en", "yue"], ["zh", "yue"]), (["zh"], ["zh"]), ([], []), (["en"], [])],
)
def test_rule2_one_shared_language_or_none_asked_allows(
    engine: str, spoken: list[str], wanted: list[str]
) -> None:
    data = make_instance([volunteer("v1", languages=spoken)], [request("r1", languages=wanted)])
    assert_chosen(data, engine)


# --------------------------------------------------------------------------------------------
# Rule 3: attributes, compared as JSON scalars
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("have", "want"),
    [
        ({"gender": "m"}, {"gender": "f"}),
        ({}, {"gender": "f"}),
        ({"gender": "f"}, {"gender": "f", "age_group": "senior"}),
        ({"certified": 1}, {"certified": True}),
        ({"certified": True}, {"certified": 1}),
        ({"level": "1"}, {"level": 1}),
        ({"level": 2}, {"level": 1}),
        ({"gender": "F"}, {"gender": "f"}),
    ],
)
def test_rule3_attribute_mismatch_blocks(engine: str, have: Json, want: Json) -> None:
    data = make_instance([volunteer("v1", attributes=have)], [request("r1", attributes=want)])
    assert_blocked(data, engine, rule=3)


@pytest.mark.parametrize(
    ("have", "want"),
    [
        ({"gender": "f", "other": "x"}, {"gender": "f"}),
        ({"gender": "m"}, {}),
        ({"level": 1.0}, {"level": 1}),
        ({"certified": True}, {"certified": True}),
        ({"certified": False}, {"certified": False}),
        ({"gender": "f", "age_group": "senior"}, {"age_group": "senior", "gender": "f"}),
    ],
)
def test_rule3_equal_attributes_allow(engine: str, have: Json, want: Json) -> None:
    data = make_instance([volunteer("v1", attributes=have)], [request("r1", attributes=want)])
    assert_chosen(data, engine)


def test_rule3_two_same_gender_helpers(engine: str) -> None:
    """Bathing assistance with two female helpers: the nearest volunteer is male and is skipped."""
    data = make_instance(
        [
            volunteer("v-m", attributes={"gender": "m"}),
            volunteer("v-f1", north_km=2, attributes={"gender": "f"}),
            volunteer("v-f2", north_km=3, attributes={"gender": "f"}),
            volunteer("v-none", north_km=1),
        ],
        [
            request(
                "bath",
                service_type="bathing_assistance",
                attributes={"gender": "f"},
                volunteers_needed=2,
                min_volunteers=2,
            )
        ],
    )
    plan = run(data, engine)
    assert pairs_of(plan) == {("v-f1", "bath"), ("v-f2", "bath")}
    assert violated_rules(data, [("v-f1", "bath"), ("v-m", "bath")]) == {3}
    assert violated_rules(data, [("v-f1", "bath"), ("v-none", "bath")]) == {3}


# --------------------------------------------------------------------------------------------
# Rule 4: availability (touching or overlapping intervals merged first)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "availability",
    [
        [],
        [(8.0, 10.0), (10.5, 12.0)],  # a gap inside the request
        [(9.5, 12.0)],  # starts late
        [(8.0, 10.9)],  # ends early
        [(8.0, 10.0), (10.001, 12.0)],  # almost touching is not touching
        [(12.0, 14.0)],  # another time of day
    ],
)
def test_rule4_not_available_blocks(engine: str, availability: list[tuple[float, float]]) -> None:
    data = make_instance(
        [volunteer("v1", availability=availability)], [request("r1", start=9, end=11)]
    )
    assert_blocked(data, engine, rule=4)


@pytest.mark.parametrize(
    "availability",
    [
        [(9.0, 11.0)],  # exactly the request
        [(8.0, 10.0), (10.0, 12.0)],  # touching intervals merge
        [(10.0, 12.0), (8.0, 10.0)],  # in any order
        [(8.0, 10.5), (10.0, 12.0)],  # overlapping intervals merge
        [(8.0, 9.5), (9.5, 10.0), (10.0, 11.0)],  # a chain of three
        [(8.0, 12.0), (9.0, 10.0)],  # nested
    ],
)
def test_rule4_merged_availability_allows(
    engine: str, availability: list[tuple[float, float]]
) -> None:
    data = make_instance(
        [volunteer("v1", availability=availability)], [request("r1", start=9, end=11)]
    )
    assert_chosen(data, engine)


def test_rule4_offsets_do_not_matter(engine: str) -> None:
    """Availability written in UTC and in -05:00 touches and covers a request written in +08:00."""
    v = volunteer("v1", availability=[])
    v["availability"] = [
        {"start": at(8.0, UTC), "end": at(10.0, UTC)},
        {"start": at(10.0, timezone(timedelta(hours=-5))), "end": at(11.0, UTC)},
    ]
    assert_chosen(make_instance([v], [request("r1", start=9, end=11)]), engine)
    v["availability"] = [{"start": at(9.0, UTC), "end": at(10.99, UTC)}]
    assert_blocked(make_instance([v], [request("r1", start=9, end=11)]), engine, rule=4)


# --------------------------------------------------------------------------------------------
# Rule 5: travel distance
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("radius", "km"), [(5.0, 5.2), (5.0, 30.0), (0.0, 0.01), (2.5, 2.6)])
def test_rule5_beyond_reach_blocks(engine: str, radius: float, km: float) -> None:
    data = make_instance([volunteer("v1", max_travel_km=radius)], [request("r1", north_km=km)])
    assert_blocked(data, engine, rule=5)


@pytest.mark.parametrize(
    ("radius", "km", "east"), [(5.0, 4.8, 0.0), (5.0, 5.0, 0.0), (0.0, 0.0, 0.0), (10, 6, 6)]
)
def test_rule5_within_reach_allows(engine: str, radius: float, km: float, east: float) -> None:
    data = make_instance(
        [volunteer("v1", max_travel_km=radius)], [request("r1", north_km=km, east_km=east)]
    )
    assert_chosen(data, engine)


def test_rule5_no_radius_means_unlimited(engine: str) -> None:
    data = make_instance([volunteer("v1")], [request("r1", north_km=900.0)])
    assert_chosen(data, engine)


# --------------------------------------------------------------------------------------------
# Rule 6: overlap and travel time between requests, and commitments outside the solve
# --------------------------------------------------------------------------------------------


def two_requests(second_start: float, second_end: float, north_km: float, **options: Any) -> Json:
    return make_instance(
        [volunteer("v1")],
        [
            request("r1", start=9.0, end=10.0),
            request("r2", start=second_start, end=second_end, north_km=north_km),
        ],
        **options,
    )


BOTH = [("v1", "r1"), ("v1", "r2")]


@pytest.mark.parametrize(
    ("start", "end", "km", "speed"),
    [
        (9.5, 10.5, 0.0, 20),  # overlap at one place
        (9.0, 10.0, 0.0, 20),  # the same time
        (8.0, 12.0, 0.0, 20),  # one inside the other
        (10.0, 11.0, 10.0, 20),  # back to back, 10 km apart: needs 30 min
        (10 + 20 / 60, 11.0, 10.0, 20),  # 20 min gap, needs 30 min
        (10.25, 11.0, 10.0, 20),  # 15 min gap at 20 km/h
        (10.25, 11.0, 10.0, 30),  # 15 min gap at 30 km/h: still needs 20 min
    ],
)
def test_rule6_overlap_or_no_time_to_travel_blocks(
    engine: str, start: float, end: float, km: float, speed: float
) -> None:
    data = two_requests(start, end, km, travel_speed_kmh=speed)
    plan = run(data, engine)
    assert len(plan.assignments) == 1  # one of the two, never both
    assert check_plan(parse_instance(data), plan).ok
    assert violated_rules(data, BOTH) == {6}


@pytest.mark.parametrize(
    ("start", "end", "km", "speed"),
    [
        (10.0, 11.0, 0.0, 20),  # back to back at one place
        (10.5, 11.5, 10.0, 20),  # exactly the 30 min it takes
        (10.6, 11.5, 10.0, 20),  # more than enough
        (10.25, 11.0, 10.0, 40),  # 15 min at 40 km/h
        (10.0, 11.0, 0.0, 1),  # slow, but no distance
    ],
)
def test_rule6_time_to_travel_allows_both(
    engine: str, start: float, end: float, km: float, speed: float
) -> None:
    data = two_requests(start, end, km, travel_speed_kmh=speed)
    plan = run(data, engine)
    assert pairs_of(plan) == set(BOTH)
    assert violated_rules(data, BOTH) == set()


def test_rule6_travel_applies_in_time_order_not_list_order(engine: str) -> None:
    """The later request listed first: a.start <= b.start is by time."""
    data = make_instance(
        [volunteer("v1")],
        [request("r2", start=10.0, end=11.0, north_km=10.0), request("r1", start=9.0, end=10.0)],
    )
    assert len(run(data, engine).assignments) == 1
    assert violated_rules(data, BOTH) == {6}


@pytest.mark.parametrize(
    ("start", "end", "km"),
    [
        (10.0, 12.0, 0.0),  # overlaps the commitment (9-11)
        (8.0, 9.5, 0.0),  # overlaps its start
        (9.5, 10.5, 0.0),  # inside it
        (11.0, 12.0, 10.0),  # right after it, but 10 km away (30 min at 20 km/h)
        (8.0, 9.0, 10.0),  # right before it, 10 km away
        (11.25, 12.0, 10.0),  # 15 min after, needs 30
    ],
)
def test_rule6_commitment_blocks(engine: str, start: float, end: float, km: float) -> None:
    data = make_instance(
        [volunteer("v1", commitments=[commitment(9.0, 11.0)])],
        [request("r1", start=start, end=end, north_km=km)],
    )
    assert_blocked(data, engine, rule=6)


@pytest.mark.parametrize(
    ("start", "end", "km"),
    [
        (11.0, 12.0, 0.0),  # right after, same place
        (8.0, 9.0, 0.0),  # right before, same place
        (11.5, 12.5, 10.0),  # exactly the 30 min of travel after
        (7.0, 8.5, 10.0),  # exactly the 30 min of travel before
        (14.0, 16.0, 50.0),  # later in the day: 2.5 h of travel in a 3 h gap
    ],
)
def test_rule6_commitment_leaves_time_allows(
    engine: str, start: float, end: float, km: float
) -> None:
    data = make_instance(
        [volunteer("v1", commitments=[commitment(9.0, 11.0)])],
        [request("r1", start=start, end=end, north_km=km)],
    )
    assert_chosen(data, engine)


def test_rule6_commitment_location_is_where_travel_starts(engine: str) -> None:
    """A commitment 10 km north, then a request at the volunteer's home 15 min later: blocked;
    the same commitment at home: allowed."""
    away = make_instance(
        [volunteer("v1", commitments=[commitment(9.0, 11.0, north_km=10.0)])],
        [request("r1", start=11.25, end=12.0)],
    )
    assert_blocked(away, engine, rule=6)
    home = make_instance(
        [volunteer("v1", commitments=[commitment(9.0, 11.0)])],
        [request("r1", start=11.25, end=12.0)],
    )
    assert_chosen(home, engine)


# --------------------------------------------------------------------------------------------
# Rule 7: hours and assignment caps (commitments count toward both)
# --------------------------------------------------------------------------------------------


def two_slots(second_hours: float = 2.0, **fields: Any) -> Json:
    return make_instance(
        [volunteer("v1", **fields)],
        [request("r1", start=9.0, end=11.0), request("r2", start=13.0, end=13.0 + second_hours)],
    )


@pytest.mark.parametrize(
    ("second_hours", "fields"),
    [
        (2.0, {"max_hours": 3}),
        (2.0, {"max_hours": 3.99}),
        (0.5, {"max_hours": 2.49}),
        (2.0, {"max_assignments": 1}),
    ],
)
def test_rule7_cap_allows_only_one(engine: str, second_hours: float, fields: Json) -> None:
    data = two_slots(second_hours, **fields)
    plan = run(data, engine)
    assert len(plan.assignments) == 1
    assert check_plan(parse_instance(data), plan).ok
    assert violated_rules(data, BOTH) == {7}


@pytest.mark.parametrize(
    ("second_hours", "fields"),
    [
        (2.0, {"max_hours": 4}),
        (0.5, {"max_hours": 2.5}),
        (2.0, {"max_assignments": 2}),
        (2.0, {"max_hours": 4, "max_assignments": 2}),
    ],
)
def test_rule7_cap_room_allows_both(engine: str, second_hours: float, fields: Json) -> None:
    data = two_slots(second_hours, **fields)
    assert pairs_of(run(data, engine)) == set(BOTH)
    assert violated_rules(data, BOTH) == set()


def test_rule7_hours_cap_keeps_the_longer_request(engine: str) -> None:
    """max_hours 3 fits the 3-hour request or the 1-hour one, not both."""
    data = make_instance(
        [volunteer("v1", max_hours=3)],
        [request("short", start=9.0, end=10.0), request("long", start=13.0, end=16.0)],
    )
    plan = run(data, engine)
    assert len(plan.assignments) == 1
    assert violated_rules(data, [("v1", "short"), ("v1", "long")]) == {7}


@pytest.mark.parametrize(
    ("fields", "allowed"),
    [
        ({"max_hours": 3}, False),  # 2 h committed + 2 h asked > 3
        ({"max_hours": 4}, True),
        ({"max_assignments": 1}, False),  # the commitment is the one assignment
        ({"max_assignments": 2}, True),
    ],
)
def test_rule7_commitments_count_toward_caps(engine: str, fields: Json, allowed: bool) -> None:
    data = make_instance(
        [volunteer("v1", commitments=[commitment(9.0, 11.0, north_km=3.0)], **fields)],
        [request("r1", start=13.0, end=15.0)],
    )
    if allowed:
        assert_chosen(data, engine)
    else:
        assert_blocked(data, engine, rule=7)


# --------------------------------------------------------------------------------------------
# Rule 8: a volunteer is assigned to a request at most once
# --------------------------------------------------------------------------------------------


def test_rule8_one_volunteer_fills_one_slot(engine: str) -> None:
    data = make_instance([volunteer("v1")], [request("r1", volunteers_needed=2)])
    plan = run(data, engine)
    assert [(a.volunteer_id, a.request_id) for a in plan.assignments] == [PAIR]
    assert request_ids_unfilled(plan) == {"r1": 1}
    assert violated_rules(data, [PAIR, PAIR]) == {8}


def test_rule8_two_volunteers_fill_two_slots(engine: str) -> None:
    data = make_instance(
        [volunteer("v1"), volunteer("v2", north_km=1.0)], [request("r1", volunteers_needed=2)]
    )
    plan = run(data, engine)
    assert pairs_of(plan) == {PAIR, ("v2", "r1")}
    assert plan.unfilled == ()
    assert violated_rules(data, [PAIR, ("v2", "r1")]) == set()


# --------------------------------------------------------------------------------------------
# Rule 9: headcount 0 or between min_volunteers and volunteers_needed
# --------------------------------------------------------------------------------------------


def crew(n_volunteers: int) -> Json:
    return make_instance(
        [volunteer(f"v{i}", north_km=float(i)) for i in range(1, n_volunteers + 1)],
        [request("r1", volunteers_needed=3, min_volunteers=2)],
    )


def test_rule9_below_min_staffs_nobody(engine: str) -> None:
    data = crew(1)
    plan = run(data, engine)
    assert plan.assignments == ()
    assert plan.status != "infeasible"
    assert request_ids_unfilled(plan) == {"r1": 3}
    assert violated_rules(data, [PAIR]) == {9}


@pytest.mark.parametrize(("n_volunteers", "expected"), [(2, 2), (3, 3), (5, 3)])
def test_rule9_staffs_between_min_and_needed(engine: str, n_volunteers: int, expected: int) -> None:
    data = crew(n_volunteers)
    plan = run(data, engine)
    # The nearest `expected` volunteers: v1, v2, v3 are 1, 2, 3 km away.
    assert pairs_of(plan) == {(f"v{i}", "r1") for i in range(1, expected + 1)}


def test_rule9_pinned_volunteer_gets_company(engine: str) -> None:
    """`crew` needs exactly two and holds a pinned volunteer; the only other volunteer must join
    it there (a plan with coverage 2), not take `solo` and leave `crew` at one (rule 9)."""
    data = make_instance(
        [volunteer("v0"), volunteer("v1")],
        [request("solo"), request("crew", volunteers_needed=2, min_volunteers=2)],
        pinned=[("v0", "crew")],
    )
    plan = run(data, engine)
    assert check_plan(parse_instance(data), plan).ok
    assert pairs_of(plan) == {("v0", "crew"), ("v1", "crew")}
    assert plan.status != "infeasible"


def test_rule9_over_needed_is_flagged() -> None:
    data = crew(4)
    assert violated_rules(data, [(f"v{i}", "r1") for i in range(1, 5)]) == {9}
    assert violated_rules(data, [(f"v{i}", "r1") for i in range(1, 4)]) == set()


# --------------------------------------------------------------------------------------------
# Rule 10: mandatory requests
# --------------------------------------------------------------------------------------------


def test_rule10_mandatory_beats_priority(engine: str) -> None:
    """One volunteer, two overlapping requests: the earlier one is worth five times more, the
    later one is mandatory. A plan exists that keeps rule 10, so no engine may break it."""
    data = make_instance(
        [volunteer("v1")],
        [
            request("big", start=9.0, end=11.0, priority=5),
            request("must", start=10.0, end=12.0, mandatory=True),
        ],
    )
    plan = run(data, engine)
    assert pairs_of(plan) == {("v1", "must")}
    assert plan.status != "infeasible"
    assert plan.at_fault == ()


def test_rule10_mandatory_beats_an_equal_twin(engine: str) -> None:
    """One volunteer, two requests alike in every way but `mandatory`: the plan staffs the
    mandatory one (the smallest instance where rule 10 decides)."""
    data = make_instance([volunteer("v1")], [request("optional"), request("must", mandatory=True)])
    plan = run(data, engine)
    assert pairs_of(plan) == {("v1", "must")}
    assert plan.status != "infeasible"
    assert check_plan(parse_instance(data), plan).ok


def test_rule10_without_mandatory_priority_wins(engine: str) -> None:
    data = make_instance(
        [volunteer("v1")],
        [request("big", start=9.0, end=11.0, priority=5), request("must", start=10.0, end=12.0)],
    )
    assert pairs_of(run(data, engine)) == {("v1", "big")}


def test_rule10_unstaffable_mandatory_is_infeasible_and_named(engine: str) -> None:
    data = make_instance(
        [volunteer("v1", skills=["driving"]), volunteer("v2", north_km=1.0)],
        [
            request("must", required_skills=["sign_language"], mandatory=True),
            request("other", start=13.0, end=14.0, required_skills=["driving"]),
        ],
    )
    plan = run(data, engine)
    assert plan.status == "infeasible"
    assert [f.request_id for f in plan.at_fault] == ["must"]
    assert 1 in plan.at_fault[0].rules
    assert "sign_language" in plan.at_fault[0].reason
    # The rest of the instance is still solved, and the plan keeps every other rule.
    assert pairs_of(plan) == {("v1", "other")}
    assert check_plan(parse_instance(data), plan).ok


def test_rule10_mandatory_below_min_is_infeasible(engine: str) -> None:
    data = make_instance(
        [volunteer("v1")], [request("must", volunteers_needed=3, min_volunteers=2, mandatory=True)]
    )
    plan = run(data, engine)
    assert plan.status == "infeasible"
    assert [f.request_id for f in plan.at_fault] == ["must"]
    assert plan.at_fault[0].rules and plan.at_fault[0].reason
    assert check_plan(parse_instance(data), plan).ok


def test_rule10_two_mandatory_one_volunteer(engine: str) -> None:
    """Two overlapping mandatory requests, one volunteer: one is staffed, the other is named,
    with rule 6 (its only candidate is busy) among the rules that block it."""
    data = make_instance(
        [volunteer("v1")],
        [
            request("m1", start=9.0, end=11.0, mandatory=True),
            request("m2", start=10.0, end=12.0, mandatory=True),
        ],
    )
    plan = run(data, engine)
    assert plan.status == "infeasible"
    assert len(plan.assignments) == 1
    staffed = plan.assignments[0].request_id
    assert [f.request_id for f in plan.at_fault] == [{"m1": "m2", "m2": "m1"}[staffed]]
    assert 6 in plan.at_fault[0].rules
    assert check_plan(parse_instance(data), plan).ok


def test_rule10_checker_flags_unstaffed_mandatory() -> None:
    data = make_instance([volunteer("v1")], [request("must", mandatory=True)])
    instance = parse_instance(data)
    assert violated_rules(data, []) == {10}
    assert violated_rules(data, [("v1", "must")]) == set()
    # Excused only when the plan says it is infeasible and names the request.
    named = hand_plan(instance, [], status="infeasible").model_copy(
        update={"at_fault": (AtFault(request_id="must", rules=(10,), reason="test"),)}
    )
    assert check_plan(instance, named).ok
    unnamed = hand_plan(instance, [], status="infeasible")
    assert {v.rule for v in check_plan(instance, unnamed).violations} == {10}


# --------------------------------------------------------------------------------------------
# Rule 11: pinned pairs are kept
# --------------------------------------------------------------------------------------------


def test_rule11_pinned_pair_kept_over_nearer_volunteer(engine: str) -> None:
    vols = [volunteer("far", north_km=5.0), volunteer("near", north_km=0.5)]
    free = make_instance(vols, [request("r1")])
    assert pairs_of(run(free, engine)) == {("near", "r1")}
    pinned = make_instance(vols, [request("r1")], pinned=[("far", "r1")])
    plan = run(pinned, engine)
    assert pairs_of(plan) == {("far", "r1")}
    assert check_plan(parse_instance(pinned), plan).ok


def test_rule11_pinned_pair_kept_over_higher_priority(engine: str) -> None:
    reqs = [
        request("big", start=9.0, end=11.0, priority=5),
        request("small", start=10.0, end=12.0),
    ]
    free = make_instance([volunteer("v1")], reqs)
    assert pairs_of(run(free, engine)) == {("v1", "big")}
    pinned = make_instance([volunteer("v1")], reqs, pinned=[("v1", "small")])
    plan = run(pinned, engine)
    assert pairs_of(plan) == {("v1", "small")}
    assert plan.status != "infeasible"
    assert "big" in request_ids_unfilled(plan)


def test_rule11_checker_flags_missing_pinned_pair() -> None:
    data = make_instance([volunteer("v1"), volunteer("v2")], [request("r1")], pinned=[("v1", "r1")])
    assert violated_rules(data, [("v2", "r1")]) == {11}
    assert violated_rules(data, []) == {11}
    assert violated_rules(data, [PAIR]) == set()

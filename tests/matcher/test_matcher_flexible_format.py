"""Format v1.1 (issue 18): flexible visits in validation, the hard rules and the checker.

A flexible visit gives a window (`earliest_start`, `latest_end`) and a `duration` in minutes;
the plan gives each of its assignments the chosen start and end, one start for the team. Bad
v1.1 input is rejected before anything is solved, each problem naming the record and field. The
checker flags each v1.1 rule (3b same attributes, 4b chosen start, 4 and 6 at the chosen times,
6b the route from home and back, 7 counting the duration) and checks `distance_km` against the
travel leg: from the volunteer's previous stop in the same availability interval, else home.

Places here lie due north of ORIGIN (on one meridian), so that a distance between two of them
is the difference of their `north_km`; at the default 20 km/h, 10 km take 30 minutes.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matcher_testkit import (
    BASE,
    ENGINE_NAMES,
    HYPOTHESIS,
    Json,
    at,
    commitment,
    make_instance,
    request,
    volunteer,
)

from matcher import CheckReport, InstanceError, check_plan, parse_instance, rules, solve
from matcher.cli import main
from matcher.model import Assignment, Objective, Plan
from matcher.rules import RuleId


def flexible(
    rid: str = "r1",
    *,
    earliest: float = 9.0,
    latest: float = 12.0,
    minutes: float = 60.0,
    north_km: float = 0.0,
    **fields: Any,
) -> Json:
    """A flexible visit north of ORIGIN, 60 minutes between 09:00 and 12:00 unless told."""
    data = request(rid, north_km=north_km, **fields)
    del data["start"], data["end"]
    return {**data, "earliest_start": at(earliest), "latest_end": at(latest), "duration": minutes}


def visit(
    vid: str, rid: str, start: float | None, km: float, *, minutes: float = 60.0
) -> Assignment:
    """An assignment of a flexible visit chosen at `start` hours after BASE and ending
    `minutes` later, with `distance_km` = `km`."""
    begin = None if start is None else BASE + timedelta(hours=start)
    end = None if begin is None else begin + timedelta(minutes=minutes)
    return Assignment(volunteer_id=vid, request_id=rid, distance_km=km, start=begin, end=end)


def fixed(vid: str, rid: str, km: float) -> Assignment:
    return Assignment(volunteer_id=vid, request_id=rid, distance_km=km)


def check(data: Json, *assignments: Assignment) -> CheckReport:
    plan = Plan(
        status="feasible",
        assignments=assignments,
        objective=Objective(coverage=len(assignments), travel_km=0.0),
    )
    return check_plan(parse_instance(data), plan)


def broken(data: Json, *assignments: Assignment) -> set[RuleId]:
    return {v.rule for v in check(data, *assignments).violations}


# --------------------------------------------------------------------------------------------
# Validation: rejected before anything is solved, naming the record and the field
# --------------------------------------------------------------------------------------------


def with_fixed_times(**fields: Any) -> Json:
    return {**request("r1"), **fields}


BAD: list[tuple[str, Json, str, str]] = [
    # (case, instance, Problem.path, a regular expression naming the field in path or message)
    (
        "window shorter than duration",
        make_instance([volunteer()], [flexible(earliest=9, latest=10, minutes=90)]),
        "requests[0].duration",
        r"duration \(90 min\) is longer than the window",
    ),
    (
        "window over midnight",
        make_instance([volunteer()], [flexible(earliest=22, latest=25, minutes=60)]),
        "requests[0].latest_end",
        "crosses midnight",
    ),
    (
        "window ending before it starts",
        make_instance([volunteer()], [flexible(earliest=11, latest=10, minutes=30)]),
        "requests[0].latest_end",
        "must be after earliest_start",
    ),
    (
        "duration zero",
        make_instance([volunteer()], [flexible(minutes=0)]),
        "requests[0].duration",
        "greater than 0",
    ),
    (
        "duration over a day",
        make_instance([volunteer()], [flexible(earliest=0, latest=24, minutes=1441)]),
        "requests[0].duration",
        "1440",
    ),
    (
        "a team with a missing gender",
        make_instance([volunteer()], [flexible(attributes={"gender": ""}, volunteers_needed=2)]),
        "requests[0].attributes",
        "attribute 'gender' is empty",
    ),
    (
        "same_attributes on a team of one",
        make_instance([volunteer()], [flexible(same_attributes=["gender"])]),
        "requests[0]",
        "same_attributes .* volunteers_needed is 1",
    ),
    (
        "both forms",
        make_instance([volunteer()], [with_fixed_times(duration=60)]),
        "requests[0]",
        "start and end .* earliest_start, latest_end and duration .* not both",
    ),
    (
        "half a flexible form",
        make_instance([volunteer()], [{k: v for k, v in flexible().items() if k != "duration"}]),
        "requests[0]",
        "missing duration",
    ),
    (
        "half a fixed form",
        make_instance([volunteer()], [{k: v for k, v in request().items() if k != "end"}]),
        "requests[0]",
        "missing end",
    ),
    (
        "an end written as null",
        make_instance([volunteer()], [{**request(), "end": None}]),
        "requests[0]",
        "missing end",
    ),
    (
        "pinned flexible visit",
        make_instance([volunteer()], [flexible()], pinned=[("v1", "r1")]),
        "pinned[0].request_id",
        "flexible visit .* pin a visit with fixed times",
    ),
]


@pytest.mark.parametrize(("data", "path", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_v11_input_names_record_and_field(
    data: Json, path: str, message: str, no_solve: list[str]
) -> None:
    with pytest.raises(InstanceError) as caught:
        parse_instance(data)
    found = [(p.path, p.record, p.message) for p in caught.value.problems]
    expected_record = "v1 -> r1" if path.startswith("pinned") else "id r1"
    assert any(
        p == path and record == expected_record and re.search(message, text)
        for p, record, text in found
    ), found
    for engine in ENGINE_NAMES:
        with pytest.raises(InstanceError):
            solve(data, engine=engine, time_limit_s=1)
    assert no_solve == []


def test_flexible_requests_with_previous_and_excluded_pairs_are_valid() -> None:
    data = make_instance([volunteer()], [flexible()], previous=[("v1", "r1")])
    data["excluded"] = [{"volunteer_id": "v1", "request_id": "r1"}]
    instance = parse_instance(data)
    assert instance.requests[0].flexible


def test_pinning_a_fixed_request_beside_flexible_visits_is_valid() -> None:
    data = make_instance([volunteer()], [request("r0"), flexible()], pinned=[("v1", "r0")])
    assert parse_instance(data).pinned[0].request_id == "r0"


# --------------------------------------------------------------------------------------------
# Rule 4b: the chosen start
# --------------------------------------------------------------------------------------------

ONE_VISIT = make_instance([volunteer("v1"), volunteer("v2")], [flexible(volunteers_needed=2)])


def test_4b_a_chosen_start_inside_the_window_is_kept() -> None:
    report = check(ONE_VISIT, visit("v1", "r1", 10, 0.0), visit("v2", "r1", 10, 0.0))
    assert report.ok, report.violations


@pytest.mark.parametrize(
    ("assignments", "words"),
    [
        pytest.param([visit("v1", "r1", None, 0.0)], "gives no chosen start", id="no start"),
        pytest.param(
            [
                visit("v1", "r1", 10, 0.0).model_copy(
                    update={"start": (BASE + timedelta(hours=10)).replace(tzinfo=None)}
                )
            ],
            "with an offset",
            id="no offset",
        ),
        pytest.param([visit("v1", "r1", 8.5, 0.0)], "before earliest_start", id="too early"),
        pytest.param([visit("v1", "r1", 11.5, 0.0)], "after latest_end", id="too late"),
        pytest.param(
            [visit("v1", "r1", 10, 0.0, minutes=45)], "not its start", id="end not start+duration"
        ),
        pytest.param(
            [visit("v1", "r1", 10, 0.0), visit("v2", "r1", 10.5, 0.0)],
            "starts at different times",
            id="team at two starts",
        ),
    ],
)
def test_4b_a_bad_chosen_start_is_flagged(assignments: list[Assignment], words: str) -> None:
    violations = check(ONE_VISIT, *assignments).violations
    assert {v.rule for v in violations} == {"4b"}, violations
    assert words in str(violations[0]) and "r1" in str(violations[0])


def test_4b_a_start_on_a_fixed_request_is_flagged_naming_it() -> None:
    data = make_instance([volunteer()], [request("r1")])
    assert broken(data, fixed("v1", "r1", 0.0)) == set()
    bad = visit("v1", "r1", 9, 0.0, minutes=120)
    (violation,) = check(data, bad).violations
    assert (
        violation.rule == "4b" and "v1 -> r1" in str(violation) and "fixed times" in str(violation)
    )


# --------------------------------------------------------------------------------------------
# Rule 3b: same attributes in a team
# --------------------------------------------------------------------------------------------

TEAM = make_instance(
    [
        volunteer("f1", attributes={"gender": "f"}),
        volunteer("f2", attributes={"gender": "f"}),
        volunteer("m1", attributes={"gender": "m"}),
        volunteer("x1"),
    ],
    [flexible(volunteers_needed=2, same_attributes=["gender"])],
)


def test_3b_a_team_of_one_gender_keeps_it() -> None:
    assert broken(TEAM, visit("f1", "r1", 9, 0.0), visit("f2", "r1", 9, 0.0)) == set()


def test_3b_a_mixed_team_is_flagged() -> None:
    report = check(TEAM, visit("f1", "r1", 9, 0.0), visit("m1", "r1", 9, 0.0))
    assert {v.rule for v in report.violations} == {"3b"}
    assert "gender" in str(report.violations[0]) and "r1" in str(report.violations[0])


def test_3b_a_volunteer_without_the_attribute_cannot_serve() -> None:
    assert broken(TEAM, visit("x1", "r1", 9, 0.0)) == {"3b"}
    assert broken(TEAM, visit("f1", "r1", 9, 0.0)) == set()


def test_3b_holds_for_fixed_requests_too() -> None:
    data = make_instance(
        TEAM["volunteers"], [request("r1", volunteers_needed=2, same_attributes=["gender"])]
    )
    assert broken(data, fixed("f1", "r1", 0.0), fixed("f2", "r1", 0.0)) == set()
    assert broken(data, fixed("f1", "r1", 0.0), fixed("m1", "r1", 0.0)) == {"3b"}


# --------------------------------------------------------------------------------------------
# Rules 4, 6 and 7 at the chosen times
# --------------------------------------------------------------------------------------------


def test_4_availability_is_checked_at_the_chosen_start() -> None:
    data = make_instance([volunteer(availability=[(9, 10.5)])], [flexible()])
    assert broken(data, visit("v1", "r1", 9, 0.0)) == set()
    assert broken(data, visit("v1", "r1", 10, 0.0)) == {4}


def test_6_two_visits_of_one_volunteer_at_overlapping_starts_are_flagged() -> None:
    data = make_instance([volunteer()], [flexible("r1"), flexible("r2")])
    assert broken(data, visit("v1", "r1", 9, 0.0), visit("v1", "r2", 10, 0.0)) == set()
    assert broken(data, visit("v1", "r1", 9, 0.0), visit("v1", "r2", 9.5, 0.0)) == {6}


def test_6_travel_between_visits_counts_at_the_chosen_times() -> None:
    data = make_instance([volunteer()], [flexible("r1"), flexible("r2", north_km=10)])
    assert broken(data, visit("v1", "r1", 9, 0.0), visit("v1", "r2", 10.5, 10.0)) == set()
    assert broken(data, visit("v1", "r1", 9, 0.0), visit("v1", "r2", 10.25, 10.0)) == {6}


def test_6_a_commitment_blocks_the_chosen_start_only() -> None:
    data = make_instance([volunteer(commitments=[commitment(10, 11)])], [flexible()])
    assert broken(data, visit("v1", "r1", 9, 0.0)) == set()
    assert broken(data, visit("v1", "r1", 10.5, 0.0)) == {6}


def test_7_counts_the_duration_not_the_window() -> None:
    one = make_instance([volunteer(max_hours=2)], [flexible(minutes=90)])
    assert broken(one, visit("v1", "r1", 9, 0.0, minutes=90)) == set()
    two = make_instance(
        [volunteer(max_hours=2)],
        [flexible("r1", minutes=90), flexible("r2", earliest=13, latest=16, minutes=90)],
    )
    assert broken(
        two, visit("v1", "r1", 9, 0.0, minutes=90), visit("v1", "r2", 13, 0.0, minutes=90)
    ) == {7}


# --------------------------------------------------------------------------------------------
# Rule 6b: the route starts and ends at home
# --------------------------------------------------------------------------------------------

FAR = make_instance([volunteer(availability=[(9, 12)])], [flexible(north_km=10)])


@pytest.mark.parametrize("start", [9.5, 10.0, 10.5])
def test_6b_time_to_come_from_home_and_go_back_keeps_it(start: float) -> None:
    assert broken(FAR, visit("v1", "r1", start, 10.0)) == set()


def test_6b_no_time_to_come_from_home_is_flagged() -> None:
    (violation,) = check(FAR, visit("v1", "r1", 9.25, 10.0)).violations
    assert violation.rule == "6b" and "from home" in str(violation)


def test_6b_no_time_to_go_back_home_is_flagged() -> None:
    (violation,) = check(FAR, visit("v1", "r1", 10.75, 10.0)).violations
    assert violation.rule == "6b" and "back home" in str(violation)


def test_6b_an_engagement_before_replaces_the_way_from_home() -> None:
    """After a fixed request at the same place ending 9:15, the visit can start at 9:15;
    alone, it starts the route and the volunteer (available from 9:00) needs 30 minutes."""
    data = make_instance(
        [volunteer(availability=[(9, 12)])],
        [request("r0", start=9, end=9.25, north_km=10), flexible("r1", north_km=10)],
    )
    assert broken(data, fixed("v1", "r0", 10.0), visit("v1", "r1", 9.25, 0.0)) == set()
    assert broken(data, visit("v1", "r1", 9.25, 10.0)) == {"6b"}


def test_6b_an_engagement_after_replaces_the_way_home() -> None:
    """Before a fixed request at the same place from 11:45, the visit can end at 11:45; alone,
    it ends the route and the volunteer (available until 12:00) needs 30 minutes home."""
    data = make_instance(
        [volunteer(availability=[(9, 12)])],
        [request("r2", start=11.75, end=12, north_km=10), flexible("r1", north_km=10)],
    )
    assert broken(data, visit("v1", "r1", 10.75, 10.0), fixed("v1", "r2", 10.0)) == set()
    assert broken(data, visit("v1", "r1", 10.75, 10.0)) == {"6b"}


def test_6b_does_not_apply_to_fixed_requests() -> None:
    data = make_instance(
        [volunteer(availability=[(9, 12)])], [request("r1", start=9, end=12, north_km=10)]
    )
    assert broken(data, fixed("v1", "r1", 10.0)) == set()


# --------------------------------------------------------------------------------------------
# The travel leg
# --------------------------------------------------------------------------------------------


def test_leg_two_visits_in_a_row_the_second_counts_from_the_first() -> None:
    data = make_instance(
        [volunteer()],
        [flexible("r1", north_km=4), flexible("r2", earliest=9, latest=14, north_km=10)],
    )
    report = check(data, visit("v1", "r1", 9, 4.0), visit("v1", "r2", 11, 6.0))
    assert report.ok, report.violations
    assert report.travel_km == pytest.approx(10.0, abs=1e-6)
    wrong = check(data, visit("v1", "r1", 9, 4.0), visit("v1", "r2", 11, 10.0))
    (violation,) = wrong.violations
    assert violation.rule == "leg" and "v1 -> r2" in str(violation)
    assert wrong.travel_km == pytest.approx(10.0, abs=1e-6)  # the leg, not what the plan says


def test_leg_after_a_commitment_counts_from_the_commitment() -> None:
    data = make_instance(
        [volunteer(commitments=[commitment(9, 10, north_km=8)])],
        [flexible(earliest=9, latest=13, north_km=10)],
    )
    report = check(data, visit("v1", "r1", 11, 2.0))
    assert report.ok, report.violations
    assert report.travel_km == pytest.approx(2.0, abs=1e-6)
    assert broken(data, visit("v1", "r1", 11, 10.0)) == {"leg"}


def test_leg_after_a_fixed_request_counts_from_it_and_the_fixed_one_from_home() -> None:
    data = make_instance(
        [volunteer()],
        [request("r0", start=9, end=10, north_km=4), flexible(earliest=9, latest=13, north_km=10)],
    )
    report = check(data, fixed("v1", "r0", 4.0), visit("v1", "r1", 11, 6.0))
    assert report.ok, report.violations
    assert report.travel_km == pytest.approx(10.0, abs=1e-6)


def test_leg_a_lone_visit_counts_from_home() -> None:
    data = make_instance([volunteer()], [flexible(north_km=10)])
    report = check(data, visit("v1", "r1", 10, 10.0))
    assert report.ok, report.violations
    assert report.travel_km == pytest.approx(10.0, abs=1e-6)
    assert broken(data, visit("v1", "r1", 10, 0.0)) == {"leg"}


def test_leg_counts_within_one_availability_interval_only() -> None:
    """The morning visit does not start the afternoon's route: that one comes from home."""
    data = make_instance(
        [volunteer(availability=[(8, 12), (14, 18)])],
        [flexible("r1", north_km=4), flexible("r2", earliest=14, latest=17, north_km=10)],
    )
    report = check(data, visit("v1", "r1", 9, 4.0), visit("v1", "r2", 15, 10.0))
    assert report.ok, report.violations
    assert report.travel_km == pytest.approx(14.0, abs=1e-6)


def test_leg_is_compared_to_the_metre() -> None:
    """Plans round distances to the metre: half a metre off passes, two metres do not."""
    data = make_instance([volunteer()], [flexible(north_km=10)])
    assert broken(data, visit("v1", "r1", 10, 10.0004)) == set()
    assert broken(data, visit("v1", "r1", 10, 10.002)) == {"leg"}


# --------------------------------------------------------------------------------------------
# Previous pairs: a flexible visit is kept if some start fits
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("commitments", "keepable"),
    [
        ([], True),
        ([commitment(9, 12)], False),  # the whole window is taken
        ([commitment(9, 10.5)], True),  # 10:30 to 11:30 is free
        ([commitment(9, 10.5, north_km=20)], False),  # but an hour away: no time left
    ],
)
def test_previous_flexible_pair_is_a_change_only_when_some_start_fits(
    commitments: list[Json], keepable: bool
) -> None:
    data = make_instance(
        [volunteer(commitments=commitments)], [flexible()], previous=[("v1", "r1")]
    )
    instance = parse_instance(data)
    v, r = instance.volunteers[0], instance.requests[0]
    assert rules.keepable(instance, v, r) is keepable
    assert rules.change_count(instance, set()) == int(keepable)


HOURS = st.integers(min_value=0, max_value=48).map(lambda k: k / 4)


@settings(HYPOTHESIS, max_examples=150)
@given(
    availability=st.lists(
        st.tuples(HOURS, st.integers(1, 24)).map(lambda t: (t[0], t[0] + t[1] / 4)), max_size=3
    ),
    commitments=st.lists(
        st.tuples(HOURS, st.sampled_from([0.5, 1.0]), st.sampled_from([0.0, 5.0, 10.0])),
        max_size=2,
    ),
    earliest=HOURS,
    length=st.integers(2, 24),
    minutes=st.sampled_from([30.0, 45.0, 60.0]),
    north=st.sampled_from([0.0, 2.5, 10.0]),
)
def test_fitting_start_is_the_earliest_start_that_keeps_every_rule(
    availability: list[tuple[float, float]],
    commitments: list[tuple[float, float, float]],
    earliest: float,
    length: int,
    minutes: float,
    north: float,
) -> None:
    """`rules.fitting_start` (a few candidate starts) against every start on a 1-minute grid:
    no grid start before it keeps rules 4, 6 and 6b, and when it finds none, no grid start
    does."""
    latest = earliest + max(length / 4, minutes / 60)
    data = make_instance(
        [
            volunteer(
                availability=availability,
                commitments=[commitment(s, s + d, north_km=n) for s, d, n in commitments],
            )
        ],
        [flexible(earliest=earliest, latest=latest, minutes=minutes, north_km=north)],
    )
    instance = parse_instance(data)
    v, r = instance.volunteers[0], instance.requests[0]
    found = rules.fitting_start(v, r, instance.options.travel_speed_kmh)

    def keeps(start: Any) -> bool:
        at_ = rules.Engagement.of_request(r, start)
        return not rules.pair_violations(v, r, at_) and not rules.schedule_violations(
            v, [r], instance.options.travel_speed_kmh, {r.id: start}
        )

    window = int((r.window_end - r.window_start).total_seconds() // 60)
    grid = [r.window_start + timedelta(minutes=m) for m in range(window + 1)]
    grid = [s for s in grid if s + timedelta(minutes=minutes) <= r.window_end]
    if found is None:
        assert not any(keeps(s) for s in grid)
    else:
        assert keeps(found)
        assert not any(keeps(s) for s in grid if s < found - timedelta(microseconds=2))


# --------------------------------------------------------------------------------------------
# volmatch check on a v1.1 plan
# --------------------------------------------------------------------------------------------


def test_cli_check_reads_a_v11_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_instance(
        [volunteer("v1"), volunteer("v2")],
        [flexible(volunteers_needed=2, north_km=4), flexible("r2", north_km=10)],
    )
    instance = tmp_path / "instance.json"
    instance.write_text(json.dumps(data), encoding="utf-8")
    good = Plan(
        status="feasible",
        assignments=(
            visit("v1", "r1", 9, 4.0),
            visit("v2", "r1", 9, 4.0),
            visit("v1", "r2", 10.5, 6.0),
        ),
        objective=Objective(coverage=3, travel_km=14.0),
    )
    plan = tmp_path / "plan.json"
    plan.write_text(good.model_dump_json(), encoding="utf-8")
    assert main(["check", str(instance), str(plan)]) == 0
    out = capsys.readouterr().out
    assert "travel_km 14.000" in out and "ok" in out.split()
    bad = good.model_copy(
        update={"assignments": (*good.assignments[:1], visit("v2", "r1", 10, 4.0))}
    )
    plan.write_text(bad.model_dump_json(), encoding="utf-8")
    assert main(["check", str(instance), str(plan)]) == 1
    assert "VIOLATION rule 4b (chosen start of a flexible visit)" in capsys.readouterr().out

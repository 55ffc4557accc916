"""Validation of input (issue 2, item 3): every kind of bad input is rejected with an
`InstanceError` whose problems name the record (position and id) and the field, and no solve
starts on it: `solve` raises before compiling or running any engine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from matcher_testkit import (
    ENGINE_NAMES,
    Json,
    at,
    commitment,
    make_instance,
    place,
    request,
    volunteer,
)

from matcher import InstanceError, parse_instance, solve


@dataclass(frozen=True)
class Case:
    """Bad input and the problem it must produce."""

    name: str
    data: Json | str
    path: str  # Problem.path, exactly
    record: str | None  # a substring of Problem.record (None: no record)
    message: str  # a regular expression found in Problem.message (case-insensitive)

    def __str__(self) -> str:
        return self.name


def problems_of(data: Json | str) -> list[tuple[str, str | None, str]]:
    with pytest.raises(InstanceError) as caught:
        parse_instance(data)
    return [(p.path, p.record, p.message) for p in caught.value.problems]


def assert_problem(case: Case) -> None:
    found = problems_of(case.data)
    matching = [
        (path, record, message)
        for path, record, message in found
        if path == case.path
        and (
            record is None if case.record is None else record is not None and case.record in record
        )
        and re.search(case.message, message, re.IGNORECASE)
    ]
    assert matching, f"expected {case.path} ({case.record}): {case.message!r}; got {found}"


def assert_not_solved(case: Case, calls: list[str]) -> None:
    for engine in ENGINE_NAMES:
        with pytest.raises(InstanceError):
            solve(case.data, engine=engine, time_limit_s=1)
    assert calls == []


V, R = volunteer("v1"), request("r1")


def with_request(**fields: Any) -> Json:
    return make_instance([V], [request("r1", **fields)])


def with_volunteer(**fields: Any) -> Json:
    return make_instance([volunteer("v1", **fields)], [R])


def raw_time(record: Json, key: str, value: Any) -> Json:
    out = json.loads(json.dumps(record))
    out[key] = value
    return out


def json_with(token: str, where: str) -> str:
    """Instance JSON text with `token` (NaN, Infinity, -Infinity) written in at `where`."""
    marker = 123456.789
    v = volunteer("v1", max_hours=8, max_travel_km=10, preferences={"visit": 1.0})
    v["attributes"] = {"level": 1}
    r = request("r1")
    options: Json = {"travel_speed_kmh": 20}
    targets = {
        "volunteers[0].max_hours": (v, "max_hours"),
        "volunteers[0].max_travel_km": (v, "max_travel_km"),
        "volunteers[0].location.lat": (v["location"], "lat"),
        "volunteers[0].preferences.visit": (v["preferences"], "visit"),
        "requests[0].location.lon": (r["location"], "lon"),
        "options.travel_speed_kmh": (options, "travel_speed_kmh"),
    }
    holder, key = targets[where]
    holder[key] = marker
    text = json.dumps(make_instance([v], [r], **options))
    assert str(marker) in text
    return text.replace(str(marker), token)


# --------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------

CASES: list[Case] = [
    # duplicate ids
    Case(
        "duplicate volunteer id",
        make_instance([V, volunteer("v2"), volunteer("v1", north_km=1)], [R]),
        "volunteers[2].id",
        "v1",
        "duplicate id",
    ),
    Case(
        "duplicate request id",
        make_instance([V], [R, request("r1", start=13, end=14)]),
        "requests[1].id",
        "r1",
        "duplicate id",
    ),
    # unknown ids
    Case(
        "unknown volunteer in pinned",
        make_instance([V], [R], pinned=[("v1", "r1"), ("ghost", "r1")]),
        "pinned[1].volunteer_id",
        "ghost -> r1",
        "unknown volunteer",
    ),
    Case(
        "unknown request in pinned",
        make_instance([V], [R], pinned=[("v1", "nowhere")]),
        "pinned[0].request_id",
        "v1 -> nowhere",
        "unknown request",
    ),
    # end <= start
    Case(
        "request ends before start",
        with_request(start=11, end=9),
        "requests[0].end",
        "r1",
        "after start",
    ),
    Case(
        "request ends at start",
        with_request(start=11, end=11),
        "requests[0].end",
        "r1",
        "after start",
    ),
    Case(
        "availability ends at start",
        with_volunteer(availability=[(8, 12), (14, 14)]),
        "volunteers[0].availability[1].end",
        "v1",
        "after start",
    ),
    Case(
        "commitment ends before start",
        with_volunteer(commitments=[commitment(15, 14)]),
        "volunteers[0].commitments[0].end",
        "v1",
        "after start",
    ),
    # lat/lon out of range
    Case(
        "volunteer lat above 90",
        with_volunteer(location={"lat": 90.01, "lon": 0}),
        "volunteers[0].location.lat",
        "v1",
        "90",
    ),
    Case(
        "volunteer lat below -90",
        with_volunteer(location={"lat": -91, "lon": 0}),
        "volunteers[0].location.lat",
        "v1",
        "-90",
    ),
    Case(
        "request lon below -180",
        with_request(location={"lat": 0, "lon": -180.5}),
        "requests[0].location.lon",
        "r1",
        "-180",
    ),
    Case(
        "request lon above 180",
        with_request(location={"lat": 0, "lon": 181}),
        "requests[0].location.lon",
        "r1",
        "180",
    ),
    Case(
        "commitment lon above 180",
        with_volunteer(
            commitments=[{"start": at(9), "end": at(10), "location": {"lat": 0, "lon": 200}}]
        ),
        "volunteers[0].commitments[0].location.lon",
        "v1",
        "180",
    ),
    # negative or zero counts and caps
    Case(
        "volunteers_needed zero",
        with_request(volunteers_needed=0),
        "requests[0].volunteers_needed",
        "r1",
        "1",
    ),
    Case(
        "volunteers_needed negative",
        with_request(volunteers_needed=-2),
        "requests[0].volunteers_needed",
        "r1",
        "1",
    ),
    Case(
        "min_volunteers zero",
        with_request(min_volunteers=0),
        "requests[0].min_volunteers",
        "r1",
        "1",
    ),
    Case("priority zero", with_request(priority=0), "requests[0].priority", "r1", "1"),
    Case("priority negative", with_request(priority=-1), "requests[0].priority", "r1", "1"),
    Case(
        "max_assignments zero",
        with_volunteer(max_assignments=0),
        "volunteers[0].max_assignments",
        "v1",
        "1",
    ),
    Case("max_hours zero", with_volunteer(max_hours=0), "volunteers[0].max_hours", "v1", "0"),
    Case("max_hours negative", with_volunteer(max_hours=-3), "volunteers[0].max_hours", "v1", "0"),
    Case(
        "max_travel_km negative",
        with_volunteer(max_travel_km=-0.5),
        "volunteers[0].max_travel_km",
        "v1",
        "0",
    ),
    Case(
        "travel speed zero",
        make_instance([V], [R], travel_speed_kmh=0),
        "options.travel_speed_kmh",
        None,
        "0",
    ),
    # min_volunteers > volunteers_needed
    Case(
        "min above needed",
        with_request(volunteers_needed=2, min_volunteers=3),
        "requests[0].min_volunteers",
        "r1",
        "exceeds volunteers_needed",
    ),
    Case(
        "min above default needed",
        with_request(min_volunteers=2),
        "requests[0].min_volunteers",
        "r1",
        "exceeds volunteers_needed",
    ),
    # naive datetimes
    Case(
        "naive request start",
        make_instance([V], [raw_time(R, "start", "2026-03-02T09:00:00")]),
        "requests[0].start",
        "r1",
        "offset",
    ),
    Case(
        "naive request end",
        make_instance([V], [raw_time(R, "end", "2026-03-02T11:00:00")]),
        "requests[0].end",
        "r1",
        "offset",
    ),
    Case(
        "naive availability",
        make_instance(
            [volunteer("v1") | {"availability": [{"start": "2026-03-02T08:00:00", "end": at(12)}]}],
            [R],
        ),
        "volunteers[0].availability[0].start",
        "v1",
        "offset",
    ),
    Case(
        "naive commitment",
        with_volunteer(
            commitments=[{"start": at(9), "end": "2026-03-02T10:00:00", "location": place()}]
        ),
        "volunteers[0].commitments[0].end",
        "v1",
        "offset",
    ),
    # malformed JSON
    Case("truncated JSON", '{"volunteers": [', "$", None, "not valid JSON"),
    Case("empty text", "", "$", None, "not valid JSON"),
    Case("trailing comma", '{"volunteers": [],}', "$", None, "not valid JSON"),
    Case("not an object", "[]", "$", None, "should be an object"),
    Case("volunteers not a list", '{"volunteers": 3}', "volunteers", None, "valid"),
    # unknown fields
    Case(
        "unknown volunteer field",
        with_volunteer(colour="red"),
        "volunteers[0].colour",
        "v1",
        "unknown field",
    ),
    Case(
        "unknown request field",
        with_request(urgency="high"),
        "requests[0].urgency",
        "r1",
        "unknown field",
    ),
    Case(
        "unknown location field",
        with_request(location={"lat": 1, "lon": 2, "alt": 3}),
        "requests[0].location.alt",
        "r1",
        "unknown field",
    ),
    Case(
        "unknown pinned field",
        make_instance([V], [R]) | {"pinned": [{"volunteer_id": "v1", "request_id": "r1", "x": 1}]},
        "pinned[0].x",
        "v1 -> r1",
        "unknown field",
    ),
    Case(
        "unknown option", make_instance([V], [R], speed=3), "options.speed", None, "unknown field"
    ),
    Case(
        "unknown top-level field",
        make_instance([V], [R]) | {"shifts": []},
        "shifts",
        None,
        "unknown field",
    ),
    # required fields missing
    Case(
        "request without location",
        make_instance([V], [{k: v for k, v in R.items() if k != "location"}]),
        "requests[0].location",
        "r1",
        "required",
    ),
    Case(
        "volunteer without id",
        make_instance([{k: v for k, v in V.items() if k != "id"}], [R]),
        "volunteers[0].id",
        None,
        "required",
    ),
]

NON_FINITE: list[Case] = [
    Case(f"{token} at {where}", json_with(token, where), where, record, "finite")
    for token in ("NaN", "Infinity", "-Infinity")
    for where, record in [
        ("volunteers[0].max_hours", "v1"),
        ("volunteers[0].max_travel_km", "v1"),
        ("volunteers[0].location.lat", "v1"),
        ("volunteers[0].preferences.visit", "v1"),
        ("requests[0].location.lon", "r1"),
        ("options.travel_speed_kmh", None),
    ]
]


def pinned_case(
    name: str,
    vols: list[Json],
    reqs: list[Json],
    pins: list[tuple[str, str]],
    path: str,
    record: str,
    rule: int,
) -> Case:
    return Case(name, make_instance(vols, reqs, pinned=pins), path, record, rf"\brule {rule}\b")


PINNED: list[Case] = [
    pinned_case(
        "pinned lacks skill",
        [volunteer("v1", skills=["a"])],
        [R, request("r2", start=13, end=14, required_skills=["b"])],
        [("v1", "r1"), ("v1", "r2")],
        "pinned[1]",
        "v1 -> r2",
        1,
    ),
    pinned_case(
        "pinned speaks no language",
        [volunteer("v1", languages=["en"])],
        [request("r1", languages=["zh"])],
        [("v1", "r1")],
        "pinned[0]",
        "v1 -> r1",
        2,
    ),
    pinned_case(
        "pinned attribute differs",
        [volunteer("v1", attributes={"gender": "m"})],
        [request("r1", attributes={"gender": "f"})],
        [("v1", "r1")],
        "pinned[0]",
        "v1 -> r1",
        3,
    ),
    pinned_case(
        "pinned not available",
        [volunteer("v1", availability=[(12, 18)])],
        [R],
        [("v1", "r1")],
        "pinned[0]",
        "v1 -> r1",
        4,
    ),
    pinned_case(
        "pinned beyond reach",
        [volunteer("v1", max_travel_km=1)],
        [request("r1", north_km=5)],
        [("v1", "r1")],
        "pinned[0]",
        "v1 -> r1",
        5,
    ),
    pinned_case(
        "pinned overlap",
        [V],
        [R, request("r2", start=10, end=12)],
        [("v1", "r1"), ("v1", "r2")],
        "pinned",
        "v1",
        6,
    ),
    pinned_case(
        "pinned no time to travel",
        [V],
        [request("r1", start=9, end=10), request("r2", start=10, end=11, north_km=10)],
        [("v1", "r2"), ("v1", "r1")],
        "pinned",
        "v1",
        6,
    ),
    pinned_case(
        "pinned over a commitment",
        [volunteer("v1", commitments=[commitment(10, 12)])],
        [R],
        [("v1", "r1")],
        "pinned",
        "v1",
        6,
    ),
    pinned_case(
        "pinned over max_hours",
        [volunteer("v1", max_hours=3)],
        [R, request("r2", start=13, end=15)],
        [("v1", "r1"), ("v1", "r2")],
        "pinned",
        "v1",
        7,
    ),
    pinned_case(
        "pinned over max_assignments",
        [volunteer("v1", max_assignments=1)],
        [R, request("r2", start=13, end=15)],
        [("v1", "r1"), ("v1", "r2")],
        "pinned",
        "v1",
        7,
    ),
    pinned_case(
        "pinned twice",
        [V],
        [R],
        [("v1", "r1"), ("v1", "r1")],
        "pinned[1]",
        "v1 -> r1",
        8,
    ),
    pinned_case(
        "pinned over volunteers_needed",
        [V, volunteer("v2")],
        [R],
        [("v1", "r1"), ("v2", "r1")],
        "pinned",
        "r1",
        9,
    ),
]

ALL = CASES + NON_FINITE + PINNED


@pytest.mark.parametrize("case", ALL, ids=str)
def test_bad_input_names_record_and_field(case: Case) -> None:
    assert_problem(case)


@pytest.mark.parametrize("case", ALL, ids=str)
def test_no_solve_starts_on_bad_input(case: Case, no_solve: list[str]) -> None:
    assert_not_solved(case, no_solve)


def test_pinned_rule_problem_names_the_requests() -> None:
    data = make_instance(
        [V], [R, request("r2", start=10, end=12)], pinned=[("v1", "r1"), ("v1", "r2")]
    )
    with pytest.raises(InstanceError) as caught:
        parse_instance(data)
    (problem,) = caught.value.problems
    assert "rule 6" in problem.message
    assert "r1" in problem.message and "r2" in problem.message


def test_every_problem_is_listed_at_once() -> None:
    """Problems in several records are reported together, not just the first."""
    data = make_instance(
        [volunteer("v1", max_hours=-1), volunteer("v2", location={"lat": 95, "lon": 0})],
        [request("r1", start=11, end=10), request("r2", min_volunteers=3, volunteers_needed=2)],
    )
    paths = {path for path, _, _ in problems_of(data)}
    assert {
        "volunteers[0].max_hours",
        "volunteers[1].location.lat",
        "requests[0].end",
        "requests[1].min_volunteers",
    } <= paths


def test_error_text_names_path_and_record() -> None:
    with pytest.raises(InstanceError) as caught:
        parse_instance(make_instance([V, V], [R]))
    assert "volunteers[1].id (id v1)" in str(caught.value)


WRONG_TYPES = [
    pytest.param(
        with_volunteer(location={"lat": 34.2, "lon": True}),
        "volunteers[0].location.lon",
        id="lon written as true",
    ),
    pytest.param(
        with_request(location={"lat": "34.2", "lon": 108.9}),
        "requests[0].location.lat",
        id="lat written as a string",
    ),
    pytest.param(
        make_instance([V], [raw_time(R, "start", 1772413200)]),
        "requests[0].start",
        id="time written as a number",
    ),
    pytest.param(
        with_request(mandatory="yes"), "requests[0].mandatory", id="mandatory as a string"
    ),
    pytest.param(
        with_request(volunteers_needed=True),
        "requests[0].volunteers_needed",
        id="volunteers_needed written as true",
    ),
    pytest.param(
        with_volunteer(max_hours="8"), "volunteers[0].max_hours", id="max_hours as a string"
    ),
]


@pytest.mark.parametrize(("data", "path"), WRONG_TYPES)
def test_wrong_json_type_is_rejected(data: Json, path: str) -> None:
    """FORMAT.md gives each field a JSON type; a value of another type is bad input, not
    something to coerce (`true` is not longitude 1, `"yes"` is not a boolean)."""
    assert path in {p for p, _, _ in problems_of(data)}


def test_valid_instance_is_accepted() -> None:
    """The baseline of every case above: the same builders make a valid instance."""
    instance = parse_instance(
        make_instance(
            [volunteer("v1", commitments=[commitment(18, 19)], max_hours=8, max_travel_km=10)],
            [request("r1", volunteers_needed=2, min_volunteers=1)],
            pinned=[("v1", "r1")],
            previous=[("v1", "r1")],
            travel_speed_kmh=15,
        )
    )
    assert instance.volunteers[0].id == "v1"
    assert instance.options.travel_speed_kmh == 15


def test_utc_z_suffix_is_an_offset() -> None:
    instance = parse_instance(
        make_instance(
            [V],
            [raw_time(raw_time(R, "start", "2026-03-02T01:00:00Z"), "end", "2026-03-02T03:00:00Z")],
        )
    )
    assert instance.requests[0].window_start.utcoffset() is not None


def test_spies_see_a_valid_solve(no_solve: list[str]) -> None:
    """The `no_solve` spies are not vacuous: a valid instance does reach compilation."""
    with pytest.raises(AssertionError, match="ran on invalid input"):
        solve(make_instance([V], [R]), time_limit_s=1)
    assert no_solve == ["compile_instance"]

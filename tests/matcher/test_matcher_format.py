"""FORMAT.md as the contract: its example instance, its defaults, the generated JSON Schema
and the shape of the plan (issue 2, item 2).

The example instance of FORMAT.md is stored verbatim in data/format_example.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from matcher_testkit import Json, make_instance, pairs_of, request, run, volunteer

from matcher import Instance, Plan, check_plan, parse_instance
from matcher.cli import main


def test_format_example_parses(format_example: Json) -> None:
    """FORMAT.md: the project 'must accept every file written to this page'."""
    instance = parse_instance(json.dumps(format_example))
    v, r = instance.volunteers[0], instance.requests[0]
    assert v.id == "v-0001" and r.id == "r-0001"
    assert instance.previous[0].volunteer_id == "v-0002"


def test_format_example_fields_keep_their_meaning(format_example: Json) -> None:
    """Every field of the example read as FORMAT.md says (with `previous` dropped, so that this
    test does not depend on the one above)."""
    data = {**format_example, "previous": []}
    instance = parse_instance(data)
    v, r = instance.volunteers[0], instance.requests[0]
    assert v.skills == ("smartphone_teaching", "first_aid")
    assert v.languages == ("zh", "en")
    assert v.attributes == {"gender": "f"}
    assert (v.max_hours, v.max_travel_km, v.max_assignments) == (8, 10, 3)
    assert v.preferences == {"elderly_care": 1.0}
    assert v.availability[0].start.isoformat() == "2026-03-02T08:00:00+08:00"
    assert (r.volunteers_needed, r.min_volunteers, r.priority, r.mandatory) == (3, 2, 2, False)
    assert r.duration_hours == 2.0
    assert (instance.pinned[0].volunteer_id, instance.pinned[0].request_id) == ("v-0001", "r-0001")
    assert instance.options.travel_speed_kmh == 20
    assert instance.options.time_limit_s == 10
    assert instance.options.seed == 0


def test_format_example_solves_to_a_checked_plan(format_example: Json, engine: str) -> None:
    """v-0001 is pinned to r-0001, which needs at least two volunteers and has no other
    candidate: no plan keeps rules 9 and 11 together, so the plan says `infeasible` and names
    r-0001, and the plan still passes the checker."""
    data = {**format_example, "previous": []}
    instance = parse_instance(data)
    plan = run(instance, engine)
    assert plan.status == "infeasible"
    assert [f.request_id for f in plan.at_fault] == ["r-0001"]
    assert 11 in plan.at_fault[0].rules
    assert check_plan(instance, plan).ok


# --------------------------------------------------------------------------------------------
# Defaults
# --------------------------------------------------------------------------------------------

MINIMAL: Json = {
    "volunteers": [{"id": "v1", "location": {"lat": 34.2, "lon": 108.9}}],
    "requests": [
        {
            "id": "r1",
            "service_type": "visit",
            "location": {"lat": 34.2, "lon": 108.9},
            "start": "2026-03-02T09:00:00+08:00",
            "end": "2026-03-02T10:00:00+08:00",
        }
    ],
}


def test_defaults_of_format_md() -> None:
    instance = parse_instance(MINIMAL)
    v, r = instance.volunteers[0], instance.requests[0]
    assert (v.skills, v.languages, v.attributes, v.preferences) == ((), (), {}, {})
    assert (v.max_hours, v.max_travel_km, v.max_assignments) == (None, None, None)
    assert (r.required_skills, r.languages, r.attributes) == ((), (), {})
    assert (r.volunteers_needed, r.min_volunteers, r.priority, r.mandatory) == (1, 1, 1, False)
    assert (instance.pinned, instance.previous) == ((), ())
    assert instance.options.travel_speed_kmh == 20


def test_absent_caps_mean_unlimited(engine: str) -> None:
    """No max_hours, max_travel_km or max_assignments: one volunteer takes ten hour-long
    requests one after another, the last of them far away."""
    reqs = [request(f"r{k}", start=k, end=k + 1) for k in range(9)]
    reqs.append(request("far", start=20, end=21, north_km=150))
    data = make_instance([volunteer("v1")], reqs)
    assert len(pairs_of(run(data, engine))) == 10


def test_travel_speed_default_is_20_kmh(engine: str) -> None:
    """10 km takes 30 min at the default speed: a 29-minute gap is too short, 30 is enough."""
    for gap, both in [(29 / 60, False), (30 / 60, True)]:
        data = make_instance(
            [volunteer("v1")],
            [request("a", start=9, end=10), request("b", start=10 + gap, end=12, north_km=10)],
        )
        assert "travel_speed_kmh" not in data.get("options", {})
        assert (len(run(data, engine).assignments) == 2) is both


# --------------------------------------------------------------------------------------------
# JSON Schema generated from the models
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return Instance.model_json_schema()


def test_schema_documents_the_defaults(schema: dict[str, Any]) -> None:
    defs = schema["$defs"]
    request_props = defs["Request"]["properties"]
    volunteer_props = defs["Volunteer"]["properties"]
    assert request_props["volunteers_needed"]["default"] == 1
    assert request_props["min_volunteers"]["default"] == 1
    assert request_props["priority"]["default"] == 1
    assert request_props["mandatory"]["default"] is False
    assert request_props["required_skills"]["default"] == []
    assert volunteer_props["skills"]["default"] == []
    assert volunteer_props["max_hours"]["default"] is None
    assert defs["Options"]["properties"]["travel_speed_kmh"]["default"] == 20


def test_schema_requires_what_has_no_default(schema: dict[str, Any]) -> None:
    defs = schema["$defs"]
    assert set(defs["Volunteer"]["required"]) == {"id", "location"}
    assert set(defs["Request"]["required"]) == {"id", "service_type", "location"}
    # A fixed request (v1) or a flexible visit (v1.1), one of the two forms.
    assert defs["Request"]["oneOf"] == [
        {"required": ["start", "end"]},
        {"required": ["earliest_start", "latest_end", "duration"]},
    ]
    assert set(defs["Location"]["required"]) == {"lat", "lon"}


def test_schema_rejects_unknown_fields_and_bounds_numbers(schema: dict[str, Any]) -> None:
    defs = schema["$defs"]
    for name in ("Volunteer", "Request", "Location", "Interval", "Pair", "Options"):
        assert defs[name]["additionalProperties"] is False, name
    assert schema["additionalProperties"] is False
    lat = defs["Location"]["properties"]["lat"]
    assert (lat["minimum"], lat["maximum"]) == (-90, 90)


def test_schema_covers_every_field_of_the_example(
    schema: dict[str, Any], format_example: Json
) -> None:
    """Every field the FORMAT.md example uses is a property in the schema."""
    defs = schema["$defs"]
    assert set(format_example) <= set(schema["properties"])
    assert set(format_example["volunteers"][0]) <= set(defs["Volunteer"]["properties"])
    assert set(format_example["requests"][0]) <= set(defs["Request"]["properties"])
    assert set(format_example["options"]) <= set(defs["Options"]["properties"])


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------


def test_plan_has_the_fields_of_format_md(engine: str) -> None:
    data = make_instance([volunteer("v1")], [request("r1"), request("r2", required_skills=["law"])])
    plan = json.loads(run(data, engine).model_dump_json())
    assert plan["status"] in {"optimal", "feasible", "infeasible"}
    assert set(plan["assignments"][0]) >= {"volunteer_id", "request_id", "distance_km"}
    assert set(plan["unfilled"][0]) >= {"request_id", "missing", "reasons"}
    assert set(plan["objective"]) >= {"coverage", "travel_km"}
    assert "coverage" in plan["bound"]
    assert set(plan["stats"]) >= {"solve_seconds", "engine"}


FORMAT_PLAN: Json = {
    "status": "feasible",
    "assignments": [{"volunteer_id": "v1", "request_id": "r1", "distance_km": 0.0}],
    "unfilled": [{"request_id": "r2", "missing": 1, "reasons": ["nobody is a lawyer"]}],
    "objective": {"coverage": 1, "travel_km": 0.0},
    "bound": {"coverage": 1},
    "stats": {"solve_seconds": 1.8, "engine": "someone else's"},
}


def test_a_plan_written_to_format_md_is_read(tmp_path: Path) -> None:
    """A plan with exactly the fields of FORMAT.md (no project additions such as `codes`) is a
    plan `volmatch check` can check."""
    Plan.model_validate(FORMAT_PLAN)
    data = make_instance([volunteer("v1")], [request("r1"), request("r2", required_skills=["law"])])
    instance_file = tmp_path / "instance.json"
    instance_file.write_text(json.dumps(data), encoding="utf-8")
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(FORMAT_PLAN), encoding="utf-8")
    assert main(["check", str(instance_file), str(plan_file)]) == 0

"""The catalog: every scenario generates a valid instance at scale 0.1 that solves; generation
is seeded, deterministic and clock-free; the benchmarks' city week is the catalog's."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from benchmarks.cityweek import WEEK_START, city_week
from matcher import check_plan, parse_instance, solve
from matcher.cli import main
from scenarios.generate import build, dumps
from scenarios.spec import catalog_names, load_scenario

SIX = {
    "city-week",
    "exam-water",
    "spring-festival",
    "elderly-bathing",
    "legal-aid-roster",
    "residential-community",
}


def test_catalog_has_the_six_situations() -> None:
    assert set(catalog_names()) >= SIX


@pytest.mark.parametrize("name", catalog_names())
def test_scenario_generates_a_valid_instance_that_solves(name: str) -> None:
    loaded = load_scenario(name)
    data = build(loaded, scale=0.1).instance
    instance = parse_instance(data)  # raises on any invalid field or record
    assert instance.volunteers and instance.requests
    offset = loaded.spec.horizon.utc_offset
    times = [r.get("start", r.get("earliest_start")) for r in data["requests"]]
    times += [r.get("end", r.get("latest_end")) for r in data["requests"]]
    assert all(t.endswith(offset) for t in times)
    # Planners' data carries no personal details: ids, places, skills, times, caps and the
    # partner organization (`group`) only.
    fields = {k for v in data["volunteers"] for k in v}
    assert fields <= {
        "id", "location", "skills", "languages", "attributes", "availability",
        "max_hours", "max_travel_km", "max_assignments", "preferences", "group",
    }  # fmt: skip
    plan = solve(instance, engine="optimal", time_limit_s=2.0)
    assert plan.assignments
    assert check_plan(instance, plan).ok


@pytest.mark.parametrize("name", ["city-week", "spring-festival"])
def test_same_seed_gives_byte_identical_instances(name: str) -> None:
    loaded = load_scenario(name)
    first = dumps(build(loaded, scale=0.1, seed=11).instance)
    again = dumps(build(load_scenario(name), scale=0.1, seed=11).instance)
    other = dumps(build(loaded, scale=0.1, seed=12).instance)
    assert first == again
    assert first != other


def test_generation_never_reads_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_clock() -> float:
        raise AssertionError("the generator read the clock")

    loaded = load_scenario("spring-festival")
    expected = dumps(build(loaded, scale=0.1).instance)
    for name in ("time", "monotonic", "perf_counter", "time_ns"):
        monkeypatch.setattr(time, name, no_clock)
    assert dumps(build(loaded, scale=0.1).instance) == expected


def test_changing_one_pool_leaves_the_others_as_they_were() -> None:
    """Each pool draws from its own stream: a sweep compares like with like."""
    loaded = load_scenario("elderly-bathing")
    base = build(loaded, scale=0.1).instance["volunteers"]
    varied = build(
        loaded.with_overrides([("pools.certified_helpers.max_travel_km", 9)]), scale=0.1
    ).instance["volunteers"]
    pool = [v["attributes"]["pool"] for v in base]
    assert [v for v, p in zip(varied, pool, strict=True) if p == "residents"] == [
        v for v, p in zip(base, pool, strict=True) if p == "residents"
    ]
    assert {
        v["max_travel_km"] for v in varied if v["attributes"]["pool"] == "certified_helpers"
    } == {9}


def test_cli_generate_writes_the_same_bytes(tmp_path: Path) -> None:
    out = tmp_path / "instance.json"
    args = ["scenario", "generate", "legal-aid-roster", "--seed", "3", "--scale", "0.5"]
    assert main([*args, "-o", str(out)]) == 0
    expected = dumps(build(load_scenario("legal-aid-roster"), seed=3, scale=0.5).instance)
    assert out.read_text(encoding="utf-8") == expected + "\n"
    assert main([*args, "--set", "pools.lawyers.count=40", "-o", str(out)]) == 0  # x 0.5
    assert len(json.loads(out.read_text(encoding="utf-8"))["volunteers"]) == 20


def test_legal_roster_staffs_every_mandatory_shift() -> None:
    instance = parse_instance(build(load_scenario("legal-aid-roster")).instance)
    shifts = [r for r in instance.requests if r.service_type == "legal_aid_duty"]
    assert len(shifts) == 20 and all(r.mandatory for r in shifts)  # 10 weekdays x 2
    plan = solve(instance, engine="optimal", time_limit_s=5)
    staffed = {a.request_id for a in plan.assignments}
    assert plan.status != "infeasible"
    assert all(r.id in staffed for r in shifts)


def test_benchmark_city_week_is_the_catalog_scenario() -> None:
    week = city_week(1200, 150, seed=5)
    assert len(week["volunteers"]) == 1200 and len(week["requests"]) == 150
    expected = build(load_scenario("city-week"), seed=5, volunteers=1200, requests=150).instance
    assert dumps(week) == dumps(expected)
    assert WEEK_START.isoformat() == "2026-03-02T00:00:00+08:00"
    services = {r["service_type"] for r in week["requests"]}
    assert services == {
        "smartphone_tutoring", "bathing_assistance", "legal_aid_duty",
        "garbage_sorting_promotion", "exam_day_water", "elderly_visit",
    }  # fmt: skip
    bathing = [r for r in week["requests"] if r["service_type"] == "bathing_assistance"]
    assert all(r["min_volunteers"] == 2 and "gender" in r["attributes"] for r in bathing)

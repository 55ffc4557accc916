"""The benchmark families of city weeks (benchmarks/families.py): each generates at every size
deterministically, and each has what its name says."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
import pytest

from benchmarks.families import FAMILIES, SIZES
from benchmarks.sample_stats import SAMPLE, statistics
from matcher import parse_instance
from matcher.geo import great_circle_km
from scenarios.generate import build, counts, dumps
from scenarios.spec import catalog_names, load_scenario


@cache
def week(family: str, seed: int = 0) -> dict[str, Any]:
    return build(load_scenario(family), seed=seed, volunteers=2000, requests=300).instance


def hours(interval: dict[str, str]) -> float:
    start, end = datetime.fromisoformat(interval["start"]), datetime.fromisoformat(interval["end"])
    return (end - start).total_seconds() / 3600


def test_every_family_is_in_the_catalog() -> None:
    assert set(FAMILIES) <= set(catalog_names())


@pytest.mark.parametrize("family", FAMILIES)
def test_family_has_exact_totals_at_every_size(family: str) -> None:
    spec = load_scenario(family).spec
    for volunteers, requests in SIZES:
        sized = counts(spec, scale=1.0, volunteers=volunteers, requests=requests)
        assert (sized.volunteers, sized.requests) == (volunteers, requests)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_is_deterministic_and_valid(family: str) -> None:
    first = week(family, 1)
    assert len(first["volunteers"]) == 2000 and len(first["requests"]) == 300
    again = build(load_scenario(family), seed=1, volunteers=2000, requests=300).instance
    assert dumps(again) == dumps(first)
    assert dumps(week(family, 2)) != dumps(first)
    parse_instance(first)  # raises on any invalid record


def test_a_family_generates_at_the_largest_size() -> None:
    instance = build(load_scenario("mixed-city"), seed=2, volunteers=20000, requests=2000).instance
    assert len(instance["volunteers"]) == 20000 and len(instance["requests"]) == 2000


def slot_hours(requests: list[dict[str, Any]]) -> float:
    return float(sum(r["volunteers_needed"] * hours(r) for r in requests))


@pytest.mark.parametrize(("seed", "size"), [(0, (2000, 300)), (1, (2000, 300)), (0, (20000, 2000))])
def test_scarce_skills_ask_more_hours_than_the_certified_can_give(
    seed: int, size: tuple[int, int]
) -> None:
    instance = build(load_scenario("scarce-skills"), seed=seed, volunteers=size[0],
                     requests=size[1]).instance  # fmt: skip
    for skill in ("first_aid_certified", "sign_language", "counselling", "bathing_certified"):
        demand = slot_hours([r for r in instance["requests"] if skill in r["required_skills"]])
        supply = sum(v["max_hours"] for v in instance["volunteers"] if skill in v["skills"])
        assert demand > supply > 0, skill
    # ... while the certified also qualify for the ordinary requests, which start as early.
    certified = [v for v in instance["volunteers"] if v["attributes"]["pool"] == "certified"]
    assert 0 < len(certified) <= 0.05 * len(instance["volunteers"])
    assert sum(not r["required_skills"] for r in instance["requests"]) >= 0.2 * size[1]


def test_tight_hours_caps_bind_before_the_calendars() -> None:
    instance = week("tight-hours")
    caps = np.array([v["max_hours"] for v in instance["volunteers"]])
    offered = np.array([sum(map(hours, v["availability"])) for v in instance["volunteers"]])
    assert caps.max() <= 4 and set(caps.tolist()) == {2, 3, 4}
    assert np.mean(offered >= 2 * caps) > 0.95
    durations = {hours(r) for r in instance["requests"]}
    assert min(durations) <= 2 and max(durations) >= 3  # a 4-hour cap holds one long or two short


def test_min_headcounts_of_two_to_four() -> None:
    requests = week("min-headcounts")["requests"]
    minimums = [r["min_volunteers"] for r in requests]
    assert set(minimums) == {2, 3, 4}
    assert all(r["min_volunteers"] <= r["volunteers_needed"] for r in requests)
    assert sum(r["min_volunteers"] < r["volunteers_needed"] for r in requests) > len(requests) / 2


def test_same_gender_pairs() -> None:
    instance = week("same-gender-pairs")
    bathing = [r for r in instance["requests"] if r["service_type"] == "bathing_assistance"]
    assert len(bathing) > 100
    for r in bathing:
        assert r["volunteers_needed"] == r["min_volunteers"] == 2
        assert r["required_skills"] == ["bathing_certified"]
        assert r["attributes"]["gender"] in ("f", "m")
    gendered = [r for r in instance["requests"] if "gender" in r.get("attributes", {})]
    assert len(gendered) > 0.6 * len(instance["requests"])
    certified = [v for v in instance["volunteers"] if "bathing_certified" in v["skills"]]
    men = sum(v["attributes"]["gender"] == "m" for v in certified)
    wanted = sum(r["attributes"]["gender"] == "m" for r in bathing)
    assert men / len(certified) < 0.3 and wanted / len(bathing) > 0.3  # the men are scarce


def test_dialect_only_visits() -> None:
    instance = week("dialect-visits")
    dialect = [r for r in instance["requests"] if r.get("languages")]
    assert all(r["languages"] == ["shaanxi"] for r in dialect)
    assert len(dialect) > 0.25 * len(instance["requests"])
    speakers = [v for v in instance["volunteers"] if "shaanxi" in v["languages"]]
    assert 0 < len(speakers) < 0.05 * len(instance["volunteers"])
    assert all("zh" in v["languages"] for v in speakers)  # they qualify for the rest too
    assert slot_hours(dialect) > 0.2 * sum(v["max_hours"] for v in speakers)


def reach(family: str) -> tuple[float, float]:
    """Median share of volunteers within travel reach of a request, and the area's extent."""
    instance = week(family)
    v_lat = np.array([v["location"]["lat"] for v in instance["volunteers"]])
    v_lon = np.array([v["location"]["lon"] for v in instance["volunteers"]])
    radius = np.array([v["max_travel_km"] for v in instance["volunteers"]])
    shares = [
        float(np.mean(great_circle_km(v_lat, v_lon, np.full_like(v_lat, r["location"]["lat"]),
                                      np.full_like(v_lon, r["location"]["lon"])) <= radius))
        for r in instance["requests"][::10]
    ]  # fmt: skip
    extent = float(great_circle_km(v_lat.min(), v_lon.min(), v_lat.max(), v_lon.max()))
    return float(np.median(shares)), extent


def test_dense_and_sparse_cities() -> None:
    dense_share, dense_extent = reach("dense-city")
    sparse_share, sparse_extent = reach("sparse-city")
    assert dense_share > 0.9 and dense_extent < 15
    assert sparse_share < 0.06 and sparse_extent > 100


def test_mixed_city_has_the_sample_statistics_the_issue_names() -> None:
    stats = statistics(week("mixed-city"))
    requests, volunteers = stats["requests"], stats["volunteers"]
    assert requests["volunteers_needed range"] == [1, 10]
    assert requests["min_volunteers range"] == [1, 3]
    assert abs(requests["gendered share"] - 0.13) < 0.04
    assert abs(requests["dialect share"] - 0.07) < 0.04
    assert abs(requests["unskilled share"] - 0.37) < 0.06
    assert {float(k) for k in volunteers["max_travel_km"]} == {2, 3, 5, 8, 10, 15, 20}
    assert {float(k) for k in volunteers["max_hours"]} == {4, 6, 8, 10, 12}
    assert {int(k) for k in volunteers["availability blocks"]} <= set(range(8))
    assert volunteers["availability blocks"]["0"] > 0


@pytest.mark.skipif(not SAMPLE.exists(), reason="../shared/data/samples not present")
def test_mixed_city_resembles_the_sample() -> None:
    """Distributions, not the file: every week of the family is near the sample's summary."""
    sample = statistics(json.loads(SAMPLE.read_text(encoding="utf-8")))
    for seed in (0, 1, 2):
        mine = statistics(week("mixed-city", seed))
        for key, tolerance in (("gendered share", 0.05), ("dialect share", 0.04),
                               ("unskilled share", 0.06)):  # fmt: skip
            assert abs(mine["requests"][key] - sample["requests"][key]) <= tolerance, key
        for key in ("max_travel_km", "max_hours", "availability blocks", "gender"):
            for value, share in sample["volunteers"][key].items():
                assert abs(mine["volunteers"][key].get(value, 0.0) - share) < 0.04, (key, value)
        for key in ("chance a weekday is offered", "chance a weekend day is offered"):
            assert abs(mine["volunteers"][key] - sample["volunteers"][key]) < 0.04, key
        ratio = mine["requests"]["slot hours per volunteer cap hour"]
        assert 0.7 < ratio / sample["requests"]["slot hours per volunteer cap hour"] < 1.4
        assert set(mine["services"]) == set(sample["services"])
        for name, service in mine["services"].items():
            assert abs(service["share"] - sample["services"][name]["share"]) < 0.05, name
            assert service["priority"] == sample["services"][name]["priority"], name
            assert service["duration h"] == sample["services"][name]["duration h"], name

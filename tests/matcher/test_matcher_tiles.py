"""Tiles (`matcher.tiles`): an instance cut before parsing into sub-instances that share no
volunteer a request could use; instances that cannot be cut are left whole."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import matcher
from matcher.geo import great_circle_km
from matcher.model import Assignment, Plan
from matcher.tiles import check_tiles, split_tiles
from scenarios.province import province


@pytest.fixture(scope="module")
def small_province() -> dict[str, Any]:
    return province(1500, 150, count=4, seed=2)


def test_every_volunteer_reaches_requests_of_its_tile_only(small_province: dict[str, Any]) -> None:
    tiles = split_tiles(small_province)
    assert tiles is not None and len(tiles) == 4
    tile_of_request = {r["id"]: k for k, t in enumerate(tiles) for r in t["requests"]}
    assert sorted(tile_of_request) == sorted(r["id"] for r in small_province["requests"])
    tile_of_volunteer = {v["id"]: k for k, t in enumerate(tiles) for v in t["volunteers"]}
    assert sum(len(t["volunteers"]) for t in tiles) == len(tile_of_volunteer)  # none twice
    requests = small_province["requests"]
    r_lat = np.array([r["location"]["lat"] for r in requests])
    r_lon = np.array([r["location"]["lon"] for r in requests])
    for v in small_province["volunteers"]:
        reach = great_circle_km(v["location"]["lat"], v["location"]["lon"], r_lat, r_lon)
        reached = {
            tile_of_request[requests[i]["id"]] for i in np.flatnonzero(reach <= v["max_travel_km"])
        }
        if reached:
            assert reached == {tile_of_volunteer[v["id"]]}
    assert [len(t["requests"]) for t in tiles] == sorted(
        (len(t["requests"]) for t in tiles), reverse=True
    )


def test_pairs_follow_their_request(small_province: dict[str, Any]) -> None:
    data = copy.copy(small_province)
    request = data["requests"][-1]
    data["excluded"] = [{"volunteer_id": "nobody", "request_id": request["id"]}]
    tiles = split_tiles(data)
    assert tiles is not None
    holder = [t for t in tiles if request in t["requests"]]
    assert holder[0]["excluded"] == data["excluded"]
    assert all(t["excluded"] == [] for t in tiles if t is not holder[0])
    assert all("previous" not in t for t in tiles)  # only the instance's own keys


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d["volunteers"][0].pop("max_travel_km"),  # reach without limit
        lambda d: d["volunteers"].append(dict(d["volunteers"][0])),  # a repeated id
        lambda d: d["requests"][0].pop("location"),  # unreadable: parsing will say why
        lambda d: d.__setitem__("requests", d["requests"][:1]),  # one tile
        # Rules over the whole plan, which each tile would keep on its own.
        lambda d: d.setdefault("options", {}).__setitem__("max_changes", 3),
        lambda d: d.setdefault("options", {}).__setitem__(
            "quotas", [{"group": "students", "max_share": 0.5}]
        ),
    ],
)
def test_instances_that_cannot_be_cut_stay_whole(
    small_province: dict[str, Any], spoil: Any
) -> None:
    data = copy.deepcopy(small_province)
    spoil(data)
    assert split_tiles(data) is None


@pytest.fixture(scope="module")
def province_plan(small_province: dict[str, Any]) -> Plan:
    return matcher.solve(small_province, engine="greedy", time_limit_s=5)


def test_a_plan_checked_tile_by_tile_is_checked_as_whole(
    small_province: dict[str, Any], province_plan: Plan
) -> None:
    whole = matcher.check_plan(matcher.parse_instance(small_province), province_plan)
    by_tiles = check_tiles(small_province, province_plan)
    assert whole.ok and by_tiles is not None and by_tiles.ok
    assert (by_tiles.coverage, by_tiles.assignments) == (whole.coverage, whole.assignments)
    assert by_tiles.travel_km == pytest.approx(whole.travel_km, abs=0.01)  # each tile's rounded
    assert by_tiles.assignments > 0


def _tile_of(data: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, int]]:
    tiles = split_tiles(data)
    assert tiles is not None
    requests = {str(r["id"]): k for k, t in enumerate(tiles) for r in t["requests"]}
    volunteers = {str(v["id"]): k for k, t in enumerate(tiles) for v in t["volunteers"]}
    return tiles, requests, volunteers


def test_a_broken_rule_is_found_in_whichever_tile_it_lies(
    small_province: dict[str, Any], province_plan: Plan
) -> None:
    tiles, request_tile, _ = _tile_of(small_province)
    for k in range(len(tiles)):
        # One assignment of tile k repeated: its request's headcount and its volunteer's
        # schedule both break (a volunteer cannot be in one place twice at once).
        mine = [a for a in province_plan.assignments if request_tile[a.request_id] == k]
        assert mine
        spoilt = province_plan.model_copy(
            update={"assignments": (*province_plan.assignments, mine[0])}
        )
        whole = matcher.check_plan(matcher.parse_instance(small_province), spoilt)
        report = check_tiles(small_province, spoilt)
        assert report is not None and not report.ok
        assert sorted(map(str, report.violations)) == sorted(map(str, whole.violations))
        assert any(mine[0].volunteer_id in str(v) for v in report.violations)


def test_an_assignment_across_tiles_is_found(
    small_province: dict[str, Any], province_plan: Plan
) -> None:
    """Volunteers cannot span tiles by construction (a volunteer joins the one tile holding
    every request they reach): a plan pairing a volunteer with another tile's request breaks
    their travel radius, and the tile-wise check names it."""
    _, request_tile, volunteer_tile = _tile_of(small_province)
    volunteer = next(v for v, k in volunteer_tile.items() if k == 0)
    request = next(r for r, k in request_tile.items() if k == 1)
    stranger = Assignment(volunteer_id=volunteer, request_id=request, distance_km=0.0)
    spoilt = province_plan.model_copy(
        update={"assignments": (*province_plan.assignments, stranger)}
    )
    report = check_tiles(small_province, spoilt)
    assert report is not None
    assert any(f"{volunteer} -> {request}" in str(v) for v in report.violations)
    assert not matcher.check_plan(matcher.parse_instance(small_province), spoilt).ok


def test_an_instance_that_does_not_cut_is_left_to_the_whole_check(
    small_province: dict[str, Any], province_plan: Plan
) -> None:
    data = copy.copy(small_province)
    data["requests"] = data["requests"][:1]
    assert check_tiles(data, province_plan) is None

"""Tiles (`matcher.tiles`): an instance cut before parsing into sub-instances that share no
volunteer a request could use; instances that cannot be cut are left whole."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from matcher.geo import great_circle_km
from matcher.tiles import split_tiles
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
    ],
)
def test_instances_that_cannot_be_cut_stay_whole(
    small_province: dict[str, Any], spoil: Any
) -> None:
    data = copy.deepcopy(small_province)
    spoil(data)
    assert split_tiles(data) is None

"""The province generator (`scenarios.province`): deterministic, exact totals, twenty cities
far enough apart to be independent tiles."""

from __future__ import annotations

import itertools

from matcher.geo import great_circle_km
from matcher.tiles import split_tiles
from scenarios.generate import dumps
from scenarios.province import CITY_SPACING_KM, cities, province


def test_province_is_deterministic() -> None:
    a = dumps(province(900, 90, count=3, seed=5))
    assert a == dumps(province(900, 90, count=3, seed=5))
    assert a != dumps(province(900, 90, count=3, seed=6))


def test_province_has_the_shape_asked_for() -> None:
    towns = cities(1_000_000, 100_000)
    assert len(towns) == 20
    assert sum(c.volunteers for c in towns) == 1_000_000
    assert sum(c.requests for c in towns) == 100_000
    sizes = [c.volunteers for c in towns]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] < 3 * sizes[-1]
    for a, b in itertools.combinations(towns, 2):
        assert great_circle_km(a.lat, a.lon, b.lat, b.lon) > CITY_SPACING_KM - 45
    data = province(2000, 200, count=5, seed=1)
    assert len(data["volunteers"]) == 2000 and len(data["requests"]) == 200
    codes = {v["id"].split("-")[0] for v in data["volunteers"]}
    assert codes == {f"c{k:02d}" for k in range(1, 6)}
    tiles = split_tiles(data)
    assert tiles is not None and len(tiles) == 5  # one tile per city

"""Tiles: an instance cut into independent sub-instances before it is parsed, so that each is
parsed, compiled and solved on its own (in another process), and the memory of a province
grows with its largest tile rather than with the whole, nor with volunteers x requests.

Two requests are in one tile when some volunteer could reach both. A volunteer reaches at
most `rho_max` km (the largest travel radius), so two requests one volunteer reaches lie within
`2 rho_max` of each other: with the requests put in cubic cells of side `2 rho_max` (chords
on the unit sphere, which never exceed arcs), such requests lie in the same or neighbouring
cells, and tiles are the connected groups of neighbouring occupied cells. A volunteer joins the
tile of their nearest request if it is within their reach (else no request is: no plan can
use them, and they are in no tile). Every request a volunteer reaches then lies in that tile,
so tiles share no volunteer, no request and no rule: each tile's plan is checked and solved
on its own, and the plans side by side are the whole's (coverage, travel and bounds add up).

Pinned, previous and excluded pairs go with their request. An instance that cannot be cut
(one tile, a volunteer without a travel radius, a record this module cannot read, repeated
ids, a pinned pair across tiles, rules over the whole plan: quotas or a change budget, which
each tile would otherwise keep on its own) gives None: it is parsed and solved whole, and
parsing reports whatever is wrong with it.

`check_tiles` checks a plan of the whole tile by tile (`check_plan` on each tile's records,
parsed one tile at a time), so that checking a province holds one city's domain objects at a
time rather than the province's.

Plain data in, plain data and the checker's report out: pure, like the rest of matcher.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .check import CheckReport, check_plan
from .geo import chord_for_km, unit_vectors
from .model import Plan
from .problem import IntArray
from .validate import parse_instance

__all__ = ["check_tiles", "split_tiles", "tile_labels"]

_PAIR_LISTS = ("pinned", "previous", "excluded")


def split_tiles(data: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The instance (JSON-ready data, as `parse_instance` takes it) as independent
    sub-instances, largest first, or None when it is one tile or cannot be cut."""
    try:
        volunteers: Sequence[Mapping[str, Any]] = data["volunteers"]
        requests: Sequence[Mapping[str, Any]] = data["requests"]
        v_lat = np.array([float(v["location"]["lat"]) for v in volunteers], dtype=np.float64)
        v_lon = np.array([float(v["location"]["lon"]) for v in volunteers], dtype=np.float64)
        radius = np.array([float(v["max_travel_km"]) for v in volunteers], dtype=np.float64)
        r_lat = np.array([float(r["location"]["lat"]) for r in requests], dtype=np.float64)
        r_lon = np.array([float(r["location"]["lon"]) for r in requests], dtype=np.float64)
        v_ids = [str(v["id"]) for v in volunteers]
        r_ids = [str(r["id"]) for r in requests]
        pairs = {name: list(data.get(name) or []) for name in _PAIR_LISTS}
        for items in pairs.values():
            for p in items:
                str(p["volunteer_id"]), str(p["request_id"])
    except (KeyError, TypeError, ValueError):
        return None
    if len(set(v_ids)) != len(v_ids) or len(set(r_ids)) != len(r_ids):
        return None
    options = data.get("options")
    if isinstance(options, Mapping) and (
        options.get("quotas") or options.get("max_changes") is not None
    ):
        return None  # rules over the whole plan: each tile would keep them on its own
    if not (np.isfinite(radius).all() and np.isfinite(v_lat).all() and np.isfinite(r_lat).all()):
        return None
    request_tile, volunteer_tile = tile_labels(v_lat, v_lon, radius, r_lat, r_lon)
    tiles = int(request_tile.max()) + 1 if len(request_tile) else 0
    if tiles < 2:
        return None
    v_index = {v: i for i, v in enumerate(v_ids)}
    r_index = {r: i for i, r in enumerate(r_ids)}
    for p in pairs["pinned"]:
        v, r = v_index.get(p["volunteer_id"]), r_index.get(p["request_id"])
        if v is None or r is None or volunteer_tile[v] != request_tile[r]:
            return None
    rest = {
        k: value for k, value in data.items() if k not in ("volunteers", "requests", *_PAIR_LISTS)
    }
    out: list[dict[str, Any]] = [
        {**rest, "volunteers": [], "requests": [], **{name: [] for name in _PAIR_LISTS}}
        for _ in range(tiles)
    ]
    for i, t in enumerate(volunteer_tile.tolist()):
        if t >= 0:
            out[t]["volunteers"].append(volunteers[i])
    for i, t in enumerate(request_tile.tolist()):
        out[t]["requests"].append(requests[i])
    for name, items in pairs.items():
        for p in items:
            r = r_index.get(p["request_id"])
            # A pair naming an unknown request goes to the first tile, whose parse warns of it.
            out[0 if r is None else int(request_tile[r])][name].append(p)
    for tile in out:  # keep the instance's own keys only
        for name in _PAIR_LISTS:
            if not tile[name] and name not in data:
                del tile[name]
    out.sort(key=lambda t: -len(t["requests"]))
    return out


def check_tiles(data: Mapping[str, Any], plan: Plan) -> CheckReport | None:
    """`check_plan` of `plan` against the instance `data` (JSON-ready), tile by tile: each
    tile's records parsed and checked against the plan's assignments to its requests, one tile
    at a time. None when the instance does not cut into tiles (check it whole).

    Tiles share no volunteer, request or rule, so every rule is checked in one tile: an
    assignment whose volunteer is in another tile (or in none: they reach no request), or
    whose request is unknown, names an id the tile it is checked in does not know."""
    tiles = split_tiles(data)
    if tiles is None:
        return None
    tile_of = {str(r["id"]): k for k, tile in enumerate(tiles) for r in tile["requests"]}
    assignments: list[list[Any]] = [[] for _ in tiles]
    for a in plan.assignments:
        assignments[tile_of.get(a.request_id, 0)].append(a)
    at_fault: list[list[Any]] = [[] for _ in tiles]
    for f in plan.at_fault:
        at_fault[tile_of.get(f.request_id, 0)].append(f)
    reports = []
    for k, tile in enumerate(tiles):
        part = plan.model_copy(
            update={"assignments": tuple(assignments[k]), "at_fault": tuple(at_fault[k])}
        )
        reports.append(check_plan(parse_instance(tile), part))
    return CheckReport(
        tuple(v for r in reports for v in r.violations),
        sum(r.coverage for r in reports),
        round(sum(r.travel_km for r in reports), 3),
        sum(r.assignments for r in reports),
    )


def tile_labels(
    v_lat: Any, v_lon: Any, radius_km: Any, r_lat: Any, r_lon: Any
) -> tuple[IntArray, IntArray]:
    """Each request's tile (0, 1, ...) and each volunteer's (-1: reaches no request), from
    locations in degrees and travel radii in km (see the module's docstring)."""
    radius = np.asarray(radius_km, dtype=np.float64)
    points = unit_vectors(r_lat, r_lon)
    n = len(points)
    if n == 0:
        return np.zeros(0, np.int64), np.full(len(radius), -1, np.int64)
    side = 2.0 * float(chord_for_km(radius.max() if len(radius) else 0.0))
    cell = np.floor(points / max(side, 1e-12)).astype(np.int64)
    cells, cell_of = np.unique(cell, axis=0, return_inverse=True)
    cell_of = cell_of.ravel()
    # Neighbouring occupied cells (26 directions and the cell itself) are joined.
    lookup = {tuple(c): i for i, c in enumerate(cells.tolist())}
    rows: list[int] = []
    cols: list[int] = []
    steps = [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)]
    for i, (x, y, z) in enumerate(cells.tolist()):
        for a, b, c in steps:
            j = lookup.get((x + a, y + b, z + c))
            if j is not None:
                rows.append(i)
                cols.append(j)
    graph = sp.csr_matrix(
        (np.ones(len(rows)), (np.asarray(rows), np.asarray(cols))), shape=(len(cells), len(cells))
    )
    _, component = connected_components(graph, directed=False)
    # Tiles numbered by their first request.
    label = component[cell_of]
    _, first = np.unique(label, return_index=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    request_tile = rank[label].astype(np.int64)
    distance, nearest = cKDTree(points).query(unit_vectors(v_lat, v_lon), k=1)
    reach = chord_for_km(radius)
    volunteer_tile = np.where(distance <= reach, request_tile[nearest], -1).astype(np.int64)
    return request_tile, volunteer_tile

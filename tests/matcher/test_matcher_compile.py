"""The vectorised compilation against the reference rules (issue 2, items 4 and Tests).

`compile_instance` must produce exactly the candidate pairs that pass rules 1-5 of
`matcher.rules` and are not blocked by a commitment, with the right distances, loads and caps,
and conflict sets that cover every rule-6 conflict between two candidates of one volunteer and
never put two compatible pairs together. Distances must be geopy's great circle.
"""

from __future__ import annotations

import itertools
import math
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from geopy.distance import great_circle
from hypothesis import given, settings
from hypothesis import strategies as st
from matcher_strategies import instances
from matcher_testkit import HYPOTHESIS, Json, commitment, make_instance, request, volunteer

from matcher import compile_instance, parse_instance, rules
from matcher.compile import Compiled
from matcher.geo import EARTH_RADIUS_KM, great_circle_km
from matcher.problem import UNLIMITED

SETTINGS = settings(HYPOTHESIS, max_examples=100)


def compiled_of(data: Json) -> Compiled:
    return compile_instance(parse_instance(data))


def reference_pairs(data: Json) -> set[tuple[int, int]]:
    instance = parse_instance(data)
    speed = instance.options.travel_speed_kmh
    # A candidate is a pair that breaks no rule when assigned alone: rules 1-5, and rules 6-7
    # against the volunteer's commitments and caps.
    return {
        (i, j)
        for i, v in enumerate(instance.volunteers)
        for j, r in enumerate(instance.requests)
        if not rules.pair_violations(v, r) and not rules.schedule_violations(v, [r], speed)
    }


def micros(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def compiled_pairs(compiled: Compiled) -> list[tuple[int, int]]:
    d = compiled.data
    return list(zip(d.pair_volunteer.tolist(), d.pair_request.tolist(), strict=True))


def conflict_groups(compiled: Compiled) -> list[list[int]]:
    """The groups of pairs of which at most one may be chosen: for every conflict set and every
    volunteer, that volunteer's pairs on the set's requests (groups of two or more)."""
    d = compiled.data
    members = d.conflict_requests
    groups: list[list[int]] = []
    for s in range(d.num_conflict_sets):
        requests = set(members[d.conflict_indptr[s] : d.conflict_indptr[s + 1]].tolist())
        by_volunteer: dict[int, list[int]] = {}
        for p, (v, r) in enumerate(compiled_pairs(compiled)):
            if r in requests:
                by_volunteer.setdefault(v, []).append(p)
        groups.extend(g for g in by_volunteer.values() if len(g) >= 2)
    return groups


# --------------------------------------------------------------------------------------------
# Candidate pairs
# --------------------------------------------------------------------------------------------


@SETTINGS
@given(instances(max_volunteers=6, max_requests=6))
def test_candidate_pairs_equal_reference(data: Json) -> None:
    compiled = compiled_of(data)
    pairs = compiled_pairs(compiled)
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == reference_pairs(data)


@SETTINGS
@given(instances(max_volunteers=5, max_requests=5))
def test_pair_arrays_match_the_instance(data: Json) -> None:
    """Distances, costs, loads, caps, headcounts and priorities of the compiled arrays."""
    compiled = compiled_of(data)
    instance, d = compiled.instance, compiled.data
    for p, (i, j) in enumerate(compiled_pairs(compiled)):
        v, r = instance.volunteers[i], instance.requests[j]
        assert compiled.pair_distance_km[p] == pytest.approx(rules.distance_km(v, r), abs=1e-9)
        # Whole metres rounded down; loads exact, in units of the durations' common divisor.
        assert d.pair_cost[p] == math.floor(compiled.pair_distance_km[p] * 1000)
        assert d.pair_load[p] * compiled.tables.load_unit == micros(r.window_end - r.window_start)
    unit = compiled.tables.load_unit
    for i, v in enumerate(instance.volunteers):
        committed = sum(micros(c.end - c.start) for c in v.commitments)
        if v.max_hours is None:
            assert d.volunteer_capacity[i] == UNLIMITED
        else:
            allowed = math.floor(v.max_hours * 3_600_000_000) + 1 - committed  # 1 us slack
            assert d.volunteer_capacity[i] == max(allowed // unit, 0)
        if v.max_assignments is None:
            assert d.volunteer_max_pairs[i] == UNLIMITED
        else:
            assert d.volunteer_max_pairs[i] == max(v.max_assignments - len(v.commitments), 0)
    for j, r in enumerate(instance.requests):
        assert (d.request_min[j], d.request_max[j]) == (r.min_volunteers, r.volunteers_needed)
        assert d.request_priority[j] == r.priority
        assert bool(d.request_mandatory[j]) == r.mandatory
    # request_order ranks requests by start time (greedy's first-come-first-served order).
    starts = [instance.requests[j].start for j in np.argsort(d.request_order)]
    assert starts == sorted(starts)


# --------------------------------------------------------------------------------------------
# Conflict sets
# --------------------------------------------------------------------------------------------


@SETTINGS
@given(instances(max_volunteers=3, max_requests=7, commitments=False))
def test_conflict_sets_cover_every_travel_conflict(data: Json) -> None:
    compiled = compiled_of(data)
    instance = compiled.instance
    speed = instance.options.travel_speed_kmh
    sets = [set(s) for s in conflict_groups(compiled)]
    pairs = compiled_pairs(compiled)
    by_volunteer: dict[int, list[int]] = {}
    for p, (i, _) in enumerate(pairs):
        by_volunteer.setdefault(i, []).append(p)
    for members in by_volunteer.values():
        for p, q in itertools.combinations(members, 2):
            a, b = instance.requests[pairs[p][1]], instance.requests[pairs[q][1]]
            if rules.travel_conflict(a, b, speed):
                assert any({p, q} <= s for s in sets), (a.id, b.id)


@SETTINGS
@given(instances(max_volunteers=3, max_requests=7, commitments=False))
def test_conflict_sets_hold_only_conflicting_pairs(data: Json) -> None:
    compiled = compiled_of(data)
    instance = compiled.instance
    speed = instance.options.travel_speed_kmh
    pairs = compiled_pairs(compiled)
    for members in conflict_groups(compiled):
        assert len(members) >= 2
        assert len({pairs[p][0] for p in members}) == 1  # one volunteer
        for p, q in itertools.combinations(members, 2):
            a, b = instance.requests[pairs[p][1]], instance.requests[pairs[q][1]]
            assert rules.travel_conflict(a, b, speed), (a.id, b.id)


def test_overlap_clique_is_one_set() -> None:
    """Three requests that all overlap at 10:30 form one clique set (the tight formulation),
    not three separate pairs; a fourth request touching them is in no set with them."""
    reqs = [
        request("r1", start=9, end=11),
        request("r2", start=10, end=12),
        request("r3", start=10.5, end=11.5),
        request("r4", start=12, end=13),
    ]
    compiled = compiled_of(make_instance([volunteer("v1")], reqs))
    pairs = compiled_pairs(compiled)
    sets = [{pairs[p][1] for p in s} for s in conflict_groups(compiled)]
    assert {0, 1, 2} in sets
    assert not any(3 in s and len(s & {0, 2}) for s in sets)


def test_candidate_blocked_by_commitment_is_dropped() -> None:
    data = make_instance(
        [volunteer("v1", commitments=[commitment(9, 10)]), volunteer("v2")],
        [request("r1", start=9.5, end=10.5), request("r2", start=13, end=14)],
    )
    assert set(compiled_pairs(compiled_of(data))) == {(0, 1), (1, 0), (1, 1)}


def crowd(volunteers: int, requests: int = 1) -> Json:
    """`volunteers` qualifying volunteers in a row, and `requests` requests at one time, 2 km
    apart (no two close enough to compete for the same nearest volunteers)."""
    vols = [volunteer(f"v{i:03d}", north_km=0.01 * i) for i in range(volunteers)]
    return make_instance(vols, [request(f"r{j:03d}", east_km=2.0 * j) for j in range(requests)])


def test_every_qualifying_pair_is_a_candidate_within_the_pair_budget() -> None:
    """60 qualifying volunteers for a request needing one: all of them are candidates (the cap
    of 12 per slot + 40 would keep the nearest 52), and none is recorded as left out."""
    d = compiled_of(crowd(60)).data
    assert d.num_pairs == 60
    assert d.request_dropped.tolist() == [0]


def test_past_the_pair_budget_each_request_keeps_its_nearest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over the budget (here 100 pairs, for 150 requests x 60 volunteers: a sample of the
    requests tells), each request keeps its nearest 52 and records the 8 left out and how near
    the nearest of them is."""
    import importlib

    monkeypatch.setattr(importlib.import_module("matcher.compile"), "_PAIR_BUDGET", 100)
    compiled = compiled_of(crowd(60, requests=150))
    d = compiled.data
    assert np.bincount(d.pair_request).tolist() == [52] * 150
    assert d.request_dropped.tolist() == [8] * 150
    farthest_kept = np.zeros(150)
    np.maximum.at(farthest_kept, d.pair_request, compiled.pair_distance_km)
    assert np.all(d.request_dropped_cost >= np.floor(farthest_kept * 1000) - 1)


def test_candidates_are_trimmed_as_they_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the pair budget, the pairs examined (each request's 260 nearest of 300, 39,000 in
    all) are trimmed to each request's nearest 52 whenever 500 are pending (queries find 500 at
    most at once): no step ever holds more than the pairs kept and two chunks, and the
    candidates, counts and bounds of those left out are those of trimming all at once."""
    import importlib

    module = importlib.import_module("matcher.compile")
    monkeypatch.setattr(module, "_PAIR_BUDGET", 100)
    instance = crowd(300, requests=150)
    monkeypatch.setattr(module, "_TRIM_PAIRS", 10**9)
    at_once = compiled_of(instance).data
    monkeypatch.setattr(module, "_TRIM_PAIRS", 500)
    monkeypatch.setattr(module, "_PAIR_CHUNK", 500)  # the spatial queries' chunks
    batches: list[int] = []
    nearest = module.Tables._nearest

    def spy(self: Any, v: Any, r: Any, *args: Any) -> Any:
        batches.append(len(v))
        return nearest(self, v, r, *args)

    monkeypatch.setattr(module.Tables, "_nearest", spy)
    streamed = compiled_of(instance).data
    assert at_once.num_pairs == streamed.num_pairs == 150 * 52
    for name in ("pair_volunteer", "pair_request", "pair_cost", "request_dropped",
                 "request_dropped_cost"):  # fmt: skip
        assert np.array_equal(getattr(at_once, name), getattr(streamed, name)), name
    assert at_once.request_dropped.sum() > 0
    assert len(batches) > 10
    assert max(batches) <= streamed.num_pairs + 2 * 500


def test_under_the_pair_budget_a_large_instance_keeps_every_pair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """150 requests x 60 volunteers (9,000 pairs) under a budget of 10,000: every pair."""
    import importlib

    monkeypatch.setattr(importlib.import_module("matcher.compile"), "_PAIR_BUDGET", 10_000)
    d = compiled_of(crowd(60, requests=150)).data
    assert d.num_pairs == 9_000 and not d.request_dropped.any()


def test_empty_instance_compiles() -> None:
    compiled = compiled_of(make_instance([], []))
    assert compiled.data.num_pairs == 0
    compiled = compiled_of(make_instance([volunteer("v1")], []))
    assert compiled.data.num_pairs == 0
    compiled = compiled_of(make_instance([], [request("r1")]))
    assert compiled.data.num_pairs == 0


# --------------------------------------------------------------------------------------------
# Great-circle distance
# --------------------------------------------------------------------------------------------

LAT = st.floats(min_value=-90, max_value=90, allow_nan=False)
LON = st.floats(min_value=-180, max_value=180, allow_nan=False)


@settings(HYPOTHESIS, max_examples=300)
@given(LAT, LON, LAT, LON)
def test_great_circle_equals_geopy(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    ours = float(great_circle_km(lat1, lon1, lat2, lon2))
    theirs = great_circle((lat1, lon1), (lat2, lon2)).km
    assert abs(ours - theirs) <= 1e-9


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((0.0, 0.0), (0.0, 180.0)),  # antipodal on the equator
        ((90.0, 0.0), (-90.0, 0.0)),  # pole to pole
        ((34.25, 108.95), (34.25, 108.95)),  # one point
        ((0.0, 179.9999), (0.0, -179.9999)),  # across the antimeridian
        ((89.9999, 10.0), (89.9999, -170.0)),  # across the pole
    ],
)
def test_great_circle_extremes(a: tuple[float, float], b: tuple[float, float]) -> None:
    ours = float(great_circle_km(a[0], a[1], b[0], b[1]))
    assert abs(ours - great_circle(a, b).km) <= 1e-9


def test_great_circle_is_vectorised_and_uses_the_format_radius() -> None:
    lat = np.array([0.0, 10.0, -45.0])
    lon = np.array([0.0, 20.0, 100.0])
    out = great_circle_km(lat, lon, np.zeros(3), np.zeros(3))
    assert out.shape == (3,)
    assert out[0] == 0.0
    assert EARTH_RADIUS_KM == 6371.009
    # A quarter of a meridian.
    assert float(great_circle_km(0.0, 0.0, 90.0, 0.0)) == pytest.approx(
        EARTH_RADIUS_KM * math.pi / 2
    )

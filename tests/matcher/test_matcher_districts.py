"""District decomposition (`matcher.engines.districts`): districts partition the requests and
hold every pair of theirs, the merged plan keeps every hard rule, the summed district bounds
bound the whole, and the repaired plan loses little against the whole part solved at once."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.cityweek import city_week
from matcher import Compiled, Control, SolveParams, compile_instance, parse_instance
from matcher.engines.districts import (
    border,
    freed,
    hurt_requests,
    merge,
    solve_districts,
    split_districts,
)
from matcher.engines.greedy import greedy_selection
from matcher.engines.optimal import plan_parts, solve_part
from matcher.objective import plan_coverage


@pytest.fixture(scope="module")
def city() -> tuple[Compiled, int]:
    """A small city week and its largest part (one component)."""
    compiled = compile_instance(parse_instance(city_week(1200, 120, seed=3)))
    parts = plan_parts(compiled.data).parts
    return compiled, int(np.argmax([p.data.num_pairs for p in parts]))


def _largest(city: tuple[Compiled, int]):  # type: ignore[no-untyped-def]
    compiled, k = city
    part = plan_parts(compiled.data).parts[k]
    lat, lon = compiled.tables.r_lat[part.requests], compiled.tables.r_lon[part.requests]
    return part, lat, lon


def test_districts_partition_the_requests_and_hold_all_their_pairs(city) -> None:  # type: ignore[no-untyped-def]
    part, lat, lon = _largest(city)
    data = part.data
    districts = split_districts(data, lat, lon, 3)
    assert len(districts) == 3
    seen = np.concatenate([d.requests for d in districts.parts])
    assert sorted(seen.tolist()) == sorted(set(seen.tolist()))  # no request in two districts
    pairs = np.concatenate([d.pairs for d in districts.parts])
    assert sorted(pairs.tolist()) == list(range(data.num_pairs))  # every pair exactly once
    for k, d in enumerate(districts.parts):
        assert (districts.request_district[d.requests] == k).all()
    sizes = [d.data.num_pairs for d in districts.parts]
    assert max(sizes) < 2 * min(sizes)  # balanced by pairs


def test_merged_district_plans_keep_every_hard_rule(city) -> None:  # type: ignore[no-untyped-def]
    part, lat, lon = _largest(city)
    data = part.data
    districts = split_districts(data, lat, lon, 4)
    plans = [greedy_selection(d.data).selected for d in districts.parts]
    union = np.zeros(data.num_pairs, dtype=bool)
    for d, plan in zip(districts.parts, plans, strict=True):
        union[d.pairs] = plan
    # Volunteers near borders are planned in two districts at once: the union breaks caps...
    assert data.violations(union)[0] > 0
    merged = merge(data, districts, plans)
    assert data.violations(merged) == (0, 0)  # ... the merged plan breaks nothing
    # ... and keeps both plans of a volunteer where they fit together.
    district = districts.request_district[data.pair_request[merged]]
    v = data.pair_volunteer[merged]
    assert len(np.unique(v * len(districts) + district)) > len(np.unique(v))
    hurt = hurt_requests(data, districts, plans, merged)
    assert hurt.any()
    found = border(data, districts, merged, hurt)
    # Any plan of the border's sub-problem, with the held pairs, keeps every rule too.
    sub = greedy_selection(found.part.data).selected
    repaired = found.held.copy()
    repaired[found.part.pairs[sub]] = True
    assert data.violations(repaired) == (0, 0)


def test_freed_subproblem_nets_out_the_held_pairs(city) -> None:  # type: ignore[no-untyped-def]
    part, _, _ = _largest(city)
    data = part.data
    plan = greedy_selection(data).selected
    rng = np.random.default_rng(0)
    free = np.flatnonzero(rng.random(data.num_pairs) < 0.3)
    found = freed(data, plan, free)
    held = found.held
    sub = found.part
    assert not (held & np.isin(np.arange(data.num_pairs), sub.pairs)).any()
    used = np.bincount(
        data.pair_volunteer[held], weights=data.pair_load[held], minlength=data.num_volunteers
    )
    cap = data.volunteer_capacity[sub.volunteers] - used[sub.volunteers]
    assert (sub.data.volunteer_capacity == np.maximum(cap, 0)).all()
    # The plan in hand's free part is still a plan of the sub-problem.
    mine = plan[sub.pairs]
    assert sub.data.violations(mine)[0] == 0
    # No free pair kept (other than the plan's own) shares a conflict set with a held pair of
    # its volunteer (checked pair by pair).
    set_ptr, set_of = data.request_sets()
    sets = [set(set_of[set_ptr[r] : set_ptr[r + 1]].tolist()) for r in range(data.num_requests)]
    held_sets: dict[int, set[int]] = {}
    for p in np.flatnonzero(held):
        held_sets.setdefault(int(data.pair_volunteer[p]), set()).update(sets[data.pair_request[p]])
    kept = set(sub.pairs.tolist())
    clashes = 0
    for p in free:
        clash = bool(held_sets.get(int(data.pair_volunteer[p]), set()) & sets[data.pair_request[p]])
        clashes += clash
        if int(p) in kept:
            assert not clash or plan[p], p
    assert clashes > 0  # the city has some


def test_district_bounds_add_up_to_a_bound_and_little_is_lost(city) -> None:  # type: ignore[no-untyped-def]
    part, lat, lon = _largest(city)
    data = part.data
    params = SolveParams(time_limit_s=20.0, workers=1)
    whole = solve_part(data, 20.0, params, Control())
    result = solve_districts(data, lat, lon, 3, 20.0, params, Control())
    coverage = plan_coverage(data, result.selected)
    assert data.violations(result.selected) == (0, 0)
    assert result.bound >= plan_coverage(data, whole.selected)  # a proven bound of the whole
    assert result.bound >= coverage
    # Measured on city weeks of 1,500/150 and 3,000/300: the same coverage and 1 of 1,664.
    assert coverage >= 0.99 * plan_coverage(data, whole.selected)
    # Where coverage went: the merge only lets pairs go, the repair only takes a better plan.
    stats = result.stats
    assert stats["merged_coverage"] <= stats["districts_coverage"]
    assert stats["merged_coverage"] <= stats["repaired_coverage"] == coverage

"""District decomposition (`matcher.engines.districts`): districts partition the requests and
rank each volunteer's districts, a round's sub-problems share no volunteer or request and their
plans make one plan that keeps every hard rule and never a worse one (the rounds themselves, from
greedy's plan within a bound of the whole: tests/cluster/test_cluster.py)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.cityweek import city_week
from matcher import (
    Compiled,
    Control,
    ProblemData,
    SolveParams,
    compile_instance,
    parse_instance,
)
from matcher.engines.base import Deadline
from matcher.engines.decompose import restrict
from matcher.engines.districts import (
    freed,
    improved,
    round_problems,
    split_districts,
)
from matcher.engines.greedy import greedy_selection
from matcher.engines.optimal import plan_parts, solve_part
from matcher.engines.optimal.part import PartSolver, trivial_bound
from matcher.objective import lexicographic_key, plan_coverage


@pytest.fixture(scope="module")
def city() -> tuple[Compiled, int]:
    """A small city week and its largest part (one component), where greedy's plan falls short
    of the trivial bound (798 against 812; the optimum is 800)."""
    compiled = compile_instance(parse_instance(city_week(1500, 150, seed=2)))
    parts = plan_parts(compiled.data).parts
    return compiled, int(np.argmax([p.data.num_pairs for p in parts]))


def _largest(city: tuple[Compiled, int]):  # type: ignore[no-untyped-def]
    compiled, k = city
    part = plan_parts(compiled.data).parts[k]
    lat, lon = compiled.tables.r_lat[part.requests], compiled.tables.r_lon[part.requests]
    return part, lat, lon


def test_districts_partition_the_requests_and_rank_each_volunteers_districts(city) -> None:  # type: ignore[no-untyped-def]
    part, lat, lon = _largest(city)
    data = part.data
    districts = split_districts(data, lat, lon, 3)
    assert len(districts) == 3
    pair_district = districts.request_district[data.pair_request]
    sizes = np.bincount(pair_district, minlength=3)
    assert sizes.min() > 0 and sizes.max() < 2 * sizes.min()  # balanced by pairs
    held = np.zeros((data.num_volunteers, 3), dtype=np.int64)
    np.add.at(held, (data.pair_volunteer, pair_district), 1)
    assert (districts.reach == (held > 0).sum(axis=1)).all()
    first = districts.offered(0)
    assert (held[np.arange(data.num_volunteers), first] == held.max(axis=1)).all()
    second = districts.offered(1)
    crossing = districts.reach > 1
    assert crossing.any()
    # A border volunteer is offered to another of their districts in the next round; the
    # others always to their one district.
    assert (second[crossing] != first[crossing]).all()
    assert (second[~crossing] == first[~crossing]).all()
    assert (held[np.arange(data.num_volunteers), second] > 0).all()


def test_a_rounds_subproblems_share_nothing_and_their_plans_make_one(city) -> None:  # type: ignore[no-untyped-def]
    part, lat, lon = _largest(city)
    data = part.data
    districts = split_districts(data, lat, lon, 4)
    plan = greedy_selection(data).selected
    for round_number in range(3):
        problems = round_problems(data, districts, plan, round_number)
        # Only districts whose plan in hand falls short of their sub-problem's trivial bound
        # (on this city, 1 or 2 of the 4 in each round).
        assert 0 < len(problems) <= 4
        for found in problems:
            assert plan_coverage(found.part.data, plan[found.part.pairs]) < trivial_bound(
                found.part.data
            )
        volunteers = np.concatenate([p.part.volunteers for p in problems])
        requests = np.concatenate([p.part.requests for p in problems])
        assert len(np.unique(volunteers)) == len(volunteers)  # no volunteer in two
        assert len(np.unique(requests)) == len(requests)  # no request in two
        for found in problems:
            # Each names its district (the jobs' labels do: `part-0-round-1-district-2`).
            assert (districts.request_district[found.part.requests] == found.district).all()
        # Each sub-problem's own plan (greedy's, with every capacity the held pairs leave)
        # together with the held pairs keeps every hard rule...
        plans = [greedy_selection(p.part.data).selected for p in problems]
        union = improved(data, plan, problems, plans)
        assert data.violations(union) == (0, 0)
        # ... and a round never makes the plan worse.
        assert lexicographic_key(data, union) >= lexicographic_key(data, plan)
        plan = union
    # Solved apart with every volunteer's whole capacity, the districts' plans break caps.
    every = [
        greedy_selection(
            restrict(data, np.flatnonzero(districts.request_district[data.pair_request] == k)).data
        ).selected
        for k in range(4)
    ]
    together = np.zeros(data.num_pairs, dtype=bool)
    for k, chosen in enumerate(every):
        together[np.flatnonzero(districts.request_district[data.pair_request] == k)[chosen]] = True
    assert data.violations(together)[0] > 0


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
    assert sub.data.violations(mine) == (0, 0)
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


def test_a_mandatory_request_staffed_by_held_pairs_needs_no_free_pair() -> None:
    """r0 is mandatory (at least one of up to two) and v0's held pair staffs it: the free pair
    of v1 may join it but need not, so the plan in hand (v1 elsewhere, on r1) stays a plan of
    the sub-problem that breaks nothing, and a plan that gives up r1 for r0 is no better."""
    data = ProblemData(
        num_volunteers=2,
        num_requests=2,
        pair_volunteer=np.array([0, 1, 1]),
        pair_request=np.array([0, 0, 1]),
        pair_cost=np.array([1, 1, 1]),
        pair_load=np.array([1, 1, 1]),
        volunteer_capacity=np.array([1, 1]),
        volunteer_max_pairs=np.array([1, 1]),
        request_min=np.array([1, 1]),
        request_max=np.array([2, 1]),
        request_mandatory=np.array([True, False]),
        request_priority=np.array([1, 1]),
    )
    plan = np.array([True, False, True])
    found = freed(data, plan, np.array([1, 2]))
    sub = found.part
    assert sub.pairs.tolist() == [1, 2]
    assert not sub.data.request_mandatory[0]
    assert sub.data.violations(plan[sub.pairs]) == (0, 0)
    swapped = np.array([True, False])  # v1 on r0 rather than r1
    assert improved(data, plan, [found], [swapped]).tolist() == plan.tolist()


def test_a_rounds_solve_starts_from_the_plan_in_hand_where_better_than_greedys(city) -> None:  # type: ignore[no-untyped-def]
    """A district's solve is given the plan in hand (`solve_part(start=...)`): it is the part's
    first plan where lexicographically better than greedy's, and ignored where worse."""
    part, _, _ = _largest(city)
    data = part.data
    greedy = greedy_selection(data).selected
    better = solve_part(data, 20.0, SolveParams(time_limit_s=20.0, workers=1), Control()).selected
    assert lexicographic_key(data, better) > lexicographic_key(data, greedy)
    worse = np.zeros(data.num_pairs, dtype=bool)
    for start, first in ((better, better), (worse, greedy), (None, greedy)):
        solver = PartSolver(data, Deadline(0.0), SolveParams(), Control(), start=start)
        assert np.array_equal(solver.state.incumbent, first)

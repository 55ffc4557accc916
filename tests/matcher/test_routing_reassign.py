"""The reassignment of one-visit routes (`matcher.engines.routing.reassign`): the cheapest
matching at the kept starts, never a vehicle that cannot serve the visit then, a team kept on
distinct vehicles of its group, longer routes left alone."""

from __future__ import annotations

import itertools

import numpy as np

from matcher.engines.routing import RoutingData, route_violations
from matcher.engines.routing.reassign import reassign_single_visits
from matcher.problem import FloatArray, IntArray


def line(*xs: float) -> FloatArray:
    at = np.array(xs, dtype=float)
    return np.asarray(np.abs(at[:, None] - at[None, :]), dtype=np.float64)


def routes_of(*visits: list[int]) -> list[IntArray]:
    return [np.array(v, dtype=np.int64) for v in visits]


def starts_of(*times: list[float]) -> list[FloatArray]:
    return [np.array(t, dtype=np.float64) for t in times]


def distance(data: RoutingData, routes: list[IntArray]) -> float:
    total = 0.0
    for k, route in enumerate(routes):
        if route.size:
            path = [data.vehicle_start[k], *data.visit_node[route], data.vehicle_end[k]]
            total += float(sum(data.distance[a, b] for a, b in itertools.pairwise(path)))
    return total


def test_crossed_helpers_swap_and_keep_the_starts() -> None:
    # Homes at 0 and 10, visits at 9 and 1: each helper was sent to the far one.
    data = RoutingData.build(
        travel_time=line(0, 10, 9, 1), vehicle_start=[0, 1], visit_node=[2, 3],
        visit_earliest=[20, 30], visit_latest=[40, 50], visit_duration=[5, 5],
    )  # fmt: skip
    routes, starts = routes_of([0], [1]), starts_of([25.0], [35.0])
    new_routes, new_starts = reassign_single_visits(data, routes, starts)
    assert [r.tolist() for r in new_routes] == [[1], [0]]
    assert [s.tolist() for s in new_starts] == [[35.0], [25.0]]
    assert distance(data, new_routes) == 4.0 < distance(data, routes) == 36.0
    assert route_violations(data, new_routes, new_starts) == []


def test_a_vehicle_that_cannot_be_there_at_the_start_is_not_used() -> None:
    # The near home's shift opens after the visit's kept start: the far helper keeps it.
    data = RoutingData.build(
        travel_time=line(0, 10, 9), vehicle_start=[0, 1], visit_node=[2],
        vehicle_shift_start=[0, 30], visit_earliest=[20], visit_latest=[60], visit_duration=[5],
    )  # fmt: skip
    routes, starts = routes_of([0], []), starts_of([20.0], [])
    new_routes, _ = reassign_single_visits(data, routes, starts)
    assert [r.tolist() for r in new_routes] == [[0], []]


def test_an_ineligible_vehicle_is_not_used() -> None:
    data = RoutingData.build(
        travel_time=line(0, 10, 9), vehicle_start=[0, 1], visit_node=[2],
        eligible=[[True], [False]],
    )  # fmt: skip
    routes, starts = routes_of([0], []), starts_of([9.0], [])
    new_routes, _ = reassign_single_visits(data, routes, starts)
    assert [r.tolist() for r in new_routes] == [[0], []]


def test_a_team_stays_in_its_group_on_distinct_vehicles() -> None:
    # A team of two of one group (vehicles 0 and 1, group 0, far); vehicle 2 is near but of
    # group 1; vehicle 3 is near and of group 0: one task moves there, not both.
    data = RoutingData.build(
        travel_time=line(0, 0, 9, 9, 10), vehicle_start=[0, 1, 2, 3], visit_node=[4],
        vehicle_group=[0, 0, 1, 0], visit_team=[2], visit_same_group=[True],
    )  # fmt: skip
    routes, starts = routes_of([0], [0], [], []), starts_of([10.0], [10.0], [], [])
    new_routes, new_starts = reassign_single_visits(data, routes, starts)
    holders = [k for k, r in enumerate(new_routes) if r.size]
    assert 2 not in holders and 3 in holders and len(holders) == 2
    assert route_violations(data, new_routes, new_starts) == []


def test_longer_routes_are_left_alone() -> None:
    # Vehicle 0 serves visits 0 and 1 in a route; the idle vehicle 1 is nearer to visit 1 but
    # the two-visit route is not the matching's to split.
    data = RoutingData.build(
        travel_time=line(0, 6, 2, 5), vehicle_start=[0, 1], visit_node=[2, 3],
    )  # fmt: skip
    routes, starts = routes_of([0, 1], []), starts_of([2.0, 5.0], [])
    new_routes, new_starts = reassign_single_visits(data, routes, starts)
    assert [r.tolist() for r in new_routes] == [[0, 1], []]
    assert [s.tolist() for s in new_starts] == [[2.0, 5.0], []]

"""The routing engine (`matcher.engines.routing`): every returned solution passes the checker,
coverage comes before distance, teams share their start, eligibility and limits hold, a stop
request is honoured, and bad arrays are refused with the field named."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.engines.base import Control, SolveParams, Status
from matcher.engines.routing import (
    RoutingData,
    RoutingResult,
    coverage_bound,
    route_violations,
    solve_routes,
)
from matcher.problem import FloatArray, ProblemError

PARAMS = SolveParams(time_limit_s=30.0, seed=1, workers=1)


def line(*xs: float) -> FloatArray:
    """Travel times between points on a line."""
    at = np.array(xs, dtype=float)
    return np.asarray(np.abs(at[:, None] - at[None, :]), dtype=np.float64)


def solve(data: RoutingData, iterations: int = 300) -> RoutingResult:
    result = solve_routes(data, PARAMS, max_iterations=iterations)
    assert route_violations(data, result.routes, result.starts) == []
    return result


def holders(result: RoutingResult, visit: int) -> list[tuple[int, float]]:
    return [
        (k, float(starts[list(route).index(visit)]))
        for k, (route, starts) in enumerate(zip(result.routes, result.starts, strict=True))
        if visit in route
    ]


@st.composite
def instances(draw: st.DrawFn) -> RoutingData:
    """Small random problems with every feature: homes, shifts, capacity, working time, visit
    caps, windows, teams (with groups), priorities, mandatory visits, eligibility."""
    m = draw(st.integers(1, 4))
    n = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    points = rng.uniform(0, 20, size=(m + n, 2))
    travel = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    early = rng.uniform(0, 60, n).round()
    return RoutingData.build(
        travel_time=travel,
        distance=travel * rng.uniform(0.5, 1.5),
        vehicle_start=np.arange(m),
        vehicle_shift_start=rng.uniform(0, 10, m).round(),
        vehicle_shift_end=rng.uniform(60, 140, m).round(),
        vehicle_capacity=rng.integers(2, 6, m),
        vehicle_max_duration=rng.uniform(30, 140, m).round(),
        vehicle_max_visits=rng.integers(1, 5, m),
        vehicle_group=rng.integers(0, 2, m),
        visit_node=np.arange(m, m + n),
        visit_earliest=early,
        visit_latest=early + rng.uniform(0, 40, n).round(),
        visit_duration=rng.uniform(1, 15, n).round(),
        visit_demand=rng.integers(0, 3, n),
        visit_priority=rng.integers(1, 4, n),
        visit_mandatory=rng.random(n) < 0.2,
        visit_team=np.where(rng.random(n) < 0.25, 2, 1),
        visit_same_group=rng.random(n) < 0.5,
        eligible=rng.random((m, n)) < 0.8,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=instances())
def test_every_solution_is_feasible_and_its_figures_are_right(data: RoutingData) -> None:
    result = solve(data, iterations=60)
    staffed = np.zeros(data.num_visits, dtype=bool)
    for route in result.routes:
        staffed[route] = True
    assert np.array_equal(staffed, result.staffed)
    assert result.coverage == int(data.visit_priority[staffed].sum()) <= result.coverage_bound
    path_total = 0.0
    for k, route in enumerate(result.routes):
        if route.size:
            path = [data.vehicle_start[k], *data.visit_node[route], data.vehicle_end[k]]
            path_total += float(sum(data.distance[i, j] for i, j in itertools.pairwise(path)))
    assert result.distance == pytest.approx(path_total)
    missing = np.flatnonzero(data.visit_mandatory & ~staffed)
    assert result.at_fault.tolist() == missing.tolist()
    assert result.status == (Status.INFEASIBLE if missing.size else Status.FEASIBLE)


def test_coverage_comes_before_distance() -> None:
    # One vehicle at 0 with 38 minutes: either the far visit A (priority 5, at 15, out and back
    # 30 + 5 service) or the two near ones B, C (priority 2 each): A with B takes 40.
    data = RoutingData.build(
        travel_time=line(0, 15, 2, 3),
        vehicle_start=[0], vehicle_shift_end=[38.0],
        visit_node=[1, 2, 3], visit_duration=[5.0, 5.0, 5.0], visit_priority=[5, 2, 2],
    )  # fmt: skip
    result = solve(data)
    assert result.staffed.tolist() == [True, False, False]
    assert result.coverage == 5
    # With A worth 3, B and C (4 together, and shorter) win.
    cheaper = RoutingData.build(
        travel_time=line(0, 15, 2, 3),
        vehicle_start=[0], vehicle_shift_end=[38.0],
        visit_node=[1, 2, 3], visit_duration=[5.0, 5.0, 5.0], visit_priority=[3, 2, 2],
    )  # fmt: skip
    assert solve(cheaper).staffed.tolist() == [False, True, True]


def test_distance_is_minimised_among_plans_of_equal_coverage() -> None:
    # Two vehicles, homes at 0 and 10; visits at 1 and 9: each goes to the one near home.
    data = RoutingData.build(travel_time=line(0, 10, 1, 9), vehicle_start=[0, 1], visit_node=[2, 3])
    result = solve(data)
    assert [r.tolist() for r in result.routes] == [[0], [1]]
    assert result.distance == pytest.approx(4.0)


def test_a_team_shares_its_start_on_distinct_vehicles_of_one_group() -> None:
    # Visit 0 needs two helpers of one group; vehicles 0 and 1 are group 1 (far from it),
    # vehicle 2 is group 2 and nearest: the team must be 0 and 1 at one common time.
    data = RoutingData.build(
        travel_time=line(0, 3, 6, 8, 2),
        vehicle_start=[0, 1, 4], vehicle_group=[1, 1, 2],
        visit_node=[3, 2], visit_earliest=[10.0, 0.0], visit_latest=[30.0, 100.0],
        visit_duration=[5.0, 1.0], visit_team=[2, 1], visit_same_group=[True, False],
    )  # fmt: skip
    result = solve(data)
    team = holders(result, 0)
    assert sorted(k for k, _ in team) == [0, 1]
    assert team[0][1] == team[1][1]
    assert 10.0 <= team[0][1] <= 30.0
    # Without the same-group rule the two nearest (vehicles 1 and 2) form the team.
    mixed = RoutingData.build(
        travel_time=line(0, 3, 6, 8, 2),
        vehicle_start=[0, 1, 4], vehicle_group=[1, 1, 2],
        visit_node=[3, 2], visit_earliest=[10.0, 0.0], visit_latest=[30.0, 100.0],
        visit_duration=[5.0, 1.0], visit_team=[2, 1],
    )  # fmt: skip
    assert sorted(k for k, _ in holders(solve(mixed), 0)) == [1, 2]


def test_a_team_start_must_fit_both_routes() -> None:
    # Vehicle 0 is busy with a fixed visit at [20, 20] for 10 minutes; vehicle 1 can only work
    # until 40. The team visit (window [0, 100], 5 minutes, at the homes) must start in
    # [0, 15] (before the fixed visit, 0 travel) or [30, 35]: never later than 35.
    data = RoutingData.build(
        travel_time=np.zeros((1, 1)),
        vehicle_start=[0, 0], vehicle_shift_end=[200.0, 40.0],
        visit_node=[0, 0], visit_earliest=[20.0, 0.0], visit_latest=[20.0, 100.0],
        visit_duration=[10.0, 5.0], visit_team=[1, 2], eligible=[[True, True], [False, True]],
    )  # fmt: skip
    result = solve(data)
    assert result.staffed.all()
    (k0, t0), (k1, t1) = holders(result, 1)
    assert {k0, k1} == {0, 1} and t0 == t1
    assert t0 <= 15.0 or 30.0 <= t0 <= 35.0


def test_eligibility_is_respected_and_bounds_coverage() -> None:
    # Visit 1 has no eligible vehicle, visit 2 only vehicle 1 (far away).
    data = RoutingData.build(
        travel_time=line(0, 50, 1, 2, 3),
        vehicle_start=[0, 1], visit_node=[2, 3, 4], visit_priority=[1, 4, 2],
        eligible=[[True, False, False], [True, False, True]],
    )  # fmt: skip
    bound, possible = coverage_bound(data)
    assert (bound, possible.tolist()) == (3, [True, False, True])
    result = solve(data)
    assert result.staffed.tolist() == [True, False, True]
    assert 2 in result.routes[1].tolist()
    assert result.coverage == result.coverage_bound == 3
    # The pair-list form says the same.
    pairs = RoutingData.build(
        travel_time=line(0, 50, 1, 2, 3),
        vehicle_start=[0, 1], visit_node=[2, 3, 4], visit_priority=[1, 4, 2],
        eligible=([0, 1, 1], [0, 0, 2]),
    )  # fmt: skip
    assert np.array_equal(pairs.eligible, data.eligible)


def test_a_mandatory_visit_that_fits_nowhere_makes_the_result_infeasible() -> None:
    data = RoutingData.build(
        travel_time=line(0, 1, 100),
        vehicle_start=[0], vehicle_shift_end=[50.0],
        visit_node=[1, 2], visit_mandatory=[True, True],
    )  # fmt: skip
    result = solve(data)
    assert result.status == Status.INFEASIBLE
    assert result.at_fault.tolist() == [1]
    assert result.staffed.tolist() == [True, False]


def test_stop_request_ends_the_search() -> None:
    data = RoutingData.build(
        travel_time=line(*range(30)), vehicle_start=[0] * 5, visit_node=list(range(1, 30)),
        vehicle_max_visits=[6] * 5,
    )  # fmt: skip
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2

    result = solve_routes(data, SolveParams(time_limit_s=600.0), Control(should_stop=stop))
    assert len(asked) == 3  # checked between chunks, and obeyed at once
    assert result.staffed.all()
    assert route_violations(data, result.routes, result.starts) == []


def test_max_iterations_and_deadline_end_the_search() -> None:
    data = RoutingData.build(travel_time=line(0, 1, 2), vehicle_start=[0], visit_node=[1, 2])
    assert solve_routes(data, PARAMS, max_iterations=7).stats["iterations"] == 7
    short = solve_routes(data, SolveParams(time_limit_s=0.05))
    assert short.staffed.all()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"visit_latest": [1.0, 5.0]}, "visit_latest[0]"),
        ({"vehicle_shift_end": [-1.0]}, "vehicle_shift_end[0]"),
        ({"visit_team": [1, 0]}, "visit_team[1]"),
        ({"visit_node": [1, 7]}, "visit_node[1]"),
        ({"visit_duration": [1.0, float("nan")]}, "visit_duration[1]"),
        ({"eligible": [[True]]}, "eligible"),
        ({"travel_time": [[0.0, -1.0, 0.0], [0, 0, 0], [0, 0, 0]]}, "travel_time[0, 1]"),
    ],
)
def test_bad_arrays_are_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "travel_time": line(0, 1, 2), "vehicle_start": [0], "visit_node": [1, 2],
        "visit_earliest": [2.0, 0.0],
    }  # fmt: skip
    args.update(change)
    with pytest.raises(ProblemError, match=field.replace("[", r"\[").replace("]", r"\]")):
        RoutingData.build(**args)  # type: ignore[arg-type]


def checker_case() -> RoutingData:
    """Two vehicles at node 0 (shift [0, 100], capacity 3, 2 visits, 60 of work); visits at
    nodes 1 (1 away) and 2 (2 away), window [0, 50], 5 of service; visit 2 is a team of two of
    one group; vehicle 1 may not take visit 0."""
    return RoutingData.build(
        travel_time=line(0, 1, 2), vehicle_start=[0, 0], vehicle_shift_end=[100.0, 100.0],
        vehicle_capacity=[3.0, 3.0], vehicle_max_visits=[2, 2],
        vehicle_max_duration=[60.0, 60.0], vehicle_group=[1, 1],
        visit_node=[1, 2, 2], visit_latest=[50.0, 50.0, 50.0],
        visit_duration=[5.0, 5.0, 5.0], visit_demand=[1.0, 1.0, 1.0],
        visit_team=[1, 1, 2], visit_same_group=[False, False, True],
        eligible=[[True, True, True], [False, True, True]],
    )  # fmt: skip


def arrays(*rows: list[float]) -> list[np.ndarray]:
    return [np.array(r) for r in rows]


def test_checker_accepts_a_valid_solution() -> None:
    data = checker_case()
    routes = arrays([0, 2], [1, 2])
    assert route_violations(data, [r.astype(int) for r in routes], arrays([1, 10], [2, 10])) == []


@pytest.mark.parametrize(
    ("routes", "starts", "change", "fault"),
    [
        ([[0, 2], [0, 2]], [[1, 10], [1, 10]], {}, "not eligible for visit 0"),
        ([[0, 0, 2], [1, 2]], [[1, 6, 12], [2, 10]], {}, "a visit twice"),
        ([[0, 1, 2], [2]], [[1, 7, 12], [12]], {}, "3 visits > max 2"),
        ([[0, 2], [1, 2]], [[1, 10], [2, 10]], {"visit_demand": [2.0, 1.0, 2.0]},
         "load 4 > capacity 3"),
        ([[0, 2], [1, 2]], [[1, 60], [2, 60]], {}, "outside [0, 50]"),
        ([[0, 2], [1, 2]], [[1, 6], [2, 6]], {}, "< arrival 7"),
        ([[0, 2], [1, 2]], [[1, 10], [2, 10]], {"vehicle_shift_start": [5.0, 0.0]},
         "before its shift starts"),
        ([[0, 2], [1, 2]], [[1, 10], [2, 10]], {"vehicle_shift_end": [16.0, 100.0]},
         "after its shift ends"),
        ([[0, 2], [1, 2]], [[1, 10], [2, 10]], {"vehicle_max_duration": [10.0, 60.0]},
         "works 17 > max 10"),
        ([[0, 2], [1]], [[1, 10], [2]], {}, "visit 2: 1 vehicles, team needs 2"),
        ([[0, 2], [1, 2]], [[1, 10], [2, 11]], {}, "different times"),
        ([[0, 2], [1, 2]], [[1, 10], [2, 10]], {"vehicle_group": [1, 2]}, "different groups"),
    ],
)  # fmt: skip
def test_checker_rejects_each_broken_rule(
    routes: list[list[int]], starts: list[list[float]], change: dict[str, object], fault: str
) -> None:
    data = checker_case()
    if change:
        args = {f: getattr(data, f) for f in (
            "travel_time", "vehicle_start", "vehicle_shift_start", "vehicle_shift_end",
            "vehicle_capacity", "vehicle_max_visits", "vehicle_max_duration", "vehicle_group",
            "visit_node", "visit_latest", "visit_duration", "visit_demand", "visit_team",
            "visit_same_group")}  # fmt: skip
        args.update(change)
        data = RoutingData.build(**args, eligible=data.eligible)
    found = route_violations(
        data, [np.array(r, dtype=np.int64) for r in routes], [np.array(s) for s in starts]
    )
    assert any(fault in f for f in found), found

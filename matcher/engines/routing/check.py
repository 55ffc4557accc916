"""Every hard rule of a routing solution, checked from the problem's arrays alone (not from the
search's segments): what `solve_routes` returns must pass, and tests break solutions to see each
rule fail.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...problem import FloatArray, IntArray
from .data import RoutingData

__all__ = ["TOLERANCE", "route_violations"]

# Time and load tolerance (the search itself keeps 1e-9).
TOLERANCE = 1e-6


def route_violations(
    data: RoutingData, routes: Sequence[IntArray], starts: Sequence[FloatArray]
) -> list[str]:
    """Everything wrong with `routes` (visits of each vehicle in order) served at `starts`
    (service start of each of those visits); empty when the solution is feasible."""
    problems: list[str] = []
    if len(routes) != data.num_vehicles or len(starts) != data.num_vehicles:
        return [f"expected {data.num_vehicles} routes and start lists"]
    holders: dict[int, list[tuple[int, float]]] = {}
    eligible = data.eligible
    tol = TOLERANCE
    for k, (route, start) in enumerate(zip(routes, starts, strict=True)):
        visits = np.asarray(route, dtype=np.int64)
        times = np.asarray(start, dtype=np.float64)
        if visits.size == 0:
            continue
        if times.shape != visits.shape:
            problems.append(f"vehicle {k}: {visits.size} visits but {times.size} start times")
            continue
        if visits.min() < 0 or visits.max() >= data.num_visits:
            problems.append(f"vehicle {k}: a visit outside 0..{data.num_visits - 1}")
            continue
        if np.unique(visits).size != visits.size:
            problems.append(f"vehicle {k}: a visit twice")
        for v in visits[~eligible[k, visits]].tolist():
            problems.append(f"vehicle {k}: not eligible for visit {v}")
        if visits.size > data.vehicle_max_visits[k]:
            problems.append(f"vehicle {k}: {visits.size} visits > max {data.vehicle_max_visits[k]}")
        load = float(data.visit_demand[visits].sum())
        if load > data.vehicle_capacity[k] + tol:
            problems.append(f"vehicle {k}: load {load:g} > capacity {data.vehicle_capacity[k]:g}")
        problems.extend(_timing(data, k, visits, times))
        for v, t in zip(visits.tolist(), times.tolist(), strict=True):
            holders.setdefault(v, []).append((k, t))
    for v, held in sorted(holders.items()):
        if len(held) != data.visit_team[v]:
            problems.append(f"visit {v}: {len(held)} vehicles, team needs {data.visit_team[v]}")
        team_starts = [t for _, t in held]
        if max(team_starts) - min(team_starts) > tol:
            problems.append(f"visit {v}: the team starts at different times {team_starts}")
        if data.visit_same_group[v] and len({int(data.vehicle_group[k]) for k, _ in held}) > 1:
            problems.append(f"visit {v}: the team's vehicles are of different groups")
    return problems


def _timing(data: RoutingData, k: int, visits: IntArray, times: FloatArray) -> list[str]:
    problems: list[str] = []
    tol = TOLERANCE
    travel = data.travel_time
    nodes = data.visit_node[visits]
    home, end = data.vehicle_start[k], data.vehicle_end[k]
    leave = times[0] - travel[home, nodes[0]]
    if leave < data.vehicle_shift_start[k] - tol:
        problems.append(f"vehicle {k}: leaves at {leave:g}, before its shift starts")
    for i, v in enumerate(visits.tolist()):
        if not (data.visit_earliest[v] - tol <= times[i] <= data.visit_latest[v] + tol):
            problems.append(
                f"vehicle {k}: visit {v} starts at {times[i]:g} outside "
                f"[{data.visit_earliest[v]:g}, {data.visit_latest[v]:g}]"
            )
        if i:
            ready = (
                times[i - 1] + data.visit_duration[visits[i - 1]] + travel[nodes[i - 1], nodes[i]]
            )
            if times[i] < ready - tol:
                problems.append(
                    f"vehicle {k}: visit {v} starts at {times[i]:g} < arrival {ready:g}"
                )
    back = times[-1] + data.visit_duration[visits[-1]] + travel[nodes[-1], end]
    if back > data.vehicle_shift_end[k] + tol:
        problems.append(f"vehicle {k}: back at {back:g}, after its shift ends")
    if back - leave > data.vehicle_max_duration[k] + tol:
        problems.append(
            f"vehicle {k}: works {back - leave:g} > max {data.vehicle_max_duration[k]:g}"
        )
    return problems

"""Exact reassignment of the one-visit routes of a solution, starts kept (`reassign_single_visits`).

The search (`search.py`) moves visits by ruin and cheapest reinsertion; when most routes hold one
visit (a volunteer's day with a single home visit), what is left is an assignment problem the
greedy reinsertion does not always solve: a far helper on one visit while the near one serves a
visit a third helper could take. With every visit's start kept, the one-visit routes and the
empty vehicles form a bipartite graph (a task fits a vehicle alone at that start: travel from its
start place, back to its end place, working time, capacity, eligibility, and the team's group),
and the cheapest matching (`scipy.optimize.linear_sum_assignment`) is never worse than the
routes it replaces: they are one of its matchings. Teams keep their common start, each task on a
distinct vehicle; coverage is unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ...problem import FloatArray, IntArray
from .data import RoutingData

__all__ = ["reassign_single_visits"]

# Tolerance of the time checks, as the search's (`kernel.EPS`).
_EPS = 1e-9
# Cost of a pair that does not fit: above any real distance sum, finite for the solver.
_NO_FIT = 1e18


def reassign_single_visits(
    data: RoutingData, routes: list[IntArray], starts: list[FloatArray]
) -> tuple[list[IntArray], list[FloatArray]]:
    """`routes` and `starts` with the visits of one-visit routes reassigned to the vehicles
    (those routes' and the empty ones) that serve them, each at its start, for the least
    distance. Other routes are left as they are."""
    single = [k for k, route in enumerate(routes) if route.size == 1]
    if not single:
        return routes, starts
    free = np.array([k for k, route in enumerate(routes) if route.size <= 1], dtype=np.int64)
    column = np.full(data.num_vehicles, -1, dtype=np.int64)
    column[free] = np.arange(free.size)
    cost = np.full((len(single), free.size), _NO_FIT)
    time, dist = data.travel_time, data.distance
    for row, k0 in enumerate(single):
        v = int(routes[k0][0])
        start = float(starts[k0][0])
        vehicles = data.eligible_vehicle[data.eligible_start[v] : data.eligible_start[v + 1]]
        vehicles = vehicles[column[vehicles] >= 0]
        if data.visit_same_group[v] and data.visit_team[v] > 1:
            vehicles = vehicles[data.vehicle_group[vehicles] == data.vehicle_group[k0]]
        node = data.visit_node[v]
        t_in = time[data.vehicle_start[vehicles], node]
        t_out = time[node, data.vehicle_end[vehicles]]
        service = data.visit_duration[v]
        fits = (
            (start + _EPS >= data.vehicle_shift_start[vehicles] + t_in)
            & (start + service + t_out <= data.vehicle_shift_end[vehicles] + _EPS)
            & (t_in + service + t_out <= data.vehicle_max_duration[vehicles] + _EPS)
            & (data.vehicle_max_visits[vehicles] >= 1)
            & (data.visit_demand[v] <= data.vehicle_capacity[vehicles] + _EPS)
        )
        vehicles = vehicles[fits]
        cost[row, column[vehicles]] = (
            dist[data.vehicle_start[vehicles], node] + dist[node, data.vehicle_end[vehicles]]
        )
        # The route as it is always fits (the search checked it): the matching exists.
        k0_cost = dist[data.vehicle_start[k0], node] + dist[node, data.vehicle_end[k0]]
        cost[row, column[k0]] = min(cost[row, column[k0]], k0_cost)
    rows, cols = linear_sum_assignment(cost)
    new_routes = [r if r.size > 1 else r[:0] for r in routes]
    new_starts = [s if r.size > 1 else s[:0] for r, s in zip(routes, starts, strict=True)]
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        k0, k = single[row], int(free[col])
        new_routes[k] = routes[k0]
        new_starts[k] = starts[k0]
    return new_routes, new_starts

"""The routing engine: vehicles (volunteers' days) visiting places within time windows.

`solve_routes(RoutingData, SolveParams, Control) -> RoutingResult` is the one entry point, used
by the matcher for flexible home visits and by `benchmarks.vrptw` for the VRPTW. `warm_up()`
compiles the search before any time limit counts. See docs/routing.md.
"""

from __future__ import annotations

from .check import route_violations
from .data import NO_LIMIT, RoutingData
from .search import RoutingResult, coverage_bound, schedule, solve_routes, warm_up

__all__ = [
    "NO_LIMIT",
    "RoutingData",
    "RoutingResult",
    "coverage_bound",
    "route_violations",
    "schedule",
    "solve_routes",
    "warm_up",
]

"""The routing engine's entry point: `solve_routes(RoutingData, SolveParams, Control)`.

Prepares the compiled search's arrays (`kernel`), builds a first solution by inserting every
visit, then runs ruin-and-recreate under simulated annealing in chunks of iterations until the
deadline or a stop request, with a temperature falling geometrically over the time limit, and
returns the best solution found, its one-visit routes reassigned by the cheapest matching at
their starts (`reassign`): routes, the start time of every visit (teams share theirs),
coverage and distance, and a coverage bound that holds for any plan.

Nothing is proven optimal here: the status is `feasible` (or `infeasible` when a mandatory visit
is left out, those visits named in `at_fault`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ...problem import BoolArray, FloatArray, IntArray
from ..base import Control, Deadline, Progress, SolveParams, Status
from . import kernel
from .data import RoutingData
from .reassign import reassign_single_visits

__all__ = ["RoutingResult", "coverage_bound", "schedule", "solve_routes", "warm_up"]

# Search parameters (SISR's published values): visits removed per ruin on average, longest
# string, probability of a split string, its depth, blink rate of the insertion; and the
# probability that a ruin removes a whole route instead (not in SISR).
_AVG_REMOVED = 10.0
_MAX_STRING = 10.0
_SPLIT = 0.5
_DEPTH = 0.01
_BLINK = 0.01
_ROUTE = 0.02
# Start and final temperature, in units of the mean distance between a visit and its nearest
# other visit (SISR's 100 and 1 on coordinates of 0-1000 are about 3 and 0.03 of it). Starting
# at 1 left C202 at 629.3 (+6.4 %) in 60 s; at 3 it reaches 591.56 in 20 s (docs/routing.md).
_T_START = 3.0
_T_END = 0.03
# Nearest other visits kept per visit (the ruin walks them from its seed).
_NEIGHBOURS = 100
# Seconds per chunk of iterations between two looks at the clock and at `should_stop`.
_CHUNK_S = 0.05
_PROGRESS_S = 1.0


@dataclass(frozen=True, eq=False)
class RoutingResult:
    """The best solution found. `routes[k]` lists vehicle k's visits in order and `starts[k]`
    their service start times (the schedule leaving as late as the route allows, then serving
    each visit as early as it can: the shortest working time)."""

    routes: tuple[IntArray, ...]
    starts: tuple[FloatArray, ...]
    staffed: BoolArray
    coverage: int
    coverage_bound: int
    distance: float
    status: Status
    at_fault: IntArray
    stats: dict[str, float | int | str | bool] = field(default_factory=dict)


def coverage_bound(data: RoutingData) -> tuple[int, BoolArray]:
    """An upper bound on the coverage of any plan, and which visits it counts: a visit can be
    staffed only if `team` eligible vehicles (of one group when asked) could each serve it
    alone, ignoring travel (which is never negative): its window meets the shift, its service
    fits the shift and the maximum duration, its demand the capacity."""
    visits = np.repeat(np.arange(data.num_visits), np.diff(data.eligible_start))
    veh = data.eligible_vehicle
    start = np.maximum(data.visit_earliest[visits], data.vehicle_shift_start[veh])
    fits = (
        (start <= data.visit_latest[visits])
        & (start + data.visit_duration[visits] <= data.vehicle_shift_end[veh])
        & (data.visit_duration[visits] <= data.vehicle_max_duration[veh])
        & (data.visit_demand[visits] <= data.vehicle_capacity[veh])
        & (data.vehicle_max_visits[veh] >= 1)
    )
    group = np.where(data.visit_same_group[visits], data.vehicle_group[veh], 0)
    keys, counts = np.unique(np.stack([visits[fits], group[fits]]), axis=1, return_counts=True)
    most = np.zeros(data.num_visits, dtype=np.int64)
    if keys.size:
        np.maximum.at(most, keys[0], counts)
    possible = most >= data.visit_team
    return int(data.visit_priority[possible].sum()), possible


def _vehicle_classes(data: RoutingData) -> IntArray:
    """Vehicles alike in everything (ends, shift, limits, group, eligible visits) share a class:
    the search tries one empty vehicle per class."""
    visits = np.repeat(np.arange(data.num_visits), np.diff(data.eligible_start))
    rows: list[tuple[object, ...]] = []
    eligible: list[list[int]] = [[] for _ in range(data.num_vehicles)]
    for veh, visit in zip(data.eligible_vehicle.tolist(), visits.tolist(), strict=True):
        eligible[veh].append(visit)
    for k in range(data.num_vehicles):
        rows.append((
            int(data.vehicle_start[k]), int(data.vehicle_end[k]),
            float(data.vehicle_shift_start[k]), float(data.vehicle_shift_end[k]),
            float(data.vehicle_capacity[k]), float(data.vehicle_max_duration[k]),
            int(data.vehicle_max_visits[k]), int(data.vehicle_group[k]), tuple(eligible[k]),
        ))  # fmt: skip
    ids: dict[tuple[object, ...], int] = {}
    return np.array([ids.setdefault(row, len(ids)) for row in rows], dtype=np.int64)


def _neighbours(data: RoutingData) -> IntArray:
    n = data.num_visits
    k = min(n - 1, _NEIGHBOURS)
    if k <= 0:
        return np.zeros((n, 0), dtype=np.int64)
    nodes = data.visit_node
    near = np.empty((n, k), dtype=np.int64)
    for lo in range(0, n, 512):  # blocks of rows: memory stays O(512 n)
        block = data.distance[nodes[lo : lo + 512]][:, nodes].copy()
        rows = np.arange(block.shape[0])
        block[rows, rows + lo] = np.inf
        part = np.argpartition(block, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(block, part, axis=1), axis=1, kind="stable")
        near[lo : lo + 512] = np.take_along_axis(part, order, axis=1)
    return near


def _kernel_data(data: RoutingData) -> kernel.KernelData:
    first_task = np.zeros(data.num_visits + 1, dtype=np.int64)
    np.cumsum(data.visit_team, out=first_task[1:])
    starts = np.unique(data.vehicle_start)
    far = (
        data.distance[starts][:, data.visit_node].min(axis=0)
        if starts.size
        else np.zeros(data.num_visits)
    )
    reals = np.array([_AVG_REMOVED, _MAX_STRING, _SPLIT, _DEPTH, _BLINK, _ROUTE], dtype=np.float64)
    return kernel.KernelData(
        travel=data.travel_time,
        dist=data.distance,
        v_start=data.vehicle_start,
        v_end=data.vehicle_end,
        v_open=data.vehicle_shift_start,
        v_close=data.vehicle_shift_end,
        v_capacity=data.vehicle_capacity,
        v_max_duration=data.vehicle_max_duration,
        v_max_visits=data.vehicle_max_visits,
        v_group=data.vehicle_group,
        v_class=_vehicle_classes(data),
        s_node=data.visit_node,
        s_early=data.visit_earliest,
        s_late=data.visit_latest,
        s_service=data.visit_duration,
        s_demand=data.visit_demand,
        s_priority=data.visit_priority,
        s_mandatory=data.visit_mandatory,
        s_team=data.visit_team,
        s_same_group=data.visit_same_group,
        s_far=np.ascontiguousarray(far, dtype=np.float64),
        first_task=first_task,
        t_visit=np.repeat(np.arange(data.num_visits, dtype=np.int64), data.visit_team),
        el_start=data.eligible_start,
        el_vehicle=data.eligible_vehicle,
        neighbours=_neighbours(data),
        reals=reals,
    )


def _empty_state(a: kernel.KernelData, data: RoutingData) -> kernel.KernelState:
    tasks = int(a.first_task[-1])
    m = data.num_vehicles
    return kernel.KernelState(
        t_route=np.full(tasks, -1, dtype=np.int64),
        t_prev=np.full(tasks, -1, dtype=np.int64),
        t_next=np.full(tasks, -1, dtype=np.int64),
        t_early=data.visit_earliest[a.t_visit].copy(),
        t_late=data.visit_latest[a.t_visit].copy(),
        seg_in=np.zeros((tasks, 4)),
        seg_out=np.zeros((tasks, 4)),
        r_first=np.full(m, -1, dtype=np.int64),
        r_last=np.full(m, -1, dtype=np.int64),
        r_count=np.zeros(m, dtype=np.int64),
        r_load=np.zeros(m),
        r_dist=np.zeros(m),
        s_in=np.zeros(data.num_visits, dtype=bool),
        totals=np.zeros(1),
        missing=np.array(
            [int(data.visit_mandatory.sum()), int(data.visit_priority.sum())], dtype=np.int64
        ),
    )


def _workspace(a: kernel.KernelData, data: RoutingData) -> kernel.Workspace:
    tasks = int(a.first_task[-1])
    cand = tasks + data.num_vehicles + 1
    classes = int(a.v_class.max(initial=-1)) + 1
    team = int(data.visit_team.max(initial=1))
    return kernel.Workspace(
        stamp=np.zeros(classes, dtype=np.int64),
        mark=np.zeros(1, dtype=np.int64),
        ruined=np.zeros(data.num_vehicles, dtype=np.int64),
        removed=np.zeros(data.num_visits, dtype=np.int64),
        touched=np.zeros(data.num_vehicles, dtype=bool),
        route_buf=np.zeros(tasks + 1, dtype=np.int64),
        cand_r=np.zeros(cand, dtype=np.int64),
        cand_p=np.zeros(cand, dtype=np.int64),
        cand_lo=np.zeros(cand),
        cand_hi=np.zeros(cand),
        cand_cost=np.zeros(cand),
        counters=np.zeros(3, dtype=np.int64),
        staffed=np.zeros(data.num_visits, dtype=np.int64),
        key=np.zeros(data.num_visits),
        order=np.zeros(data.num_visits, dtype=np.int64),
        rank=np.zeros(data.num_visits),
        by_rank=np.zeros(data.num_visits, dtype=np.int64),
        sort_buf=np.zeros(data.num_visits, dtype=np.int64),
        one=np.zeros(1, dtype=np.int64),
        after=np.zeros(1, dtype=np.int64),
        veh_cost=np.zeros(cand),
        veh_id=np.zeros(cand, dtype=np.int64),
        veh_pos=np.zeros(cand, dtype=np.int64),
        veh_group=np.zeros(cand, dtype=np.int64),
        veh_order=np.zeros(cand, dtype=np.int64),
        veh_buf=np.zeros(cand, dtype=np.int64),
        class_count=np.zeros(classes, dtype=np.int64),
        team_r=np.zeros(team, dtype=np.int64),
        team_p=np.zeros(team, dtype=np.int64),
    )


def schedule(
    data: RoutingData, vehicle: int, visits: IntArray, early: FloatArray, late: FloatArray
) -> FloatArray:
    """Service starts of `visits` in order on `vehicle`, each within [early, late]: leave the
    start as late as every later window allows, then serve each visit as early as possible
    (the least working time: leaving later never arrives later by more than it left later)."""
    time_m, node = data.travel_time, data.visit_node[visits]
    k = visits.size
    latest = np.empty(k)
    nxt, bound = data.vehicle_end[vehicle], data.vehicle_shift_end[vehicle]
    for i in range(k - 1, -1, -1):
        bound = min(late[i], bound - time_m[node[i], nxt] - data.visit_duration[visits[i]])
        latest[i] = bound
        nxt = node[i]
    clock = data.vehicle_shift_start[vehicle]
    if k:
        clock = max(clock, latest[0] - time_m[data.vehicle_start[vehicle], node[0]])
    starts = np.empty(k)
    prev = data.vehicle_start[vehicle]
    for i in range(k):
        clock = max(early[i], clock + time_m[prev, node[i]])
        starts[i] = clock
        clock += data.visit_duration[visits[i]]
        prev = node[i]
    return starts


def _result(
    data: RoutingData, a: kernel.KernelData, s: kernel.KernelState, bound: int,
    stats: dict[str, float | int | str | bool],
) -> RoutingResult:  # fmt: skip
    routes: list[IntArray] = []
    starts: list[FloatArray] = []
    for r in range(data.num_vehicles):
        tasks = []
        t = int(s.r_first[r])
        while t != -1:
            tasks.append(t)
            t = int(s.t_next[t])
        task_ids = np.array(tasks, dtype=np.int64)
        visits = a.t_visit[task_ids]
        routes.append(visits)
        starts.append(schedule(data, r, visits, s.t_early[task_ids], s.t_late[task_ids]))
    before = float(sum(_route_distance(data, r, v) for r, v in enumerate(routes)))
    routes, starts = reassign_single_visits(data, routes, starts)
    staffed = s.s_in.copy()
    at_fault = np.flatnonzero(data.visit_mandatory & ~staffed).astype(np.int64)
    distance = float(sum(_route_distance(data, r, v) for r, v in enumerate(routes)))
    stats["reassigned_saving"] = before - distance
    return RoutingResult(
        routes=tuple(routes),
        starts=tuple(starts),
        staffed=staffed,
        coverage=int(data.visit_priority[staffed].sum()),
        coverage_bound=bound,
        distance=distance,
        status=Status.INFEASIBLE if at_fault.size else Status.FEASIBLE,
        at_fault=at_fault,
        stats=stats,
    )


def _route_distance(data: RoutingData, vehicle: int, visits: IntArray) -> float:
    if visits.size == 0:
        return 0.0
    path = np.concatenate(
        [[data.vehicle_start[vehicle]], data.visit_node[visits], [data.vehicle_end[vehicle]]]
    )
    return float(data.distance[path[:-1], path[1:]].sum())


def solve_routes(
    data: RoutingData,
    params: SolveParams,
    control: Control | None = None,
    *,
    max_iterations: int | None = None,
) -> RoutingResult:
    """Search routes for `params.time_limit_s` seconds (or `max_iterations`, or until
    `control.should_stop()`), from `params.seed`, and return the best solution found."""
    control = control or Control()
    deadline = Deadline(params.time_limit_s)
    started = time.monotonic()
    bound, _ = coverage_bound(data)
    a = _kernel_data(data)
    s = _empty_state(a, data)
    w = _workspace(a, data)
    rng = np.random.default_rng(params.seed)
    kernel.insert_all(a, s, w, rng)
    backup, best = _empty_state(a, data), _empty_state(a, data)
    kernel.copy_state(s, best)
    first_distance = float(s.totals[0])
    scale = _distance_scale(data, a.neighbours)
    chunk, done = 16, 0
    last_progress = time.monotonic()
    limit = max_iterations if max_iterations is not None else np.iinfo(np.int64).max
    while done < limit and not deadline.expired() and not control.should_stop():
        fraction = min(1.0, (time.monotonic() - started) / params.time_limit_s)
        temperature = scale * _T_START * (_T_END / _T_START) ** fraction
        steps = int(min(chunk, limit - done))
        tic = time.monotonic()
        kernel.run(a, s, backup, best, w, steps, temperature, rng)
        done += steps
        took = time.monotonic() - tic
        chunk = max(1, int(chunk * min(4.0, _CHUNK_S / max(took, 1e-6))))
        chunk = min(chunk, max(1, int(steps * 4)))
        if time.monotonic() - last_progress >= _PROGRESS_S:
            last_progress = time.monotonic()
            control.on_progress(
                Progress("routing", fraction, coverage=int(data.visit_priority.sum()
                                                           - best.missing[1]), bound=bound)
            )  # fmt: skip
    kernel.rebuild(a, best)
    stats: dict[str, float | int | str | bool] = {
        "iterations": int(w.counters[0]),
        "accepted": int(w.counters[1]),
        "improvements": int(w.counters[2]),
        "first_distance": first_distance,
        "seconds": time.monotonic() - started,
    }
    return _result(data, a, best, bound, stats)


def _distance_scale(data: RoutingData, neighbours: IntArray) -> float:
    """Mean distance from a visit to its nearest other visit (1 when there is none)."""
    if neighbours.shape[1] == 0:
        return 1.0
    nodes = data.visit_node
    near = data.distance[nodes, nodes[neighbours[:, 0]]]
    mean = float(near.mean())
    return mean if mean > 0 else 1.0


def warm_up() -> None:
    """Compile the search (or load it from numba's cache) on a tiny problem with a team, so
    that the first real solve does not spend its time limit compiling."""
    coords = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    travel = np.hypot(*(coords[:, None, :] - coords[None, :, :]).transpose(2, 0, 1))
    data = RoutingData.build(
        travel_time=travel, vehicle_start=[0, 0, 0], visit_node=[1, 2, 3],
        visit_duration=[1.0, 1.0, 1.0], visit_team=[1, 2, 1], visit_demand=[1.0, 1.0, 1.0],
        vehicle_capacity=[5.0, 5.0, 5.0],
    )  # fmt: skip
    # A time limit that compiling never uses up: with 60 s, a busy machine spent it compiling the
    # first solution and the loop itself was left to the first real solve (C206: 16 iterations
    # in a 60 s run).
    solve_routes(data, SolveParams(time_limit_s=1e6), max_iterations=20)

"""The compiled search of the routing engine: slack induction by string removals (SISR,
Christiaens & Vanden Berghe 2020) under simulated annealing, with O(1) time-window checks.

Each iteration ruins the current solution by removing a few strings of consecutive visits from
routes near a random seed visit, then recreates it by inserting every removed visit at its
cheapest feasible position (skipping a position now and then: "blinks"), highest priority
first. The result is accepted when it staffs more (mandatory visits, then priority), or when it
staffs as much and its distance is below the current one plus the annealing's threshold.

A solution is a set of doubly linked lists of tasks, one list per vehicle. A visit needing a
team of k has k tasks, placed on k different vehicles at one shared start time: the team's
tasks are pinned to that time (their window shrinks to it) when the team is inserted, and
unpinned when any of them is removed, so every route stays checkable alone. Every task keeps the
time-window segment (`timing`) of its route from the start through itself and from itself
through the end, which makes checking an insertion O(1).

Arrays only. State arrays are updated in place so that the caller (`search.py`) runs the search
in chunks of iterations, checks its deadline between them, and reads the state back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ...problem import BoolArray, FloatArray, IntArray
from .timing import merge

__all__ = [
    "EPS",
    "KernelData",
    "KernelState",
    "Workspace",
    "copy_state",
    "insert_all",
    "rebuild",
    "run",
]

# Tolerance of the feasibility checks (time units). Smaller than the checkers' (1e-6): a
# solution the search accepts is never rejected by them for rounding.
EPS = 1e-9

# The search is compiled without numba's reference counting (`_nrt=False`, the switch numba's
# own developers measure that cost with, numba issue 2350): with it, every call increments and
# decrements, atomically, the count of each array it is passed or reads out of a tuple
# (unlinking and relinking a task: 240 ns with, 7 ns without). The same iterations (same moves,
# same results for a seed) run 2.6-2.9 times as fast (docs/routing.md). Such functions may not
# allocate: the scratch arrays are in `Workspace`.
_NO_REFCOUNT: dict[str, Any] = {"_nrt": False}  # a private option: not in numba's stubs
_F = TypeVar("_F", bound=Callable[..., Any])


def _plain(fn: _F) -> _F:
    """Compile `fn` (cached) without reference counting."""
    return cast(_F, njit(cache=True, **_NO_REFCOUNT)(fn))


def _plain_inline(fn: _F) -> _F:
    """Compile `fn` (cached) without reference counting, inlined where it is called."""
    return cast(_F, njit(cache=True, inline="always", **_NO_REFCOUNT)(fn))


# Order of `KernelData.reals`: average removed visits, longest string, split-string
# probability, split depth, blink rate, probability of removing a whole route.
R_AVG_REMOVED, R_MAX_STRING, R_SPLIT, R_DEPTH, R_BLINK, R_ROUTE = range(6)


class KernelData(NamedTuple):
    """What does not change during a search. Tasks are numbered visit by visit:
    visit v owns tasks first_task[v] .. first_task[v + 1] - 1."""

    travel: FloatArray
    dist: FloatArray
    v_start: IntArray
    v_end: IntArray
    v_open: FloatArray
    v_close: FloatArray
    v_capacity: FloatArray
    v_max_duration: FloatArray
    v_max_visits: IntArray
    v_group: IntArray
    v_class: IntArray  # vehicles of one class are interchangeable when empty
    s_node: IntArray
    s_early: FloatArray
    s_late: FloatArray
    s_service: FloatArray
    s_demand: FloatArray
    s_priority: IntArray
    s_mandatory: BoolArray
    s_team: IntArray
    s_same_group: BoolArray
    s_far: FloatArray  # distance to the nearest vehicle start (sort orders of the recreate)
    first_task: IntArray
    t_visit: IntArray
    el_start: IntArray
    el_vehicle: IntArray
    neighbours: IntArray  # (visits, k): nearest other visits, nearest first
    reals: FloatArray


class KernelState(NamedTuple):
    """A solution. `seg_in[t]` is the segment from the route's start through task t,
    `seg_out[t]` from task t through the route's end (columns: duration, warp, early, late).
    `totals` = [distance]; `missing` = [mandatory visits not staffed, their priorities and
    those of the optional ones not staffed]."""

    t_route: IntArray
    t_prev: IntArray
    t_next: IntArray
    t_early: FloatArray
    t_late: FloatArray
    seg_in: FloatArray
    seg_out: FloatArray
    r_first: IntArray
    r_last: IntArray
    r_count: IntArray
    r_load: FloatArray
    r_dist: FloatArray
    s_in: BoolArray
    totals: FloatArray
    missing: IntArray


class Workspace(NamedTuple):
    """Scratch arrays of the search. `stamp` (per vehicle class) and `ruined` (per vehicle)
    hold values of the running counter `mark` [0]; `counters`: iterations, accepted, new bests.
    The `cand_*` arrays list a team's candidate positions (vehicle, after, start interval,
    added distance); `staffed`, `key`, `order`, `rank`, `by_rank`, `sort_buf`, `one` and
    `after` are the ruin's and the recreate's scratch, `veh_*`, `class_count`, `team_r` and
    `team_p` the team insertion's (allocating them there would bring back the reference
    counting)."""

    stamp: IntArray
    mark: IntArray
    ruined: IntArray
    removed: IntArray
    touched: BoolArray
    route_buf: IntArray
    cand_r: IntArray
    cand_p: IntArray
    cand_lo: FloatArray
    cand_hi: FloatArray
    cand_cost: FloatArray
    counters: IntArray
    staffed: IntArray
    key: FloatArray
    order: IntArray
    rank: FloatArray
    by_rank: IntArray
    sort_buf: IntArray
    one: IntArray
    after: IntArray
    veh_cost: FloatArray
    veh_id: IntArray
    veh_pos: IntArray
    veh_group: IntArray
    veh_order: IntArray
    veh_buf: IntArray
    class_count: IntArray
    team_r: IntArray
    team_p: IntArray


@_plain_inline
def _copy(src: NDArray[Any], dst: NDArray[Any]) -> None:
    for i in range(src.size):
        dst[i] = src[i]


@_plain
def copy_state(src: KernelState, dst: KernelState) -> None:
    """Copy the solution (not the segments: `rebuild` restores those)."""
    _copy(src.t_route, dst.t_route)
    _copy(src.t_prev, dst.t_prev)
    _copy(src.t_next, dst.t_next)
    _copy(src.t_early, dst.t_early)
    _copy(src.t_late, dst.t_late)
    _copy(src.r_first, dst.r_first)
    _copy(src.r_last, dst.r_last)
    _copy(src.r_count, dst.r_count)
    _copy(src.r_load, dst.r_load)
    _copy(src.r_dist, dst.r_dist)
    _copy(src.s_in, dst.s_in)
    _copy(src.totals, dst.totals)
    _copy(src.missing, dst.missing)


@_plain
def _recompute(a: KernelData, s: KernelState, r: int) -> None:
    """Segments, load and distance of route r, from its task list."""
    # Arrays are taken out of the tuples once: reading a tuple's array inside a loop costs a
    # reference count each time (hundreds of ns where the loop body costs a few).
    travel, dist, t_visit, s_node = a.travel, a.dist, a.t_visit, a.s_node
    service, demand, t_early, t_late = a.s_service, a.s_demand, s.t_early, s.t_late
    seg_in, seg_out, t_next, t_prev = s.seg_in, s.seg_out, s.t_next, s.t_prev
    old = s.r_dist[r]
    d, w, e, lt = 0.0, 0.0, a.v_open[r], a.v_close[r]
    prev = a.v_start[r]
    load = 0.0
    length = 0.0
    t = s.r_first[r]
    while t != -1:
        v = t_visit[t]
        node = s_node[v]
        d, w, e, lt = merge(d, w, e, lt, travel[prev, node], service[v], 0.0, t_early[t],
                            t_late[t])  # fmt: skip
        seg_in[t, 0] = d
        seg_in[t, 1] = w
        seg_in[t, 2] = e
        seg_in[t, 3] = lt
        length += dist[prev, node]
        load += demand[v]
        prev = node
        t = t_next[t]
    if s.r_first[r] != -1:
        length += dist[prev, a.v_end[r]]
    d, w, e, lt = 0.0, 0.0, a.v_open[r], a.v_close[r]
    nxt = a.v_end[r]
    t = s.r_last[r]
    while t != -1:
        v = t_visit[t]
        node = s_node[v]
        d, w, e, lt = merge(service[v], 0.0, t_early[t], t_late[t], travel[node, nxt], d, w,
                            e, lt)  # fmt: skip
        seg_out[t, 0] = d
        seg_out[t, 1] = w
        seg_out[t, 2] = e
        seg_out[t, 3] = lt
        nxt = node
        t = t_prev[t]
    s.r_load[r] = load
    s.r_dist[r] = length
    s.totals[0] += length - old


@_plain
def rebuild(a: KernelData, s: KernelState) -> None:
    """Recompute every route and the totals from the task lists (after a copy)."""
    s.totals[0] = 0.0
    for r in range(a.v_start.size):
        s.r_dist[r] = 0.0
        _recompute(a, s, r)
    s.totals[0] = s.r_dist.sum()


@_plain
def _unlink(s: KernelState, t: int) -> int:
    r = s.t_route[t]
    p = s.t_prev[t]
    q = s.t_next[t]
    if p == -1:
        s.r_first[r] = q
    else:
        s.t_next[p] = q
    if q == -1:
        s.r_last[r] = p
    else:
        s.t_prev[q] = p
    s.r_count[r] -= 1
    s.t_route[t] = -1
    s.t_prev[t] = -1
    s.t_next[t] = -1
    return int(r)


@_plain
def _link(s: KernelState, t: int, r: int, after: int) -> None:
    """Put task t into route r after task `after` (-1: first)."""
    q = s.r_first[r] if after == -1 else s.t_next[after]
    s.t_prev[t] = after
    s.t_next[t] = q
    if after == -1:
        s.r_first[r] = t
    else:
        s.t_next[after] = t
    if q == -1:
        s.r_last[r] = t
    else:
        s.t_prev[q] = t
    s.r_count[r] += 1
    s.t_route[t] = r


@_plain
def _remove_visit(a: KernelData, s: KernelState, v: int, touched: BoolArray) -> None:
    """Take every task of staffed visit v out of its route (segments stale until recomputed);
    team tasks get their visit's window back."""
    t_route, t_early, t_late = s.t_route, s.t_early, s.t_late
    for t in range(a.first_task[v], a.first_task[v + 1]):
        if t_route[t] != -1:
            touched[_unlink(s, t)] = True
        t_early[t] = a.s_early[v]
        t_late[t] = a.s_late[v]
    s.s_in[v] = False
    s.missing[1] += a.s_priority[v]
    if a.s_mandatory[v]:
        s.missing[0] += 1


@_plain
def _place(a: KernelData, s: KernelState, v: int, vehicles: IntArray, afters: IntArray,
           start: float) -> None:  # fmt: skip
    """Insert visit v's tasks: task j on vehicles[j] after afters[j]; a team is pinned at
    `start`."""
    k = a.s_team[v]
    for j in range(k):
        t = a.first_task[v] + j
        if k > 1:
            s.t_early[t] = start
            s.t_late[t] = start
        _link(s, t, vehicles[j], afters[j])
        _recompute(a, s, vehicles[j])
    s.s_in[v] = True
    s.missing[1] -= a.s_priority[v]
    if a.s_mandatory[v]:
        s.missing[0] -= 1


@_plain_inline
def _fits(d1: float, w1: float, e1: float, l1: float, to_visit: float, service: float,
          early: float, late: float, from_visit: float, d2: float, w2: float, e2: float,
          l2: float, max_duration: float) -> bool:  # fmt: skip
    """Whether a visit (window [early, late], `service`) fits between the segment before it
    and the segment after it, `to_visit` and `from_visit` being the travel times."""
    d, w, e, lt = merge(d1, w1, e1, l1, to_visit, service, 0.0, early, late)
    if w > EPS:
        return False
    d, w, e, lt = merge(d, w, e, lt, from_visit, d2, w2, e2, l2)
    return w <= EPS and d <= max_duration + EPS


@_plain
def _insert_single(a: KernelData, s: KernelState, v: int, blink: float, stamp: IntArray,
                   mark: int, one: IntArray, after: IntArray,
                   rng: np.random.Generator) -> bool:  # fmt: skip
    """Insert visit v (team of one) at its cheapest feasible position; False if none."""
    travel, dist, s_node, t_visit = a.travel, a.dist, a.s_node, a.t_visit
    seg_in, seg_out, t_next, r_first = s.seg_in, s.seg_out, s.t_next, s.r_first
    r_count, r_load, v_class = s.r_count, s.r_load, a.v_class
    v_open, v_close, v_start, v_end = a.v_open, a.v_close, a.v_start, a.v_end
    v_max_visits, v_capacity, v_max_duration = a.v_max_visits, a.v_capacity, a.v_max_duration
    el_vehicle = a.el_vehicle
    node, early, late = s_node[v], a.s_early[v], a.s_late[v]
    service, demand = a.s_service[v], a.s_demand[v]
    best = np.inf
    best_r = -1
    best_p = -1
    for k in range(a.el_start[v], a.el_start[v + 1]):
        r = el_vehicle[k]
        if r_count[r] >= v_max_visits[r] or r_load[r] + demand > v_capacity[r] + EPS:
            continue
        q = r_first[r]
        if q == -1:
            c = v_class[r]
            if stamp[c] == mark:  # an empty vehicle of this class was tried already
                continue
            stamp[c] = mark
        p = -1
        d1, w1, e1, l1, n1 = 0.0, 0.0, v_open[r], v_close[r], v_start[r]
        while True:
            if q == -1:
                d2, w2, e2, l2, n2 = 0.0, 0.0, v_open[r], v_close[r], v_end[r]
            else:
                d2, w2, e2, l2 = seg_out[q, 0], seg_out[q, 1], seg_out[q, 2], seg_out[q, 3]
                n2 = s_node[t_visit[q]]
            added = dist[n1, node] + dist[node, n2]
            if p != -1 or q != -1:
                added -= dist[n1, n2]
            if (
                added < best
                and (blink <= 0.0 or rng.random() >= blink)
                and _fits(d1, w1, e1, l1, travel[n1, node], service, early, late,
                          travel[node, n2], d2, w2, e2, l2, v_max_duration[r])
            ):  # fmt: skip
                best = added
                best_r = r
                best_p = p
            if q == -1:
                break
            p = q
            d1, w1, e1, l1 = seg_in[q, 0], seg_in[q, 1], seg_in[q, 2], seg_in[q, 3]
            n1 = n2
            q = t_next[q]
    if best_r == -1:
        return False
    one[0] = best_r
    after[0] = best_p
    _place(a, s, v, one, after, 0.0)
    return True


@_plain
def _insert_team(a: KernelData, s: KernelState, w: Workspace, v: int) -> bool:
    """Insert visit v on `team` distinct vehicles at one common start time, choosing the time
    and the positions of least added distance; False if no such team exists.

    For each eligible vehicle and position, the start times that fit form an interval
    [lo, hi] (reaching the visit from the route before it; leaving in time for the route
    after it). The best common time can be taken as one of the intervals' lower ends: each is
    tried, keeping per vehicle its cheapest position that admits it (and keeps the route's
    duration within its limit), then the `team` cheapest vehicles (of one group if asked);
    among vehicles of equal cost, the first eligible."""
    travel, dist, s_node, t_visit = a.travel, a.dist, a.s_node, a.t_visit
    buf_r, buf_p, buf_lo, buf_hi, buf_cost = w.cand_r, w.cand_p, w.cand_lo, w.cand_hi, w.cand_cost
    vehicle_cost, vehicle_id, vehicle_pos = w.veh_cost, w.veh_id, w.veh_pos
    vehicle_group, order, empties = w.veh_group, w.veh_order, w.class_count
    seg_in, seg_out, t_next, r_first = s.seg_in, s.seg_out, s.t_next, s.r_first
    v_open, v_close, v_start, v_end = a.v_open, a.v_close, a.v_start, a.v_end
    k = a.s_team[v]
    node, service = s_node[v], a.s_service[v]
    empties[:] = 0  # empty vehicles tried, per class
    choice_r, choice_p = w.team_r, w.team_p
    n = 0
    for idx in range(a.el_start[v], a.el_start[v + 1]):
        r = a.el_vehicle[idx]
        if s.r_count[r] >= a.v_max_visits[r] or (
            s.r_load[r] + a.s_demand[v] > a.v_capacity[r] + EPS
        ):
            continue
        q = r_first[r]
        if q == -1:
            c = a.v_class[r]
            if empties[c] == k:  # k empty vehicles of one class are enough for a team
                continue
            empties[c] += 1
        p = -1
        d1, w1, e1, n1 = 0.0, 0.0, v_open[r], v_start[r]
        while True:
            if q == -1:
                l2, n2 = v_close[r], v_end[r]
            else:
                l2, n2 = seg_out[q, 3], s_node[t_visit[q]]
            lo = max(a.s_early[v], e1 + d1 - w1 + travel[n1, node])
            hi = min(a.s_late[v], l2 - service - travel[node, n2])
            if lo <= hi + EPS:
                added = dist[n1, node] + dist[node, n2]
                if p != -1 or q != -1:
                    added -= dist[n1, n2]
                buf_r[n] = r
                buf_p[n] = p
                buf_lo[n] = lo
                buf_hi[n] = max(lo, hi)
                buf_cost[n] = added
                n += 1
            if q == -1:
                break
            p = q
            d1, w1, e1, n1 = seg_in[q, 0], seg_in[q, 1], seg_in[q, 2], n2
            q = t_next[q]
    if n < k:
        return False
    best_total = np.inf
    best_time = 0.0
    for c in range(n):
        time = buf_lo[c]
        m = 0  # vehicles admitting `time`, cheapest position each (candidates are by vehicle)
        for i in range(n):
            if buf_lo[i] > time + EPS or buf_hi[i] < time - EPS:
                continue
            r, p = buf_r[i], buf_p[i]
            if m > 0 and vehicle_id[m - 1] == r and buf_cost[i] >= vehicle_cost[m - 1]:
                continue
            q = r_first[r] if p == -1 else t_next[p]
            if p == -1:
                d1, w1, e1, l1, n1 = 0.0, 0.0, v_open[r], v_close[r], v_start[r]
            else:
                d1, w1, e1, l1 = seg_in[p, 0], seg_in[p, 1], seg_in[p, 2], seg_in[p, 3]
                n1 = s_node[t_visit[p]]
            if q == -1:
                d2, w2, e2, l2, n2 = 0.0, 0.0, v_open[r], v_close[r], v_end[r]
            else:
                d2, w2, e2, l2 = seg_out[q, 0], seg_out[q, 1], seg_out[q, 2], seg_out[q, 3]
                n2 = s_node[t_visit[q]]
            if not _fits(d1, w1, e1, l1, travel[n1, node], service, time, time,
                         travel[node, n2], d2, w2, e2, l2, a.v_max_duration[r]):  # fmt: skip
                continue
            if m > 0 and vehicle_id[m - 1] == r:
                vehicle_cost[m - 1] = buf_cost[i]
                vehicle_pos[m - 1] = p
                continue
            vehicle_id[m] = r
            vehicle_cost[m] = buf_cost[i]
            vehicle_pos[m] = p
            vehicle_group[m] = a.v_group[r] if a.s_same_group[v] else 0
            m += 1
        if m < k:
            continue
        _stable_argsort(vehicle_cost, m, order, w.veh_buf)
        for g_idx in range(m):  # each group present, led by its cheapest vehicle
            g = vehicle_group[order[g_idx]]
            first = True
            for j in range(g_idx):
                if vehicle_group[order[j]] == g:
                    first = False
                    break
            if not first:
                continue
            total = 0.0
            taken = 0
            for j in range(g_idx, m):
                if vehicle_group[order[j]] == g:
                    total += vehicle_cost[order[j]]
                    taken += 1
                    if taken == k:
                        break
            if taken == k and total < best_total:
                best_total = total
                best_time = time
                taken = 0
                for j in range(g_idx, m):
                    if vehicle_group[order[j]] == g:
                        choice_r[taken] = vehicle_id[order[j]]
                        choice_p[taken] = vehicle_pos[order[j]]
                        taken += 1
                        if taken == k:
                            break
    if best_total == np.inf:
        return False
    _place(a, s, v, choice_r, choice_p, best_time)
    return True


@_plain
def _stable_argsort(key: FloatArray, n: int, out: IntArray, buf: IntArray) -> None:
    """`out[:n]` = the stable ascending order of `key[:n]` (what `np.argsort(key[:n],
    kind="mergesort")` returns, without allocating): a bottom-up merge sort."""
    for i in range(n):
        out[i] = i
    src, dst = out, buf
    in_out = True  # whether `src` is `out`
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j = lo, mid
            for k in range(lo, hi):
                if i < mid and (j >= hi or key[src[i]] <= key[src[j]]):
                    dst[k] = src[i]
                    i += 1
                else:
                    dst[k] = src[j]
                    j += 1
        src, dst = dst, src
        in_out = not in_out
        width *= 2
    if not in_out:
        for i in range(n):
            out[i] = src[i]


@_plain
def _recreate(a: KernelData, s: KernelState, w: Workspace, removed: IntArray, n_removed: int,
              blink: float, rng: np.random.Generator) -> None:  # fmt: skip
    """Insert the removed visits: mandatory first, then (half of the time) by priority, and
    otherwise in an order drawn as in SISR (random 4, largest demand 4, farthest 2,
    closest 1)."""
    if n_removed == 0:
        return
    demand, far, priority, mandatory = a.s_demand, a.s_far, a.s_priority, a.s_mandatory
    key, order, rank, by_rank = w.key, w.order, w.rank, w.by_rank
    draw = rng.random() * 11.0
    for i in range(n_removed):
        v = removed[i]
        if draw < 4.0:
            key[i] = rng.random()
        elif draw < 8.0:
            key[i] = -demand[v]
        elif draw < 10.0:
            key[i] = -far[v]
        else:
            key[i] = far[v]
    _stable_argsort(key, n_removed, order, w.sort_buf)
    # Mandatory visits first, then (in half of the iterations) higher priorities first: the
    # other half lets several smaller visits take the room of a larger one, whose worth the
    # acceptance then weighs.
    by_priority = rng.random() < 0.5
    for i in range(n_removed):
        v = removed[order[i]]
        rank[i] = (-float(priority[v]) if by_priority else 0.0) - (1e18 if mandatory[v] else 0.0)
    _stable_argsort(rank, n_removed, by_rank, w.sort_buf)
    one, after, stamp, mark = w.one, w.after, w.stamp, w.mark
    for i in range(n_removed):
        v = removed[order[by_rank[i]]]
        mark[0] += 1
        if a.s_team[v] == 1:
            _insert_single(a, s, v, blink, stamp, mark[0], one, after, rng)
        else:
            _insert_team(a, s, w, v)


@_plain
def insert_all(a: KernelData, s: KernelState, w: Workspace, rng: np.random.Generator) -> None:
    """Insert every visit not staffed yet (the first solution, from empty routes)."""
    removed, s_in = w.removed, s.s_in
    n = 0
    for v in range(s_in.size):
        if not s_in[v]:
            removed[n] = v
            n += 1
    _recreate(a, s, w, removed, n, 0.0, rng)


@_plain
def _list_staffed(s_in: BoolArray, staffed: IntArray) -> int:
    """List the staffed visits in `staffed`; returns how many."""
    n = 0
    for v in range(s_in.size):
        if s_in[v]:
            staffed[n] = v
            n += 1
    return n


@_plain
def _ruin(a: KernelData, s: KernelState, w: Workspace, rng: np.random.Generator, draw: float,
          seed: int) -> int:  # fmt: skip
    """Remove strings of visits from routes near the staffed visit `seed` (marking the routes
    in `touched`), `draw` (uniform in [0, 1)) deciding how many strings; returns how many
    visits were removed (listed in `removed`)."""
    removed, touched, ruined, route_buf = w.removed, w.touched, w.ruined, w.route_buf
    mark = w.mark[0]
    s_in = s.s_in
    r_count = s.r_count
    tasks, used = 0, 0
    for r in range(r_count.size):
        tasks += r_count[r]
        used += 1 if r_count[r] > 0 else 0
    avg = float(tasks) / max(used, 1)
    ls_max = min(a.reals[R_MAX_STRING], avg)
    ks_max = 4.0 * a.reals[R_AVG_REMOVED] / (1.0 + ls_max) - 1.0
    ks = int(draw * ks_max) + 1
    n_removed = 0
    if rng.random() < a.reals[R_ROUTE]:
        # The seed's whole route: strings of at most 10 never empty a route of 30, and with a
        # free fleet one route too many is a trap (C206 ended with 4 routes where 3 do).
        r = s.t_route[a.first_task[seed]]
        ruined[r] = mark
        x = s.r_first[r]
        while x != -1:
            nxt = s.t_next[x]
            v = a.t_visit[x]
            if s.s_in[v]:
                _remove_visit(a, s, v, touched)
                removed[n_removed] = v
                n_removed += 1
            x = nxt
        return n_removed
    strings = 0
    neighbours = a.neighbours[seed]
    t_route, t_next, r_first = s.t_route, s.t_next, s.r_first
    t_visit, first_task = a.t_visit, a.first_task
    for idx in range(-1, neighbours.size):
        if strings >= ks:
            break
        c = seed if idx == -1 else neighbours[idx]
        if not s_in[c]:
            continue
        t = first_task[c]
        r = t_route[t]
        if ruined[r] == mark:
            continue
        ruined[r] = mark
        strings += 1
        size = 0
        x = r_first[r]
        at = 0
        while x != -1:
            if x == t:
                at = size
            route_buf[size] = x
            size += 1
            x = t_next[x]
        length = int(rng.random() * min(float(size), ls_max)) + 1
        length = min(length, size)
        keep = 0
        if length < size and rng.random() < a.reals[R_SPLIT]:
            keep = 1
            while keep < size - length and rng.random() > a.reals[R_DEPTH]:
                keep += 1
        span = length + keep
        lo = max(0, at - span + 1)
        hi = min(at, size - span)
        first = lo + int(rng.random() * (hi - lo + 1))
        kept_from = first + int(rng.random() * (length + 1)) if keep else -1
        for i in range(first, first + span):
            if keep and kept_from <= i < kept_from + keep:
                continue
            v = t_visit[route_buf[i]]
            if s_in[v]:
                _remove_visit(a, s, v, touched)
                removed[n_removed] = v
                n_removed += 1
    return n_removed


@_plain
def _better(m0: int, p0: int, d0: float, m1: int, p1: int, d1: float) -> bool:
    """(mandatory missing, priority missing, distance) m0/p0/d0 strictly better than m1..."""
    if m0 != m1:
        return m0 < m1
    if p0 != p1:
        return p0 < p1
    return d0 < d1 - 1e-9


@njit(cache=True)
def run(a: KernelData, s: KernelState, backup: KernelState, best: KernelState, w: Workspace,
        iterations: int, temperature: float, rng: np.random.Generator) -> None:  # fmt: skip
    """`iterations` of ruin and recreate at a fixed temperature. Only the ruin's draws are
    here (`rng.integers` allocates, so this function keeps numba's reference counting); the
    rest of an iteration is `_iterate`."""
    s_in, staffed, mark = s.s_in, w.staffed, w.mark
    for _ in range(iterations):
        copy_state(s, backup)
        mark[0] += 1
        n_staffed = _list_staffed(s_in, staffed)
        draw, seed = 0.0, -1
        if n_staffed > 0:
            draw = rng.random()
            seed = staffed[rng.integers(0, n_staffed)]
        _iterate(a, s, backup, best, w, temperature, rng, draw, seed)


@_plain
def _iterate(a: KernelData, s: KernelState, backup: KernelState, best: KernelState,
             w: Workspace, temperature: float, rng: np.random.Generator, draw: float,
             seed: int) -> None:  # fmt: skip
    """One iteration from `backup` = `s`: ruin around `seed` (none when -1), recreate, and
    accept or go back to `backup`."""
    blink = a.reals[R_BLINK]
    touched, removed, first_task, t_route = w.touched, w.removed, a.first_task, s.t_route
    s_in, el_start = s.s_in, a.el_start
    touched[:] = False
    if seed != -1:
        _ruin(a, s, w, rng, draw, seed)
    for r in range(touched.size):
        if touched[r]:
            _recompute(a, s, r)
    # The recreate tries every visit left out, not only those just removed: a visit left
    # out earlier may fit now.
    n_removed = 0
    for v in range(s_in.size):
        if not s_in[v] and el_start[v + 1] > el_start[v]:
            removed[n_removed] = v
            n_removed += 1
    _recreate(a, s, w, removed, n_removed, blink, rng)
    w.counters[0] += 1
    m_new, p_new, d_new = s.missing[0], s.missing[1], s.totals[0]
    m_old, p_old, d_old = backup.missing[0], backup.missing[1], backup.totals[0]
    accept = m_new < m_old or (m_new == m_old and p_new < p_old)
    if not accept and m_new == m_old and p_new == p_old:
        accept = d_new < d_old - temperature * np.log(rng.random())
    if accept:
        w.counters[1] += 1
        if _better(m_new, p_new, d_new, best.missing[0], best.missing[1], best.totals[0]):
            copy_state(s, best)
            w.counters[2] += 1
    else:
        # Every route the ruin or the recreate changed: those the ruin touched, and those
        # holding a removed visit now.
        for i in range(n_removed):
            v = removed[i]
            for t in range(first_task[v], first_task[v + 1]):
                if t_route[t] != -1:
                    touched[t_route[t]] = True
        copy_state(backup, s)
        for r in range(touched.size):
            if touched[r]:
                _recompute(a, s, r)
        s.totals[0] = backup.totals[0]  # exactly, not up to the recomputations' rounding

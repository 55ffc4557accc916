"""Tabu search over a selection of pairs: shift, swap and ejection-chain moves under adaptive
capacity penalties, on dense windows of the problem.

The search keeps every request's headcount fixed: a *slot* is one chosen pair, and a move gives
a slot's request to another volunteer. So coverage and staffing never change, and the search
minimises travel (tier 2), then the soft score (tier 3), as one objective
`cost - eps * bonus + eps * fairness` with `eps` small enough to keep the tier order.

Moves (the neighbourhoods of the GAP literature, e.g. Yagiura, Ibaraki and Glover's ejection
chains):
- shift: slot k goes to volunteer u;
- swap: slots k1 and k2 of two volunteers trade volunteers;
- chain: k1 goes to k2's volunteer, which ejects k2 to the best third volunteer.
Volunteer capacity (load) may be exceeded during the search, at a price per unit of excess that
adapts per volunteer (up while it is over, down while the plan is feasible), so the search
oscillates around the feasibility boundary instead of stalling against it; the best feasible
plan seen is kept. Every other rule is hard in every move: pairs must exist, at most
`max_pairs` per volunteer, conflict sets (and one pair per request and volunteer), pinned pairs
stay.

Each iteration evaluates the whole neighbourhood of a *window* at once with numpy: the slots of
a set of volunteers, as dense (slots x volunteers) and (slots x slots) matrices. Small problems
(the GAP up to a few hundred jobs) are one window; larger ones are searched window by window,
each built around a random slot from the volunteers its request could go to, and a window's
result is kept when it is no worse (a large-neighbourhood search with tabu search inside).
Deterministic for a given seed and iteration budget; the deadline only decides how far the
same trajectory goes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..problem import BoolArray, FloatArray, IntArray, ProblemData
from .base import Control, Deadline
from .state import Incidence, Selection

__all__ = ["SearchStats", "local_search", "searched_whole"]

log = logging.getLogger(__name__)

# A problem this small is searched as one window: slots (rows), volunteers (columns); the swap
# and chain matrices are (share of slots) x slots.
_MAX_SLOTS = 400
_MAX_VOLUNTEERS = 96
# Else windows of at most this many, each searched until it stops improving.
_WINDOW_SLOTS = 200
_WINDOW_VOLUNTEERS = 48
# Iterations without a new best before a lone window goes back to its best plan: max(a, b * slots).
_PATIENCE = (100, 2.0)
# Share of the time for the start rounded from the hint, on problems of several windows, tried
# when the plan's travel exceeds the hint's by more than this (relative), or staffing is short.
_HINT_SHARE = 0.7
_HINT_GAP = 0.005
# (volunteer, request) lookups use a dense table up to this many cells, else binary search.
_DENSE_LOOKUP = 1 << 22
# Penalty weights: multiplicative steps up (volunteer over capacity) and down (plan feasible),
# and bounds relative to the initial weight.
_WEIGHT_UP = 0.02
_WEIGHT_DOWN = 0.01
_WEIGHT_RANGE = (1e-3, 1e3)
# Tabu tenure: a slot may not return to a volunteer it left for this many iterations.
_TENURE = (2, 7)
# Nearest candidate volunteers of a request taken into a window (plus a few random ones).
_WINDOW_NEAREST = 6
_WINDOW_RANDOM = 2
# Swaps and chains start from every slot in windows up to this size, else from a random share.
_ALL_ROWS = 64
_ROW_SHARE = 0.25
_INF = np.inf


@dataclass
class SearchStats:
    """What one run of the search did (for logs and tests)."""

    iterations: int = 0
    moves: int = 0
    improvements: int = 0
    windows: int = 0
    seconds: float = 0.0


def local_search(
    data: ProblemData,
    selected: BoolArray,
    deadline: Deadline,
    control: Control,
    *,
    seed: int,
    staff: IntArray | None = None,
    hint: FloatArray | None = None,
    max_iterations: int | None = None,
    stats: SearchStats | None = None,
) -> BoolArray:
    """The best plan found from `selected`, never lexicographically worse. The search keeps each
    request's headcount, except that requests in `staff` below their minimum are given
    volunteers first. With `hint` (a fractional plan, such as an LP optimum, one value per
    pair), on problems searched window by window, it may first try a second start: the same
    headcounts on the volunteers the hint prefers (which may break load caps: the search repairs
    them). A second start, from the hint or for `staff`, gets part of the time and is kept if
    it ends better than `selected`. Stops at the deadline, on a stop request, or after
    `max_iterations` tabu iterations."""
    from .optimal import lexicographic_key

    started = time.perf_counter()
    stats = stats if stats is not None else SearchStats()
    rng = np.random.default_rng(seed)
    budget = max_iterations if max_iterations is not None else np.iinfo(np.int64).max
    static = _Static(data)
    plan = selected.copy()
    other = None
    share = 0.5
    short = staff is not None and len(staff) > 0
    if (
        hint is not None
        and not searched_whole(data, selected)
        and (short or _far_from(data, selected, hint))
    ):
        # There the hint (an LP optimum) is much closer to the optimum than a time-limited
        # MIP's plan; small problems are solved better from the plan itself.
        other = _round(static, selected, hint, staff, deadline)
        share = _HINT_SHARE
    if other is None and staff is not None and short:
        other = _fill(static, selected, staff)
    kept = False
    if other is not None:
        part = Deadline(deadline.remaining() * share)
        other = _run(static, other, rng, stats, budget, part, control)
        if lexicographic_key(data, other) > lexicographic_key(data, plan):
            plan, kept = other, True
    plan = _run(static, plan, rng, stats, budget, deadline, control)
    stats.seconds = time.perf_counter() - started
    log.debug(
        "local search: %d iterations, %d improvements, %d windows, second start %s (%.2fs)",
        stats.iterations, stats.improvements, stats.windows,
        "none" if other is None else "kept" if kept else "dropped", stats.seconds,
    )  # fmt: skip
    return plan


def searched_whole(data: ProblemData, selected: BoolArray) -> bool:
    """Whether the search takes the whole problem as one window (else window by window)."""
    return int(selected.sum()) <= _MAX_SLOTS and data.num_volunteers <= _MAX_VOLUNTEERS


def _far_from(data: ProblemData, selected: BoolArray, hint: FloatArray) -> bool:
    """Whether the plan's travel exceeds the hint's by more than `_HINT_GAP` (relative)."""
    plan = float(data.pair_cost[selected].sum())
    lower = float(data.pair_cost @ hint)
    return plan - lower > _HINT_GAP * max(abs(lower), 1.0)


def _run(
    static: _Static,
    selected: BoolArray,
    rng: np.random.Generator,
    stats: SearchStats,
    budget: int,
    deadline: Deadline,
    control: Control,
) -> BoolArray:
    data = static.data
    search = _Search(static, selected, rng)
    if search.num_slots == 0 or data.num_volunteers < 2:
        return selected.copy()
    single = searched_whole(data, selected)
    while stats.iterations < budget and not deadline.expired() and not control.should_stop():
        volunteers = search.all_volunteers() if single else search.window_volunteers()
        window = _Window(search, volunteers)
        stats.windows += 1
        window.run(stats, budget, deadline, control, endless=single)
        window.commit()
    return search.selected


def _round(
    static: _Static,
    selected: BoolArray,
    hint: FloatArray,
    staff: IntArray | None,
    deadline: Deadline,
) -> BoolArray | None:
    """A plan with the headcounts of `selected` (raised to the minimum for `staff`) on the
    pairs `hint` values most (then those of `selected`, then the cheapest), keeping every rule
    but load caps where it must. None when some request cannot be staffed so, when the plan is
    `selected` itself, or when the deadline strikes."""
    d = static.data
    target = np.bincount(d.pair_request[selected], minlength=d.num_requests)
    if staff is not None and len(staff):
        target[staff] = np.maximum(target[staff], d.request_min[staff])
    wanted = target[d.pair_request] > 0
    # Pinned pairs first, then the hint's support, then everything else of wanted requests.
    first = np.flatnonzero(wanted & ((hint > 1e-6) | selected | d.pair_pinned))
    order = first[np.lexsort((d.pair_cost[first], ~selected[first], -hint[first],
                              ~d.pair_pinned[first]))]  # fmt: skip
    out = _place(static, order, target, deadline)
    if out is None or np.array_equal(out, selected):
        return None
    return out


def _place(
    static: _Static, order: IntArray, target: IntArray, deadline: Deadline
) -> BoolArray | None:
    """Take the pairs of `order` in turn while their request is below `target`, their volunteer
    within its pair cap and conflict sets, and (first pass) within its load cap; a second pass
    lets loads exceed the caps; a third takes any pair of the requests still short, the least
    excess first. None if some request stays short (or the deadline strikes)."""
    d, inc = static.data, static.inc
    sel = Selection(d, inc) if d.num_conflict_sets else None
    out = np.zeros(d.num_pairs, dtype=bool)
    filled = np.zeros(d.num_requests, dtype=np.int64)
    count = np.zeros(d.num_volunteers, dtype=np.int64)
    load = np.zeros(d.num_volunteers, dtype=np.int64)
    for stage in range(3):
        if stage == 2:
            short = np.flatnonzero(filled < target)
            if len(short) == 0:
                break
            order = np.concatenate([inc.pairs_of_request(int(r)) for r in short])
            vs = d.pair_volunteer[order]
            excess = load[vs] + d.pair_load[order] - d.volunteer_capacity[vs]
            order = order[np.lexsort((d.pair_cost[order], np.maximum(excess, 0)))]
        for step, p in enumerate(order.tolist()):
            if step % 1024 == 0 and deadline.expired():
                return None
            r, v = int(d.pair_request[p]), int(d.pair_volunteer[p])
            if out[p] or filled[r] >= target[r] or count[v] >= d.volunteer_max_pairs[v]:
                continue
            if stage == 0 and load[v] + d.pair_load[p] > d.volunteer_capacity[v]:
                continue
            if sel is not None:
                if sel.blocked[p]:
                    continue
                sel.add(p)
            out[p] = True
            filled[r] += 1
            count[v] += 1
            load[v] += d.pair_load[p]
    return out if np.all(filled >= target) else None


def _fill(static: _Static, selected: BoolArray, requests: IntArray) -> BoolArray | None:
    """`selected` plus volunteers for each of `requests` below its minimum, ignoring load caps
    (the search then prices them) but keeping every other rule; the volunteer with the most
    room left first, then the cheapest. None if some request cannot be staffed so."""
    data, inc = static.data, static.inc
    sel = Selection.of(data, selected, inc) if data.num_conflict_sets else None
    out = selected.copy()
    load = np.bincount(
        data.pair_volunteer[out], weights=data.pair_load[out], minlength=data.num_volunteers
    )
    count = np.bincount(data.pair_volunteer[out], minlength=data.num_volunteers)
    for r in requests.tolist():
        pairs = inc.pairs_of_request(r)
        need = int(data.request_min[r] - out[pairs].sum())
        while need > 0:
            v = data.pair_volunteer[pairs]
            ok = ~out[pairs] & (count[v] < data.volunteer_max_pairs[v])
            if sel is not None:
                ok &= sel.blocked[pairs] == 0
            if not ok.any():
                return None
            over = np.maximum(load[v] + data.pair_load[pairs] - data.volunteer_capacity[v], 0)
            order = np.lexsort((data.pair_cost[pairs], over, ~ok))
            p = int(pairs[order[0]])
            out[p] = True
            load[data.pair_volunteer[p]] += data.pair_load[p]
            count[data.pair_volunteer[p]] += 1
            if sel is not None:
                sel.add(p)
            need -= 1
    return out


class _Static:
    """What the search derives from the problem alone, built once per call: pairs by request
    and volunteer, the (volunteer, request) lookup, the objective per pair, the fairness table."""

    def __init__(self, data: ProblemData) -> None:
        d = self.data = data
        self.inc = Incidence.of(d)
        self.num_requests = max(d.num_requests, 1)
        keys = d.pair_keys()
        self.table: NDArray[np.int32] | None = None
        if d.num_volunteers * self.num_requests <= _DENSE_LOOKUP:
            self.table = np.full(d.num_volunteers * self.num_requests, -1, dtype=np.int32)
            self.table[keys] = np.arange(d.num_pairs, dtype=np.int32)
        else:
            order = np.argsort(keys, kind="stable")
            self.sorted_keys = keys[order]
            self.key_pair = order.astype(np.int64)
        # Soft terms weigh eps per unit: their whole range stays below a quarter unit of cost.
        bp, slopes = d.fairness_breakpoints, d.fairness_slopes
        self.has_fairness = bool(len(slopes)) and bool(np.any(slopes != 0))
        order = np.argsort(bp, kind="stable")
        self.fair_bp = bp[order].astype(np.float64)
        self.fair_s1 = np.concatenate([[0.0], np.cumsum(slopes[order])])
        self.fair_s2 = np.concatenate([[0.0], np.cumsum(slopes[order] * bp[order])])
        reach = np.minimum(
            d.volunteer_capacity,
            np.bincount(d.pair_volunteer, weights=d.pair_load, minlength=d.num_volunteers),
        )
        soft_range = float(np.abs(d.pair_bonus).sum()) + float(self.fairness(reach).sum())
        self.eps = 0.25 / (soft_range + 1.0)
        self.value = d.pair_cost.astype(np.float64) - self.eps * d.pair_bonus
        # Initial price of a unit of excess load: the cost spread per average load.
        spread = float(np.ptp(d.pair_cost)) if d.num_pairs else 1.0
        positive = d.pair_load[d.pair_load > 0]
        unit = float(positive.mean()) if len(positive) else 1.0
        self.weight0 = max(spread, 1.0) / unit
        self.has_conflicts = d.num_conflict_sets > 0 or bool(np.any(d.request_max > 1))

    def fairness(self, load: FloatArray | IntArray) -> FloatArray:
        """The fairness penalty of each load (0 without fairness terms)."""
        if not self.has_fairness:
            return np.zeros(np.shape(load))
        i = np.searchsorted(self.fair_bp, load, side="left")
        return np.asarray(self.fair_s1[i] * load - self.fair_s2[i], dtype=np.float64)

    def lookup(self, volunteers: IntArray, requests: IntArray) -> IntArray:
        """The pair of each (volunteer, request), or -1."""
        keys = volunteers * self.num_requests + requests
        if self.table is not None:
            hit: IntArray = self.table[keys].astype(np.int64)
            return hit
        i = np.minimum(np.searchsorted(self.sorted_keys, keys), len(self.sorted_keys) - 1)
        found: IntArray = np.where(self.sorted_keys[i] == keys, self.key_pair[i], -1)
        return found


class _Search:
    """The current plan of the whole problem (never worse than the start), searched window by
    window."""

    def __init__(self, static: _Static, selected: BoolArray, rng: np.random.Generator) -> None:
        d = self.data = static.data
        self.static = static
        self.inc = static.inc
        self.rng = rng
        self.eps, self.value, self.weight0 = static.eps, static.value, static.weight0
        self.has_fairness, self.has_conflicts = static.has_fairness, static.has_conflicts
        self.fairness, self.lookup = static.fairness, static.lookup
        self.selected = selected.copy()
        self.slot_pair = np.flatnonzero(selected).astype(np.int64)
        self.slot_volunteer = d.pair_volunteer[self.slot_pair].copy()
        self.num_slots = len(self.slot_pair)
        self.load = np.bincount(
            d.pair_volunteer[selected], weights=d.pair_load[selected], minlength=d.num_volunteers
        ).astype(np.int64)
        self.count = np.bincount(d.pair_volunteer[selected], minlength=d.num_volunteers)
        self.weight = np.full(d.num_volunteers, self.weight0)

    def all_volunteers(self) -> IntArray:
        return np.arange(self.data.num_volunteers, dtype=np.int64)

    def window_volunteers(self) -> IntArray:
        """Volunteers around a random slot: breadth first over requests, each adding its nearest
        candidates (and a few random ones) with all their slots, within the window limits."""
        d, inc, rng = self.data, self.inc, self.rng
        per_volunteer = np.bincount(self.slot_volunteer, minlength=d.num_volunteers)
        over = np.flatnonzero((self.load > d.volunteer_capacity) & (per_volunteer > 0))
        if len(over):  # repair first where the caps are broken
            first = int(rng.choice(over))
        else:
            first = int(self.slot_volunteer[rng.integers(self.num_slots)])
        chosen = [first]
        in_window = {first}
        slots = int(per_volunteer[first])
        queue = [int(r) for r in d.pair_request[self.slot_pair[self.slot_volunteer == first]]]
        rng.shuffle(queue)
        seen = set(queue)
        while queue and len(chosen) < _WINDOW_VOLUNTEERS:
            r = queue.pop(0)
            pairs = inc.pairs_of_request(r)
            # The nearest few, the ones with the most room left (where a repair can go), more
            # of the nearest, a few at random.
            rest = pairs[_WINDOW_NEAREST:]
            v_all = d.pair_volunteer[pairs]
            room = d.volunteer_capacity[v_all] - self.load[v_all] - d.pair_load[pairs]
            roomy = pairs[np.argsort(-room, kind="stable")[:_WINDOW_RANDOM]]
            extra = rng.choice(rest, min(_WINDOW_RANDOM, len(rest)), replace=False)
            half = _WINDOW_NEAREST // 2
            near = np.concatenate([pairs[:half], roomy, pairs[half:_WINDOW_NEAREST], extra])
            for v in d.pair_volunteer[near].tolist():
                if v in in_window or slots + per_volunteer[v] > _WINDOW_SLOTS:
                    continue
                in_window.add(v)
                chosen.append(v)
                slots += int(per_volunteer[v])
                held = d.pair_request[self.slot_pair[self.slot_volunteer == v]].tolist()
                fresh = [q for q in held if q not in seen]
                seen.update(fresh)
                queue.extend(fresh)
                if len(chosen) >= _WINDOW_VOLUNTEERS:
                    break
        return np.asarray(chosen, dtype=np.int64)


_Move = tuple[int, int, int, int]  # (kind, k1, k2 or -1, volunteer or -1)


class _Moves(NamedTuple):
    """One evaluation of a window's neighbourhood: penalised changes, the hard rules (ok_*),
    and not tabu (free_*). Shifts are (slots x volunteers); swaps and chains (rows x slots)."""

    rows: IntArray
    shift: FloatArray
    ok_shift: BoolArray
    free_shift: BoolArray
    swap: FloatArray
    ok_swap: BoolArray
    free_swap: BoolArray
    chain: FloatArray
    ok_chain: BoolArray
    chain_target: IntArray
    # Excess over capacity: now (per volunteer), of each slot's volunteer without it, and of
    # the volunteers receiving in shifts, swaps ("in": k2's, "back": rows[i]'s).
    over0: IntArray
    over_out: IntArray
    over_add: IntArray
    over_in: IntArray
    over_back: IntArray


class _Window:
    """The slots of a set of volunteers as dense matrices, and a tabu search over them."""

    def __init__(self, search: _Search, volunteers: IntArray) -> None:
        s = self.search = search
        d = s.data
        self.volunteers = volunteers
        local = np.full(d.num_volunteers, -1, dtype=np.int64)
        local[volunteers] = np.arange(len(volunteers))
        self.slots = np.flatnonzero(local[s.slot_volunteer] >= 0)
        n, m = len(self.slots), len(volunteers)
        self.n, self.m = n, m
        requests = d.pair_request[s.slot_pair[self.slots]]
        self.pair = s.lookup(
            np.broadcast_to(volunteers[None, :], (n, m)).ravel(), np.repeat(requests, m)
        ).reshape(n, m)
        exists = self.valid = self.pair >= 0
        safe = np.where(exists, self.pair, 0)
        self.value = np.where(exists, s.value[safe], _INF)
        self.size = np.where(exists, d.pair_load[safe], 0)
        self.assigned = local[s.slot_volunteer[self.slots]]
        self.start = self.assigned.copy()
        self.movable = ~d.pair_pinned[s.slot_pair[self.slots]]
        self.capacity = d.volunteer_capacity[volunteers]
        self.max_pairs = d.volunteer_max_pairs[volunteers]
        self.load = s.load[volunteers].copy()
        self.count = s.count[volunteers].copy()
        self.weight = s.weight[volunteers].copy()
        self.rows = np.arange(n)
        self.cols = np.arange(m)
        # clash[k1, k2]: one volunteer cannot hold both slots' requests (same request, or a
        # shared conflict set); blocked[k, u]: how many of u's slots clash with k.
        self.clash: BoolArray | None = None
        self.blocked: IntArray | None = None
        if s.has_conflicts and n:
            self.clash = _clashes(d, requests)
            onehot = np.zeros((n, m), dtype=np.int64)
            onehot[self.rows, self.assigned] = 1
            self.blocked = self.clash.astype(np.int64) @ onehot
        self.tabu = np.zeros((n, m), dtype=np.int64)
        self.iteration = 0

    # -- the objective --------------------------------------------------------------------------

    def penalty(self, cols: IntArray, load: IntArray) -> FloatArray:
        """Price of volunteers `cols` (window indices) carrying `load`: weighted excess
        (broadcasting)."""
        return np.asarray(
            self.weight[cols] * np.maximum(load - self.capacity[cols], 0), dtype=np.float64
        )

    def soft(self, load: IntArray) -> FloatArray:
        """eps times the fairness penalty of each load."""
        return self.search.eps * self.search.fairness(load)

    def excess(self, cols: IntArray, load: IntArray) -> IntArray:
        return np.asarray(np.maximum(load - self.capacity[cols], 0), dtype=np.int64)

    def objective(self) -> float:
        """Travel and soft terms of the window's slots (no capacity penalty)."""
        value = float(self.value[self.rows, self.assigned].sum())
        if self.search.has_fairness:
            value += self.search.eps * float(self.search.fairness(self.load).sum())
        return value

    def key(self) -> tuple[int, float]:
        return int((self.load > self.capacity).sum()), self.objective()

    # -- the search -----------------------------------------------------------------------------

    def run(
        self, stats: SearchStats, budget: int, deadline: Deadline, control: Control, *,
        endless: bool,
    ) -> None:  # fmt: skip
        """Tabu search until the budget, the deadline, or (unless `endless`) stagnation; the
        window ends in its best state."""
        if self.n == 0 or self.m < 2:
            return
        rng = self.search.rng
        best_key = self.key()
        best = self.assigned.copy()
        last_best = 0
        patience = int(
            max(_PATIENCE[0], _PATIENCE[1] * self.n) if endless else max(30, self.n // 2)
        )
        while stats.iterations < budget:
            if deadline.expired() or (stats.iterations % 64 == 0 and control.should_stop()):
                break
            stats.iterations += 1
            self.iteration += 1
            move = self._choose(self._evaluate(self._candidates(rng)), best_key)
            if move is None:
                break
            self._apply(move, rng)
            stats.moves += 1
            over = self.load > self.capacity
            lo, hi = _WEIGHT_RANGE
            if over.any():
                self.weight[over] = np.minimum(
                    self.weight[over] * (1 + _WEIGHT_UP), hi * self.search.weight0
                )
            else:
                self.weight = np.maximum(self.weight * (1 - _WEIGHT_DOWN), lo * self.search.weight0)
            key = self.key()
            if key[0] < best_key[0] or (key[0] == best_key[0] and key[1] < best_key[1] - 1e-9):
                best_key, best, last_best = key, self.assigned.copy(), self.iteration
                stats.improvements += 1
            elif self.iteration - last_best > patience:
                if not endless:
                    break
                # Intensify: back to the best plan, with fresh tabu memory.
                self._reset(best)
                last_best = self.iteration
        self._reset(best)

    def _reset(self, assigned: IntArray) -> None:
        self.assigned = assigned.copy()
        k = self.rows
        self.load = (
            np.bincount(assigned, weights=self.size[k, assigned], minlength=self.m).astype(np.int64)
            + self._outside_load()
        )
        self.count = np.bincount(assigned, minlength=self.m) + self._outside_count()
        if self.clash is not None:
            onehot = np.zeros((self.n, self.m), dtype=np.int64)
            onehot[k, assigned] = 1
            self.blocked = self.clash.astype(np.int64) @ onehot
        self.tabu[:] = 0

    def _outside_load(self) -> IntArray:
        """Load of window volunteers from pairs outside the window's slots (none: a window
        holds all slots of its volunteers)."""
        return np.zeros(self.m, dtype=np.int64)

    def _outside_count(self) -> IntArray:
        return np.zeros(self.m, dtype=np.int64)

    def _evaluate(self, rows: IntArray) -> _Moves:
        """Penalised changes of every shift (from every slot) and of every swap and chain
        starting at the slots `rows` (a candidate list), with which are allowed by the hard
        rules and which are tabu."""
        k, v = self.rows, self.assigned
        slack = self.capacity - self.load
        weight = self.weight
        over0 = np.maximum(-slack, 0)
        pen0 = weight * over0
        size_v = self.size[k, v]
        value_v = self.value[k, v]
        slack_left = slack[v] + size_v  # slack of each slot's volunteer without it
        over_out = np.maximum(-slack_left, 0)
        leave = weight[v] * over_out - pen0[v] - value_v  # slot leaves its volunteer
        soft = self.search.has_fairness
        soft0 = self.soft(self.load) if soft else np.zeros(self.m)
        if soft:
            leave = leave + self.soft(self.load[v] - size_v) - soft0[v]
        tabu = self.tabu > self.iteration
        # Shift: every slot k to every volunteer u.
        over_add = np.maximum(self.size - slack, 0)
        add = self.value + (weight * over_add - pen0)  # n x m: k joins u
        if soft:
            add += self.soft(self.load + self.size) - soft0
        ok_add = self.valid & (self.count < self.max_pairs)
        ok_add[k, v] = False
        if self.blocked is not None:
            ok_add &= self.blocked == 0
        shift = add + leave[:, None]
        ok_shift = ok_add & self.movable[:, None]
        # Swaps and chains from `rows`: rows[i] enters k2's volunteer as k2 leaves ("enter");
        # for swaps k2 enters rows[i]'s volunteer as rows[i] leaves ("back").
        v1 = v[rows]
        cross = np.ix_(rows, v)
        size_in = self.size[cross]
        over_in = np.maximum(size_in - slack_left[None, :], 0)
        enter = self.value[cross] + (weight[v] * over_in - pen0[v])
        back_ix = np.ix_(k, v1)
        size_back = self.size[back_ix].T
        over_back = np.maximum(size_back - slack_left[rows][:, None], 0)
        back = self.value[back_ix].T + (weight[v1][:, None] * over_back - pen0[v1][:, None])
        if soft:
            enter += self.soft(self.load[v][None, :] - size_v[None, :] + size_in)
            enter -= soft0[v][None, :]
            back += self.soft(self.load[v1][:, None] - size_v[rows][:, None] + size_back)
            back -= soft0[v1][:, None]
        ok_in = self.valid[cross] & (v1[:, None] != v[None, :])
        ok_in &= self.movable[None, :] & self.movable[rows][:, None]
        ok_back = self.valid[back_ix].T
        if self.blocked is not None and self.clash is not None:
            ok_in &= (self.blocked[cross] - self.clash[rows]) == 0
            ok_back &= (self.blocked[back_ix].T - self.clash[rows]) == 0
        # enter and back hold the whole change of k2's and rows[i]'s volunteers.
        swap = enter + back - value_v[rows][:, None] - value_v[None, :]
        ok_swap = ok_in & ok_back
        tabu_in = tabu[cross]
        free_swap = ok_swap & ~tabu_in & ~tabu[back_ix].T
        # Chain: rows[i] enters k2's volunteer, k2 goes to its best volunteer other than its
        # own and rows[i]'s (so the two best per slot are enough).
        gain = np.where(ok_add & ~tabu, add, _INF)
        if self.m >= 3:
            top = np.argpartition(gain, 1, axis=1)[:, :2]
        else:
            top = np.stack([np.argmin(gain, axis=1)] * 2, axis=1)
        best2 = np.take_along_axis(gain, top, axis=1)
        flip = best2[:, 0] > best2[:, 1]
        top[flip] = top[flip][:, ::-1]
        best2.sort(axis=1)
        own = top[:, 0][None, :] == v1[:, None]  # [i, k2]: k2's best is rows[i]'s volunteer
        third = np.where(own, best2[:, 1][None, :], best2[:, 0][None, :])
        target = np.where(own, top[:, 1][None, :], top[:, 0][None, :])
        chain = enter + third + leave[rows][:, None] - value_v[None, :]
        ok_chain = ok_in & ~tabu_in & np.isfinite(third)
        # Excess after each move, for aspiration (a move touches at most three volunteers).
        return _Moves(
            rows=rows, shift=shift, ok_shift=ok_shift, free_shift=ok_shift & ~tabu,
            swap=swap, ok_swap=ok_swap, free_swap=free_swap,
            chain=chain, ok_chain=ok_chain, chain_target=target,
            over0=over0, over_out=over_out, over_add=over_add, over_in=over_in,
            over_back=over_back,
        )  # fmt: skip

    def _choose(self, moves: _Moves, best_key: tuple[int, float]) -> _Move | None:
        """The best admissible move: not tabu, or leading to a feasible plan better than the
        best (aspiration; then the cheapest such move)."""
        n, m = self.n, self.m
        rows = moves.rows
        move = self._aspiration(moves, best_key)
        if move is not None:
            return move
        shift = np.where(moves.free_shift, moves.shift, _INF)
        swap = np.where(moves.free_swap, moves.swap, _INF)
        chain = np.where(moves.ok_chain, moves.chain, _INF)
        i, j, c = int(np.argmin(shift)), int(np.argmin(swap)), int(np.argmin(chain))
        options: list[tuple[float, _Move]] = [
            (float(shift.flat[i]), (0, i // m, -1, i % m)),
            (float(swap.flat[j]), (1, int(rows[j // n]), j % n, -1)),
            (float(chain.flat[c]), (2, int(rows[c // n]), c % n, int(moves.chain_target.flat[c]))),
        ]  # fmt: skip
        delta, move = min(options, key=lambda o: o[0])
        return move if np.isfinite(delta) else None

    def _aspiration(self, moves: _Moves, best_key: tuple[int, float]) -> _Move | None:
        """The cheapest shift or swap to a feasible plan better than the best, if any. A
        shift or swap touches two volunteers, so only when at most two are over capacity."""
        over0 = moves.over0
        if np.count_nonzero(over0) > 2:
            return None
        n, m = self.n, self.m
        v, rows, w = self.assigned, moves.rows, self.weight
        v1 = v[rows]
        total = int(over0.sum())
        out = moves.over_out - over0[v]  # excess change of a slot's volunteer as it leaves
        add = moves.over_add - over0
        into = moves.over_in - over0[v][None, :]
        back = moves.over_back - over0[v1][:, None]
        feas_shift = moves.ok_shift & (out[:, None] + add == -total)
        feas_swap = moves.ok_swap & (into + back == -total)
        if not (feas_shift.any() or feas_swap.any()):
            return None
        # True changes: the penalised ones less the capacity prices.
        price_shift = (w[v] * out)[:, None] + w * add
        price_swap = w[v][None, :] * into + w[v1][:, None] * back
        target = np.inf if best_key[0] > 0 else best_key[1] - self.objective() - 1e-9
        cs = np.where(feas_shift, moves.shift - price_shift, _INF)
        cw = np.where(feas_swap, moves.swap - price_swap, _INF)
        i, j = int(np.argmin(cs)), int(np.argmin(cw))
        if min(cs.flat[i], cw.flat[j]) >= target:
            return None
        if cs.flat[i] <= cw.flat[j]:
            return (0, i // m, -1, i % m)
        return (1, int(rows[j // n]), j % n, -1)

    def penalised(self) -> float:
        """The objective the search minimises: travel and soft terms plus capacity prices."""
        excess = np.maximum(self.load - self.capacity, 0)
        return self.objective() + float((self.weight * excess).sum())

    def _candidates(self, rng: np.random.Generator) -> IntArray:
        """Slots whose swaps and chains are searched this iteration: all in small windows;
        else a random share, plus every slot of a volunteer over capacity."""
        if self.n <= _ALL_ROWS:
            return self.rows
        pick = rng.random(self.n) < _ROW_SHARE
        pick |= (self.load > self.capacity)[self.assigned]
        return self.rows[pick]

    def _apply(self, move: _Move, rng: np.random.Generator) -> None:
        kind, k1, k2, u = move
        if kind == 0:
            self._shift(k1, u, rng)
        elif kind == 1:
            v1, v2 = int(self.assigned[k1]), int(self.assigned[k2])
            self._shift(k1, v2, rng)
            self._shift(k2, v1, rng)
        else:
            v2 = int(self.assigned[k2])
            self._shift(k1, v2, rng)
            self._shift(k2, u, rng)

    def _shift(self, k: int, u: int, rng: np.random.Generator) -> None:
        v = int(self.assigned[k])
        self.load[v] -= self.size[k, v]
        self.load[u] += self.size[k, u]
        self.count[v] -= 1
        self.count[u] += 1
        self.assigned[k] = u
        if self.blocked is not None and self.clash is not None:
            self.blocked[:, v] -= self.clash[:, k]
            self.blocked[:, u] += self.clash[:, k]
        self.tabu[k, v] = self.iteration + int(rng.integers(_TENURE[0], _TENURE[1] + 1))

    def commit(self) -> None:
        """Write the window's plan back into the whole plan, and keep its weights."""
        s = self.search
        s.weight[self.volunteers] = self.weight
        moved = np.flatnonzero(self.assigned != self.start)
        if len(moved) == 0:
            return
        slots = self.slots[moved]
        old = s.slot_pair[slots]
        new = self.pair[moved, self.assigned[moved]]
        s.selected[old] = False
        s.selected[new] = True
        s.slot_pair[slots] = new
        s.slot_volunteer[slots] = self.volunteers[self.assigned[moved]]
        s.load[self.volunteers] = self.load
        s.count[self.volunteers] = self.count


def _clashes(data: ProblemData, requests: IntArray) -> BoolArray:
    """[i, j]: requests[i] and requests[j] are the same or share a conflict set."""
    same = requests[:, None] == requests[None, :]
    set_ptr, set_of = data.request_sets()
    counts = set_ptr[requests + 1] - set_ptr[requests]
    if counts.sum() == 0:
        return np.asarray(same, dtype=bool)
    rows = np.repeat(np.arange(len(requests)), counts)
    ranks = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    sets = set_of[set_ptr[requests].repeat(counts) + ranks]
    _, col = np.unique(sets, return_inverse=True)
    member = np.zeros((len(requests), int(col.max()) + 1), dtype=np.float32)
    member[rows, col] = 1.0
    return np.asarray(same | ((member @ member.T) > 0), dtype=bool)

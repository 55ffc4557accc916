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
adapts per volunteer (up while it is over and the penalised plan still looks better than the
best feasible one, or no feasible one is known yet; else down), so the search oscillates
around the feasibility boundary instead of stalling against it; the best feasible plan seen is
kept. Every other rule is hard in every move: pairs must exist, at most `max_pairs` per
volunteer, conflict sets (and one pair per request and volunteer), pinned pairs stay.

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
import threading
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..objective import lexicographic_key
from ..problem import BoolArray, FloatArray, IntArray, ProblemData
from .base import Control, Deadline
from .column_dive import DiveStats, GapShape, column_dive, gap_shape
from .state import Incidence, Selection

__all__ = ["BackgroundSearch", "SearchStats", "exercise_kernels", "local_search", "searched_whole"]

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
# Beside a MIP on a GAP-shaped part, the column dive's share of the time (the search polishes
# its plan in the rest).
_COLUMN_DIVE_SHARE = 0.9
# Iterations per call of the compiled loop: about this many cells of the move matrices in all
# (a few milliseconds), between checks of the deadline.
_CHUNK_CELLS = 2_000_000
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
    alternative: BoolArray | None = None,
    max_iterations: int | None = None,
    stats: SearchStats | None = None,
) -> BoolArray:
    """The best plan found from `selected`, never lexicographically worse. The search keeps each
    request's headcount, except that requests in `staff` below their minimum are given
    volunteers first. With `hint` (a fractional plan, such as an LP optimum, one value per
    pair), on problems searched window by window, it may first try a second start: the same
    headcounts on the volunteers the hint prefers (which may break load caps: the search repairs
    them). Else `alternative` (another plan, such as a MIP's that a search's beat) may be
    that second start. A second start, from the hint, for `staff` or from `alternative`, gets
    part of the time and is kept if it ends better than `selected`. Stops at the deadline, on a
    stop request, or after `max_iterations` tabu iterations."""
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
    if other is None and alternative is not None:
        other = alternative.copy()
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


def exercise_kernels() -> None:
    """Run the search's inner loop and the column dive's pricing on tiny problems, which
    compiles them (or loads them from numba's cache): see `kernels`."""
    data = ProblemData.build(
        num_volunteers=2,
        num_requests=2,
        pair_volunteer=[0, 0, 1, 1],
        pair_request=[0, 1, 0, 1],
        pair_cost=[1, 2, 2, 1],
        conflict_sets=[[0, 1]],
    )
    start = np.array([True, False, False, True])
    local_search(data, start, Deadline(60.0), Control(), seed=0, max_iterations=2)
    # And the column dive's knapsack pricing, on a GAP of the same pairs.
    gap = gap_shape(
        ProblemData.build(
            num_volunteers=2, num_requests=2, pair_volunteer=[0, 0, 1, 1],
            pair_request=[0, 1, 0, 1], pair_cost=[1, 2, 2, 1], pair_load=[1, 1, 1, 1],
            volunteer_capacity=[1, 1], request_mandatory=[True, True],
        )
    )  # fmt: skip
    assert gap is not None
    column_dive(gap, None, Deadline(60.0), Control())


class BackgroundSearch:
    """`local_search` in a second thread, while the caller waits on work that releases the GIL
    (a HiGHS solve; the compiled loop and the column dive's knapsacks release it too), so that
    both use a core. With `gap` (the part's arrays when it is GAP-shaped), column-generation
    dives (`column_dive`) take the first `_COLUMN_DIVE_SHARE` of the time and the search goes
    on from their plan (or from `selected`, should they fail: they are only a heuristic).
    `stop()` ends the work and returns its plan; an error in the search is raised there."""

    def __init__(
        self,
        data: ProblemData,
        selected: BoolArray,
        seconds: float,
        control: Control,
        *,
        seed: int,
        gap: GapShape | None = None,
    ) -> None:
        self._done = threading.Event()
        self._plan: BoolArray | None = None
        self._error: BaseException | None = None
        self.stats = SearchStats()
        self.dive_stats = DiveStats()
        stop = Control(should_stop=lambda: self._done.is_set() or control.should_stop())

        def search() -> None:
            try:
                deadline = Deadline(seconds)
                start = selected
                if gap is not None:
                    start = self._dive(data, gap, selected, seconds, stop)
                self._plan = local_search(data, start, deadline, stop, seed=seed, stats=self.stats)
            except BaseException as exc:  # handed to the caller by stop()
                self._error = exc

        self._thread = threading.Thread(target=search, name="local-search", daemon=True)
        self._thread.start()

    def _dive(
        self, data: ProblemData, gap: GapShape, selected: BoolArray, seconds: float, stop: Control
    ) -> BoolArray:
        """The column dives' plan if they find a better one than `selected`, else `selected`."""
        valid = data.violations(selected) == (0, 0)
        try:
            found = column_dive(
                gap, gap.agents(selected) if valid else None,
                Deadline(seconds * _COLUMN_DIVE_SHARE), stop, self.dive_stats,
            )  # fmt: skip
        except Exception as exc:  # a heuristic's failure must not cost the solve its plan
            log.warning("column dive failed (%s: %s); searching on", type(exc).__name__, exc)
            return selected
        return selected if found is None else gap.selection(found, data.num_pairs)

    def stop(self, *, raise_error: bool = True) -> BoolArray | None:
        """End the search; its plan (None if it failed, with `raise_error=False`)."""
        self._done.set()
        self._thread.join()
        if self._error is not None and raise_error:
            raise self._error
        return self._plan


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
        self.lookup = static.lookup
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


class _Window:
    """The slots of a set of volunteers as dense matrices, and a tabu search over them (the
    compiled loop of `tabu_kernel`)."""

    def __init__(self, search: _Search, volunteers: IntArray) -> None:
        # numba is loaded where the search runs, not by every process importing the matcher (the
        # API's: about 110 MB and 0.7 s).
        from . import tabu_kernel as kernel

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
        valid = self.pair >= 0
        safe = np.where(valid, self.pair, 0)
        assigned = local[s.slot_volunteer[self.slots]]
        self.start = assigned.copy()
        # clash[k1, k2]: one volunteer cannot hold both slots' requests (same request, or a
        # shared conflict set); blocked[k, u]: how many of u's slots clash with k.
        clash = np.zeros((0, 0), dtype=bool)
        blocked = np.zeros((0, 0), dtype=np.int64)
        if s.has_conflicts and n:
            clash = _clashes(d, requests)
            onehot = np.zeros((n, m), dtype=np.int64)
            onehot[np.arange(n), assigned] = 1
            blocked = clash.astype(np.int64) @ onehot
        lo, hi = _WEIGHT_RANGE
        self.arrays = kernel.WindowArrays(
            value=np.where(valid, s.value[safe], _INF),
            size=np.where(valid, d.pair_load[safe], 0).astype(np.int64),
            valid=valid,
            movable=~d.pair_pinned[s.slot_pair[self.slots]],
            capacity=d.volunteer_capacity[volunteers].astype(np.int64),
            max_pairs=d.volunteer_max_pairs[volunteers].astype(np.int64),
            clash=clash,
            fair_bp=s.static.fair_bp,
            fair_s1=s.static.fair_s1,
            fair_s2=s.static.fair_s2,
            reals=np.array(
                [s.eps, lo * s.weight0, hi * s.weight0, _WEIGHT_UP, _WEIGHT_DOWN, _ROW_SHARE]
            ),
            ints=np.array([*_TENURE, _ALL_ROWS, 0, 0, int(s.has_fairness)], dtype=np.int64),
        )
        self.state = kernel.WindowState(
            assigned=assigned,
            load=s.load[volunteers].astype(np.int64),
            pair_count=s.count[volunteers].astype(np.int64),
            weight=s.weight[volunteers].copy(),
            tabu=np.zeros((n, m), dtype=np.int64),
            blocked=blocked,
            best=assigned.copy(),
            counters=np.zeros(5, dtype=np.int64),
            best_objective=np.zeros(1),
        )

    def objective(self) -> float:
        """Travel and soft terms of the window's slots (no capacity price)."""
        from . import tabu_kernel as kernel

        return float(kernel.objective(self.arrays, self.state))

    def penalised(self) -> float:
        """The objective the search minimises: travel and soft terms plus capacity prices."""
        st = self.state
        excess = np.maximum(st.load - self.arrays.capacity, 0)
        return self.objective() + float((st.weight * excess).sum())

    def moves(
        self,
    ) -> tuple[tuple[int, int, int, int], FloatArray, FloatArray, FloatArray, IntArray]:
        """The move the search would make now, and the change of every move the hard rules
        allow (inf elsewhere): shifts (slots x volunteers), swaps and chains (slots x slots), with
        each chain's last volunteer. For tests."""
        from . import tabu_kernel as kernel

        n, m = self.n, self.m
        shift, swap, chain = np.empty((n, m)), np.empty((n, n)), np.empty((n, n))
        target = np.empty((n, n), dtype=np.int64)
        rows = np.ones(n, dtype=bool)
        move = kernel.evaluate(self.arrays, self.state, rows, shift, swap, chain, target)
        return move, shift, swap, chain, target

    def run(
        self, stats: SearchStats, budget: int, deadline: Deadline, control: Control, *,
        endless: bool,
    ) -> None:  # fmt: skip
        """Tabu search until the budget, the deadline, or (unless `endless`) stagnation; the
        window ends in its best state. The compiled loop runs in chunks of iterations, so that
        the deadline and stop requests are checked between them and a given seed and budget
        give the same trajectory whatever the clock says."""
        from . import tabu_kernel as kernel

        if self.n == 0 or self.m < 2:
            return
        a, st = self.arrays, self.state
        patience = max(_PATIENCE[0], _PATIENCE[1] * self.n) if endless else max(30, self.n // 2)
        a.ints[kernel.PATIENCE], a.ints[kernel.ENDLESS] = patience, int(endless)
        counters = st.counters
        counters[kernel.BEST_OVER] = int((st.load > a.capacity).sum())
        st.best_objective[0] = self.objective()
        rng = self.search.rng
        chunk = max(8, _CHUNK_CELLS // max(self.n * (self.m + self.n), 1))
        while stats.iterations < budget and not deadline.expired() and not control.should_stop():
            before = counters.copy()
            status = kernel.run(a, st, int(min(chunk, budget - stats.iterations)), rng)
            stats.iterations += int(counters[kernel.ITER] - before[kernel.ITER])
            stats.moves += int(counters[kernel.MOVES] - before[kernel.MOVES])
            stats.improvements += int(counters[kernel.IMPROVEMENTS] - before[kernel.IMPROVEMENTS])
            if status != kernel.RUNNING:
                break
        kernel.reset(a, st, st.best)

    def commit(self) -> None:
        """Write the window's plan back into the whole plan, and keep its weights."""
        s, st = self.search, self.state
        s.weight[self.volunteers] = st.weight
        moved = np.flatnonzero(st.assigned != self.start)
        if len(moved) == 0:
            return
        slots = self.slots[moved]
        old = s.slot_pair[slots]
        new = self.pair[moved, st.assigned[moved]]
        s.selected[old] = False
        s.selected[new] = True
        s.slot_pair[slots] = new
        s.slot_volunteer[slots] = self.volunteers[st.assigned[moved]]
        s.load[self.volunteers] = st.load
        s.count[self.volunteers] = st.pair_count


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

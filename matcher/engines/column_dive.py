"""Column-generation diving: plans for parts shaped like the generalized assignment problem.

A part is GAP-shaped when every request is mandatory and needs exactly one volunteer, and each
volunteer's only rule is a load cap (no conflict sets, no binding pair count, no pinned pairs, no
soft terms). Its plans are then sets of columns, one per volunteer: the requests the volunteer
takes, within the cap. The master LP over such columns (each request covered once, each
volunteer at most one column) has the Lagrangian bound of the volunteers' knapsacks, and its
optimum is nearly integral; the pair-based MIP and the local search both stall short of it on
tightly packed parts (type D of the GAP library: the search was 0.4-0.6 % above the best known
after 60 s).

The heuristic (Sadykov, Vanderbeck, Pessoa, Tahiri and Uchoa, "Primal heuristics for branch and
price: the assets of diving methods", INFORMS J. Computing 2019):

1. a subgradient warm-up on the Lagrangian relaxation of the requests' rows, whose knapsack
   solutions seed the column pool, and whose multipliers are the first stability centre;
2. column generation with Wentges smoothing around the best-bound duals (an exact knapsack per
   volunteer prices the columns); one HiGHS instance holds the master, so that every re-solve
   starts from the last basis, and fixing only changes column bounds;
3. depth-first dives: fix the columns at 1 (or else the largest), re-generate columns on what is
   left, until every request is covered; once only a few volunteers are free the rest is solved
   exactly by a MIP; dives are cut off when their bound reaches the best plan;
4. limited discrepancy: further dives may not fix, one or two at a time, the columns fixed at
   the first branching nodes of earlier ones (the LP may still use them).

Arrays only; the caller (the optimal engine, beside its MIP) keeps the best plan.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from highspy import _core as highs  # the bare solver class: `highspy.Highs` prints a banner
from scipy.optimize import Bounds, LinearConstraint, milp

from ..problem import BoolArray, FloatArray, IntArray, ProblemData
from .base import Control, Deadline

__all__ = ["DiveStats", "GapShape", "column_dive", "gap_shape"]

# Largest knapsack tables (capacity + 1 times requests, summed over the volunteers) that one
# pricing builds: a few milliseconds, so that the dive stops soon when asked.
_MAX_TABLE = 4_000_000
# Most requests of a part the dives take: measured up to 200 (the GAP types A-E); on 900, one
# master LP took seconds, and neither it nor the search's windows there need the dives.
_MAX_REQUESTS = 400
# Longest one master LP may run (HiGHS cannot be stopped within it): the dives end beyond it.
_LP_SECONDS = 1.0
# Subgradient iterations before the root's column generation, and at each node of a dive.
_WARMUP_ITERATIONS = 300
_NODE_WARMUP_ITERATIONS = 50
# Share of the time the root's column generation may take (the dives need the rest).
_ROOT_SHARE = 0.3
# Wentges smoothing: the duals priced are this mix of the stability centre and the LP's.
# Measured on d10200: the root converged in 48 LP solves with 0.9, 144 (not done) with 0.
_SMOOTHING = 0.9
# Column generation rounds per dive node, and how close (cost units) the Lagrangian bound may
# come to the LP before a node stops generating (costs are integers: closer buys nothing).
_NODE_ROUNDS = 20
_NODE_GAP = 3.0
# (The root generates until the same gap, within its share of the time.)
# Columns at least this high are fixed together; else the highest one.
_NEAR_ONE = 0.999
# With this many volunteers left free, the rest of a dive is a MIP, for at most this long (on
# d20100 the dives ended 0.3 % above the best known without it). The dive cannot stop during
# it, but it ends by the dive's deadline, which the MIP beside it outlasts: a stop request
# waits at most this long, and only when that MIP ends early.
_EXACT_VOLUNTEERS = 4
_EXACT_SECONDS = 1.0
# Limited discrepancy: at most this many forbidden columns per dive, chosen among the columns
# fixed at the first this-many branching nodes of the dive it derives from.
_DISCREPANCIES = 2
_DISCREPANCY_DEPTH = 3


@dataclass(frozen=True, eq=False)
class GapShape:
    """A GAP-shaped part as dense (volunteers x requests) arrays: `pair[i, j]` is the pair's
    index (-1 where none), `cost` and `load` its cost and load (where a pair exists)."""

    pair: IntArray
    cost: FloatArray
    load: IntArray
    capacity: IntArray

    @cached_property  # read by every pricing
    def allowed(self) -> BoolArray:
        return self.pair >= 0

    def agents(self, selected: BoolArray) -> IntArray:
        """The volunteer of each request in a plan (-1 where none)."""
        out = np.full(self.pair.shape[1], -1, dtype=np.int64)
        i, j = np.nonzero(self.allowed)
        chosen = selected[self.pair[i, j]]
        out[j[chosen]] = i[chosen]
        return out

    def selection(self, agent_of_request: IntArray, num_pairs: int) -> BoolArray:
        """The plan that gives each request its volunteer."""
        out = np.zeros(num_pairs, dtype=bool)
        j = np.flatnonzero(agent_of_request >= 0)
        pairs = self.pair[agent_of_request[j], j]
        if (pairs < 0).any():
            raise ValueError("a request is given a volunteer it has no pair with")
        out[pairs] = True
        return out


def gap_shape(data: ProblemData) -> GapShape | None:
    """The part's arrays if it is GAP-shaped (see the module's docstring), else None."""
    m, n = data.num_volunteers, data.num_requests
    pairs_of = np.bincount(data.pair_volunteer, minlength=m)
    if (
        m < 2
        or not 0 < n <= _MAX_REQUESTS
        or not data.request_mandatory.all()
        or not (data.request_min == 1).all()
        or not (data.request_max == 1).all()
        or data.num_conflict_sets > 0
        or data.pair_pinned.any()
        or data.pair_bonus.any()
        or len(data.fairness_breakpoints) > 0
        or data.request_dropped.any()
        or (data.volunteer_max_pairs < pairs_of).any()
    ):
        return None
    # A cap above a volunteer's whole load binds nothing: clipped, it keeps the tables small.
    total = np.bincount(data.pair_volunteer, weights=data.pair_load, minlength=m)
    capacity = np.minimum(data.volunteer_capacity, total.astype(np.int64))
    if sum((int(c) + 1) * n for c in capacity) > _MAX_TABLE:
        return None
    pair = np.full((m, n), -1, dtype=np.int64)  # (ProblemData has no pair twice)
    pair[data.pair_volunteer, data.pair_request] = np.arange(data.num_pairs)
    cost = np.zeros((m, n))
    load = np.zeros((m, n), dtype=np.int64)
    cost[data.pair_volunteer, data.pair_request] = data.pair_cost
    load[data.pair_volunteer, data.pair_request] = data.pair_load
    return GapShape(pair, cost, load, capacity.astype(np.int64))


@dataclass
class DiveStats:
    """What one `column_dive` did (for logs and tests)."""

    root_bound: float = -np.inf
    root_lp: float = np.nan
    dives: int = 0
    lp_solves: int = 0
    columns: int = 0
    exact_solves: int = 0
    values: list[float] = field(default_factory=list)  # of the dives that ended with a plan


class _Master:
    """The master LP in one HiGHS instance. Rows: each request covered once (= 1), then each
    volunteer at most one column (<= 1). Columns: one artificial per request (cost `big`, so
    the LP stays feasible as columns are fixed), then the pool. A fixing is imposed through
    bounds: fixed columns at 1, columns that share a volunteer or a request with them at 0."""

    def __init__(self, shape: GapShape) -> None:
        self.shape = shape
        m, n = shape.cost.shape
        self.m, self.n = m, n
        self.big = 20.0 * float(np.abs(shape.cost[shape.allowed]).max(initial=0.0)) + 100.0
        h = highs._Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        inf = highs.kHighsInf
        none = np.zeros(0, dtype=np.int32)
        h.addRows(n + m, np.r_[np.ones(n), np.full(m, -inf)], np.ones(n + m), 0,
                  np.zeros(n + m, dtype=np.int32), none, np.zeros(0))  # fmt: skip
        rows = np.arange(n, dtype=np.int32)
        h.addCols(n, np.full(n, self.big), np.zeros(n), np.full(n, inf), n, rows, rows, np.ones(n))
        self.highs = h
        self.sets = np.zeros((0, n), dtype=bool)
        self.agent = np.zeros(0, dtype=np.int64)
        self.cost = np.zeros(0)
        self.keys: set[tuple[int, bytes]] = set()
        self.lower = np.zeros(0)
        self.upper = np.zeros(0)
        self.artificial_upper = np.full(n, inf)
        self.fixed: list[int] = []
        self.taken = np.zeros(m, dtype=bool)  # volunteers of fixed columns
        self.covered = np.zeros(n, dtype=bool)  # requests of fixed columns
        self.lp_solves = 0

    @property
    def size(self) -> int:
        return len(self.agent)

    @property
    def fixed_cost(self) -> float:
        return float(self.cost[self.fixed].sum())

    def add(self, agents: IntArray, sets: BoolArray) -> int:
        """Add the (volunteer, set) columns not in the pool yet; how many were new."""
        keep = np.zeros(len(agents), dtype=bool)
        for r, (a, s) in enumerate(zip(agents, sets, strict=True)):
            key = (int(a), np.packbits(s).tobytes())
            if s.any() and key not in self.keys:
                self.keys.add(key)
                keep[r] = True
        if not keep.any():
            return 0
        agents, sets = agents[keep], sets[keep]
        k = len(agents)
        cost = (self.shape.cost[agents] * sets).sum(axis=1)
        start = self.size
        self.sets = np.vstack([self.sets, sets])
        self.agent = np.r_[self.agent, agents]
        self.cost = np.r_[self.cost, cost]
        rows_of = [np.r_[np.flatnonzero(s), self.n + a] for a, s in zip(agents, sets, strict=True)]
        starts = np.cumsum([0] + [len(r) for r in rows_of[:-1]]).astype(np.int32)
        index = np.concatenate(rows_of).astype(np.int32)
        self.highs.addCols(k, cost, np.zeros(k), np.ones(k), len(index), starts, index,
                           np.ones(len(index)))  # fmt: skip
        self.lower = np.r_[self.lower, np.zeros(k)]
        self.upper = np.r_[self.upper, np.ones(k)]
        clash = self.taken[agents] | (sets & self.covered).any(axis=1)
        if clash.any():  # new columns that the current fixing rules out
            ids = start + np.flatnonzero(clash)
            self.upper[ids] = 0.0
            self._bounds(ids)
        return k

    def _bounds(self, ids: IntArray) -> None:
        self.highs.changeColsBounds(len(ids), (ids + self.n).astype(np.int32), self.lower[ids],
                                    self.upper[ids])  # fmt: skip

    def fix(self, columns: list[int]) -> None:
        """Impose exactly this fixing (pool indices)."""
        self.fixed = list(columns)
        self.taken = np.zeros(self.m, dtype=bool)
        self.taken[self.agent[columns]] = True
        self.covered = np.zeros(self.n, dtype=bool)
        self.covered[self.sets[columns].any(axis=0)] = True
        upper = np.where(self.taken[self.agent] | (self.sets & self.covered).any(axis=1), 0.0, 1.0)
        lower = np.zeros(self.size)
        upper[columns] = lower[columns] = 1.0
        changed = np.flatnonzero((upper != self.upper) | (lower != self.lower))
        self.upper, self.lower = upper, lower
        if len(changed):
            self._bounds(changed)
        artificial = np.where(self.covered, 0.0, highs.kHighsInf)
        moved = np.flatnonzero(artificial != self.artificial_upper).astype(np.int32)
        if len(moved):
            self.highs.changeColsBounds(len(moved), moved, np.zeros(len(moved)), artificial[moved])
        self.artificial_upper = artificial

    def solve(self) -> tuple[float, FloatArray, FloatArray, FloatArray, FloatArray]:
        """LP value, column values, artificial values, request duals, volunteer duals (within
        `_LP_SECONDS`, else `_LpFailed`; the dives' deadline is checked between solves: cut
        short, the root's LP would end every dive)."""
        # HiGHS counts its time limit from the instance's creation, over all runs.
        self.highs.setOptionValue("time_limit", self.highs.getRunTime() + _LP_SECONDS)
        self.highs.run()
        self.lp_solves += 1
        if self.highs.getModelStatus() != highs.HighsModelStatus.kOptimal:
            raise _LpFailed(str(self.highs.getModelStatus()))
        solution = self.highs.getSolution()
        x, dual = np.asarray(solution.col_value), np.asarray(solution.row_dual)
        n = self.n
        return self.highs.getObjectiveValue(), x[n:], x[:n], dual[:n], dual[n:]


class _LpFailed(Exception):
    """HiGHS returned no optimal master LP (the artificial columns keep it feasible, so only a
    numerical failure does this): the dives end with the best plan so far."""


@dataclass
class _Node:
    """Column generation's outcome at a node of a dive."""

    lp: float
    bound: float
    values: FloatArray
    artificial: FloatArray
    converged: bool
    centre: FloatArray


class _Diver:
    """One `column_dive`: the master, the pricing buffers, and the best plan so far (`best`,
    which cuts dives off: costs are integers, so a bound above `best - 1` leaves nothing)."""

    def __init__(self, shape: GapShape, deadline: Deadline, control: Control) -> None:
        self.shape = shape
        self.master = _Master(shape)
        self.deadline = deadline
        self.control = control
        m, n = shape.cost.shape
        self.sets = np.zeros((m, n), dtype=bool)
        self.value = np.zeros(m)
        self.best = np.inf
        self.best_plan: IntArray | None = None
        self.target = np.inf  # the subgradient steps' aim
        self.exact_solves = 0

    def stopped(self) -> bool:
        return self.deadline.expired() or self.control.should_stop()

    def price(self, dual: FloatArray) -> float:
        """Price every free volunteer at `dual` (into self.sets); the Lagrangian bound there."""
        ms, s = self.master, self.shape
        free, open_ = ~ms.taken, ~ms.covered
        from .dive_kernel import price  # numba, imported where the dives run

        price(s.cost, s.load, s.capacity, s.allowed, dual, free, open_, self.sets, self.value)
        return ms.fixed_cost + float(dual[open_].sum()) - float(self.value[free].sum())

    def warm_up(self, iterations: int, centre: FloatArray, step: float) -> FloatArray:
        """Subgradient on what the fixing leaves open, every knapsack solution into the pool;
        the multipliers of the best bound."""
        ms = self.master
        open_ = ~ms.covered
        free = np.flatnonzero(~ms.taken)
        dual = np.where(open_, centre, 0.0)
        best, best_dual, stall = -np.inf, dual.copy(), 0
        target = min(self.target, self.best)
        for _ in range(iterations):
            if self.stopped():
                break
            bound = self.price(dual)
            ms.add(free, self.sets[free])
            if bound > best + 1e-6:
                best, best_dual, stall = bound, dual.copy(), 0
            else:
                stall += 1
                if stall >= 20:
                    step, stall = step / 2, 0
            slack = np.where(open_, 1.0 - self.sets.sum(axis=0), 0.0)
            norm = float((slack * slack).sum())
            if norm == 0.0:
                break
            aim = target - bound if np.isfinite(target) else 0.05 * abs(bound) + 1.0
            dual = dual + step * max(aim, 1e-3 * abs(bound) + 1e-6) / norm * slack
        return best_dual

    def generate(self, centre: FloatArray, rounds: int, gap: float, deadline: Deadline) -> _Node:
        """Column generation on the current fixing, smoothed around `centre`."""
        ms = self.master
        open_, free = ~ms.covered, ~ms.taken
        best = -np.inf
        converged = False
        for _ in range(rounds):
            lp, values, artificial, dual, vol_dual = ms.solve()
            if deadline.expired() or self.control.should_stop():
                break
            point = np.where(open_, _SMOOTHING * centre + (1 - _SMOOTHING) * dual, 0.0)
            while True:
                bound = self.price(point)
                if bound > best:
                    best, centre = bound, point.copy()
                # Columns whose reduced cost at the LP's duals is negative.
                reduced = (self.shape.cost * self.sets).sum(1) - (self.sets * dual).sum(1)
                entering = free & self.sets.any(axis=1) & (reduced - vol_dual < -1e-7)
                if entering.any() or np.allclose(point[open_], dual[open_]):
                    break
                point = np.where(open_, dual, 0.0)  # mispricing: price at the LP's duals
            if not entering.any() or ms.add(np.flatnonzero(entering), self.sets[entering]) == 0:
                converged = True
                break
            if best > lp - gap or best >= self.best - 1 + 1e-6:
                break
        return _Node(lp, best, values, artificial, converged, centre)

    def dive(self, base: list[int], forbidden: tuple[int, ...], centre: FloatArray,
             ) -> tuple[list[tuple[list[int], int]], float | None]:  # fmt: skip
        """One dive from the fixing `base`; its branching nodes (fixing before, column fixed)
        and the value of its plan (None if it was cut off or found none)."""
        ms = self.master
        fixed = list(base)
        nodes: list[tuple[list[int], int]] = []
        while not self.stopped():
            ms.fix(fixed)
            if ms.covered.all():
                return nodes, self._keep(self._plan(fixed))
            if (~ms.taken).sum() <= _EXACT_VOLUNTEERS:
                return nodes, self._exact(fixed)
            if fixed:
                centre = self.warm_up(_NODE_WARMUP_ITERATIONS, centre, 0.1)
            node = self.generate(centre, _NODE_ROUNDS, _NODE_GAP, self.deadline)
            centre = node.centre
            if node.bound >= self.best - 1 + 1e-6:
                return nodes, None  # no better plan below
            if node.converged and node.artificial.max() > 1e-6:
                return nodes, None  # the fixing admits no plan
            values = np.zeros(ms.size)  # columns added after the last LP solve are at 0
            values[: len(node.values)] = node.values
            values[ms.lower > 0.5] = -1.0
            values[list(forbidden)] = -1.0
            ones = np.flatnonzero(values >= _NEAR_ONE)
            if len(ones):
                fixed += ones.tolist()
                continue
            column = int(np.argmax(values))
            if values[column] <= 1e-9:
                return nodes, None
            nodes.append((list(fixed), column))
            fixed.append(column)
        return nodes, None

    def _plan(self, fixed: list[int]) -> IntArray:
        plan = np.full(self.master.n, -1, dtype=np.int64)
        for c in fixed:
            plan[self.master.sets[c]] = self.master.agent[c]
        return plan

    def _keep(self, plan: IntArray) -> float:
        s = self.shape
        j = np.arange(len(plan))
        value = float(s.cost[plan, j].sum())
        if value < self.best:
            self.best, self.best_plan = value, plan
        return value

    def _exact(self, fixed: list[int]) -> float | None:
        """The rest of a dive as a MIP on the pairs of the free volunteers and open requests."""
        ms, s = self.master, self.shape
        agents, jobs = np.flatnonzero(~ms.taken), np.flatnonzero(~ms.covered)
        allowed = s.allowed[np.ix_(agents, jobs)] & (
            s.load[np.ix_(agents, jobs)] <= s.capacity[agents, None]
        )
        i, j = np.nonzero(allowed)
        if len(agents) == 0 or not allowed.any(axis=0).all():
            return None
        cost = s.cost[agents[i], jobs[j]]
        load = s.load[agents[i], jobs[j]].astype(float)
        k = np.arange(len(i))
        cover = sp.csr_array((np.ones(len(i)), (j, k)), shape=(len(jobs), len(i)))
        fill = sp.csr_array((load, (i, k)), shape=(len(agents), len(i)))
        seconds = min(_EXACT_SECONDS, self.deadline.remaining())
        result = milp(
            cost, integrality=np.ones(len(i)), bounds=Bounds(0, 1),
            constraints=[LinearConstraint(cover, 1, 1), LinearConstraint(fill, 0, s.capacity[agents])],
            options={"time_limit": max(seconds, 0.05), "disp": False},
        )  # fmt: skip
        self.exact_solves += 1
        if result.x is None:
            return None
        plan = self._plan(fixed)
        chosen = result.x > 0.5
        plan[jobs[j[chosen]]] = agents[i[chosen]]
        return self._keep(plan)


def column_dive(
    shape: GapShape,
    start: IntArray | None,
    deadline: Deadline,
    control: Control,
    stats: DiveStats | None = None,
) -> IntArray | None:
    """The best plan (volunteer of each request) the dives find better than `start` (a plan
    that keeps every rule, or None), or None if they find none before the deadline."""
    stats = stats if stats is not None else DiveStats()
    diver = _Diver(shape, deadline, control)
    ms = diver.master
    m, n = shape.cost.shape
    if start is not None:
        diver.best = float(shape.cost[start, np.arange(n)].sum())
        sets = np.zeros((m, n), dtype=bool)
        sets[start, np.arange(n)] = True
        ms.add(np.arange(m), sets)
    # The second cheapest cost of each request: multipliers that make most knapsacks non-empty.
    cheapest = np.where(shape.allowed, shape.cost, np.inf)
    centre = np.sort(cheapest, axis=0)[min(1, m - 1)]
    centre = np.where(np.isfinite(centre), centre, cheapest.min(axis=0))
    centre = diver.warm_up(_WARMUP_ITERATIONS, centre, 2.0)
    try:
        root_deadline = Deadline(deadline.remaining() * _ROOT_SHARE)
        root = diver.generate(centre, 10_000, _NODE_GAP, root_deadline)
        stats.root_bound, stats.root_lp = root.bound, root.lp
        if np.isfinite(root.bound):
            diver.target = root.bound + 0.005 * abs(root.bound)
        # Dives breadth-first over discrepancies: (fixing to start from, columns not to fix).
        queue: deque[tuple[list[int], tuple[int, ...]]] = deque([([], ())])
        while queue and not diver.stopped():
            base, forbidden = queue.popleft()
            nodes, value = diver.dive(base, forbidden, root.centre)
            stats.dives += 1
            if value is not None:
                stats.values.append(value)
            if len(forbidden) < _DISCREPANCIES:
                queue += [
                    (fixed, (*forbidden, column)) for fixed, column in nodes[:_DISCREPANCY_DEPTH]
                ]
    except _LpFailed:
        pass
    stats.lp_solves, stats.columns, stats.exact_solves = ms.lp_solves, ms.size, diver.exact_solves
    return diver.best_plan

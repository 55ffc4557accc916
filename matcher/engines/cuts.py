"""Cuts from each volunteer's own feasible sets, so that the LP sees their convex hulls.

A volunteer's feasible sets of pairs (load within capacity, at most `max_pairs` pairs, at most one
pair per conflict set) are closed under taking subsets. The LP relaxation of those rows lets a
volunteer take fractions of pairs that no feasible set combines (most of a long shift and part of
another that no longer fits), and that is where the LP bound of a city week keeps its gap: a few
dozen volunteers split between knapsack-bound shifts.

Two kinds, for each volunteer whose pairs take fractional values in an LP solution x*:

- **Clique cuts** over all of the volunteer's pairs: two pairs conflict when their requests share
  a conflict set, when their loads together exceed the capacity, or when the volunteer may take
  one pair only; at most one pair of a set of pairwise conflicting ones can be chosen. The
  heaviest such set under x* is grown greedily, then to a maximal one with every pair that
  conflicts with all of it (zero in x* or not, in the columns or not), so that the LP cannot
  shift its weight to a neighbour the cut left out. These close most of the gap that mixes
  conflicts and capacities (a volunteer with a 4-hour cap split between a 3-hour morning shift,
  a 3-hour afternoon one and a 2-hour shift overlapping the morning): on a 5,000-volunteer week
  of the independent family's statistics, two rounds took the coverage LP from 2834.3 to 2812
  (the optimum is 2798; HiGHS's own root cuts on one volunteer reach 2810), where the
  support's hull cuts alone left it where it was.
- **Hull cuts** over the support, for volunteers no clique cut cuts off: the valid inequality
  a . x <= b that x* violates most: maximise a . x* - b over 0 <= a <= 1 subject to
a . s <= b for every feasible set s of the volunteer's pairs in x*'s support (enumerated: a
volunteer's support is a handful of pairs). Since feasible sets are closed under subsets, a cut
over the support stays valid with every other pair of the volunteer at coefficient 0, and b is
recomputed as the exact maximum over the sets, so no cut rests on the LP's tolerances. Round
after round the LP approaches the bound of the convex hulls (the Lagrangian bound of relaxing the
requests' rows); on the 5,000-volunteer week that closes the whole integrality gap.

Then **group cuts** over a few requests together, where the LP splits a small pool between
requests with minimum headcounts (two same-time requests of exactly two sharing candidates a
and b, one of them also e: the LP staffs that one whole with e and half each of a and b, the
other with the other halves, three slots from a, b and e where every plan gets two unless
someone else joins). No cut over one volunteer or one request sees that. For a group of
requests that share the people the LP puts on them, the cut is over *every* candidate pair of
those requests (so that a request's minimum holds in the group: no one else can fill it), and
the integer points are every choice of those pairs that keeps each volunteer's own rules among
them and gives each request none or between its minimum and maximum. What the group's people
do elsewhere is left free, so every plan of the part, restricted to the group, is such a point:
the cut is valid for every plan, with coefficients of either sign (a candidate the LP left out,
busy elsewhere, enters with a negative one). The points are enumerated (at most `GROUP_PAIRS`
pairs), the cut found by the same separation LP, and b recomputed exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.sparse as sp
from highspy import _core as highs  # the bare solver class: `highspy.Highs` prints a banner

from ..problem import BoolArray, FloatArray, IntArray, ProblemData
from .base import Deadline
from .state import Incidence

__all__ = ["GROUP_PAIRS", "MAX_SUPPORT", "Cut", "CutPool", "separate", "violated"]

# Supports up to this size are enumerated (2**12 sets); larger ones keep their largest values.
MAX_SUPPORT = 12
# Groups of requests with up to this many candidate pairs in all are enumerated (2**14 choices).
GROUP_PAIRS = 14
# A cut must be violated by at least this much to be added.
_MIN_VIOLATION = 1e-4
# Largest capacity (in load units) the knapsack's table is built for; beyond, the largest values
# are enumerated instead.
_KNAPSACK_MAX_CAPACITY = 100_000
# Sets generated per separation beyond `MAX_SUPPORT` (the cut stays valid when cut short).
_GENERATED_SETS = 30
# Coefficients below this are dropped (then b is recomputed over the remaining ones).
_TINY = 1e-7


@dataclass(frozen=True, eq=False)
class Cut:
    """sum coef[i] * x[pairs[i]] <= rhs, over pairs of one volunteer or of a group of requests."""

    pairs: IntArray
    coef: FloatArray
    rhs: float


@dataclass(frozen=True, eq=False)
class CutPool:
    """Valid inequalities over the pairs of a problem, in one flat form: cut i holds the entries
    `ptr[i]:ptr[i + 1]` of `pairs` and `coef`, and its right-hand side `rhs[i]`."""

    ptr: IntArray
    pairs: IntArray
    coef: FloatArray
    rhs: FloatArray

    @classmethod
    def empty(cls) -> CutPool:
        return cls(np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))

    def __len__(self) -> int:
        return len(self.rhs)

    def with_cuts(self, cuts: list[Cut]) -> CutPool:
        if not cuts:
            return self
        sizes = np.array([len(c.pairs) for c in cuts], dtype=np.int64)
        return CutPool(
            np.concatenate([self.ptr, self.ptr[-1] + np.cumsum(sizes)]),
            np.concatenate([self.pairs, *(c.pairs for c in cuts)]),
            np.concatenate([self.coef, *(c.coef for c in cuts)]),
            np.concatenate([self.rhs, [c.rhs for c in cuts]]),
        )

    def owners(self) -> IntArray:
        """The cut of each entry."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.ptr))

    def matrix(self, num_pairs: int) -> sp.csr_matrix:
        """Cuts by pairs."""
        return sp.csr_matrix((self.coef, (self.owners(), self.pairs)), shape=(len(self), num_pairs))


def separate(
    data: ProblemData,
    inc: Incidence,
    pairs: IntArray,
    values: FloatArray,
    deadline: Deadline | None = None,
) -> list[Cut]:
    """The most violated cut of each volunteer whose pairs take fractional values in the LP
    solution `values` (over `pairs`, indices into `data`); none for volunteers whose values
    already lie in the convex hull of their feasible sets. Those found by `deadline`, if any."""
    support = values > 1e-6
    fractional = support & (values < 1 - 1e-6)
    if not fractional.any():
        return []
    on, x = pairs[support], values[support]
    vol = data.pair_volunteer[on]
    order = np.lexsort((-x, vol))
    on, x, vol = on[order], x[order], vol[order]
    starts = np.searchsorted(vol, np.unique(data.pair_volunteer[pairs[fractional]]))
    ends = np.searchsorted(vol, vol[starts], side="right")
    value_of = np.zeros(data.num_pairs)
    value_of[pairs] = values
    cuts = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if deadline is not None and deadline.expired():
            break
        v = int(vol[s])
        clique = _violated_clique(data, inc, v, value_of)
        if clique is not None:  # lifted to all the volunteer's pairs: the stronger cut
            cuts.append(clique)
            continue
        if e - s > MAX_SUPPORT and _knapsack_only(data, inc, v, on[s:e]):
            cut = _most_violated_generated(data, v, on[s:e], x[s:e])
        else:
            e = min(e, s + MAX_SUPPORT)  # the largest values: they carry the violation
            cut = _most_violated(data, inc, v, on[s:e], x[s:e])
        if cut is not None:
            cuts.append(cut)
    # Group cuts start from requests with minimum headcounts: what they cut off is the LP
    # splitting a switch ("none, or at least the minimum") across a shared pool.
    seeds = np.unique(data.pair_request[pairs[fractional]])
    seeds = seeds[data.request_min[seeds] > 1]
    return cuts + _group_cuts(data, inc, seeds, value_of, deadline)


def _group_cuts(
    data: ProblemData,
    inc: Incidence,
    seeds: IntArray,
    value_of: FloatArray,
    deadline: Deadline | None,
) -> list[Cut]:
    """The most violated group cut (module docstring) of the group around each seed request,
    each group once."""
    cuts = []
    seen: set[tuple[int, ...]] = set()
    for r in seeds.tolist():
        if deadline is not None and deadline.expired():
            break
        group = _group(data, inc, r, value_of)
        if group is None or group in seen:
            continue
        seen.add(group)
        cut = _most_violated_in_group(data, inc, np.array(group, dtype=np.int64), value_of)
        if cut is not None:
            cuts.append(cut)
    return cuts


def _group(
    data: ProblemData, inc: Incidence, request: int, value_of: FloatArray
) -> tuple[int, ...] | None:
    """The request and those competing with it for the people the LP puts on it (a request
    one of them cannot do beside it: a shared conflict set, or loads beyond the capacity),
    the most shared LP value first, while their candidate pairs number at most `GROUP_PAIRS`;
    None when no other request competes, or a request has candidates the data left out (who
    could fill its minimum unseen)."""
    own = inc.pairs_of_request(request)
    total = len(own)
    if total > GROUP_PAIRS:
        return None
    shared: dict[int, float] = {}
    for p in own[value_of[own] > 1e-6].tolist():
        v = int(data.pair_volunteer[p])
        others = inc.pairs_of_volunteer(v)
        others = others[(data.pair_request[others] != request) & (value_of[others] > 1e-6)]
        if not len(others):
            continue
        competing = inc.conflicting(request, data.pair_request[others]) | (
            data.pair_load[others] + data.pair_load[p] > data.volunteer_capacity[v]
        )
        for q in others[competing].tolist():
            r = int(data.pair_request[q])
            shared[r] = shared.get(r, 0.0) + min(float(value_of[p]), float(value_of[q]))
    group = [request]
    for r in sorted(shared, key=lambda r: -shared[r]):
        size = int(inc.request_ptr[r + 1] - inc.request_ptr[r])
        if total + size <= GROUP_PAIRS:
            group.append(r)
            total += size
    dropped = data.request_dropped
    if len(group) < 2 or (len(dropped) and dropped[group].any()):
        return None
    return tuple(sorted(group))


def _most_violated_in_group(
    data: ProblemData, inc: Incidence, requests: IntArray, value_of: FloatArray
) -> Cut | None:
    """By enumerating every choice of the requests' candidate pairs that keeps each volunteer's
    rules among them (caps, count, conflicts) and staffs each request with none or between its
    minimum and maximum; mandatory requests, pinned pairs and rows over every pair are left
    out, so that these choices include every plan's."""
    pairs = np.concatenate([inc.pairs_of_request(int(r)) for r in requests.tolist()])
    members = _subsets(len(pairs))
    chosen = members.astype(bool)
    feasible = np.ones(len(members), dtype=bool)
    request_of = data.pair_request[pairs]
    for r in requests.tolist():
        count = members[:, request_of == r].sum(axis=1)
        feasible &= (count == 0) | (
            (count >= data.request_min[r]) & (count <= data.request_max[r])
        )
    volunteer_of = data.pair_volunteer[pairs]
    for v in np.unique(volunteer_of).tolist():
        mine = np.flatnonzero(volunteer_of == v)
        load = members[:, mine] @ data.pair_load[pairs[mine]].astype(np.float64)
        feasible &= (load <= data.volunteer_capacity[v]) & (
            members[:, mine].sum(axis=1) <= data.volunteer_max_pairs[v]
        )
        clash = np.argwhere(np.triu(inc.conflicts_among(request_of[mine])))
        for i, j in clash.tolist():
            feasible &= ~(chosen[:, mine[i]] & chosen[:, mine[j]])
    sets = members[feasible]
    x = value_of[pairs]
    found = _separation_lp(x, sets, lower=-1.0)
    if found is None:
        return None
    coef = found[0]
    return _cut(pairs, x, coef, float((sets @ coef).max()))


def _violated_clique(
    data: ProblemData, inc: Incidence, volunteer: int, value_of: FloatArray
) -> Cut | None:
    """The heaviest set of the volunteer's pairwise conflicting pairs found under `value_of`
    (greedily, from each of its three largest values), grown to a maximal one: a clique cut, if
    its weight exceeds one."""
    pairs = inc.pairs_of_volunteer(volunteer)
    weight = value_of[pairs]
    best_weight = 1.0 + _MIN_VIOLATION
    # No clique weighs more than all the pairs together, nor more than a seed and its
    # neighbours: most volunteers of a round are done here, before any growing.
    if len(pairs) < 2 or np.count_nonzero(weight > 1e-6) < 2 or weight.sum() <= best_weight:
        return None
    conflict = _conflicts(data, inc, volunteer)
    best: list[int] = []
    for seed in np.argsort(-weight)[:3].tolist():
        if weight[seed] <= 1e-6:
            break
        if weight[seed] + weight[conflict[seed]].sum() <= best_weight:
            continue
        clique = [seed]
        open_ = conflict[seed].copy()
        while open_.any():
            candidates = np.flatnonzero(open_)
            # The heaviest next, then the one that keeps most others open (so zero-valued
            # pairs grow it to a maximal clique).
            degree = conflict[np.ix_(candidates, candidates)].sum(axis=1)
            pick = int(candidates[np.lexsort((-degree, -weight[candidates]))[0]])
            clique.append(pick)
            open_ &= conflict[pick]
        if weight[clique].sum() > best_weight:
            best, best_weight = clique, float(weight[clique].sum())
    if not best:
        return None
    chosen = pairs[np.sort(best)].astype(np.int64)
    return Cut(chosen, np.ones(len(chosen)), 1.0)


def _conflicts(data: ProblemData, inc: Incidence, volunteer: int) -> BoolArray:
    """Which of a volunteer's pairs (`pairs_of_volunteer`) cannot be chosen together
    (symmetric, false on the diagonal): requests in one conflict set, loads beyond the
    capacity, or a one-pair cap."""
    load = data.pair_load[inc.pairs_of_volunteer(volunteer)]
    conflict = (load[:, None] + load[None, :]) > data.volunteer_capacity[volunteer]
    if data.volunteer_max_pairs[volunteer] <= 1:
        conflict[:] = True
    conflict |= inc.volunteer_conflicts(volunteer, data.pair_request)
    np.fill_diagonal(conflict, False)
    out: BoolArray = conflict
    return out


def _separation_lp(
    x: FloatArray, sets: FloatArray, lower: float = 0.0
) -> tuple[FloatArray, float] | None:
    """max a . x - b over lower <= a <= 1, b >= 0 (choosing nothing is always allowed),
    subject to a . s <= b for the given sets: the cut's coefficients and b, or None when
    nothing is violated enough."""
    k, m = len(x), len(sets)
    # HiGHS itself, not `scipy.optimize.linprog`: a round of cuts solves hundreds of these
    # small LPs, and linprog's checks and conversions took three times the solve.
    a = sp.csc_matrix(np.c_[sets, -np.ones(m)])
    h = highs._Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)  # as every HiGHS instance of the process (see `milp`)
    h.passModel(
        k + 1, m, a.nnz, 1, 1, 0.0,
        np.r_[-x, 1.0].astype(np.float64),
        np.r_[np.full(k, lower), 0.0], np.r_[np.ones(k), highs.kHighsInf],
        np.full(m, -highs.kHighsInf), np.zeros(m),
        a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data.astype(np.float64),
        np.zeros(k + 1, dtype=np.int32),
    )  # fmt: skip
    h.run()
    if h.getModelStatus() != highs.HighsModelStatus.kOptimal:
        return None
    solution = np.asarray(h.getSolution().col_value, dtype=np.float64)
    if -h.getInfo().objective_function_value < _MIN_VIOLATION:
        return None
    return np.where(np.abs(solution[:k]) > _TINY, solution[:k], 0.0), float(solution[k])


def _cut(pairs: IntArray, x: FloatArray, coef: FloatArray, rhs: float) -> Cut | None:
    """The cut, if `rhs` (the exact maximum of coef . s over the feasible sets) leaves x
    beyond it by enough."""
    if float(coef @ x) - rhs < _MIN_VIOLATION:
        return None
    keep = coef != 0
    return Cut(pairs[keep].astype(np.int64), coef[keep], rhs)


def _most_violated(
    data: ProblemData, inc: Incidence, volunteer: int, pairs: IntArray, x: FloatArray
) -> Cut | None:
    """By enumerating the feasible sets of the pairs (at most `MAX_SUPPORT` of them)."""
    if len(pairs) < 2:
        return None
    sets = _maximal_sets(data, inc, volunteer, pairs)
    found = _separation_lp(x, sets)
    if found is None:
        return None
    coef = found[0]
    return _cut(pairs, x, coef, float((sets @ coef).max()))


def _knapsack_only(data: ProblemData, inc: Incidence, volunteer: int, pairs: IntArray) -> bool:
    """Whether the volunteer's capacity is its only rule among these pairs (no count cap that
    could bind, no two of them in one conflict set) and small enough for the knapsack's table
    (loads come in units of the durations' gcd, which may be a microsecond)."""
    if data.volunteer_max_pairs[volunteer] < len(pairs):
        return False
    capacity = min(int(data.volunteer_capacity[volunteer]), int(data.pair_load[pairs].sum()))
    if capacity > _KNAPSACK_MAX_CAPACITY:
        return False
    return not inc.conflicts_among(data.pair_request[pairs]).any()


def _most_violated_generated(
    data: ProblemData, volunteer: int, pairs: IntArray, x: FloatArray
) -> Cut | None:
    """For supports too large to enumerate, when a knapsack is the volunteer's only rule: the
    separation LP over sets generated as needed (each the knapsack's best set for the current
    coefficients) until none breaks the cut."""
    load = data.pair_load[pairs]
    capacity = int(min(data.volunteer_capacity[volunteer], load.sum()))
    if capacity >= load.sum():  # every set fits: the hull is the cube, nothing to cut
        return None
    sets = np.array([_knapsack(x / np.maximum(load, 1), load, capacity), np.zeros(len(x))])
    coef, rhs = np.zeros(len(x)), 0.0
    for _ in range(_GENERATED_SETS):
        found = _separation_lp(x, sets)
        if found is None:
            return None
        coef, b = found
        best = _knapsack(coef, load, capacity)
        rhs = float(best @ coef)
        if rhs <= b + 1e-9:
            break
        sets = np.vstack([sets, best])
    return _cut(pairs, x, coef, rhs)  # rhs is the knapsack's maximum: valid even if cut short


def _knapsack(value: FloatArray, load: IntArray, capacity: int) -> FloatArray:
    """The set of items of greatest total value with total load within capacity (a 0/1 row)."""
    k = len(value)
    best = np.zeros(capacity + 1)
    take = np.zeros((k, capacity + 1), dtype=bool)
    for i in range(k):
        w, size = float(value[i]), int(load[i])
        if w <= 0 or size > capacity:
            continue
        grown = np.full(capacity + 1, -np.inf)
        grown[size:] = best[: capacity + 1 - size] + w
        take[i] = grown > best
        best = np.maximum(best, grown)
    chosen = np.zeros(k)
    room = capacity
    for i in range(k - 1, -1, -1):
        if take[i, room]:
            chosen[i] = 1.0
            room -= int(load[i])
    return chosen


def _maximal_sets(data: ProblemData, inc: Incidence, volunteer: int, pairs: IntArray) -> FloatArray:
    """The inclusion-maximal feasible sets of one volunteer's `pairs`, as 0/1 rows."""
    k = len(pairs)
    members = _subsets(k)
    load = members @ data.pair_load[pairs].astype(np.float64)
    feasible = (load <= data.volunteer_capacity[volunteer]) & (
        members.sum(axis=1) <= data.volunteer_max_pairs[volunteer]
    )
    clash = np.argwhere(np.triu(inc.conflicts_among(data.pair_request[pairs])))
    for i, j in clash.tolist():
        feasible &= ~(members[:, i].astype(bool) & members[:, j].astype(bool))
    index = np.arange(1 << k)
    maximal = feasible.copy()
    for i in range(k):
        grown = index | (1 << i)
        maximal &= ~((grown != index) & feasible[grown])
    out: FloatArray = members[maximal]
    return out


@cache
def _subsets(k: int) -> FloatArray:
    """Row m: the members of bit mask m among k items."""
    bits = (np.arange(1 << k)[:, None] >> np.arange(k)[None, :]) & 1
    out: FloatArray = bits.astype(np.float64)
    out.flags.writeable = False
    return out


def violated(pool: CutPool, selected: BoolArray) -> int:
    """How many cuts of the pool a 0/1 selection breaks (none, for a feasible one)."""
    lhs = np.bincount(pool.owners(), weights=pool.coef * selected[pool.pairs], minlength=len(pool))
    return int((lhs > pool.rhs + 1e-9).sum())

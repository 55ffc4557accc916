"""Districts: a part too large for one process's time (a city that is one connected component)
improved district by district, in rounds, from greedy's plan.

**Districts** (`split_districts`). The part's requests are cut by recursive coordinate
bisection (on the unit sphere: the axis of widest spread, at the quantile that balances the
pairs) into `count` districts of about equal pairs. A volunteer near a border has candidates in
several districts; their districts are ranked by how many of their candidate pairs each holds.

**Rounds** (`round_problems`, `improved`). Round r offers every volunteer to one district: the
r-th of their ranking (cycling), so the first round offers each to the district holding most of
their pairs and later rounds offer the border volunteers to their other districts in turn. A
district's sub-problem in a round (`freed`) is its requests' pairs whose volunteer is offered to
it, every other chosen pair held: volunteers keep the capacity, pair count and free hours the
held pairs leave them, requests the headcount. The sub-problems of one round share no
volunteer and no request, so they are solved at once (on the workers) and their plans put
together keep every hard rule; a district's new plan replaces its old one only where it is
lexicographically better (the plan in hand's free pairs are a plan of the sub-problem), so no
round makes the plan worse than the last, nor than greedy's. Offering a volunteer to one
district at a time is what lets plans solved at once be put together: districts that each saw
every volunteer's whole capacity would plan a border volunteer twice at the same hours
(docs/scale.md, "Why rounds").

**Bound.** A sub-problem holds part of the plan fixed, so its bound is not the part's: the part's
proven bound is the trivial one (every request staffed by its candidates up to its maximum),
which the whole city's LP relaxation equals on the city weeks measured (docs/scale.md).

A part with rows over every pair (quotas, a change budget) is not cut: sub-problems solved at
once would each spend the same slack of those rows.

Arrays in, arrays out: the caller (`cluster.solve`, in this process or on Dask) solves each
round's sub-problems where it likes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..geo import unit_vectors
from ..objective import lexicographic_key, plan_coverage, understaffed_requests
from ..problem import BoolArray, FloatArray, IntArray, ProblemData
from .decompose import Part, net_of_held, restrict
from .optimal import PartResult
from .optimal.part import trivial_bound

__all__ = [
    "Districts",
    "RoundProblem",
    "district_count",
    "district_result",
    "freed",
    "headroom",
    "improved",
    "round_problems",
    "split_districts",
    "weight",
]


@dataclass(frozen=True, eq=False)
class Districts:
    """A part's requests cut into districts, and each volunteer's districts ranked."""

    count: int
    request_district: IntArray  # per request of the part
    # Per volunteer of the part, their districts by their candidate pairs in each, most first
    # (ties: the lower district), and how many districts hold a candidate pair of theirs.
    ranking: IntArray  # (volunteers, count)
    reach: IntArray  # per volunteer

    def __len__(self) -> int:
        return self.count

    def offered(self, round_number: int) -> IntArray:
        """Per volunteer, the district that may change their pairs in round `round_number`."""
        pick = round_number % np.maximum(self.reach, 1)
        return np.asarray(self.ranking[np.arange(len(self.reach)), pick], dtype=np.int64)


def district_count(pairs: int, max_pairs: int) -> int:
    """How many districts keep each under `max_pairs` pairs (on average)."""
    return max(1, math.ceil(pairs / max(max_pairs, 1)))


def split_districts(
    data: ProblemData, request_lat: FloatArray, request_lon: FloatArray, count: int
) -> Districts:
    """`data`'s requests cut into `count` districts of about equal pairs by recursive coordinate
    bisection of their locations (degrees)."""
    weight = np.bincount(data.pair_request, minlength=data.num_requests).astype(np.float64)
    points = unit_vectors(request_lat, request_lon)
    label = np.zeros(data.num_requests, dtype=np.int64)
    stack: list[tuple[IntArray, int, int]] = [
        (np.arange(data.num_requests, dtype=np.int64), max(1, count), 0)
    ]
    next_label = 1
    while stack:
        members, k, name = stack.pop()
        if k == 1 or len(members) < 2:
            label[members] = name
            continue
        spread = points[members].max(axis=0) - points[members].min(axis=0)
        axis = int(np.argmax(spread))
        order = members[np.argsort(points[members, axis], kind="stable")]
        left_k = k // 2
        cum = np.cumsum(weight[order] + 1e-9)  # requests without pairs still count a little
        cut = int(np.searchsorted(cum, cum[-1] * left_k / k))
        cut = min(max(cut, 1), len(order) - 1)
        stack.append((order[:cut], left_k, name))
        stack.append((order[cut:], k - left_k, next_label))
        next_label += 1
    # Labels in order of first appearance along the requests, so that districts are numbered
    # the same way whatever the stack order.
    _, label = np.unique(label, return_inverse=True)
    label = label.astype(np.int64).ravel()
    found = int(label.max()) + 1 if len(label) else 1
    held = np.bincount(
        data.pair_volunteer * found + label[data.pair_request],
        minlength=data.num_volunteers * found,
    ).reshape(data.num_volunteers, found)
    ranking = np.argsort(-held, axis=1, kind="stable").astype(np.int64)
    return Districts(found, label, ranking, (held > 0).sum(axis=1).astype(np.int64))


def round_problems(
    data: ProblemData, districts: Districts, selected: BoolArray, round_number: int
) -> list[RoundProblem]:
    """Round `round_number`'s sub-problems, one per district whose free pairs (those of its
    requests whose volunteer the round offers to it) could staff more than the plan in hand
    does, every other chosen pair held. They share no volunteer and no request: their plans,
    with the held pairs, make one plan. (A district whose plan in hand already staffs every
    request of its sub-problem as far as its candidates allow is left as it is: its travel could
    improve, its coverage not, and the round's time goes to the districts that can gain.)"""
    district = districts.request_district[data.pair_request]
    free = districts.offered(round_number)[data.pair_volunteer] == district
    order = np.flatnonzero(free)
    order = order[np.argsort(district[order], kind="stable")]  # keeps pairs sorted per district
    cuts = np.searchsorted(district[order], np.arange(districts.count + 1))
    problems = [
        replace(freed(data, selected, order[cuts[k] : cuts[k + 1]]), district=k)
        for k in range(districts.count)
        if cuts[k + 1] > cuts[k]
    ]
    return [p for p in problems if headroom(p, selected) > 0]


def headroom(problem: RoundProblem, selected: BoolArray) -> int:
    """How much more coverage than the plan in hand (`selected`, over the part) a round's
    sub-problem could give at most (its trivial bound)."""
    sub = problem.part
    return trivial_bound(sub.data) - plan_coverage(sub.data, selected[sub.pairs])


def weight(problem: RoundProblem, selected: BoolArray) -> float:
    """A sub-problem's share of its round's time: its pairs (what a solve costs) times the
    square root of its headroom (what it may gain). The headroom gathers in few districts,
    which by pairs alone would have too small a share to end their MIPs (docs/scale.md)."""
    return float(problem.part.data.num_pairs) * math.sqrt(max(headroom(problem, selected), 0))


def improved(
    data: ProblemData,
    selected: BoolArray,
    problems: Sequence[RoundProblem],
    plans: Sequence[BoolArray],
) -> BoolArray:
    """`selected` with each of one round's sub-problems' plans where lexicographically better
    (on the sub-problem) than the part of `selected` it would replace."""
    chosen = selected.copy()
    for problem, plan in zip(problems, plans, strict=True):
        sub = problem.part
        old = selected[sub.pairs]
        if lexicographic_key(sub.data, plan) > lexicographic_key(sub.data, old):
            chosen[sub.pairs] = plan
    return chosen


@dataclass(frozen=True, eq=False)
class RoundProblem:
    """A sub-problem of a round: `part` on the freed pairs (caps and headcounts net of the held
    ones), `held` the chosen pairs kept as they are."""

    part: Part
    held: BoolArray
    district: int = 0  # its district's number (`round_problems`)


def freed(data: ProblemData, selected: BoolArray, free: IntArray) -> RoundProblem:
    """The sub-problem on the `free` pairs with every other chosen pair held: volunteers keep
    the capacity and pair count the held pairs leave them, requests the headcount, and free
    pairs that conflict with a held pair of their volunteer (or no longer fit) are left out.
    Requests are net of the held pairs (`decompose.net_of_held`)."""
    free = np.asarray(free, dtype=np.int64)
    in_free = np.zeros(data.num_pairs, dtype=bool)
    in_free[free] = True
    held = selected & ~in_free
    hv, hr = data.pair_volunteer[held], data.pair_request[held]
    load = np.bincount(hv, weights=data.pair_load[held], minlength=data.num_volunteers)
    count = np.bincount(hv, minlength=data.num_volunteers)
    have = np.bincount(hr, minlength=data.num_requests)
    fv, fr = data.pair_volunteer[free], data.pair_request[free]
    ok = (data.pair_load[free] + load[fv] <= data.volunteer_capacity[fv]) & (
        count[fv] < data.volunteer_max_pairs[fv]
    )
    ok &= have[fr] < data.request_max[fr]
    ok &= ~_conflicts_with(data, held, free)
    # A freed chosen pair always fits (the plan kept every rule), so the plan in hand's free
    # part stays a plan of the sub-problem.
    ok |= selected[free]
    part = restrict(data, np.sort(free[ok]))
    sub = part.data
    v, r = part.volunteers, part.requests
    sub = replace(
        net_of_held(sub, have[r]),
        volunteer_capacity=np.maximum(sub.volunteer_capacity - load[v].astype(np.int64), 0),
        volunteer_max_pairs=np.maximum(sub.volunteer_max_pairs - count[v], 0),
    )
    return RoundProblem(Part(sub, part.pairs, part.volunteers, part.requests), held)


def _conflicts_with(data: ProblemData, held: BoolArray, free: IntArray) -> BoolArray:
    """Which `free` pairs share a conflict set with a held pair of the same volunteer."""
    set_ptr, set_of = data.request_sets()
    nsets = max(data.num_conflict_sets, 1)

    def keys(pairs: IntArray) -> tuple[IntArray, IntArray]:
        r = data.pair_request[pairs]
        n = set_ptr[r + 1] - set_ptr[r]
        rank = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        sets = set_of[np.repeat(set_ptr[r], n) + rank]
        return np.repeat(data.pair_volunteer[pairs], n) * nsets + sets, np.repeat(
            np.arange(len(pairs)), n
        )

    # Only the free pairs of volunteers with a held pair can conflict with one: most free
    # pairs are those of volunteers freed whole, whose keys would make the client's memory
    # peak (docs/scale.md).
    with_held = np.zeros(data.num_volunteers, dtype=bool)
    with_held[data.pair_volunteer[held]] = True
    look = np.flatnonzero(with_held[data.pair_volunteer[free]])
    held_keys = np.sort(keys(np.flatnonzero(held))[0])
    free_keys, row = keys(free[look])
    # Sorted lookup rather than `np.isin` (or `np.unique`), whose hashing of wide keys is slow
    # (a round cuts one sub-problem per district in the client: docs/scale.md, "Why rounds").
    at = np.minimum(np.searchsorted(held_keys, free_keys), max(len(held_keys) - 1, 0))
    found = held_keys[at] == free_keys if len(held_keys) else np.zeros(len(free_keys), bool)
    hit = np.zeros(len(free), dtype=bool)
    hit[look[row[found]]] = True
    return hit


def district_result(
    data: ProblemData, districts: Districts, start: BoolArray, rounds: Sequence[BoolArray]
) -> PartResult:
    """The part's result: the last round's plan (`start`: greedy's, before the first round),
    with the part's trivial bound (a sub-problem's bound is not the part's: see the module's
    docstring); nothing proven about travel. Its stats say what each round won."""
    selected = rounds[-1] if rounds else start
    bound = trivial_bound(data)
    coverage = plan_coverage(data, selected)
    stats = {
        "districts": float(len(districts)),
        "district_rounds": float(len(rounds)),
        "coverage_proven": float(coverage >= bound),
        "staffing_proven": 0.0,
        "travel_proven": 0.0,
        "soft_proven": 0.0,
        "start_coverage": float(plan_coverage(data, start)),
        **{
            f"round_{k + 1}_coverage": float(plan_coverage(data, plan))
            for k, plan in enumerate(rounds)
        },
    }
    return PartResult(selected, bound, False, understaffed_requests(data, selected), stats)


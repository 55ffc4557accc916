"""Districts: a part too large for one process's time (a city that is one connected component)
cut into districts by where its requests are, each district solved as a part, and a repair
across the borders.

**Districts.** The part's requests are cut by recursive coordinate bisection (on the unit
sphere: the axis of widest spread, at the quantile that balances the pairs) into `count`
districts of about equal pairs. A district holds *every* candidate pair of its requests, so a
volunteer near a border is in several districts, each time with all their capacity. A district
is then a relaxation of the whole part cut down to its requests: any plan of the part, cut to a
district's requests, is a plan of the district. Hence **the sum of the districts' proven
coverage bounds is a proven coverage bound of the part** (and a mandatory request that no plan
of its district staffs is at fault in the part too). Nothing is proven about travel.

**Merge** (`merge`). District plans are put side by side; a volunteer two districts both use
keeps the pairs of one (the district where their chosen pairs weigh most; a pinned pair's
district first), then those of the others that still fit (caps, conflicts; heaviest requests
first); a request then left below its minimum is emptied (unless mandatory). The merged plan
keeps every hard rule that the district plans kept.

**Repair** (`border` and `repaired`). Every pair of the border volunteers (those with candidates
in two districts or more) and of the requests the merge took volunteers from is freed, every
other chosen pair held; the freed sub-problem (`freed`: caps, headcounts and conflicts net of
the held pairs) is cut into its independent parts and each is solved exactly by the optimal
engine. The repaired plan replaces the merged one when it is lexicographically better.

Arrays in, arrays out: the caller solves the districts and the border's parts where it likes
(in this process: `solve_districts`; on a Dask cluster: the `cluster` package).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..geo import unit_vectors
from ..objective import lexicographic_key, plan_coverage, understaffed_requests
from ..problem import BoolArray, FloatArray, IntArray, ProblemData
from .base import Control, Deadline, SolveParams
from .decompose import Part, restrict, split
from .lns import improve
from .optimal import PartResult, solve_part

__all__ = [
    "Border",
    "Districts",
    "border",
    "district_count",
    "freed",
    "merge",
    "repaired",
    "solve_districts",
    "split_districts",
]

# Share of a district solve's time kept for the repair across borders.
REPAIR_SHARE = 0.25


@dataclass(frozen=True, eq=False)
class Districts:
    """A part's requests cut into districts; each district a `Part` of the part holding every
    candidate pair of its requests."""

    parts: list[Part]
    request_district: IntArray  # per request of the part

    def __len__(self) -> int:
        return len(self.parts)


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
    pair_district = label[data.pair_request]
    order = np.argsort(pair_district, kind="stable")  # keeps pairs sorted within a district
    cuts = np.searchsorted(pair_district[order], np.arange(label.max() + 2))
    parts = [restrict(data, order[cuts[d] : cuts[d + 1]]) for d in range(len(cuts) - 1)]
    return Districts([p for p in parts if p.data.num_pairs], label)


def merge(data: ProblemData, districts: Districts, selections: Sequence[BoolArray]) -> BoolArray:
    """The district plans side by side, made one plan of the part: a volunteer chosen in
    several districts keeps only one district's pairs; requests then short of their minimum
    are emptied, mandatory ones excepted (they stay short, for the repair to staff)."""
    selected = np.zeros(data.num_pairs, dtype=bool)
    district_of_pair = np.full(data.num_pairs, -1, dtype=np.int64)
    for k, (part, plan) in enumerate(zip(districts.parts, selections, strict=True)):
        selected[part.pairs] = plan
        district_of_pair[part.pairs] = k
    chosen = np.flatnonzero(selected)
    v = data.pair_volunteer[chosen]
    d = district_of_pair[chosen]
    weight = data.request_priority[data.pair_request[chosen]].astype(np.float64)
    weight += np.where(data.pair_pinned[chosen], np.inf, 0.0)  # a pinned pair's district first
    # The district where each volunteer's chosen pairs weigh most (ties: the lower district).
    key = v * len(districts) + d
    keys, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse.ravel(), weights=weight)
    kv, kd = keys // len(districts), keys % len(districts)
    order = np.lexsort((kd, -total, kv))
    first = order[np.r_[True, kv[order][1:] != kv[order][:-1]]]
    owner = np.full(data.num_volunteers, -1, dtype=np.int64)
    owner[kv[first]] = kd[first]
    lost = chosen[owner[v] != d]
    selected[lost] = False
    if not data.has_global_rows:  # rows over every pair (quotas) are the repair's to keep
        selected[_compatible(data, selected, lost)] = True
    return _emptied_below_minimum(data, selected)


def _compatible(data: ProblemData, selected: BoolArray, lost: IntArray) -> IntArray:
    """Of the `lost` pairs (chosen in a district other than their volunteer's), those that can
    join `selected` one by one, heaviest request first, within their volunteer's capacity and
    pair count and in no conflict set with the volunteer's other pairs: a volunteer two
    districts both planned keeps both plans where they fit together. (Their requests' headcounts
    hold: a request is in one district, whose plan chose these pairs.)"""
    if len(lost) == 0:
        return lost
    set_ptr, set_of = data.request_sets()
    volunteers = np.unique(data.pair_volunteer[lost])
    mine = selected & np.isin(data.pair_volunteer, volunteers)
    load = np.bincount(
        data.pair_volunteer[mine], weights=data.pair_load[mine], minlength=data.num_volunteers
    )
    count = np.bincount(data.pair_volunteer[mine], minlength=data.num_volunteers)
    taken: dict[int, set[int]] = {}
    for p in np.flatnonzero(mine).tolist():
        r = int(data.pair_request[p])
        taken.setdefault(int(data.pair_volunteer[p]), set()).update(
            set_of[set_ptr[r] : set_ptr[r + 1]].tolist()
        )
    order = lost[np.argsort(-data.request_priority[data.pair_request[lost]], kind="stable")]
    joined: list[int] = []
    for p in order.tolist():
        v, r = int(data.pair_volunteer[p]), int(data.pair_request[p])
        sets = set(set_of[set_ptr[r] : set_ptr[r + 1]].tolist())
        held = taken.setdefault(v, set())
        if (
            load[v] + data.pair_load[p] > data.volunteer_capacity[v]
            or count[v] >= data.volunteer_max_pairs[v]
            or held & sets
        ):
            continue
        load[v] += data.pair_load[p]
        count[v] += 1
        held |= sets
        joined.append(p)
    return np.asarray(joined, dtype=np.int64)


def _emptied_below_minimum(data: ProblemData, selected: BoolArray) -> BoolArray:
    """`selected` without the pairs of optional requests staffed below their minimum (their
    pinned pairs kept)."""
    filled = np.bincount(data.pair_request[selected], minlength=data.num_requests)
    below = (filled > 0) & (filled < data.request_min) & ~data.request_mandatory
    drop = selected & below[data.pair_request] & ~data.pair_pinned
    return np.asarray(selected & ~drop, dtype=bool)


@dataclass(frozen=True, eq=False)
class Border:
    """The repair's sub-problem: `part` on the freed pairs (caps and headcounts net of the held
    ones), `held` the part's chosen pairs kept as they are."""

    part: Part
    held: BoolArray


def border(data: ProblemData, districts: Districts, selected: BoolArray, hurt: BoolArray) -> Border:
    """The sub-problem across the borders: every pair of the volunteers with candidates in two
    districts or more, and of the requests in `hurt` (those the merge took volunteers from)."""
    district = districts.request_district[data.pair_request]
    lo = np.full(data.num_volunteers, np.iinfo(np.int64).max)
    hi = np.full(data.num_volunteers, -1)
    np.minimum.at(lo, data.pair_volunteer, district)
    np.maximum.at(hi, data.pair_volunteer, district)
    crossing = lo < hi
    free = crossing[data.pair_volunteer] | hurt[data.pair_request]
    return freed(data, selected, np.flatnonzero(free))


def freed(data: ProblemData, selected: BoolArray, free: IntArray) -> Border:
    """The sub-problem on the `free` pairs with every other chosen pair held: volunteers keep
    the capacity and pair count the held pairs leave them, requests the headcount, and free
    pairs that conflict with a held pair of their volunteer (or no longer fit) are left out.
    A request the held pairs staff below its minimum must reach it (as in `lns`)."""
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
    held_count = have[r]
    sub = replace(
        sub,
        volunteer_capacity=np.maximum(sub.volunteer_capacity - load[v].astype(np.int64), 0),
        volunteer_max_pairs=np.maximum(sub.volunteer_max_pairs - count[v], 0),
        request_max=sub.request_max - held_count,
        request_min=np.where(held_count > 0, np.maximum(sub.request_min - held_count, 1), sub.request_min),
        request_mandatory=sub.request_mandatory | ((held_count > 0) & (held_count < sub.request_min)),
    )  # fmt: skip
    return Border(Part(sub, part.pairs, part.volunteers, part.requests), held)


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

    # Only the free pairs of volunteers with a held pair can conflict with one: at a border
    # most free pairs are those of volunteers freed whole (their (pair, set) keys for every
    # free pair made the client's peak at 100,000 volunteers: 2 GB more).
    with_held = np.zeros(data.num_volunteers, dtype=bool)
    with_held[data.pair_volunteer[held]] = True
    look = np.flatnonzero(with_held[data.pair_volunteer[free]])
    held_keys, _ = keys(np.flatnonzero(held))
    free_keys, row = keys(free[look])
    hit = np.zeros(len(free), dtype=bool)
    hit[look[row[np.isin(free_keys, held_keys)]]] = True
    return hit


def repaired(
    data: ProblemData,
    selected: BoolArray,
    found: Border,
    parts: Sequence[Part],
    results: Sequence[BoolArray],
) -> BoolArray:
    """The plan with the border's parts' plans (`parts` as `split` cut `found.part`), if
    lexicographically better than `selected`; else `selected`."""
    chosen = found.held.copy()
    for part, plan in zip(parts, results, strict=True):
        chosen[found.part.pairs[part.pairs[plan]]] = True
    if lexicographic_key(data, chosen) > lexicographic_key(data, selected):
        return chosen
    return selected


def district_result(
    data: ProblemData,
    districts: Districts,
    results: Sequence[PartResult],
    merged: BoolArray,
    selected: BoolArray,
) -> PartResult:
    """The part's result from its districts' results, their merged plan and the final plan: the
    districts' bounds added (a proven bound, see the module's docstring), nothing proven about
    travel. Its stats say where coverage went: the districts' plans added (border volunteers
    counted in each district that used them), the merged plan, the repaired one."""
    bound = int(sum(r.bound for r in results))
    faults = [part.requests[r.at_fault] for part, r in zip(districts.parts, results, strict=True)]
    proven_faults = np.unique(np.concatenate(faults)) if faults else np.zeros(0, np.int64)
    short = understaffed_requests(data, selected)
    staffing_proven = all(r.stats.get("staffing_proven", 0.0) for r in results) and bool(
        np.isin(short, proven_faults).all()
    )
    coverage = plan_coverage(data, selected)
    stats = {
        "districts": float(len(districts)),
        "coverage_proven": float(coverage >= bound),
        "staffing_proven": float(staffing_proven),
        "travel_proven": 0.0,
        "soft_proven": 0.0,
        "districts_coverage": float(
            sum(
                plan_coverage(p.data, r.selected)
                for p, r in zip(districts.parts, results, strict=True)
            )
        ),
        "merged_coverage": float(plan_coverage(data, merged)),
        "repaired_coverage": float(coverage),
    }
    return PartResult(selected, bound, False, short, stats)


def hurt_requests(
    data: ProblemData, districts: Districts, selections: Sequence[BoolArray], merged: BoolArray
) -> BoolArray:
    """Requests whose merged staffing is below their district plan's."""
    planned = np.zeros(data.num_requests, dtype=np.int64)
    for part, chosen in zip(districts.parts, selections, strict=True):
        planned[part.requests] += np.bincount(
            part.data.pair_request[chosen], minlength=part.data.num_requests
        )
    filled = np.bincount(data.pair_request[merged], minlength=data.num_requests)
    return np.asarray(filled < planned, dtype=bool)


def solve_districts(
    data: ProblemData,
    request_lat: FloatArray,
    request_lon: FloatArray,
    count: int,
    seconds: float,
    params: SolveParams,
    control: Control,
) -> PartResult:
    """One part solved district by district in this process, then repaired across the borders,
    within `seconds` (the reference for the distributed solve, and its fallback)."""
    deadline = Deadline(seconds)
    districts = split_districts(data, request_lat, request_lon, count)
    share = deadline.remaining() * (1 - REPAIR_SHARE)
    results = []
    for part in districts.parts:
        seconds_for = share * part.data.num_pairs / max(data.num_pairs, 1)
        results.append(solve_part(part.data, seconds_for, params, control))
    selections = [r.selected for r in results]
    merged = merge(data, districts, selections)
    found = border(data, districts, merged, hurt_requests(data, districts, selections, merged))
    parts = split(found.part.data)
    border_pairs = max(sum(p.data.num_pairs for p in parts), 1)
    left = deadline.remaining() * 0.8
    plans = [
        solve_part(p.data, left * p.data.num_pairs / border_pairs, params, control).selected
        for p in parts
    ]
    selected = repaired(data, merged, found, parts, plans)
    selected = improve(data, selected, deadline, control, seed=params.seed)
    return district_result(data, districts, results, merged, selected)

"""Splitting a problem into independent parts: connected components of the graph whose nodes
are volunteers and requests and whose edges are candidate pairs. No constraint crosses two
components, so each is solved on its own and the results add up (plans, coverage, bounds) —
unless rows span the whole problem (quotas, a change budget): then it is one part."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..problem import BoolArray, IntArray, ProblemData

__all__ = ["Part", "net_of_held", "restrict", "split"]


@dataclass(frozen=True, eq=False)
class Part:
    """A sub-problem and where its pairs, volunteers and requests sit in the whole."""

    data: ProblemData
    pairs: IntArray
    volunteers: IntArray
    requests: IntArray


def restrict(data: ProblemData, pairs: IntArray, held: BoolArray | None = None) -> Part:
    """The sub-problem on `pairs` (sorted indices), over the volunteers and requests they touch.
    Pair order is kept, so sorted input keeps compiled pairs (volunteer, request)-sorted.
    `held`: the chosen pairs outside `pairs` (a selection over `data`'s pairs), which the rows
    over every pair (quotas, the change budget) count as constants; none by default."""
    pairs = np.asarray(pairs, dtype=np.int64)
    quota_base, changes_base = data.quota_base, data.changes_base
    if held is not None and data.has_global_rows:
        outside = np.ones(data.num_pairs, dtype=bool)
        outside[pairs] = False
        kept = held & outside
        quota_base = quota_base + data.quota_amounts()[:, kept].sum(axis=1)
        changes_base += data.changes(kept) - data.changes_base - int(
            (data.pair_previous[pairs]).sum()
        )
    vols, pv = np.unique(data.pair_volunteer[pairs], return_inverse=True)
    reqs, pr = np.unique(data.pair_request[pairs], return_inverse=True)
    # Conflict sets cut down to the requests kept; sets left with fewer than two are dropped.
    new_request = np.full(data.num_requests, -1, dtype=np.int64)
    new_request[reqs] = np.arange(len(reqs))
    members = new_request[data.conflict_requests]
    inside = members >= 0
    owner = np.repeat(np.arange(data.num_conflict_sets), np.diff(data.conflict_indptr))
    sizes = np.bincount(owner[inside], minlength=data.num_conflict_sets)
    keep_set = sizes >= 2
    keep_member = inside & keep_set[owner]
    indptr = np.zeros(int(keep_set.sum()) + 1, dtype=np.int64)
    np.cumsum(sizes[keep_set], out=indptr[1:])
    sub = ProblemData(
        num_volunteers=len(vols),
        num_requests=len(reqs),
        pair_volunteer=pv.astype(np.int64),
        pair_request=pr.astype(np.int64),
        pair_cost=data.pair_cost[pairs],
        pair_load=data.pair_load[pairs],
        volunteer_capacity=data.volunteer_capacity[vols],
        volunteer_max_pairs=data.volunteer_max_pairs[vols],
        request_min=data.request_min[reqs],
        request_max=data.request_max[reqs],
        request_mandatory=data.request_mandatory[reqs],
        request_priority=data.request_priority[reqs],
        pair_bonus=data.pair_bonus[pairs],
        pair_pinned=data.pair_pinned[pairs],
        conflict_indptr=indptr,
        conflict_requests=members[keep_member],
        request_order=data.request_order[reqs],
        request_dropped=data.request_dropped[reqs],
        request_dropped_cost=data.request_dropped_cost[reqs],
        fairness_breakpoints=data.fairness_breakpoints,
        fairness_slopes=data.fairness_slopes,
        volunteer_fairness_offset=data.volunteer_fairness_offset[vols],
        volunteer_group=data.volunteer_group[vols],
        quota_group=data.quota_group,
        quota_share=data.quota_share,
        quota_minimum=data.quota_minimum,
        quota_by_load=data.quota_by_load,
        quota_hard=data.quota_hard,
        quota_weight=data.quota_weight,
        quota_base=quota_base,
        pair_previous=data.pair_previous[pairs],
        max_changes=data.max_changes,
        changes_base=changes_base,
        keep_previous=data.keep_previous,
    )
    return Part(sub, pairs, vols.astype(np.int64), reqs.astype(np.int64))


def net_of_held(sub: ProblemData, have: IntArray) -> ProblemData:
    """`sub` with `have` pairs (per request of `sub`) held outside it: a request's maximum is
    net of them; one they staff already needs no more (neither its minimum nor its being
    mandatory applies to the free pairs), one they staff below its minimum must reach it."""
    staffed = have > 0
    return replace(
        sub,
        request_max=sub.request_max - have,
        request_min=np.where(staffed, np.maximum(sub.request_min - have, 1), sub.request_min),
        request_mandatory=np.where(staffed, have < sub.request_min, sub.request_mandatory),
    )


def split(data: ProblemData, batch_pairs: int = 4000) -> list[Part]:
    """Independent parts of `data`, smallest first. Components smaller than `batch_pairs` pairs
    are packed together into one part (still independent inside), so that thousands of tiny
    components cost a few solver calls, not thousands."""
    if data.num_pairs == 0:
        return []
    if data.has_global_rows:  # no part is independent of the others
        return [restrict(data, np.arange(data.num_pairs, dtype=np.int64))]
    nv = data.num_volunteers
    n = nv + data.num_requests
    graph = sp.csr_matrix(
        (np.ones(data.num_pairs), (data.pair_volunteer, nv + data.pair_request)), shape=(n, n)
    )
    _, label = connected_components(graph, directed=False)
    pair_label = label[data.pair_volunteer]
    sizes = np.bincount(pair_label)
    order = np.argsort(pair_label, kind="stable")
    bounds = np.searchsorted(pair_label[order], np.arange(len(sizes) + 1))
    components = [
        order[bounds[c] : bounds[c + 1]] for c in np.argsort(sizes, kind="stable") if sizes[c]
    ]
    parts: list[Part] = []
    batch: list[IntArray] = []
    batch_size = 0
    for comp in components:
        if len(comp) >= batch_pairs:
            parts.append(restrict(data, np.sort(comp)))
            continue
        batch.append(comp)
        batch_size += len(comp)
        if batch_size >= batch_pairs:
            parts.append(restrict(data, np.sort(np.concatenate(batch))))
            batch, batch_size = [], 0
    if batch:
        parts.append(restrict(data, np.sort(np.concatenate(batch))))
    parts.sort(key=lambda part: part.data.num_pairs)
    return parts

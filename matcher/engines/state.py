"""Incremental bookkeeping of a selection of pairs: who is loaded how much, which requests hold
how many, and which pairs are blocked by a chosen conflicting pair. Shared by the greedy engine,
the local search and the explanations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..problem import BoolArray, IntArray, ProblemData

__all__ = ["Incidence", "Selection"]


def _csr_by(
    keys: IntArray, size: int, order_keys: IntArray | None = None
) -> tuple[IntArray, IntArray]:
    """Group positions 0..len(keys)-1 by key: (indptr, positions), positions sorted by
    (key, order_keys)."""
    order = (
        np.lexsort((order_keys, keys))
        if order_keys is not None
        else np.argsort(keys, kind="stable")
    )
    indptr = np.searchsorted(keys[order], np.arange(size + 1)).astype(np.int64)
    return indptr, order.astype(np.int64)


@dataclass(frozen=True, eq=False)
class Incidence:
    """Index structures of one problem: pairs by request (nearest first), pairs by volunteer,
    and for each pair the conflict sets that hold it."""

    request_ptr: IntArray
    request_pairs: IntArray
    volunteer_ptr: IntArray
    volunteer_pairs: IntArray
    pair_set_ptr: IntArray
    pair_sets: IntArray

    @classmethod
    def of(cls, data: ProblemData) -> Incidence:
        request_ptr, request_pairs = _csr_by(data.pair_request, data.num_requests, data.pair_cost)
        volunteer_ptr, volunteer_pairs = _csr_by(data.pair_volunteer, data.num_volunteers)
        owner = np.repeat(
            np.arange(data.num_conflict_sets, dtype=np.int64), np.diff(data.conflict_indptr)
        )
        pair_set_ptr, order = _csr_by(data.conflict_pairs, data.num_pairs)
        return cls(
            request_ptr, request_pairs, volunteer_ptr, volunteer_pairs, pair_set_ptr, owner[order]
        )

    def pairs_of_request(self, r: int) -> IntArray:
        return self.request_pairs[self.request_ptr[r] : self.request_ptr[r + 1]]

    def pairs_of_volunteer(self, v: int) -> IntArray:
        return self.volunteer_pairs[self.volunteer_ptr[v] : self.volunteer_ptr[v + 1]]

    def sets_of_pair(self, p: int) -> IntArray:
        return self.pair_sets[self.pair_set_ptr[p] : self.pair_set_ptr[p + 1]]


class Selection:
    """A mutable set of chosen pairs with the sums the hard rules need."""

    def __init__(self, data: ProblemData, incidence: Incidence | None = None) -> None:
        self.data = data
        self.inc = incidence or Incidence.of(data)
        self.selected = np.zeros(data.num_pairs, dtype=bool)
        self.load = np.zeros(data.num_volunteers, dtype=np.int64)
        self.count = np.zeros(data.num_volunteers, dtype=np.int64)
        self.filled = np.zeros(data.num_requests, dtype=np.int64)
        self.set_used = np.zeros(data.num_conflict_sets, dtype=np.int64)
        # blocked[p] > 0: some conflict set of p already holds a chosen pair.
        self.blocked = np.zeros(data.num_pairs, dtype=np.int64)

    def fits(self, pairs: IntArray) -> BoolArray:
        """Which of `pairs` could be added now without breaking a volunteer's caps or conflicts
        (request headcounts are the caller's concern)."""
        d = self.data
        v = d.pair_volunteer[pairs]
        return np.asarray(
            ~self.selected[pairs]
            & (self.blocked[pairs] == 0)
            & (self.load[v] + d.pair_load[pairs] <= d.volunteer_capacity[v])
            & (self.count[v] < d.volunteer_max_pairs[v]),
            dtype=bool,
        )

    def add(self, p: int) -> None:
        d = self.data
        self.selected[p] = True
        v = d.pair_volunteer[p]
        self.load[v] += d.pair_load[p]
        self.count[v] += 1
        self.filled[d.pair_request[p]] += 1
        for s in self.inc.sets_of_pair(p).tolist():
            self.set_used[s] += 1
            if self.set_used[s] == 1:
                self.blocked[d.conflict_pairs[d.conflict_indptr[s] : d.conflict_indptr[s + 1]]] += 1

    def remove(self, p: int) -> None:
        d = self.data
        self.selected[p] = False
        v = d.pair_volunteer[p]
        self.load[v] -= d.pair_load[p]
        self.count[v] -= 1
        self.filled[d.pair_request[p]] -= 1
        for s in self.inc.sets_of_pair(p).tolist():
            self.set_used[s] -= 1
            if self.set_used[s] == 0:
                self.blocked[d.conflict_pairs[d.conflict_indptr[s] : d.conflict_indptr[s + 1]]] -= 1

    @classmethod
    def of(
        cls, data: ProblemData, selected: BoolArray, incidence: Incidence | None = None
    ) -> Selection:
        out = cls(data, incidence)
        for p in np.flatnonzero(selected).tolist():
            out.add(p)
        return out

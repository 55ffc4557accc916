"""Incremental bookkeeping of a selection of pairs: who is loaded how much, which requests hold
how many, and which pairs are blocked by a chosen conflicting pair. Shared by the greedy engine,
the local search and the explanations."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    and the conflict sets holding each request."""

    request_ptr: IntArray
    request_pairs: IntArray
    volunteer_ptr: IntArray
    volunteer_pairs: IntArray
    set_ptr: IntArray
    set_of: IntArray
    _sets_cache: dict[int, frozenset[int]] = field(default_factory=dict, repr=False)
    _volunteer_conflicts: dict[int, BoolArray] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, data: ProblemData) -> Incidence:
        request_ptr, request_pairs = _csr_by(data.pair_request, data.num_requests, data.pair_cost)
        volunteer_ptr, volunteer_pairs = _csr_by(data.pair_volunteer, data.num_volunteers)
        set_ptr, set_of = data.request_sets()
        return cls(request_ptr, request_pairs, volunteer_ptr, volunteer_pairs, set_ptr, set_of)

    def pairs_of_request(self, r: int) -> IntArray:
        return self.request_pairs[self.request_ptr[r] : self.request_ptr[r + 1]]

    def pairs_of_volunteer(self, v: int) -> IntArray:
        return self.volunteer_pairs[self.volunteer_ptr[v] : self.volunteer_ptr[v + 1]]

    def sets_of_request(self, r: int) -> IntArray:
        return self.set_of[self.set_ptr[r] : self.set_ptr[r + 1]]

    def conflicting(self, r: int, requests: IntArray) -> BoolArray:
        """Which of `requests` share a conflict set with request `r` (one volunteer cannot do
        both). Called with one volunteer's few requests at a time: set lookups on cached
        frozensets beat array operations there."""
        mine = self._set_of(r)
        if not mine:
            return np.zeros(len(requests), dtype=bool)
        return np.fromiter(
            (not mine.isdisjoint(self._set_of(q)) for q in requests.tolist()),
            dtype=bool,
            count=len(requests),
        )

    def conflicts_among(self, requests: IntArray) -> BoolArray:
        """Which of `requests` share a conflict set, pairwise (k x k, symmetric, false on the
        diagonal): one matrix product over the sets they lie in."""
        k = len(requests)
        starts = self.set_ptr[requests]
        counts = self.set_ptr[requests + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return np.zeros((k, k), dtype=bool)
        offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
        sets = self.set_of[np.arange(total) + offsets]
        _, column = np.unique(sets, return_inverse=True)
        member = np.zeros((k, int(column.max()) + 1), dtype=np.int32)
        member[np.repeat(np.arange(k), counts), column] = 1
        out: BoolArray = (member @ member.T) > 0
        np.fill_diagonal(out, False)
        return out

    def volunteer_conflicts(self, v: int, pair_request: IntArray) -> BoolArray:
        """`conflicts_among` the requests of volunteer v's pairs (`pairs_of_volunteer`, with
        `pair_request` of the problem this incidence indexes), kept: the cut rounds ask for
        the same volunteers round after round."""
        found = self._volunteer_conflicts.get(v)
        if found is None:
            found = self.conflicts_among(pair_request[self.pairs_of_volunteer(v)])
            found.flags.writeable = False
            self._volunteer_conflicts[v] = found
        return found

    def _set_of(self, r: int) -> frozenset[int]:
        found = self._sets_cache.get(r)
        if found is None:
            found = frozenset(self.sets_of_request(r).tolist())
            self._sets_cache[r] = found
        return found


class Selection:
    """A mutable set of chosen pairs with the sums the hard rules need."""

    def __init__(self, data: ProblemData, incidence: Incidence | None = None) -> None:
        self.data = data
        self.inc = incidence or Incidence.of(data)
        self.selected = np.zeros(data.num_pairs, dtype=bool)
        self.load = np.zeros(data.num_volunteers, dtype=np.int64)
        self.count = np.zeros(data.num_volunteers, dtype=np.int64)
        self.filled = np.zeros(data.num_requests, dtype=np.int64)
        # blocked[p] > 0: p's volunteer holds a chosen pair on a request conflicting with p's.
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

    def fits_pair(self, p: int) -> bool:
        """`fits` for one pair, without arrays (for callers that take pairs one by one)."""
        d = self.data
        v = d.pair_volunteer[p]
        return bool(
            not self.selected[p]
            and self.blocked[p] == 0
            and self.load[v] + d.pair_load[p] <= d.volunteer_capacity[v]
            and self.count[v] < d.volunteer_max_pairs[v]
        )

    def add(self, p: int) -> None:
        self._change(p, +1)

    def remove(self, p: int) -> None:
        self._change(p, -1)

    def _change(self, p: int, sign: int) -> None:
        d = self.data
        self.selected[p] = sign > 0
        v, r = int(d.pair_volunteer[p]), int(d.pair_request[p])
        self.load[v] += sign * d.pair_load[p]
        self.count[v] += sign
        self.filled[r] += sign
        same_volunteer = self.inc.pairs_of_volunteer(v)
        hit = same_volunteer[self.inc.conflicting(r, d.pair_request[same_volunteer])]
        self.blocked[hit] += sign

    def blocking_request(self, p: int) -> int:
        """A chosen request of p's volunteer that conflicts with p's request, or -1."""
        d = self.data
        mine = self.inc.pairs_of_volunteer(int(d.pair_volunteer[p]))
        chosen = mine[self.selected[mine]]
        hit = chosen[self.inc.conflicting(int(d.pair_request[p]), d.pair_request[chosen])]
        return int(d.pair_request[hit[0]]) if len(hit) else -1

    @classmethod
    def of(
        cls, data: ProblemData, selected: BoolArray, incidence: Incidence | None = None
    ) -> Selection:
        out = cls(data, incidence)
        for p in np.flatnonzero(selected).tolist():
            out.add(p)
        return out

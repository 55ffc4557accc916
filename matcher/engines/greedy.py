"""`greedy`: the first-come-first-served baseline, as volunteer centers match today.

Pinned pairs are placed first. Then requests are taken in order of start time (`request_order`),
as a center fills them by phone, except that requests already holding a pinned volunteer, then
mandatory requests, go before the rest; each takes the nearest volunteers that are still free
(no conflicting assignment, caps not reached), up to its headcount, or none if fewer than its
minimum are free. It never revisits a choice, so scarce volunteers go to whichever request comes
first: the thing to beat. A request whose pinned volunteers cannot be joined by enough others
keeps them and is reported at fault (rules 9 and 11 cannot both hold).

Rows over every pair (`ProblemData.has_global_rows`) are kept as it goes: a pair that would take
a group past its hard maximum share is passed over; with a change budget (or a price on changes,
`keep_previous`), the previous plan's pairs go in first where they still fit (keeping them is no
change), a request they leave below its minimum is topped up or emptied, and new pairs are added
while the budget lasts. Hard
minimum shares are met at the end, where it can: a chosen pair outside the group gives way to a
free candidate of the group on the same request, else whole requests staffed outside the group
are dropped (the empty plan meets every share).
"""

from __future__ import annotations

import numpy as np

from ..problem import QUOTA_TOLERANCE, BoolArray, FloatArray, IntArray, ProblemData
from .base import Control, Deadline, EngineResult, Progress, SolveParams, Status
from .state import Incidence, Selection

__all__ = ["greedy", "greedy_selection", "short_requests"]


def greedy_selection(
    data: ProblemData, deadline: Deadline | None = None, inc: Incidence | None = None
) -> Selection:
    """The first-come-first-served selection (also the optimal engine's first incumbent)."""
    sel = Selection(data, inc)
    keeps = data.limits_changes or data.keep_previous
    rows = _Rows(sel) if data.has_global_rows or keeps else None
    for p in np.flatnonzero(data.pair_pinned).tolist():
        sel.add(p)
        if rows is not None:
            rows.add(p)
    if rows is not None and keeps:
        rows.keep_previous()
    has_pinned = np.bincount(data.pair_request[data.pair_pinned], minlength=data.num_requests) > 0
    group = np.where(has_pinned, 0, np.where(data.request_mandatory, 1, 2))
    order = np.lexsort((data.request_order, group))
    for step, r in enumerate(order.tolist()):
        if deadline is not None and step % 256 == 0 and deadline.expired():
            break
        room = int(data.request_max[r] - sel.filled[r])
        if room <= 0:
            continue
        pairs = sel.inc.pairs_of_request(r)  # nearest first
        free = pairs[sel.fits(pairs)]
        free = free[:room] if rows is None else rows.admissible(free, room)
        if sel.filled[r] + len(free) < data.request_min[r]:
            continue
        if rows is not None and not rows.affords(free):
            continue
        for p in free.tolist():
            sel.add(p)
            if rows is not None:
                rows.add(p)
    if rows is not None:
        rows.meet_minimum_shares()
    return sel


class _Rows:
    """The rows over every pair as greedy builds its selection: each quota's value (`base +
    sum amount x`, >= 0 for a minimum and <= 0 for a maximum) and the change count."""

    def __init__(self, sel: Selection) -> None:
        self.sel = sel
        d = self.data = sel.data
        self.amounts = d.quota_amounts()
        self.value = d.quota_base.astype(np.float64).copy()
        self.sign = np.where(d.quota_minimum, 1.0, -1.0)  # value * sign >= 0 is met
        self.hard = d.quota_hard
        self.coef = d.change_coefficients()
        self.changes = d.changes(sel.selected)
        self.total = 0.0  # pairs and load chosen: the scale of the quotas' tolerance

    def add(self, p: int) -> None:
        self.value += self.amounts[:, p]
        self.changes += int(self.coef[p])
        self.total += 1.0 + float(self.data.pair_load[p])

    def remove(self, p: int) -> None:
        self.value -= self.amounts[:, p]
        self.changes -= int(self.coef[p])
        self.total -= 1.0 + float(self.data.pair_load[p])

    def met(self, value: FloatArray) -> BoolArray:
        """Which quotas `value` meets."""
        tolerance = QUOTA_TOLERANCE * (self.total + 1.0)
        return np.asarray(value * self.sign >= -tolerance, dtype=bool)

    def keep_previous(self) -> None:
        """The previous plan's pairs that still fit, then its requests left below their minimum
        topped up within the budget, or else emptied of them."""
        sel, d = self.sel, self.data
        previous = np.flatnonzero(d.pair_previous & ~sel.selected)
        rank = d.request_order[d.pair_request[previous]]
        for p in previous[np.lexsort((d.pair_cost[previous], rank))].tolist():
            r = int(d.pair_request[p])
            one = np.array([p], dtype=np.int64)
            if sel.filled[r] < d.request_max[r] and sel.fits_pair(p) and len(self.admissible(one, 1)):
                sel.add(p)
                self.add(p)
        for r in np.flatnonzero((sel.filled > 0) & (sel.filled < d.request_min)).tolist():
            pairs = sel.inc.pairs_of_request(r)
            need = int(d.request_min[r] - sel.filled[r])
            extra = self.admissible(pairs[sel.fits(pairs)], need)
            if len(extra) == need and self.affords(extra):
                for p in extra.tolist():
                    sel.add(p)
                    self.add(p)
                continue
            for p in pairs[sel.selected[pairs] & ~d.pair_pinned[pairs]].tolist():
                sel.remove(p)
                self.remove(p)

    def admissible(self, pairs: IntArray, room: int) -> IntArray:
        """Up to `room` of `pairs`, in order, each keeping every hard maximum share met once the
        ones before it are in."""
        hard_max = self.hard & ~self.data.quota_minimum
        if not hard_max.any():
            return pairs[:room]
        value = self.value.copy()
        taken: list[int] = []
        for p in pairs.tolist():
            after = value + self.amounts[:, p]
            if self.met(after)[hard_max].all():
                taken.append(p)
                value = after
                if len(taken) == room:
                    break
        return np.asarray(taken, dtype=np.int64)

    def affords(self, pairs: IntArray) -> bool:
        """Whether adding `pairs` keeps the change count within the budget."""
        return self.changes + int(self.coef[pairs].sum()) <= self.data.max_changes

    def meet_minimum_shares(self) -> None:
        """Hard minimum shares not met: swap chosen pairs outside the group for free members
        of it on the same request, then drop requests staffed outside it, as long as neither
        breaks a hard share that holds nor the change budget."""
        sel, d = self.sel, self.data
        for q in np.flatnonzero(self.hard & d.quota_minimum).tolist():
            members = d.volunteer_group[d.pair_volunteer] == d.quota_group[q]
            for p in np.flatnonzero(sel.selected & ~members & ~d.pair_pinned)[::-1].tolist():
                if self.met(self.value)[q]:
                    break
                self._swap(p, members)
            for r in np.argsort(-d.request_order, kind="stable").tolist():
                if self.met(self.value)[q]:
                    break
                staff = sel.inc.pairs_of_request(r)
                staff = staff[sel.selected[staff]]
                if len(staff) and not (members[staff] | d.pair_pinned[staff]).any():
                    self._drop(staff)

    def _keeps(self, before: BoolArray, limit: int) -> bool:
        """Whether the selection as it stands keeps every hard share that `before` met, and
        the change count within `limit`."""
        return bool(self.met(self.value)[before & self.hard].all()) and self.changes <= limit

    def _swap(self, p: int, members: BoolArray) -> None:
        """`p` gives way to a free member of the group on its request, if one keeps the rest."""
        sel, d = self.sel, self.data
        before, limit = self.met(self.value), max(d.max_changes, self.changes)
        sel.remove(p)
        self.remove(p)
        pairs = sel.inc.pairs_of_request(int(d.pair_request[p]))
        for q in pairs[members[pairs] & sel.fits(pairs)].tolist():
            sel.add(q)
            self.add(q)
            if self._keeps(before, limit):
                return
            sel.remove(q)
            self.remove(q)
        sel.add(p)
        self.add(p)

    def _drop(self, staff: IntArray) -> None:
        """The pairs of `staff` (one request's) dropped, if that keeps the rest."""
        before, limit = self.met(self.value), max(self.data.max_changes, self.changes)
        for p in staff.tolist():
            self.sel.remove(p)
            self.remove(p)
        if not self._keeps(before, limit):
            for p in staff.tolist():
                self.sel.add(p)
                self.add(p)
def short_requests(sel: Selection) -> IntArray:
    """Requests a greedy selection leaves breaking a staffing rule: mandatory requests short,
    requests whose pinned volunteers stay under the minimum, and requests holding a pinned pair
    that breaks a cap or a conflict (pinned pairs are placed whatever they break: arrays are not
    validated like instances)."""
    data = sel.data
    below = sel.filled < data.request_min
    short = below & (data.request_mandatory | (sel.filled > 0))
    over = (sel.load > data.volunteer_capacity) | (sel.count > data.volunteer_max_pairs)
    pinned = np.flatnonzero(data.pair_pinned)
    breaking = over[data.pair_volunteer[pinned]] | (sel.blocked[pinned] > 1)
    short[data.pair_request[pinned[breaking]]] = True
    return np.flatnonzero(short).astype(np.int64)


def greedy(data: ProblemData, params: SolveParams, control: Control) -> EngineResult:
    deadline = Deadline(params.time_limit_s)
    sel = greedy_selection(data, deadline)
    control.on_progress(Progress(phase="greedy", fraction=1.0))
    short = short_requests(sel)
    return EngineResult(
        selected=sel.selected.copy(),
        status=Status.INFEASIBLE if len(short) else Status.FEASIBLE,
        at_fault=short,
        stats={"engine": "greedy"},
    )

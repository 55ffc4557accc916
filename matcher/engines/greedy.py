"""`greedy`: the first-come-first-served baseline, as volunteer centers match today.

Pinned pairs are placed first. Then requests are taken in order of start time (`request_order`),
as a center fills them by phone, except that requests already holding a pinned volunteer, then
mandatory requests, go before the rest; each takes the nearest volunteers that are still free
(no conflicting assignment, caps not reached), up to its headcount, or none if fewer than its
minimum are free. It never revisits a choice, so scarce volunteers go to whichever request comes
first: the thing to beat. A request whose pinned volunteers cannot be joined by enough others
keeps them and is reported at fault (rules 9 and 11 cannot both hold).
"""

from __future__ import annotations

import numpy as np

from ..problem import IntArray, ProblemData
from .base import Control, Deadline, EngineResult, Progress, SolveParams, Status
from .state import Incidence, Selection

__all__ = ["greedy", "greedy_selection", "short_requests"]


def greedy_selection(
    data: ProblemData, deadline: Deadline | None = None, inc: Incidence | None = None
) -> Selection:
    """The first-come-first-served selection (also the optimal engine's first incumbent)."""
    sel = Selection(data, inc)
    for p in np.flatnonzero(data.pair_pinned).tolist():
        sel.add(p)
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
        free = pairs[sel.fits(pairs)][:room]
        if sel.filled[r] + len(free) < data.request_min[r]:
            continue
        for p in free.tolist():
            sel.add(p)
    return sel


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

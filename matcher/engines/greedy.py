"""`greedy`: the first-come-first-served baseline, as volunteer centers match today.

Pinned pairs are placed first. Then requests are taken in order of start time (`request_order`);
each takes the nearest volunteers that are still free (no conflicting assignment, caps not
reached), up to its headcount, or none if fewer than its minimum are free. It never revisits a
choice, so scarce volunteers go to whichever request comes first: the thing to beat.
"""

from __future__ import annotations

import numpy as np

from ..problem import ProblemData
from .base import Control, Deadline, EngineResult, Progress, SolveParams, Status
from .state import Incidence, Selection

__all__ = ["greedy", "greedy_selection"]


def greedy_selection(
    data: ProblemData, deadline: Deadline | None = None, inc: Incidence | None = None
) -> Selection:
    """The first-come-first-served selection (also the optimal engine's first incumbent)."""
    sel = Selection(data, inc)
    for p in np.flatnonzero(data.pair_pinned).tolist():
        sel.add(p)
    order = np.argsort(data.request_order, kind="stable")
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


def greedy(data: ProblemData, params: SolveParams, control: Control) -> EngineResult:
    deadline = Deadline(params.time_limit_s)
    sel = greedy_selection(data, deadline)
    control.on_progress(Progress(phase="greedy", fraction=1.0))
    # Mandatory requests left short, and requests whose pinned volunteers stay under the minimum.
    below = sel.filled < data.request_min
    short = below & (data.request_mandatory | (sel.filled > 0))
    status = Status.INFEASIBLE if short.any() else Status.FEASIBLE
    return EngineResult(
        selected=sel.selected.copy(),
        status=status,
        at_fault=np.flatnonzero(short).astype(np.int64),
        stats={"engine": "greedy"},
    )

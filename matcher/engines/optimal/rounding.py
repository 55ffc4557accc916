"""A plan rounded from an LP optimum, for the restricted path's first plan better than greedy's.

The LP of a city week is nearly integral, so its pairs, the most valued first, make a plan
close to the LP bound in milliseconds, where the dive (a MIP on the LP's support) needs
tenths of a second that a loaded machine may not give it before the time is up
(docs/engines.md, "Large weeks under load").

The pairs the LP values are taken in turn while their request has room and their volunteer
keeps every cap and conflict; then every request, in greedy's order, is topped up with its
nearest free candidates, or emptied if it stays below its minimum (its pinned pairs stay).
"""

from __future__ import annotations

import numpy as np

from ...problem import BoolArray, FloatArray, ProblemData
from ..state import Incidence, Selection

__all__ = ["rounded_plan"]

# LP values at most this are taken as zero.
_SUPPORT = 1e-6


def rounded_plan(data: ProblemData, values: FloatArray, inc: Incidence) -> BoolArray | None:
    """A plan from `values` (one per pair, an LP optimum), keeping every cap and conflict;
    None where rows over every pair (quotas, a change budget) or a previous plan to keep are at
    stake, which only greedy's own handling keeps."""
    d = data
    if d.has_global_rows or d.keep_previous:  # global rows include the change budget
        return None
    sel = Selection(d, inc)
    for p in np.flatnonzero(d.pair_pinned).tolist():
        sel.add(p)
    support = np.flatnonzero((values > _SUPPORT) & ~d.pair_pinned)
    order = support[np.lexsort((d.pair_cost[support], -values[support]))]
    for p in order.tolist():
        if sel.filled[d.pair_request[p]] < d.request_max[d.pair_request[p]] and sel.fits_pair(p):
            sel.add(p)
    has_pinned = np.bincount(d.pair_request[d.pair_pinned], minlength=d.num_requests) > 0
    group = np.where(has_pinned, 0, np.where(d.request_mandatory, 1, 2))
    for r in np.lexsort((d.request_order, group)).tolist():
        room = int(d.request_max[r] - sel.filled[r])
        pairs = inc.pairs_of_request(r)  # nearest first
        free = pairs[sel.fits(pairs)][: max(room, 0)]
        if sel.filled[r] + len(free) >= d.request_min[r]:
            for p in free.tolist():
                sel.add(p)
        elif not has_pinned[r]:
            for p in pairs[sel.selected[pairs]].tolist():
                sel.remove(p)
    return sel.selected


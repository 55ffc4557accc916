"""Time-window segments of a route, concatenated in O(1) (Vidal et al. 2013, "A hybrid genetic
algorithm with adaptive diversity management for a large class of vehicle routing problems with
time-windows").

A segment is a run of consecutive stops summarised by four numbers: `duration` (service, travel
and waiting inside the segment, plus any time warp), `warp` (the least total lateness that
cannot be avoided: 0 when the stops can all be served in their windows), `early` and `late`
(the span of start times at the first stop that reach that least warp and least duration).
Arriving at the first stop at time x then costs `warp + max(0, x - late)` of warp and
`duration + max(0, early - x)` of duration. A single stop with window [e, l] and service s is
(s, 0, e, l). Two segments joined by a travel time merge into one; a route is feasible when the
merge of its start, its stops and its end has no warp and a duration within its limit.

`merge` is compiled (numba) for the search's inner loop; it is also callable from Python.
"""

from __future__ import annotations

from numba import njit

__all__ = ["Segment", "merge", "single"]

Segment = tuple[float, float, float, float]  # duration, warp, early, late


@njit(cache=True, inline="always")
def merge(
    d1: float, w1: float, e1: float, l1: float, travel: float,
    d2: float, w2: float, e2: float, l2: float,
) -> Segment:  # fmt: skip
    """The segment of (d1, w1, e1, l1), then `travel`, then (d2, w2, e2, l2)."""
    reach = d1 - w1 + travel  # clock time from the first start to the arrival at the second
    extra_warp = max(e1 + reach - l2, 0.0)  # arriving after the second's latest start
    extra_wait = max(e2 - reach - l1, 0.0)  # arriving before its earliest, even leaving last
    return (
        d1 + d2 + travel + extra_wait,
        w1 + w2 + extra_warp,
        max(e2 - reach, e1) - extra_wait,
        min(l2 - reach, l1) + extra_warp,
    )


def single(earliest: float, latest: float, service: float) -> Segment:
    """The segment of one stop."""
    return (service, 0.0, earliest, latest)

"""Time-window segments (`matcher.engines.routing.timing`): the O(1) concatenation agrees with
serving the stops one by one, for any arrival time at the first stop."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.engines.routing.timing import Segment, merge, single

Stop = tuple[float, float, float]  # earliest, latest, service

stops = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 40), st.integers(0, 12)).map(
        lambda t: (float(t[0]), float(t[0] + t[1]), float(t[2]))
    ),
    min_size=1,
    max_size=7,
)


def served_one_by_one(x: float, route: list[Stop], travel: list[float]) -> tuple[float, float]:
    """(time warp, duration including the warp) arriving at the first stop at x: wait when
    early; when late, start at the latest start anyway and count the lateness as warp."""
    clock, warp = x, 0.0
    for i, (early, late, service) in enumerate(route):
        if i:
            clock += travel[i - 1]
        clock = max(clock, early)
        if clock > late:
            warp += clock - late
            clock = late
        clock += service
    return warp, clock - x + warp


def concatenated(route: list[Stop], travel: list[float], split: int) -> Segment:
    """The route's segment, built as two halves merged (any split gives the same segment)."""

    def chain(part: list[Stop], legs: list[float]) -> Segment:
        seg = single(*part[0])
        for stop, leg in zip(part[1:], legs, strict=True):
            seg = merge(*seg, leg, *single(*stop))
        return seg

    if split == 0 or split >= len(route):
        return chain(route, travel)
    head = chain(route[:split], travel[: split - 1])
    tail = chain(route[split:], travel[split:])
    return merge(*head, travel[split - 1], *tail)


@settings(max_examples=300, deadline=None)
@given(route=stops, data=st.data())
def test_segment_matches_serving_one_by_one(route: list[Stop], data: st.DataObject) -> None:
    travel = [float(t) for t in data.draw(st.lists(st.integers(0, 25), min_size=len(route) - 1,
                                                   max_size=len(route) - 1))]  # fmt: skip
    split = data.draw(st.integers(0, len(route)))
    duration, warp, early, late = concatenated(route, travel, split)
    assert early <= late
    for x in range(-20, 160):
        expected_warp, expected_duration = served_one_by_one(float(x), route, travel)
        assert warp + max(0.0, x - late) == expected_warp
        assert duration + max(0.0, early - x) == expected_duration


def test_single_stop_segment() -> None:
    assert single(3.0, 8.0, 2.0) == (2.0, 0.0, 3.0, 8.0)
    # A stop open [0, 0] served for 1, then 4 of travel to a stop open [5, 6]: it is reached
    # at 5, no wait, no warp (duration 1 + 4), and the start is pinned at 0.
    assert merge(*single(0.0, 0.0, 1.0), 4.0, *single(5.0, 6.0, 0.0)) == (5.0, 0.0, 0.0, 0.0)
    # Served for 1 at [0, 3], then 1 of travel to [6, 9]: leaving as late as 3 still waits 1.
    assert merge(*single(0.0, 3.0, 1.0), 1.0, *single(6.0, 9.0, 0.0)) == (3.0, 0.0, 3.0, 3.0)

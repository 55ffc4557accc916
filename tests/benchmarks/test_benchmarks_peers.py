"""The peers' plain models and the independent check of a selection, on a tiny problem."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import peers
from matcher import ProblemData


def tiny() -> ProblemData:
    """One volunteer, two time-overlapping requests (priority 1 and 3), a third request it
    may also take; one more volunteer with capacity for one pair of load 2 only."""
    return ProblemData.build(
        num_volunteers=2,
        num_requests=3,
        pair_volunteer=[0, 0, 0, 1, 1],
        pair_request=[0, 1, 2, 1, 2],
        pair_cost=[5, 7, 1, 2, 9],
        pair_load=[1, 1, 1, 2, 2],
        volunteer_capacity=[10, 2],
        request_priority=[1, 3, 1],
        # Pairs 0 and 1 (the old per-volunteer form) are volunteer 0 on requests 0 and 1 (the
        # per-request form): the same group either way.
        conflict_sets=[[0, 1]],
    )


def test_conflict_groups_and_check() -> None:
    data = tiny()
    indptr, members = peers.conflict_groups(data)
    assert indptr.tolist() == [0, 2] and sorted(members.tolist()) == [0, 1]
    both = np.array([True, True, False, False, False])
    assert any("conflict group" in p for p in peers.check_selection(data, both))
    over = np.array([False, False, False, True, True])  # volunteer 1: load 4 > 2
    assert any("capacity" in p for p in peers.check_selection(data, over))
    assert peers.check_selection(data, np.array([False, True, True, False, False])) == []


@pytest.mark.parametrize("peer", [peers.cpsat_peer, peers.textbook_peer])
def test_plain_models_are_lexicographic(peer: object) -> None:
    data = tiny()
    out = peer(data, 5.0)  # type: ignore[operator]
    chosen = out["selected"]
    assert peers.check_selection(data, chosen) == []
    # All three requests filled (coverage 1 + 3 + 1 = 5) only as v0 on r0 and r2, v1 on r1
    # (v0 cannot hold both r0 and r1): travel 5 + 1 + 2 = 8.
    coverage = int(data.request_priority[data.pair_request[chosen]].sum())
    assert coverage == 5
    assert int(data.pair_cost[chosen].sum()) == 8

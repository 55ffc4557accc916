"""`RoutingData`: the array form of a routing problem (vehicles visiting places within windows).

A vehicle is one volunteer's day (or a truck of a VRPTW): it leaves its start node no earlier
than its shift start, returns to its end node no later than its shift end, carries at most its
capacity, works at most its maximum duration (from leaving the start to arriving at the end,
waiting included) and makes at most its maximum number of visits. A visit takes place at a node;
its service must START inside [earliest, latest] and lasts `duration`; it has a demand, a
priority (its coverage weight), may be mandatory, and needs `team` vehicles at the same start
time (a team of two helpers; 1 for a VRPTW customer); with `same_group` the team's vehicles must
share their `vehicle_group` (for example one gender). Eligibility lists the (vehicle, visit)
pairs allowed (skills, languages, travel radius: decided by the caller); None allows all.

Travel time and distance are dense node-by-node matrices (float64): a few thousand nodes cost
tens of MB each. Objective, lexicographic as in the rest of the matcher: mandatory visits
first, then coverage (the sum of the priorities of staffed visits), then total distance.

Nothing here knows about people, places or clocks: times are plain numbers in one unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from ...problem import BoolArray, FloatArray, IntArray, ProblemError

__all__ = ["NO_LIMIT", "RoutingData"]

# A bound that never binds (capacity, maximum duration, shift end): finite, so that sums stay
# finite in the compiled code.
NO_LIMIT = 1e15


def _floats(values: ArrayLike | None, n: int, name: str, default: float) -> FloatArray:
    if values is None:
        return np.full(n, default, dtype=np.float64)
    out = np.array(values, dtype=np.float64)
    out = np.full(n, float(out)) if out.ndim == 0 else out.reshape(-1)
    if out.shape != (n,):
        raise ProblemError(f"{name}: expected {n} values, got {out.size}")
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        raise ProblemError(f"{name}[{bad[0]}] is not a finite number ({out[bad[0]]})")
    return out


def _ints(values: ArrayLike | None, n: int, name: str, default: int) -> IntArray:
    if values is None:
        return np.full(n, default, dtype=np.int64)
    raw = np.array(values)
    raw = np.full(n, raw) if raw.ndim == 0 else raw.reshape(-1)
    out = raw.astype(np.int64)
    if out.shape != (n,):
        raise ProblemError(f"{name}: expected {n} values, got {out.size}")
    if not np.array_equal(out, raw):
        raise ProblemError(f"{name}: expected integers")
    return out


def _first(mask: BoolArray) -> int:
    return int(np.flatnonzero(mask)[0])


@dataclass(frozen=True, eq=False)
class RoutingData:
    """Immutable arrays of one routing problem; validated on construction (`build`)."""

    travel_time: FloatArray  # (nodes, nodes)
    distance: FloatArray  # (nodes, nodes)
    vehicle_start: IntArray  # node
    vehicle_end: IntArray  # node
    vehicle_shift_start: FloatArray
    vehicle_shift_end: FloatArray
    vehicle_capacity: FloatArray
    vehicle_max_duration: FloatArray
    vehicle_max_visits: IntArray
    vehicle_group: IntArray
    visit_node: IntArray
    visit_earliest: FloatArray  # window of the service START
    visit_latest: FloatArray
    visit_duration: FloatArray
    visit_demand: FloatArray
    visit_priority: IntArray
    visit_mandatory: BoolArray
    visit_team: IntArray
    visit_same_group: BoolArray
    # Allowed pairs, sorted by visit then vehicle (CSR by visit): the vehicles of visit v are
    # eligible_vehicle[eligible_start[v]:eligible_start[v + 1]].
    eligible_start: IntArray
    eligible_vehicle: IntArray

    @property
    def num_nodes(self) -> int:
        return int(self.travel_time.shape[0])

    @property
    def num_vehicles(self) -> int:
        return int(self.vehicle_start.size)

    @property
    def num_visits(self) -> int:
        return int(self.visit_node.size)

    @cached_property
    def eligible(self) -> BoolArray:
        """Dense (vehicles x visits) view of the eligible pairs (for checks and tests)."""
        dense = np.zeros((self.num_vehicles, self.num_visits), dtype=bool)
        visits = np.repeat(np.arange(self.num_visits), np.diff(self.eligible_start))
        dense[self.eligible_vehicle, visits] = True
        return dense

    @classmethod
    def build(
        cls,
        *,
        travel_time: ArrayLike,
        distance: ArrayLike | None = None,
        vehicle_start: ArrayLike,
        vehicle_end: ArrayLike | None = None,
        vehicle_shift_start: ArrayLike | None = None,
        vehicle_shift_end: ArrayLike | None = None,
        vehicle_capacity: ArrayLike | None = None,
        vehicle_max_duration: ArrayLike | None = None,
        vehicle_max_visits: ArrayLike | None = None,
        vehicle_group: ArrayLike | None = None,
        visit_node: ArrayLike,
        visit_earliest: ArrayLike | None = None,
        visit_latest: ArrayLike | None = None,
        visit_duration: ArrayLike | None = None,
        visit_demand: ArrayLike | None = None,
        visit_priority: ArrayLike | None = None,
        visit_mandatory: ArrayLike | None = None,
        visit_team: ArrayLike | None = None,
        visit_same_group: ArrayLike | None = None,
        eligible: ArrayLike | tuple[ArrayLike, ArrayLike] | None = None,
    ) -> RoutingData:
        """Arrays with defaults (no shift limits, capacity, duration or visit caps; window
        [0, NO_LIMIT]; duration and demand 0; priority 1; optional; team 1; distance =
        travel time; every pair eligible). `eligible` is a boolean (vehicles x visits) matrix
        or a pair list `(vehicles, visits)`. Raises `ProblemError` naming the field and the
        first bad index."""
        time = np.array(travel_time, dtype=np.float64)
        if time.ndim != 2 or time.shape[0] != time.shape[1]:
            raise ProblemError(f"travel_time: expected a square matrix, got shape {time.shape}")
        dist = time.copy() if distance is None else np.array(distance, dtype=np.float64)
        if dist.shape != time.shape:
            raise ProblemError(f"distance: shape {dist.shape} differs from travel_time's")
        for name, matrix in (("travel_time", time), ("distance", dist)):
            bad = ~np.isfinite(matrix) | (matrix < 0)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise ProblemError(f"{name}[{i}, {j}] must be a finite number >= 0")
        nodes = time.shape[0]
        start = np.array(vehicle_start, dtype=np.int64).reshape(-1)
        m = start.size
        end = start.copy() if vehicle_end is None else _ints(vehicle_end, m, "vehicle_end", 0)
        node = np.array(visit_node, dtype=np.int64).reshape(-1)
        n = node.size
        for name, ids in (("vehicle_start", start), ("vehicle_end", end), ("visit_node", node)):
            bad_ids = (ids < 0) | (ids >= nodes)
            if bad_ids.any():
                k = _first(bad_ids)
                raise ProblemError(f"{name}[{k}] = {ids[k]} is not a node (0..{nodes - 1})")
        data = cls(
            travel_time=time,
            distance=dist,
            vehicle_start=start,
            vehicle_end=end,
            vehicle_shift_start=_floats(vehicle_shift_start, m, "vehicle_shift_start", 0.0),
            vehicle_shift_end=_floats(vehicle_shift_end, m, "vehicle_shift_end", NO_LIMIT),
            vehicle_capacity=_floats(vehicle_capacity, m, "vehicle_capacity", NO_LIMIT),
            vehicle_max_duration=_floats(vehicle_max_duration, m, "vehicle_max_duration", NO_LIMIT),
            vehicle_max_visits=_ints(vehicle_max_visits, m, "vehicle_max_visits", n),
            vehicle_group=_ints(vehicle_group, m, "vehicle_group", 0),
            visit_node=node,
            visit_earliest=_floats(visit_earliest, n, "visit_earliest", 0.0),
            visit_latest=_floats(visit_latest, n, "visit_latest", NO_LIMIT),
            visit_duration=_floats(visit_duration, n, "visit_duration", 0.0),
            visit_demand=_floats(visit_demand, n, "visit_demand", 0.0),
            visit_priority=_ints(visit_priority, n, "visit_priority", 1),
            visit_mandatory=np.zeros(n, dtype=bool)
            if visit_mandatory is None
            else np.array(visit_mandatory, dtype=bool).reshape(-1),
            visit_team=_ints(visit_team, n, "visit_team", 1),
            visit_same_group=np.zeros(n, dtype=bool)
            if visit_same_group is None
            else np.array(visit_same_group, dtype=bool).reshape(-1),
            **_eligibility(eligible, m, n),
        )
        data.validate()
        return data

    def validate(self) -> None:
        """Raise `ProblemError` naming the first inconsistent field and index."""
        m, n = self.num_vehicles, self.num_visits
        for name in ("visit_mandatory", "visit_same_group"):
            if getattr(self, name).shape != (n,):
                raise ProblemError(f"{name}: expected {n} values")
        checks: list[tuple[str, BoolArray, str]] = [
            ("vehicle_shift_end", self.vehicle_shift_end < self.vehicle_shift_start,
             "is before vehicle_shift_start"),
            ("vehicle_capacity", self.vehicle_capacity < 0, "must be >= 0"),
            ("vehicle_max_duration", self.vehicle_max_duration < 0, "must be >= 0"),
            ("vehicle_max_visits", self.vehicle_max_visits < 0, "must be >= 0"),
            ("visit_latest", self.visit_latest < self.visit_earliest,
             "is before visit_earliest (the window of the service start is empty)"),
            ("visit_duration", self.visit_duration < 0, "must be >= 0"),
            ("visit_demand", self.visit_demand < 0, "must be >= 0"),
            ("visit_priority", self.visit_priority < 0, "must be >= 0"),
            ("visit_team", self.visit_team < 1, "must be >= 1"),
        ]  # fmt: skip
        for name, bad, what in checks:
            if bad.any():
                k = _first(bad)
                raise ProblemError(f"{name}[{k}] = {getattr(self, name)[k]} {what}")
        if self.eligible_start.shape != (n + 1,) or self.eligible_start[-1] != (
            self.eligible_vehicle.size
        ):
            raise ProblemError("eligible_start: not a CSR index of eligible_vehicle")
        if self.eligible_vehicle.size and (
            self.eligible_vehicle.min() < 0 or self.eligible_vehicle.max() >= m
        ):
            raise ProblemError(f"eligible: vehicle outside 0..{m - 1}")


def _eligibility(
    eligible: ArrayLike | tuple[ArrayLike, ArrayLike] | None, m: int, n: int
) -> dict[str, IntArray]:
    if eligible is None:
        return {
            "eligible_start": np.arange(n + 1, dtype=np.int64) * m,
            "eligible_vehicle": np.tile(np.arange(m, dtype=np.int64), n),
        }
    if isinstance(eligible, tuple):
        vehicles = np.array(eligible[0], dtype=np.int64).reshape(-1)
        visits = np.array(eligible[1], dtype=np.int64).reshape(-1)
        if vehicles.shape != visits.shape:
            raise ProblemError("eligible: the pair list's vehicles and visits differ in length")
        for name, ids, size in (("vehicle", vehicles, m), ("visit", visits, n)):
            bad = (ids < 0) | (ids >= size)
            if bad.any():
                k = _first(bad)
                raise ProblemError(f"eligible pair {k}: {name} {ids[k]} outside 0..{size - 1}")
    else:
        dense = np.array(eligible, dtype=bool)
        if dense.shape != (m, n):
            raise ProblemError(f"eligible: expected shape ({m}, {n}), got {dense.shape}")
        vehicles, visits = np.nonzero(dense)
    order = np.lexsort((vehicles, visits))
    vehicles, visits = vehicles[order], visits[order]
    keep = np.ones(vehicles.size, dtype=bool)
    keep[1:] = (vehicles[1:] != vehicles[:-1]) | (visits[1:] != visits[:-1])
    vehicles, visits = vehicles[keep], visits[keep]
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(visits, minlength=n), out=start[1:])
    return {"eligible_start": start, "eligible_vehicle": vehicles.astype(np.int64)}

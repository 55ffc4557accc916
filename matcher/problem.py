"""The generic array form every engine consumes: `ProblemData`.

A problem is a set of candidate pairs (volunteer, request), each with an integer cost (tier 2,
minimised), an integer load (counted against the volunteer's capacity) and a bonus (tier 3,
maximised); per-volunteer capacity and maximum number of pairs; per-request headcount bounds,
mandatory flags and priorities (tier 1: coverage = sum of priorities of chosen pairs); and
conflict sets. A conflict set is a set of requests that pairwise exclude each other for one
volunteer (they overlap in time, or leave too little time to travel between them): for every
volunteer, its pairs on the requests of one set form a group of which at most one may be chosen.
Stored per request set rather than per volunteer because the conflict depends only on the
requests: a few hundred sets describe what would be millions of per-volunteer groups.

Two kinds of rows span the whole problem rather than one volunteer or request (`global_rows`):
- quotas: a group of volunteers holds at least (or at most) a share of the chosen pairs, counted
  one each or by load; `base + sum_p amount[p] * (in_group[p] - share) x[p]` is >= 0 for a
  minimum and <= 0 for a maximum (linear, since the share is of the plan's own total). Hard
  quotas are rules; soft ones cost `quota_weight` per unit short in tier 3.
- a change budget: `changes = base + (previous pairs not chosen) + (chosen pairs neither previous
  nor pinned) <= max_changes`.
`quota_base` and `changes_base` carry what pairs outside the problem contribute (zero for a
compiled instance; a sub-problem of held pairs, as in the large-neighbourhood search, has some).

Nothing here knows about people, places or clocks: the Generalized Assignment Problem is the same
form with agents as volunteers, jobs as mandatory requests and no conflict sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["QUOTA_TOLERANCE", "UNLIMITED", "IntArray", "ProblemData", "ProblemError"]

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]

# Capacity meaning "no cap"; large enough never to bind, small enough to sum without overflow.
UNLIMITED = np.int64(2**50)
# A quota row's slack below which it counts as met: shares are decimal fractions, so that
# `count - share * total` of an integral plan is off by float rounding only (1e-16 relative),
# or by at least 1 / the share's denominator.
QUOTA_TOLERANCE = 1e-6


class ProblemError(ValueError):
    """The arrays do not describe a consistent problem (wrong shape, range or sign)."""


def _ints(values: ArrayLike) -> IntArray:
    return np.ascontiguousarray(values, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class ProblemData:
    """Immutable arrays of one matching problem; validated on construction."""

    num_volunteers: int
    num_requests: int
    pair_volunteer: IntArray
    pair_request: IntArray
    pair_cost: IntArray
    pair_load: IntArray
    volunteer_capacity: IntArray
    volunteer_max_pairs: IntArray
    request_min: IntArray
    request_max: IntArray
    request_mandatory: BoolArray
    request_priority: IntArray
    pair_bonus: FloatArray = field(default_factory=lambda: np.zeros(0))
    pair_pinned: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # Conflict sets (CSR): set s holds requests conflict_requests[conflict_indptr[s]:conflict_indptr[s+1]].
    conflict_indptr: IntArray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    conflict_requests: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # First-come-first-served rank of each request (smaller is earlier); greedy's order.
    request_order: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Candidates each request left out of the pairs (an upper bound; compile keeps only each
    # request's nearest), and a lower bound on their cost: engines bound what they could add.
    request_dropped: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    request_dropped_cost: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Tier-3 fairness: sum over volunteers and k of fairness_slopes[k] * max(0, load - breakpoint[k]).
    fairness_breakpoints: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fairness_slopes: FloatArray = field(default_factory=lambda: np.zeros(0))
    # Per volunteer, load already counted before this problem (hours served in the target
    # period, net of the target): the penalty is F(offset + load) - F(offset).
    volunteer_fairness_offset: FloatArray = field(default_factory=lambda: np.zeros(0))
    # Group of each volunteer (-1: none), for quotas.
    volunteer_group: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Quotas, one entry each: group, share, minimum (else maximum), of loads (else of pairs),
    # hard, soft weight per unit short, and the constant from pairs outside the problem.
    quota_group: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    quota_share: FloatArray = field(default_factory=lambda: np.zeros(0))
    quota_minimum: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    quota_by_load: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    quota_hard: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    quota_weight: FloatArray = field(default_factory=lambda: np.zeros(0))
    quota_base: FloatArray = field(default_factory=lambda: np.zeros(0))
    # The change budget against the previous plan (UNLIMITED: none), and changes outside.
    pair_previous: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    max_changes: int = int(UNLIMITED)
    changes_base: int = 0
    # Changes against the previous plan are priced (in `pair_cost`): a first plan then starts
    # from the previous pairs, the cheap ones to keep.
    keep_previous: bool = False

    def __post_init__(self) -> None:
        num_pairs = len(self.pair_volunteer)
        defaults = {
            "pair_bonus": np.zeros(num_pairs),
            "pair_pinned": np.zeros(num_pairs, dtype=bool),
            "request_order": np.arange(self.num_requests, dtype=np.int64),
            "request_dropped": np.zeros(self.num_requests, dtype=np.int64),
            "request_dropped_cost": np.zeros(self.num_requests, dtype=np.int64),
            "volunteer_fairness_offset": np.zeros(self.num_volunteers),
            "volunteer_group": np.full(self.num_volunteers, -1, dtype=np.int64),
            "pair_previous": np.zeros(num_pairs, dtype=bool),
        }
        num_quotas = len(self.quota_group)
        if len(self.quota_base) == 0 and num_quotas:
            object.__setattr__(self, "quota_base", np.zeros(num_quotas))
        for f in fields(self):
            value = getattr(self, f.name)
            sized = num_pairs + self.num_requests + self.num_volunteers > 0
            if f.name in defaults and len(value) == 0 and sized:
                value = defaults[f.name]
            if isinstance(value, np.ndarray):
                value = np.array(value, copy=True)
                value.setflags(write=False)
                object.__setattr__(self, f.name, value)
        self._validate()

    @property
    def num_pairs(self) -> int:
        return len(self.pair_volunteer)

    @property
    def num_conflict_sets(self) -> int:
        return len(self.conflict_indptr) - 1

    def pair_keys(self) -> IntArray:
        """volunteer * num_requests + request for each pair (unique; ascending when compiled)."""
        return self.pair_volunteer * max(self.num_requests, 1) + self.pair_request

    def request_sets(self) -> tuple[IntArray, IntArray]:
        """The conflict sets holding each request, as CSR (indptr over requests, set ids)."""
        return self._request_sets

    @cached_property
    def _request_sets(self) -> tuple[IntArray, IntArray]:
        owner = np.repeat(
            np.arange(self.num_conflict_sets, dtype=np.int64), np.diff(self.conflict_indptr)
        )
        order = np.argsort(self.conflict_requests, kind="stable")
        indptr = np.searchsorted(self.conflict_requests[order], np.arange(self.num_requests + 1))
        return indptr.astype(np.int64), owner[order]

    @property
    def has_global_rows(self) -> bool:
        """Whether rows span the whole problem (quotas, a change budget): its parts are then
        no longer independent."""
        return len(self.quota_group) > 0 or self.limits_changes

    @property
    def has_soft_terms(self) -> bool:
        """Whether plans can differ in the soft score (tier 3): bonuses, fairness steps or soft
        quotas; without them every plan ties there."""
        return (
            bool(self.pair_bonus.any())
            or bool(self.fairness_slopes.any())
            or bool((~self.quota_hard).any())
        )

    @property
    def limits_changes(self) -> bool:
        return bool(self.max_changes < UNLIMITED)

    def quota_amounts(self) -> FloatArray:
        """Per quota and pair, what the pair adds to the group's amount less the share of the
        total: `amount * (in_group - share)` (amount 1, or the pair's load): a row of
        (quotas x pairs)."""
        in_group = self.volunteer_group[self.pair_volunteer][None, :] == self.quota_group[:, None]
        amount = np.where(self.quota_by_load[:, None], self.pair_load[None, :].astype(float), 1.0)
        return np.asarray(amount * (in_group - self.quota_share[:, None]), dtype=np.float64)

    def quota_slack(self, selected: BoolArray) -> FloatArray:
        """Per quota, how far a selection is inside it (negative: how far it falls short),
        in pairs or load."""
        if not len(self.quota_group):
            return np.zeros(0)
        value = self.quota_base + self.quota_amounts()[:, selected].sum(axis=1)
        return np.asarray(np.where(self.quota_minimum, value, -value), dtype=np.float64)

    def quota_scale(self, selected: BoolArray) -> FloatArray:
        """Per quota, the plan's total amount (pairs or load): the tolerance's scale."""
        load = float(self.pair_load[selected].sum())
        return np.where(self.quota_by_load, load, float(selected.sum())) + 1.0

    def broken_quotas(self, selected: BoolArray) -> BoolArray:
        """Which quotas a selection does not meet (hard or soft)."""
        tolerance = QUOTA_TOLERANCE * self.quota_scale(selected)
        return np.asarray(self.quota_slack(selected) < -tolerance, dtype=bool)

    def change_coefficients(self) -> FloatArray:
        """Per pair, what choosing it does to the change count: -1 for a previous pair (kept),
        +1 for a pair neither previous nor pinned (added), 0 for a pinned one."""
        return np.where(self.pair_previous, -1.0, np.where(self.pair_pinned, 0.0, 1.0))

    def changes(self, selected: BoolArray) -> int:
        """Changes of a selection against the previous plan: previous pairs dropped plus pairs
        added that are neither previous nor pinned (and those outside the problem)."""
        dropped = int((self.pair_previous & ~selected).sum())
        added = int((selected & ~self.pair_previous & ~self.pair_pinned).sum())
        return self.changes_base + dropped + added

    def violations(self, selected: BoolArray) -> tuple[int, int]:
        """How many hard rules a selection breaks, as (structural, staffing). Structural: a
        volunteer over a cap, pairs of one volunteer in one conflict set beyond the first, a
        request over its maximum, a hard quota not met, changes beyond the budget. Staffing: a
        request staffed below its minimum, a mandatory request short, a pinned pair left out
        (what an infeasible plan may have to break)."""
        pv, pr = self.pair_volunteer[selected], self.pair_request[selected]
        load = np.bincount(pv, weights=self.pair_load[selected], minlength=self.num_volunteers)
        count = np.bincount(pv, minlength=self.num_volunteers)
        filled = np.bincount(pr, minlength=self.num_requests)
        below = filled < self.request_min
        structural = int((load > self.volunteer_capacity).sum())
        structural += int((count > self.volunteer_max_pairs).sum())
        structural += int((filled > self.request_max).sum())
        set_ptr, set_of = self.request_sets()
        n = set_ptr[pr + 1] - set_ptr[pr]
        if n.sum():
            ranks = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
            sets = set_of[set_ptr[pr].repeat(n) + ranks]
            keys = np.repeat(pv, n) * max(self.num_conflict_sets, 1) + sets
            _, per_key = np.unique(keys, return_counts=True)
            structural += int((per_key - 1).sum())
        if len(self.quota_group):
            structural += int((self.broken_quotas(selected) & self.quota_hard).sum())
        if self.limits_changes:
            structural += int(self.changes(selected) > self.max_changes)
        staffing = int(((filled > 0) & below).sum() + (self.request_mandatory & below).sum())
        staffing += int((self.pair_pinned & ~selected).sum())
        return structural, staffing

    def _validate(self) -> None:
        nv, nr, npairs = self.num_volunteers, self.num_requests, self.num_pairs
        if nv < 0 or nr < 0:
            raise ProblemError("num_volunteers and num_requests must be >= 0")
        for name, size in [
            ("pair_request", npairs), ("pair_cost", npairs), ("pair_load", npairs),
            ("pair_bonus", npairs), ("pair_pinned", npairs),
            ("volunteer_capacity", nv), ("volunteer_max_pairs", nv),
            ("request_min", nr), ("request_max", nr), ("request_mandatory", nr),
            ("request_priority", nr), ("request_order", nr),
            ("request_dropped", nr), ("request_dropped_cost", nr),
        ]:  # fmt: skip
            if len(getattr(self, name)) != size:
                raise ProblemError(f"{name} has length {len(getattr(self, name))}, expected {size}")
        if npairs:
            if self.pair_volunteer.min() < 0 or self.pair_volunteer.max() >= nv:
                raise ProblemError("pair_volunteer out of range")
            if self.pair_request.min() < 0 or self.pair_request.max() >= nr:
                raise ProblemError("pair_request out of range")
            if self.pair_load.min() < 0:
                raise ProblemError("pair_load must be >= 0")
            keys = self.pair_volunteer * max(nr, 1) + self.pair_request
            ascending = bool(np.all(np.diff(keys) > 0))  # compiled pairs are sorted: O(n) check
            if not ascending and len(np.unique(keys)) != npairs:
                raise ProblemError("a (volunteer, request) pair appears twice")
        if nv and (self.volunteer_capacity.min() < 0 or self.volunteer_max_pairs.min() < 0):
            raise ProblemError("volunteer capacities must be >= 0")
        if nr:
            if self.request_min.min() < 1 or np.any(self.request_min > self.request_max):
                raise ProblemError("need 1 <= request_min <= request_max")
            if self.request_priority.min() < 0:
                raise ProblemError("request_priority must be >= 0")
        indptr = self.conflict_indptr
        if (
            indptr[0] != 0
            or indptr[-1] != len(self.conflict_requests)
            or np.any(np.diff(indptr) < 0)
        ):
            raise ProblemError("conflict_indptr is not a valid CSR index")
        if len(self.conflict_requests) and (
            self.conflict_requests.min() < 0 or self.conflict_requests.max() >= nr
        ):
            raise ProblemError("conflict_requests out of range")
        if len(self.fairness_breakpoints) != len(self.fairness_slopes):
            raise ProblemError("fairness_breakpoints and fairness_slopes differ in length")
        for name, size in [
            ("volunteer_fairness_offset", nv), ("volunteer_group", nv), ("pair_previous", npairs),
        ]:  # fmt: skip
            if len(getattr(self, name)) != size:
                raise ProblemError(f"{name} has length {len(getattr(self, name))}, expected {size}")
        nq = len(self.quota_group)
        for name in ("quota_share", "quota_minimum", "quota_by_load", "quota_hard",
                     "quota_weight", "quota_base"):  # fmt: skip
            if len(getattr(self, name)) != nq:
                raise ProblemError(f"{name} has length {len(getattr(self, name))}, expected {nq}")
        if nq and (np.any(self.quota_share < 0) or np.any(self.quota_share > 1)):
            raise ProblemError("quota_share must lie in [0, 1]")
        if nq and np.any(self.quota_weight < 0):
            raise ProblemError("quota_weight must be >= 0")
        if self.max_changes < 0:
            raise ProblemError("max_changes must be >= 0")

    # ------------------------------------------------------------------------------------
    # Construction helpers
    # ------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        *,
        num_volunteers: int,
        num_requests: int,
        pair_volunteer: ArrayLike,
        pair_request: ArrayLike,
        pair_cost: ArrayLike,
        pair_load: ArrayLike | None = None,
        volunteer_capacity: ArrayLike | None = None,
        volunteer_max_pairs: ArrayLike | None = None,
        request_min: ArrayLike | None = None,
        request_max: ArrayLike | None = None,
        request_mandatory: ArrayLike | None = None,
        request_priority: ArrayLike | None = None,
        pair_bonus: ArrayLike | None = None,
        pair_pinned: ArrayLike | None = None,
        conflict_sets: Sequence[Sequence[int]] | None = None,  # sets of request indices
        request_order: ArrayLike | None = None,
    ) -> ProblemData:
        """A problem from plain sequences, with the neutral default for anything left out:
        no loads or caps, requests needing exactly one, optional, priority 1."""
        pv = _ints(pair_volunteer)
        npairs = len(pv)
        sets = list(conflict_sets or [])
        indptr = np.zeros(len(sets) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(s) for s in sets])
        members = np.concatenate([_ints(s) for s in sets]) if sets else np.zeros(0, np.int64)

        def ints_or(values: ArrayLike | None, fill: int | np.int64, n: int) -> IntArray:
            return _ints(values) if values is not None else np.full(n, fill, dtype=np.int64)

        return cls(
            num_volunteers=num_volunteers,
            num_requests=num_requests,
            pair_volunteer=pv,
            pair_request=_ints(pair_request),
            pair_cost=_ints(pair_cost),
            pair_load=ints_or(pair_load, 0, npairs),
            volunteer_capacity=ints_or(volunteer_capacity, UNLIMITED, num_volunteers),
            volunteer_max_pairs=ints_or(volunteer_max_pairs, UNLIMITED, num_volunteers),
            request_min=ints_or(request_min, 1, num_requests),
            request_max=ints_or(request_max, 1, num_requests),
            request_mandatory=(
                np.asarray(request_mandatory, dtype=bool)
                if request_mandatory is not None
                else np.zeros(num_requests, dtype=bool)
            ),
            request_priority=ints_or(request_priority, 1, num_requests),
            pair_bonus=(
                np.asarray(pair_bonus, dtype=np.float64)
                if pair_bonus is not None
                else np.zeros(npairs)
            ),
            pair_pinned=(
                np.asarray(pair_pinned, dtype=bool)
                if pair_pinned is not None
                else np.zeros(npairs, bool)
            ),
            conflict_indptr=indptr,
            conflict_requests=members,
            request_order=ints_or(request_order, 0, num_requests)
            if request_order is not None
            else np.arange(num_requests, dtype=np.int64),
        )

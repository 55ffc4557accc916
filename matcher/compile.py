"""Compiling an `Instance` into the engines' array form (`ProblemData`).

Three steps, all vectorised with numpy:
1. `Tables`: volunteers and requests as arrays (coordinates, skill/language bitsets, attribute
   codes, merged availability, times in integer microseconds). Its rule masks (rules 1-5 on
   aligned index arrays) are shared by candidate generation and by the explanations.
2. Candidate pairs: requests grouped by what they require; per group, the volunteers that
   qualify are put in k-d trees by travel radius and queried by the group's request points;
   distance and availability filters then run on whole arrays.
3. Conflict sets of requests: maximal cliques of time-overlapping requests (a sweep over sorted
   events), plus pairs of requests that do not overlap but leave too little time to travel
   between them (rule 6). Engines apply them per volunteer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from .geo import SphereIndex, great_circle_km
from .model import Instance, Pair
from .problem import UNLIMITED, BoolArray, FloatArray, IntArray, ProblemData

__all__ = ["Compiled", "Tables", "compile_instance", "to_micros"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS_PER_HOUR = 3_600_000_000
# Fairness: the penalty grows by `fairness` weight per FAIRNESS_STEP_HOURS of load beyond each
# multiple of FAIRNESS_STEP_HOURS, so it is convex in a volunteer's hours (about h^2 / 32).
FAIRNESS_STEP_HOURS = 4
FAIRNESS_MAX_STEPS = 12
_PAIR_CHUNK = 4_000_000  # candidate pairs examined at once before filtering (bounds memory)
# Pairs found, pending, before each request's nearest are kept and the rest let go: the trim
# sorts what is kept and pending, so its memory grows with both (at 100,000 volunteers, 4M
# pending made a peak of 1.8 GB; 1M, of 1.4 GB; trimming at the end, 3.1 GB).
_TRIM_PAIRS = 1_000_000
_SLOT_MASK_BUDGET = 200_000_000  # slots x intervals examined to build per-slot availability masks
# Every qualifying pair is a candidate while they number at most _PAIR_BUDGET: the engines then
# see every plan, and their proofs need no allowance for candidates left out (a loose one: on
# an independent family's 2,000-volunteer week, 463 pairs left out kept a part unproven).
_PAIR_BUDGET = 1_000_000
# Requests whose candidates tell whether the budget holds (`Tables._estimated_pairs`).
_SAMPLE_REQUESTS = 100
# Beyond it, each request keeps its nearest _CAP_PER_SLOT * volunteers_needed + _CAP_EXTRA
# qualifying candidates; the spatial query looks at _QUERY_FACTOR times that many before the
# availability filter. Farther candidates are dominated in travel and only matter for coverage
# when every nearer one is busy, which the engines' bound accounts for
# (ProblemData.request_dropped).
_CAP_PER_SLOT = 12
_CAP_EXTRA = 40
# ... plus _CAP_PER_RIVAL per slot of the requests within _RIVAL_KM at overlapping times.
_CAP_PER_RIVAL = 2
_RIVAL_KM = 1.0
_QUERY_FACTOR = 5
_HALF_EARTH_KM = float(np.pi * 6371.009)


def to_micros(moment: datetime) -> int:
    """An offset-aware datetime as integer microseconds since the Unix epoch (exact)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _bitsets(lists: list[tuple[str, ...]], universe: dict[str, int]) -> NDArray[np.uint64]:
    """Rows of 64-bit words: bit j set when universe item j is in the row's list."""
    words = max(1, (len(universe) + 63) // 64)
    out = np.zeros((len(lists), words), dtype=np.uint64)
    rows, bits = [], []
    for i, items in enumerate(lists):
        for item in items:
            j = universe.get(item)
            if j is not None:
                rows.append(i)
                bits.append(j)
    if rows:
        r, b = np.asarray(rows), np.asarray(bits)
        np.bitwise_or.at(out, (r, b // 64), np.left_shift(np.uint64(1), (b % 64).astype(np.uint64)))
    return out


class Tables:
    """Volunteers and requests of one instance as arrays, with the hard rules 1-5 as masks."""

    def __init__(self, instance: Instance) -> None:
        vols, reqs = instance.volunteers, instance.requests
        self.num_volunteers, self.num_requests = len(vols), len(reqs)
        self.speed_kmh = instance.options.travel_speed_kmh

        self.v_lat = np.array([v.location.lat for v in vols], dtype=np.float64)
        self.v_lon = np.array([v.location.lon for v in vols], dtype=np.float64)
        self.v_radius = np.array(
            [np.inf if v.max_travel_km is None else v.max_travel_km for v in vols], dtype=np.float64
        )
        self.r_lat = np.array([r.location.lat for r in reqs], dtype=np.float64)
        self.r_lon = np.array([r.location.lon for r in reqs], dtype=np.float64)
        self.r_start = np.array([to_micros(r.window_start) for r in reqs], dtype=np.int64)
        self.r_end = np.array([to_micros(r.window_end) for r in reqs], dtype=np.int64)
        self.r_needed = np.array([r.volunteers_needed for r in reqs], dtype=np.int64)

        # Only skills, languages and attribute keys that some request asks for matter.
        self.skills = sorted({s for r in reqs for s in r.required_skills})
        self.languages = sorted({lang for r in reqs for lang in r.languages})
        self.attribute_keys = sorted({k for r in reqs for k in r.attributes})
        skill_ix = {s: i for i, s in enumerate(self.skills)}
        lang_ix = {s: i for i, s in enumerate(self.languages)}
        self.v_skills = _bitsets([v.skills for v in vols], skill_ix)
        self.r_skills = _bitsets([r.required_skills for r in reqs], skill_ix)
        self.v_langs = _bitsets([v.languages for v in vols], lang_ix)
        self.r_langs = _bitsets([r.languages for r in reqs], lang_ix)
        self.r_any_language = np.array([bool(r.languages) for r in reqs], dtype=bool)

        # Attributes: one integer code per (key, value); -1 = volunteer lacks the key,
        # -2 = request does not constrain the key.
        from .rules import attribute_key

        codes: dict[tuple[str, tuple[str, str | float]], int] = {}
        self.v_attrs = np.full((len(vols), len(self.attribute_keys)), -1, dtype=np.int64)
        self.r_attrs = np.full((len(reqs), len(self.attribute_keys)), -2, dtype=np.int64)
        for j, key in enumerate(self.attribute_keys):
            for i, r in enumerate(reqs):
                if key in r.attributes:
                    code = codes.setdefault((key, attribute_key(r.attributes[key])), len(codes))
                    self.r_attrs[i, j] = code
            for i, v in enumerate(vols):
                if key in v.attributes:
                    found = codes.get((key, attribute_key(v.attributes[key])))
                    self.v_attrs[i, j] = -3 if found is None else found

        # Merged availability, sorted by (volunteer, start).
        owner: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        for i, v in enumerate(vols):
            spans = sorted((to_micros(a.start), to_micros(a.end)) for a in v.availability)
            merged: list[list[int]] = []
            for s, e in spans:
                if merged and s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            for s, e in merged:
                owner.append(i)
                starts.append(s)
                ends.append(e)
        self.avail_owner = np.asarray(owner, dtype=np.int64)
        self.avail_start = np.asarray(starts, dtype=np.int64)
        self.avail_end = np.asarray(ends, dtype=np.int64)
        # Commitments outside this solve, grouped by volunteer.
        c_owner, c_start, c_end, c_lat, c_lon = [], [], [], [], []
        for i, v in enumerate(vols):
            for c in v.commitments:
                c_owner.append(i)
                c_start.append(to_micros(c.start))
                c_end.append(to_micros(c.end))
                c_lat.append(c.location.lat)
                c_lon.append(c.location.lon)
        self.c_start = np.asarray(c_start, dtype=np.int64)
        self.c_end = np.asarray(c_end, dtype=np.int64)
        self.c_lat = np.asarray(c_lat, dtype=np.float64)
        self.c_lon = np.asarray(c_lon, dtype=np.float64)
        self.c_ptr = np.searchsorted(np.asarray(c_owner, dtype=np.int64), np.arange(len(vols) + 1))
        self.v_commitments = np.diff(self.c_ptr)
        # Loads are exact integers: durations in units of their greatest common divisor (half
        # an hour in a typical week), so a cap holds exactly what rule 7 allows, fractional
        # seconds included, and the MIP's numbers stay small.
        duration = self.r_end - self.r_start
        self.load_unit = int(np.gcd.reduce(duration)) if len(duration) else 1
        self.r_load = duration // self.load_unit
        committed_us = np.zeros(len(vols), dtype=np.int64)
        np.add.at(committed_us, np.asarray(c_owner, dtype=np.int64), self.c_end - self.c_start)
        self.v_capacity = np.array(
            [
                UNLIMITED if v.max_hours is None
                # rule 7 allows 1 us of slack (rules.SECONDS_TOLERANCE)
                else max((int(np.floor(v.max_hours * _MICROS_PER_HOUR)) + 1 - c) // self.load_unit, 0)
                for v, c in zip(vols, committed_us.tolist(), strict=True)
            ],
            dtype=np.int64,
        )  # fmt: skip
        self.v_max_pairs = np.array(
            [
                UNLIMITED if v.max_assignments is None else max(v.max_assignments - int(n), 0)
                for v, n in zip(vols, self.v_commitments.tolist(), strict=True)
            ],
            dtype=np.int64,
        )
        # Availability lookups search on (owner, rank of start time) packed into one int64.
        self._times = np.unique(np.concatenate([self.avail_start, self.r_start]))
        self._avail_key = self.avail_owner * len(self._times) + np.searchsorted(
            self._times, self.avail_start
        )
        self._r_start_rank = np.searchsorted(self._times, self.r_start)
        # Requests mostly share a few hundred distinct (start, end) slots: where that is so,
        # one availability mask per slot turns each pair's lookup into a gather.
        slots, self._slot_of_request = np.unique(
            np.stack([self.r_start, self.r_end], axis=1), axis=0, return_inverse=True
        )
        self._slot_of_request = self._slot_of_request.ravel()
        self._slot_masks: NDArray[np.bool_] | None = None
        if len(slots) * max(len(self.avail_owner), len(vols)) <= _SLOT_MASK_BUDGET:
            masks = np.zeros((len(slots), len(vols)), dtype=bool)
            for k, (start, end) in enumerate(slots.tolist()):
                inside = (self.avail_start <= start) & (self.avail_end >= end)
                masks[k, self.avail_owner[inside]] = True
            self._slot_masks = masks

    # -- rule masks on aligned index arrays (v[i], r[i]) ----------------------------------

    def skills_ok(self, v: IntArray, r: IntArray) -> BoolArray:
        """Rule 1."""
        need = self.r_skills[r]
        return np.asarray(np.all((self.v_skills[v] & need) == need, axis=1), dtype=bool)

    def language_ok(self, v: IntArray, r: IntArray) -> BoolArray:
        """Rule 2."""
        shared = np.any((self.v_langs[v] & self.r_langs[r]) != 0, axis=1)
        return np.asarray(shared | ~self.r_any_language[r], dtype=bool)

    def attributes_ok(self, v: IntArray, r: IntArray) -> BoolArray:
        """Rule 3."""
        want = self.r_attrs[r]
        return np.asarray(np.all((want == -2) | (self.v_attrs[v] == want), axis=1), dtype=bool)

    def available(self, v: IntArray, r: IntArray) -> BoolArray:
        """Rule 4: the request lies inside one merged availability interval of the volunteer."""
        if len(self.avail_owner) == 0:
            return np.zeros(len(v), dtype=bool)
        if self._slot_masks is not None:
            return np.asarray(self._slot_masks[self._slot_of_request[r], v], dtype=bool)
        key = v * len(self._times) + self._r_start_rank[r]
        idx = np.searchsorted(self._avail_key, key, side="right") - 1
        safe = np.maximum(idx, 0)
        return np.asarray(
            (idx >= 0) & (self.avail_owner[safe] == v) & (self.avail_end[safe] >= self.r_end[r]),
            dtype=bool,
        )

    def uncommitted(self, v: IntArray, r: IntArray) -> BoolArray:
        """Rule 6 against commitments outside this solve: the volunteer can reach the request
        from each of them, and each of them from the request, in time."""
        ok = np.ones(len(v), dtype=bool)
        count = self.v_commitments[v]
        if len(self.c_start) == 0 or not count.any():
            return ok
        row = np.repeat(np.arange(len(v), dtype=np.int64), count)
        c = self.c_ptr[v].repeat(count) + _ranks_within(count)
        rr = r[row]
        travel_us = (
            great_circle_km(self.c_lat[c], self.c_lon[c], self.r_lat[rr], self.r_lon[rr])
            / self.speed_kmh
            * _MICROS_PER_HOUR
        )
        commitment_first = self.c_start[c] <= self.r_start[rr]
        slack = np.where(
            commitment_first,
            self.r_start[rr] - self.c_end[c] - travel_us,
            self.c_start[c] - self.r_end[rr] - travel_us,
        )
        ok[row[slack < -1.0]] = False
        return ok

    def distance_km(self, v: IntArray, r: IntArray) -> FloatArray:
        return great_circle_km(self.v_lat[v], self.v_lon[v], self.r_lat[r], self.r_lon[r])

    def within_reach(self, v: IntArray, distance: FloatArray) -> BoolArray:
        """Rule 5."""
        return np.asarray(distance <= self.v_radius[v] + 1e-9, dtype=bool)

    def request_distance_km(self, a: IntArray, b: IntArray) -> FloatArray:
        return great_circle_km(self.r_lat[a], self.r_lon[a], self.r_lat[b], self.r_lon[b])

    # -- candidate generation ---------------------------------------------------------------

    def qualified(self, r: int) -> BoolArray:
        """Volunteers that meet rules 1-3 for request `r` (a mask over all volunteers)."""
        v = np.arange(self.num_volunteers, dtype=np.int64)
        rr = np.full(self.num_volunteers, r, dtype=np.int64)
        return self.skills_ok(v, rr) & self.language_ok(v, rr) & self.attributes_ok(v, rr)

    def candidate_pairs(
        self,
        keep_keys: IntArray | None = None,
        drop_keys: IntArray | None = None,
        cap_factor: IntArray | None = None,
    ) -> Candidates:
        """Pairs meeting rules 1-5 (and commitments), sorted by (volunteer, request), with their
        distances: all of them up to `_PAIR_BUDGET` pairs, else for each request its
        `candidate_cap` nearest, plus every pair whose key
        (volunteer * num_requests + request) is in `keep_keys` (pinned and previous pairs), and
        none whose key is in `drop_keys` (excluded pairs: dropped before the cap counts).
        `cap_factor` multiplies the cap of each request.
        How many qualifying pairs each request leaves out, and how near the nearest of them
        could be, are recorded so that engines can bound what they might add."""
        nreq = self.num_requests
        cap = _CAP_PER_SLOT * self.r_needed + _CAP_EXTRA + _CAP_PER_RIVAL * self._rival_demand()
        if cap_factor is not None:  # requests an earlier solve found short of candidates
            cap = cap * cap_factor
        dropped = np.zeros(nreq, dtype=np.int64)
        dropped_km = np.full(nreq, np.inf)

        def allowed(v: IntArray, r: IntArray) -> tuple[IntArray, IntArray]:
            if drop_keys is None or len(drop_keys) == 0:
                return v, r
            keep = ~np.isin(v * max(nreq, 1) + r, drop_keys)
            return v[keep], r[keep]

        every = None
        if self._estimated_pairs() <= _PAIR_BUDGET:
            every = self._gather(np.arange(nreq), None, dropped, dropped_km, budget=_PAIR_BUDGET)
        if every is not None:
            v, r = allowed(*every)
            return self._checked(v, r, keep_keys, cap=None, dropped=dropped, dropped_km=dropped_km)
        trim = _Trim(cap, keep_keys, allowed)
        gathered = self._gather(
            np.arange(nreq), _QUERY_FACTOR * cap, dropped, dropped_km, trim=trim
        )
        assert gathered is not None  # no budget given
        v, r = gathered
        # Requests whose nearest were mostly unavailable keep fewer than their cap although
        # others are in reach: gather those few again, looking further, and at last exactly.
        for factor in (4 * _QUERY_FACTOR, None):
            kept = np.bincount(r, minlength=nreq)
            short = np.flatnonzero((dropped > 0) & (kept < cap))
            if len(short) == 0:
                break
            again = np.isin(r, short)
            dropped[short], dropped_km[short] = 0, np.inf
            limit = None if factor is None else factor * cap
            more = self._gather(short, limit, dropped, dropped_km, trim=trim)
            assert more is not None
            v, r = np.concatenate([v[~again], more[0]]), np.concatenate([r[~again], more[1]])
        return self._checked(v, r, keep_keys, cap=cap, dropped=dropped, dropped_km=dropped_km)

    def _checked(
        self,
        v: IntArray,
        r: IntArray,
        keep_keys: IntArray | None,
        *,
        cap: IntArray | None,
        dropped: IntArray,
        dropped_km: FloatArray,
    ) -> Candidates:
        """The gathered pairs within reach plus the forced ones (checked like the rest), each
        request's `cap` nearest kept (all without one), the rest counted as left out."""
        nreq = self.num_requests
        # Each volunteer is in one radius bucket and each request in one group: no pair is
        # found twice. The forced pairs are added where missing, and checked like the rest.
        if keep_keys is not None and len(keep_keys):
            extra = keep_keys[~np.isin(keep_keys, v * max(nreq, 1) + r)]
            fv, fr = extra // max(nreq, 1), extra % max(nreq, 1)
            fine = self.skills_ok(fv, fr) & self.language_ok(fv, fr) & self.attributes_ok(fv, fr)
            fine &= self.available(fv, fr)
            fine[fine] = self.uncommitted(fv[fine], fr[fine])
            v, r = np.concatenate([v, fv[fine]]), np.concatenate([r, fr[fine]])
        v, r, d = self._nearest(v, r, _Trim(cap, keep_keys), dropped, dropped_km)
        order = np.lexsort((r, v))
        return Candidates(v[order], r[order], d[order], dropped, dropped_km)

    def _nearest(
        self, v: IntArray, r: IntArray, trim: _Trim, dropped: IntArray, dropped_km: FloatArray
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """The pairs within reach, with their distances: each request's `trim.cap` nearest
        (all without a cap) and the forced ones; the others counted and bounded in `dropped`
        and `dropped_km` (in place). Keeping the nearest of some pairs, then the nearest of
        those and more, keeps the nearest of all: candidates are trimmed as they are found."""
        d = self.distance_km(v, r)
        ok = self.within_reach(v, d)
        v, r, d = v[ok], r[ok], d[ok]
        if trim.cap is None:
            return v, r, d
        order = np.lexsort((d, r))
        rank = np.arange(len(order)) - np.searchsorted(r[order], r[order], side="left")
        kept = np.zeros(len(v), dtype=bool)
        kept[order] = rank < trim.cap[r[order]]
        if trim.keep_keys is not None and len(trim.keep_keys):
            kept |= np.isin(v * max(self.num_requests, 1) + r, trim.keep_keys)
        np.add.at(dropped, r[~kept], 1)
        np.minimum.at(dropped_km, r[~kept], d[~kept])
        return v[kept], r[kept], d[kept]

    def _estimated_pairs(self) -> float:
        """How many qualifying pairs there are, from every pair of a sample of the requests (an
        exact gather that would run past the budget costs seconds on large cities)."""
        n = self.num_requests
        if n <= _SAMPLE_REQUESTS:
            return 0.0  # gathering them all is as cheap as the estimate
        sample = np.random.default_rng(0).choice(n, _SAMPLE_REQUESTS, replace=False)
        ignored = np.zeros(n, dtype=np.int64), np.full(n, np.inf)
        found = self._gather(np.sort(sample), None, *ignored)
        assert found is not None
        return len(found[0]) * n / _SAMPLE_REQUESTS

    def _rival_demand(self) -> IntArray:
        """For each request, the headcount of other requests within _RIVAL_KM of it at an
        overlapping time: co-located requests (an exam site) compete for the same nearest
        volunteers, so each must see enough of them for all."""
        n = self.num_requests
        if n < 2:
            return np.zeros(n, dtype=np.int64)
        index = SphereIndex(self.r_lat, self.r_lon)
        near = index.within(self.r_lat, self.r_lon, _RIVAL_KM)
        sizes = np.fromiter((len(h) for h in near), dtype=np.int64, count=n)
        a = np.repeat(np.arange(n, dtype=np.int64), sizes)
        b = np.concatenate(near).astype(np.int64)
        rival = (a != b) & (self.r_start[b] < self.r_end[a]) & (self.r_start[a] < self.r_end[b])
        return np.bincount(a[rival], weights=self.r_needed[b[rival]], minlength=n).astype(np.int64)

    def _gather(
        self,
        requests: IntArray,
        limit: IntArray | None,
        dropped: IntArray,
        dropped_km: FloatArray,
        *,
        budget: int | None = None,
        trim: _Trim | None = None,
    ) -> tuple[IntArray, IntArray] | None:
        """Available, uncommitted (volunteer, request) pairs in reach of `requests`: each request's
        nearest `limit` per radius bucket, or all of them when `limit` is None. Volunteers in
        reach but not returned are added to `dropped` and `dropped_km` (in place). None once
        more than `budget` pairs are found (the search stops there). With `trim`, the pairs are
        those `trim.allowed`, within reach, and each request's `trim.cap` nearest, trimmed
        whenever _TRIM_PAIRS pairs are pending: memory grows with the pairs kept, not with the
        pairs examined."""
        found_v: list[IntArray] = []
        found_r: list[IntArray] = []
        found = 0
        pending = 0

        def trimmed() -> None:
            assert trim is not None
            v, r = trim.allowed(np.concatenate(found_v), np.concatenate(found_r))
            v, r, _ = self._nearest(v, r, trim, dropped, dropped_km)
            found_v[:], found_r[:] = [v], [r]

        wanted = np.zeros(self.num_requests, dtype=bool)
        wanted[requests] = True
        for group_requests, eligible in self._requirement_groups():
            group_requests = group_requests[wanted[group_requests]]
            if len(group_requests) == 0:
                continue
            for members, radius in self._radius_buckets(eligible):
                for v, r, unseen in self._nearby(members, radius, group_requests, limit):
                    if unseen is not None:
                        np.add.at(dropped, unseen.requests, unseen.count)
                        np.minimum.at(dropped_km, unseen.requests, unseen.nearest_km)
                    # A pair that breaks a cap on its own can never be chosen: not a candidate.
                    keep = (self.r_load[r] <= self.v_capacity[v]) & (self.v_max_pairs[v] > 0)
                    keep[keep] = self.available(v[keep], r[keep])
                    keep[keep] = self.uncommitted(v[keep], r[keep])
                    found_v.append(v[keep])
                    found_r.append(r[keep])
                    found += int(keep.sum())
                    pending += int(keep.sum())
                    if budget is not None and found > budget:
                        return None
                    if trim is not None and pending > _TRIM_PAIRS:
                        trimmed()
                        pending = 0
        empty = np.zeros(0, dtype=np.int64)
        if not found_v:
            return empty, empty
        if trim is not None:
            trimmed()
        return np.concatenate(found_v), np.concatenate(found_r)

    def _requirement_groups(self) -> Iterator[tuple[IntArray, IntArray]]:
        """Requests grouped by identical requirements (skills, languages, attributes), each with
        the volunteers that meet them."""
        if self.num_requests == 0 or self.num_volunteers == 0:
            return
        signature = np.concatenate(
            [
                self.r_skills.view(np.int64),
                self.r_langs.view(np.int64),
                self.r_any_language[:, None].astype(np.int64),
                self.r_attrs,
            ],
            axis=1,
        )
        _, group_of = np.unique(signature, axis=0, return_inverse=True)
        group_of = group_of.ravel()
        order = np.argsort(group_of, kind="stable")
        bounds = np.flatnonzero(np.diff(group_of[order])) + 1
        for requests in np.split(order, bounds):
            eligible = np.flatnonzero(self.qualified(int(requests[0])))
            if len(eligible):
                yield requests.astype(np.int64), eligible.astype(np.int64)

    def _radius_buckets(self, volunteers: IntArray) -> Iterator[tuple[IntArray, float]]:
        """Volunteers split by travel radius (each bucket's radius at most twice its smallest),
        so that a radius query per bucket examines few volunteers beyond reach."""
        radius = self.v_radius[volunteers]
        finite = np.isfinite(radius)
        if np.any(~finite):
            yield volunteers[~finite], np.inf
        if np.any(finite):
            level = np.ceil(np.log2(np.maximum(radius[finite], 0.25))).astype(np.int64)
            vols = volunteers[finite]
            for lv in np.unique(level):
                members = vols[level == lv]
                yield members, float(self.v_radius[members].max())

    def _nearby(
        self, volunteers: IntArray, radius: float, requests: IntArray, limit: IntArray | None
    ) -> Iterator[tuple[IntArray, IntArray, _Unseen | None]]:
        """(volunteer, request) pairs of the given sets within `radius` km, in bounded chunks:
        each request's nearest (up to the chunk's largest `limit`; all when `limit` is None).
        Requests that may have more in reach report them as unseen (an upper bound on how many,
        a lower bound on their distance)."""
        radius = min(radius, _HALF_EARTH_KM)
        index = SphereIndex(self.v_lat[volunteers], self.v_lon[volunteers])
        # Chunks of requests that find at most about _PAIR_CHUNK pairs: each request's nearest
        # `limit`, or every volunteer in reach (at most the bucket; the k-d tree answers those
        # in Python lists).
        per_request = len(volunteers) if limit is None else int(limit[requests].max(initial=1))
        step = max(1, min(1024, _PAIR_CHUNK // max(per_request, 1)))
        for lo in range(0, len(requests), step):
            chunk = requests[lo : lo + step]
            if limit is None:  # every volunteer in reach
                hits = index.within(self.r_lat[chunk], self.r_lon[chunk], radius)
                sizes = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
                if sizes.sum():
                    yield volunteers[np.concatenate(hits)], np.repeat(chunk, sizes), None
                continue
            k = min(int(limit[chunk].max()), len(volunteers))
            idx, kth_km = index.nearest(self.r_lat[chunk], self.r_lon[chunk], k, radius)
            found = idx >= 0
            rows = np.broadcast_to(chunk[:, None], idx.shape)
            # A full row may have more volunteers in reach: at most the rest of the bucket, and
            # none nearer than the k-th (counting them exactly costs more than the whole query).
            full = found.all(axis=1) & (k < len(volunteers))
            unseen = _Unseen(
                chunk[full], np.full(int(full.sum()), len(volunteers) - k), kth_km[full]
            )
            yield volunteers[idx[found]], rows[found], unseen if full.any() else None


def _all_allowed(v: IntArray, r: IntArray) -> tuple[IntArray, IntArray]:
    return v, r


@dataclass(frozen=True)
class _Trim:
    """How gathered pairs are trimmed as they come: each request's `cap` nearest (None: all
    within reach), the pairs whose key is in `keep_keys` kept whatever their rank, and only
    the pairs `allowed` (excluded pairs never count toward a cap)."""

    cap: IntArray | None
    keep_keys: IntArray | None
    allowed: Callable[[IntArray, IntArray], tuple[IntArray, IntArray]] = _all_allowed


@dataclass(frozen=True)
class _Unseen:
    """Volunteers in reach of crowded requests that a k-nearest query did not return."""

    requests: IntArray
    count: IntArray
    nearest_km: FloatArray


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate pairs, and per request what was left out beyond its cap."""

    volunteer: IntArray
    request: IntArray
    distance_km: FloatArray
    dropped: IntArray  # per request: qualifying volunteers left out (an upper bound)
    dropped_km: FloatArray  # per request: a lower bound on their distance (inf if none)


@dataclass(frozen=True, eq=False)
class Compiled:
    """An instance compiled for the engines, with what is needed to map results back."""

    instance: Instance
    tables: Tables
    data: ProblemData
    pair_distance_km: FloatArray
    pair_previous: BoolArray
    pair_preference: FloatArray

    @property
    def volunteer_ids(self) -> list[str]:
        return [v.id for v in self.instance.volunteers]

    @property
    def request_ids(self) -> list[str]:
        return [r.id for r in self.instance.requests]


def compile_instance(instance: Instance, *, cap_factor: IntArray | None = None) -> Compiled:
    """Compile a validated instance into candidate pairs, caps, bounds and conflict sets.
    `cap_factor` (per request, >= 1) keeps more candidates for the requests it raises."""
    tables = Tables(instance)
    vols, reqs = instance.volunteers, instance.requests
    forced = _pair_keys(instance, (*instance.pinned, *instance.previous))
    # Excluded pairs (a repair run may not propose a declined pair again) are dropped before
    # each request's candidates are capped, so farther candidates take their place.
    excluded = _pair_keys(instance, instance.excluded)
    candidates = tables.candidate_pairs(np.setdiff1d(forced, excluded), excluded, cap_factor)
    pair_v, pair_r, dist = candidates.volunteer, candidates.request, candidates.distance_km

    load = tables.r_load[pair_r]

    keys = pair_v * max(len(reqs), 1) + pair_r  # ascending: pairs are (volunteer, request)-sorted
    pinned = _pair_flags(instance, keys, instance.pinned)
    # A previous pair no plan can hold (its request alone is over the volunteer's caps, given
    # the commitments) is no change when dropped: as if it were not a candidate.
    previous = _pair_flags(instance, keys, instance.previous) & (
        (load <= tables.v_capacity[pair_v]) & (tables.v_max_pairs[pair_v] >= 1)
    )
    preference = _pair_preferences(instance, pair_v, pair_r)
    weights = instance.options.soft_weights
    bonus = weights.preference * preference + weights.stability * previous

    indptr, members = conflict_sets(tables)
    start_order = np.lexsort((np.arange(len(reqs)), tables.r_start))
    request_order = np.empty(len(reqs), dtype=np.int64)
    request_order[start_order] = np.arange(len(reqs))

    steps = np.arange(1, FAIRNESS_MAX_STEPS + 1, dtype=np.int64)
    step_load = FAIRNESS_STEP_HOURS * _MICROS_PER_HOUR / tables.load_unit
    breakpoints = np.floor(steps * step_load).astype(np.int64)
    slopes = np.full(len(steps), weights.fairness / step_load)
    if weights.fairness == 0:
        breakpoints, slopes = breakpoints[:0], slopes[:0]
    load_per_hour = _MICROS_PER_HOUR / tables.load_unit
    # Annual targets: the fairness term starts from the hours served in the target period,
    # net of the target (people behind it start below zero: their hours cost nothing longer).
    fairness_offset = np.array(
        [
            weights.target * ((v.served_hours or 0.0) - (v.target_hours or 0.0)) * load_per_hour
            for v in vols
        ],
        dtype=np.float64,
    )
    quotas = _Quotas(instance, load_per_hour)

    # Whole metres, rounded down: a bound in metres is then a bound in kilometres too. With a
    # price on changes, tier 2 is travel plus that price per change: a kept previous pair
    # saves it (changes = previous dropped + pairs added, a constant minus the one, plus the
    # other), a pair added costs it, and so would a candidate left out (never previous).
    change_m = round(instance.options.change_cost_km * 1000)
    change_sign = np.where(previous, -1, np.where(pinned, 0, 1))
    pair_cost = np.floor(dist * 1000).astype(np.int64) + change_m * change_sign
    dropped_cost = np.where(
        np.isfinite(candidates.dropped_km), np.floor(candidates.dropped_km * 1000) + change_m, 0
    ).astype(np.int64)

    data = ProblemData(
        num_volunteers=len(vols),
        num_requests=len(reqs),
        pair_volunteer=pair_v,
        pair_request=pair_r,
        pair_cost=pair_cost,
        pair_load=load.astype(np.int64),
        volunteer_capacity=tables.v_capacity,
        volunteer_max_pairs=tables.v_max_pairs,
        request_min=np.array([r.min_volunteers for r in reqs], dtype=np.int64),
        request_max=np.array([r.volunteers_needed for r in reqs], dtype=np.int64),
        request_mandatory=np.array([r.mandatory for r in reqs], dtype=bool),
        request_priority=np.array([r.priority for r in reqs], dtype=np.int64),
        pair_bonus=bonus,
        pair_pinned=pinned,
        conflict_indptr=indptr,
        conflict_requests=members,
        request_order=request_order,
        request_dropped=candidates.dropped,
        request_dropped_cost=dropped_cost,
        fairness_breakpoints=breakpoints,
        fairness_slopes=slopes,
        volunteer_fairness_offset=fairness_offset,
        volunteer_group=quotas.volunteer_group,
        quota_group=quotas.group,
        quota_share=quotas.share,
        quota_minimum=quotas.minimum,
        quota_by_load=quotas.by_load,
        quota_hard=quotas.hard,
        quota_weight=quotas.weight,
        pair_previous=previous,
        max_changes=(
            int(UNLIMITED)
            if instance.options.max_changes is None
            else instance.options.max_changes
        ),
        keep_previous=change_m > 0 and bool(previous.any()),
    )
    return Compiled(
        instance=instance,
        tables=tables,
        data=data,
        pair_distance_km=dist,
        pair_previous=previous,
        pair_preference=preference,
    )


class _Quotas:
    """`options.quotas` as arrays: groups numbered in name order; soft weights per unit of the
    arrays (a load unit is a fraction of an hour)."""

    def __init__(self, instance: Instance, load_per_hour: float) -> None:
        quotas = instance.options.quotas
        names = sorted({v.group for v in instance.volunteers if v.group is not None})
        names = sorted({*names, *(q.group for q in quotas)})
        index = {name: i for i, name in enumerate(names)}
        self.volunteer_group = np.array(
            [-1 if v.group is None else index[v.group] for v in instance.volunteers],
            dtype=np.int64,
        )
        self.group = np.array([index[q.group] for q in quotas], dtype=np.int64)
        self.share = np.array([q.share for q in quotas], dtype=np.float64)
        self.minimum = np.array([q.minimum for q in quotas], dtype=bool)
        self.by_load = np.array([q.of == "hours" for q in quotas], dtype=bool)
        self.hard = np.array([q.hard for q in quotas], dtype=bool)
        self.weight = np.array(
            [q.weight / load_per_hour if q.of == "hours" else q.weight for q in quotas],
            dtype=np.float64,
        )


def _pair_keys(instance: Instance, pairs: tuple[Pair, ...]) -> IntArray:
    """Sorted unique keys (volunteer * num_requests + request) of the pairs naming known ids."""
    v_index = {v.id: i for i, v in enumerate(instance.volunteers)}
    r_index = {r.id: i for i, r in enumerate(instance.requests)}
    n = max(len(r_index), 1)
    return np.unique(
        np.array(
            [
                v_index[p.volunteer_id] * n + r_index[p.request_id]
                for p in pairs
                if p.volunteer_id in v_index and p.request_id in r_index
            ],
            dtype=np.int64,
        )
    )


def _pair_flags(instance: Instance, keys: IntArray, pairs: tuple[Pair, ...]) -> BoolArray:
    """Which candidate pairs (by their sorted keys) are among `pairs` (pairs that are not
    candidates are ignored: validation has already rejected pinned ones)."""
    return np.asarray(np.isin(keys, _pair_keys(instance, pairs)), dtype=bool)


def _pair_preferences(instance: Instance, pair_v: IntArray, pair_r: IntArray) -> FloatArray:
    """Each pair's volunteer preference for the request's service type (0 where none given)."""
    types = sorted({r.service_type for r in instance.requests})
    type_ix = {t: i for i, t in enumerate(types)}
    keys, values = [], []
    for i, v in enumerate(instance.volunteers):
        for service, weight in v.preferences.items():
            if service in type_ix:
                keys.append(i * len(types) + type_ix[service])
                values.append(weight)
    out = np.zeros(len(pair_v))
    if not keys:
        return out
    order = np.argsort(keys)
    sorted_keys = np.asarray(keys, dtype=np.int64)[order]
    sorted_values = np.asarray(values, dtype=np.float64)[order]
    req_type = np.array([type_ix[r.service_type] for r in instance.requests], dtype=np.int64)
    query = pair_v * len(types) + req_type[pair_r]
    pos = np.minimum(np.searchsorted(sorted_keys, query), len(sorted_keys) - 1)
    hit = sorted_keys[pos] == query
    out[hit] = sorted_values[pos[hit]]
    return out


# ------------------------------------------------------------------------------------------
# Conflict sets
# ------------------------------------------------------------------------------------------


def overlap_cliques(start: IntArray, end: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Maximal cliques of the interval graph of half-open [start, end) intervals.

    Clique k is the set of intervals containing point `points[k]`; interval i belongs exactly to
    the cliques k in [first[i], last[i]). Returns (points, first, last)."""
    n = len(start)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    times = np.concatenate([start, end])
    is_start = np.concatenate([np.ones(n, dtype=bool), np.zeros(n, dtype=bool)])
    order = np.lexsort((is_start, times))  # at equal times, ends first: touching never overlaps
    kinds = is_start[order]
    emit = np.flatnonzero(kinds[:-1] & ~kinds[1:])  # a start directly followed by an end
    points = times[order][emit]
    first = np.searchsorted(points, start, side="left")
    last = np.searchsorted(points, end, side="left")
    return points, first.astype(np.int64), last.astype(np.int64)


def travel_edges(tables: Tables) -> tuple[IntArray, IntArray]:
    """Pairs (a, b) of requests that do not overlap in time but leave too little time to travel
    from the earlier one to the later one (rule 6). `a` ends before `b` starts."""
    n = tables.num_requests
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    order = np.argsort(tables.r_start, kind="stable")
    start, end = tables.r_start[order], tables.r_end[order]
    # No trip is longer than the widest spread of request locations.
    spread = great_circle_km(
        tables.r_lat, tables.r_lon, np.full(n, tables.r_lat.mean()), np.full(n, tables.r_lon.mean())
    )
    max_trip_us = int(np.ceil(2 * spread.max() / tables.speed_kmh * _MICROS_PER_HOUR)) + 1
    lo = np.searchsorted(start, end, side="left")  # first b starting at or after a ends
    hi = np.searchsorted(start, end + max_trip_us, side="left")
    out_a: list[IntArray] = []
    out_b: list[IntArray] = []
    counts = hi - lo
    cuts = _chunks_by_total(counts, _PAIR_CHUNK)
    for c0, c1 in cuts:
        cnt = counts[c0:c1]
        a = np.repeat(np.arange(c0, c1, dtype=np.int64), cnt)
        b = lo[c0:c1].repeat(cnt) + _ranks_within(cnt)
        ga, gb = order[a], order[b]
        gap_us = tables.r_start[gb] - tables.r_end[ga]
        need_us = tables.request_distance_km(ga, gb) / tables.speed_kmh * _MICROS_PER_HOUR
        conflict = gap_us - need_us < -1.0  # 1 us slack, as in rules.travel_conflict
        out_a.append(ga[conflict])
        out_b.append(gb[conflict])
    if not out_a:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(out_a), np.concatenate(out_b)


def _chunks_by_total(counts: IntArray, limit: int) -> list[tuple[int, int]]:
    """Split range(len(counts)) into consecutive chunks whose counts sum to about `limit`."""
    if len(counts) == 0:
        return []
    cum = np.cumsum(counts)
    cuts = [0]
    while cuts[-1] < len(counts):
        base = cum[cuts[-1] - 1] if cuts[-1] > 0 else 0
        nxt = int(np.searchsorted(cum, base + limit, side="right"))
        cuts.append(max(nxt, cuts[-1] + 1))
    cuts[-1] = len(counts)
    return list(itertools.pairwise(cuts))


def conflict_sets(tables: Tables) -> tuple[IntArray, IntArray]:
    """Request-level conflict sets, as CSR (indptr, request indices): each maximal clique of
    overlapping requests (two or more), then each pair of requests that do not overlap but leave
    too little time to travel from one to the other."""
    _, first, last = overlap_cliques(tables.r_start, tables.r_end)
    span = last - first
    request_of = np.repeat(np.arange(tables.num_requests, dtype=np.int64), span)
    clique_of = first.repeat(span) + _ranks_within(span)
    order = np.lexsort((request_of, clique_of))
    clique_of, request_of = clique_of[order], request_of[order]
    sizes = np.bincount(clique_of, minlength=int(last.max()) if len(last) else 0)
    keep = sizes >= 2
    members = request_of[keep[clique_of]]
    ea, eb = travel_edges(tables)
    travel = np.stack([ea, eb], axis=1).ravel()
    all_sizes = np.concatenate([sizes[keep], np.full(len(ea), 2, dtype=np.int64)])
    indptr = np.zeros(len(all_sizes) + 1, dtype=np.int64)
    np.cumsum(all_sizes, out=indptr[1:])
    return indptr, np.concatenate([members, travel]).astype(np.int64)


def _ranks_within(counts: IntArray) -> IntArray:
    """For groups of the given sizes laid end to end, each element's rank within its group."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)

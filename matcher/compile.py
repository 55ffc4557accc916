"""Compiling an `Instance` into the engines' array form (`ProblemData`).

Three steps, all vectorised with numpy:
1. `Tables`: volunteers and requests as arrays (coordinates, skill/language bitsets, attribute
   codes, merged availability, times in integer microseconds). Its rule masks (rules 1-5 on
   aligned index arrays) are shared by candidate generation and by the explanations.
2. Candidate pairs: requests grouped by what they require; per group, the volunteers that
   qualify are put in k-d trees by travel radius and queried by the group's request points;
   distance and availability filters then run on whole arrays.
3. Conflict sets: maximal cliques of time-overlapping requests (a sweep over sorted events),
   restricted to each volunteer's candidates, plus pairs of requests that do not overlap but
   leave too little time to travel between them (rule 6).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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


def to_micros(moment: datetime) -> int:
    """An offset-aware datetime as integer microseconds since the Unix epoch (exact)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


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
        self.r_start = np.array([to_micros(r.start) for r in reqs], dtype=np.int64)
        self.r_end = np.array([to_micros(r.end) for r in reqs], dtype=np.int64)

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
        self.v_committed_seconds = np.bincount(
            np.asarray(c_owner, dtype=np.int64),
            weights=(self.c_end - self.c_start) / 1e6,
            minlength=len(vols),
        )
        self.v_commitments = np.diff(self.c_ptr)
        # Availability lookups search on (owner, rank of start time) packed into one int64.
        self._times = np.unique(np.concatenate([self.avail_start, self.r_start]))
        self._avail_key = self.avail_owner * len(self._times) + np.searchsorted(
            self._times, self.avail_start
        )
        self._r_start_rank = np.searchsorted(self._times, self.r_start)

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

    def candidate_pairs(self) -> tuple[IntArray, IntArray, FloatArray]:
        """All pairs meeting rules 1-5, sorted by (volunteer, request), with their distances."""
        found_v: list[IntArray] = []
        found_r: list[IntArray] = []
        found_d: list[FloatArray] = []
        for group_requests, eligible in self._requirement_groups():
            for members, radius in self._radius_buckets(eligible):
                for v, r in self._nearby(members, radius, group_requests):
                    keep = self.available(v, r)
                    keep[keep] = self.uncommitted(v[keep], r[keep])
                    v, r = v[keep], r[keep]
                    d = self.distance_km(v, r)
                    keep = self.within_reach(v, d)
                    found_v.append(v[keep])
                    found_r.append(r[keep])
                    found_d.append(d[keep])
        if not found_v:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        v, r, d = np.concatenate(found_v), np.concatenate(found_r), np.concatenate(found_d)
        order = np.lexsort((r, v))
        return v[order], r[order], d[order]

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
        self, volunteers: IntArray, radius: float, requests: IntArray
    ) -> Iterator[tuple[IntArray, IntArray]]:
        """(volunteer, request) pairs of the given sets within `radius` km, in bounded chunks."""
        if np.isinf(radius):
            step = max(1, _PAIR_CHUNK // max(len(volunteers), 1))
            for lo in range(0, len(requests), step):
                chunk = requests[lo : lo + step]
                yield np.tile(volunteers, len(chunk)), np.repeat(chunk, len(volunteers))
            return
        index = SphereIndex(self.v_lat[volunteers], self.v_lon[volunteers])
        step = 1024
        for lo in range(0, len(requests), step):
            chunk = requests[lo : lo + step]
            hits = index.within(self.r_lat[chunk], self.r_lon[chunk], radius)
            counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
            if counts.sum() == 0:
                continue
            local = np.concatenate(hits)
            yield volunteers[local], np.repeat(chunk, counts)


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

    def pair_index(self, volunteer: IntArray, request: IntArray) -> IntArray:
        """Index of each (volunteer, request) among the candidate pairs, or -1 where none."""
        data = self.data
        keys = data.pair_volunteer * max(data.num_requests, 1) + data.pair_request
        query = np.asarray(volunteer, dtype=np.int64) * max(data.num_requests, 1) + np.asarray(
            request, dtype=np.int64
        )
        pos = np.searchsorted(keys, query)
        safe = np.minimum(pos, max(len(keys) - 1, 0))
        hit = (pos < len(keys)) & (keys[safe] == query) if len(keys) else np.zeros(len(query), bool)
        return np.where(hit, safe, -1).astype(np.int64)


def compile_instance(instance: Instance) -> Compiled:
    """Compile a validated instance into candidate pairs, caps, bounds and conflict sets."""
    tables = Tables(instance)
    vols, reqs = instance.volunteers, instance.requests
    pair_v, pair_r, dist = tables.candidate_pairs()
    if instance.excluded:
        keep = ~_pair_mask(instance, instance.excluded, pair_v, pair_r)
        pair_v, pair_r, dist = pair_v[keep], pair_r[keep], dist[keep]

    duration_us = tables.r_end - tables.r_start
    load = -(-duration_us[pair_r] // 1_000_000)  # seconds, rounded up: a cap is never exceeded
    # Caps are what is left after commitments outside this solve.
    committed = tables.v_committed_seconds
    capacity = np.array(
        [
            UNLIMITED
            if v.max_hours is None
            else max(int(np.floor(v.max_hours * 3600 - c + 1e-6)), 0)
            for v, c in zip(vols, committed.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    max_pairs = np.array(
        [
            UNLIMITED if v.max_assignments is None else max(v.max_assignments - int(n), 0)
            for v, n in zip(vols, tables.v_commitments.tolist(), strict=True)
        ],
        dtype=np.int64,
    )

    compiled_partial = Compiled(
        instance=instance,
        tables=tables,
        data=ProblemData.build(
            num_volunteers=len(vols),
            num_requests=len(reqs),
            pair_volunteer=pair_v,
            pair_request=pair_r,
            pair_cost=np.zeros(len(pair_v), dtype=np.int64),
        ),
        pair_distance_km=dist,
        pair_previous=np.zeros(len(pair_v), dtype=bool),
        pair_preference=np.zeros(len(pair_v)),
    )
    pinned = _pair_flags(compiled_partial, instance.pinned)
    previous = _pair_flags(compiled_partial, instance.previous)
    preference = _pair_preferences(instance, pair_v, pair_r)
    weights = instance.options.soft_weights
    bonus = weights.preference * preference + weights.stability * previous

    indptr, members = conflict_sets(tables, pair_v, pair_r)
    start_order = np.lexsort((np.arange(len(reqs)), tables.r_start))
    request_order = np.empty(len(reqs), dtype=np.int64)
    request_order[start_order] = np.arange(len(reqs))

    steps = np.arange(1, FAIRNESS_MAX_STEPS + 1, dtype=np.int64)
    breakpoints = steps * FAIRNESS_STEP_HOURS * 3600
    slopes = np.full(len(steps), weights.fairness / (FAIRNESS_STEP_HOURS * 3600))
    if weights.fairness == 0:
        breakpoints, slopes = breakpoints[:0], slopes[:0]

    data = ProblemData(
        num_volunteers=len(vols),
        num_requests=len(reqs),
        pair_volunteer=pair_v,
        pair_request=pair_r,
        pair_cost=np.rint(dist * 1000).astype(np.int64),
        pair_load=load.astype(np.int64),
        volunteer_capacity=capacity,
        volunteer_max_pairs=max_pairs,
        request_min=np.array([r.min_volunteers for r in reqs], dtype=np.int64),
        request_max=np.array([r.volunteers_needed for r in reqs], dtype=np.int64),
        request_mandatory=np.array([r.mandatory for r in reqs], dtype=bool),
        request_priority=np.array([r.priority for r in reqs], dtype=np.int64),
        pair_bonus=bonus,
        pair_pinned=pinned,
        conflict_indptr=indptr,
        conflict_pairs=members,
        request_order=request_order,
        fairness_breakpoints=breakpoints,
        fairness_slopes=slopes,
    )
    return Compiled(
        instance=instance,
        tables=tables,
        data=data,
        pair_distance_km=dist,
        pair_previous=previous,
        pair_preference=preference,
    )


def _pair_flags(compiled: Compiled, pairs: tuple[Pair, ...]) -> BoolArray:
    flags = np.zeros(compiled.data.num_pairs, dtype=bool)
    if not pairs:
        return flags
    v_index = {v.id: i for i, v in enumerate(compiled.instance.volunteers)}
    r_index = {r.id: i for i, r in enumerate(compiled.instance.requests)}
    vs = np.array([v_index[p.volunteer_id] for p in pairs], dtype=np.int64)
    rs = np.array([r_index[p.request_id] for p in pairs], dtype=np.int64)
    idx = compiled.pair_index(vs, rs)
    flags[idx[idx >= 0]] = True
    return flags


def _pair_mask(
    instance: Instance, pairs: tuple[Pair, ...], pair_v: IntArray, pair_r: IntArray
) -> BoolArray:
    """Which of the candidate pairs (pair_v, pair_r) are among `pairs`."""
    v_index = {v.id: i for i, v in enumerate(instance.volunteers)}
    r_index = {r.id: i for i, r in enumerate(instance.requests)}
    n = max(len(instance.requests), 1)
    wanted = np.array(
        [v_index[p.volunteer_id] * n + r_index[p.request_id] for p in pairs], dtype=np.int64
    )
    return np.asarray(np.isin(pair_v * n + pair_r, wanted), dtype=bool)


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


def conflict_sets(tables: Tables, pair_v: IntArray, pair_r: IntArray) -> tuple[IntArray, IntArray]:
    """Conflict sets over candidate pairs (pairs sorted by volunteer): for each volunteer, every
    maximal clique of overlapping requests among its candidates, and every pair of its candidate
    requests that leaves too little travel time. Returns CSR (indptr, pair indices)."""
    npairs = len(pair_v)
    empty = np.zeros(0, dtype=np.int64)
    if npairs == 0:
        return np.zeros(1, dtype=np.int64), empty
    clique_sizes, clique_members = _overlap_sets(tables, pair_v, pair_r)
    travel_members = _travel_sets(tables, pair_v, pair_r)
    sizes = np.concatenate([clique_sizes, np.full(len(travel_members) // 2, 2, dtype=np.int64)])
    indptr = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    return indptr, np.concatenate([clique_members, travel_members]).astype(np.int64)


def _overlap_sets(tables: Tables, pair_v: IntArray, pair_r: IntArray) -> tuple[IntArray, IntArray]:
    """Per volunteer, the maximal cliques of overlapping requests restricted to its candidate
    pairs, keeping sets of two or more and dropping repeats. Returns (sizes, members)."""
    npairs = len(pair_v)
    _, first, last = overlap_cliques(tables.r_start, tables.r_end)
    span = last[pair_r] - first[pair_r]
    pair_of = np.repeat(np.arange(npairs, dtype=np.int64), span)
    clique = first[pair_r].repeat(span) + _ranks_within(span)
    key = pair_v[pair_of] * max(int(last.max()), 1) + clique
    order = np.lexsort((pair_of, key))
    key, pair_of = key[order], pair_of[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    # Neighbouring cliques often restrict to the same set for one volunteer: keep one copy,
    # recognised by (volunteer, size, sum of random labels of its pairs).
    labels = np.random.default_rng(12345).integers(1, 2**40, size=npairs, dtype=np.int64)
    digest = np.add.reduceat(labels[pair_of], starts)
    identity = np.stack([pair_v[pair_of[starts]], sizes, digest], axis=1)
    _, first_copy = np.unique(identity, axis=0, return_index=True)
    keep = np.zeros(len(starts), dtype=bool)
    keep[first_copy] = True
    keep &= sizes >= 2
    return sizes[keep], pair_of[np.repeat(keep, sizes)]


def _travel_sets(tables: Tables, pair_v: IntArray, pair_r: IntArray) -> IntArray:
    """For each request pair (a, b) too close in time to travel between, and each volunteer with
    both as candidates, the two pairs [pair(v, a), pair(v, b)], flattened."""
    ea, eb = travel_edges(tables)
    npairs = len(pair_v)
    if len(ea) == 0:
        return np.zeros(0, dtype=np.int64)
    by_request = np.argsort(pair_r, kind="stable")
    req_ptr = np.searchsorted(pair_r[by_request], np.arange(tables.num_requests + 1))
    pair_key = pair_v * tables.num_requests + pair_r  # sorted: pairs are (v, r)-sorted
    count = req_ptr[ea + 1] - req_ptr[ea]
    edge = np.repeat(np.arange(len(ea)), count)
    pa = by_request[req_ptr[ea].repeat(count) + _ranks_within(count)]
    query = pair_v[pa] * tables.num_requests + eb[edge]
    pos = np.minimum(np.searchsorted(pair_key, query), npairs - 1)
    hit = pair_key[pos] == query
    return np.stack([pa[hit], pos[hit]], axis=1).ravel()


def _ranks_within(counts: IntArray) -> IntArray:
    """For groups of the given sizes laid end to end, each element's rank within its group."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)

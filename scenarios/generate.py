"""The scenario generator: a scenario definition and a seed in, a FORMAT.md instance out.

Seeded and deterministic: the same scenario, seed and scale always give byte-identical JSON
(`dumps`), on any machine, and nothing reads the clock. Every component (a site group, a pool, a
service type) draws from its own random stream, derived from the seed and the component's name,
so that changing one pool in a sweep leaves the other pools' volunteers exactly as they were
(common random numbers across variants).

Vectorised with numpy: 100,000 volunteers take a few seconds, most of it spent building the
JSON records themselves.

Counts. At scale s a pool gets its share of round(s * the pools' total at scale 1), apportioned
by largest remainder and never below the pool's `min_count`; service types with pattern
`random` likewise. A site group with `scales = true` has max(min_count, round(s * count)) sites.
Roster services make one request per site, allowed day and start time. `build(...,
volunteers=V, requests=R)` fixes the totals instead (the benchmarks' city week): sites then scale
with R over the scenario's request total at scale 1.

Flexible visits. A service with `windows` draws a window where others draw a start time (so
files without windows generate as before) and its requests carry `earliest_start`, `latest_end`
and `duration` (FORMAT v1.1); with `options.visit_times = "mid-window"` the finished instance
goes through `scenarios.slots.mid_window_slots`, the same week at fixed mid-window hours.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .slots import mid_window_slots
from .spec import (
    DISTRICTS,
    Block,
    DayKind,
    Loaded,
    Pool,
    Scenario,
    Service,
    clock_minutes,
    service_days,
)

__all__ = ["Counts", "Generated", "Places", "apportion", "build", "counts", "dumps", "generate"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

KM_PER_DEGREE = 6371.009 * math.pi / 180.0  # along a meridian, on FORMAT.md's sphere


@dataclass(frozen=True, eq=False)
class Places:
    """Points people live round or requests happen at, with how things scatter round them."""

    names: list[str]
    lat: FloatArray
    lon: FloatArray
    weight: FloatArray  # relative chance of each place being drawn
    spread_km: FloatArray  # normal scatter (sd), or the disc radius for districts
    disc: bool  # uniform over a disc of radius spread_km (districts) instead of normal scatter

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True, eq=False)
class Generated:
    """A generated instance and what the reports need to know about how it was made."""

    instance: dict[str, Any]
    places: dict[str, Places]  # every site group, and 'districts'
    pool_sizes: dict[str, int]
    service_sizes: dict[str, int]
    seed: int
    scale: float


def dumps(instance: dict[str, Any]) -> str:
    """The canonical JSON text of an instance (compact, key order as built)."""
    return json.dumps(instance, separators=(",", ":"), ensure_ascii=False)


def generate(
    scenario: Loaded | Scenario,
    *,
    seed: int | None = None,
    scale: float | None = None,
    volunteers: int | None = None,
    requests: int | None = None,
) -> dict[str, Any]:
    """The instance (FORMAT.md, as JSON-ready data) of a scenario."""
    return build(
        scenario, seed=seed, scale=scale, volunteers=volunteers, requests=requests
    ).instance


def build(
    scenario: Loaded | Scenario,
    *,
    seed: int | None = None,
    scale: float | None = None,
    volunteers: int | None = None,
    requests: int | None = None,
) -> Generated:
    """Generate a scenario's instance. `seed` and `scale` override the scenario's; `volunteers`
    and `requests` fix the totals (scale is then ignored for what they fix)."""
    spec = scenario.spec if isinstance(scenario, Loaded) else scenario
    seed = spec.seed if seed is None else seed
    scale = spec.scale if scale is None else scale
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    clock = _Clock(spec.horizon.start, spec.horizon.tz)
    kinds = spec.horizon.day_kinds()
    sizes = counts(spec, scale=scale, volunteers=volunteers, requests=requests)
    places = _places(spec, seed, sizes.sites)
    pool_sizes, service_sizes = sizes.pools, sizes.services

    vols: list[dict[str, Any]] = []
    width = max(6, len(str(sum(pool_sizes.values()))))
    for name, pool in spec.pools.items():
        rng = _rng(seed, "pool", name)
        vols.extend(
            _volunteers(
                rng, name, pool, pool_sizes[name], places, spec, kinds, clock, len(vols), width
            )
        )
    reqs = _requests(spec, seed, service_sizes, places, kinds, clock)
    options: dict[str, Any] = {
        "travel_speed_kmh": _num(spec.options.travel_speed_kmh),
        "time_limit_s": _num(spec.options.time_limit_s),
        "seed": seed,
    }
    if spec.options.quotas:
        options["quotas"] = [
            q.model_dump(mode="json", exclude_defaults=True) for q in spec.options.quotas
        ]
    instance = {"volunteers": vols, "requests": reqs, "options": options}
    if spec.options.visit_times == "mid-window":
        instance = mid_window_slots(instance)
    return Generated(instance, places, pool_sizes, service_sizes, seed, scale)


# --------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """How many of everything a scenario generates at a scale (or with fixed totals)."""

    site_scale: float
    sites: dict[str, int]
    pools: dict[str, int]
    services: dict[str, int]

    @property
    def volunteers(self) -> int:
        return sum(self.pools.values())

    @property
    def requests(self) -> int:
        return sum(self.services.values())


def counts(
    spec: Scenario, *, scale: float, volunteers: int | None = None, requests: int | None = None
) -> Counts:
    """Sites per group, volunteers per pool and requests per service type, without generating."""
    site_scale = scale
    if requests is not None:
        site_scale = requests / max(counts(spec, scale=1.0).requests, 1)
    sites = _site_counts(spec, site_scale)
    at_one = _site_counts(spec, 1.0)
    base = [
        p.count if p.count is not None else (p.per_site or 0) * at_one[p.home]
        for p in spec.pools.values()
    ]
    floors = [p.min_count for p in spec.pools.values()]
    total = volunteers if volunteers is not None else round(scale * sum(base))
    pools = dict(zip(spec.pools, apportion(total, base, floors), strict=True))
    roster = {
        name: sites[s.at] * len(service_days(spec, s)) * len(s.start_times)
        for name, s in spec.services.items()
        if s.pattern == "roster"
    }
    random_names = [n for n, s in spec.services.items() if s.pattern == "random"]
    random_base = [spec.services[n].count or 0 for n in random_names]
    random_total = (
        max(requests - sum(roster.values()), 0)
        if requests is not None
        else round(scale * sum(random_base))
    )
    floors = [spec.services[n].min_count for n in random_names]
    drawn = dict(zip(random_names, apportion(random_total, random_base, floors), strict=True))
    services = {n: drawn[n] if n in drawn else roster[n] for n in spec.services}
    return Counts(site_scale, sites, pools, services)


def apportion(total: int, weights: Sequence[float], floors: Sequence[int]) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder, ties to the
    earlier entry), none below its floor. The sum is `total` unless the floors exceed it."""
    n = len(weights)
    fixed = [False] * n
    out = list(floors)
    while True:
        free = [i for i in range(n) if not fixed[i]]
        left = total - sum(out[i] for i in range(n) if fixed[i])
        w = sum(weights[i] for i in free)
        if not free or left <= 0 or w <= 0:
            for i in free:
                out[i] = floors[i]
            return out
        quota = {i: left * weights[i] / w for i in free}
        share = {i: math.floor(q) for i, q in quota.items()}
        rest = left - sum(share.values())
        for i in sorted(free, key=lambda i: (-(quota[i] - share[i]), i))[:rest]:
            share[i] += 1
        below = [i for i in free if share[i] < floors[i]]
        if not below:
            for i in free:
                out[i] = share[i]
            return out
        for i in below:
            fixed[i] = True
            out[i] = floors[i]


def _site_counts(spec: Scenario, scale: float) -> dict[str, int]:
    """Sites per group (and the districts) at a scale."""
    out = {DISTRICTS: len(spec.area.districts)}
    for name, group in spec.sites.items():
        n = group.count if group.count is not None else max(len(group.names), len(group.points))
        out[name] = max(group.min_count, round(n * scale)) if group.scales else n
    return out


# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------


def _rng(seed: int, *labels: str) -> np.random.Generator:
    """The random stream of one component: the seed and the component's name, hashed stably."""
    return np.random.default_rng([seed, *(zlib.crc32(label.encode()) for label in labels)])


def _offsets_km_to_deg(
    lat: FloatArray, dy_km: FloatArray, dx_km: FloatArray
) -> tuple[FloatArray, FloatArray]:
    dlat = dy_km / KM_PER_DEGREE
    dlon = dx_km / (KM_PER_DEGREE * np.cos(np.radians(lat)))
    return dlat, dlon


def _in_discs(
    rng: np.random.Generator, lat: FloatArray, lon: FloatArray, radius_km: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """One point uniformly inside each disc."""
    r = radius_km * np.sqrt(rng.random(len(lat)))
    theta = 2 * np.pi * rng.random(len(lat))
    dlat, dlon = _offsets_km_to_deg(lat, r * np.sin(theta), r * np.cos(theta))
    return lat + dlat, lon + dlon


def _places(spec: Scenario, seed: int, sizes: dict[str, int]) -> dict[str, Places]:
    d = spec.area.districts
    d_lat = np.array([x.lat for x in d], dtype=np.float64)
    d_lon = np.array([x.lon for x in d], dtype=np.float64)
    d_radius = np.array([x.radius_km for x in d], dtype=np.float64)
    out = {DISTRICTS: Places([x.name for x in d], d_lat, d_lon, d_radius**2, d_radius, disc=True)}
    index = {x.name: i for i, x in enumerate(d)}
    for name, group in spec.sites.items():
        rng = _rng(seed, "sites", name)
        n = sizes[name]
        names = [*group.names[:n]] + [f"{name} {k:02d}" for k in range(len(group.names) + 1, n + 1)]
        allowed = np.array([index[x] for x in group.districts] or range(len(d)), dtype=np.int64)
        drawn = n - min(n, len(group.points))
        where = allowed[rng.integers(len(allowed), size=drawn)]
        lat, lon = _in_discs(rng, d_lat[where], d_lon[where], d_radius[where])
        fixed = np.array(group.points[:n], dtype=np.float64).reshape(-1, 2)
        weight = rng.lognormal(0.0, 0.6, size=n) if group.sizes == "varied" else np.ones(n)
        out[name] = Places(
            names,
            np.concatenate([fixed[:, 0], lat]),
            np.concatenate([fixed[:, 1], lon]),
            weight,
            np.full(n, group.spread_km),
            disc=False,
        )
    return out


def _scatter(
    rng: np.random.Generator,
    places: Places,
    n: int,
    spread_km: float | None,
    subset: Sequence[int] = (),
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Draw n points round places (by weight): which place, and the point's lat and lon."""
    allowed = np.asarray(subset or range(len(places)), dtype=np.int64)
    w = places.weight[allowed]
    which = allowed[rng.choice(len(allowed), size=n, p=w / w.sum())]
    lat, lon = places.lat[which], places.lon[which]
    if places.disc:
        lat, lon = _in_discs(rng, lat, lon, places.spread_km[which])
    else:
        sd = places.spread_km[which] if spread_km is None else np.full(n, spread_km)
        dy, dx = rng.normal(0.0, 1.0, size=(2, n)) * sd
        dlat, dlon = _offsets_km_to_deg(lat, dy, dx)
        lat, lon = lat + dlat, lon + dlon
    return which, lat, lon


# --------------------------------------------------------------------------------------------
# Volunteers
# --------------------------------------------------------------------------------------------


class _Clock:
    """RFC 3339 text of (day index, minutes after local midnight), with the local offset."""

    def __init__(self, start: date, tz: timezone) -> None:
        self._midnight = datetime(start.year, start.month, start.day, tzinfo=tz)
        self._cache: dict[tuple[int, int], str] = {}

    def __call__(self, day: int, minute: int) -> str:
        key = (day, minute)
        text = self._cache.get(key)
        if text is None:
            text = (self._midnight + timedelta(days=day, minutes=minute)).isoformat()
            self._cache[key] = text
        return text


def _num(x: float) -> int | float:
    """An integral float as an int, for tidy JSON."""
    return int(x) if float(x).is_integer() else float(x)


def _uniform(
    rng: np.random.Generator, bounds: tuple[float, float], n: int, step: float
) -> FloatArray:
    """n draws uniform in [low, high], rounded to `step` (a fixed value when low == high)."""
    lo, hi = bounds
    return np.round(rng.uniform(lo, hi, size=n) / step) * step


def _integers(rng: np.random.Generator, bounds: tuple[int, int], n: int) -> IntArray:
    return rng.integers(bounds[0], bounds[1] + 1, size=n).astype(np.int64)


def _draw(
    rng: np.random.Generator,
    dist: tuple[float, float] | dict[float, float],
    n: int,
    step: float,
) -> FloatArray:
    """n draws of a `Draw`: uniform over a range (rounded to `step`) or a table's values by
    weight."""
    if not isinstance(dist, dict):
        return _uniform(rng, dist, n, step)
    values = np.array(list(dist), dtype=np.float64)
    weights = np.array(list(dist.values()), dtype=np.float64)
    return np.asarray(values[rng.choice(len(values), size=n, p=weights / weights.sum())])


def _draw_integers(
    rng: np.random.Generator, dist: tuple[int, int] | dict[int, float], n: int
) -> IntArray:
    if not isinstance(dist, dict):
        return _integers(rng, dist, n)
    return _draw(rng, {float(k): w for k, w in dist.items()}, n, 1.0).astype(np.int64)


def _top_k(rng: np.random.Generator, log_weights: FloatArray, k: IntArray) -> BoolArray:
    """Per row, k[i] columns drawn without replacement with the given weights (Gumbel top-k)."""
    n, m = len(k), len(log_weights)
    keys = log_weights[None, :] + rng.gumbel(size=(n, m))
    rank = np.argsort(np.argsort(-keys, axis=1, kind="stable"), axis=1, kind="stable")
    return np.asarray(rank < k[:, None], dtype=bool)


def _choose_blocks(
    rng: np.random.Generator,
    blocks: Sequence[Block],
    kinds: Sequence[DayKind],
    shape: tuple[int, int],
) -> IntArray:
    """For every (volunteer, day), one block allowed on that day's kind, by weight (-1: none)."""
    days = shape[1]
    out = np.full(shape, -1, dtype=np.int64)
    u = rng.random(shape)
    for kind in sorted(set(kinds)):
        cols = np.array([d for d in range(days) if kinds[d] == kind], dtype=np.int64)
        allowed = [i for i, b in enumerate(blocks) if kind in b.on]
        if not allowed:
            continue
        cum = np.cumsum([blocks[i].weight for i in allowed])
        pick = np.searchsorted(cum, u[:, cols] * cum[-1], side="right")
        out[:, cols] = np.asarray(allowed, dtype=np.int64)[np.minimum(pick, len(allowed) - 1)]
    return out


def _availability(
    rng: np.random.Generator, pool: Pool, kinds: Sequence[DayKind], n: int, clock: _Clock
) -> list[list[dict[str, str]]]:
    """Per volunteer, merged availability windows as FORMAT.md intervals, sorted."""
    avail = pool.availability
    days = len(kinds)
    block_ok = np.array([any(k in b.on for b in avail.blocks) for k in kinds], dtype=bool)
    if avail.chance is not None:  # day by day
        chance = np.array([avail.chance.get(k, 0.0) for k in kinds], dtype=np.float64)
        offered = (rng.random((n, days)) < chance[None, :]) & block_ok[None, :]
    else:
        assert avail.days is not None  # spec.cross_check: exactly one of days and chance
        weight = np.array([avail.day_weights.get(k, 0.0) for k in kinds], dtype=np.float64)
        weight[~block_ok] = 0.0
        with np.errstate(divide="ignore"):
            log_w = np.log(weight)
        k = np.minimum(_integers(rng, avail.days, n), int((weight > 0).sum()))
        offered = _top_k(rng, log_w, k)
    block = _choose_blocks(rng, avail.blocks, kinds, (n, days))
    rows, cols = np.nonzero(offered & (block >= 0))
    starts = np.array([b.minutes[0] for b in avail.blocks], dtype=np.int64)
    ends = np.array([b.minutes[1] for b in avail.blocks], dtype=np.int64)
    b = block[rows, cols]
    entries = [(rows, cols, starts[b], ends[b])]
    for extra in avail.extra:
        on = np.array([k in extra.on for k in kinds], dtype=bool)
        r, c = np.nonzero(offered & on[None, :] & (rng.random((n, days)) < extra.p))
        lo, hi = extra.minutes
        entries.append((r, c, np.full(len(r), lo), np.full(len(r), hi)))
    owner, day, start, end = (np.concatenate([e[f] for e in entries]) for f in range(4))
    order = np.lexsort((end, start, day, owner))
    spans: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
    for i, d, s, e in zip(
        owner[order].tolist(),
        day[order].tolist(),
        start[order].tolist(),
        end[order].tolist(),
        strict=True,
    ):
        mine = spans[i]
        if mine and mine[-1][0] == d and s <= mine[-1][2]:
            if e > mine[-1][2]:
                mine[-1] = (d, mine[-1][1], e)
        else:
            mine.append((d, s, e))
    text: dict[tuple[int, int, int], tuple[str, str]] = {}
    for span in {span for mine in spans for span in mine}:
        text[span] = (clock(span[0], span[1]), clock(span[0], span[2]))
    return [[{"start": a, "end": b} for a, b in map(text.__getitem__, mine)] for mine in spans]


def _subsets(names: Sequence[str], has: BoolArray) -> list[list[str]]:
    """Per row of the (n, len(names)) mask, the names it has, in order (rows share few sets)."""
    if not names:
        return [[] for _ in range(len(has))]
    code = has.astype(np.int64) @ (1 << np.arange(len(names), dtype=np.int64))
    unique, inverse = np.unique(code, return_inverse=True)
    sets = [[names[j] for j in range(len(names)) if (int(c) >> j) & 1] for c in unique.tolist()]
    return [list(sets[i]) for i in inverse.ravel().tolist()]


def _volunteers(
    rng: np.random.Generator,
    name: str,
    pool: Pool,
    n: int,
    places: dict[str, Places],
    spec: Scenario,
    kinds: Sequence[DayKind],
    clock: _Clock,
    first: int,
    width: int,
) -> list[dict[str, Any]]:
    home_places = places[pool.home]
    subset = [home_places.names.index(d) for d in pool.districts]
    home, lat, lon = _scatter(rng, home_places, n, pool.spread_km, subset)
    genders = list(pool.gender)
    g_w = np.array([pool.gender[g] for g in genders], dtype=np.float64)
    gender = rng.choice(len(genders), size=n, p=g_w / g_w.sum()).tolist()
    skills = _subsets(
        list(pool.skills), rng.random((n, len(pool.skills))) < list(pool.skills.values())
    )
    languages = _subsets(
        list(pool.languages), rng.random((n, len(pool.languages))) < list(pool.languages.values())
    )
    availability = _availability(rng, pool, kinds, n, clock)
    hours = _draw(rng, pool.max_hours, n, 0.5).tolist() if pool.max_hours else None
    travel = _draw(rng, pool.max_travel_km, n, 0.5).tolist() if pool.max_travel_km else None
    caps = _draw_integers(rng, pool.max_assignments, n).tolist() if pool.max_assignments else None
    likes: list[dict[str, float]] | None = None
    services = list(spec.services)
    if pool.preferences is not None and services:
        k = np.minimum(_integers(rng, pool.preferences.count, n), len(services))
        liked = _top_k(rng, np.zeros(len(services)), k)
        strength = np.round(rng.uniform(*pool.preferences.strength, size=(n, len(services))), 2)
        likes = [{} for _ in range(n)]
        for i, j, w in zip(*np.nonzero(liked), strength[liked].tolist(), strict=True):
            likes[i][services[j]] = w

    lat_r, lon_r = np.round(lat, 5).tolist(), np.round(lon, 5).tolist()
    home_l = home.tolist()
    out: list[dict[str, Any]] = []
    for i in range(n):
        attributes: dict[str, Any] = {"gender": genders[gender[i]], "pool": name}
        if pool.affiliation:
            attributes[pool.affiliation] = home_places.names[home_l[i]]
        record: dict[str, Any] = {
            "id": f"v-{first + i + 1:0{width}d}",
            "location": {"lat": lat_r[i], "lon": lon_r[i]},
            "skills": skills[i],
            "languages": languages[i],
            "attributes": attributes,
            "availability": availability[i],
        }
        if pool.group:
            record["group"] = pool.group
        if hours is not None:
            record["max_hours"] = _num(max(hours[i], 0.5))
        if travel is not None:
            record["max_travel_km"] = _num(max(travel[i], 0.0))
        if caps is not None:
            record["max_assignments"] = max(int(caps[i]), 1)
        if likes is not None:
            record["preferences"] = likes[i]
        out.append(record)
    return out


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Drawn:
    """One service type's requests as arrays."""

    service: int
    lat: FloatArray
    lon: FloatArray
    day: IntArray
    start: IntArray  # minutes after local midnight (a flexible visit's earliest start)
    latest: IntArray  # a flexible visit's latest end, minutes after local midnight; -1 fixed
    minutes: IntArray  # duration
    need: IntArray
    minimum: IntArray  # min_volunteers, at most need
    gender: IntArray  # index into the service's same_gender keys, -1 none
    dialect: BoolArray
    mandatory: BoolArray


def _requests(
    spec: Scenario,
    seed: int,
    sizes: dict[str, int],
    places: dict[str, Places],
    kinds: Sequence[DayKind],
    clock: _Clock,
) -> list[dict[str, Any]]:
    drawn = [
        _draw_service(
            _rng(seed, "service", name),
            _rng(seed, "service-days", name),
            spec,
            k,
            service,
            sizes[name],
            places,
            kinds,
        )
        for k, (name, service) in enumerate(spec.services.items())
    ]
    service = np.concatenate([np.full(len(x.day), x.service) for x in drawn]).astype(np.int64)
    cat = {
        f: np.concatenate([getattr(x, f) for x in drawn])
        for f in _Drawn.__dataclass_fields__
        if f != "service"
    }
    order = np.lexsort((np.arange(len(service)), service, cat["start"], cat["day"]))
    names = list(spec.services)
    services = list(spec.services.values())
    width = max(5, len(str(len(order))))
    lat, lon = np.round(cat["lat"], 5).tolist(), np.round(cat["lon"], 5).tolist()
    out: list[dict[str, Any]] = []
    for j, i in enumerate(order.tolist()):
        s = services[int(service[i])]
        day, start, minutes = int(cat["day"][i]), int(cat["start"][i]), int(cat["minutes"][i])
        need = int(cat["need"][i])
        latest = int(cat["latest"][i])
        record: dict[str, Any] = {
            "id": f"r-{j + 1:0{width}d}",
            "service_type": names[int(service[i])],
            "location": {"lat": lat[i], "lon": lon[i]},
        }
        if latest < 0:
            record["start"], record["end"] = clock(day, start), clock(day, start + minutes)
        else:
            record["earliest_start"], record["latest_end"] = clock(day, start), clock(day, latest)
            record["duration"] = minutes
        record["required_skills"] = list(s.required_skills)
        langs = list(s.dialect.languages) if s.dialect and cat["dialect"][i] else list(s.languages)
        if langs:
            record["languages"] = langs
        attributes: dict[str, Any] = dict(s.attributes)
        if s.same_gender and cat["gender"][i] >= 0:
            attributes["gender"] = list(s.same_gender)[int(cat["gender"][i])]
        if attributes:
            record["attributes"] = attributes
        if s.same_attributes and need >= 2:  # a lone helper has nobody to match
            record["same_attributes"] = list(s.same_attributes)
        record["volunteers_needed"] = need
        record["min_volunteers"] = int(cat["minimum"][i])
        record["priority"] = s.priority
        if cat["mandatory"][i]:
            record["mandatory"] = True
        out.append(record)
    return out


def _draw_service(
    rng: np.random.Generator,
    week_rng: np.random.Generator,
    spec: Scenario,
    index: int,
    service: Service,
    n: int,
    places: dict[str, Places],
    kinds: Sequence[DayKind],
) -> _Drawn:
    days = np.asarray(service_days(spec, service), dtype=np.int64)
    # Fixed start times, or flexible windows (drawn in the start time's place, so that a file
    # without windows generates exactly as before).
    if service.windows:
        starts = np.array([w.minutes[0] for w in service.windows], dtype=np.int64)
        ends = np.array([w.minutes[1] for w in service.windows], dtype=np.int64)
        weights = [w.weight for w in service.windows]
    else:
        starts = np.array([clock_minutes(t) for t in service.start_times], dtype=np.int64)
        ends = np.full(len(starts), -1, dtype=np.int64)
        weights = list(service.start_weights or [1.0] * len(starts))
    at = places[service.at]
    if service.pattern == "roster":
        site, day, slot = (
            a.ravel()
            for a in np.meshgrid(np.arange(len(at)), days, np.arange(len(starts)), indexing="ij")
        )
        n = len(site)
        lat, lon = at.lat[site], at.lon[site]
    else:
        _, lat, lon = _scatter(rng, at, n, service.spread_km)
        w = np.array([service.day_weights.get(kinds[d], 0.0) for d in days], dtype=np.float64)
        if service.day_concentration is not None:  # this week's busy days, from its own stream
            w = w * week_rng.dirichlet(np.full(len(days), service.day_concentration))
        day = days[rng.choice(len(days), size=n, p=w / w.sum())]
        sw = np.asarray(weights, dtype=np.float64)
        slot = rng.choice(len(starts), size=n, p=sw / sw.sum())
    start, latest = starts[slot], ends[slot]
    minutes = (_uniform(rng, service.duration_h, n, 0.25) * 60).astype(np.int64)
    need = _integers(rng, service.headcount, n)
    gender = np.full(n, -1, dtype=np.int64)
    if service.same_gender:
        g = np.array(list(service.same_gender.values()), dtype=np.float64)
        gender = rng.choice(len(g), size=n, p=g / g.sum()).astype(np.int64)
    dialect = rng.random(n) < (service.dialect.share if service.dialect else 0.0)
    mandatory = rng.random(n) < service.mandatory_share
    low, high = service.min_volunteers
    # Drawn last, and only when it varies, so that the other draws stay as they were.
    minimum = np.full(n, low, dtype=np.int64) if low == high else _integers(rng, (low, high), n)
    minimum = np.minimum(minimum, need)
    return _Drawn(
        index, lat, lon, day, start, latest, minutes, need, minimum, gender, dialect, mandatory
    )

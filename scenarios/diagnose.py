"""Shortage diagnosis: where demand goes unfilled, and the smallest remedies, each verified.

1. **Group** the unfilled slots of a plan by what they need (skills, language, attributes such as
   the same gender), the district they lie in (nearest district centre) and the day part of their
   start (weekday/weekend/holiday x morning/afternoon/evening, in local time); groups holding
   mandatory requests come first, then the largest by missing coverage.
2. **Propose**, for the first groups, the smallest remedies of two kinds:
   - *widen a volunteer group's travel radius to X km*: for each volunteer pool, X is the
     smallest radius (rounded up to 0.5 km) at which every request of the group that can be
     reached at all gains as many new qualified, available candidates (rules 1-4 of FORMAT.md)
     as it misses volunteers; widening is capped at twice the pool's 90th-percentile radius
     (and 30 km), and the pool reaching most missing slots, then the smallest X, is proposed;
   - *recruit N volunteers with the group's skills near district D at day part T*: N is the
     number of helpers that interval partitioning (first fit by start time, with travel time
     between requests and a typical hours cap) needs to staff every missing slot of the group
     by recruits alone; no fewer can (at least the peak of concurrent missing slots). Recruits
     live at the district centre, reach every request of the group, and are available on the
     group's days from its earliest start to its latest end.
3. **Verify** each remedy by re-solving the whole instance with it applied (same engine, time
   limit and seed) and report the coverage gained and the group's slots filled.

Remedies change the instance, not the scenario: everything else stays exactly as generated, so
the gain is the remedy's alone.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Literal

import numpy as np

from matcher import Instance, Plan, solve
from matcher.compile import Tables
from matcher.geo import great_circle_km
from matcher.model import Interval, Location, Volunteer
from matcher.solve import EngineName

__all__ = [
    "DAY_PARTS",
    "Diagnosis",
    "Geography",
    "Need",
    "Remedy",
    "Shortage",
    "Verified",
    "diagnose",
    "find_shortages",
    "propose_remedies",
    "verify",
]

DAY_PARTS: tuple[tuple[str, int, int], ...] = (
    ("morning", 0, 12 * 60),
    ("afternoon", 12 * 60, 18 * 60),
    ("evening", 18 * 60, 24 * 60),
)
MAX_RADIUS_KM = 30.0
RADIUS_GROWTH = 2.0  # widen to at most this times the pool's 90th-percentile radius
DEFAULT_RECRUIT_HOURS = 8.0
ALL_VOLUNTEERS = "all volunteers"


@dataclass(frozen=True)
class Geography:
    """What the diagnosis needs from the scenario: districts and the local calendar."""

    districts: tuple[tuple[str, float, float], ...]  # name, lat, lon
    tz: timezone
    day_kind: Callable[[date], str]

    def district_of(self, lat: Sequence[float], lon: Sequence[float]) -> list[str]:
        """The nearest district centre of each point."""
        if not len(lat):
            return []
        d_lat = np.array([d[1] for d in self.districts])
        d_lon = np.array([d[2] for d in self.districts])
        km = great_circle_km(
            np.asarray(lat)[:, None], np.asarray(lon)[:, None], d_lat[None, :], d_lon[None, :]
        )
        return [self.districts[i][0] for i in np.argmin(km, axis=1).tolist()]

    def centre(self, district: str) -> tuple[float, float]:
        for name, lat, lon in self.districts:
            if name == district:
                return lat, lon
        raise KeyError(district)


@dataclass(frozen=True, order=True)
class Need:
    """What a request asks of each volunteer beyond place and time."""

    skills: tuple[str, ...]
    languages: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]

    def label(self) -> str:
        parts = list(self.skills) or ["no special skill"]
        if self.languages:
            parts.append("speaks " + " or ".join(self.languages))
        parts.extend(f"{k}={v}" for k, v in self.attributes)
        return ", ".join(parts)


@dataclass(frozen=True)
class Shortage:
    """Unfilled slots sharing a need, a district and a day part."""

    need: Need
    district: str
    day_part: str
    requests: tuple[int, ...]  # request indices in the instance
    missing: tuple[int, ...]  # missing volunteers of each
    missing_coverage: int
    missing_hours: float
    reasons: dict[str, int]  # missing slots by main reason code
    service_types: tuple[str, ...]
    mandatory: int  # mandatory requests among them (below their minimum)

    @property
    def missing_slots(self) -> int:
        return sum(self.missing)

    def label(self) -> str:
        return f"{self.need.label()} in {self.district}, {self.day_part}"


@dataclass(frozen=True)
class Remedy:
    """A change to the instance that should fill a shortage."""

    kind: Literal["widen_radius", "recruit"]
    shortage: Shortage
    text: str
    pool: str | None = None  # widen_radius: the volunteer group (attribute `pool`)
    radius_km: float = 0.0
    recruits: tuple[Volunteer, ...] = field(default=(), repr=False)

    def apply(self, instance: Instance) -> Instance:
        """The instance with this remedy applied."""
        if self.kind == "recruit":
            return instance.model_copy(
                update={"volunteers": (*instance.volunteers, *self.recruits)}
            )
        vols = tuple(
            v.model_copy(update={"max_travel_km": self.radius_km})
            if _pool_of(v) == self.pool
            and v.max_travel_km is not None
            and v.max_travel_km < self.radius_km
            else v
            for v in instance.volunteers
        )
        return instance.model_copy(update={"volunteers": vols})


@dataclass(frozen=True)
class Verified:
    """A remedy and what re-solving with it showed."""

    remedy: Remedy
    coverage_before: int
    coverage_after: int
    group_missing_before: int
    group_missing_after: int
    status: str

    @property
    def gain(self) -> int:
        return self.coverage_after - self.coverage_before


@dataclass(frozen=True)
class Diagnosis:
    shortages: tuple[Shortage, ...]
    remedies: tuple[Verified, ...]


def _pool_of(v: Volunteer) -> str:
    value = v.attributes.get("pool")
    return ALL_VOLUNTEERS if value is None else str(value)


def find_shortages(instance: Instance, plan: Plan, geo: Geography) -> list[Shortage]:
    """The plan's unfilled slots grouped by need, district and day part: groups with unstaffed
    mandatory requests first, then by missing coverage."""
    index = {r.id: i for i, r in enumerate(instance.requests)}
    rows = [(index[u.request_id], u) for u in plan.unfilled]
    reqs = instance.requests
    districts = geo.district_of(
        [reqs[i].location.lat for i, _ in rows], [reqs[i].location.lon for i, _ in rows]
    )
    groups: defaultdict[tuple[Need, str, str], list[tuple[int, int, str]]] = defaultdict(list)
    for (i, u), district in zip(rows, districts, strict=True):
        r = reqs[i]
        need = Need(
            tuple(r.required_skills),
            tuple(r.languages),
            tuple(sorted((k, str(v)) for k, v in r.attributes.items())),
        )
        start = r.window_start.astimezone(geo.tz)
        minute = start.hour * 60 + start.minute
        part = next(name for name, lo, hi in DAY_PARTS if lo <= minute < hi)
        day_part = f"{geo.day_kind(start.date())} {part}"
        groups[(need, district, day_part)].append((i, u.missing, u.codes[0] if u.codes else "?"))
    out = []
    for (need, district, day_part), members in groups.items():
        reasons: Counter[str] = Counter()
        for _, missing, code in members:
            reasons[code] += missing
        out.append(
            Shortage(
                need=need,
                district=district,
                day_part=day_part,
                requests=tuple(i for i, _, _ in members),
                missing=tuple(m for _, m, _ in members),
                missing_coverage=sum(reqs[i].priority * m for i, m, _ in members),
                missing_hours=sum(reqs[i].duration_hours * m for i, m, _ in members),
                reasons=dict(reasons.most_common()),
                service_types=tuple(sorted({reqs[i].service_type for i, _, _ in members})),
                mandatory=sum(reqs[i].mandatory for i, _, _ in members),
            )
        )
    out.sort(key=lambda s: (-s.mandatory, -s.missing_coverage, -s.missing_slots, s.label()))
    return out


def propose_remedies(
    instance: Instance, shortages: Sequence[Shortage], geo: Geography
) -> list[Remedy]:
    """For each shortage, the smallest radius widening (if any pool can reach it) and the
    smallest recruitment that would fill it."""
    tables = Tables(instance)
    pools: defaultdict[str, list[int]] = defaultdict(list)
    for i, v in enumerate(instance.volunteers):
        pools[_pool_of(v)].append(i)
    out: list[Remedy] = []
    for k, shortage in enumerate(shortages):
        widen = _widen(tables, instance, shortage, pools)
        if widen is not None:
            out.append(widen)
        out.append(_recruit(instance, shortage, geo, tag=f"{k + 1:02d}"))
    return out


def _widen(
    tables: Tables, instance: Instance, shortage: Shortage, pools: dict[str, list[int]]
) -> Remedy | None:
    requests = np.asarray(shortage.requests, dtype=np.int64)
    missing = np.asarray(shortage.missing, dtype=np.int64)
    best: tuple[int, float, str] | None = None
    for pool, members in sorted(pools.items()):
        vols = np.asarray(members, dtype=np.int64)
        radius = tables.v_radius[vols]
        finite = radius[np.isfinite(radius)]
        if len(finite) == 0:
            continue  # unlimited radius: widening cannot help
        cap = min(MAX_RADIUS_KM, RADIUS_GROWTH * float(np.percentile(finite, 90)))
        v = np.repeat(vols, len(requests))
        r = np.tile(requests, len(vols))
        ok = (
            tables.skills_ok(v, r)
            & tables.language_ok(v, r)
            & tables.attributes_ok(v, r)
            & tables.available(v, r)
        )
        d = np.full(len(v), np.inf)
        d[ok] = tables.distance_km(v[ok], r[ok])
        new = ok & (d > tables.v_radius[v] + 1e-9)
        d[~new] = np.inf
        per_request = d.reshape(len(vols), len(requests))
        reach = np.sort(per_request, axis=0)  # k-th nearest new candidate per request
        needed = np.full(len(requests), np.inf)
        enough = missing <= len(vols)
        needed[enough] = reach[missing[enough] - 1, np.flatnonzero(enough)]
        reachable = needed <= cap
        if not reachable.any():
            continue
        x = math.ceil(float(needed[reachable].max()) * 2 - 1e-9) / 2
        slots = int(missing[reachable].sum())
        if best is None or (slots, -x) > (best[0], -best[1]):
            best = (slots, x, pool)
    if best is None:
        return None
    slots, x, pool = best
    group = "every volunteer" if pool == ALL_VOLUNTEERS else f"the {pool.replace('_', ' ')}"
    text = (
        f"widen the travel radius of {group} to {x:g} km "
        f"(reaches {slots} of the {shortage.missing_slots} missing slots)"
    )
    return Remedy("widen_radius", shortage, text, pool=pool, radius_km=x)


def _recruit(instance: Instance, shortage: Shortage, geo: Geography, *, tag: str) -> Remedy:
    reqs = [instance.requests[i] for i in shortage.requests]
    need = shortage.need
    hours = _typical_hours(instance, need)
    lat, lon = geo.centre(shortage.district)
    dist = great_circle_km(
        lat, lon, np.array([r.location.lat for r in reqs]), np.array([r.location.lon for r in reqs])
    )
    radius = max(1.0, math.ceil(float(dist.max()) * 2 + 1e-9) / 2)
    windows: dict[date, list[int]] = {}
    for r in reqs:
        day = r.window_start.astimezone(geo.tz).date()
        lo_hi = windows.setdefault(day, [_minute(r.window_start, geo.tz, day), 0])
        lo_hi[0] = min(lo_hi[0], _minute(r.window_start, geo.tz, day))
        lo_hi[1] = max(lo_hi[1], _minute(r.window_end, geo.tz, day))
    availability = tuple(
        Interval(start=_at(day, lo, geo.tz), end=_at(day, hi, geo.tz))
        for day, (lo, hi) in sorted(windows.items())
    )
    n = _first_fit(instance, shortage, hours)
    taken = {v.id for v in instance.volunteers}
    ids = [f"recruit-{tag}-{j + 1:03d}" for j in range(n)]
    ids = [i if i not in taken else f"{i}-x" for i in ids]
    recruits = tuple(
        Volunteer(
            id=vid,
            location=Location(lat=lat, lon=lon),
            skills=need.skills,
            languages=need.languages,
            attributes={**dict(need.attributes), "pool": "recruits"},
            availability=availability,
            max_hours=hours,
            max_travel_km=radius,
        )
        for vid in ids
    )
    text = f"recruit {n} volunteer{'s' if n != 1 else ''} ({need.label()}) near {shortage.district}, {shortage.day_part}"
    return Remedy("recruit", shortage, text, recruits=recruits)


def _minute(moment: datetime, tz: timezone, day: date) -> int:
    """Minutes of `moment` after local midnight starting `day`."""
    local = moment.astimezone(tz)
    return (local.date() - day).days * 24 * 60 + local.hour * 60 + local.minute


def _at(day: date, minute: int, tz: timezone) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(minutes=minute)


def _typical_hours(instance: Instance, need: Need) -> float | None:
    """The median hours cap of the volunteers who meet the need (of everyone, if nobody)."""

    def meets(v: Volunteer) -> bool:
        return (
            set(need.skills) <= set(v.skills)
            and (not need.languages or bool(set(need.languages) & set(v.languages)))
            and all(str(v.attributes.get(k)) == val for k, val in need.attributes)
        )

    caps = [v.max_hours for v in instance.volunteers if meets(v) and v.max_hours is not None]
    if not caps:
        caps = [v.max_hours for v in instance.volunteers if v.max_hours is not None]
    return float(np.median(caps)) if caps else None


@dataclass
class _Helper:
    free_from: datetime
    lat: float
    lon: float
    hours: float


def _first_fit(instance: Instance, shortage: Shortage, hours: float | None) -> int:
    """Helpers needed to staff every missing slot of the shortage alone: first fit by start
    time, each helper moving on to the next request in time (travel at the instance's speed)
    and within the hours cap."""
    speed = instance.options.travel_speed_kmh
    slots = sorted(
        (
            instance.requests[i]
            for i, m in zip(shortage.requests, shortage.missing, strict=True)
            for _ in range(m)
        ),
        key=lambda r: (r.window_start, r.window_end, r.id),
    )
    helpers: list[_Helper] = []
    for r in slots:
        for h in helpers:
            travel_h = float(great_circle_km(h.lat, h.lon, r.location.lat, r.location.lon)) / speed
            fits_hours = hours is None or h.hours + r.duration_hours <= hours + 1e-9
            if h.free_from + timedelta(hours=travel_h) <= r.window_start and fits_hours:
                h.free_from, h.lat, h.lon = r.window_end, r.location.lat, r.location.lon
                h.hours += r.duration_hours
                break
        else:
            helpers.append(_Helper(r.window_end, r.location.lat, r.location.lon, r.duration_hours))
    return len(helpers)


def verify(
    instance: Instance,
    baseline: Plan,
    remedies: Sequence[Remedy],
    *,
    engine: EngineName,
    time_limit_s: float,
    seed: int,
    on_step: Callable[[Remedy], None] | None = None,
) -> list[Verified]:
    """Re-solve with each remedy applied; report coverage before and after."""
    out = []
    for remedy in remedies:
        if on_step is not None:
            on_step(remedy)
        plan = solve(remedy.apply(instance), engine=engine, time_limit_s=time_limit_s, seed=seed)
        out.append(
            Verified(
                remedy=remedy,
                coverage_before=baseline.objective.coverage,
                coverage_after=plan.objective.coverage,
                group_missing_before=remedy.shortage.missing_slots,
                group_missing_after=_missing_in(instance, plan, remedy.shortage),
                status=plan.status,
            )
        )
    return out


def _missing_in(instance: Instance, plan: Plan, shortage: Shortage) -> int:
    ids = {instance.requests[i].id for i in shortage.requests}
    return sum(u.missing for u in plan.unfilled if u.request_id in ids)


def diagnose(
    instance: Instance,
    plan: Plan,
    geo: Geography,
    *,
    groups: int,
    engine: EngineName,
    time_limit_s: float,
    seed: int,
    on_step: Callable[[Remedy], None] | None = None,
) -> Diagnosis:
    """Shortages of `plan`, and verified remedies for the `groups` largest."""
    shortages = find_shortages(instance, plan, geo)
    remedies = propose_remedies(instance, shortages[:groups], geo) if groups > 0 else []
    verified = verify(
        instance,
        plan,
        remedies,
        engine=engine,
        time_limit_s=time_limit_s,
        seed=seed,
        on_step=on_step,
    )
    return Diagnosis(tuple(shortages), tuple(verified))

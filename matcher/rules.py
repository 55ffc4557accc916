"""The hard rules of FORMAT.md, one function each, on domain objects.

These scalar predicates are the reference meaning of every rule: validation of pinned pairs and
the plan checker use them directly, and the vectorised candidate generation in `compile` is
tested against them. Times are compared as offset-aware instants, so offsets never matter.

Format v1.1 adds flexible visits (a window and a duration; the plan chooses the start). Rules
about time (4, 6, 6b) and the travel leg of a flexible visit are stated on `Engagement`s: where
and when a volunteer is busy, from an assigned request at its times (a flexible visit at its
chosen start) or from a commitment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from geopy.distance import great_circle

from .model import (
    Assignment,
    Commitment,
    Instance,
    Interval,
    Location,
    Pair,
    Quota,
    Request,
    Volunteer,
)

# Numerical slack for comparisons of derived floats (km, seconds); inputs are not rounded.
KM_TOLERANCE = 1e-9
SECONDS_TOLERANCE = 1e-6
# Plans give distances to the metre (`Assignment.distance_km` is rounded to 3 decimals).
PLAN_KM_TOLERANCE = 5e-4 + KM_TOLERANCE

# A rule is numbered as in FORMAT.md; the v1.1 rules beside a v1 rule carry a letter ("3b").
RuleId = int | str

RULE_NAMES: dict[RuleId, str] = {
    1: "required skills",
    2: "language",
    3: "attributes",
    "3b": "same attributes in a team",  # format v1.1: Request.same_attributes
    4: "availability",
    "4b": "chosen start of a flexible visit",  # format v1.1: Assignment.start/end
    5: "travel distance",
    6: "overlap and travel time between requests",
    "6b": "route from home and back",  # format v1.1: flexible visits
    7: "hours and assignment caps",
    8: "one assignment per volunteer and request",
    9: "headcount between min_volunteers and volunteers_needed",
    10: "mandatory request staffed",
    11: "pinned pair kept",
    12: "excluded pair avoided",  # project addition: Instance.excluded
    13: "hard quota of a group",  # project addition: options.quotas
    14: "max_changes against previous",  # project addition: options.max_changes
    # Not a hard rule: a flexible visit's `distance_km` must be its leg (the travel objective).
    "leg": "travel leg of a flexible visit",
}

# A quota's slack, relative to the plan's total, below which it counts as met (float rounding
# of decimal shares; see `matcher.problem.QUOTA_TOLERANCE`).
QUOTA_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken hard rule, with a sentence that names the records involved."""

    rule: RuleId
    message: str

    def __str__(self) -> str:
        what = "travel objective" if self.rule == "leg" else f"rule {self.rule}"
        return f"{what} ({RULE_NAMES[self.rule]}): {self.message}"


@dataclass(frozen=True, slots=True)
class Engagement:
    """Where and when a volunteer is busy: an assigned request (`request_id`) at its times, a
    flexible visit at its chosen start, or a commitment (`request_id` None)."""

    start: datetime
    end: datetime
    location: Location
    request_id: str | None = None
    flexible: bool = False

    @classmethod
    def of_request(cls, r: Request, start: datetime | None = None) -> Engagement:
        """`r` at its fixed times, or, for a flexible visit, from `start` for its duration."""
        if not r.flexible:
            return cls(r.window_start, r.window_end, r.location, r.id)
        if start is None:
            raise ValueError(f"{r.id} is a flexible visit: give its chosen start")
        return cls(start, start + _duration(r), r.location, r.id, True)

    @classmethod
    def of_commitment(cls, c: Commitment) -> Engagement:
        return cls(c.start, c.end, c.location)

    def __str__(self) -> str:
        if self.request_id is not None:
            return self.request_id
        return f"a commitment from {self.start.isoformat()} to {self.end.isoformat()}"


Placed = Volunteer | Request | Commitment | Engagement


def distance_km(a: Placed, b: Placed) -> float:
    return float(
        great_circle((a.location.lat, a.location.lon), (b.location.lat, b.location.lon)).km
    )


def missing_skills(v: Volunteer, r: Request) -> list[str]:
    """Rule 1: the required skills `v` lacks."""
    have = set(v.skills)
    return [s for s in r.required_skills if s not in have]


def speaks_language(v: Volunteer, r: Request) -> bool:
    """Rule 2."""
    return not r.languages or bool(set(v.languages) & set(r.languages))


def mismatched_attributes(v: Volunteer, r: Request) -> list[str]:
    """Rule 3: the request's attribute keys on which `v` differs (absent counts as different)."""
    return [
        k
        for k, want in r.attributes.items()
        if k not in v.attributes or attribute_key(v.attributes[k]) != attribute_key(want)
    ]


def attribute_key(value: str | bool | int | float) -> tuple[str, str | float]:
    """An attribute value as a comparable JSON scalar: `1` and `1.0` are one number, while
    `1`, `true` and `"1"` are three different values."""
    if isinstance(value, bool):
        return ("bool", str(value))
    if isinstance(value, int | float):
        return ("number", float(value))
    return ("string", value)


def merged_availability(intervals: Iterable[Interval]) -> list[tuple[datetime, datetime]]:
    """Availability with overlapping or touching intervals merged, in time order."""
    spans = sorted((i.start, i.end) for i in intervals)
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def is_available(v: Volunteer, r: Request, at: Engagement | None = None) -> bool:
    """Rule 4: `at` (a flexible visit at its chosen times), else [r.start, r.end], inside one
    merged availability interval of `v`; for a flexible visit without chosen times, some start
    in its window fits one."""
    spans = merged_availability(v.availability)
    if at is not None:
        return any(s <= at.start and at.end <= e for s, e in spans)
    if r.flexible:
        duration = _duration(r)
        return any(max(s, r.window_start) + duration <= min(e, r.window_end) for s, e in spans)
    return any(s <= r.window_start and r.window_end <= e for s, e in spans)


def within_reach(v: Volunteer, r: Request) -> bool:
    """Rule 5."""
    return v.max_travel_km is None or distance_km(v, r) <= v.max_travel_km + KM_TOLERANCE


def missing_same_attributes(v: Volunteer, r: Request) -> list[str]:
    """Rule 3b for one volunteer: the keys of `r.same_attributes` that `v` has no value for
    (such a volunteer cannot serve `r`)."""
    return [k for k in r.same_attributes if k not in v.attributes]


def team_attribute_violations(r: Request, team: Sequence[Volunteer]) -> list[Violation]:
    """Rule 3b for the volunteers assigned to `r`: one common value per key of
    `r.same_attributes` (volunteers lacking a key are flagged by `pair_violations`)."""
    out: list[Violation] = []
    for key in r.same_attributes:
        values = {
            attribute_key(v.attributes[key]): v.attributes[key] for v in team if key in v.attributes
        }
        if len(values) > 1:
            shown = ", ".join(f"{v.id}={v.attributes[key]!r}" for v in team if key in v.attributes)
            out.append(Violation("3b", f"the team of {r.id} differs on {key} ({shown})"))
    return out


def pair_violations(v: Volunteer, r: Request, at: Engagement | None = None) -> list[Violation]:
    """Rules 1-5 (and 3b) for one volunteer-request pair; rule 4 on `at`, the chosen times of
    a flexible visit, when given."""
    out: list[Violation] = []
    if lacking := missing_skills(v, r):
        out.append(Violation(1, f"volunteer {v.id} lacks skill(s) {', '.join(lacking)} for {r.id}"))
    if not speaks_language(v, r):
        out.append(
            Violation(2, f"volunteer {v.id} speaks none of {', '.join(r.languages)} ({r.id})")
        )
    if keys := mismatched_attributes(v, r):
        out.append(
            Violation(3, f"volunteer {v.id} differs on attribute(s) {', '.join(keys)} ({r.id})")
        )
    if keys := missing_same_attributes(v, r):
        out.append(
            Violation(
                "3b",
                f"volunteer {v.id} has no {', '.join(keys)}, which the team of {r.id} must share",
            )
        )
    if not is_available(v, r, at):
        when = f" from {at.start.isoformat()} to {at.end.isoformat()}" if at is not None else ""
        out.append(Violation(4, f"volunteer {v.id} is not available for all of {r.id}{when}"))
    if not within_reach(v, r):
        out.append(
            Violation(
                5,
                f"{r.id} is {distance_km(v, r):.2f} km from volunteer {v.id}, "
                f"beyond max_travel_km {v.max_travel_km}",
            )
        )
    return out


def _duration(r: Request) -> timedelta:
    if r.duration is not None:
        return timedelta(minutes=r.duration)
    return r.window_end - r.window_start


def _span(x: Request | Commitment | Engagement) -> tuple[datetime, datetime]:
    if isinstance(x, Request):
        return x.window_start, x.window_end
    return x.start, x.end


def travel_conflict(
    a: Request | Commitment | Engagement, b: Request | Commitment | Engagement, speed_kmh: float
) -> bool:
    """Rule 6: True when one volunteer cannot do both `a` and `b` (overlap, or too little time
    to travel from the earlier to the later)."""
    (a_start, a_end), (b_start, b_end) = _span(a), _span(b)
    first, second = (a, b) if a_start <= b_start else (b, a)
    first_end, second_start = (a_end, b_start) if first is a else (b_end, a_start)
    slack = (second_start - (first_end + _travel_time(first, second, speed_kmh))).total_seconds()
    return slack < -SECONDS_TOLERANCE


def _travel_time(a: Placed, b: Placed, speed_kmh: float) -> timedelta:
    return timedelta(hours=distance_km(a, b) / speed_kmh)


def chosen_start(r: Request, start: datetime | None) -> datetime | None:
    """The start an assignment of `r` gives, if `r` is a flexible visit and it is a usable
    time (with an offset); else None."""
    if not r.flexible or start is None or start.utcoffset() is None:
        return None
    return start


def engagements(
    v: Volunteer, requests: Iterable[Request], starts: Mapping[str, datetime] | None = None
) -> list[Engagement]:
    """The requests assigned to `v` (flexible visits at `starts`, by request id; those without
    one are left out) in time order."""
    chosen = starts or {}
    return sorted(
        (
            Engagement.of_request(r, chosen.get(r.id))
            for r in requests
            if not r.flexible or r.id in chosen
        ),
        key=lambda e: e.start,
    )


def route_of(
    v: Volunteer, e: Engagement, others: Iterable[Engagement]
) -> tuple[Engagement | None, Engagement | None, tuple[datetime, datetime]] | None:
    """Where `v` comes from to `e` and goes to after it: their latest other engagement ending at
    or before `e` starts and their earliest starting at or after `e` ends, within the merged
    availability interval holding `e` (None: from home, to home), and that interval. An
    engagement belongs to the interval when it touches it. None when no interval holds `e`."""
    interval = next(
        ((s, t) for s, t in merged_availability(v.availability) if s <= e.start and e.end <= t),
        None,
    )
    if interval is None:
        return None
    start, end = interval
    before = [x for x in others if x is not e and start <= x.end <= e.start]
    after = [x for x in others if x is not e and e.end <= x.start <= end]
    previous = max(before, key=lambda x: (x.end, x.start), default=None)
    following = min(after, key=lambda x: (x.start, x.end), default=None)
    return previous, following, interval


def travel_leg_km(v: Volunteer, e: Engagement, others: Iterable[Engagement]) -> float:
    """The travel objective of one assignment: a fixed request's distance from home (v1); a
    flexible visit's leg from `v`'s previous stop (`route_of`), or from home if none."""
    if not e.flexible:
        return distance_km(v, e)
    route = route_of(v, e, others)
    previous = route[0] if route is not None else None
    return distance_km(previous if previous is not None else v, e)


def home_leg_violations(
    v: Volunteer, e: Engagement, others: Iterable[Engagement], speed_kmh: float
) -> list[Violation]:
    """Rule 6b for a flexible visit `e` of `v`: with nothing before it in its availability
    interval, `v` travels there from home after the interval starts; with nothing after it,
    `v` is back home before the interval ends."""
    route = route_of(v, e, others) if e.flexible else None
    if route is None:
        return []
    previous, following, (start, end) = route
    out: list[Violation] = []
    slack = SECONDS_TOLERANCE
    if (
        previous is None
        and (e.start - (start + _travel_time(v, e, speed_kmh))).total_seconds() < -slack
    ):
        out.append(
            Violation(
                "6b",
                f"volunteer {v.id} is available from {start.isoformat()}, too late to come from "
                f"home ({distance_km(v, e):.2f} km) to {e} at {e.start.isoformat()}",
            )
        )
    if (
        following is None
        and (end - (e.end + _travel_time(e, v, speed_kmh))).total_seconds() < -slack
    ):
        out.append(
            Violation(
                "6b",
                f"volunteer {v.id} cannot be back home ({distance_km(v, e):.2f} km) from {e} "
                f"ending {e.end.isoformat()} by the end of their availability {end.isoformat()}",
            )
        )
    return out


def schedule_violations(
    v: Volunteer,
    requests: Sequence[Request],
    speed_kmh: float,
    starts: Mapping[str, datetime] | None = None,
) -> list[Violation]:
    """Rules 6-8 (and 6b) for the requests assigned to one volunteer, counting the volunteer's
    commitments outside this solve as fixed engagements. `starts`: the chosen start of each
    flexible visit, by request id; a flexible visit without one is left out of rules 6 and 6b
    (rule 4b names it)."""
    out: list[Violation] = []
    ids = [r.id for r in requests]
    for rid in sorted({i for i in ids if ids.count(i) > 1}):
        out.append(Violation(8, f"volunteer {v.id} is assigned to {rid} more than once"))
    ordered = sorted({r.id: r for r in requests}.values(), key=lambda r: r.window_start)
    placed = engagements(v, ordered, starts)
    committed = [Engagement.of_commitment(c) for c in v.commitments]
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            if travel_conflict(a, b, speed_kmh):
                out.append(
                    Violation(6, f"volunteer {v.id} cannot do both {a} and {b} (time or travel)")
                )
        for c in v.commitments:
            if travel_conflict(a, c, speed_kmh):
                out.append(
                    Violation(
                        6,
                        f"volunteer {v.id} is committed elsewhere from {c.start.isoformat()} "
                        f"to {c.end.isoformat()}, which leaves no time for {a}",
                    )
                )
        out.extend(home_leg_violations(v, a, [*placed, *committed], speed_kmh))
    hours = sum(r.duration_hours for r in ordered) + sum(c.duration_hours for c in v.commitments)
    if ordered and v.max_hours is not None and hours > v.max_hours + SECONDS_TOLERANCE / 3600:
        out.append(
            Violation(
                7, f"volunteer {v.id} has {hours:g} h assigned, over max_hours {v.max_hours:g}"
            )
        )
    count = len(ordered) + len(v.commitments)
    if ordered and v.max_assignments is not None and count > v.max_assignments:
        out.append(
            Violation(
                7,
                f"volunteer {v.id} has {count} assignments, over max_assignments {v.max_assignments}",
            )
        )
    return out


def chosen_time_violations(r: Request, team: Sequence[Assignment]) -> list[Violation]:
    """Rule 4b for the assignments of one request: a flexible visit's each give the chosen
    start (with an offset) and end, one start for the whole team, inside the window, and end =
    start + duration; a fixed request's give neither."""
    out: list[Violation] = []
    if not r.flexible:
        for a in team:
            if a.start is not None or a.end is not None:
                out.append(
                    Violation(
                        "4b",
                        f"assignment {a.volunteer_id} -> {r.id} gives a start or end, but {r.id} "
                        "has fixed times (only a flexible visit's assignments give one)",
                    )
                )
        return out
    duration, tolerance = _duration(r), timedelta(seconds=SECONDS_TOLERANCE)
    starts: set[datetime] = set()
    for a in team:
        label = f"assignment {a.volunteer_id} -> {r.id}"
        if chosen_start(r, a.start) is None or a.end is None or a.end.utcoffset() is None:
            out.append(
                Violation(
                    "4b",
                    f"{label} gives no chosen start and end with an offset ({r.id} is a "
                    "flexible visit)",
                )
            )
            continue
        assert a.start is not None
        starts.add(a.start)
        if a.start < r.window_start - tolerance:
            out.append(
                Violation(
                    "4b",
                    f"{label} starts at {a.start.isoformat()}, before earliest_start "
                    f"{r.window_start.isoformat()}",
                )
            )
        if a.start + duration > r.window_end + tolerance:
            out.append(
                Violation(
                    "4b",
                    f"{label} starts at {a.start.isoformat()}: its {r.duration:g} minutes end "
                    f"after latest_end {r.window_end.isoformat()}",
                )
            )
        if abs(a.end - (a.start + duration)) > tolerance:
            out.append(
                Violation(
                    "4b",
                    f"{label} ends at {a.end.isoformat()}, not its start plus {r.duration:g} "
                    f"minutes ({(a.start + duration).isoformat()})",
                )
            )
    if len(starts) > 1:
        shown = ", ".join(sorted(s.isoformat() for s in starts))
        out.append(Violation("4b", f"the team of {r.id} starts at different times ({shown})"))
    return out


def fitting_start(v: Volunteer, r: Request, speed_kmh: float) -> datetime | None:
    """The earliest start of flexible visit `r` that `v` could take alone, beside their
    commitments (rules 4, 6, 6b and 7), or None. The starts that work form intervals, each
    opening at the window's start, an availability interval's start (plus the way from home)
    or a commitment's end plus the way from it: those are the candidates tried."""
    latest = r.window_end - _duration(r)
    here = Engagement(r.window_start, r.window_end, r.location, r.id)
    candidates = {r.window_start}
    for start, _ in merged_availability(v.availability):
        candidates |= {start, start + _travel_time(v, here, speed_kmh)}
    for c in v.commitments:
        candidates.add(c.end + _travel_time(c, here, speed_kmh))
    for s in sorted(x for x in candidates if r.window_start <= x <= latest):
        if is_available(v, r, Engagement.of_request(r, s)) and not schedule_violations(
            v, [r], speed_kmh, {r.id: s}
        ):
            return s
    return None


def headcount_violations(r: Request, n: int) -> list[Violation]:
    """Rules 9 and 10 for one request staffed by `n` volunteers."""
    out: list[Violation] = []
    if n > r.volunteers_needed:
        out.append(
            Violation(9, f"{r.id} has {n} volunteers, over volunteers_needed {r.volunteers_needed}")
        )
    if 0 < n < r.min_volunteers:
        out.append(
            Violation(9, f"{r.id} has {n} volunteers, under min_volunteers {r.min_volunteers}")
        )
    if r.mandatory and n < r.min_volunteers:
        out.append(Violation(10, f"mandatory {r.id} has {n} volunteers, needs {r.min_volunteers}"))
    return out


def quota_amounts(
    quota: Quota,
    volunteers: Sequence[Volunteer],
    requests: Sequence[Request],
) -> tuple[float, float]:
    """A quota's group amount and the plan's total, for assignments given as parallel
    sequences of volunteers and requests: counted one each, or in hours."""
    group = total = 0.0
    for v, r in zip(volunteers, requests, strict=True):
        amount = r.duration_hours if quota.of == "hours" else 1.0
        total += amount
        group += amount if v.group == quota.group else 0.0
    return group, total


def quota_met(quota: Quota, group: float, total: float) -> bool:
    """Whether a group amount out of a total meets the quota (within float rounding)."""
    tolerance = QUOTA_TOLERANCE * (total + 1.0)
    if quota.min_share is not None:
        return group >= quota.min_share * total - tolerance
    return group <= (quota.max_share or 0.0) * total + tolerance


def quota_violations(
    instance: Instance, volunteers: Sequence[Volunteer], requests: Sequence[Request]
) -> list[Violation]:
    """Rule 13: each hard quota of `options.quotas` on the plan's assignments (parallel
    sequences of volunteers and requests)."""
    out: list[Violation] = []
    for i, quota in enumerate(instance.options.quotas):
        if not quota.hard:
            continue
        group, total = quota_amounts(quota, volunteers, requests)
        if quota_met(quota, group, total):
            continue
        bound = "at least" if quota.min_share is not None else "at most"
        unit = "h" if quota.of == "hours" else " assignment(s)"
        out.append(
            Violation(
                13,
                f"options.quotas[{i}]: group {quota.group} has {group:g}{unit} of {total:g}, "
                f"needs {bound} {quota.share:.4g} of the {quota.of}",
            )
        )
    return out


def keepable(instance: Instance, v: Volunteer, r: Request) -> bool:
    """Whether some plan could hold the previous pair (v, r) on its own: rules 1-5, not
    excluded, and rules 6-7 (and 6b, at some start of a flexible visit) with the volunteer's
    commitments. Only such pairs count as
    changes when dropped."""
    if pair_violations(v, r):
        return False
    if any(p.volunteer_id == v.id and p.request_id == r.id for p in instance.excluded):
        return False
    if r.flexible:
        return fitting_start(v, r, instance.options.travel_speed_kmh) is not None
    return not schedule_violations(v, [r], instance.options.travel_speed_kmh)


def change_count(instance: Instance, planned: set[tuple[str, str]]) -> int:
    """Changes of a plan (its (volunteer id, request id) pairs) against `previous`: previous
    pairs it drops that some plan could keep, plus pairs it adds that are neither previous nor
    pinned. Pairs naming unknown ids are ignored."""
    volunteers = {v.id: v for v in instance.volunteers}
    requests = {r.id: r for r in instance.requests}
    previous = _known(instance.previous, volunteers, requests)
    pinned = _known(instance.pinned, volunteers, requests)
    dropped = sum(
        1 for vid, rid in previous - planned if keepable(instance, volunteers[vid], requests[rid])
    )
    return dropped + len(planned - previous - pinned)


def change_violations(instance: Instance, planned: set[tuple[str, str]]) -> list[Violation]:
    """Rule 14: at most `options.max_changes` changes against `previous`."""
    limit = instance.options.max_changes
    if limit is None:
        return []
    changes = change_count(instance, planned)
    if changes <= limit:
        return []
    return [Violation(14, f"the plan makes {changes} changes, max_changes is {limit}")]


def _known(
    pairs: Iterable[Pair], volunteers: Mapping[str, Volunteer], requests: Mapping[str, Request]
) -> set[tuple[str, str]]:
    return {
        (p.volunteer_id, p.request_id)
        for p in pairs
        if p.volunteer_id in volunteers and p.request_id in requests
    }

"""The hard rules of FORMAT.md, one function each, on domain objects.

These scalar predicates are the reference meaning of every rule: validation of pinned pairs and
the plan checker use them directly, and the vectorised candidate generation in `compile` is
tested against them. Times are compared as offset-aware instants, so offsets never matter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from geopy.distance import great_circle

from .model import Commitment, Instance, Interval, Pair, Quota, Request, Volunteer

# Numerical slack for comparisons of derived floats (km, seconds); inputs are not rounded.
KM_TOLERANCE = 1e-9
SECONDS_TOLERANCE = 1e-6

RULE_NAMES: dict[int, str] = {
    1: "required skills",
    2: "language",
    3: "attributes",
    4: "availability",
    5: "travel distance",
    6: "overlap and travel time between requests",
    7: "hours and assignment caps",
    8: "one assignment per volunteer and request",
    9: "headcount between min_volunteers and volunteers_needed",
    10: "mandatory request staffed",
    11: "pinned pair kept",
    12: "excluded pair avoided",  # project addition: Instance.excluded
    13: "hard quota of a group",  # project addition: options.quotas
    14: "max_changes against previous",  # project addition: options.max_changes
}

# A quota's slack, relative to the plan's total, below which it counts as met (float rounding
# of decimal shares; see `matcher.problem.QUOTA_TOLERANCE`).
QUOTA_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken hard rule, with a sentence that names the records involved."""

    rule: int
    message: str

    def __str__(self) -> str:
        return f"rule {self.rule} ({RULE_NAMES[self.rule]}): {self.message}"


Placed = Volunteer | Request | Commitment


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


def is_available(v: Volunteer, r: Request) -> bool:
    """Rule 4: [r.start, r.end] inside one merged availability interval of `v`."""
    return any(
        s <= r.window_start and r.window_end <= e for s, e in merged_availability(v.availability)
    )


def within_reach(v: Volunteer, r: Request) -> bool:
    """Rule 5."""
    return v.max_travel_km is None or distance_km(v, r) <= v.max_travel_km + KM_TOLERANCE


def pair_violations(v: Volunteer, r: Request) -> list[Violation]:
    """Rules 1-5 for one volunteer-request pair."""
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
    if not is_available(v, r):
        out.append(Violation(4, f"volunteer {v.id} is not available for all of {r.id}"))
    if not within_reach(v, r):
        out.append(
            Violation(
                5,
                f"{r.id} is {distance_km(v, r):.2f} km from volunteer {v.id}, "
                f"beyond max_travel_km {v.max_travel_km}",
            )
        )
    return out


def _span(x: Request | Commitment) -> tuple[datetime, datetime]:
    if isinstance(x, Request):
        return x.window_start, x.window_end
    return x.start, x.end


def travel_conflict(a: Request | Commitment, b: Request | Commitment, speed_kmh: float) -> bool:
    """Rule 6: True when one volunteer cannot do both `a` and `b` (overlap, or too little time
    to travel from the earlier to the later)."""
    (a_start, a_end), (b_start, b_end) = _span(a), _span(b)
    first, second = (a, b) if a_start <= b_start else (b, a)
    first_end, second_start = (a_end, b_start) if first is a else (b_end, a_start)
    travel = timedelta(hours=distance_km(first, second) / speed_kmh)
    slack = (second_start - (first_end + travel)).total_seconds()
    return slack < -SECONDS_TOLERANCE


def schedule_violations(
    v: Volunteer, requests: Sequence[Request], speed_kmh: float
) -> list[Violation]:
    """Rules 6-8 for the requests assigned to one volunteer, counting the volunteer's
    commitments outside this solve as fixed engagements."""
    out: list[Violation] = []
    ids = [r.id for r in requests]
    for rid in sorted({i for i in ids if ids.count(i) > 1}):
        out.append(Violation(8, f"volunteer {v.id} is assigned to {rid} more than once"))
    ordered = sorted({r.id: r for r in requests}.values(), key=lambda r: r.window_start)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if travel_conflict(a, b, speed_kmh):
                out.append(
                    Violation(
                        6, f"volunteer {v.id} cannot do both {a.id} and {b.id} (time or travel)"
                    )
                )
        for c in v.commitments:
            if travel_conflict(a, c, speed_kmh):
                out.append(
                    Violation(
                        6,
                        f"volunteer {v.id} is committed elsewhere from {c.start.isoformat()} "
                        f"to {c.end.isoformat()}, which leaves no time for {a.id}",
                    )
                )
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
    excluded, and rules 6-7 with the volunteer's commitments. Only such pairs count as
    changes when dropped."""
    if pair_violations(v, r):
        return False
    if any(p.volunteer_id == v.id and p.request_id == r.id for p in instance.excluded):
        return False
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
        1
        for vid, rid in previous - planned
        if keepable(instance, volunteers[vid], requests[rid])
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

"""Key performance indicators of a plan, defined once, for reports, sweeps and tests.

Every KPI is computed from an instance and a plan alone (FORMAT.md), so it means the same for
every engine and every scenario. A *slot* is one of the `volunteers_needed` places of a
request; an assignment fills one slot.

| KPI | definition |
| --- | --- |
| `slot_fill_rate` | filled slots / all slots (sum of `volunteers_needed`) |
| `priority_weighted_coverage` | the plan's coverage (sum over requests of priority x volunteers assigned) / the most coverage possible (sum of priority x `volunteers_needed`) |
| `fill_rate_by_priority` | per priority level: filled slots / slots of requests with that priority |
| `fill_rate_by_service` | per service type: filled slots / slots of requests of that type |
| `travel_km_mean`, `travel_km_p95` | mean and 95th percentile (linear interpolation between order statistics, numpy's default) of the home-to-request distance over assignments; 0 without assignments |
| `volunteers_used` | volunteers with at least one assignment |
| `hours_gini` | Gini coefficient of the hours assigned per volunteer, over the volunteers used: sum over i of (2i - n - 1) x_i / (n sum x), x ascending; 0 = everyone used serves equally long |
| `share_by_affiliation` | per affiliation attribute (e.g. `university`) and value: that value's volunteers' filled slots / all filled slots (the rest are volunteers without that attribute) |
| `share_by_group` | per volunteers' `group` (the partner organization, for quotas): that group's filled slots / all filled slots |
| `quotas` | each quota of the instance (`options.quotas`): its group, bound, the share the plan gives the group and whether it is met (the matcher's own account) |
| `quotas_met`, `quotas_hard_met` | how many quotas (hard ones) the plan meets; `None` without quotas |
| `unfilled_by_reason` | missing slots per reason code, each unfilled request counted under its first (main) code |
| `requests_fully_staffed` | requests with all `volunteers_needed` assigned (visits staffed fully) |
| `by_day` | per local day (of the request's start, or its window's start for a flexible visit, ISO date): `requests`, `fully_staffed`, `slot_fill_rate`, `travel_km` (summed `distance_km` of its assignments) |

Also reported: `coverage`, `coverage_max`, `bound` (the engine's proven upper bound on coverage,
if any), `slots_needed`, `slots_filled`, `travel_km_total`, `hours_served`, `unfilled_requests`,
`unfilled_slots`, `mandatory_unstaffed` (mandatory requests below their minimum), `status`,
`solve_seconds`. No KPI names a person: volunteers only appear as counts and aggregates.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from matcher import Instance, Plan

__all__ = ["SCALAR_KPIS", "Kpis", "compute_kpis", "gini", "hours_by_volunteer", "percentile"]


@dataclass(frozen=True)
class Kpis:
    """The KPIs of one plan (see the module docstring for definitions)."""

    status: str
    slot_fill_rate: float
    priority_weighted_coverage: float
    coverage: int
    coverage_max: int
    bound: int | None
    slots_needed: int
    slots_filled: int
    fill_rate_by_priority: dict[str, float]
    fill_rate_by_service: dict[str, float]
    travel_km_mean: float
    travel_km_p95: float
    travel_km_total: float
    volunteers_used: int
    volunteers_registered: int
    hours_served: float
    hours_gini: float
    share_by_affiliation: dict[str, dict[str, float]]
    share_by_group: dict[str, float]
    quotas: list[dict[str, Any]]
    quotas_met: int | None
    quotas_hard_met: int | None
    unfilled_requests: int
    unfilled_slots: int
    unfilled_by_reason: dict[str, int]
    mandatory_unstaffed: int
    solve_seconds: float
    requests_fully_staffed: int
    by_day: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# The scalar KPIs of tables and sweep charts: (field, label, format).
SCALAR_KPIS: tuple[tuple[str, str, str], ...] = (
    ("slot_fill_rate", "slot fill rate", "{:.1%}"),
    ("priority_weighted_coverage", "priority-weighted coverage", "{:.1%}"),
    ("coverage", "coverage (priority x slots)", "{:d}"),
    ("bound", "proven bound on coverage", "{:d}"),
    ("travel_km_mean", "mean travel (km)", "{:.2f}"),
    ("travel_km_p95", "95th percentile travel (km)", "{:.2f}"),
    ("volunteers_used", "volunteers used", "{:d}"),
    ("hours_served", "hours served", "{:.1f}"),
    ("hours_gini", "hours Gini", "{:.3f}"),
    ("quotas_met", "quotas met", "{:d}"),
    ("quotas_hard_met", "hard quotas met", "{:d}"),
    ("unfilled_slots", "unfilled slots", "{:d}"),
    ("mandatory_unstaffed", "mandatory requests unstaffed", "{:d}"),
    ("solve_seconds", "solve time (s)", "{:.1f}"),
)


def gini(values: Iterable[float]) -> float:
    """Gini coefficient of non-negative values (0 for none, or all zero)."""
    x = np.sort(np.asarray(list(values), dtype=np.float64))
    n, total = len(x), float(x.sum())
    if n == 0 or total <= 0:
        return 0.0
    rank = np.arange(1, n + 1, dtype=np.float64)
    return float(((2 * rank - n - 1) * x).sum() / (n * total))


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile by linear interpolation (numpy's default); 0 for no values."""
    x = np.asarray(list(values), dtype=np.float64)
    return float(np.percentile(x, q)) if len(x) else 0.0


def _rate(filled: Mapping[str, int], needed: Mapping[str, int]) -> dict[str, float]:
    return {k: filled.get(k, 0) / n for k, n in needed.items() if n > 0}


def compute_kpis(
    instance: Instance, plan: Plan, *, affiliations: Iterable[str] = ("university",)
) -> Kpis:
    """The KPIs of `plan` for `instance`; `affiliations` are the volunteer attribute keys whose
    shares of filled slots are reported."""
    requests = {r.id: r for r in instance.requests}
    volunteers = {v.id: v for v in instance.volunteers}
    needed_priority: Counter[str] = Counter()
    needed_service: Counter[str] = Counter()
    for r in instance.requests:
        needed_priority[str(r.priority)] += r.volunteers_needed
        needed_service[r.service_type] += r.volunteers_needed
    filled_priority: Counter[str] = Counter()
    filled_service: Counter[str] = Counter()
    filled_request: Counter[str] = Counter()
    for a in plan.assignments:
        r = requests[a.request_id]
        filled_priority[str(r.priority)] += 1
        filled_service[r.service_type] += 1
        filled_request[r.id] += 1
    hours = hours_by_volunteer(instance, plan)
    slots_needed = sum(r.volunteers_needed for r in instance.requests)
    coverage_max = sum(r.priority * r.volunteers_needed for r in instance.requests)
    coverage = sum(requests[a.request_id].priority for a in plan.assignments)
    travel = [a.distance_km for a in plan.assignments]
    shares: dict[str, dict[str, float]] = {}
    n_filled = len(plan.assignments)
    for key in affiliations:
        counts: Counter[str] = Counter()
        for a in plan.assignments:
            value = volunteers[a.volunteer_id].attributes.get(key)
            if value is not None:
                counts[str(value)] += 1
        if counts:
            shares[key] = {k: counts[k] / n_filled for k in sorted(counts)}
    groups: Counter[str] = Counter(
        g for a in plan.assignments if (g := volunteers[a.volunteer_id].group) is not None
    )
    quotas = [q.model_dump(mode="json") for q in plan.quotas]
    hard = [q for q in plan.quotas if q.hard]
    reasons: Counter[str] = Counter()
    for u in plan.unfilled:
        reasons[u.codes[0] if u.codes else "unexplained"] += u.missing
    mandatory_unstaffed = sum(
        1 for r in instance.requests if r.mandatory and filled_request[r.id] < r.min_volunteers
    )
    fully = {r.id for r in instance.requests if filled_request[r.id] >= r.volunteers_needed}
    return Kpis(
        status=plan.status,
        slot_fill_rate=n_filled / slots_needed if slots_needed else 1.0,
        priority_weighted_coverage=coverage / coverage_max if coverage_max else 1.0,
        coverage=coverage,
        coverage_max=coverage_max,
        bound=plan.bound.coverage,
        slots_needed=slots_needed,
        slots_filled=n_filled,
        fill_rate_by_priority=dict(
            sorted(_rate(filled_priority, needed_priority).items(), key=lambda kv: int(kv[0]))
        ),
        fill_rate_by_service=_rate(filled_service, needed_service),
        travel_km_mean=float(np.mean(travel)) if travel else 0.0,
        travel_km_p95=percentile(travel, 95),
        travel_km_total=float(sum(travel)),
        volunteers_used=len(hours),
        volunteers_registered=len(instance.volunteers),
        hours_served=float(sum(hours.values())),
        hours_gini=gini(hours.values()),
        share_by_affiliation=shares,
        share_by_group={g: groups[g] / n_filled for g in sorted(groups)},
        quotas=quotas,
        quotas_met=sum(q.met for q in plan.quotas) if plan.quotas else None,
        quotas_hard_met=sum(q.met for q in hard) if hard else None,
        unfilled_requests=len(plan.unfilled),
        unfilled_slots=sum(u.missing for u in plan.unfilled),
        unfilled_by_reason=dict(reasons.most_common()),
        mandatory_unstaffed=mandatory_unstaffed,
        solve_seconds=float(plan.stats.get("solve_seconds", 0.0)),
        requests_fully_staffed=len(fully),
        by_day=_by_day(instance, plan, fully),
    )


def _by_day(instance: Instance, plan: Plan, fully: set[str]) -> dict[str, dict[str, float]]:
    """Per local day (ISO date of the request's start in its own offset): requests, fully
    staffed, slot fill rate and travel."""
    day = {r.id: r.window_start.date().isoformat() for r in instance.requests}
    requests: Counter[str] = Counter(day.values())
    slots: Counter[str] = Counter()
    staffed: Counter[str] = Counter(day[r] for r in fully)
    for r in instance.requests:
        slots[day[r.id]] += r.volunteers_needed
    filled: Counter[str] = Counter()
    travel: defaultdict[str, float] = defaultdict(float)
    for a in plan.assignments:
        filled[day[a.request_id]] += 1
        travel[day[a.request_id]] += a.distance_km
    return {
        d: {
            "requests": requests[d],
            "fully_staffed": staffed[d],
            "slot_fill_rate": filled[d] / slots[d] if slots[d] else 1.0,
            "travel_km": round(travel[d], 3),
        }
        for d in sorted(requests)
    }


def hours_by_volunteer(instance: Instance, plan: Plan) -> dict[str, float]:
    """Hours assigned to each volunteer used (summed request durations)."""
    duration = {r.id: r.duration_hours for r in instance.requests}
    hours: defaultdict[str, float] = defaultdict(float)
    for a in plan.assignments:
        hours[a.volunteer_id] += duration[a.request_id]
    return dict(hours)

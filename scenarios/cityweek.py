"""The city week at any size: the catalog scenario `city-week` with its totals fixed.

`city_week(volunteers, requests, seed)` is `city-week` (scenarios/catalog/city-week.toml)
generated with exactly these numbers of volunteers and requests (sites scale with the number of
requests): volunteers round 22 partner universities (students), residential communities
(residents and certified caregivers) and the law firms of the high-tech zone (lawyers);
requests for smartphone tutoring, door-to-door bathing help, legal-aid duty, garbage-sorting
promotion, exam-day water delivery and visits to older people living alone. The service's demo
week, the benchmarks' city week and the tests use it; the generator is `scenarios.generate`.

`visits_week(volunteers, visits, seed, fixed_requests=0, mid_window=False)` is the week of
flexible home visits (scenarios/catalog/city-visits.toml, FORMAT v1.1 windows: bathing help by
two certified helpers of the person's gender, smartphone lessons at home, Mid-Autumn Festival
visits) with exactly these numbers of volunteers and visits, plus `fixed_requests` fixed-time
requests if asked (a mixed week); `mid_window=True` gives the same week with every visit fixed
in the middle of its window (`scenarios.slots.mid_window_slots`), for comparisons.

Deterministic: the same arguments always give byte-identical JSON.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .generate import apportion, build
from .spec import load_scenario

__all__ = ["CST", "SCENARIO", "VISITS_SCENARIO", "WEEK_START", "city_week", "visits_week"]

SCENARIO = "city-week"
VISITS_SCENARIO = "city-visits"
_horizon = load_scenario(SCENARIO).spec.horizon
CST: timezone = _horizon.tz
WEEK_START = datetime(_horizon.start.year, _horizon.start.month, _horizon.start.day, tzinfo=CST)


def city_week(volunteers: int, requests: int, seed: int = 0) -> dict[str, Any]:
    """A city week with exactly the given numbers of volunteers and requests."""
    return build(
        load_scenario(SCENARIO), seed=seed, volunteers=volunteers, requests=requests
    ).instance


def visits_week(
    volunteers: int,
    visits: int,
    seed: int = 0,
    *,
    fixed_requests: int = 0,
    mid_window: bool = False,
) -> dict[str, Any]:
    """A week of exactly `visits` flexible home visits and `fixed_requests` fixed-time requests
    (split over the services in proportion to the file's counts) for `volunteers` volunteers;
    with `mid_window` every visit is fixed in the middle of its window (the same week
    otherwise: the same draws, ids and places)."""
    if volunteers < 1 or visits < 0 or fixed_requests < 0:
        raise ValueError(
            f"need volunteers >= 1, visits >= 0, fixed_requests >= 0; got {volunteers}, "
            f"{visits}, {fixed_requests}"
        )
    loaded = load_scenario(VISITS_SCENARIO)
    services = loaded.spec.services
    flexible = [name for name, s in services.items() if s.windows]
    fixed = [name for name, s in services.items() if not s.windows]
    overrides: list[tuple[str, Any]] = []
    for names, total, default in ((flexible, visits, None), (fixed, fixed_requests, 1)):
        weights = [services[n].count or default or 0 for n in names]
        shares = apportion(total, weights, [0] * len(names))
        overrides += [(f"services.{n}.count", k) for n, k in zip(names, shares, strict=True)]
    if mid_window:
        overrides.append(("options.visit_times", "mid-window"))
    return build(
        loaded.with_overrides(overrides), seed=seed, scale=1.0, volunteers=volunteers
    ).instance

"""The city week at any size: the catalog scenario `city-week` with its totals fixed.

`city_week(volunteers, requests, seed)` is `city-week` (scenarios/catalog/city-week.toml)
generated with exactly these numbers of volunteers and requests (sites scale with the number of
requests): volunteers round 22 partner universities (students), residential communities
(residents and certified caregivers) and the law firms of the high-tech zone (lawyers);
requests for smartphone tutoring, door-to-door bathing help, legal-aid duty, garbage-sorting
promotion, exam-day water delivery and visits to older people living alone. The service's demo
week, the benchmarks' city week and the tests use it; the generator is `scenarios.generate`.

Deterministic: the same (volunteers, requests, seed) always gives byte-identical JSON.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .generate import build
from .spec import load_scenario

__all__ = ["CST", "SCENARIO", "WEEK_START", "city_week"]

SCENARIO = "city-week"
_horizon = load_scenario(SCENARIO).spec.horizon
CST: timezone = _horizon.tz
WEEK_START = datetime(_horizon.start.year, _horizon.start.month, _horizon.start.day, tzinfo=CST)


def city_week(volunteers: int, requests: int, seed: int = 0) -> dict[str, Any]:
    """A city week with exactly the given numbers of volunteers and requests."""
    return build(
        load_scenario(SCENARIO), seed=seed, volunteers=volunteers, requests=requests
    ).instance

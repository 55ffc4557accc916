"""Fixtures of the scenario tests: a tiny scenario with shortages built in, solved in a blink."""

from __future__ import annotations

from pathlib import Path

import pytest

# Six certified helpers live round one point in the North district and travel 2 km. Requests:
# - visits next to their homes (always reachable);
# - visits 3.2 km east (beyond 2 km: a radius of 3.5 km would reach them);
# - visits in the South district, 11 km away (beyond any sensible widening: recruits needed).
TINY = """
title = "Tiny test scenario"
description = "Certified helpers in the North; visits near, east and far south."
seed = 7

[horizon]
start = 2026-03-02
days = 2

[options]
time_limit_s = 5

[[area.districts]]
name = "North"
lat = 34.30
lon = 108.94
radius_km = 1.0

[[area.districts]]
name = "South"
lat = 34.20
lon = 108.94
radius_km = 1.0

[sites.homes]
names = ["North homes"]
points = [[34.30, 108.94]]
spread_km = 0.2

[sites.near]
points = [[34.301, 108.941]]
spread_km = 0.1

[sites.east]
points = [[34.30, 108.975]]
spread_km = 0.05

[sites.south]
points = [[34.20, 108.94]]
spread_km = 0.1

[pools.helpers]
count = 6
home = "homes"
affiliation = "university"
skills = { care = 1.0 }
max_hours = 6
max_travel_km = 2
max_assignments = 3

[pools.helpers.availability]
days = 2
blocks = [{ start = "08:00", end = "18:00" }]

[services.near_visit]
count = 4
at = "near"
on = ["weekday"]
start_times = ["09:00", "14:00"]
duration_h = 1.0
priority = 2
required_skills = ["care"]

[services.east_visit]
count = 2
at = "east"
on = ["weekday"]
start_times = ["15:00"]
duration_h = 1.0
priority = 2
required_skills = ["care"]

[services.south_visit]
count = 3
at = "south"
on = ["weekday"]
start_times = ["10:00"]
duration_h = 1.0
headcount = 2
min_volunteers = 2
priority = 3
required_skills = ["care"]
"""


@pytest.fixture
def tiny_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path

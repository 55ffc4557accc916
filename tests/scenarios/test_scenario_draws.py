"""What the families need from scenario files: caps drawn from a table of values, ranges of
minimum headcounts, availability offered day by day, and busy days that change from week to
week; each validated with errors that name the key."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from scenarios.generate import build
from scenarios.spec import ScenarioError, load_scenario


def generate(tiny_path: Path, *overrides: tuple[str, Any], seed: int = 0) -> dict[str, Any]:
    return build(load_scenario(tiny_path, overrides), seed=seed).instance


def keys_of(tiny_path: Path, *overrides: tuple[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tiny_path, overrides)
    return [(p.key, p.message) for p in caught.value.problems]


def test_caps_drawn_from_a_table_of_values(tiny_path: Path) -> None:
    instance = generate(
        tiny_path,
        ("pools.helpers.count", 400),
        ("pools.helpers.max_hours", {"4": 0.25, "10": 0.75}),
        ("pools.helpers.max_assignments", {"1": 1.0, "3": 1.0}),
    )
    hours = Counter(v["max_hours"] for v in instance["volunteers"])
    assert set(hours) == {4, 10} and hours[10] > 2 * hours[4]
    assert {v["max_assignments"] for v in instance["volunteers"]} == {1, 3}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"4": -1.0, "6": 1.0}, "not be negative"),
        ({"0.2": 1.0}, "at least 0.5"),
        ({}, "at least one"),
    ],
)
def test_bad_tables_name_the_key(tiny_path: Path, value: dict[str, float], words: str) -> None:
    problems = keys_of(tiny_path, ("pools.helpers.max_hours", value))
    assert any(k == "pools.helpers.max_hours" and words in m for k, m in problems), problems


def test_min_volunteers_drawn_from_a_range_never_above_the_headcount(tiny_path: Path) -> None:
    instance = generate(
        tiny_path,
        ("services.south_visit.count", 200),
        ("services.south_visit.headcount", [2, 4]),
        ("services.south_visit.min_volunteers", [2, 4]),
    )
    south = [r for r in instance["requests"] if r["service_type"] == "south_visit"]
    assert {r["min_volunteers"] for r in south} == {2, 3, 4}
    assert all(r["min_volunteers"] <= r["volunteers_needed"] for r in south)
    problems = keys_of(tiny_path, ("services.south_visit.min_volunteers", [3, 4]))
    assert ("services.south_visit.min_volunteers", "exceeds the largest headcount") in problems


def test_a_fixed_minimum_leaves_the_other_draws_as_they_were(tiny_path: Path) -> None:
    """Varying minimums are drawn last: a scenario without them generates as before."""
    base = generate(tiny_path, ("services.south_visit.count", 30))
    varied = generate(
        tiny_path,
        ("services.south_visit.count", 30),
        ("services.south_visit.headcount", [2, 3]),
        ("services.south_visit.min_volunteers", [1, 2]),
    )
    strip = ("min_volunteers", "volunteers_needed")
    assert [{k: v for k, v in r.items() if k not in strip} for r in base["requests"]] == [
        {k: v for k, v in r.items() if k not in strip} for r in varied["requests"]
    ]


def test_availability_offered_day_by_day(tiny_path: Path) -> None:
    instance = generate(
        tiny_path,
        ("pools.helpers.count", 300),
        ("pools.helpers.availability", {
            "chance": {"weekday": 0.5},
            "blocks": [{"start": "08:00", "end": "12:00"}],
        }),
    )  # fmt: skip
    days = Counter(len(v["availability"]) for v in instance["volunteers"])
    assert set(days) <= {0, 1, 2} and days[0] > 30 and days[2] > 30  # the horizon: Mon and Tue
    problems = keys_of(
        tiny_path,
        ("pools.helpers.availability.chance", {"weekday": 0.5}),
        ("pools.helpers.availability.day_weights", {"weekday": 1.0}),
    )
    keys = {k for k, _ in problems}
    assert keys == {"pools.helpers.availability", "pools.helpers.availability.day_weights"}


def busiest_day_share(requests: list[dict[str, Any]]) -> float:
    days = Counter(datetime.fromisoformat(r["start"]).date() for r in requests)
    return max(days.values()) / len(requests)


def test_busy_days_change_from_week_to_week(tmp_path: Path, tiny_path: Path) -> None:
    text = tiny_path.read_text(encoding="utf-8").replace("days = 2\n", "days = 7\n", 1)
    path = tmp_path / "week.toml"
    path.write_text(text, encoding="utf-8")
    overrides = [
        ("services.near_visit.count", 400),
        ("services.near_visit.on", ["weekday", "weekend"]),
    ]
    even = [busiest_day_share(generate(path, *overrides, seed=s)["requests"]) for s in range(4)]
    overrides.append(("services.near_visit.day_concentration", 0.3))
    weeks = [generate(path, *overrides, seed=s)["requests"] for s in range(4)]
    peaked = [busiest_day_share(w) for w in weeks]
    assert max(even) < 0.25 and min(peaked) > 0.35
    busiest = {Counter(datetime.fromisoformat(r["start"]).date() for r in w).most_common(1)[0][0]
               for w in weeks}  # fmt: skip
    assert len(busiest) > 1  # another week, other busy days
    problems = keys_of(path, ("services.south_visit.pattern", "roster"),
                       ("services.south_visit.count", None),
                       ("services.south_visit.day_concentration", 1.0))  # fmt: skip
    assert any(k == "services.south_visit.day_concentration" for k, _ in problems), problems

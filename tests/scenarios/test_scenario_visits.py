"""Flexible home visits in scenarios: windows in scenario files, the city week of visits at any
size, the same week with fixed mid-window slots, and the KPIs that compare them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from matcher import parse_instance, solve
from scenarios.cityweek import VISITS_SCENARIO, visits_week
from scenarios.generate import build, dumps
from scenarios.kpis import compute_kpis
from scenarios.report import write_sweep_report
from scenarios.runner import sweep
from scenarios.slots import mid_window_slot, mid_window_slots
from scenarios.spec import ScenarioError, clock_minutes, load_scenario

FLEXIBLE_KEYS = {"earliest_start", "latest_end", "duration"}


def _flexible(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if "duration" in r]


def test_visits_week_has_exactly_the_sizes_asked_and_is_valid_v1_1() -> None:
    week = visits_week(400, 60, seed=3)
    assert len(week["volunteers"]) == 400 and len(week["requests"]) == 60
    assert len(_flexible(week["requests"])) == 60
    parse_instance(week)
    mixed = visits_week(400, 60, seed=3, fixed_requests=25)
    assert len(mixed["requests"]) == 85 and len(_flexible(mixed["requests"])) == 60
    assert {r["service_type"] for r in mixed["requests"] if "start" in r} == {
        "garbage_sorting_promotion",
        "health_talk",
    }
    parse_instance(mixed)
    fixed = visits_week(400, 60, seed=3, mid_window=True)
    assert not _flexible(fixed["requests"]) and len(fixed["requests"]) == 60
    parse_instance(fixed)
    with pytest.raises(ValueError, match="visits >= 0"):
        visits_week(400, -1)


def test_windows_come_from_the_scenario_and_hold_their_duration() -> None:
    spec = load_scenario(VISITS_SCENARIO).spec
    week = visits_week(500, 120, seed=1)
    kinds = spec.horizon.kind_of
    for r in week["requests"]:
        service = spec.services[r["service_type"]]
        first = datetime.fromisoformat(r["earliest_start"])
        last = datetime.fromisoformat(r["latest_end"])
        assert r["earliest_start"].endswith("+08:00") and first.date() == last.date()
        window = (first.hour * 60 + first.minute, last.hour * 60 + last.minute)
        assert window in {(clock_minutes(w.start), clock_minutes(w.end)) for w in service.windows}
        assert 0 < r["duration"] <= (last - first).total_seconds() / 60
        assert r["duration"] == service.duration_h[0] * 60
        assert kinds(first.date()) in service.on
    holiday = [r for r in week["requests"] if r["service_type"] == "holiday_visit"]
    assert holiday and all(r["earliest_start"].startswith("2026-09-25") for r in holiday)
    bathing = [r for r in week["requests"] if r["service_type"] == "bathing_assistance"]
    assert all(r["volunteers_needed"] == 2 and r["attributes"]["gender"] for r in bathing)


def test_mid_window_slots_are_the_same_week_centred_in_each_window() -> None:
    flexible = visits_week(300, 80, seed=2)
    fixed = visits_week(300, 80, seed=2, mid_window=True)
    assert fixed["volunteers"] == flexible["volunteers"]
    assert fixed["options"] == flexible["options"]
    for f, x in zip(fixed["requests"], flexible["requests"], strict=True):
        assert f["id"] == x["id"]
        assert {k: v for k, v in f.items() if k not in ("start", "end")} == {
            k: v for k, v in x.items() if k not in FLEXIBLE_KEYS
        }
        first, last = (datetime.fromisoformat(x[k]) for k in ("earliest_start", "latest_end"))
        start, end = (datetime.fromisoformat(f[k]) for k in ("start", "end"))
        assert first <= start and end <= last
        assert end - start == timedelta(minutes=x["duration"])
        assert abs((start - first) - (last - end)) <= timedelta(minutes=1)
        assert list(f)[:5] == ["id", "service_type", "location", "start", "end"]
    assert mid_window_slots(fixed) == fixed  # nothing flexible left: unchanged


def test_mid_window_slot_rounds_down_to_the_minute_and_refuses_a_short_window() -> None:
    assert mid_window_slot("2026-09-21T09:00:00+08:00", "2026-09-21T12:00:00+08:00", 90) == (
        "2026-09-21T09:45:00+08:00",
        "2026-09-21T11:15:00+08:00",
    )
    assert mid_window_slot("2026-09-21T09:00:00+08:00", "2026-09-21T10:01:00+08:00", 60)[0] == (
        "2026-09-21T09:00:00+08:00"
    )
    with pytest.raises(ValueError, match="longer than the window"):
        mid_window_slot("2026-09-21T09:00:00+08:00", "2026-09-21T10:00:00+08:00", 61)


def test_visits_week_is_deterministic_per_seed() -> None:
    first = dumps(visits_week(300, 50, seed=7, fixed_requests=10))
    assert dumps(visits_week(300, 50, seed=7, fixed_requests=10)) == first
    assert dumps(visits_week(300, 50, seed=8, fixed_requests=10)) != first


def test_fixed_requests_and_volunteers_are_the_same_in_both_variants() -> None:
    """visit_times touches only the windowed services: clinic escorts and people stay."""
    loaded = load_scenario("elderly-bathing")
    flexible = build(loaded.with_overrides([("variant", "flexible")]), scale=0.1).instance
    fixed = build(loaded.with_overrides([("variant", "fixed-mid-window")]), scale=0.1).instance
    assert flexible["volunteers"] == fixed["volunteers"]
    escorts = [r for r in flexible["requests"] if r["service_type"] == "clinic_escort"]
    assert escorts and escorts == [
        r for r in fixed["requests"] if r["service_type"] == "clinic_escort"
    ]
    assert {r["service_type"] for r in _flexible(flexible["requests"])} == {
        "bathing_assistance",
        "home_cleaning",
    }
    assert not _flexible(fixed["requests"])


WINDOWED = """
[services.pair_visit]
count = 30
at = "near"
on = ["weekday"]
windows = [{ start = "09:00", end = "12:00", weight = 2 }, { start = "14:00", end = "16:00" }]
duration_h = 1.5
headcount = [1, 2]
same_attributes = ["gender"]
required_skills = ["care"]
"""


def test_windows_and_team_attributes_in_a_scenario_file(tmp_path: Path, tiny_path: Path) -> None:
    path = tmp_path / "windowed.toml"
    path.write_text(tiny_path.read_text(encoding="utf-8") + WINDOWED, encoding="utf-8")
    data = build(load_scenario(path)).instance
    pairs = [r for r in data["requests"] if r["service_type"] == "pair_visit"]
    assert len(pairs) == 30 and all(r["duration"] == 90 for r in pairs)
    assert {r["earliest_start"][11:16] for r in pairs} == {"09:00", "14:00"}
    # A team shares the gender; a lone helper has nobody to match.
    assert {r["volunteers_needed"] for r in pairs} == {1, 2}
    assert all(("same_attributes" in r) == (r["volunteers_needed"] == 2) for r in pairs)
    assert all(r["same_attributes"] == ["gender"] for r in pairs if "same_attributes" in r)
    parse_instance(data)


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        (
            'windows = [{ start = "09:00", end = "12:00", weight = 2 }, { start = "14:00", end = "16:00" }]',
            'windows = [{ start = "09:00", end = "10:00" }]',
            "services.pair_visit.windows.0",
            "shorter than the longest duration (1.5 h)",
        ),
        (
            "duration_h = 1.5\n",
            'duration_h = 1.5\nstart_times = ["09:00"]\n',
            "services.pair_visit",
            "exactly one of start_times",
        ),
        (
            "duration_h = 1.5\n",
            "duration_h = 1.5\nstart_weights = [1.0]\n",
            "services.pair_visit.start_weights",
            "not used with windows",
        ),
        (
            "headcount = [1, 2]",
            "headcount = 1",
            "services.pair_visit.same_attributes",
            "headcount of 2 or more",
        ),
        (
            'end = "16:00"',
            'end = "4pm"',
            "services.pair_visit.windows.1.end",
            "clock time",
        ),
    ],
)
def test_bad_windows_name_the_key(
    tmp_path: Path, tiny_path: Path, old: str, new: str, key: str, words: str
) -> None:
    text = (tiny_path.read_text(encoding="utf-8") + WINDOWED).replace(old, new)
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    problems = [(p.key, p.message) for p in caught.value.problems]
    assert any(k == key and words in m for k, m in problems), problems


def test_a_service_needs_start_times_or_windows(tmp_path: Path, tiny_path: Path) -> None:
    text = tiny_path.read_text(encoding="utf-8").replace('start_times = ["15:00"]\n', "")
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"services\.east_visit: give exactly one of"):
        load_scenario(path)


def test_fully_staffed_and_by_day_kpis(tiny_path: Path) -> None:
    instance = parse_instance(build(load_scenario(tiny_path)).instance)
    plan = solve(instance, time_limit_s=2)
    kpis = compute_kpis(instance, plan)
    assigned = {r.id: 0 for r in instance.requests}
    for a in plan.assignments:
        assigned[a.request_id] += 1
    full = [r for r in instance.requests if assigned[r.id] == r.volunteers_needed]
    # The south visits (two helpers each, 11 km away) cannot be staffed: not fully staffed.
    assert 0 < kpis.requests_fully_staffed == len(full) < len(instance.requests)
    days = kpis.by_day
    assert set(days) <= {"2026-03-02", "2026-03-03"} and list(days) == sorted(days)
    assert sum(d["requests"] for d in days.values()) == len(instance.requests)
    assert sum(d["fully_staffed"] for d in days.values()) == kpis.requests_fully_staffed
    assert sum(d["travel_km"] for d in days.values()) == pytest.approx(kpis.travel_km_total)
    for day, d in days.items():
        slots = sum(r.volunteers_needed for r in instance.requests if str(r.start)[:10] == day)
        filled = sum(assigned[r.id] for r in instance.requests if str(r.start)[:10] == day)
        assert d["slot_fill_rate"] == pytest.approx(filled / slots)


def test_elderly_bathing_sweep_compares_the_variants_day_by_day(tmp_path: Path) -> None:
    result = sweep(
        load_scenario("elderly-bathing"),
        [("variant", ["fixed-mid-window", "flexible"])],
        scale=0.05,
        time_limit_s=2,
    )
    assert [row.values for row in result.rows] == [("fixed-mid-window",), ("flexible",)]
    assert all(row.kpis.requests_fully_staffed > 0 for row in result.rows)
    write_sweep_report(result, tmp_path)
    text = (tmp_path / "sweep.md").read_text(encoding="utf-8")
    assert "### 按日结果 / By day" in text and "全员到位 fully staffed" in text
    assert "requests fully staffed" in text and "travel total (km)" in text
    for variant in ("fixed-mid-window", "flexible"):
        assert f"| variant={variant} | optimal | 2026-03-02 |" in text
    assert "v-0" not in text  # no volunteer named

"""benchmarks/visits.py: end to end on a tiny week, and the row's arithmetic on made-up runs."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmarks import visits
from benchmarks.visits_cpsat import cpsat_visits
from matcher import Instance, Plan, check_plan, parse_instance


def test_both_weeks_solved_checked_and_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--volunteers", "300", "--visits", "40", "--fixed-requests", "10", "--seeds", "0",
            "--repeats", "2", "--time-limit", "2", "--peer-week", "300/40", "--peer-limit", "10",
            "--out", str(out)]  # fmt: skip
    assert visits.main(args) == 0
    saved = json.loads((out / "visits.json").read_text(encoding="utf-8"))
    [week] = saved["weeks"]
    assert set(week["runs"]) == {"fixed", "flexible"}
    assert all(len(runs) == 2 for runs in week["runs"].values())
    row = week["row"]
    assert row["checked"] == "ok" and row["target"] in ("met", "NOT met")
    assert row["visits"] == 40 and row["runs"] == 2
    for name in ("fixed", "flexible"):
        assert 0 < row[f"fully staffed {name}"] <= 50
        assert row[f"travel km {name}"] > 0
    markdown = (out / "visits.md").read_text(encoding="utf-8")
    assert "Flexible home visits against fixed mid-window slots" in markdown
    assert "## By day, seed 0" in markdown and "python -m benchmarks.visits" in markdown
    assert (out / "visits.csv").is_file()
    [peer] = saved["peer"]
    assert peer["cp-sat checked"] == "ok" and peer["engine checked"] == "ok"
    assert peer["cp-sat coverage"] <= peer["cp-sat bound"]
    assert peer["engine coverage"] <= peer["cp-sat bound"]  # the peer's bound holds the engine
    assert "## CP-SAT peer" in markdown


def _two_visits(*, fixed: bool) -> Instance:
    """One helper free 9:00-12:00 and two one-hour visits 1.1 km apart, windows 9:00-12:00 (or
    both fixed at 10:00-11:00)."""
    day = "2026-09-21T{}:00+08:00"
    times = (
        {"start": day.format("10:00"), "end": day.format("11:00")}
        if fixed
        else {"earliest_start": day.format("09:00"), "latest_end": day.format("12:00"),
              "duration": 60}
    )  # fmt: skip
    return parse_instance(
        {
            "volunteers": [
                {"id": "v1", "location": {"lat": 34.25, "lon": 108.94},
                 "availability": [{"start": day.format("09:00"), "end": day.format("12:00")}]}
            ],
            "requests": [
                {"id": f"r{i}", "service_type": "visit", "location": {"lat": lat, "lon": 108.94},
                 **times}
                for i, lat in ((1, 34.25), (2, 34.26))
            ],
            "options": {"travel_speed_kmh": 15},
        }
    )  # fmt: skip


def test_cpsat_peer_sequences_a_helpers_visits_with_travel() -> None:
    flexible = _two_visits(fixed=False)
    answer = cpsat_visits(flexible, 10)
    assert answer["status"] == "optimal" and answer["coverage"] == answer["bound"] == 2
    plan = Plan.model_validate(
        {"status": "feasible", "assignments": answer["assignments"],
         "objective": {"coverage": 2, "travel_km": 0.0}}
    )  # fmt: skip
    report = check_plan(flexible, plan)
    assert report.ok, report.violations
    first, second = sorted(plan.assignments, key=lambda a: str(a.start))
    assert first.end is not None and second.start is not None
    assert second.start - first.end >= timedelta(minutes=5)  # 1.1 km at 15 km/h: 4.4 minutes
    # Legs from the previous stop: the second visit's from the first (travel is not optimized).
    assert second.distance_km == pytest.approx(1.112, abs=0.01)
    assert report.travel_km == pytest.approx(first.distance_km + second.distance_km)
    fixed = cpsat_visits(_two_visits(fixed=True), 10)
    assert fixed["coverage"] == fixed["bound"] == 1  # at the same hour one helper does one


def run(fully: int, travel: float, *, violations: int = 0) -> dict[str, Any]:
    return {"status": "feasible", "coverage": 4 * fully, "bound": 500, "fully_staffed": fully,
            "slots_filled": 2 * fully, "travel_km": travel, "volunteers_used": fully,
            "solve_seconds": 30.0, "violations": violations,
            "first_violation": "rule 4: overlap" if violations else None}  # fmt: skip


def test_target_needs_as_many_visits_less_travel_and_clean_plans() -> None:
    fixed = [run(90, 100.0), run(92, 101.0), run(91, 99.0)]
    met = visits.seed_row(0, 500, 100, {"fixed": fixed, "flexible": [run(91, 90.0)] * 3})
    assert met["target"] == "met" and met["Δ fully staffed"] == 0
    assert met["travel ratio"] == 0.9 and met["checked"] == "ok"
    assert met["km per slot fixed"] == 101.0 / 184  # the median run of the three
    more_travel = visits.seed_row(0, 500, 100, {"fixed": fixed, "flexible": [run(95, 100.0)] * 3})
    assert more_travel["target"] == "NOT met" and more_travel["Δ fully staffed"] == 4
    fewer = visits.seed_row(0, 500, 100, {"fixed": fixed, "flexible": [run(90, 50.0)] * 3})
    assert fewer["target"] == "NOT met"
    broken = visits.seed_row(
        0, 500, 100, {"fixed": fixed, "flexible": [run(95, 50.0, violations=2)] * 3}
    )
    assert broken["target"] == "NOT met"
    assert broken["checked"].startswith("3 plans broke rules, e.g. rule 4")

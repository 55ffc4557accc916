"""benchmarks/visits.py: end to end on a tiny week, and the row's arithmetic on made-up runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks import visits


def test_both_weeks_solved_checked_and_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--volunteers", "300", "--visits", "40", "--fixed-requests", "10", "--seeds", "0",
            "--repeats", "2", "--time-limit", "2", "--out", str(out)]  # fmt: skip
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

"""KPIs on a hand-checked tiny plan: every value below was worked out by hand."""

from __future__ import annotations

import pytest

from matcher import Plan, parse_instance
from scenarios.kpis import compute_kpis, gini, percentile

T = "2026-03-02T{}:00+08:00"

INSTANCE = {
    "volunteers": [
        {"id": "v1", "location": {"lat": 34.0, "lon": 108.0}, "attributes": {"university": "A"}},
        {"id": "v2", "location": {"lat": 34.0, "lon": 108.0}, "attributes": {"university": "B"}},
        {"id": "v3", "location": {"lat": 34.0, "lon": 108.0}},
    ],
    "requests": [
        # visit: priority 3, 2 slots, 2 h
        {"id": "r1", "service_type": "visit", "location": {"lat": 34.0, "lon": 108.0},
         "start": T.format("09:00"), "end": T.format("11:00"), "volunteers_needed": 2, "priority": 3},
        # tutor: priority 1, 1 slot, 1.5 h
        {"id": "r2", "service_type": "tutor", "location": {"lat": 34.0, "lon": 108.0},
         "start": T.format("12:00"), "end": T.format("13:30"), "priority": 1},
        # visit: priority 3, 1 slot, mandatory, left unfilled
        {"id": "r3", "service_type": "visit", "location": {"lat": 34.0, "lon": 108.0},
         "start": T.format("15:00"), "end": T.format("16:00"), "priority": 3, "mandatory": True},
    ],
}  # fmt: skip

PLAN = {
    "status": "infeasible",
    "assignments": [
        {"volunteer_id": "v1", "request_id": "r1", "distance_km": 1.0},
        {"volunteer_id": "v2", "request_id": "r1", "distance_km": 2.0},
        {"volunteer_id": "v1", "request_id": "r2", "distance_km": 4.0},
    ],
    "unfilled": [
        {
            "request_id": "r3",
            "missing": 1,
            "codes": ["no_candidate", "not_chosen"],
            "reasons": ["-", "-"],
        }
    ],
    "objective": {"coverage": 7, "travel_km": 7.0},
    "bound": {"coverage": 9},
    "stats": {"solve_seconds": 0.25},
}


def test_kpis_equal_the_hand_values() -> None:
    k = compute_kpis(parse_instance(INSTANCE), Plan.model_validate(PLAN))
    assert k.slots_needed == 4 and k.slots_filled == 3
    assert k.slot_fill_rate == pytest.approx(3 / 4)
    assert k.coverage == 7 and k.coverage_max == 10  # 3*2 + 1*1 + 3*1
    assert k.priority_weighted_coverage == pytest.approx(0.7)
    assert k.bound == 9
    assert k.fill_rate_by_priority == pytest.approx({"1": 1.0, "3": 2 / 3})
    assert list(k.fill_rate_by_priority) == ["1", "3"]
    assert k.fill_rate_by_service == pytest.approx({"visit": 2 / 3, "tutor": 1.0})
    assert k.travel_km_mean == pytest.approx(7 / 3)
    assert k.travel_km_p95 == pytest.approx(3.8)  # 2 + 0.9 * (4 - 2)
    assert k.travel_km_total == pytest.approx(7.0)
    assert k.volunteers_used == 2 and k.volunteers_registered == 3
    assert k.hours_served == pytest.approx(5.5)  # v1: 2 + 1.5, v2: 2
    assert k.hours_gini == pytest.approx(3 / 22)  # |3.5 - 2| * 2 / (2 * 2^2 * 2.75)
    assert k.share_by_affiliation == {"university": pytest.approx({"A": 2 / 3, "B": 1 / 3})}
    assert k.unfilled_by_reason == {"no_candidate": 1}  # the main (first) code only
    assert k.unfilled_requests == 1 and k.unfilled_slots == 1
    assert k.mandatory_unstaffed == 1
    assert k.status == "infeasible" and k.solve_seconds == 0.25


def test_gini_and_percentile_edge_cases() -> None:
    assert gini([]) == 0.0
    assert gini([0.0, 0.0]) == 0.0
    assert gini([4.0, 4.0, 4.0]) == pytest.approx(0.0)
    assert gini([0.0, 0.0, 0.0, 8.0]) == pytest.approx(0.75)  # one of four does everything
    assert percentile([], 95) == 0.0
    assert percentile([5.0], 95) == 5.0

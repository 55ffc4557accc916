"""A repair changes little: a budget of changes (`max_changes`, the center's
`repair_max_changes` by default, 3), a price on each change so that nobody is moved for travel
alone, and the run's report of what more changes would buy; a budget no plan can keep fails the
run with what it would take."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, assert_error
from tests.api.data import at, request, volunteer
from tests.api.test_assignments import assignments, published


def decline(api: Api, uni: dict[str, str], assignment: dict[str, Any]) -> None:
    r = api.client.post(
        f"/v1/assignments/{assignment['id']}/decline", json={"reason": "exam"}, headers=uni
    )
    assert r.status_code == 200, r.text


def repaired(api: Api, center: dict[str, str], run_id: int, **body: Any) -> dict[str, Any]:
    r = api.client.post(
        f"/v1/match-runs/{run_id}/repair", json={"time_limit_s": 2, **body}, headers=center
    )
    assert r.status_code == 202, r.text
    api.solve_queued()
    return api.client.get(f"/v1/match-runs/{r.json()['id']}", headers=center).json()  # type: ignore[no-any-return]


@pytest.mark.database_independent
def test_a_budget_of_no_change_keeps_the_plan_and_says_one_change_would_fill_the_hole(
    api: Api,
) -> None:
    _, uni = api.org("university")
    _, center = api.org("center")
    api.client.post(
        "/v1/volunteers/import", json=[volunteer(f"S{i:04d}") for i in range(3)], headers=uni
    )
    api.client.post(
        "/v1/requests",
        json=[request("A", start=at("09:00"), end=at("10:00")), request("B")],
        headers=center,
    )
    first = published(api, center)
    held = assignments(api, center)
    decline(api, uni, held[0])
    run = repaired(api, center, first["run"]["id"], max_changes=0)
    assert run["status"] == "succeeded" and run["max_changes"] == 0
    changes = run["changes"]
    assert (changes["kept"], changes["added"], changes["removed"]) == (1, 0, 0)
    assert changes["max_changes"] == 0
    assert changes["more"]["changes"] == 1 and changes["more"]["coverage_gain"] == 1
    assert changes["more"]["filled_gain"] == 1 and changes["more"]["proven"] is True
    plan = api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center).json()
    (hole,) = plan["unfilled"]
    assert hole["request_id"] == held[0]["request"]["id"] and "max_changes" in hole["codes"]
    # the same repair with the default budget fills it
    again = repaired(api, center, first["run"]["id"])
    assert again["max_changes"] == 3 and again["changes"]["added"] == 1
    assert again["changes"]["more"]["coverage_gain"] == 0


@pytest.mark.database_independent
def test_a_repair_moves_nobody_to_save_travel(api: Api) -> None:
    """Two volunteers near the requests join after publication: a free re-solve would move the
    far one (within 3 changes: drop it, add one, and fill the declined place); the repair's
    price on changes keeps it, and says what the move would save."""
    _, uni = api.org("university")
    _, center = api.org("center")
    far = {"lat": 34.25 + 0.05, "lon": 108.94}  # about 5.5 km north of the requests
    api.client.post(
        "/v1/volunteers/import",
        json=[volunteer("S0001", location=far), volunteer("S0002")],
        headers=uni,
    )
    api.client.post("/v1/requests", json=[request("A"), request("B")], headers=center)
    first = published(api, center)
    by_name = {a["volunteer_id"]: a for a in assignments(api, center)}
    assert len(by_name) == 2
    api.client.post(
        "/v1/volunteers/import", json=[volunteer("S0003"), volunteer("S0004")], headers=uni
    )
    near = min(by_name, key=lambda v: by_name[v]["distance_km"])
    decline(api, uni, by_name[near])
    run = repaired(api, center, first["run"]["id"], max_changes=3)
    assert (run["changes"]["kept"], run["changes"]["added"], run["changes"]["removed"]) == (1, 1, 0)
    plan = api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center).json()
    far_id = next(v for v in by_name if v != near)
    assert far_id in {a["volunteer_id"] for a in plan["assignments"]}  # kept where it was
    more = run["changes"]["more"]
    assert more["coverage_gain"] == 0 and more["changes"] == 1  # travel alone buys no move


@pytest.mark.database_independent
def test_a_budget_no_plan_can_keep_fails_the_run_with_what_it_would_take(api: Api) -> None:
    """One decline on a request of two that needs both: the remaining volunteer alone breaks
    its minimum, so some change is needed."""
    _, uni = api.org("university")
    _, center = api.org("center")
    api.client.post(
        "/v1/volunteers/import", json=[volunteer(f"S{i:04d}") for i in range(3)], headers=uni
    )
    api.client.post(
        "/v1/requests",
        json=[request("pair", volunteers_needed=2, min_volunteers=2)],
        headers=center,
    )
    first = published(api, center)
    decline(api, uni, assignments(api, center)[0])
    run = repaired(api, center, first["run"]["id"], max_changes=0)
    assert run["status"] == "failed"
    assert "max_changes=0" in run["error"] and "max_changes=1 or more" in run["error"]
    assert repaired(api, center, first["run"]["id"], max_changes=1)["status"] == "succeeded"


@pytest.mark.database_independent
def test_the_centers_setting_is_the_default_and_a_repair_may_ask_for_another(api: Api) -> None:
    center_id, center = api.org("center")
    r = api.client.patch(
        f"/v1/organizations/{center_id}/settings", json={"repair_max_changes": 7}, headers=center
    )
    assert r.status_code == 200 and r.json()["repair_max_changes"] == 7
    _, uni = api.org("university")
    api.client.post(
        "/v1/volunteers/import", json=[volunteer(f"S{i:04d}") for i in range(2)], headers=uni
    )
    api.client.post("/v1/requests", json=[request("A")], headers=center)
    first = published(api, center)
    assert repaired(api, center, first["run"]["id"])["max_changes"] == 7
    assert repaired(api, center, first["run"]["id"], max_changes=2)["max_changes"] == 2
    body = assert_error(
        api.client.post(
            f"/v1/match-runs/{first['run']['id']}/repair", json={"max_changes": -1}, headers=center
        ),
        422,
    )
    assert "max_changes" in str(body)

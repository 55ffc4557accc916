"""A center's rules for its runs, set in its settings: partner universities' quotas (hard or
soft, of assignments or hours; the plan says what each partner got), and preferring volunteers
with fewer hours served this year (the fairness term counts them)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, assert_error
from tests.api.data import at, request, volunteer
from tests.api.test_assignments import published
from tests.api.test_match_runs import queue

FAR = {"lat": 34.25 + 0.03, "lon": 108.94}  # about 3.3 km north of the requests


def set_rules(api: Api, org_id: int, headers: dict[str, str], **rules: Any) -> Any:
    return api.client.patch(f"/v1/organizations/{org_id}/settings", json=rules, headers=headers)


def plan_of(api: Api, center: dict[str, str]) -> dict[str, Any]:
    run = queue(api, center)
    api.solve_queued()
    r = api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def two_partners(api: Api) -> tuple[int, dict[str, str], int, int, set[int]]:
    """Two universities: the first's volunteers live by the requests, the second's 3 km
    away; three requests at the same time. The center, its id, both universities and the
    second's volunteers."""
    near_id, near = api.org("university")
    far_id, far = api.org("university")
    center_id, center = api.org("center")
    api.client.post(
        "/v1/volunteers/import", json=[volunteer(f"N{i:04d}") for i in range(3)], headers=near
    )
    imported = api.client.post(
        "/v1/volunteers/import",
        json=[volunteer(f"F{i:04d}", location=FAR) for i in range(3)],
        headers=far,
    ).json()["volunteers"]
    api.client.post("/v1/requests", json=[request(f"R{j}") for j in range(3)], headers=center)
    return center_id, center, near_id, far_id, {v["id"] for v in imported}


@pytest.mark.database_independent
def test_a_hard_minimum_share_gives_a_partner_its_places(api: Api) -> None:
    center_id, center, _, far_id, far_volunteers = two_partners(api)
    before = plan_of(api, center)
    assert not {a["volunteer_id"] for a in before["assignments"]} & far_volunteers
    assert before["quotas"] == []
    r = set_rules(api, center_id, center, quotas=[{"organization_id": far_id, "min_share": 0.6}])
    assert r.status_code == 200, r.text
    assert r.json()["quotas"][0] == {
        "organization_id": far_id, "min_share": 0.6, "max_share": None, "of": "assignments",
        "hard": True, "weight": 1.0,
    }  # fmt: skip
    after = plan_of(api, center)
    assert after["objective"]["coverage"] == 3
    assert len({a["volunteer_id"] for a in after["assignments"]} & far_volunteers) == 2
    (quota,) = after["quotas"]
    assert quota["organization_id"] == far_id and quota["met"] and quota["amount"] == 2
    assert abs(quota["share"] - 2 / 3) < 1e-6


@pytest.mark.database_independent
def test_a_soft_quota_breaks_ties_only_and_a_maximum_holds_a_partner_back(api: Api) -> None:
    center_id, center, near_id, far_id, far_volunteers = two_partners(api)
    soft = {"organization_id": far_id, "min_share": 0.6, "hard": False, "weight": 5}
    set_rules(api, center_id, center, quotas=[soft])
    plan = plan_of(api, center)  # travel ranks above the soft score: nobody far is chosen
    assert not {a["volunteer_id"] for a in plan["assignments"]} & far_volunteers
    (quota,) = plan["quotas"]
    assert not quota["met"] and plan["objective"]["quota_shortfall"] > 0
    cap = {"organization_id": near_id, "max_share": 0.34}
    set_rules(api, center_id, center, quotas=[cap])
    plan = plan_of(api, center)
    assert len({a["volunteer_id"] for a in plan["assignments"]} & far_volunteers) == 2
    assert plan["quotas"][0]["met"] and plan["quotas"][0]["amount"] == 1


@pytest.mark.database_independent
def test_quota_settings_are_checked_and_belong_to_centers(api: Api) -> None:
    center_id, center = api.org("center")
    uni_id, uni = api.org("university")
    other_center_id, _ = api.org("center")
    not_a_partner = [{"organization_id": other_center_id, "min_share": 0.1}]
    body = assert_error(set_rules(api, center_id, center, quotas=not_a_partner), 422)
    assert body["fields"][0]["loc"] == ["body", "quotas", 0, "organization_id"]
    both = [{"organization_id": uni_id, "min_share": 0.1, "max_share": 0.5}]
    assert_error(set_rules(api, center_id, center, quotas=both), 422)
    assert_error(set_rules(api, center_id, center, quotas=[{"organization_id": uni_id}]), 422)
    assert_error(
        set_rules(api, center_id, center, quotas=[{"organization_id": uni_id, "min_share": 2}]),
        422,
    )
    body = assert_error(
        set_rules(api, uni_id, uni, quotas=[{"organization_id": uni_id, "min_share": 0.1}]), 422
    )
    assert "not a setting of a university" in str(body)
    assert_error(set_rules(api, center_id, center, quotas=None), 422)
    stored = api.client.get(f"/v1/organizations/{center_id}/settings", headers=center).json()
    assert stored["quotas"] == [] and stored["prefer_behind_target"] is False


def test_runs_prefer_volunteers_with_fewer_hours_this_year_where_the_center_says_so(
    api: Api,
) -> None:
    """Two volunteers at the same place: one served 6 h in February. A March request goes to
    the lower id without the rule, to the one with fewer hours with it."""
    _, uni = api.org("university")
    center_id, center = api.org("center")
    feb = "2026-02-10"
    week = {"start": f"{feb}T00:00:00+08:00", "end": "2026-02-11T00:00:00+08:00"}
    both_days = [
        {"start": at("08:00", feb), "end": at("20:00", feb)},
        {"start": at("08:00"), "end": at("20:00")},
    ]
    vols = api.client.post(
        "/v1/volunteers/import",
        json=[volunteer(f"S{i:04d}", availability=both_days) for i in range(2)],
        headers=uni,
    ).json()["volunteers"]
    first, second = sorted(v["id"] for v in vols)
    api.client.post(
        "/v1/requests",
        json=[request("February", start=at("10:00", feb), end=at("16:00", feb))],
        headers=center,
    )
    february = published(api, center, window=week)
    (link,) = february["links"]
    assert link["volunteer_id"] == first
    api.client.post(f"/v1/assignment-links/{link['token']}/confirm")
    aid = link["assignment_id"]
    api.client.post(f"/v1/assignments/{aid}/check-in", headers=center)
    done = api.client.post(f"/v1/assignments/{aid}/complete", json={}, headers=center).json()
    assert done["hours_served"] == 6.0
    api.client.post("/v1/requests", json=[request("March")], headers=center)

    def chosen() -> int:
        (a,) = plan_of(api, center)["assignments"]
        return int(a["volunteer_id"])

    assert chosen() == first
    r = set_rules(api, center_id, center, prefer_behind_target=True)
    assert r.status_code == 200 and r.json()["prefer_behind_target"] is True
    assert chosen() == second

"""Publishing plans and the assignment lifecycle: confirm, decline, check-in, complete, cancel,
link tokens, who sees contact data, repair runs, and commitments across runs and centers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, assert_error
from tests.api.data import WINDOW, at, request, volunteer
from tests.api.test_match_runs import queue, setup_week


def published(api: Api, center: dict[str, str], **run: Any) -> dict[str, Any]:
    created = queue(api, center, **run)
    api.solve_queued()
    r = api.client.post(f"/v1/match-runs/{created['id']}/publish", headers=center)
    assert r.status_code == 200, r.text
    return {"run": created, **r.json()}


def assignments(api: Api, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    return api.client.get("/v1/assignments", params=params, headers=headers).json()["items"]  # type: ignore[no-any-return]


def test_publish_creates_proposed_assignments_once(api: Api) -> None:
    _, center, _, rids = setup_week(api)
    result = published(api, center)
    assert result["created"] == 2 and result["kept"] == 0 and result["cancelled"] == 0
    assert len(result["links"]) == 2 and all(link["token"] for link in result["links"])
    listed = assignments(api, center)
    assert {a["status"] for a in listed} == {"proposed"}
    assert {a["request"]["id"] for a in listed} == set(rids)
    statuses = {r["status"] for r in api.client.get("/v1/requests", headers=center).json()["items"]}
    assert statuses == {"filled"}
    assert_error(
        api.client.post(f"/v1/match-runs/{result['run']['id']}/publish", headers=center), 409
    )
    assert len(assignments(api, center)) == 2


@pytest.mark.database_independent
def test_who_sees_contact_data(api: Api) -> None:
    uni, center, _, _ = setup_week(api, volunteers=2, requests=1)
    _, other_uni = api.org("university")
    _, other_center = api.org("center")
    published(api, center)
    (as_center,) = assignments(api, center)
    assert as_center["contact"]["name"].startswith("Name S") and as_center["contact"]["phone"]
    (as_uni,) = assignments(api, uni)
    assert as_uni["contact"] is not None
    assert assignments(api, other_uni) == [] and assignments(api, other_center) == []
    assert_error(api.client.get(f"/v1/assignments/{as_center['id']}", headers=other_center), 404)
    (as_admin,) = assignments(api, api.admin)
    assert as_admin["contact"] is None
    _, planner = api.org("planner")
    assert_error(api.client.get("/v1/assignments", headers=planner), 403)
    # after a decline the center no longer sees who it was
    api.client.post(
        f"/v1/assignments/{as_center['id']}/decline", json={"reason": "ill"}, headers=uni
    )
    assert (
        api.client.get(f"/v1/assignments/{as_center['id']}", headers=center).json()["contact"]
        is None
    )


def test_the_full_lifecycle_and_illegal_moves(api: Api) -> None:
    uni, center, _, _ = setup_week(api, volunteers=2, requests=1)
    published(api, center)
    (a,) = assignments(api, center)
    aid = a["id"]
    assert_error(
        api.client.post(f"/v1/assignments/{aid}/check-in", headers=center), 409
    )  # not confirmed
    assert_error(
        api.client.post(f"/v1/assignments/{aid}/confirm", headers=center), 403
    )  # centers don't confirm
    assert_error(api.client.post(f"/v1/assignments/{aid}/check-in", headers=uni), 403)
    assert (
        api.client.post(f"/v1/assignments/{aid}/confirm", headers=uni).json()["status"]
        == "confirmed"
    )
    assert_error(api.client.post(f"/v1/assignments/{aid}/confirm", headers=uni), 409)
    assert_error(api.client.post(f"/v1/assignments/{aid}/complete", json={}, headers=center), 409)
    assert (
        api.client.post(f"/v1/assignments/{aid}/check-in", headers=center).json()["status"]
        == "checked_in"
    )
    assert_error(
        api.client.post(f"/v1/assignments/{aid}/decline", json={"reason": "late"}, headers=uni), 409
    )
    assert_error(
        api.client.post(
            f"/v1/assignments/{aid}/complete", json={"hours_served": 30}, headers=center
        ),
        422,
    )
    done = api.client.post(f"/v1/assignments/{aid}/complete", json={}, headers=center).json()
    assert done["status"] == "completed" and done["hours_served"] == 1.0  # the request's duration
    assert_error(
        api.client.post(f"/v1/assignments/{aid}/cancel", json={"reason": "x"}, headers=center), 409
    )
    rid = a["request"]["id"]
    assert (
        api.client.patch(f"/v1/requests/{rid}", json={"status": "done"}, headers=center).json()[
            "status"
        ]
        == "done"
    )


def test_decline_needs_a_reason_and_reopens_the_request(api: Api) -> None:
    uni, center, _, _ = setup_week(api, volunteers=2, requests=1)
    published(api, center)
    (a,) = assignments(api, center)
    assert_error(api.client.post(f"/v1/assignments/{a['id']}/decline", json={}, headers=uni), 422)
    declined = api.client.post(
        f"/v1/assignments/{a['id']}/decline", json={"reason": "exam"}, headers=uni
    ).json()
    assert declined["status"] == "declined" and declined["reason"] == "exam"
    assert (
        api.client.get(f"/v1/requests/{a['request']['id']}", headers=center).json()["status"]
        == "open"
    )


def test_link_tokens_confirm_and_decline_without_a_key(api: Api) -> None:
    _, center, _, _ = setup_week(api, volunteers=4, requests=2)
    links = published(api, center)["links"]
    first, second = links
    seen = api.client.get(f"/v1/assignment-links/{first['token']}").json()
    assert seen["id"] == first["assignment_id"] and seen["contact"] is None
    assert (
        api.client.post(f"/v1/assignment-links/{first['token']}/confirm").json()["status"]
        == "confirmed"
    )
    assert_error(api.client.post(f"/v1/assignment-links/{first['token']}/confirm"), 409)
    r = api.client.post(
        f"/v1/assignment-links/{second['token']}/decline", json={"reason": "travel"}
    )
    assert r.json()["status"] == "declined"
    assert_error(api.client.get("/v1/assignment-links/not-a-token"), 404)


def test_centers_cancel_assignments_of_their_requests_only(api: Api) -> None:
    _, center, _, _ = setup_week(api, volunteers=2, requests=1)
    _, other = api.org("center")
    published(api, center)
    (a,) = assignments(api, center)
    assert_error(
        api.client.post(f"/v1/assignments/{a['id']}/cancel", json={"reason": "x"}, headers=other),
        404,
    )
    r = api.client.post(
        f"/v1/assignments/{a['id']}/cancel", json={"reason": "the volunteer is ill"}, headers=center
    )
    assert r.json()["status"] == "cancelled"


def test_cancelling_a_request_cancels_its_waiting_assignments(api: Api) -> None:
    _, center, _, rids = setup_week(api, volunteers=2, requests=1)
    published(api, center)
    api.client.patch(f"/v1/requests/{rids[0]}", json={"status": "cancelled"}, headers=center)
    (a,) = assignments(api, center)
    assert a["status"] == "cancelled" and "cancelled" in a["reason"]


def test_repair_pins_confirmed_keeps_proposed_and_never_reproposes_a_decline(api: Api) -> None:
    uni, center, _, _ = setup_week(api, volunteers=6, requests=3)
    first = published(api, center)
    by_request = {a["request"]["id"]: a for a in assignments(api, center)}
    r0, r1, r2 = sorted(by_request)
    api.client.post(f"/v1/assignments/{by_request[r0]['id']}/confirm", headers=uni)
    api.client.post(
        f"/v1/assignments/{by_request[r1]['id']}/decline", json={"reason": "exam"}, headers=uni
    )
    repair = api.client.post(
        f"/v1/match-runs/{first['run']['id']}/repair", json={"time_limit_s": 2}, headers=center
    )
    assert repair.status_code == 202 and repair.json()["kind"] == "repair"
    api.solve_queued()
    run = api.client.get(f"/v1/match-runs/{repair.json()['id']}", headers=center).json()
    assert run["status"] == "succeeded"
    assert run["max_changes"] == 3  # the center's default
    assert {k: run["changes"][k] for k in ("kept", "added", "removed", "max_changes")} == {
        "kept": 2, "added": 1, "removed": 0, "max_changes": 3,
    }  # fmt: skip
    assert run["changes"]["more"]["coverage_gain"] == 0  # one change already fills it
    plan = api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center).json()
    pairs = {(a["volunteer_id"], a["request_id"]) for a in plan["assignments"]}
    assert (by_request[r0]["volunteer_id"], r0) in pairs  # confirmed: pinned
    assert (by_request[r2]["volunteer_id"], r2) in pairs  # proposed: kept
    assert (by_request[r1]["volunteer_id"], r1) not in pairs  # declined: never again
    assert any(r == r1 for _, r in pairs)  # but the request is filled by someone else
    result = api.client.post(f"/v1/match-runs/{run['id']}/publish", headers=center).json()
    assert (result["created"], result["kept"], result["cancelled"]) == (1, 2, 0)
    held = [a for a in assignments(api, center) if a["status"] in ("proposed", "confirmed")]
    assert len(held) == 3


def test_repair_needs_a_published_run(api: Api) -> None:
    _, center, _, _ = setup_week(api)
    run = queue(api, center)
    assert_error(api.client.post(f"/v1/match-runs/{run['id']}/repair", headers=center), 409)


def test_a_stale_plan_is_not_published(api: Api) -> None:
    uni, center, _, _ = setup_week(api, volunteers=3, requests=1)
    first = published(api, center)
    (a,) = assignments(api, center)
    api.client.post(f"/v1/assignments/{a['id']}/decline", json={"reason": "exam"}, headers=uni)
    r1 = api.client.post(f"/v1/match-runs/{first['run']['id']}/repair", headers=center).json()
    r2 = api.client.post(f"/v1/match-runs/{first['run']['id']}/repair", headers=center).json()
    api.solve_queued()
    (link,) = api.client.post(f"/v1/match-runs/{r1['id']}/publish", headers=center).json()["links"]
    # both repairs planned this volunteer, who now declines: the second plan is out of date
    api.client.post(f"/v1/assignment-links/{link['token']}/decline", json={"reason": "no"})
    body = assert_error(api.client.post(f"/v1/match-runs/{r2['id']}/publish", headers=center), 409)
    assert "no longer fits" in body["detail"] and "rule 12" in body["detail"]
    assert [x for x in assignments(api, center) if x["status"] == "proposed"] == []
    assert (
        api.client.get(f"/v1/match-runs/{r2['id']}", headers=center).json()["published_at"] is None
    )


def test_one_person_across_centers_and_runs(api: Api) -> None:
    """A volunteer proposed by one center's run is busy for another center's run at the same
    time, and the hours already held count toward the cap."""
    _, uni = api.org("university")
    _, center_a = api.org("center")
    _, center_b = api.org("center")
    api.client.post("/v1/volunteers/import", json=[volunteer("S0001", max_hours=3)], headers=uni)
    api.client.post(
        "/v1/requests", json=[request("A", start=at("09:00"), end=at("11:00"))], headers=center_a
    )
    api.client.post(
        "/v1/requests",
        json=[
            request("B same time", start=at("09:30"), end=at("10:30")),
            request("C later, 2h", start=at("14:00"), end=at("16:00")),
        ],
        headers=center_b,
    )
    before = queue(api, center_b)
    api.solve_queued()
    plan = api.client.get(f"/v1/match-runs/{before['id']}/plan", headers=center_b).json()
    assert len(plan["assignments"]) == 2  # alone, the volunteer can do B and C (3 h)
    published(api, center_a)  # A: 09:00-11:00, proposed
    after = queue(api, center_b)
    api.solve_queued()
    plan = api.client.get(f"/v1/match-runs/{after['id']}/plan", headers=center_b).json()
    assert plan["assignments"] == []  # B overlaps A; C would make 2 + 2 h > max_hours 3
    codes = {u["request_id"]: u["codes"] for u in plan["unfilled"]}
    assert len(codes) == 2 and any("hours_cap" in c for c in codes.values())


def test_window_limits_what_a_run_matches(api: Api) -> None:
    _, center, _, _ = setup_week(api, volunteers=2, requests=1)
    api.client.post(
        "/v1/requests",
        json=[request("next week", start=at("09:00", "2026-03-10"), end=at("10:00", "2026-03-10"))],
        headers=center,
    )
    run = queue(api, center)
    api.solve_queued()
    with_window = api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center).json()
    assert len(with_window["assignments"]) + len(with_window["unfilled"]) == 1
    assert WINDOW["start"] in str(
        api.client.get(f"/v1/match-runs/{run['id']}", headers=center).json()["window"]
    )


def test_repair_moves_a_proposed_volunteer_when_that_staffs_more(api: Api) -> None:
    uni, center = api.org("university")[1], api.org("center")[1]
    both = volunteer("S0001", skills=["smartphone_teaching", "first_aid"])
    api.client.post("/v1/volunteers/import", json=[both], headers=uni)
    api.client.post(
        "/v1/requests",
        json=[
            request("class", priority=2),
            request("first aid post", required_skills=["first_aid"]),
        ],
        headers=center,
    )
    first = published(api, center)
    assert first["created"] == 1  # one volunteer, two requests at the same time
    # a second volunteer joins who can teach but has no first aid
    api.client.post("/v1/volunteers/import", json=[volunteer("S0002")], headers=uni)
    repair = api.client.post(f"/v1/match-runs/{first['run']['id']}/repair", headers=center).json()
    api.solve_queued()
    done = api.client.get(f"/v1/match-runs/{repair['id']}", headers=center).json()
    plan = api.client.get(f"/v1/match-runs/{repair['id']}/plan", headers=center).json()
    assert len(plan["assignments"]) == 2  # the move takes 3 changes: within the default 3
    assert (
        done["changes"]["added"] == 2 and done["changes"]["kept"] + done["changes"]["removed"] == 1
    )


@pytest.mark.database_independent
def test_logs_name_routes_not_tokens_keys_or_personal_data(api: Api, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.INFO)
    uni, center, _, _ = setup_week(api, volunteers=2, requests=1)
    (link,) = published(api, center)["links"]
    api.client.post(f"/v1/assignment-links/{link['token']}/confirm")
    api.client.get("/v1/volunteers", headers=uni)
    # the service's logs (the test client's own httpx log is not the service's)
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "POST /v1/assignment-links/{token}/confirm 200" in text
    for secret in (
        link["token"],
        uni["Authorization"].split()[1],
        center["Authorization"].split()[1],
    ):
        assert secret not in text
    for personal in ("Name S", "+86 100", "@example.edu", "Dorm Road"):
        assert personal not in text


def test_a_volunteer_checked_in_right_now_cannot_be_erased(api: Api) -> None:
    """Their hours are not recorded yet; once completed, erasure keeps them (test_erasure)."""
    uni, center, _, _ = setup_week(api, volunteers=1, requests=1)
    published(api, center)
    (a,) = assignments(api, center)
    api.client.post(f"/v1/assignments/{a['id']}/confirm", headers=uni)
    api.client.post(f"/v1/assignments/{a['id']}/check-in", headers=center)
    assert_error(api.client.delete(f"/v1/volunteers/{a['volunteer_id']}", headers=uni), 409)
    api.client.post(f"/v1/assignments/{a['id']}/complete", json={}, headers=center)
    assert api.client.delete(f"/v1/volunteers/{a['volunteer_id']}", headers=uni).status_code == 204

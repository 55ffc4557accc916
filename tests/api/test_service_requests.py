"""Service requests: batches (all or nothing, idempotent), reads, updates and status rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.db import transaction
from api.models import IdempotencyRecord, ServiceRequest
from tests.api.conftest import Api, assert_error
from tests.api.data import at, request


def count_requests(api: Api) -> int:
    with transaction(api.sessions()) as session:
        return int(session.scalar(select(func.count()).select_from(ServiceRequest)) or 0)


def test_submit_a_batch_and_read_it_back(api: Api) -> None:
    center_id, center = api.org("center")
    r = api.client.post(
        "/v1/requests",
        json=[request("A"), request("B", volunteers_needed=3, min_volunteers=2)],
        headers=center,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] == 2
    first = body["requests"][0]
    assert first["status"] == "open" and first["center_id"] == center_id and first["assigned"] == 0
    assert first["start"] == at("14:00")
    assert api.client.get(f"/v1/requests/{first['id']}", headers=center).json() == first
    listed = api.client.get("/v1/requests", headers=center).json()["items"]
    assert [x["title"] for x in listed] == ["A", "B"]


@pytest.mark.database_independent
def test_bad_rows_reject_the_whole_batch(api: Api) -> None:
    _, center = api.org("center")
    rows = [
        request("ok"),
        request("no offset", start="2026-03-03T14:00:00", end="2026-03-03T16:00:00"),
        request("backwards", start=at("16:00"), end=at("14:00")),
        request("min over need", volunteers_needed=1, min_volunteers=2),
        request("", priority=0),
    ]
    body = assert_error(api.client.post("/v1/requests", json=rows, headers=center), 422)
    rows_named = {f["loc"][1] for f in body["fields"]}
    assert rows_named == {1, 2, 3, 4}
    assert any("offset" in f["msg"] for f in body["fields"])
    assert count_requests(api) == 0


def test_idempotency_key_replays_the_first_answer_and_writes_nothing(api: Api) -> None:
    _, center = api.org("center")
    headers = {**center, "Idempotency-Key": "batch-2026-03-02"}
    first = api.client.post("/v1/requests", json=[request("A")], headers=headers)
    again = api.client.post("/v1/requests", json=[request("A")], headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert count_requests(api) == 1
    other = api.client.post("/v1/requests", json=[request("B")], headers=headers)
    assert_error(other, 422, "idempotency_key_reused")
    assert count_requests(api) == 1


def test_a_rejected_batch_does_not_use_up_its_key(api: Api) -> None:
    _, center = api.org("center")
    headers = {**center, "Idempotency-Key": "k1"}
    assert_error(api.client.post("/v1/requests", json=[request(priority=0)], headers=headers), 422)
    with transaction(api.sessions()) as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    assert api.client.post("/v1/requests", json=[request()], headers=headers).status_code == 201


def test_keys_are_per_organization(api: Api) -> None:
    _, a = api.org("center")
    _, b = api.org("center")
    assert (
        api.client.post(
            "/v1/requests", json=[request("A")], headers={**a, "Idempotency-Key": "same"}
        ).status_code
        == 201
    )
    r = api.client.post(
        "/v1/requests", json=[request("B")], headers={**b, "Idempotency-Key": "same"}
    )
    assert r.status_code == 201 and r.json()["requests"][0]["title"] == "B"


@pytest.mark.database_independent
def test_only_centers_submit_and_others_requests_are_404(api: Api) -> None:
    _, center = api.org("center")
    _, other = api.org("center")
    _, uni = api.org("university")
    assert_error(api.client.post("/v1/requests", json=[request()], headers=uni), 403)
    rid = api.client.post("/v1/requests", json=[request()], headers=center).json()["requests"][0][
        "id"
    ]
    assert_error(api.client.get(f"/v1/requests/{rid}", headers=other), 404)
    assert_error(
        api.client.patch(f"/v1/requests/{rid}", json={"title": "mine"}, headers=other), 404
    )
    assert api.client.get("/v1/requests", headers=other).json()["items"] == []
    assert api.client.get(f"/v1/requests/{rid}", headers=api.admin).status_code == 200


def test_status_transitions(api: Api) -> None:
    _, center = api.org("center")
    a, b = (
        x["id"]
        for x in api.client.post(
            "/v1/requests", json=[request("A"), request("B")], headers=center
        ).json()["requests"]
    )
    r = api.client.patch(f"/v1/requests/{a}", json={"status": "cancelled"}, headers=center)
    assert r.json()["status"] == "cancelled"
    assert_error(
        api.client.patch(f"/v1/requests/{a}", json={"status": "done"}, headers=center), 409
    )
    assert_error(
        api.client.patch(f"/v1/requests/{a}", json={"title": "again"}, headers=center), 409
    )
    assert_error(
        api.client.patch(f"/v1/requests/{b}", json={"status": "filled"}, headers=center), 422
    )
    assert_error(
        api.client.patch(f"/v1/requests/{b}", json={"start": at("09:00")}, headers=center), 422
    )
    assert (
        api.client.patch(
            f"/v1/requests/{b}", json={"title": "B2", "priority": 3}, headers=center
        ).json()["priority"]
        == 3
    )
    assert (
        api.client.patch(f"/v1/requests/{b}", json={"status": "done"}, headers=center).json()[
            "status"
        ]
        == "done"
    )
    only_open = api.client.get("/v1/requests", params={"status": "open"}, headers=center).json()[
        "items"
    ]
    assert only_open == []


def test_list_filters(api: Api) -> None:
    _, center = api.org("center")
    api.client.post(
        "/v1/requests",
        json=[
            request("mon", start=at("09:00", "2026-03-02"), end=at("11:00", "2026-03-02")),
            request("tue", service_type="elderly_visit", required_skills=[]),
        ],
        headers=center,
    )
    by_type = api.client.get(
        "/v1/requests", params={"service_type": "elderly_visit"}, headers=center
    ).json()["items"]
    assert [x["title"] for x in by_type] == ["tue"]
    by_time = api.client.get(
        "/v1/requests", params={"starts_before": at("00:00")}, headers=center
    ).json()["items"]
    assert [x["title"] for x in by_time] == ["mon"]

"""Hostile and broken input that fuzzing found answering 500, now answered in the one shape with
nothing written: ids past the id columns' range (in paths, queries and cursors), text that is not CSV, a time
written as a number in a query, and a body that is not UTF-8."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from api.db import transaction
from api.models import Volunteer
from api.schemas.common import MAX_ID
from tests.api.conftest import Api, assert_error

HUGE = 2**64


def volunteers(api: Api) -> int:
    with transaction(api.sessions()) as session:
        return int(session.scalar(select(func.count()).select_from(Volunteer)) or 0)


def test_ids_past_the_id_columns_are_422_not_a_database_overflow(api: Api) -> None:
    # the id columns are INTEGER: 32 bits in PostgreSQL (fuzzing found 2**35 answering 500 there)
    assert MAX_ID == 2**31 - 1
    org_id, uni = api.org("university")
    _, center = api.org("center")
    for huge in (HUGE, MAX_ID + 1):
        assert_error(api.client.get(f"/v1/volunteers/{huge}", headers=uni), 422)
        assert_error(api.client.get(f"/v1/requests?center_id={huge}", headers=center), 422)
        cursor = base64.urlsafe_b64encode(f"after:{huge}".encode()).decode()
        assert_error(api.client.get("/v1/volunteers", params={"cursor": cursor}, headers=uni), 422)
    # the largest id is an ordinary id: here one that does not exist
    assert_error(api.client.get(f"/v1/volunteers/{MAX_ID}", headers=uni), 404)
    cursor = base64.urlsafe_b64encode(f"after:{MAX_ID}".encode()).decode()
    r = api.client.get("/v1/volunteers", params={"cursor": cursor}, headers=uni)
    assert r.status_code == 200 and r.json()["items"] == []
    for method, path, headers in (
        ("GET", f"/v1/volunteers/{HUGE}", uni),
        ("DELETE", f"/v1/volunteers/{HUGE}", uni),
        ("GET", f"/v1/organizations/{HUGE}", uni),
        ("DELETE", f"/v1/organizations/{org_id}/keys/{HUGE}", uni),
        ("GET", f"/v1/match-runs/{HUGE}/plan", center),
        ("POST", f"/v1/assignments/{HUGE}/confirm", uni),
        ("GET", f"/v1/assignments?run_id={HUGE}", uni),
        ("GET", f"/v1/volunteers?university_id={HUGE}", uni),
        ("GET", f"/v1/requests?center_id={HUGE}", center),
        ("GET", "/v1/volunteers/0", uni),
    ):
        body = assert_error(api.client.request(method, path, headers=headers), 422)
        assert body["fields"], (method, path)
    cursor = base64.urlsafe_b64encode(f"after:{HUGE}".encode()).decode()
    assert_error(api.client.get("/v1/volunteers", params={"cursor": cursor}, headers=uni), 422)


@pytest.mark.database_independent
def test_text_that_is_not_csv_is_422_and_writes_nothing(api: Api) -> None:
    _, uni = api.org("university")
    oversized_cell = "external_id,name\nS1," + "x" * 200_000 + "\n"
    r = api.client.post(
        "/v1/volunteers/import",
        content=oversized_cell.encode(),
        headers={**uni, "Content-Type": "text/csv"},
    )
    body = assert_error(r, 422, "validation_error")
    assert body["fields"][0]["loc"][0] == "csv"
    bare_carriage_return = "external_id,lat,lon\nS1,34.2,108.9\rS2,34.2,108.9\n"
    r = api.client.post(
        "/v1/volunteers/import",
        content=bare_carriage_return.encode(),
        headers={**uni, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text  # a lone CR ends a line, as in old Mac files
    assert volunteers(api) == 2


@pytest.mark.database_independent
def test_a_time_in_a_query_must_be_iso_8601_with_an_offset(api: Api) -> None:
    _, center = api.org("center")
    _, planner = api.org("planner")
    for value in ("1700000000", "2.2e-313"):
        body = assert_error(
            api.client.get("/v1/requests", params={"starts_from": value}, headers=center), 422
        )
        assert body["fields"][0]["loc"] == ["query", "starts_from"]
        assert_error(
            api.client.get(
                "/v1/reports/supply-demand",
                params={"from": value, "to": "2026-03-09T00:00:00+08:00"},
                headers=planner,
            ),
            422,
        )
    ok = api.client.get(
        "/v1/requests", params={"starts_from": "2026-03-02T00:00:00+08:00"}, headers=center
    )
    assert ok.status_code == 200


@pytest.mark.database_independent
def test_a_body_that_is_not_utf8_is_400_in_the_one_shape(api: Api) -> None:
    _, center = api.org("center")
    r = api.client.post(
        "/v1/requests",
        content=b"\xff\xfe[",
        headers={**center, "Content-Type": "application/json"},
    )
    assert_error(r, 400, "bad_request")
    spec = api.client.get("/openapi.json").json()
    assert "400" in spec["paths"]["/v1/requests"]["post"]["responses"]

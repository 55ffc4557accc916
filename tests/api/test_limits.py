"""Every documented limit, one test each: payload size, rows per batch (JSON, CSV and request
batches), page size, `time_limit_s`, window and request spans, Idempotency-Key length, and the
per-key rate limit (429 with `Retry-After`). Past a limit the answer is the one error shape and
nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.db import transaction
from api.limits import RateLimiter
from api.models import ServiceRequest, Volunteer
from api.settings import Settings
from tests.api.conftest import Api, assert_error
from tests.api.data import WINDOW, at, request, volunteer


def count(api: Api, table: Any) -> int:
    with transaction(api.sessions()) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def limited(api: Api, **limits: Any) -> None:
    api.app.state.settings = api.settings.model_copy(update=limits)


def test_defaults_are_the_documented_ones() -> None:
    defaults = Settings()
    assert defaults.max_body_bytes == 32 * 1024 * 1024
    assert defaults.max_batch_rows == 50_000
    assert defaults.max_page_size == 500
    assert defaults.max_time_limit_s == 300
    assert defaults.rate_limit_per_minute == 1200
    assert defaults.solve_workers == 1


@pytest.mark.database_independent
def test_a_body_over_the_size_limit_is_413_before_any_route_reads_it(settings: Settings) -> None:
    small = settings.model_copy(update={"max_body_bytes": 1000})
    with TestClient(create_app(small)) as client:
        api = Api(client, small)
        _, uni = api.org("university")
        rows = [volunteer(f"S{i}") for i in range(10)]  # ~4 kB of JSON
        body = assert_error(
            client.post("/v1/volunteers/import", json=rows, headers=uni), 413, "payload_too_large"
        )
        assert "1000 bytes" in body["detail"]
        # a lying Content-Length is no way around it: the body is counted as it arrives
        streamed = client.post(
            "/v1/volunteers/import",
            content=iter([b"[", b" " * 600, b" " * 600, b"]"]),
            headers={**uni, "Content-Type": "application/json"},
        )
        assert_error(streamed, 413, "payload_too_large")
        assert count(api, Volunteer) == 0
        small_enough = client.post("/v1/volunteers/import", json=rows[:1], headers=uni)
        assert small_enough.status_code == 200, small_enough.text


@pytest.mark.database_independent
def test_rows_per_batch_cap_json_csv_and_request_batches(api: Api) -> None:
    _, uni = api.org("university")
    _, center = api.org("center")
    limited(api, max_batch_rows=2)
    assert_error(
        api.client.post(
            "/v1/volunteers/import", json=[volunteer(f"S{i}") for i in range(3)], headers=uni
        ),
        413,
        "payload_too_large",
    )
    csv = "external_id,lat,lon\nA,34.2,108.9\nB,34.2,108.9\nC,34.2,108.9\n"
    assert_error(
        api.client.post(
            "/v1/volunteers/import",
            content=csv.encode(),
            headers={**uni, "Content-Type": "text/csv"},
        ),
        413,
    )
    assert_error(
        api.client.post("/v1/requests", json=[request(f"R{i}") for i in range(3)], headers=center),
        413,
        "payload_too_large",
    )
    assert count(api, Volunteer) == 0 and count(api, ServiceRequest) == 0
    ok = api.client.post("/v1/requests", json=[request("R0"), request("R1")], headers=center)
    assert ok.status_code == 201


@pytest.mark.database_independent
def test_page_size_is_capped(api: Api) -> None:
    _, uni = api.org("university")
    api.client.post(
        "/v1/volunteers/import", json=[volunteer(f"S{i}") for i in range(4)], headers=uni
    )
    assert_error(api.client.get("/v1/volunteers", params={"limit": 501}, headers=uni), 422)
    limited(api, max_page_size=3)
    page = api.client.get("/v1/volunteers", params={"limit": 500}, headers=uni).json()
    assert len(page["items"]) == 3 and page["next_cursor"]


@pytest.mark.database_independent
def test_time_limit_window_and_request_span_caps(api: Api) -> None:
    _, center = api.org("center")
    for run in (
        {"window": WINDOW, "time_limit_s": 301},
        {"window": WINDOW, "time_limit_s": 0},
        {"window": {"start": at("00:00"), "end": at("00:00", "2026-04-04")}},  # 32 days
    ):
        assert_error(api.client.post("/v1/match-runs", json=run, headers=center), 422)
    limited(api, max_time_limit_s=5)
    body = assert_error(
        api.client.post(
            "/v1/match-runs", json={"window": WINDOW, "time_limit_s": 6}, headers=center
        ),
        422,
    )
    assert body["fields"] == [{"loc": ["body", "time_limit_s"], "msg": "at most 5"}]
    day_long = request(end=at("14:00", "2026-03-04"), start=at("13:59"))  # 24 h 1 min
    assert_error(api.client.post("/v1/requests", json=[day_long], headers=center), 422)
    assert count(api, ServiceRequest) == 0
    accepted = api.client.post(
        "/v1/match-runs", json={"window": WINDOW, "time_limit_s": 5}, headers=center
    )
    assert accepted.status_code == 202


@pytest.mark.database_independent
def test_idempotency_key_length_is_capped(api: Api) -> None:
    _, center = api.org("center")
    r = api.client.post(
        "/v1/requests", json=[request()], headers={**center, "Idempotency-Key": "k" * 201}
    )
    assert_error(r, 422)
    assert count(api, ServiceRequest) == 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.database_independent
def test_rate_limit_per_key_is_429_with_retry_after_and_writes_nothing(api: Api) -> None:
    org_id, center = api.org("center")
    second = api.client.post(f"/v1/organizations/{org_id}/keys", json={}, headers=center).json()
    other_key = {"Authorization": f"Bearer {second['secret']}"}
    clock = FakeClock()
    api.app.state.rate_limiter = RateLimiter(3, clock=clock)

    for _ in range(3):
        assert api.client.get("/v1/requests", headers=center).status_code == 200
        clock.now += 10
    refused = api.client.post("/v1/requests", json=[request()], headers=center)
    body = assert_error(refused, 429, "rate_limited")
    assert "3 requests" in body["detail"]
    # the first request of the window was at t=1000; it leaves the window at t=1060, now t=1030
    assert refused.headers["Retry-After"] == "30"
    assert count(api, ServiceRequest) == 0

    # per key: another key of the same organization has its own allowance
    assert api.client.get("/v1/requests", headers=other_key).status_code == 200
    # requests without a valid key are refused before they count against anyone
    assert_error(api.client.get("/v1/requests", headers={"Authorization": "Bearer x"}), 401)

    clock.now += 30  # t=1060: the first request is a minute old
    assert api.client.post("/v1/requests", json=[request()], headers=center).status_code == 201
    assert_error(api.client.get("/v1/requests", headers=center), 429)
    assert count(api, ServiceRequest) == 1


@pytest.mark.database_independent
def test_the_rate_limit_comes_from_the_settings(settings: Settings) -> None:
    strict = settings.model_copy(update={"rate_limit_per_minute": 2})
    with TestClient(create_app(strict)) as client:
        api = Api(client, strict)
        _, planner = api.org("planner")
        statuses = [
            client.get("/v1/organizations/me", headers=planner).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        assert client.get("/healthz").status_code == 200  # probes carry no key and no limit

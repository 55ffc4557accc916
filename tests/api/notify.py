"""Helpers of the notification tests: a service with the volunteer loop's settings, a week that
starts relative to now (reminders and no-shows depend on the clock), and a dispatcher."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from api.app import create_app
from api.db import transaction
from api.models import Delivery, OutboxEvent
from api.notifications.dispatcher import Dispatcher
from tests.api.conftest import Api, make_settings
from tests.api.data import volunteer

SHANGHAI = timedelta(hours=8)
LINK_SECRET = "a link secret for the tests only"


def loop_settings(database_url: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "webhook_allow_private": True,  # the sinks listen on loopback
        "link_secret": SecretStr(LINK_SECRET),
        "retry_base_s": 0.02,
        "retry_max_s": 0.1,
        "webhook_timeout_s": 2.0,
        **overrides,
    }
    return make_settings(database_url, **values)


@contextmanager
def loop_api(database_url: str, **overrides: Any) -> Iterator[Api]:
    settings = loop_settings(database_url, **overrides)
    with TestClient(create_app(settings)) as client:
        yield Api(client, settings)


def dispatcher(api: Api, name: str = "test-dispatcher") -> Dispatcher:
    return Dispatcher(api.settings, api.sessions(), name=name)


def deliver_until(d: Dispatcher, done: Callable[[], bool], timeout_s: float = 20) -> None:
    """Step the dispatcher (retries come due after short delays) until `done()`."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError("deliveries did not finish in time")
        if d.step() == 0:
            time.sleep(0.02)


def deliveries(api: Api) -> list[Delivery]:
    with transaction(api.sessions()) as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)).all())


def events_of(api: Api, type: str | None = None) -> list[OutboxEvent]:
    with transaction(api.sessions()) as session:
        query = select(OutboxEvent).order_by(OutboxEvent.id)
        if type is not None:
            query = query.where(OutboxEvent.type == type)
        return list(session.scalars(query).all())


def local(moment: datetime) -> str:
    """`moment` as the API's input: ISO 8601 at +08:00, whole minutes."""
    return moment.astimezone(timezone(SHANGHAI)).replace(second=0, microsecond=0).isoformat()


def soon_week(
    api: Api,
    starts_in: list[timedelta],
    volunteers: int = 2,
    hours: float = 1.0,
    **volunteer_fields: Any,
) -> tuple[dict[str, str], dict[str, str], int, int, list[int]]:
    """A university and a center whose requests start `starts_in` from now (one volunteer
    each), with volunteers available around them: (uni headers, center headers, uni id,
    center id, request ids)."""
    uni_id, uni = api.org("university")
    center_id, center = api.org("center")
    now = datetime.now(UTC)
    first = min(starts_in) - timedelta(days=1)
    last = max(starts_in) + timedelta(days=1)
    window = {"start": local(now + first), "end": local(now + last)}
    roster = [
        volunteer(f"S{i:04d}", availability=[window], max_hours=None, **volunteer_fields)
        for i in range(volunteers)
    ]
    assert api.client.post("/v1/volunteers/import", json=roster, headers=uni).status_code == 200
    rows = [
        {
            "title": f"Smartphone class {j}",
            "location": {"lat": 34.251, "lon": 108.941},
            "address": "雁塔区 长安南路 88 号 社区活动室",
            "service_type": "smartphone_tutoring",
            "start": local(now + delta),
            "end": local(now + delta + timedelta(hours=hours)),
            "required_skills": ["smartphone_teaching"],
        }
        for j, delta in enumerate(starts_in)
    ]
    r = api.client.post("/v1/requests", json=rows, headers=center)
    assert r.status_code == 201, r.text
    return uni, center, uni_id, center_id, [x["id"] for x in r.json()["requests"]]


def run_window(starts_in: list[timedelta]) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "start": local(now + min(starts_in) - timedelta(hours=12)),
        "end": local(now + max(starts_in) + timedelta(hours=12)),
    }


def publish_soon(
    api: Api, center: dict[str, str], starts_in: list[timedelta], **publish: Any
) -> dict[str, Any]:
    run = api.client.post(
        "/v1/match-runs",
        json={"window": run_window(starts_in), "engine": "greedy", "time_limit_s": 2},
        headers=center,
    )
    assert run.status_code == 202, run.text
    api.solve_queued()
    r = api.client.post(
        f"/v1/match-runs/{run.json()['id']}/publish", json=publish or None, headers=center
    )
    assert r.status_code == 200, r.text
    return {"run": run.json(), **r.json()}

"""Secrets at rest: API keys and link tokens are stored only as SHA-256 hashes (no table holds a
secret), every key check goes through a constant-time comparison (also for unknown prefixes),
and a revoked key fails on its very next request."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from sqlalchemy import select

from api.db import transaction
from api.models import Base
from tests.api.conftest import Api, assert_error
from tests.api.test_assignments import published
from tests.api.test_match_runs import setup_week


def database_text(api: Api) -> str:
    with transaction(api.sessions()) as session:
        return json.dumps(
            [
                [list(row) for row in session.execute(select(table)).all()]
                for table in Base.metadata.sorted_tables
            ],
            default=str,
        )


def test_keys_and_link_tokens_are_stored_hashed_only(api: Api) -> None:
    uni, center, _, _ = setup_week(api, volunteers=2, requests=1)
    (link,) = published(api, center)["links"]
    stored = database_text(api)
    for secret in (
        uni["Authorization"].split()[1],
        center["Authorization"].split()[1],
        link["token"],
    ):
        assert secret not in stored
        assert hashlib.sha256(secret.encode()).hexdigest() in stored


@pytest.mark.database_independent
def test_every_key_check_is_constant_time(api: Api, monkeypatch: Any) -> None:
    _, uni = api.org("university")
    secret = uni["Authorization"].split()[1]
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    wrong_secret = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    unknown_prefix = "vmk_000000000000_" + secret.rsplit("_", 1)[1]
    for attempt in (wrong_secret, unknown_prefix):
        r = api.client.get("/v1/organizations/me", headers={"Authorization": f"Bearer {attempt}"})
        assert_error(r, 401, "unauthorized")
    assert api.client.get("/v1/organizations/me", headers=uni).status_code == 200
    assert len(compared) == 3  # one comparison of hashes per attempt, found or not


def test_a_revoked_key_fails_on_its_next_request(api: Api) -> None:
    org_id, first = api.org("center")
    second = api.client.post(f"/v1/organizations/{org_id}/keys", json={}, headers=first).json()
    spare = {"Authorization": f"Bearer {second['secret']}"}
    assert api.client.get("/v1/requests", headers=spare).status_code == 200
    api.client.delete(f"/v1/organizations/{org_id}/keys/{second['key']['id']}", headers=first)
    body = assert_error(api.client.get("/v1/requests", headers=spare), 401, "unauthorized")
    assert "revoked" in body["detail"]
    # nor can it do anything else, such as revoke the key that revoked it
    assert_error(api.client.post("/v1/requests", json=[], headers=spare), 401)


@pytest.mark.database_independent
def test_the_volunteer_loop_logs_no_personal_data_or_secrets(
    database_url: str, caplog: Any
) -> None:
    """The log of the whole loop (webhooks, email, SMS, failures and retries, reminders,
    no-shows, standby, calendar feed; every logger, DEBUG and up) holds none of: volunteers'
    names, phones, emails, addresses; keys, link and feed tokens; webhook secrets and URLs;
    the SMS provider's token; message bodies."""
    import logging
    from datetime import timedelta

    from pydantic import SecretStr

    from api.models import utc_now
    from api.notifications import scheduler
    from benchmarks.pg import free_port
    from benchmarks.sinks import SmtpSink, WebhookSink
    from tests.api.notify import deliver_until, dispatcher, loop_api, publish_soon, soon_week

    caplog.set_level(logging.DEBUG)
    port = free_port()
    starts = [timedelta(hours=30), -timedelta(minutes=50)]
    with WebhookSink() as sink, WebhookSink() as provider, SmtpSink(port) as smtp:
        channels = {
            "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
            "sms_provider": "http_json", "sms_url": provider.url + "?account=sms-url-secret",
            "sms_token": SecretStr("sms-token-secret"), "delivery_max_attempts": 2,
        }  # fmt: skip
        with loop_api(database_url, **channels) as api:
            uni, center, _, center_id, _ = soon_week(api, starts, volunteers=4, max_assignments=1)
            api.client.patch(f"/v1/organizations/{center_id}/settings",
                             json={"standby_per_request": 2}, headers=center)  # fmt: skip
            hook_url = sink.url + "?token=hook-url-secret"
            created = api.client.post("/v1/webhooks", json={"url": hook_url}, headers=center).json()
            links = sorted(publish_soon(api, center, starts)["links"], key=lambda x: x["request_id"])
            for link in links:
                api.client.post(f"/v1/assignment-links/{link['token']}/confirm")
            feed = api.client.post(f"/v1/assignment-links/{links[0]['token']}/calendar").json()
            api.client.get(f"/v1/calendar/{feed['token']}.ics")
            api.client.get(f"/v1/assignment-links/{links[0]['token']}/schedule")
            scheduler.run(api.sessions(), api.settings, utc_now() + timedelta(hours=7))
            sink.status = 500  # failures and a dead letter are logged too
            d = dispatcher(api)
            deliver_until(d, lambda: d.step() == 0 and len(smtp.messages) >= 2)
            sink.status = 200
            declined = api.client.post(f"/v1/assignment-links/{links[0]['token']}/decline",
                                       json={"reason": "ill, call me at +86 139 0000 1111"})  # fmt: skip
            assert declined.status_code == 200  # and a standby steps in
            d.run_until_idle()
            personal = [
                v
                for row in api.client.get("/v1/volunteers", headers=uni).json()["items"]
                for v in (
                    row["personal"]["name"], row["personal"]["phone"],
                    row["personal"]["email"], row["personal"]["address"],
                )
            ]  # fmt: skip
            secrets = [
                *(link["token"] for link in links), feed["token"], created["secret"],
                "hook-url-secret", "sms-url-secret", "sms-token-secret", "+86 139 0000 1111",
                uni["Authorization"].split()[1], center["Authorization"].split()[1],
            ]  # fmt: skip
    assert smtp.messages and provider.received and sink.received  # every channel spoke
    # the service's logs; not the test's own SMTP server's (aiosmtpd's `mail.log` quotes every
    # command it receives) nor its HTTP client's
    logged = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.name not in ("httpx", "mail.log")
    )
    assert "volmatch.dispatcher" in {r.name for r in caplog.records}
    assert "HTTP 500" in logged  # failures are logged, by code
    leaked = [s for s in [*personal, *secrets] if s and s in logged]
    assert leaked == [], leaked
    # and nothing of a message body: the templates' words are not in the log
    assert "志愿服务" not in logged and "Smartphone class" not in logged

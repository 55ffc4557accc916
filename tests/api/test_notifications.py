"""The outbox and its channels, end to end against real local servers: webhooks (signature
checked by an independent HMAC written here), email through an aiosmtpd server, SMS through a
fake provider; retries, backoff, timeouts, dead letters and their retry; SMTP down then up;
events written in the transaction of the change; claims safe with several dispatchers."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from api.db import transaction
from api.models import Delivery, DeliveryStatus, utc_now
from api.notifications.dispatcher import retry_delay
from api.repositories import outbox as outbox_repo
from benchmarks.pg import free_port
from benchmarks.sinks import SmtpSink, WebhookSink
from tests.api.conftest import Api, assert_error
from tests.api.notify import (
    deliver_until,
    deliveries,
    dispatcher,
    events_of,
    loop_api,
    publish_soon,
    run_window,
    soon_week,
)

DAY = [timedelta(days=2)]
REPLAY_WINDOW_S = 300


def verify(secret: str, headers: dict[str, str], body: bytes) -> int:
    """An independent check of `X-Volmatch-Signature` (as a receiver writes it from the docs):
    the timestamp, within the replay window."""
    fields = dict(part.split("=", 1) for part in headers["X-Volmatch-Signature"].split(","))
    timestamp = int(fields["t"])
    expected = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"]), "bad signature"
    assert abs(time.time() - timestamp) <= REPLAY_WINDOW_S, "outside the replay window"
    return timestamp


def hook(api: Api, headers: dict[str, str], url: str, *types: str) -> dict[str, Any]:
    r = api.client.post("/v1/webhooks", json={"url": url, "event_types": list(types)}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_webhooks_end_to_end_signed_and_filtered(database_url: str) -> None:
    with loop_api(database_url) as api, WebhookSink() as centers, WebhookSink() as unis:
        uni, center, _, _, _ = soon_week(api, DAY)
        center_hook = hook(api, center, centers.url)
        uni_hook = hook(api, uni, unis.url, "assignment.confirmed")
        assert center_hook["secret"].startswith("whsec_")
        listed = api.client.get(f"/v1/webhooks/{center_hook['id']}", headers=center).json()
        assert "secret" not in listed and listed["event_types"] == []
        published = publish_soon(api, center, DAY)
        (link,) = published["links"]
        assert api.client.post(f"/v1/assignment-links/{link['token']}/confirm").status_code == 200
        d = dispatcher(api)
        deliver_until(d, lambda: all(x.status == "delivered" for x in deliveries(api)))

        types = [json.loads(body)["type"] for _, body in centers.received]
        assert sorted(types) == ["assignment.confirmed", "assignment.proposed", "run.succeeded"]
        assert [json.loads(b)["type"] for _, b in unis.received] == ["assignment.confirmed"]
        ids = {x.idempotency_id for x in deliveries(api)}
        for sink, secret in ((centers, center_hook["secret"]), (unis, uni_hook["secret"])):
            for headers, body in sink.received:
                verify(secret, headers, body)
                payload = json.loads(body)
                assert headers["X-Volmatch-Event"] == payload["type"]
                assert headers["X-Volmatch-Delivery"] in ids
                assert headers["X-Volmatch-Delivery"].startswith(payload["id"])
                assert b"Name S" not in body and b"@example.edu" not in body  # ids only
        # a forged body does not pass the receiver's check
        headers, body = centers.received[0]
        with pytest.raises(AssertionError, match="bad signature"):
            verify(center_hook["secret"], headers, body.replace(b"}", b" }", 1))
        confirmed = next(json.loads(b) for _, b in unis.received)
        assert confirmed["data"]["assignment_id"] == link["assignment_id"]
        assert confirmed["data"]["status"] == "confirmed"


def test_events_are_written_with_the_change_and_only_with_it(database_url: str) -> None:
    with loop_api(database_url) as api, WebhookSink() as sink:
        _uni, center, _, _, _ = soon_week(api, DAY, volunteers=3)
        hook(api, center, sink.url)
        published = publish_soon(api, center, DAY)
        (link,) = published["links"]
        before = len(events_of(api))
        # a refused move writes nothing
        assert_error(api.client.post(f"/v1/assignments/{link['assignment_id']}/check-in",
                                     headers=center), 409)  # fmt: skip
        assert len(events_of(api)) == before
        r = api.client.post(f"/v1/assignment-links/{link['token']}/decline", json={"reason": "ill"})
        assert r.status_code == 200
        (declined,) = events_of(api, "assignment.declined")
        assert declined.data["assignment_id"] == link["assignment_id"]
        # the delivery was queued by the same request, before any dispatcher ran
        queued = [x for x in deliveries(api) if x.event_id == declined.id]
        assert [(x.channel, x.status) for x in queued] == [("webhook", "pending")]


def test_a_failing_webhook_backs_off_dies_and_is_retried_on_request(database_url: str) -> None:
    with loop_api(database_url, delivery_max_attempts=3) as api, WebhookSink() as sink:
        _, center, _, _, _ = soon_week(api, DAY)
        _, other = api.org("center")
        hook(api, center, sink.url, "run.succeeded")
        sink.status = 500
        publish_soon(api, center, DAY)
        d = dispatcher(api)
        seen: list[Any] = []

        def dead() -> bool:
            (x,) = deliveries(api)
            seen.append((x.attempts, x.next_attempt_at))
            return x.status == "dead"

        deliver_until(d, dead)
        (x,) = deliveries(api)
        assert x.attempts == 3 and x.last_error == "HTTP 500"
        assert len(sink.received) == 3
        waits = sorted({t for n, t in seen if n in (1, 2)})
        assert len(waits) == 2 and waits[0] < waits[1]  # each retry later than the last
        listed = api.client.get("/v1/deliveries?status=dead", headers=center).json()["items"]
        assert [i["id"] for i in listed] == [x.id] and listed[0]["last_error"] == "HTTP 500"
        assert api.client.get("/v1/deliveries?status=dead", headers=other).json()["items"] == []
        assert_error(api.client.post(f"/v1/deliveries/{x.id}/retry", headers=other), 404)
        sink.status = 200
        retried = api.client.post(f"/v1/deliveries/{x.id}/retry", headers=center).json()
        assert retried["status"] == "pending" and retried["attempts"] == 0
        assert_error(api.client.post(f"/v1/deliveries/{x.id}/retry", headers=center), 409)
        deliver_until(d, lambda: deliveries(api)[0].status == "delivered")
        # every attempt was the same message: one idempotency id, one body
        assert len({h["X-Volmatch-Delivery"] for h, _ in sink.received}) == 1
        assert len(set(sink.bodies())) == 1 and len(sink.received) == 4


def test_a_webhook_that_times_out_is_tried_again(database_url: str) -> None:
    with loop_api(database_url, webhook_timeout_s=0.2) as api, WebhookSink() as sink:
        _, center, _, _, _ = soon_week(api, DAY)
        hook(api, center, sink.url, "run.succeeded")
        sink.delay_s = 1.0
        publish_soon(api, center, DAY)
        d = dispatcher(api)
        d.step()
        (x,) = deliveries(api)
        assert (x.status, x.attempts, x.last_error) == ("pending", 1, "timed out")
        sink.delay_s = 0
        deliver_until(d, lambda: deliveries(api)[0].status == "delivered")


@pytest.mark.database_independent
def test_retry_delays_grow_exponentially_with_jitter_up_to_the_cap(database_url: str) -> None:
    with loop_api(database_url, retry_base_s=10, retry_max_s=300) as api:
        rng = random.Random(4)
        for attempts, nominal in ((1, 10), (2, 20), (3, 40), (5, 160), (6, 300), (30, 300)):
            delays = [retry_delay(attempts, api.settings, rng) for _ in range(200)]
            assert nominal * 0.5 <= min(delays) and max(delays) <= nominal
            assert max(delays) - min(delays) > nominal * 0.3  # spread, not one value


def received_ids(smtp: SmtpSink) -> list[str]:
    return [str(m["Message-ID"]) for m in smtp.messages]


def body_of(message: EmailMessage) -> str:
    return str(message.get_content())


def test_email_end_to_end_through_a_real_smtp_server(database_url: str) -> None:
    port = free_port()
    email = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
             "smtp_from": "notice@volunteer.example.cn"}  # fmt: skip
    with loop_api(database_url, **email) as api, SmtpSink(port) as smtp:
        _uni, center, _, center_id, _ = soon_week(api, DAY, volunteers=1)
        api.client.patch(
            f"/v1/organizations/{center_id}/settings",
            json={"contact_name": "王老师", "contact_phone": "029-8888 0000"},
            headers=center,
        )
        (link,) = publish_soon(api, center, DAY)["links"]
        deliver_until(dispatcher(api), lambda: len(smtp.messages) == 1)
        (message,) = smtp.messages
        (sent,) = [x for x in deliveries(api) if x.channel == "email"]
        assert message["To"] == "S0000@example.edu"
        assert message["Message-ID"] == f"<{sent.idempotency_id}@volunteer.example.cn>"
        assert "新的志愿服务" in str(message["Subject"])
        text = body_of(message)
        for words in ("Smartphone class 0", "长安南路 88 号", "王老师 029-8888 0000", "确认"):
            assert words in text, text
        # the link in the message is the volunteer's own page
        url = next(line for line in text.splitlines() if "/v/" in line).strip()
        assert url.startswith("http://127.0.0.1:8000/v/")
        token = url.rsplit("/", 1)[1]
        assert api.client.get(f"/v/{token}").status_code == 200
        seen = api.client.get(f"/v1/assignment-links/{token}")
        assert seen.status_code == 200 and seen.json()["id"] == link["assignment_id"]
        assert token == link["token"]


@pytest.mark.database_independent
def test_english_for_volunteers_who_read_english(database_url: str) -> None:
    port = free_port()
    email = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    with loop_api(database_url, **email) as api, SmtpSink(port) as smtp:
        _, center, _, _, _ = soon_week(api, DAY, volunteers=1, languages=["en"])
        publish_soon(api, center, DAY)
        deliver_until(dispatcher(api), lambda: len(smtp.messages) == 1)
        text = body_of(smtp.messages[0])
        assert "What: Smartphone class 0" in text and "Confirm" in text
        assert "新的" not in text


def test_smtp_down_then_up_nothing_lost_nothing_sent_twice(database_url: str) -> None:
    port = free_port()
    email = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    with loop_api(database_url, **email) as api:
        _, center, _, _, _ = soon_week(api, [timedelta(days=2, hours=h) for h in (0, 2, 4)],
                                       volunteers=3)  # fmt: skip
        publish_soon(api, center, [timedelta(days=2, hours=h) for h in (0, 2, 4)])
        d = dispatcher(api)
        d.step()  # the server is down
        mails = [x for x in deliveries(api) if x.channel == "email"]
        assert len(mails) == 3
        assert {(x.status, x.attempts) for x in mails} == {("pending", 1)}
        assert {x.last_error for x in mails} == {"SMTP unavailable (ConnectionRefusedError)"}
        with SmtpSink(port) as smtp:
            deliver_until(d, lambda: len(smtp.messages) == 3)
            again = dispatcher(api, name="restarted")  # a restart finds nothing left to send
            time.sleep(0.2)
            assert again.run_until_idle() == 0
            ids = received_ids(smtp)
            assert sorted(ids) == sorted(set(ids)) and len(ids) == 3
        assert {x.status for x in deliveries(api) if x.channel == "email"} == {"delivered"}


@pytest.mark.database_independent
def test_sms_through_the_generic_http_provider(database_url: str) -> None:
    with WebhookSink() as provider:
        sms = {"sms_provider": "http_json", "sms_url": provider.url,
               "sms_token": SecretStr("provider-token")}  # fmt: skip
        with loop_api(database_url, **sms) as api:
            _, center, _, _, _ = soon_week(api, DAY, volunteers=1)
            (link,) = publish_soon(api, center, DAY)["links"]
            deliver_until(dispatcher(api), lambda: len(provider.received) == 1)
    headers, body = provider.received[0]
    sent = json.loads(body)
    assert headers["Authorization"] == "Bearer provider-token"
    assert sent["to"] == "+86 100 0000 0000"
    assert sent["text"].startswith("【志愿服务】") and link["token"] in sent["text"]
    assert sent["id"].endswith(".sms." + str(link["volunteer_id"]))


def test_an_erased_volunteer_is_never_written_to(database_url: str) -> None:
    port = free_port()
    email = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    with loop_api(database_url, **email) as api, SmtpSink(port) as smtp:
        uni, center, _, _, _ = soon_week(api, DAY, volunteers=1)
        (link,) = publish_soon(api, center, DAY)["links"]
        api.client.post(f"/v1/assignment-links/{link['token']}/decline", json={"reason": "moving"})
        assert api.client.delete(f"/v1/volunteers/{link['volunteer_id']}", headers=uni).status_code == 204
        dispatcher(api).run_until_idle()
        assert smtp.messages == []
        mails = [x for x in deliveries(api) if x.channel == "email"]
        assert mails and {x.status for x in mails} == {"skipped"}


@pytest.mark.database_independent
def test_webhook_urls_on_private_networks_are_refused_by_default(api: Api) -> None:
    _, center = api.org("center")
    for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/x",
                "ftp://93.184.216.34/x"):  # fmt: skip
        body = assert_error(api.client.post("/v1/webhooks", json={"url": url}, headers=center), 422)
        assert body["fields"][0]["loc"] == ["body", "url"]
    ok = api.client.post("/v1/webhooks", json={"url": "https://93.184.216.34/x"}, headers=center)
    assert ok.status_code == 201


def test_a_rotated_secret_signs_the_next_deliveries(database_url: str) -> None:
    with loop_api(database_url) as api, WebhookSink() as sink:
        _, center, _, _, _ = soon_week(api, DAY)
        first = hook(api, center, sink.url, "run.succeeded")
        rotated = api.client.post(f"/v1/webhooks/{first['id']}/secret", headers=center).json()
        assert rotated["secret"] != first["secret"]
        publish_soon(api, center, DAY)
        deliver_until(dispatcher(api), lambda: len(sink.received) == 1)
        headers, body = sink.received[0]
        verify(rotated["secret"], headers, body)
        with pytest.raises(AssertionError):
            verify(first["secret"], headers, body)


def test_two_dispatchers_never_claim_one_delivery(api: Api) -> None:
    now = utc_now()
    with transaction(api.sessions()) as session:
        org_id = api.admin_id
        (event,) = outbox_repo.insert_events(
            session, [{"event_id": "e", "type": "run.failed", "data": {}, "occurred_at": now}]
        )
        outbox_repo.insert_deliveries(
            session,
            [
                {"event_id": event, "idempotency_id": f"e.webhook.{i}", "event_type": "run.failed",
                 "organization_id": org_id, "channel": "webhook", "status": "pending",
                 "attempts": 0, "next_attempt_at": now, "created_at": now}
                for i in range(400)
            ],
        )  # fmt: skip
    claimed: dict[str, list[int]] = {"a": [], "b": [], "c": []}

    def claim(name: str) -> None:
        while True:
            with transaction(api.sessions()) as session:
                ids = outbox_repo.claim_due(
                    session, name, utc_now(), utc_now() + timedelta(minutes=5), 7
                )
            if not ids:
                return
            claimed[name].extend(ids)

    threads = [threading.Thread(target=claim, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for ids in claimed.values() for i in ids]
    assert len(everything) == len(set(everything)) == 400
    with transaction(api.sessions()) as session:
        rows = session.scalars(select(Delivery)).all()
        assert {r.status for r in rows} == {DeliveryStatus.SENDING} and {r.attempts for r in rows} == {1}
        assert all(r.id in claimed[str(r.claimed_by)] for r in rows)


def test_the_solving_process_delivers_while_a_long_solve_runs(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dispatcher is a thread of the solving process with its own loop: a message recorded
    while a solve runs is delivered before the solve ends."""
    import api.worker
    from api.services import events
    from api.worker import serve_queue

    release = threading.Event()
    real = api.worker.solve_run

    def long_solve(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(60), "the test never let the solve end"
        return real(*args, **kwargs)

    monkeypatch.setattr(api.worker, "solve_run", long_solve)
    with loop_api(database_url, embedded_dispatcher=True, dispatcher_poll_s=0.05) as api_, \
            WebhookSink() as sink:  # fmt: skip
        _, center, _, center_id, _ = soon_week(api_, DAY)
        hook(api_, center, sink.url, "request.unfilled")
        run = api_.client.post("/v1/match-runs", json={"window": run_window(DAY),
                               "engine": "greedy", "time_limit_s": 1}, headers=center).json()  # fmt: skip
        stop = threading.Event()
        solving = threading.Thread(target=serve_queue, args=(api_.settings, stop))
        solving.start()
        try:

            def status() -> str:
                r = api_.client.get(f"/v1/match-runs/{run['id']}", headers=center)
                return str(r.json()["status"])

            deadline = time.monotonic() + 60
            while status() != "running":
                assert time.monotonic() < deadline, "the run never started"
                time.sleep(0.05)
            with transaction(api_.sessions()) as session:
                events.record(session, api_.settings, [events.Event(
                    type=events.EventType.REQUEST_UNFILLED, data={"request_id": 1},
                    organizations=(center_id,))])  # fmt: skip
            while not sink.received:
                assert time.monotonic() < deadline, "nothing delivered during the solve"
                time.sleep(0.05)
            assert status() == "running"  # delivered while the solve goes on
            release.set()
            while status() == "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert status() == "succeeded"
        finally:
            release.set()
            stop.set()
            solving.join(60)


def test_the_documented_verification_accepts_real_signatures_only() -> None:
    """The Python snippet of docs/notifications.md, run as written, against the service's
    signatures: right secret and fresh: yes; wrong secret, changed body or stale: no."""
    import re
    from pathlib import Path

    from api.notifications.webhook import signature

    doc = (Path(__file__).parents[2] / "docs" / "notifications.md").read_text()
    match = re.search(r"```python\n(.*?)```", doc, re.S)
    assert match is not None
    namespace: dict[str, Any] = {}
    exec(match.group(1), namespace)
    check = namespace["verify"]
    body = b'{"id":"e1","type":"assignment.declined"}'
    now = int(time.time())
    header = signature("whsec_doc", now, body)
    assert check("whsec_doc", header, body)
    assert not check("whsec_other", header, body)
    assert not check("whsec_doc", header, body + b" ")
    assert not check("whsec_doc", header, body, now=now + 301)
    assert not check("whsec_doc", "garbage", body)

"""Faults of the outbox's delivery against a real `volmatch dispatcher` process over a throwaway
PostgreSQL on loopback:

- webhooks: the dispatcher is killed (SIGKILL) in the middle of a batch and started again:
  every message arrives, and the only repeats are messages of the batch it held, each with the
  same delivery id and body as the first copy;
- email: the dispatcher is stopped (SIGTERM) and started again: nothing is sent twice; then it
  is killed (SIGKILL) while the SMTP server is accepting a message, and started again: nothing
  is lost, no message marked delivered is sent again, and at most the one message in flight is
  repeated, with the same Message-ID.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from benchmarks import pg
from benchmarks.notify import DispatcherProcess, prepare_outbox, wait_for
from benchmarks.sinks import SmtpSink, WebhookSink
from tests.api.conftest import Api
from tests.api.notify import loop_settings, publish_soon, soon_week

pytestmark = pytest.mark.skipif(not pg.available(), reason="PostgreSQL server binaries missing")
BATCH = 40


@pytest.fixture(scope="module")
def cluster() -> Iterator[pg.Postgres]:
    with pg.Postgres.throwaway() as postgres:
        yield postgres


@pytest.fixture
def database(cluster: pg.Postgres, request: pytest.FixtureRequest) -> str:
    return cluster.create_database(request.node.name.replace("test_", "n_")[:60])


def rows(url: str, sql: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            return list(db.execute(text(sql)).all())
    finally:
        engine.dispose()


def kill(dispatcher: DispatcherProcess) -> None:
    assert dispatcher.process is not None
    os.kill(dispatcher.process.pid, signal.SIGKILL)
    dispatcher.process.wait(10)
    dispatcher.stop()


def test_sigkill_mid_batch_loses_no_webhook(database: str, tmp_path: Path) -> None:
    n = 600
    env = {"VOLMATCH_DISPATCH_BATCH": str(BATCH)}
    with WebhookSink() as sink:
        sink.delay_s = 0.005
        prepare_outbox(database, sink.url, n)
        first = DispatcherProcess(database, tmp_path / "d.log", env).start()
        # off the batch boundaries: in the middle of sending a batch
        wait_for(lambda: len(sink.received) >= n // 3 + 13, 120, "a third of the deliveries")
        kill(first)
        at_kill = len(sink.received)
        held = rows(database, "SELECT count(*) FROM deliveries WHERE status = 'sending'")[0][0]
        assert 0 < at_kill < n
        with DispatcherProcess(database, tmp_path / "d.log", env):
            done = "SELECT count(*) FROM deliveries WHERE status = 'delivered'"
            wait_for(lambda: rows(database, done)[0][0] == n, 120, "every delivery")
        received = [(h["X-Volmatch-Delivery"], body) for h, body in sink.received]
    copies = Counter(delivery for delivery, _ in received)
    assert len(copies) == n  # nothing lost
    repeated = [d for d, c in copies.items() if c > 1]
    assert len(repeated) <= max(held, BATCH) and all(copies[d] == 2 for d in repeated)
    for delivery in repeated:  # a repeat is the same message
        assert len({body for d, body in received if d == delivery}) == 1
    requests = sorted(json.loads(body)["data"]["request_id"] for _, body in received)
    assert sorted(set(requests)) == list(range(n))
    attempts = rows(database, "SELECT max(attempts) FROM deliveries")[0][0]
    assert attempts <= 2


def test_email_stopped_and_killed_mid_send_nothing_lost_nothing_twice(
    database: str, tmp_path: Path
) -> None:
    port = pg.free_port()
    email = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    settings = loop_settings(database, **email)
    n = 30
    starts = [timedelta(days=2)] * n
    with TestClient(create_app(settings)) as client:
        api = Api(client, settings)
        _, center, _, _, _ = soon_week(api, starts, volunteers=n, max_assignments=1)
        assert len(publish_soon(api, center, starts)["links"]) == n
    env = {
        "VOLMATCH_SMTP_HOST": "127.0.0.1",
        "VOLMATCH_SMTP_PORT": str(port),
        "VOLMATCH_SMTP_SECURITY": "none",
        "VOLMATCH_DISPATCH_BATCH": "5",  # a graceful stop ends after its batch of 5
    }
    log = tmp_path / "d.log"
    with SmtpSink(port, delay_s=0.15) as smtp:
        graceful = DispatcherProcess(database, log, env).start()
        wait_for(lambda: len(smtp.messages) >= 3, 60, "the first emails")
        graceful.stop(signal.SIGTERM)  # finishes its batch, then exits
        after_stop = [str(m["Message-ID"]) for m in smtp.messages]
        assert len(after_stop) == len(set(after_stop))

        second = DispatcherProcess(database, log, env).start()
        wait_for(lambda: len(smtp.messages) >= len(after_stop) + 5, 60, "more emails")
        time.sleep(0.07)  # into the server's handling of the next message
        kill(second)
        marked = {
            f"<{i}@localhost>"
            for (i,) in rows(
                database,
                "SELECT idempotency_id FROM deliveries WHERE channel = 'email' "
                "AND status = 'delivered'",
            )
        }
        with DispatcherProcess(database, log, env):
            done = (
                "SELECT count(*) FROM deliveries WHERE channel = 'email' AND status = 'delivered'"
            )
            wait_for(lambda: rows(database, done)[0][0] == n, 120, "every email")
        time.sleep(0.3)  # a message the killed process handed over is being stored
        received = Counter(str(m["Message-ID"]) for m in smtp.messages)
    expected = {
        f"<{i}@localhost>"
        for (i,) in rows(database, "SELECT idempotency_id FROM deliveries WHERE channel = 'email'")
    }
    assert set(received) == expected  # nothing lost
    assert all(received[m] == 1 for m in marked)  # nothing marked delivered went again
    repeats = [m for m, c in received.items() if c > 1]
    assert len(repeats) <= 1 and all(received[m] == 2 for m in repeats), received

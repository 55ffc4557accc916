"""Fault injection against the real service (`volmatch serve` with its solving process) over a
throwaway PostgreSQL on loopback:

- the solving process is killed with SIGKILL mid-run: the run is re-queued and completes,
  and no plan is published half-way;
- PostgreSQL stops (immediate shutdown) while an import is writing: the answer is a 503, the
  batch is rejected whole, nothing of it is there after the restart, and the same request
  (same Idempotency-Key) then succeeds once;
- the API is restarted (SIGTERM, then SIGKILL of the whole process group) while runs are queued
  and one is solving: they all finish.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from benchmarks import pg
from benchmarks.api_perf import WINDOW, _requests, _roster
from benchmarks.service import Service
from matcher import check_plan, parse_instance
from matcher.model import Plan
from scenarios.cityweek import city_week

pytestmark = pytest.mark.skipif(not pg.available(), reason="PostgreSQL server binaries missing")
FAST = {"VOLMATCH_WORKER_POLL_S": "0.1"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[pg.Postgres]:
    with pg.Postgres.throwaway() as postgres:
        yield postgres


@pytest.fixture
def database(cluster: pg.Postgres, request: pytest.FixtureRequest) -> str:
    return cluster.create_database(request.node.name.replace("test_", "f_")[:60])


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll until `predicate()` is truthy; its value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def scalar(url: str, sql: str, **params: Any) -> Any:
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            return db.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def load_week(service: Service, volunteers: int, requests: int) -> dict[str, str]:
    """A city week imported by a university and submitted by a center; the center's headers."""
    week = city_week(volunteers, requests, seed=7)
    _, uni = service.org("university", "Fault University")
    _, center = service.org("center", "Fault Center")
    service.client.post("/v1/volunteers/import", json=_roster(week), headers=uni).raise_for_status()
    service.client.post("/v1/requests", json=_requests(week), headers=center).raise_for_status()
    return center


def test_sigkill_of_the_solving_process_mid_run(database: str, tmp_path: Path) -> None:
    with Service(database, tmp_path, env=FAST) as service:
        center = load_week(service, 500, 80)
        run = service.client.post(
            "/v1/match-runs", json={"window": WINDOW, "time_limit_s": 5}, headers=center
        ).json()

        def state() -> dict[str, Any]:
            r = service.client.get(f"/v1/match-runs/{run['id']}", headers=center)
            return r.json()  # type: ignore[no-any-return]

        wait_for(lambda: state()["status"] == "running", 60, "the solve to start")
        (solver,) = service.worker_pids()
        os.kill(solver, signal.SIGKILL)
        # a killed solve publishes nothing: no plan yet, no assignment
        assert state()["status"] in ("running", "queued") and state()["objective"] is None
        assert scalar(database, "SELECT count(*) FROM assignments") == 0
        done = wait_for(
            lambda: (s := state())["status"] not in ("queued", "running") and s, 90, "the run"
        )
        assert done["status"] == "succeeded" and done["attempts"] == 2, done
        assert service.worker_pids() and service.worker_pids() != [solver]  # replaced
        # the plan is whole: it keeps every hard rule of the instance it solved
        engine = create_engine(database)
        with engine.connect() as db:
            instance, plan = db.execute(
                text("SELECT instance, plan FROM match_runs WHERE id = :id"), {"id": run["id"]}
            ).one()
        engine.dispose()
        assert check_plan(parse_instance(instance), Plan.model_validate(plan)).ok
        published = service.client.post(f"/v1/match-runs/{run['id']}/publish", headers=center)
        assert published.status_code == 200, published.text
        count = scalar(database, "SELECT count(*) FROM assignments WHERE run_id = :r", r=run["id"])
        assert count == published.json()["created"] == len(plan["assignments"]) > 0


def writing_volunteers(database: str) -> bool:
    """Whether a transaction holds a write lock on the volunteers table (an import writing)."""
    sql = (
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = 'volunteers' AND l.mode = 'RowExclusiveLock' AND l.granted"
    )
    return bool(scalar(database, sql))


def test_postgres_stopped_mid_import_rejects_the_batch_whole(
    cluster: pg.Postgres, database: str, tmp_path: Path
) -> None:
    roster = _roster(city_week(6000, 10, seed=8))
    with Service(database, tmp_path, env=FAST) as service:
        uni_id, uni = service.org("university", "Big University")
        headers = {**uni, "Idempotency-Key": "spring-roster"}
        answer: dict[str, httpx.Response] = {}
        sender = threading.Thread(
            target=lambda: answer.setdefault(
                "r", service.client.post("/v1/volunteers/import", json=roster, headers=headers)
            )
        )
        sender.start()
        wait_for(lambda: writing_volunteers(database) or "r" in answer, 120, "the import's writes")
        assert "r" not in answer, "the import finished before PostgreSQL could be stopped"
        cluster.stop("immediate")
        sender.join(120)
        r = answer["r"]
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["error"] == "unavailable" and set(body) == {"error", "detail", "fields"}
        assert r.headers["Retry-After"]
        cluster.start()
        wait_for(lambda: service.client.get("/readyz").status_code == 200, 60, "readiness")
        stored = "SELECT count(*) FROM volunteers WHERE university_id = :u"
        assert scalar(database, stored, u=uni_id) == 0  # nothing partial
        assert scalar(database, "SELECT count(*) FROM availability_windows") == 0
        retried = service.client.post("/v1/volunteers/import", json=roster, headers=headers)
        assert retried.status_code == 200 and retried.json()["created"] == len(roster)
        assert scalar(database, stored, u=uni_id) == len(roster)


def test_runs_queued_across_api_restarts_all_finish(database: str, tmp_path: Path) -> None:
    with Service(database, tmp_path, env=FAST) as service:
        center = load_week(service, 200, 30)

        def queue(n: int) -> list[int]:
            return [
                service.client.post(
                    "/v1/match-runs",
                    json={"window": WINDOW, "time_limit_s": 1, "seed": i},
                    headers=center,
                ).json()["id"]
                for i in range(n)
            ]

        def status(run_id: int) -> str:
            r = service.client.get(f"/v1/match-runs/{run_id}", headers=center)
            return str(r.json()["status"])

        runs = queue(2)
        wait_for(lambda: status(runs[0]) == "running", 60, "the first run to start")
        service.restart(signal.SIGTERM)  # graceful: the solving run is handed back
        # Not lost; the new solving process may already have taken it (a second's solve).
        assert status(runs[1]) in ("queued", "running", "succeeded")
        runs += queue(2)
        wait_for(lambda: any(status(r) == "running" for r in runs), 60, "a run to start")
        service.restart(signal.SIGKILL)  # a crash of the API and its solving process together
        final = wait_for(
            lambda: all((s := status(r)) not in ("queued", "running") for r in runs) and s,
            180,
            "every run",
        )
        assert final
        assert [status(r) for r in runs] == ["succeeded"] * len(runs)
        attempts = [
            service.client.get(f"/v1/match-runs/{r}", headers=center).json()["attempts"]
            for r in runs
        ]
        # each run executed to the end once: a crash costs at most one more attempt, a graceful
        # stop none (the run is handed back)
        assert all(1 <= a <= 2 for a in attempts), attempts

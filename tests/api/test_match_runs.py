"""Match runs: queueing, solving in a worker, the plan, stopping, recovery, exactly-once claims,
publishing, and the rule that one volunteer is one person across all centers and runs."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.db import transaction
from api.models import MatchRun, RunStatus, utc_now
from api.repositories import match_runs as run_repo
from api.worker import Worker
from matcher import check_plan, parse_instance
from matcher import solve as matcher_solve
from matcher.model import Plan
from scenarios.cityweek import city_week
from tests.api.conftest import Api, assert_error
from tests.api.data import WINDOW, at, request, volunteer


def setup_week(
    api: Api, volunteers: int = 4, requests: int = 2
) -> tuple[dict[str, str], dict[str, str], list[int], list[int]]:
    _, uni = api.org("university")
    _, center = api.org("center")
    vids = [
        v["id"]
        for v in api.client.post(
            "/v1/volunteers/import",
            json=[volunteer(f"S{i:04d}") for i in range(volunteers)],
            headers=uni,
        ).json()["volunteers"]
    ]
    rids = [
        r["id"]
        for r in api.client.post(
            "/v1/requests",
            json=[
                request(f"R{j}", start=at(f"{9 + 2 * j:02d}:00"), end=at(f"{10 + 2 * j:02d}:00"))
                for j in range(requests)
            ],
            headers=center,
        ).json()["requests"]
    ]
    return uni, center, vids, rids


def load_city_week(api: Api, volunteers: int, requests: int) -> dict[str, str]:
    """A seeded city week imported by a university and submitted by a center; the center."""
    week = city_week(volunteers, requests, seed=5)
    _, uni = api.org("university")
    _, center = api.org("center")
    rows = [
        {"external_id": v["id"], **{k: x for k, x in v.items() if k != "id"}}
        for v in week["volunteers"]
    ]
    assert api.client.post("/v1/volunteers/import", json=rows, headers=uni).status_code == 200
    reqs = [
        {"title": r["id"], **{k: x for k, x in r.items() if k != "id"}} for r in week["requests"]
    ]
    assert api.client.post("/v1/requests", json=reqs, headers=center).status_code == 201
    return center


def queue(api: Api, headers: dict[str, str], **fields: object) -> dict:  # type: ignore[type-arg]
    r = api.client.post(
        "/v1/match-runs", json={"window": WINDOW, "time_limit_s": 2, **fields}, headers=headers
    )
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == f"/v1/match-runs/{r.json()['id']}"
    return r.json()  # type: ignore[no-any-return]


def stored_instance_and_plan(api: Api, run_id: int) -> tuple[object, Plan]:
    with transaction(api.sessions()) as session:
        run = run_repo.get_run(session, run_id)
        assert run is not None and run.instance is not None and run.plan is not None
        return parse_instance(run.instance), Plan.model_validate(run.plan)


def test_a_run_is_queued_solved_and_its_plan_keeps_every_rule(api: Api) -> None:
    _, center, vids, rids = setup_week(api)
    run = queue(api, center)
    assert run["status"] == "queued" and run["center_ids"] and run["progress"]["fraction"] == 0
    assert_error(api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center), 409)
    assert api.solve_queued() == 1
    done = api.client.get(f"/v1/match-runs/{run['id']}", headers=center).json()
    assert done["status"] == "succeeded", done
    assert done["objective"]["coverage"] == 2 and done["bound"] == 2
    plan = api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center).json()
    assert {a["request_id"] for a in plan["assignments"]} == set(rids)
    assert {a["volunteer_id"] for a in plan["assignments"]} <= set(vids)
    assert plan["unfilled"] == []
    assert "Name" not in str(plan)  # ids only
    instance, stored = stored_instance_and_plan(api, run["id"])
    assert check_plan(instance, stored).ok  # type: ignore[arg-type]


@pytest.mark.database_independent
@pytest.mark.parametrize("workers", [1, 2])
def test_the_solve_gets_the_configured_number_of_workers(
    api: Api, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    given: list[int] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        given.append(kwargs["workers"])
        return matcher_solve(*args, **kwargs)

    monkeypatch.setattr("api.worker.solve", recording)
    api.settings = api.settings.model_copy(update={"solve_workers": workers})
    _, center, _, _ = setup_week(api)
    queue(api, center)
    assert api.solve_queued() == 1
    assert given == [workers]


def test_solve_workers_other_than_one_or_two_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError

    from api.settings import Settings

    monkeypatch.setenv("VOLMATCH_SOLVE_WORKERS", "3")
    with pytest.raises(ValidationError, match="solve_workers"):
        Settings()


@pytest.mark.database_independent
def test_unfilled_requests_come_with_reasons(api: Api) -> None:
    _, center, _, _ = setup_week(api)
    api.client.post(
        "/v1/requests", json=[request("legal", required_skills=["legal"])], headers=center
    )
    run = queue(api, center)
    api.solve_queued()
    plan = api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center).json()
    (unfilled,) = plan["unfilled"]
    assert (
        unfilled["missing"] == 1 and unfilled["codes"] == ["no_candidate"] and unfilled["reasons"]
    )


@pytest.mark.database_independent
def test_run_input_errors(api: Api) -> None:
    _, center = api.org("center")
    other_id, _ = api.org("center")
    _, uni = api.org("university")
    bad_window = {"start": WINDOW["end"], "end": WINDOW["start"]}
    assert_error(
        api.client.post("/v1/match-runs", json={"window": bad_window}, headers=center), 422
    )
    too_long = {"window": WINDOW, "time_limit_s": 10_000}
    body = assert_error(api.client.post("/v1/match-runs", json=too_long, headers=center), 422)
    assert body["fields"][0]["loc"] == ["body", "time_limit_s"]
    assert_error(
        api.client.post(
            "/v1/match-runs", json={"window": WINDOW, "engine": "magic"}, headers=center
        ),
        422,
    )
    assert_error(
        api.client.post(
            "/v1/match-runs", json={"window": WINDOW, "center_ids": [other_id]}, headers=center
        ),
        404,
    )
    assert_error(api.client.post("/v1/match-runs", json={"window": WINDOW}, headers=uni), 403)
    assert_error(
        api.client.post(
            "/v1/match-runs", json={"window": WINDOW, "center_ids": [999]}, headers=api.admin
        ),
        404,
    )


def test_runs_are_private_to_their_creator(api: Api) -> None:
    _, center = api.org("center")
    _, other = api.org("center")
    run = queue(api, center)
    for method, path in (
        ("get", ""),
        ("get", "/plan"),
        ("delete", ""),
        ("post", "/publish"),
        ("post", "/repair"),
    ):
        assert_error(
            api.client.request(method, f"/v1/match-runs/{run['id']}{path}", headers=other), 404
        )
    assert api.client.get("/v1/match-runs", headers=other).json()["items"] == []
    assert [r["id"] for r in api.client.get("/v1/match-runs", headers=center).json()["items"]] == [
        run["id"]
    ]


def test_delete_cancels_a_queued_run_and_finished_runs_are_409(api: Api) -> None:
    _, center, _, _ = setup_week(api)
    run = queue(api, center)
    stopped = api.client.delete(f"/v1/match-runs/{run['id']}", headers=center).json()
    assert stopped["status"] == "cancelled"
    assert api.solve_queued() == 0
    assert_error(api.client.delete(f"/v1/match-runs/{run['id']}", headers=center), 409)
    assert_error(api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center), 409)


def test_delete_of_a_running_run_stops_it_and_keeps_the_best_plan(api: Api) -> None:
    _, center, _, _ = setup_week(api)
    run = queue(api, center, time_limit_s=60)
    sessions = api.sessions()
    with transaction(sessions) as session:
        assert run_repo.claim_next(session, "w", utc_now()) == run["id"]
    assert api.client.delete(f"/v1/match-runs/{run['id']}", headers=center).json()[
        "cancel_requested"
    ]
    started = time.monotonic()
    Worker(api.settings, sessions, name="w").execute(run["id"])
    assert time.monotonic() - started < 30
    done = api.client.get(f"/v1/match-runs/{run['id']}", headers=center).json()
    assert done["status"] == "cancelled" and done["objective"] is not None
    assert api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center).status_code == 200


def test_a_claim_happens_once(api: Api) -> None:
    _, center, _, _ = setup_week(api)
    run = queue(api, center)
    with transaction(api.sessions()) as session:
        assert run_repo.claim_next(session, "first", utc_now()) == run["id"]
    with transaction(api.sessions()) as session:
        assert run_repo.claim_next(session, "second", utc_now()) is None
    # a worker that lost its claim cannot write a result
    with transaction(api.sessions()) as session:
        assert not run_repo.finish(session, run["id"], "second", status=RunStatus.SUCCEEDED)


def test_a_run_left_running_by_a_dead_process_is_requeued_then_failed(api: Api) -> None:
    _, center, _, _ = setup_week(api)
    run = queue(api, center)
    long_ago = utc_now() - timedelta(hours=1)

    def orphan() -> None:
        with transaction(api.sessions()) as session:
            assert run_repo.claim_next(session, "elsewhere:1", utc_now()) == run["id"]
            session.execute(
                update(MatchRun).where(MatchRun.id == run["id"]).values(heartbeat_at=long_ago)
            )

    orphan()
    Worker(api.settings, api.sessions(), name="next").recover()
    again = api.client.get(f"/v1/match-runs/{run['id']}", headers=center).json()
    assert again["status"] == "queued" and "re-queued" in again["progress"]["phase"]
    for _ in range(api.settings.max_attempts - 1):
        orphan()
        Worker(api.settings, api.sessions(), name="next").recover()
    failed = api.client.get(f"/v1/match-runs/{run['id']}", headers=center).json()
    assert failed["status"] == "failed" and "stopped" in failed["error"]


def test_a_recently_silent_run_of_a_live_worker_elsewhere_is_left_alone(api: Api) -> None:
    _, center, _, _ = setup_week(api)
    run = queue(api, center)
    with transaction(api.sessions()) as session:
        run_repo.claim_next(session, "another-host:1", utc_now())
    Worker(api.settings, api.sessions(), name="next").recover()
    assert (
        api.client.get(f"/v1/match-runs/{run['id']}", headers=center).json()["status"] == "running"
    )


def test_the_embedded_solving_process_runs_outside_the_api(settings) -> None:  # type: ignore[no-untyped-def]
    live = settings.model_copy(update={"embedded_worker": True, "worker_poll_s": 0.1})
    with TestClient(create_app(live)) as client:
        api = Api(client, live)
        _, center, _, _ = setup_week(api)
        run = queue(api, center)
        deadline = time.monotonic() + 60
        status = "queued"
        while status in ("queued", "running") and time.monotonic() < deadline:
            assert client.get("/healthz").status_code == 200  # the API answers meanwhile
            time.sleep(0.2)
            status = client.get(f"/v1/match-runs/{run['id']}", headers=center).json()["status"]
        assert status == "succeeded"
    with transaction(api.sessions()) as session:
        stored = run_repo.get_run(session, run["id"])
        assert stored is not None and stored.worker is not None
        assert not stored.worker.endswith(f":{__import__('os').getpid()}")  # another process


@pytest.mark.database_independent
def test_an_unsolvable_run_fails_with_the_reason(api: Api) -> None:
    uni, center, vids, _ = setup_week(api, volunteers=1, requests=1)
    run = queue(api, center)
    api.solve_queued()
    api.client.post(f"/v1/match-runs/{run['id']}/publish", headers=center)
    (assignment,) = api.client.get("/v1/assignments", headers=center).json()["items"]
    assert (
        api.client.post(f"/v1/assignments/{assignment['id']}/confirm", headers=uni).status_code
        == 200
    )
    # the university removes the volunteer's availability: the confirmed (pinned) pair breaks rule 4
    api.client.patch(
        f"/v1/volunteers/{vids[0]}",
        json={"availability": [{"start": at("18:00"), "end": at("20:00")}]},
        headers=uni,
    )
    repair = api.client.post(
        f"/v1/match-runs/{run['id']}/repair", json={"time_limit_s": 2}, headers=center
    ).json()
    api.solve_queued()
    failed = api.client.get(f"/v1/match-runs/{repair['id']}", headers=center).json()
    assert failed["status"] == "failed" and "rule 4" in failed["error"]


def test_a_killed_solving_process_is_replaced_and_its_run_taken_up_again(settings) -> None:  # type: ignore[no-untyped-def]
    live = settings.model_copy(update={"embedded_worker": True, "worker_poll_s": 0.1})
    with TestClient(create_app(live)) as client:
        api = Api(client, live)
        center = load_city_week(api, 1500, 200)
        run = queue(api, center, time_limit_s=60)

        def wait_for(predicate, timeout_s: float = 60):  # type: ignore[no-untyped-def]
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                state = client.get(f"/v1/match-runs/{run['id']}", headers=center).json()
                if predicate(state):
                    return state
                time.sleep(0.05)
            raise AssertionError(f"timed out; last state {state}")

        wait_for(lambda s: s["status"] == "running")
        first_pid = api.app.state.worker.pid
        os.kill(first_pid, signal.SIGKILL)
        again = wait_for(lambda s: s["status"] == "running" and s["attempts"] == 2)
        assert api.app.state.worker.pid != first_pid
        assert again["error"] is None
        client.delete(f"/v1/match-runs/{run['id']}", headers=center)
        done = wait_for(lambda s: s["status"] == "cancelled")
        assert done["objective"] is not None  # the best plan found was kept


@pytest.mark.database_independent
def test_a_solve_stuck_past_its_deadline_is_abandoned_and_the_process_replaced(settings) -> None:  # type: ignore[no-untyped-def]
    strict = settings.model_copy(
        update={
            "embedded_worker": True,
            "worker_poll_s": 0.1,
            "overrun_factor": 0.0,
            "overrun_grace_s": 0.5,
        }
    )
    with TestClient(create_app(strict)) as client:
        api = Api(client, strict)
        center = load_city_week(api, 1500, 200)
        first_pid = api.app.state.worker.pid
        run = queue(api, center, time_limit_s=5)
        deadline = time.monotonic() + 60
        state = run
        while state["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.1)
            state = client.get(f"/v1/match-runs/{run['id']}", headers=center).json()
        assert state["status"] == "failed" and "did not stop within" in state["error"]
        while api.app.state.worker.pid == first_pid and time.monotonic() < deadline:
            time.sleep(0.1)
        assert api.app.state.worker.pid != first_pid  # a fresh solving process took over


def test_concurrent_workers_claim_each_run_exactly_once(api: Api) -> None:
    import threading

    _, center, _, _ = setup_week(api)
    queued = {queue(api, center)["id"] for _ in range(12)}
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while True:
            with transaction(api.sessions()) as session:
                got = run_repo.claim_next(session, name, utc_now())
            if got is None:
                with transaction(api.sessions()) as session:
                    if (
                        not session.query(MatchRun)
                        .filter(MatchRun.status == RunStatus.QUEUED)
                        .count()
                    ):
                        return
                continue
            with lock:
                claimed.append(got)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(claimed) == sorted(queued)  # every run once, none twice


def test_lists_and_views_of_runs_never_load_plans_or_instances(api: Api) -> None:
    """Plans and instances run to megabytes: a list of runs or a run's status reads neither
    (they are deferred columns), yet shows the plan's objective and bound."""
    from sqlalchemy import event

    _, center, _, _ = setup_week(api)
    run = queue(api, center)
    api.solve_queued()
    statements: list[str] = []
    engine = api.sessions().kw["bind"]

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        listed = api.client.get("/v1/match-runs", headers=center).json()["items"]
        one = api.client.get(f"/v1/match-runs/{run['id']}", headers=center).json()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert listed[0]["objective"]["coverage"] == 2 and listed[0]["bound"] == 2
    assert one["objective"] == listed[0]["objective"]
    run_reads = [s for s in statements if "FROM match_runs" in s]
    assert run_reads and not any(
        "match_runs.plan" in s or "match_runs.instance" in s for s in run_reads
    )


def test_migration_0002_copies_each_plans_objective(tmp_path: Path) -> None:
    """A database at revision 0001 with runs with and without a plan (and a plan without an
    objective): upgrading gives each run its plan's objective or NULL; downgrading drops the
    column in place (rebuilding the table would cascade to the runs' assignments)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import event, text

    from api.db import MIGRATIONS, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    objective = {"coverage": 7, "travel_km": 1.5}
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO organizations (id, name, kind, timezone, created_at) "
                "VALUES (1, 'c', 'center', 'Asia/Shanghai', '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO match_runs (id, organization_id, kind, status, engine, time_limit_s,"
                " seed, window_start, window_end, offset_min, center_ids, progress,"
                " cancel_requested, attempts, created_at, plan) VALUES (NULL, 1, 'match',"
                " 'succeeded', 'optimal', 2, 0, '2026-01-01 00:00:00', '2026-01-02 00:00:00', 0,"
                " '[1]', 1.0, 0, 1, '2026-01-01 00:00:00', :plan)"
            ),
            [
                {"plan": json.dumps({"objective": objective})},
                {"plan": None},
                {"plan": json.dumps({"status": "feasible"})},
            ],
        )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        stored = connection.execute(text("SELECT objective FROM match_runs ORDER BY id")).scalars()
        assert [None if v is None else json.loads(v) for v in stored] == [objective, None, None]
    with engine.begin() as connection:  # later revisions' tables go first: not 0002's concern
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
        assert connection.execute(text("SELECT count(*) FROM match_runs")).scalar_one() == 3
    engine.dispose()
    assert not any("DROP TABLE" in s.upper() for s in statements), statements


def test_an_instance_for_checking_a_plan_holds_only_its_volunteers_and_the_holders(
    api: Api,
) -> None:
    """Publishing checks a plan against an instance of the plan's volunteers (and those holding
    assignments on the run's requests), not of everyone available in the window."""
    from api.services import instances

    _, center, vids, _ = setup_week(api, volunteers=5, requests=2)
    run = queue(api, center)
    api.solve_queued()
    with transaction(api.sessions()) as session:
        stored = run_repo.get_run(session, run["id"])
        assert stored is not None
        everyone = instances.build_instance(session, stored)
        some = instances.build_instance(session, stored, {vids[3]})
    assert {v["id"] for v in everyone["volunteers"]} == {f"v{v}" for v in vids}
    assert [v["id"] for v in some["volunteers"]] == [f"v{vids[3]}"]
    assert some["requests"] == everyone["requests"]
    (kept,) = some["volunteers"]
    assert kept == next(v for v in everyone["volunteers"] if v["id"] == kept["id"])

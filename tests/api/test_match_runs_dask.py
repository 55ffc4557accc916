"""Large runs go to Dask (`VOLMATCH_DASK_*`): solved there with progress reported as parts
finish, to the plan the solving process would have made, while smaller runs stay in the solving
process."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

import cluster
from api.app import create_app
from api.repositories import match_runs as worker_repo
from api.worker import Worker
from matcher import Instance, solve
from tests.api.conftest import Api, make_settings
from tests.api.test_match_runs import load_city_week, queue, stored_instance_and_plan


@pytest.mark.database_independent
def test_a_large_run_is_solved_on_dask_and_reports_progress(
    database_url: str, dask_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(
        database_url,
        dask_min_volunteers=500,
        dask_scheduler=dask_client.scheduler.address,
        heartbeat_s=0.05,
    )
    written: list[dict[str, Any]] = []
    heartbeat = worker_repo.heartbeat

    def recording(session: Any, run_id: int, name: str, now: Any, **values: Any) -> Any:
        written.append(values)
        return heartbeat(session, run_id, name, now, **values)

    monkeypatch.setattr(worker_repo, "heartbeat", recording)
    with TestClient(create_app(settings)) as client:
        api = Api(client, settings)
        center = load_city_week(api, 600, 60)
        run = queue(api, center, time_limit_s=30)
        worker = Worker(settings, api.sessions(), name="test-worker")
        try:
            assert worker.run_until_idle() == 1
        finally:
            cluster.close()
        body = api.client.get(f"/v1/match-runs/{run['id']}", headers=center).json()
        assert body["status"] == "succeeded", body
        assert body["progress"]["fraction"] == 1.0
        plan = api.client.get(f"/v1/match-runs/{run['id']}/plan", headers=center).json()
        assert plan["stats"]["executor"] == "dask"
        # Progress came from the parts as they finished, before the run's end.
        phases = [w["phase"] for w in written if w.get("phase")]
        assert any(" done" in p for p in phases), phases
        # The parts are independent: the plan covers what the solving process's own covers.
        instance, stored = stored_instance_and_plan(api, run["id"])
        assert isinstance(instance, Instance)
        here = solve(instance, time_limit_s=30, seed=run["seed"])
        assert stored.objective.coverage == here.objective.coverage
        assert stored.bound.coverage == here.bound.coverage


@pytest.mark.database_independent
def test_a_small_run_stays_in_the_solving_process(database_url: str) -> None:
    settings = make_settings(
        database_url, dask_min_volunteers=1000, dask_scheduler="tcp://127.0.0.1:9"
    )
    worker = Worker(settings, sessions=None)  # type: ignore[arg-type]
    assert worker.executor_for(999) is None  # never connects (the address is unreachable)
    assert not worker.has_cluster

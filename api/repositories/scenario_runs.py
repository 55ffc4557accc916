"""Queries on planners' scenario runs and their charts, including the solving process's atomic
claim (`api.repositories.run_claims`, shared with match runs: each run is executed once)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.models import RunStatus, ScenarioChart, ScenarioRun
from api.repositories import rowcount, run_claims


def add_run(session: Session, run: ScenarioRun) -> ScenarioRun:
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> ScenarioRun | None:
    return session.get(ScenarioRun, run_id, populate_existing=True)


def list_runs(session: Session, org_id: int | None, limit: int) -> Sequence[ScenarioRun]:
    query = select(ScenarioRun).order_by(ScenarioRun.id.desc()).limit(limit)
    if org_id is not None:
        query = query.where(ScenarioRun.organization_id == org_id)
    return session.scalars(query).all()


def claim_next(session: Session, worker: str, now: datetime) -> int | None:
    return run_claims.claim_next(session, ScenarioRun, worker, now)


def heartbeat(
    session: Session, run_id: int, worker: str, now: datetime, **values: Any
) -> bool | None:
    return run_claims.heartbeat(session, ScenarioRun, run_id, worker, now, **values)


def finish(session: Session, run_id: int, worker: str, **values: Any) -> bool:
    return run_claims.finish(session, ScenarioRun, run_id, worker, **values)


def running(session: Session) -> Sequence[ScenarioRun]:
    return session.scalars(
        select(ScenarioRun)
        .where(ScenarioRun.status == RunStatus.RUNNING)
        .with_for_update(skip_locked=True)
    ).all()


def request_stop(session: Session, run_id: int, now: datetime) -> bool:
    """A queued run ends at once; a running one is asked to stop at its next step."""
    queued = session.execute(
        update(ScenarioRun)
        .where(ScenarioRun.id == run_id, ScenarioRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.CANCELLED, finished_at=now, phase="cancelled before it started")
    )
    if rowcount(queued) == 1:
        return True
    asked = session.execute(
        update(ScenarioRun)
        .where(ScenarioRun.id == run_id, ScenarioRun.status == RunStatus.RUNNING)
        .values(cancel_requested=True)
    )
    return rowcount(asked) == 1


def add_charts(session: Session, run_id: int, charts: dict[str, bytes]) -> None:
    for name, png in charts.items():
        session.add(ScenarioChart(run_id=run_id, name=name, png=png))


def chart(session: Session, run_id: int, name: str) -> bytes | None:
    row = session.get(ScenarioChart, (run_id, name))
    return row.png if row is not None else None


def chart_names(session: Session, run_id: int) -> list[str]:
    query = (
        select(ScenarioChart.name)
        .where(ScenarioChart.run_id == run_id)
        .order_by(ScenarioChart.name)
    )
    return list(session.scalars(query).all())

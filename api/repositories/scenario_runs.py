"""Queries on planners' scenario runs and their charts, including the solving process's atomic
claim (the same conditional UPDATE as match runs: each run is executed once)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.models import RunStatus, ScenarioChart, ScenarioRun
from api.repositories import rowcount


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
    candidate = session.scalars(
        select(ScenarioRun.id)
        .where(ScenarioRun.status == RunStatus.QUEUED)
        .order_by(ScenarioRun.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if candidate is None:
        return None
    claimed = session.execute(
        update(ScenarioRun)
        .where(ScenarioRun.id == candidate, ScenarioRun.status == RunStatus.QUEUED)
        .values(
            status=RunStatus.RUNNING,
            worker=worker,
            started_at=now,
            heartbeat_at=now,
            attempts=ScenarioRun.attempts + 1,
            phase="starting",
        )
    )
    return candidate if rowcount(claimed) == 1 else None


def heartbeat(
    session: Session, run_id: int, worker: str, now: datetime, **values: Any
) -> bool | None:
    """Record progress; whether a stop was asked, or None if the claim was lost."""
    changed = session.execute(
        update(ScenarioRun)
        .where(
            ScenarioRun.id == run_id,
            ScenarioRun.worker == worker,
            ScenarioRun.status == RunStatus.RUNNING,
        )
        .values(heartbeat_at=now, **values)
    )
    if rowcount(changed) != 1:
        return None
    return bool(
        session.scalar(select(ScenarioRun.cancel_requested).where(ScenarioRun.id == run_id))
    )


def finish(session: Session, run_id: int, worker: str, **values: Any) -> bool:
    changed = session.execute(
        update(ScenarioRun)
        .where(
            ScenarioRun.id == run_id,
            ScenarioRun.worker == worker,
            ScenarioRun.status == RunStatus.RUNNING,
        )
        .values(**values)
    )
    return rowcount(changed) == 1


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

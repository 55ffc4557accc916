"""The solving process's hold on a queued run, shared by match runs and scenario runs.

Claiming is one conditional UPDATE on a row picked with `FOR UPDATE SKIP LOCKED` (PostgreSQL;
SQLite serialises writers), and succeeds only while the row is still `queued`: however many
workers poll, each run is claimed once. Heartbeats and results are written only by the worker
that holds the claim, so a run re-queued after its worker went silent cannot be finished twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.models import MatchRun, RunStatus, ScenarioRun
from api.repositories import rowcount

RunModel = type[MatchRun] | type[ScenarioRun]


def claim_next(session: Session, model: RunModel, worker: str, now: datetime) -> int | None:
    """Claim the oldest queued run for `worker`; its id, or None if there is none to claim."""
    candidate = session.scalars(
        select(model.id)
        .where(model.status == RunStatus.QUEUED)
        .order_by(model.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if candidate is None:
        return None
    claimed = session.execute(
        update(model)
        .where(model.id == candidate, model.status == RunStatus.QUEUED)
        .values(
            status=RunStatus.RUNNING,
            worker=worker,
            started_at=now,
            heartbeat_at=now,
            attempts=model.attempts + 1,
            phase="starting",
        )
    )
    return candidate if rowcount(claimed) == 1 else None


def heartbeat(
    session: Session, model: RunModel, run_id: int, worker: str, now: datetime, **values: Any
) -> bool | None:
    """Record progress; whether a stop was asked, or None if the claim was lost."""
    if not finish(session, model, run_id, worker, heartbeat_at=now, **values):
        return None
    return bool(session.scalar(select(model.cancel_requested).where(model.id == run_id)))


def finish(session: Session, model: RunModel, run_id: int, worker: str, **values: Any) -> bool:
    """Write to a running run if `worker` still holds it (its outcome, or its progress)."""
    changed = session.execute(
        update(model)
        .where(model.id == run_id, model.worker == worker, model.status == RunStatus.RUNNING)
        .values(**values)
    )
    return rowcount(changed) == 1

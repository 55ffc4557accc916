"""Queries on match runs, including the worker's atomic claim, heartbeat and finish
(`api.repositories.run_claims`, shared with scenario runs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session, undefer

from api.models import MatchRun, RunStatus
from api.repositories import rowcount, run_claims


def add_run(session: Session, run: MatchRun) -> MatchRun:
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> MatchRun | None:
    return session.get(MatchRun, run_id, populate_existing=True)


def list_runs(
    session: Session, org_id: int | None, after_id: int, limit: int
) -> Sequence[MatchRun]:
    query = select(MatchRun).where(MatchRun.id > after_id)
    if org_id is not None:
        query = query.where(MatchRun.organization_id == org_id)
    return session.scalars(query.order_by(MatchRun.id).limit(limit)).all()


def claim_next(session: Session, worker: str, now: datetime) -> int | None:
    return run_claims.claim_next(session, MatchRun, worker, now)


def heartbeat(
    session: Session, run_id: int, worker: str, now: datetime, **values: Any
) -> bool | None:
    return run_claims.heartbeat(session, MatchRun, run_id, worker, now, **values)


def finish(session: Session, run_id: int, worker: str, **values: Any) -> bool:
    return run_claims.finish(session, MatchRun, run_id, worker, **values)


def silent_runs(session: Session, older_than: datetime) -> Sequence[MatchRun]:
    """Running runs whose worker has not reported since `older_than`."""
    query = (
        select(MatchRun)
        .where(MatchRun.status == RunStatus.RUNNING, MatchRun.heartbeat_at < older_than)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(query).all()


def release(session: Session, run_id: int, holder: str, **values: Any) -> bool:
    """Take a running run from `holder` (re-queue or end it), if `holder` still has it."""
    changed = session.execute(
        update(MatchRun)
        .where(
            MatchRun.id == run_id, MatchRun.status == RunStatus.RUNNING, MatchRun.worker == holder
        )
        .values(**values)
    )
    return rowcount(changed) == 1


def cancel_queued(session: Session, run_id: int, now: datetime) -> bool:
    changed = session.execute(
        update(MatchRun)
        .where(MatchRun.id == run_id, MatchRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.CANCELLED, finished_at=now, phase="cancelled before it started")
    )
    return rowcount(changed) == 1


def request_stop(session: Session, run_id: int) -> bool:
    changed = session.execute(
        update(MatchRun)
        .where(MatchRun.id == run_id, MatchRun.status == RunStatus.RUNNING)
        .values(cancel_requested=True)
    )
    return rowcount(changed) == 1


def mark_published(session: Session, run_id: int, now: datetime) -> bool:
    """Take the run's one publication (a write first, so SQLite locks before the checks)."""
    changed = session.execute(
        update(MatchRun)
        .where(MatchRun.id == run_id, MatchRun.published_at.is_(None))
        .values(published_at=now)
    )
    return rowcount(changed) == 1


def repair_waiting(session: Session, run_id: int) -> bool:
    """Whether a repair of `run_id` is queued or running already."""
    query = select(MatchRun.id).where(
        MatchRun.repair_of == run_id,
        MatchRun.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)),
    )
    return session.scalars(query.limit(1)).first() is not None


def runs_naming_volunteers(
    session: Session, keys: Sequence[str], since: datetime
) -> Sequence[MatchRun]:
    """Runs created since `since` whose stored instance holds one of these volunteer keys
    (`v<id>`), with their instances loaded. The search runs in the database's JSON functions:
    instances run to megabytes and few of them hold a given person."""
    if not keys:
        return []
    if session.get_bind().dialect.name == "postgresql":
        holds = text(
            "EXISTS (SELECT 1 FROM jsonb_array_elements(match_runs.instance -> 'volunteers') AS v"
            " WHERE v ->> 'id' IN :keys)"
        )
    else:
        holds = text(
            "EXISTS (SELECT 1 FROM json_each(match_runs.instance, '$.volunteers') AS v"
            " WHERE json_extract(v.value, '$.id') IN :keys)"
        )
    query = (
        select(MatchRun)
        .where(MatchRun.instance.is_not(None), MatchRun.created_at >= since)
        .where(holds.bindparams(bindparam("keys", list(keys), expanding=True)))
        .options(undefer(MatchRun.instance))
        .order_by(MatchRun.id)
    )
    return session.scalars(query).all()

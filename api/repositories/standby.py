"""Queries on standby volunteers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from api.models import Standby, StandbyStatus, utc_now
from api.repositories import rowcount


def insert_standby(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Standby), list(rows))


def of_request(session: Session, request_id: int) -> list[Standby]:
    """The request's standby, newest run first, by rank."""
    query = (
        select(Standby)
        .where(Standby.request_id == request_id)
        .order_by(Standby.run_id.desc(), Standby.rank)
    )
    return list(session.scalars(query).all())


def of_run(session: Session, run_id: int) -> list[Standby]:
    query = select(Standby).where(Standby.run_id == run_id).order_by(Standby.request_id, Standby.rank)
    return list(session.scalars(query).all())


def set_status(session: Session, standby_id: int, status: StandbyStatus) -> bool:
    """Move a waiting standby on (a conditional UPDATE: two declines cannot both promote it)."""
    changed = session.execute(
        update(Standby)
        .where(Standby.id == standby_id, Standby.status == StandbyStatus.WAITING)
        .values(status=status, updated_at=utc_now())
        .execution_options(synchronize_session=False)
    )
    return rowcount(changed) == 1


def of_volunteer(session: Session, volunteer_id: int) -> list[Standby]:
    query = select(Standby).where(Standby.volunteer_id == volunteer_id).order_by(Standby.id)
    return list(session.scalars(query).all())


def delete_for_volunteers(session: Session, volunteer_ids: Sequence[int]) -> None:
    """Forget that these volunteers were named standby (erasure: a place they never served)."""
    if volunteer_ids:
        session.execute(
            delete(Standby)
            .where(Standby.volunteer_id.in_(volunteer_ids))
            .execution_options(synchronize_session=False)
        )

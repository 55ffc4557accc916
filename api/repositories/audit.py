"""Queries on the audit trail: appending events (never changing them) and reading them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, or_, select
from sqlalchemy.orm import Session

from api.models import AuditEvent
from api.repositories import insert_plain_rows

EVENTS = cast(Table, AuditEvent.__table__)
COLUMNS = (
    "at",
    "actor_kind",
    "actor_id",
    "actor_organization_id",
    "organization_id",
    "partner_organization_id",
    "entity_type",
    "entity_id",
    "action",
    "before",
    "after",
)
_JSON = ("before", "after")


def append(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events (dicts of `COLUMNS`, JSON values already plain); there is no update or
    delete here on purpose. Straight through the driver: an import of 50,000 volunteers writes
    50,000 events, and the ORM's per-row processing took a fifth of the import's time."""
    if not rows:
        return
    sqlite = session.get_bind().dialect.name == "sqlite"
    insert_plain_rows(
        session,
        EVENTS,
        COLUMNS,
        [
            [
                _stored_time(r["at"], sqlite),
                *(
                    (None if r[c] is None else json.dumps(r[c], default=_plain, ensure_ascii=False))
                    if c in _JSON
                    else r[c]
                    for c in COLUMNS[1:]
                ),
            ]
            for r in rows
        ],
    )


def _plain(value: Any) -> str:
    """JSON for what json cannot write itself: dates and times, as ISO 8601."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in an audit event")


def _stored_time(moment: datetime, sqlite: bool) -> Any:
    """As `UtcDateTime` stores it: naive UTC text on SQLite (SQLAlchemy's format), an aware
    value on PostgreSQL."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else utc


def list_events(
    session: Session,
    *,
    organization_id: int | None,
    entity_type: str | None,
    entity_id: int | None,
    action: str | None,
    start: datetime | None,
    end: datetime | None,
    after_id: int,
    limit: int,
) -> Sequence[AuditEvent]:
    """A page of events in id order; with `organization_id`, those that concern it (as owner,
    partner or actor)."""
    query = select(AuditEvent).where(AuditEvent.id > after_id)
    if organization_id is not None:
        query = query.where(
            or_(
                AuditEvent.organization_id == organization_id,
                AuditEvent.partner_organization_id == organization_id,
                AuditEvent.actor_organization_id == organization_id,
            )
        )
    if entity_type is not None:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if start is not None:
        query = query.where(AuditEvent.at >= start)
    if end is not None:
        query = query.where(AuditEvent.at < end)
    return session.scalars(query.order_by(AuditEvent.id).limit(limit)).all()


def events_of(
    session: Session, entity_type: str, entity_ids: Sequence[int]
) -> Sequence[AuditEvent]:
    """Every event on these entities, in order (a person's data export)."""
    if not entity_ids:
        return []
    query = select(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id.in_(entity_ids)
    )
    return session.scalars(query.order_by(AuditEvent.id)).all()

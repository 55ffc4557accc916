"""Queries on the audit trail: appending events (never changing them) and reading them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from api.models import AuditEvent


def append(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events (column dicts); there is no update or delete here on purpose."""
    if rows:
        session.execute(insert(AuditEvent), list(rows))


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

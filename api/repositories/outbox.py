"""Queries on the outbox: events, their deliveries, and the dispatchers' claims.

Claiming is one conditional UPDATE over rows picked with `FOR UPDATE SKIP LOCKED` (PostgreSQL;
SQLite serialises writers), as for match runs: a delivery is claimed by one dispatcher at a time
and carries that dispatcher's name and lease. A delivery whose lease ran out (its dispatcher
died or stalled) is due again. Outcomes are written only by the dispatcher holding the claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload

from api.models import Delivery, DeliveryStatus, OutboxEvent
from api.repositories import rowcount


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    query = insert(OutboxEvent).returning(OutboxEvent.id, sort_by_parameter_order=True)
    return list(session.scalars(query, list(rows)).all())


def insert_event_once(session: Session, row: dict[str, Any]) -> int | None:
    """Insert an event with a `dedupe_key` unless one with that key exists; its id, or None."""
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    query = (
        make(OutboxEvent)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxEvent.id)
    )
    return session.scalar(query)


def existing_dedupe_keys(session: Session, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    query = select(OutboxEvent.dedupe_key).where(OutboxEvent.dedupe_key.in_(keys))
    return {k for k in session.scalars(query) if k is not None}


def insert_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Delivery), list(rows))


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now),
        and_(Delivery.status == DeliveryStatus.SENDING, Delivery.lease_until < now),
    )


def claim_due(
    session: Session, dispatcher: str, now: datetime, lease_until: datetime, limit: int
) -> list[int]:
    """Claim up to `limit` due deliveries (oldest due first) for `dispatcher`; their ids."""
    candidates = session.scalars(
        select(Delivery.id)
        .where(_due(now))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        return []
    claimed = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(candidates), _due(now))
        .values(
            status=DeliveryStatus.SENDING,
            claimed_by=dispatcher,
            lease_until=lease_until,
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(claimed)


def claimed(session: Session, ids: Sequence[int]) -> list[Delivery]:
    """The deliveries with their events, in id order."""
    query = (
        select(Delivery)
        .where(Delivery.id.in_(ids))
        .options(joinedload(Delivery.event))
        .order_by(Delivery.id)
    )
    return list(session.scalars(query).all())


def _held(ids: Sequence[int], dispatcher: str) -> ColumnElement[bool]:
    return and_(
        Delivery.id.in_(ids),
        Delivery.claimed_by == dispatcher,
        Delivery.status == DeliveryStatus.SENDING,
    )


def renew(session: Session, delivery_id: int, dispatcher: str, lease_until: datetime) -> bool:
    """Extend the claim on one delivery, if `dispatcher` still holds it."""
    changed = session.execute(
        update(Delivery)
        .where(_held([delivery_id], dispatcher))
        .values(lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    return rowcount(changed) == 1


def finish(session: Session, ids: Sequence[int], dispatcher: str, **values: Any) -> int:
    """Write the outcome of deliveries `dispatcher` holds; how many it still held."""
    if not ids:
        return 0
    changed = session.execute(
        update(Delivery)
        .where(_held(ids, dispatcher))
        .values(claimed_by=None, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(changed)


def skip_messages_to(session: Session, volunteer_ids: Sequence[int], reason: str) -> int:
    """Messages to these volunteers not yet sent nor being sent: skipped, with `reason`."""
    if not volunteer_ids:
        return 0
    changed = session.execute(
        update(Delivery)
        .where(
            Delivery.volunteer_id.in_(volunteer_ids),
            Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.DEAD)),
        )
        .values(status=DeliveryStatus.SKIPPED, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return rowcount(changed)


def messages_to(session: Session, volunteer_id: int) -> Sequence[Delivery]:
    """Every message (email, SMS) to the volunteer, in order."""
    query = (
        select(Delivery)
        .where(Delivery.volunteer_id == volunteer_id)
        .options(joinedload(Delivery.event))
        .order_by(Delivery.id)
    )
    return session.scalars(query).all()


def sending_holders(session: Session) -> list[str]:
    """The dispatchers holding claims now."""
    query = (
        select(Delivery.claimed_by)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_by.is_not(None))
        .distinct()
    )
    return [h for h in session.scalars(query) if h is not None]


def expire_claims(session: Session, holder: str, now: datetime) -> int:
    """End the leases of a dispatcher known to be gone: its deliveries are due at once."""
    changed = session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_by == holder)
        .values(lease_until=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(changed)


def list_deliveries(
    session: Session,
    *,
    organization_id: int | None,
    status: str | None,
    channel: str | None,
    event_type: str | None,
    after_id: int,
    limit: int,
) -> Sequence[Delivery]:
    query = select(Delivery).where(Delivery.id > after_id).options(joinedload(Delivery.event))
    if organization_id is not None:
        query = query.where(Delivery.organization_id == organization_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    if event_type is not None:
        query = query.where(Delivery.event_type == event_type)
    return session.scalars(query.order_by(Delivery.id).limit(limit)).all()


def get_delivery(session: Session, delivery_id: int) -> Delivery | None:
    query = select(Delivery).where(Delivery.id == delivery_id).options(joinedload(Delivery.event))
    return session.scalars(query.execution_options(populate_existing=True)).first()


def retry_dead(session: Session, delivery_id: int, now: datetime) -> bool:
    """A dead letter back in the queue, due now, with a fresh count of attempts."""
    changed = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.DEAD)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(changed) == 1


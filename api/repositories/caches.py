"""Queries on the geocoding cache and the idempotency records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.models import GeocodeEntry, IdempotencyRecord


def cached_geocodes(session: Session, queries: Iterable[str]) -> dict[str, GeocodeEntry]:
    wanted = list(set(queries))
    found: dict[str, GeocodeEntry] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        for entry in session.scalars(select(GeocodeEntry).where(GeocodeEntry.query.in_(chunk))):
            found[entry.query] = entry
    return found


def add_geocode(session: Session, query: str, lat: float | None, lon: float | None) -> None:
    session.add(GeocodeEntry(query=query, lat=lat, lon=lon))


def forget_geocodes(session: Session, queries: Iterable[str]) -> None:
    """Drop cached answers (the cache keys are addresses: an erased person's home goes too)."""
    wanted = list(set(queries))
    for start in range(0, len(wanted), 1000):
        session.execute(
            delete(GeocodeEntry).where(GeocodeEntry.query.in_(wanted[start : start + 1000]))
        )


def idempotency_records_of(session: Session, org_id: int) -> Sequence[IdempotencyRecord]:
    query = select(IdempotencyRecord).where(IdempotencyRecord.organization_id == org_id)
    return session.scalars(query.order_by(IdempotencyRecord.id)).all()


def idempotency_record(session: Session, org_id: int, key: str) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(
        IdempotencyRecord.organization_id == org_id, IdempotencyRecord.key == key
    )
    return session.scalars(query).first()


def add_idempotency_record(session: Session, record: IdempotencyRecord) -> None:
    session.add(record)
    session.flush()

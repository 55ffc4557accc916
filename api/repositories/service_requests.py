"""Queries on service requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.models import ServiceRequest


def insert_requests(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    query = insert(ServiceRequest).returning(ServiceRequest.id, sort_by_parameter_order=True)
    return list(session.scalars(query, list(rows)).all())


def get_request(session: Session, request_id: int) -> ServiceRequest | None:
    return session.get(ServiceRequest, request_id)


def requests_by_ids(session: Session, ids: Sequence[int]) -> list[ServiceRequest]:
    if not ids:
        return []
    query = select(ServiceRequest).where(ServiceRequest.id.in_(ids)).order_by(ServiceRequest.id)
    return list(session.scalars(query).all())


def list_requests(
    session: Session,
    *,
    center_id: int | None,
    status: str | None,
    service_type: str | None,
    starts_from: datetime | None,
    starts_before: datetime | None,
    after_id: int,
    limit: int,
    search: str | None = None,
) -> Sequence[ServiceRequest]:
    query = select(ServiceRequest).where(ServiceRequest.id > after_id)
    if search:
        words = f"%{search.replace('%', '').replace('_', '')}%"
        query = query.where(
            ServiceRequest.title.ilike(words)
            | ServiceRequest.address.ilike(words)
            | ServiceRequest.district.ilike(words)
        )
    if center_id is not None:
        query = query.where(ServiceRequest.center_id == center_id)
    if status is not None:
        query = query.where(ServiceRequest.status == status)
    if service_type is not None:
        query = query.where(ServiceRequest.service_type == service_type)
    if starts_from is not None:
        query = query.where(ServiceRequest.start_at >= starts_from)
    if starts_before is not None:
        query = query.where(ServiceRequest.start_at < starts_before)
    return session.scalars(query.order_by(ServiceRequest.id).limit(limit)).all()


def service_types(session: Session, center_id: int | None) -> list[str]:
    """The service types a center has used (every center's for None), for filters."""
    query = select(ServiceRequest.service_type).distinct().order_by(ServiceRequest.service_type)
    if center_id is not None:
        query = query.where(ServiceRequest.center_id == center_id)
    return list(session.scalars(query).all())


def requests_in_window(
    session: Session,
    center_ids: Sequence[int],
    start: datetime,
    end: datetime,
    statuses: Sequence[str],
) -> list[ServiceRequest]:
    """The centers' requests with the given statuses that lie inside [start, end]."""
    query = (
        select(ServiceRequest)
        .where(
            ServiceRequest.center_id.in_(center_ids),
            ServiceRequest.status.in_(statuses),
            ServiceRequest.start_at >= start,
            ServiceRequest.end_at <= end,
        )
        .order_by(ServiceRequest.id)
    )
    return list(session.scalars(query).all())

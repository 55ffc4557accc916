"""Queries on certificates."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Certificate


def add(session: Session, certificates: Sequence[Certificate]) -> None:
    session.add_all(certificates)
    session.flush()


def get(session: Session, certificate_id: int) -> Certificate | None:
    return session.get(Certificate, certificate_id)


def by_code(session: Session, code: str) -> Certificate | None:
    return session.scalars(select(Certificate).where(Certificate.code == code)).first()


def list_page(
    session: Session,
    *,
    organization_id: int | None,
    volunteer_id: int | None,
    after_id: int,
    limit: int,
) -> Sequence[Certificate]:
    query = select(Certificate).where(Certificate.id > after_id)
    if organization_id is not None:
        query = query.where(Certificate.organization_id == organization_id)
    if volunteer_id is not None:
        query = query.where(Certificate.volunteer_id == volunteer_id)
    return session.scalars(query.order_by(Certificate.id).limit(limit)).all()


def of_volunteer(session: Session, volunteer_id: int) -> Sequence[Certificate]:
    query = select(Certificate).where(Certificate.volunteer_id == volunteer_id)
    return session.scalars(query.order_by(Certificate.id)).all()

"""Queries on webhooks."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Webhook


def add_webhook(session: Session, webhook: Webhook) -> Webhook:
    session.add(webhook)
    session.flush()
    return webhook


def get_webhook(session: Session, webhook_id: int) -> Webhook | None:
    return session.get(Webhook, webhook_id)


def webhooks_by_ids(session: Session, ids: Collection[int]) -> dict[int, Webhook]:
    if not ids:
        return {}
    return {w.id: w for w in session.scalars(select(Webhook).where(Webhook.id.in_(ids)))}


def list_webhooks(session: Session, organization_id: int | None) -> Sequence[Webhook]:
    query = select(Webhook).order_by(Webhook.id)
    if organization_id is not None:
        query = query.where(Webhook.organization_id == organization_id)
    return session.scalars(query).all()


def active_webhooks_of(session: Session, organization_ids: Collection[int]) -> list[Webhook]:
    """The active webhooks of these organizations, in id order."""
    if not organization_ids:
        return []
    query = (
        select(Webhook)
        .where(Webhook.organization_id.in_(organization_ids), Webhook.active.is_(True))
        .order_by(Webhook.id)
    )
    return list(session.scalars(query).all())


def delete_webhook(session: Session, webhook: Webhook) -> None:
    session.delete(webhook)
    session.flush()

"""Deliveries as their organizations see them: status, attempts, last error, and a retry for
dead letters. An organization sees its webhooks' deliveries and the messages to volunteers about
its work (center); an admin sees all. A retry is audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.errors import Conflict, NotFound
from api.models import Delivery, OrgKind, utc_now
from api.pagination import decode_cursor, next_cursor
from api.repositories import outbox as repo
from api.schemas.common import Page
from api.schemas.webhooks import DeliveryOut
from api.services.audit import Actor, Change, record_one
from api.services.organizations import Caller


def to_out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut.model_validate(delivery, from_attributes=True)


def list_visible(
    session: Session,
    caller: Caller,
    *,
    status: str | None,
    channel: str | None,
    event_type: str | None,
    cursor: str | None,
    limit: int,
) -> Page[DeliveryOut]:
    page = repo.list_deliveries(
        session,
        organization_id=None if caller.kind is OrgKind.ADMIN else caller.org_id,
        status=status,
        channel=channel,
        event_type=event_type,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    return Page(
        items=[to_out(d) for d in page], next_cursor=next_cursor([d.id for d in page], limit)
    )


def visible(session: Session, caller: Caller, delivery_id: int) -> Delivery:
    delivery = repo.get_delivery(session, delivery_id)
    if delivery is None or not caller.reads(delivery.organization_id):
        raise NotFound(f"no delivery {delivery_id}")
    return delivery


def retry(session: Session, caller: Caller, delivery_id: int) -> Delivery:
    """A dead letter back in the queue, due now, with its attempts counted afresh."""
    delivery = visible(session, caller, delivery_id)
    if not repo.retry_dead(session, delivery.id, utc_now()):
        raise Conflict(f"the delivery is {delivery.status}; only dead ones are retried")
    record_one(
        session,
        Actor.of(caller),
        Change(
            "delivery",
            delivery.id,
            "retried",
            delivery.organization_id,
            before={"status": delivery.status, "attempts": delivery.attempts},
            after={"status": "pending", "attempts": 0},
        ),
    )
    return visible(session, caller, delivery_id)

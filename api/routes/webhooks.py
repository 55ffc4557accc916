"""Webhooks (`/v1/webhooks`) and the deliveries of the outbox (`/v1/deliveries`), with dead
letters and their retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.deps import SessionDep, SettingsDep, json_of, require
from api.errors import ERROR_RESPONSES
from api.models import ROSTER_OWNERS, OrgKind
from api.schemas.common import Page, PathId
from api.schemas.webhooks import (
    ChannelName,
    DeliveryOut,
    DeliveryStatusName,
    EventTypeName,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from api.services import deliveries
from api.services import webhooks as service
from api.services.organizations import Caller

router = APIRouter(tags=["webhooks and deliveries"], responses=ERROR_RESPONSES)
HearerDep = Annotated[Caller, Depends(require(OrgKind.CENTER, *ROSTER_OWNERS, OrgKind.ADMIN))]


@router.post(
    "/v1/webhooks",
    status_code=status.HTTP_201_CREATED,
    summary="Register a webhook (its signing secret is shown once)",
)
def create_webhook(
    body: WebhookIn, caller: HearerDep, session: SessionDep, settings: SettingsDep
) -> WebhookCreated:
    """Events of the organization (a center: its requests' assignments, runs, unfilled
    requests, reminders; a roster owner (university, law firm, community): its volunteers'
    assignments and reminders) are POSTed
    as signed JSON; see docs/notifications.md for the payload and how to verify it."""
    return service.create(session, settings, caller, body)


@router.get("/v1/webhooks", summary="The organization's webhooks (admin: all)")
def list_webhooks(caller: HearerDep, session: SessionDep) -> list[WebhookOut]:
    return service.list_visible(session, caller)


@router.get("/v1/webhooks/{webhook_id}", summary="One webhook (never its secret)")
def get_webhook(webhook_id: PathId, caller: HearerDep, session: SessionDep) -> WebhookOut:
    return service.to_out(service.visible(session, caller, webhook_id))


@router.patch("/v1/webhooks/{webhook_id}", summary="Change a webhook's URL, events or state")
def update_webhook(
    webhook_id: PathId,
    body: WebhookPatch,
    caller: HearerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookOut:
    return service.to_out(service.update(session, settings, caller, webhook_id, body))


@router.post(
    "/v1/webhooks/{webhook_id}/secret",
    summary="Rotate the signing secret (the new one is shown once)",
)
def rotate_secret(webhook_id: PathId, caller: HearerDep, session: SessionDep) -> WebhookCreated:
    return service.rotate_secret(session, caller, webhook_id)


@router.delete(
    "/v1/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a webhook (its undelivered messages are skipped)",
)
def delete_webhook(webhook_id: PathId, caller: HearerDep, session: SessionDep) -> Response:
    service.delete(session, caller, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/v1/deliveries",
    response_model=Page[DeliveryOut],
    summary="Deliveries of events: status, attempts, last error (dead letters: status=dead)",
)
def list_deliveries(
    caller: HearerDep,
    session: SessionDep,
    settings: SettingsDep,
    status: DeliveryStatusName | None = None,
    channel: ChannelName | None = None,
    event_type: EventTypeName | None = None,
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> Response:
    """An organization sees its webhooks' deliveries and the messages to volunteers about its
    work; an admin sees all."""
    return json_of(
        deliveries.list_visible(
            session,
            caller,
            status=status,
            channel=channel,
            event_type=event_type,
            cursor=cursor,
            limit=min(limit, settings.max_page_size),
        )
    )


@router.get("/v1/deliveries/{delivery_id}", summary="One delivery")
def get_delivery(delivery_id: PathId, caller: HearerDep, session: SessionDep) -> DeliveryOut:
    return deliveries.to_out(deliveries.visible(session, caller, delivery_id))


@router.post(
    "/v1/deliveries/{delivery_id}/retry",
    summary="Send a dead letter again",
    responses={409: {"description": "The delivery is not dead."}},
)
def retry_delivery(delivery_id: PathId, caller: HearerDep, session: SessionDep) -> DeliveryOut:
    """The delivery is due at once, with a fresh count of attempts."""
    return deliveries.to_out(deliveries.retry(session, caller, delivery_id))

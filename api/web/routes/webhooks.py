"""Webhooks and deliveries, for centers, universities and admins: the organization's webhooks
(add one: its signing secret is shown once; rotate the secret; remove), and the deliveries of
events to webhooks, email and SMS (filtered by status and channel; dead letters sent again). An
admin sees every organization's, and changes only its own webhooks. The rules are the API's
(`api.services.webhooks`, `api.services.deliveries`)."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import SessionDep, SettingsDep
from api.errors import InvalidInput
from api.models import ROSTER_OWNERS, OrgKind
from api.pagination import decode_cursor
from api.schemas.common import PathId
from api.schemas.webhooks import ChannelName, DeliveryStatusName, EventTypeName, WebhookIn
from api.services import deliveries
from api.services import webhooks as service
from api.services.organizations import Caller
from api.web import forms
from api.web.i18n import N_
from api.web.routing import console_router
from api.web.security import Posted, changes, console
from api.web.templating import language_of, render

router = console_router()
KINDS = (OrgKind.CENTER, *ROSTER_OWNERS, OrgKind.ADMIN)
HearerUser = Annotated[Caller, Depends(console(*KINDS))]
HearerChange = Annotated[Posted, Depends(changes(*KINDS))]
LIST_PAGE = 50
EVENT_NAMES = {
    "assignment.proposed": N_("Work proposed to a volunteer"),
    "assignment.confirmed": N_("A volunteer confirmed"),
    "assignment.declined": N_("A volunteer declined"),
    "assignment.cancelled": N_("Work cancelled"),
    "assignment.checked_in": N_("A volunteer checked in"),
    "assignment.completed": N_("Work completed"),
    "assignment.no_show": N_("A volunteer did not come"),
    "assignment.hours_corrected": N_("Served hours corrected"),
    "run.succeeded": N_("A match run finished"),
    "run.failed": N_("A match run failed"),
    "request.unfilled": N_("A request left short"),
    "reminder.due": N_("A reminder is due"),
}
DELIVERY_STATUSES = {
    "pending": N_("Waiting"),
    "sending": N_("Sending"),
    "delivered": N_("Delivered"),
    "dead": N_("Failed for good"),
    "skipped": N_("Skipped"),
}
CHANNELS = {"webhook": N_("Webhook"), "email": N_("Email"), "sms": N_("SMS")}
assert set(EVENT_NAMES) == set(get_args(EventTypeName))
assert set(DELIVERY_STATUSES) == set(get_args(DeliveryStatusName))
assert set(CHANNELS) == set(get_args(ChannelName))


def _page(
    request: Request, caller: Caller, session: SessionDep, status_code: int = 200, **context: Any
) -> Response:
    context.setdefault("errors", {})
    context.setdefault("values", {"event_types": []})
    return render(
        request,
        "webhooks/webhooks.html",
        status_code=status_code,
        hooks=service.list_visible(session, caller),
        event_names=EVENT_NAMES,
        **context,
    )


@router.get("/webhooks")
def webhooks_page(request: Request, caller: HearerUser, session: SessionDep) -> Response:
    return _page(request, caller, session)


@router.post("/webhooks")
def add_webhook(
    request: Request, posted: HearerChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, form = posted
    lang = language_of(request)
    values = {
        "url": forms.text(form, "url"),
        "description": forms.text(form, "description"),
        "event_types": [t for t in form.getlist("event_types") if isinstance(t, str)],
    }
    try:
        body = WebhookIn.model_validate({**values, "description": values["description"] or None})
        created = service.create(session, settings, caller, body)
    except ValidationError as exc:
        errors = forms.pydantic_errors(lang, exc)
    except InvalidInput as exc:
        errors = forms.api_field_errors(lang, exc.fields)
    else:
        return _secret_page(request, created.id, created.url, created.secret, rotated=False)
    return _page(request, caller, session, 422, values=values, errors=errors)


def _secret_page(request: Request, hook_id: int, url: str, secret: str, rotated: bool) -> Response:
    return render(
        request, "webhooks/secret.html", hook_id=hook_id, url=url, secret=secret, rotated=rotated
    )


@router.post("/webhooks/{webhook_id}/secret")
def rotate_secret(
    request: Request, webhook_id: PathId, posted: HearerChange, session: SessionDep
) -> Response:
    caller, _ = posted
    rotated = service.rotate_secret(session, caller, webhook_id)
    return _secret_page(request, rotated.id, rotated.url, rotated.secret, rotated=True)


@router.post("/webhooks/{webhook_id}/delete")
def delete_webhook(webhook_id: PathId, posted: HearerChange, session: SessionDep) -> Response:
    caller, _ = posted
    service.delete(session, caller, webhook_id)
    return RedirectResponse("/webhooks", status_code=303)


@router.get("/deliveries")
def deliveries_page(
    request: Request,
    caller: HearerUser,
    session: SessionDep,
    status: str | None = None,
    channel: str | None = None,
    cursor: str | None = None,
) -> Response:
    decode_cursor(cursor)
    status = status if status in DELIVERY_STATUSES else None
    channel = channel if channel in CHANNELS else None
    page = deliveries.list_visible(
        session,
        caller,
        status=status,
        channel=channel,
        event_type=None,
        cursor=cursor,
        limit=LIST_PAGE,
    )
    return render(
        request,
        "webhooks/deliveries.html",
        page=page,
        params={"status": status or "", "channel": channel or "", "cursor": cursor},
        statuses=DELIVERY_STATUSES,
        channels=CHANNELS,
        event_names=EVENT_NAMES,
        retried=request.query_params.get("retried"),
    )


@router.post("/deliveries/{delivery_id}/retry")
def retry_delivery(delivery_id: PathId, posted: HearerChange, session: SessionDep) -> Response:
    caller, _ = posted
    deliveries.retry(session, caller, delivery_id)
    return RedirectResponse(f"/deliveries?status=dead&retried={delivery_id}", status_code=303)

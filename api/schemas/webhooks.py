"""Bodies of the webhook and delivery endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasPath, BaseModel, ConfigDict, Field

from api.schemas.common import StrictModel

EventTypeName = Literal[
    "assignment.proposed",
    "assignment.confirmed",
    "assignment.declined",
    "assignment.cancelled",
    "assignment.checked_in",
    "assignment.completed",
    "assignment.no_show",
    "assignment.hours_corrected",
    "run.succeeded",
    "run.failed",
    "request.unfilled",
    "reminder.due",
]
DeliveryStatusName = Literal["pending", "sending", "delivered", "dead", "skipped"]
ChannelName = Literal["webhook", "email", "sms"]
URL_HELP = "Where events are POSTed: http or https (see the README for private networks)."


class WebhookIn(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.org/volmatch",
                    "event_types": ["assignment.declined", "assignment.no_show"],
                }
            ]
        }
    )
    url: str = Field(min_length=8, max_length=2000, description=URL_HELP)
    event_types: list[EventTypeName] = Field(
        default_factory=list, max_length=20, description="Empty: every event."
    )
    description: str | None = Field(default=None, max_length=200)


class WebhookPatch(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"active": False}]})
    url: str | None = Field(default=None, min_length=8, max_length=2000, description=URL_HELP)
    event_types: list[EventTypeName] | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class WebhookOut(BaseModel):
    id: int
    organization_id: int
    url: str
    event_types: list[EventTypeName]
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Signs every delivery (HMAC-SHA256); shown once, here. Rotate it with "
        "POST /v1/webhooks/{id}/secret."
    )


class DeliveryOut(BaseModel):
    """One message of one event to one recipient; no addresses, numbers or bodies."""

    id: int
    idempotency_id: str = Field(description="The same on every attempt; receivers drop repeats.")
    event_id: str = Field(
        validation_alias=AliasPath("event", "event_id"), description="The event's id (`id`)."
    )
    event_type: EventTypeName
    organization_id: int
    channel: ChannelName
    webhook_id: int | None
    volunteer_id: int | None
    status: DeliveryStatusName
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

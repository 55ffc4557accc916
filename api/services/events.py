"""The one place that records events: each change that others must hear of writes an event to
the outbox, in the transaction of the change itself, fanned out into deliveries.

    record(session, settings, [assignment_event(EventType.ASSIGNMENT_DECLINED, assignment)])

Who hears what: the webhooks of the organizations an event names (the request's center and the
run's organizations), and of the volunteer's university, filtered by each webhook's event types;
the volunteer, by email and SMS where configured and where they gave an address or number, for
the events in `VOLUNTEER_MESSAGES` (new work, cancelled work, reminders). Events carry ids,
statuses, titles and times only: addresses and numbers are read when a message is delivered, so
that an erased volunteer is never written to, and the outbox holds no personal data.

Each delivery has an idempotency id (`<event id>.<channel>.<recipient>`), sent with it (the
`X-Volmatch-Delivery` header, the email's Message-ID, the SMS request's `id`), so that a
receiver can drop the rare second copy that at-least-once delivery allows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from api.models import (
    Assignment,
    DeliveryStatus,
    MatchRun,
    ServiceRequest,
    Webhook,
    in_offset,
    utc_now,
)
from api.repositories import outbox as repo
from api.repositories import volunteers as volunteer_repo
from api.repositories import webhooks as webhook_repo
from api.settings import Settings


class EventType(StrEnum):
    ASSIGNMENT_PROPOSED = "assignment.proposed"
    ASSIGNMENT_CONFIRMED = "assignment.confirmed"
    ASSIGNMENT_DECLINED = "assignment.declined"
    ASSIGNMENT_CANCELLED = "assignment.cancelled"
    ASSIGNMENT_CHECKED_IN = "assignment.checked_in"
    ASSIGNMENT_COMPLETED = "assignment.completed"
    ASSIGNMENT_NO_SHOW = "assignment.no_show"
    ASSIGNMENT_HOURS_CORRECTED = "assignment.hours_corrected"
    RUN_SUCCEEDED = "run.succeeded"
    RUN_FAILED = "run.failed"
    REQUEST_UNFILLED = "request.unfilled"
    REMINDER_DUE = "reminder.due"


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"
    SMS = "sms"


# The events a volunteer is told of, and the message template each uses.
VOLUNTEER_MESSAGES = {
    EventType.ASSIGNMENT_PROPOSED: "proposed",
    EventType.ASSIGNMENT_CANCELLED: "cancelled",
    EventType.REMINDER_DUE: "reminder",
}


@dataclass(frozen=True)
class Event:
    """An event to record. The first of `organizations` sees the messages to the volunteer in
    its deliveries (the center whose work they are about)."""

    type: EventType
    data: dict[str, Any]
    organizations: tuple[int, ...]
    volunteer_id: int | None = None
    dedupe_key: str | None = None
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def assignment_data(
    *,
    assignment_id: int,
    run_id: int,
    request: ServiceRequest,
    volunteer_id: int,
    status: str,
    times: tuple[datetime, datetime],
    **extra: Any,
) -> dict[str, Any]:
    """An assignment's event data; `times` are its start and end (a flexible visit's chosen
    ones) in the request's offset."""
    return {
        "assignment_id": assignment_id,
        "run_id": run_id,
        "request_id": request.id,
        "center_id": request.center_id,
        "volunteer_id": volunteer_id,
        "status": str(status),
        "title": request.title,
        "start": times[0].isoformat(),
        "end": times[1].isoformat(),
        **extra,
    }


def assignment_event(
    type: EventType, assignment: Assignment, dedupe_key: str | None = None, **extra: Any
) -> Event:
    request = assignment.request
    return Event(
        type=type,
        data=assignment_data(
            assignment_id=assignment.id,
            run_id=assignment.run_id,
            request=request,
            volunteer_id=assignment.volunteer_id,
            status=assignment.status,
            times=assignment.local_times,
            **extra,
        ),
        organizations=(request.center_id,),
        volunteer_id=assignment.volunteer_id,
        dedupe_key=dedupe_key,
    )


def run_event(run: MatchRun, status: str, **extra: Any) -> Event:
    """A run's end: heard by the organization that queued it and by the centers it matched."""
    type = EventType.RUN_SUCCEEDED if status == "succeeded" else EventType.RUN_FAILED
    centers = [int(c) for c in run.center_ids]
    return Event(
        type=type,
        data={
            "run_id": run.id,
            "kind": run.kind,
            "repair_of": run.repair_of,
            "status": status,
            "center_ids": centers,
            **extra,
        },
        organizations=tuple(dict.fromkeys([run.organization_id, *centers])),
    )


def unfilled_event(
    request: ServiceRequest, run_id: int, missing: int, codes: Sequence[str]
) -> Event:
    return Event(
        type=EventType.REQUEST_UNFILLED,
        data={
            "request_id": request.id,
            "center_id": request.center_id,
            "run_id": run_id,
            "missing": missing,
            "codes": list(codes),
            "title": request.title,
            "start": in_offset(request.start_at, request.offset_min).isoformat(),
            "end": in_offset(request.end_at, request.offset_min).isoformat(),
        },
        organizations=(request.center_id,),
    )


def listens(webhook: Webhook, type: EventType) -> bool:
    return not webhook.event_types or str(type) in webhook.event_types


def record(session: Session, settings: Settings, events: Sequence[Event]) -> list[str]:
    """Write the events and their deliveries; the ids of the events written (an event whose
    `dedupe_key` was recorded before is not written again)."""
    if not events:
        return []
    facts = volunteer_repo.contact_facts(
        session, {e.volunteer_id for e in events if e.volunteer_id is not None}
    )

    def audience(event: Event) -> tuple[int, ...]:
        fact = facts.get(event.volunteer_id) if event.volunteer_id is not None else None
        extra = (fact.university_id,) if fact is not None else ()
        return tuple(dict.fromkeys([*event.organizations, *extra]))

    hooks: dict[int, list[Webhook]] = {}
    for hook in webhook_repo.active_webhooks_of(
        session, {org for e in events for org in audience(e)}
    ):
        hooks.setdefault(hook.organization_id, []).append(hook)

    now = utc_now()
    rows = [
        {
            "event_id": e.event_id,
            "type": str(e.type),
            "occurred_at": now,
            "data": {**e.data, "occurred_at": now.isoformat()},
            "dedupe_key": e.dedupe_key,
        }
        for e in events
    ]
    plain = [(e, row) for e, row in zip(events, rows, strict=True) if e.dedupe_key is None]
    written: list[tuple[Event, int]] = list(
        zip([e for e, _ in plain], repo.insert_events(session, [r for _, r in plain]), strict=True)
    )
    for e, row in zip(events, rows, strict=True):
        if e.dedupe_key is not None:
            row_id = repo.insert_event_once(session, row)
            if row_id is not None:
                written.append((e, row_id))

    deliveries: list[dict[str, Any]] = []

    def deliver(
        e: Event, row_id: int, channel: Channel, recipient: int, owner: int, **target: Any
    ) -> None:
        deliveries.append(
            {
                "event_id": row_id,
                "idempotency_id": f"{e.event_id}.{channel}.{recipient}",
                "event_type": str(e.type),
                "organization_id": owner,
                "channel": str(channel),
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "webhook_id": None,
                "volunteer_id": None,
                **target,
            }
        )

    for e, row_id in written:
        for org in audience(e):
            for hook in hooks.get(org, ()):
                if listens(hook, e.type):
                    deliver(e, row_id, Channel.WEBHOOK, hook.id, org, webhook_id=hook.id)
        fact = facts.get(e.volunteer_id) if e.volunteer_id is not None else None
        if fact is None or e.type not in VOLUNTEER_MESSAGES or not e.organizations:
            continue
        owner, vid = e.organizations[0], e.volunteer_id
        if settings.email_on and fact.has_email:
            deliver(e, row_id, Channel.EMAIL, vid, owner, volunteer_id=vid)  # type: ignore[arg-type]
        if settings.sms_on and fact.has_phone:
            deliver(e, row_id, Channel.SMS, vid, owner, volunteer_id=vid)  # type: ignore[arg-type]
    repo.insert_deliveries(session, deliveries)
    return [e.event_id for e, _ in written]

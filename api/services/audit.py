"""The audit trail: every state change, appended in the transaction that makes it.

An event says who (the actor: an API key, a console user, a volunteer's link, or the system
itself, with the actor's organization), what (entity type, id and action), when, which
organizations it concerns (the entity's owner, and a partner such as the volunteer's roster
owner on an assignment), and the changed fields before and after. Personal fields are never
written, only the fact that they changed (`[redacted]`): erasing a person then leaves nothing
of them in the trail, which therefore never needs to change. Organizations read what concerns
them; admins read everything (`GET /v1/audit`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from api.models import AuditEvent, OrgKind, utc_now
from api.pagination import decode_cursor, next_cursor
from api.repositories import audit as repo
from api.schemas.audit import Actor as ActorOut
from api.schemas.audit import AuditEventOut
from api.schemas.common import Page
from api.services.periods import optional_range

if TYPE_CHECKING:  # organizations records its own changes here
    from api.services.organizations import Caller

# Fields that identify a person: recorded as changed, never with their values.
PERSONAL_FIELDS = frozenset({"name", "phone", "email", "address", "location", "lat", "lon"})
REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: `kind` is api_key, user, link (a volunteer through their assignment link) or
    system (the solving process, the retention sweep, the command line)."""

    kind: str
    id: str | None
    organization_id: int | None = None

    @classmethod
    def of(cls, caller: Caller) -> Actor:
        """The caller as an actor: a console user when the request came with a session, else
        the API key."""
        if caller.user_id is not None:
            return cls("user", str(caller.user_id), caller.org_id)
        if caller.key_id is None:  # a caller made by the service itself (the demo loader)
            return cls("system", None, caller.org_id)
        return cls("api_key", str(caller.key_id), caller.org_id)

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls("system", name)

    @classmethod
    def link(cls, assignment_id: int) -> Actor:
        return cls("link", str(assignment_id))


@dataclass(frozen=True, slots=True)
class Change:
    """One state change of one entity."""

    entity_type: str
    entity_id: int | None
    action: str
    organization_id: int | None
    partner_organization_id: int | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


def redact(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """`values` with the personal fields that hold something replaced by `[redacted]`."""
    if values is None:
        return None
    return {k: REDACTED if k in PERSONAL_FIELDS and v is not None else v for k, v in values.items()}


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(session: Session, actor: Actor, changes: Iterable[Change]) -> None:
    """Append the changes to the trail, in the caller's transaction."""
    now = utc_now()
    repo.append(
        session,
        [
            {
                "at": now,
                "actor_kind": actor.kind,
                "actor_id": actor.id,
                "actor_organization_id": actor.organization_id,
                "organization_id": c.organization_id,
                "partner_organization_id": c.partner_organization_id,
                "entity_type": c.entity_type,
                "entity_id": c.entity_id,
                "action": c.action,
                "before": redact(c.before),
                "after": redact(c.after),
            }
            for c in changes
        ],
    )


def record_one(session: Session, actor: Actor, change: Change) -> None:
    record(session, actor, [change])


def list_visible(
    session: Session,
    caller: Caller,
    *,
    entity_type: str | None,
    entity_id: int | None,
    action: str | None,
    start: date | datetime | None,
    end: date | datetime | None,
    cursor: str | None,
    limit: int,
) -> Page[AuditEventOut]:
    lo, hi = optional_range(start, end, caller.timezone)
    page = repo.list_events(
        session,
        organization_id=None if caller.kind is OrgKind.ADMIN else caller.org_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        start=lo,
        end=hi,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    return Page(
        items=[event_out(e) for e in page], next_cursor=next_cursor([e.id for e in page], limit)
    )


def event_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        id=event.id,
        at=event.at,
        actor=ActorOut(
            kind=event.actor_kind, id=event.actor_id, organization_id=event.actor_organization_id
        ),
        organization_id=event.organization_id,
        partner_organization_id=event.partner_organization_id,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        action=event.action,
        before=event.before,
        after=event.after,
    )

"""Webhooks: each organization's endpoints for events, with a secret that signs deliveries.

The secret is shown once (on creation or rotation); it stays in the database because every
delivery is signed with it. URLs on private networks are refused unless
`VOLMATCH_WEBHOOK_ALLOW_PRIVATE` allows them (checked again at each delivery). Creating,
changing, rotating and removing a webhook are audited; its URL (it may carry credentials) and
secret never are, only that they changed.
"""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from api.errors import FieldError, InvalidInput, NotFound
from api.models import OrgKind, Webhook, utc_now
from api.notifications.webhook import address_problem
from api.repositories import webhooks as repo
from api.schemas.webhooks import WebhookCreated, WebhookIn, WebhookOut, WebhookPatch
from api.services.audit import REDACTED, Actor, Change, record_one
from api.services.organizations import Caller
from api.settings import Settings

SECRET_PREFIX = "whsec_"


def _check_url(url: str, settings: Settings) -> None:
    problem = address_problem(url, settings.webhook_allow_private)
    if problem is not None:
        raise InvalidInput(
            "the webhook URL cannot receive events",
            fields=[FieldError(loc=["body", "url"], msg=problem)],
        )


def create(session: Session, settings: Settings, caller: Caller, body: WebhookIn) -> WebhookCreated:
    _check_url(body.url, settings)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    hook = repo.add_webhook(
        session,
        Webhook(
            organization_id=caller.org_id,
            url=body.url,
            event_types=list(dict.fromkeys(body.event_types)),
            secret=secret,
            description=body.description,
        ),
    )
    _audit(session, caller, hook, "created", after={"event_types": hook.event_types})
    return WebhookCreated(**to_out(hook).model_dump(), secret=secret)


def _audit(
    session: Session,
    caller: Caller,
    hook: Webhook,
    action: str,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
) -> None:
    record_one(
        session,
        Actor.of(caller),
        Change("webhook", hook.id, action, hook.organization_id, before=before, after=after),
    )


def visible(session: Session, caller: Caller, webhook_id: int) -> Webhook:
    hook = repo.get_webhook(session, webhook_id)
    if hook is None or not caller.reads(hook.organization_id):
        raise NotFound(f"no webhook {webhook_id}")
    return hook


def owned(session: Session, caller: Caller, webhook_id: int) -> Webhook:
    """A webhook the caller may change: its own (admins read, they do not change)."""
    hook = visible(session, caller, webhook_id)
    if caller.kind is OrgKind.ADMIN and hook.organization_id != caller.org_id:
        raise NotFound(f"no webhook {webhook_id}")
    return hook


def update(
    session: Session, settings: Settings, caller: Caller, webhook_id: int, patch: WebhookPatch
) -> Webhook:
    hook = owned(session, caller, webhook_id)
    changes = patch.model_dump(exclude_unset=True)
    for name in ("url", "event_types", "active"):
        if name in changes and changes[name] is None:
            raise InvalidInput(
                f"{name} cannot be null", fields=[FieldError(loc=["body", name], msg="may not be null")]
            )
    if "url" in changes:
        _check_url(changes["url"], settings)
    if "event_types" in changes:
        changes["event_types"] = list(dict.fromkeys(changes["event_types"]))
    changed = [name for name, value in changes.items() if getattr(hook, name) != value]
    before = {name: _shown(name, getattr(hook, name)) for name in changed}
    for name, value in changes.items():
        setattr(hook, name, value)
    hook.updated_at = utc_now()
    if changed:
        after = {name: _shown(name, getattr(hook, name)) for name in changed}
        _audit(session, caller, hook, "updated", before=before, after=after)
    return hook


def _shown(name: str, value: object) -> object:
    return REDACTED if name == "url" else value


def rotate_secret(session: Session, caller: Caller, webhook_id: int) -> WebhookCreated:
    hook = owned(session, caller, webhook_id)
    hook.secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    hook.updated_at = utc_now()
    _audit(session, caller, hook, "secret_rotated")
    return WebhookCreated(**to_out(hook).model_dump(), secret=hook.secret)


def delete(session: Session, caller: Caller, webhook_id: int) -> None:
    hook = owned(session, caller, webhook_id)
    _audit(session, caller, hook, "deleted")
    repo.delete_webhook(session, hook)


def list_visible(session: Session, caller: Caller) -> list[WebhookOut]:
    org = None if caller.kind is OrgKind.ADMIN else caller.org_id
    return [to_out(h) for h in repo.list_webhooks(session, org)]


def to_out(hook: Webhook) -> WebhookOut:
    return WebhookOut.model_validate(hook, from_attributes=True)

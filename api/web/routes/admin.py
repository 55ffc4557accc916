"""The admin organization's pages: organizations (create one: its first API key is shown
once), and for each its users (managed through the team pages) and API keys (issue, revoke);
and the audit trail of every change (who, what, when, the fields before and after), filtered
and paged like `GET /v1/audit`."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError, InvalidInput
from api.schemas.common import MAX_ID, PathId
from api.schemas.organizations import OrganizationIn
from api.services import audit, organizations, users
from api.services.audit import Actor
from api.web import forms
from api.web.i18n import N_
from api.web.routing import console_router
from api.web.security import AdminChange, AdminUser
from api.web.templating import KIND_NAMES, language_of, render

router = console_router("/admin")
KINDS = ("center", "university", "law_firm", "community", "planner", "admin")
AUDIT_PAGE = 50
ENTITY_NAMES = {
    "organization": N_("Organization"),
    "api_key": N_("API key"),
    "volunteer": N_("Volunteer"),
    "request": N_("Request"),
    "match_run": N_("Match run"),
    "assignment": N_("Assignment"),
    "standby": N_("Standby"),
    "certificate": N_("Certificate"),
    "webhook": N_("Webhook"),
    "delivery": N_("Delivery"),
    "user": N_("Console user"),
    "scenario_run": N_("Scenario run"),
}
ACTOR_NAMES = {
    "api_key": N_("API key"),
    "user": N_("Console user"),
    "link": N_("Volunteer's link"),
    "system": N_("System"),
}


def _index(request: Request, caller: AdminUser, session: SessionDep, **context: Any) -> Response:
    status = 422 if context.get("errors") else 200
    context.setdefault("errors", {})
    context.setdefault("values", {"kind": "center"})
    return render(
        request,
        "admin/organizations.html",
        status,
        orgs=organizations.list_organizations(session, caller),
        kind_options=[(k, language_of(request).gettext(KIND_NAMES[k])) for k in KINDS],
        **context,
    )


@router.get("/organizations")
def index(request: Request, caller: AdminUser, session: SessionDep) -> Response:
    return _index(request, caller, session)


@router.post("/organizations")
def create(
    request: Request, posted: AdminChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, form = posted
    lang = language_of(request)
    values = {k: forms.text(form, k) for k in ("name", "kind", "timezone")}
    try:
        body = OrganizationIn.model_validate({k: v for k, v in values.items() if v})
        org, key, secret = organizations.create_organization(
            session,
            body.name,
            body.kind,
            body.timezone or settings.default_timezone,
            actor=Actor.of(caller),
        )
    except ValidationError as exc:
        return _index(
            request, caller, session, errors=forms.pydantic_errors(lang, exc), values=values
        )
    except ApiError as exc:
        errors = forms.api_field_errors(lang, exc.fields) if exc.fields else {"name": exc.detail}
        return _index(request, caller, session, errors=errors, values=values)
    return render(request, "admin/new_key.html", org=org, key=key, secret=secret, first=True)


@router.get("/organizations/{org_id}")
def organization(
    request: Request, org_id: PathId, caller: AdminUser, session: SessionDep
) -> Response:
    org = organizations.visible_organization(session, caller, org_id)
    return render(
        request,
        "admin/organization.html",
        org=org,
        people=users.list_users(session, caller, org.id),
        keys=organizations.list_keys(session, caller, org.id),
    )


@router.post("/organizations/{org_id}/keys")
def issue_key(
    request: Request, org_id: PathId, posted: AdminChange, session: SessionDep
) -> Response:
    caller, form = posted
    org = organizations.visible_organization(session, caller, org_id)
    key, secret = organizations.issue_key(
        session, org, forms.optional(form, "label"), actor=Actor.of(caller)
    )
    return render(request, "admin/new_key.html", org=org, key=key, secret=secret, first=False)


@router.post("/organizations/{org_id}/keys/{key_id}/revoke")
def revoke_key(
    org_id: PathId, key_id: PathId, posted: AdminChange, session: SessionDep
) -> Response:
    caller, _ = posted
    org = organizations.visible_organization(session, caller, org_id)
    organizations.revoke_key(session, org.id, key_id, actor=Actor.of(caller))
    return RedirectResponse(f"/admin/organizations/{org.id}", status_code=303)


@router.get("/audit")
def audit_trail(
    request: Request,
    caller: AdminUser,
    session: SessionDep,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    start: str | None = None,
    end: str | None = None,
    cursor: str | None = None,
) -> Response:
    """Every change in the order made, filtered by entity (type, id), action and local days."""
    params = {
        "entity_type": entity_type if entity_type in ENTITY_NAMES else "",
        "entity_id": (entity_id or "").strip(),
        "action": (action or "").strip(),
        "start": start or "",
        "end": end or "",
    }
    try:
        if params["entity_id"] and not 1 <= int(params["entity_id"]) <= MAX_ID:
            raise ValueError(params["entity_id"])
        page = audit.list_visible(
            session,
            caller,
            entity_type=params["entity_type"] or None,
            entity_id=int(params["entity_id"]) if params["entity_id"] else None,
            action=params["action"] or None,
            start=date.fromisoformat(params["start"]) if params["start"] else None,
            end=date.fromisoformat(params["end"]) if params["end"] else None,
            cursor=cursor,
            limit=AUDIT_PAGE,
        )
    except (ValueError, InvalidInput):
        message = N_("Give an entity number, and days like 2026-03-02, the first not after the last.")
        return render(
            request, "admin/audit.html", 422, page=None, params=params,
            problem=language_of(request).gettext(message), **_audit_names(),
        )  # fmt: skip
    orgs = {org.id: org.name for org in organizations.list_organizations(session, caller)}
    return render(
        request, "admin/audit.html", page=page, params={**params, "cursor": cursor},
        problem="", orgs=orgs, **_audit_names(),
    )  # fmt: skip


def _audit_names() -> dict[str, Any]:
    return {"entity_names": ENTITY_NAMES, "actor_names": ACTOR_NAMES}

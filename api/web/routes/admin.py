"""The admin organization's pages: organizations (create one: its first API key is shown
once), and for each its users (managed through the team pages) and API keys (issue, revoke)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.schemas.common import PathId
from api.schemas.organizations import OrganizationIn
from api.services import organizations, users
from api.web import forms
from api.web.routing import console_router
from api.web.security import AdminChange, AdminUser
from api.web.templating import language_of, render

router = console_router("/admin")
KINDS = ("center", "university", "planner", "admin")


def _index(request: Request, caller: AdminUser, session: SessionDep, **context: Any) -> Response:
    status = 422 if context.get("errors") else 200
    context.setdefault("errors", {})
    context.setdefault("values", {"kind": "center"})
    return render(
        request,
        "admin/organizations.html",
        status,
        orgs=organizations.list_organizations(session, caller),
        kinds=KINDS,
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
            session, body.name, body.kind, body.timezone or settings.default_timezone
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
    key, secret = organizations.issue_key(session, org, forms.optional(form, "label"))
    return render(request, "admin/new_key.html", org=org, key=key, secret=secret, first=False)


@router.post("/organizations/{org_id}/keys/{key_id}/revoke")
def revoke_key(
    org_id: PathId, key_id: PathId, posted: AdminChange, session: SessionDep
) -> Response:
    caller, _ = posted
    org = organizations.visible_organization(session, caller, org_id)
    organizations.revoke_key(session, org.id, key_id)
    return RedirectResponse(f"/admin/organizations/{org.id}", status_code=303)

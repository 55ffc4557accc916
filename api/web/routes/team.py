"""An organization's console users: list, invite (a link to set a first password), reset links,
roles, disabling. Coordinators manage their own organization's users; the admin organization's
users manage everyone's (the admin pages link here with `org_id`)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError, InvalidInput
from api.models import OrgKind, TokenPurpose, UserRole
from api.schemas.common import PathId
from api.services import users
from api.services.audit import Actor
from api.services.organizations import Caller, visible_organization
from api.web import forms
from api.web.routing import console_router
from api.web.security import AnyChange, AnyUser
from api.web.templating import language_of, render

router = console_router()


def _org_id(caller: Caller, requested: str | int | None) -> int:
    """The organization a page is about: an admin's choice, everyone else's own."""
    if caller.kind is OrgKind.ADMIN and requested not in (None, ""):
        try:
            return int(str(requested))
        except ValueError:
            return caller.org_id
    return caller.org_id


def _back(caller: Caller, org_id: int) -> str:
    return f"/admin/organizations/{org_id}" if org_id != caller.org_id else "/team"


@router.get("/team")
def team(request: Request, caller: AnyUser, session: SessionDep) -> Response:
    org = visible_organization(session, caller, caller.org_id)
    return render(
        request, "team/team.html", org=org, people=users.list_users(session, caller, org.id)
    )


@router.get("/team/new")
def new_user_page(
    request: Request, caller: AnyUser, session: SessionDep, org_id: int | None = None
) -> Response:
    org = visible_organization(session, caller, _org_id(caller, org_id))
    return render(request, "team/new_user.html", org=org, errors={}, values={})


@router.post("/team/users")
def create_user(
    request: Request, posted: AnyChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, form = posted
    org = visible_organization(session, caller, _org_id(caller, forms.text(form, "org_id")))
    values = {k: forms.text(form, k) for k in ("login", "display_name", "role")}
    role = UserRole.VIEWER if values["role"] == UserRole.VIEWER else UserRole.COORDINATOR
    try:
        user = users.create_user(
            session, caller, org.id, values["login"], values["display_name"], role
        )
    except (InvalidInput, ApiError) as exc:
        errors = forms.api_field_errors(language_of(request), exc.fields) or {"__all__": exc.detail}
        return render(
            request, "team/new_user.html", status_code=422, org=org, errors=errors, values=values
        )
    token = users.issue_link(session, user, TokenPurpose.INVITE, settings, Actor.of(caller))
    return render(
        request,
        "team/link.html",
        who=user,
        kind="invite",
        link=f"{str(request.base_url).rstrip('/')}/invite/{token}",
        back=_back(caller, org.id),
        valid_h=settings.invite_valid_h,
    )


@router.post("/team/users/{user_id}/reset")
def reset_link(
    request: Request,
    user_id: PathId,
    posted: AnyChange,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    caller, _ = posted
    user = users.managed_user(session, caller, user_id)
    purpose = TokenPurpose.RESET if user.password_hash else TokenPurpose.INVITE
    token = users.issue_link(session, user, purpose, settings, Actor.of(caller))
    kind = "reset" if purpose is TokenPurpose.RESET else "invite"
    return render(
        request,
        "team/link.html",
        who=user,
        kind=kind,
        link=f"{str(request.base_url).rstrip('/')}/{kind}/{token}",
        back=_back(caller, user.organization_id),
        valid_h=settings.reset_valid_h if kind == "reset" else settings.invite_valid_h,
    )


@router.post("/team/users/{user_id}/role")
def change_role(user_id: PathId, posted: AnyChange, session: SessionDep) -> Response:
    caller, form = posted
    role = UserRole.VIEWER if forms.text(form, "role") == UserRole.VIEWER else UserRole.COORDINATOR
    user = users.change_role(session, caller, user_id, role)
    return RedirectResponse(_back(caller, user.organization_id), status_code=303)


@router.post("/team/users/{user_id}/disable")
def disable(user_id: PathId, posted: AnyChange, session: SessionDep) -> Response:
    caller, form = posted
    user = users.set_disabled(session, caller, user_id, forms.text(form, "disabled") != "no")
    return RedirectResponse(_back(caller, user.organization_id), status_code=303)

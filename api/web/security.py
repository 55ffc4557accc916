"""Who is at the console: the signed session cookie, the CSRF token, and the dependencies that
let a page through.

The cookie (Starlette's SessionMiddleware: signed with itsdangerous, HttpOnly, SameSite=Lax)
holds the server-side session's token (`sid`) and the CSRF token. Every POST must carry the
CSRF token, as the form field `csrf_token` or the `X-CSRF-Token` header (htmx sends it from the
page's `hx-headers`). A signed-in user acts as their organization: the `Caller` the API's
services know, with the user's role. Which kinds of organization may open a page is declared by
its dependency (`Console(...)`, `Changes(...)`), so that every page states it once; what a
caller may do with a resource stays in the services.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from api.deps import SessionDep
from api.errors import ApiError, Forbidden
from api.models import ROSTER_OWNERS, OrgKind
from api.services import users
from api.services.organizations import Caller

SESSION_COOKIE = "volmatch_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInNeeded(ApiError):
    """No valid session: pages redirect to the sign-in page."""

    status_code, code = 401, "sign_in_needed"


class CsrfRefused(Forbidden):
    code = "csrf_refused"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches the session's (403 otherwise)."""
    form = await request.form()
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not expected
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise CsrfRefused("the form is out of date or did not come from this console; reload it")
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


@dataclass(frozen=True)
class ConsoleUser:
    """What pages show of the signed-in user (read once, usable after the session closes)."""

    id: int
    login: str
    display_name: str
    role: str
    org_name: str


def signed_in(request: Request, session: SessionDep) -> Caller:
    """The caller behind the session cookie (SignInNeeded without one)."""
    token = request.session.get("sid")
    found = users.session_caller(session, token) if isinstance(token, str) else None
    if found is None:
        raise SignInNeeded("sign in first")
    caller, user = found
    request.state.caller = caller
    request.state.user = ConsoleUser(
        user.id, user.login, user.display_name, user.role, user.organization.name
    )
    return caller


SignedIn = Annotated[Caller, Depends(signed_in)]


def console(*kinds: OrgKind) -> Callable[[Caller], Caller]:
    """A page for users of these kinds of organization (403 otherwise)."""

    def check(caller: SignedIn) -> Caller:
        if caller.kind not in kinds:
            raise Forbidden("this page is not for your organization")
        return caller

    return check


def changes(
    *kinds: OrgKind,
) -> Callable[[FormData, Caller], Coroutine[Any, Any, tuple[Caller, FormData]]]:
    """A POST of users of these kinds who may change things (not viewers), with its checked
    form."""
    allowed = console(*kinds)

    # A default, not an annotation: annotations are strings here, and `allowed` is local.
    async def check(form: FormDep, caller: Caller = Depends(allowed)) -> tuple[Caller, FormData]:
        if not caller.changes:
            raise Forbidden("viewers cannot change anything")
        return caller, form

    return check


def current_user(request: Request) -> ConsoleUser | None:
    user: ConsoleUser | None = getattr(request.state, "user", None)
    return user


ALL_KINDS = tuple(OrgKind)
AnyUser = Annotated[Caller, Depends(console(*ALL_KINDS))]
CenterUser = Annotated[Caller, Depends(console(OrgKind.CENTER))]
# Universities, law firms and communities keep rosters alike: the same pages (`/university/...`).
RosterOwnerUser = Annotated[Caller, Depends(console(*ROSTER_OWNERS))]
PlannerUser = Annotated[Caller, Depends(console(OrgKind.PLANNER))]
AdminUser = Annotated[Caller, Depends(console(OrgKind.ADMIN))]
Posted = tuple[Caller, FormData]
AnyChange = Annotated[Posted, Depends(changes(*ALL_KINDS))]
CenterChange = Annotated[Posted, Depends(changes(OrgKind.CENTER))]
RosterOwnerChange = Annotated[Posted, Depends(changes(*ROSTER_OWNERS))]
PlannerChange = Annotated[Posted, Depends(changes(OrgKind.PLANNER))]
AdminChange = Annotated[Posted, Depends(changes(OrgKind.ADMIN))]

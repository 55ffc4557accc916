"""Signing in and out, invitation and reset links, the language and text-size switches, and
the home page that sends each user to their organization's first page."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError, InvalidInput, NotFound
from api.models import TokenPurpose
from api.services import users
from api.web import forms
from api.web.i18n import COOKIE, LANGUAGES, N_
from api.web.routing import console_router
from api.web.security import FormDep, SignedIn
from api.web.templating import LARGE_TEXT_COOKIE, NAVIGATION, language_of, render

router = console_router()
YEAR_S = 365 * 86400


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site (never another host: no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    token = request.session.get("sid")
    found = users.session_caller(session, token) if isinstance(token, str) else None
    if found is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(NAVIGATION[found[0].kind][0][0], status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "account/login.html", next=local_path(next, ""), errors={}, login="")


@router.post("/login")
def login(request: Request, session: SessionDep, settings: SettingsDep, form: FormDep) -> Response:
    lang = language_of(request)
    login_name, target = forms.text(form, "login"), local_path(forms.text(form, "next"), "")
    try:
        user = users.sign_in(
            session, login_name, forms.text(form, "password"), client_address(request), settings
        )
    except users.SignInThrottled:
        message = lang.gettext(N_("Too many failed sign-ins. Wait a while and try again."))
        return render(
            request,
            "account/login.html",
            status_code=429,
            next=target,
            errors={"__all__": message},
            login=login_name,
        )
    except users.SignInRefused:
        return render(
            request,
            "account/login.html",
            status_code=401,
            next=target,
            errors={"__all__": lang.gettext(N_("Wrong login or password."))},
            login=login_name,
        )
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in user
    request.session["sid"] = users.open_session(session, user, settings)
    return RedirectResponse(local_path(target), status_code=303)


@router.post("/logout")
def logout(request: Request, caller: SignedIn, session: SessionDep, form: FormDep) -> Response:
    token = request.session.get("sid")
    if isinstance(token, str):
        users.end_session(session, token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


_PURPOSES = {"invite": TokenPurpose.INVITE, "reset": TokenPurpose.RESET}


def _password_page(request: Request, session: SessionDep, kind: str, token: str) -> Response:
    purpose = _PURPOSES[kind]
    user = users.link_user(session, token, purpose)
    return render(request, "account/password.html", kind=kind, token=token, who=user, errors={})


@router.get("/invite/{token}")
def invite_page(request: Request, token: str, session: SessionDep) -> Response:
    return _password_page(request, session, "invite", token)


@router.get("/reset/{token}")
def reset_page(request: Request, token: str, session: SessionDep) -> Response:
    return _password_page(request, session, "reset", token)


def _set_password(
    request: Request, session: SessionDep, form: FormDep, kind: str, token: str
) -> Response:
    lang = language_of(request)
    purpose = _PURPOSES[kind]
    user = users.link_user(session, token, purpose)
    password = forms.text(form, "password")
    errors: dict[str, str] = {}
    if password != forms.text(form, "confirm"):
        errors["confirm"] = lang.gettext(N_("The two passwords differ."))
    else:
        try:
            users.set_password_by_link(session, token, purpose, password)
        except InvalidInput as exc:
            errors = forms.api_field_errors(lang, exc.fields)
        except NotFound:
            raise
        except ApiError as exc:
            errors = {"__all__": exc.detail}
    if errors:
        return render(
            request,
            "account/password.html",
            status_code=422,
            kind=kind,
            token=token,
            who=user,
            errors=errors,
        )
    request.session.clear()
    return render(request, "account/password_set.html", who=user)


@router.post("/invite/{token}")
def accept_invite(request: Request, token: str, session: SessionDep, form: FormDep) -> Response:
    return _set_password(request, session, form, "invite", token)


@router.post("/reset/{token}")
def reset_password(request: Request, token: str, session: SessionDep, form: FormDep) -> Response:
    return _set_password(request, session, form, "reset", token)


@router.get("/lang/{code}")
def switch_language(code: str, next: str | None = None) -> Response:
    """Remember the chosen language (a preference cookie; nothing changes on the server)."""
    response = RedirectResponse(local_path(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=YEAR_S, samesite="lax", httponly=True)
    return response


@router.get("/text/{size}")
def switch_text_size(size: str, next: str | None = None) -> Response:
    """Large text for whoever needs it (a preference cookie)."""
    response = RedirectResponse(local_path(next), status_code=303)
    value = "large" if size == "large" else "normal"
    response.set_cookie(LARGE_TEXT_COOKIE, value, max_age=YEAR_S, samesite="lax", httponly=True)
    return response

"""Rendering pages: one Jinja2 environment (autoescaped, with the i18n extension), and
`render(request, name, **context)` which adds what every page needs: the language and its
gettext functions, the signed-in user and their organization, the CSRF token, the navigation,
the map's tile settings and the date and number filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.models import ROSTER_OWNERS, OrgKind
from api.services.organizations import Caller
from api.settings import Settings
from api.web.i18n import COOKIE, DEFAULT_TIMEZONE, N_, Language, negotiate
from api.web.security import csrf_token, current_user

TEMPLATES = Path(__file__).parent / "templates"
LARGE_TEXT_COOKIE = "text"

ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.newstyle_gettext = True  # type: ignore[attr-defined]

# The language switcher shows each language in its own words.
LANGUAGE_NAMES = (("zh-CN", "中文"), ("en", "English"))
ROLE_NAMES = {"coordinator": N_("Coordinator"), "viewer": N_("Viewer")}
STATUS_NAMES = {
    "open": N_("Open"),
    "filled": N_("Filled"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
    "proposed": N_("Proposed"),
    "confirmed": N_("Confirmed"),
    "declined": N_("Declined"),
    "checked_in": N_("Checked in"),
    "completed": N_("Completed"),
    "no_show": N_("No-show"),
    "queued": N_("Queued"),
    "running": N_("Running"),
    "succeeded": N_("Finished"),
    "failed": N_("Failed"),
}
KIND_NAMES = {
    "center": N_("Service center"),
    "university": N_("University"),
    "law_firm": N_("Law firm"),
    "community": N_("Community"),
    "planner": N_("Planning office"),
    "admin": N_("Administration"),
}

# What a roster owner calls the number of a person on its roster (the roster's `external_id`).
ROSTER_NUMBER = {
    OrgKind.UNIVERSITY: N_("Student number"),
    OrgKind.LAW_FIRM: N_("Staff number"),
    OrgKind.COMMUNITY: N_("Member number"),
}
# The roster owners' pages: a university's, a law firm's and a community's are the same.
ROSTER_PAGES = (
    ("/university/volunteers", N_("Volunteers")),
    ("/university/assignments", N_("Assignments")),
    ("/university/hours", N_("Hours served")),
    ("/team", N_("Team")),
    ("/settings", N_("Settings")),
    ("/webhooks", N_("Notifications")),
)
# The navigation of each kind of organization: (path, label).
NAVIGATION: dict[OrgKind, tuple[tuple[str, str], ...]] = {
    OrgKind.CENTER: (
        ("/center/requests", N_("Requests")),
        ("/center/runs", N_("Match runs")),
        ("/center/board", N_("Assignments")),
        ("/team", N_("Team")),
        ("/settings", N_("Settings")),
        ("/webhooks", N_("Notifications")),
    ),
    **dict.fromkeys(ROSTER_OWNERS, ROSTER_PAGES),
    OrgKind.PLANNER: (
        ("/planner", N_("Scenarios")),
        ("/team", N_("Team")),
    ),
    OrgKind.ADMIN: (
        ("/admin/organizations", N_("Organizations")),
        ("/admin/audit", N_("Audit trail")),
        ("/team", N_("Team")),
        ("/webhooks", N_("Notifications")),
    ),
}


def language_of(request: Request) -> Language:
    cached: Language | None = getattr(request.state, "language", None)
    if cached is None:
        cached = negotiate(request.cookies.get(COOKIE), request.headers.get("accept-language"))
        request.state.language = cached
    return cached


def query(**params: Any) -> str:
    """A query string of the parameters that have a value (for pagers and filters)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


def render(
    request: Request,
    name: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = language_of(request)
    caller: Caller | None = getattr(request.state, "caller", None)
    settings: Settings = request.app.state.settings
    timezone = caller.timezone if caller else DEFAULT_TIMEZONE
    # Pages without a session (a volunteer's) bring their own anti-forgery token.
    form_token = context.pop("csrf_token") if "csrf_token" in context else csrf_token(request)
    page = {
        "request": request,
        "lang": lang,
        "caller": caller,
        "user": current_user(request),
        "navigation": NAVIGATION.get(caller.kind, ()) if caller else (),
        "csrf_token": form_token,
        "language_names": LANGUAGE_NAMES,
        "role_names": ROLE_NAMES,
        "kind_names": KIND_NAMES,
        "roster_number": ROSTER_NUMBER.get(caller.kind, ROSTER_NUMBER[OrgKind.UNIVERSITY])
        if caller
        else "",
        "status_names": STATUS_NAMES,
        "large_text": request.cookies.get(LARGE_TEXT_COOKIE) == "large",
        "tile_url": settings.map_tile_url,
        "tile_attribution": settings.map_tile_attribution,
        "when": lambda moment: lang.when(moment, timezone),
        "clock": lambda moment: lang.clock(moment, timezone),
        "number": lang.number,
        "query": query,
        "path": request.url.path,
        **lang.template_functions(),
        **context,
    }
    html = ENVIRONMENT.get_template(name).render(page)
    return HTMLResponse(html, status_code=status_code, headers=headers)

"""What every volunteer page shares. A volunteer has no account: the link token in the URL is
the credential, so these pages keep no session and set no session cookie. Here: the page's
language (the `lang` cookie, else the volunteer's languages as in their messages, else
Chinese), the anti-forgery field bound to the link (an HMAC of the link with the console's
secret, so a form of one link is refused on another), the headers that keep the pages out of
search engines, shared caches and other sites' Referer logs (the token is in the URL), and the
friendly page for errors.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any

from babel.dates import format_date
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from api.errors import ApiError
from api.notifications.messages import locale_for, when
from api.services.links import token_hash
from api.services.self_service import LinkExpired
from api.settings import Settings
from api.web.i18n import COOKIE, LANGUAGES, Language, language
from api.web.security import CSRF_FIELD, CsrfRefused
from api.web.templating import language_of, render

PRIVATE = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def form_token(request: Request, token: str) -> str:
    """The anti-forgery field of the link's forms."""
    secret: str = request.app.state.console_secret
    message = f"volunteer-form:{token_hash(token)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def link_form(request: Request, token: str) -> FormData:
    """The posted form, once its anti-forgery field matches the link (403 otherwise)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = form_token(request, token)
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused("the form is out of date or did not come from this page; reload it")
    return form


LinkForm = Annotated[FormData, Depends(link_form)]


def choose_language(
    request: Request, volunteer_languages: Sequence[str], settings: Settings
) -> Language:
    """The volunteer's choice (cookie), else the language of their messages."""
    cookie = request.cookies.get(COOKIE)
    if cookie in LANGUAGES:
        chosen = language(cookie)
    else:
        english = locale_for(volunteer_languages, settings.default_locale) == "en"
        chosen = language("en" if english else "zh-CN")
    request.state.language = chosen
    return chosen


def locale_of(lang: Language) -> str:
    """The messages' locale name ("zh_CN", "en") of a page language."""
    return LANGUAGES[lang.code]


def page(
    request: Request, name: str, token: str | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A volunteer page (with the link's anti-forgery field when it has forms)."""
    return render(
        request,
        name,
        status_code=status_code,
        headers=dict(PRIVATE),
        csrf_token=form_token(request, token) if token else None,
        **context,
    )


def redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=dict(PRIVATE))


def volunteer_error(
    request: Request, status_code: int, error: Exception | None = None
) -> HTMLResponse:
    """The friendly page of an error on a volunteer's page: an unknown link (404), an expired
    one (410, with the work and whom to call), a form from elsewhere (403), anything else."""
    expired = error if isinstance(error, LinkExpired) else None
    return page(
        request,
        "volunteer/error.html",
        None,
        status_code,
        status=status_code,
        code=error.code if isinstance(error, ApiError) else "",
        expired=expired,
        started=day_of(expired.start.date(), language_of(request)) if expired else "",
        center=expired.contact if expired else None,
        call=tel(expired.contact.contact_phone or "") if expired else "",
    )


def when_of(start: datetime, end: datetime, lang: Language) -> str:
    """A span of work as the volunteer's messages write it ("3月5日 星期四 14:00–16:00")."""
    return when(start, end, locale_of(lang))


def day_of(day: date, lang: Language) -> str:
    return format_date(day, "long", locale=locale_of(lang))


def tel(phone: str) -> str:
    """A number as a `tel:` link's target: digits and a leading +."""
    return "".join(c for c in phone if c.isdigit() or c == "+")

"""Errors on console pages are pages, not JSON: the app's handlers answer the console's routes
(tagged "console") here and every other route in the API's one error shape, as before.

A page that needs a session redirects to the sign-in page (htmx requests get `HX-Redirect`);
other errors render `error.html` with the status and a translated headline (on a volunteer's
pages, their own friendly page: `api.web.volunteer_pages`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ApiError
from api.web.i18n import N_
from api.web.routing import CONSOLE_TAG, VOLUNTEER_TAG
from api.web.security import SignInNeeded
from api.web.templating import render
from api.web.volunteer_pages import volunteer_error

Handler = Callable[[Request, Exception], Awaitable[Response]]

HEADLINES = {
    400: N_("The request could not be read."),
    403: N_("You may not do this."),
    404: N_("Not found, or not yours to see."),
    409: N_("This cannot be done in the current state."),
    413: N_("The file is too large."),
    415: N_("This kind of file cannot be read."),
    422: N_("Some values are not valid."),
    429: N_("Too many attempts; wait a while and try again."),
    503: N_("The database is unavailable; try again shortly."),
}


def _tags(request: Request) -> list[str]:
    return list(getattr(request.scope.get("route"), "tags", None) or ())


def is_console(request: Request) -> bool:
    return CONSOLE_TAG in _tags(request)


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/login?next=" + quote(target, safe="")
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def error_page(
    request: Request, status_code: int, detail: str, error: Exception | None = None
) -> Response:
    headline = HEADLINES.get(status_code, N_("Something went wrong."))
    if VOLUNTEER_TAG in _tags(request):
        return volunteer_error(request, status_code, error)
    return render(
        request,
        "error.html",
        status_code=status_code,
        headline=headline,
        detail=detail,
        status=status_code,
    )


def install_error_pages(app: FastAPI) -> None:
    """Wrap the API's handlers: console routes get pages, the rest what they got before."""
    api_error = cast(Handler, app.exception_handlers[ApiError])
    validation = cast(Handler, app.exception_handlers[RequestValidationError])
    http_error = cast(Handler, app.exception_handlers[StarletteHTTPException])

    async def on_api_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, SignInNeeded):
            return sign_in_redirect(request)
        if not is_console(request):
            return await api_error(request, exc)
        assert isinstance(exc, ApiError)
        return error_page(request, exc.status_code, exc.detail, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        if not is_console(request):
            return await validation(request, exc)
        return error_page(request, 422, "")

    async def on_http_error(request: Request, exc: Exception) -> Response:
        if not is_console(request):
            return await http_error(request, exc)
        assert isinstance(exc, StarletteHTTPException)
        return error_page(request, exc.status_code, "")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_error)

"""`install_console(app)`: the console's session cookie, static files, pages and error pages,
added to the API's app (which keeps every `/v1` route as it was)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from api.db import transaction
from api.services.secrets import session_secret
from api.settings import Settings
from api.web.error_pages import install_error_pages
from api.web.routes import ROUTERS
from api.web.security import SESSION_COOKIE

STATIC = Path(__file__).parent / "static"


def install_console(app: FastAPI, settings: Settings) -> None:
    with transaction(app.state.sessions) as session:
        secret = session_secret(session, settings)
    app.state.console_secret = secret  # also binds the volunteers' forms to their links
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.session_https_only,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    install_error_pages(app)

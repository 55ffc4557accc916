"""The console's routers: tagged "console" (so that errors on them render as pages) and kept
out of the OpenAPI document (the API's documentation stays as it was); the volunteers' pages are
also tagged "volunteer pages" (their errors render in the volunteers' layout)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

CONSOLE_TAG = "console"
VOLUNTEER_TAG = "volunteer pages"


def console_router(prefix: str = "") -> APIRouter:
    return APIRouter(
        prefix=prefix,
        tags=[CONSOLE_TAG],
        include_in_schema=False,
        default_response_class=HTMLResponse,
    )


def volunteer_router(prefix: str = "") -> APIRouter:
    """The volunteers' pages: console routes (errors are pages) that errors show in the
    volunteers' own layout."""
    return APIRouter(
        prefix=prefix,
        tags=[CONSOLE_TAG, VOLUNTEER_TAG],
        include_in_schema=False,
        default_response_class=HTMLResponse,
    )

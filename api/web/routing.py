"""The console's routers: tagged "console" (so that errors on them render as pages) and kept
out of the OpenAPI document (the API's documentation stays as it was)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

CONSOLE_TAG = "console"


def console_router(prefix: str = "") -> APIRouter:
    return APIRouter(
        prefix=prefix,
        tags=[CONSOLE_TAG],
        include_in_schema=False,
        default_response_class=HTMLResponse,
    )

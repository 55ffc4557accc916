"""The one error shape, the one error base class and the handlers that produce it.

Every 4xx/5xx answer is `{"error": CODE, "detail": text, "fields": [{"loc": [...], "msg": text}]}`:
`ApiError` and its subclasses (raised by services), FastAPI's own request validation errors,
Starlette's HTTP errors (unknown route 404, 405) and unexpected exceptions (500, logged without
the request's body).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

log = logging.getLogger("volmatch.api")

Loc = list[str | int]


class FieldError(BaseModel):
    loc: Loc = Field(description="Where: body, row index or CSV line, field name.")
    msg: str


class ErrorBody(BaseModel):
    """The shape of every error answer."""

    error: str = Field(description="A stable machine-readable code, e.g. `validation_error`.")
    detail: str = Field(description="What went wrong, in a sentence.")
    fields: list[FieldError] = Field(default_factory=list)


class ApiError(Exception):
    """Base of every error the service raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(
        self,
        detail: str,
        *,
        fields: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = list(fields)
        self.headers = headers

    def body(self) -> ErrorBody:
        return ErrorBody(error=self.code, detail=self.detail, fields=self.fields)


class Unauthorized(ApiError):
    status_code, code = 401, "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    status_code, code = 403, "forbidden"


class NotFound(ApiError):
    """Unknown, or another organization's: the answer does not tell which."""

    status_code, code = 404, "not_found"


class Conflict(ApiError):
    """An illegal lifecycle transition or a state that no longer holds."""

    status_code, code = 409, "conflict"


class Gone(ApiError):
    """It existed, and has expired (a volunteer's link some weeks after the work)."""

    status_code, code = 410, "gone"


class PayloadTooLarge(ApiError):
    status_code, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status_code, code = 415, "unsupported_media_type"


class InvalidInput(ApiError):
    """422: the input breaks a rule; `fields` names every bad row and field."""

    status_code, code = 422, "validation_error"


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


class TooManyRequests(ApiError):
    """The key made more requests in the last minute than the rate limit allows."""

    status_code, code = 429, "rate_limited"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})


class ServiceUnavailable(ApiError):
    status_code, code = 503, "unavailable"


def route_template(scope: Scope) -> str:
    """The matched route's template (`/v1/assignment-links/{token}`), never the raw path: link
    tokens travel in paths, so logs name templates only."""
    return str(getattr(scope.get("route"), "path", "(no route)"))


def fields_from_pydantic(
    errors: Sequence[Any], prefix: Loc | None = None, *, skip: int = 0
) -> list[FieldError]:
    """Pydantic's error list as `fields`; `skip` drops leading loc parts, `prefix` adds some."""
    out = []
    for err in errors:
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())][skip:]
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif err.get("type") == "timezone_aware":
            msg = "time has no UTC offset (write it like 2026-03-02T09:00:00+08:00)"
        out.append(FieldError(loc=[*(prefix or []), *loc], msg=msg))
    return out


def invalid_from_validation_error(
    exc: ValidationError, detail: str, prefix: Loc | None = None
) -> InvalidInput:
    return InvalidInput(detail, fields=fields_from_pydantic(exc.errors(), prefix))


def error_response(
    status_code: int, body: ErrorBody, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def install_handlers(app: FastAPI) -> None:
    """Route every error through the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        json_invalid = any(e.get("type") == "json_invalid" for e in errors)
        detail = "the body is not valid JSON" if json_invalid else "the request is not valid"
        return error_response(
            422,
            ErrorBody(error="validation_error", detail=detail, fields=fields_from_pydantic(errors)),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(
            exc.status_code, "error" if exc.status_code < 500 else "internal_error"
        )
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such endpoint"
        elif exc.status_code == 405:
            detail = "method not allowed on this endpoint"
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, ErrorBody(error=code, detail=detail), headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A unique or foreign key constraint lost a race with a concurrent request (two imports
        # of one roster, say): the transaction was rolled back whole; retrying is safe. The
        # database's message quotes the row, so it is neither logged nor answered.
        log.warning("constraint conflict on %s %s", request.method, route_template(request.scope))
        return error_response(
            409,
            ErrorBody(
                error="conflict",
                detail="a concurrent change conflicted with this request; nothing was written, retry it",
            ),
        )

    @app.exception_handler(OperationalError)
    async def _database_away(request: Request, exc: OperationalError) -> JSONResponse:
        # The database went away mid-request (restart, network): the transaction is lost whole,
        # so nothing was written; the client may retry once it is back. The driver's message
        # may quote the statement's values, so only its type is logged.
        log.error(
            "database unavailable on %s %s (%s)",
            request.method,
            route_template(request.scope),
            type(exc.orig).__name__,
        )
        return error_response(
            503,
            ErrorBody(
                error="unavailable",
                detail="the database is unavailable; nothing was written, retry later",
            ),
            {"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The route, the exception type and the frames only: messages and bodies may hold
        # personal data (database errors quote the row they failed on).
        log.error(
            "unexpected %s on %s %s\n%s",
            type(exc).__name__,
            request.method,
            route_template(request.scope),
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return error_response(
            500, ErrorBody(error="internal_error", detail="an unexpected error occurred")
        )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "The body cannot be read (not UTF-8 text).",
        401: "Missing, unknown or revoked API key.",
        403: "This kind of organization may not call this endpoint.",
        404: "Unknown, or another organization's (the answer does not tell which).",
        422: "Invalid input: every bad row and field is listed in `fields`.",
        429: "Too many requests with this key in the last minute; see `Retry-After`.",
    }.items()
}

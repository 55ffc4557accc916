"""FastAPI dependencies: the request's database session (one commit per request), its caller
and who it acts as in the audit trail, the geocoder, raw bodies and the Idempotency-Key header."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.db import transaction
from api.errors import Forbidden, TooManyRequests
from api.limits import RateLimiter
from api.models import ROSTER_OWNERS, OrgKind
from api.services.geocoding import Geocoder
from api.services.idempotency import Answer
from api.services.organizations import Caller, authenticate
from api.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed once when the route returns, rolled back when it
    raises. Scope "function" runs the commit before the answer is sent, so a failed commit is
    an error answer, never a success that was not kept."""
    with transaction(request.app.state.sessions) as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="An organization's API key.")


def get_caller(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The authenticated caller, counted against its key's rate limit (429 past it)."""
    header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
    caller = authenticate(session, header)
    limiter: RateLimiter = request.app.state.rate_limiter
    wait_s = limiter.acquire(caller.key_id) if caller.key_id is not None else 0
    if wait_s:
        raise TooManyRequests(
            f"more than {limiter.per_minute} requests with this key in the last minute; "
            f"retry in {wait_s} s",
            retry_after_s=wait_s,
        )
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def require(*kinds: OrgKind) -> Callable[[Caller], Caller]:
    """A dependency that lets only the given kinds of organization through (403 otherwise)."""
    allowed = ", ".join(k.value for k in kinds).replace("_", " ")

    def check(caller: CallerDep) -> Caller:
        if caller.kind not in kinds:
            raise Forbidden(f"only {allowed} keys may call this endpoint")
        return caller

    return check


AdminDep = Annotated[Caller, Depends(require(OrgKind.ADMIN))]
# Universities, law firms and communities: they register volunteers and answer for them.
RosterOwnerDep = Annotated[Caller, Depends(require(*ROSTER_OWNERS))]
CenterDep = Annotated[Caller, Depends(require(OrgKind.CENTER))]


def get_geocoder(request: Request) -> Geocoder:
    geocoder: Geocoder = request.app.state.geocoder
    return geocoder


GeocoderDep = Annotated[Geocoder, Depends(get_geocoder)]


async def raw_body(request: Request) -> bytes:
    """The body as sent (already bounded by the size limit), for bodies in several formats."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retrying a batch with the same key returns the first answer and writes nothing.",
    ),
]


def json_of(model: BaseModel) -> Response:
    """A model serialised once (FastAPI would dump, re-validate and dump a returned model): for
    hot list endpoints, which declare the model as `response_model` for the docs."""
    return Response(model.model_dump_json(), media_type="application/json")


def csv_attachment(text: str, name: str) -> Response:
    """A CSV file to save as `name`.csv (UTF-8, as `api.services.csv_export` writes it)."""
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def answer(result: Answer) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)

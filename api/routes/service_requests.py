"""Service requests: centers submit batches (idempotent), read and update their requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from api.deps import (
    CenterDep,
    GeocoderDep,
    IdempotencyKey,
    SessionDep,
    SettingsDep,
    answer,
    json_of,
    require,
)
from api.errors import ERROR_RESPONSES, PayloadTooLarge
from api.models import OrgKind
from api.schemas.common import MAX_ID, Page, PathId, QueryTime
from api.schemas.match_runs import StandbyOut
from api.schemas.service_requests import (
    RequestBatchResult,
    RequestIn,
    RequestOut,
    RequestPatch,
    RequestStatusName,
)
from api.services import idempotency, standby
from api.services import service_requests as service
from api.services.organizations import Caller

router = APIRouter(prefix="/v1/requests", tags=["requests"], responses=ERROR_RESPONSES)

ReaderDep = Annotated[Caller, Depends(require(OrgKind.CENTER, OrgKind.ADMIN))]
_BATCH = TypeAdapter(list[RequestIn])

REQUEST_EXAMPLE = {
    "title": "Smartphone class for seniors",
    "address": "Community hall, 12 Yanta Road",
    "location": {"lat": 34.2301, "lon": 108.9012},
    "district": "Yanta",
    "service_type": "smartphone_tutoring",
    "start": "2026-03-03T14:00:00+08:00",
    "end": "2026-03-03T16:00:00+08:00",
    "required_skills": ["smartphone_teaching"],
    "volunteers_needed": 3,
    "min_volunteers": 2,
    "priority": 2,
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RequestBatchResult,
    summary="Submit a batch of requests, all or nothing (center)",
    responses={413: {"description": "More rows than the limit."}},
)
def submit_requests(
    body: Annotated[
        list[RequestIn], Body(openapi_examples={"one class": {"value": [REQUEST_EXAMPLE]}})
    ],
    caller: CenterDep,
    session: SessionDep,
    settings: SettingsDep,
    geocoder: GeocoderDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A JSON array of requests. Any bad row rejects the batch (422 listing every bad row and
    field) and nothing is written. With an `Idempotency-Key`, a retried batch gets the first
    answer (header `Idempotent-Replayed: true`) and writes nothing new."""
    if len(body) > settings.max_batch_rows:
        raise PayloadTooLarge(
            f"more than {settings.max_batch_rows} requests in one batch; split it"
        )
    signature = b"submit-requests\n" + _BATCH.dump_json(body)
    return answer(
        idempotency.run_once(
            session,
            caller,
            idempotency_key,
            signature,
            201,
            lambda: service.submit_batch(session, caller, body, geocoder),
        )
    )


@router.get(
    "", response_model=Page[RequestOut], summary="List requests (center: its own; admin: all)"
)
def list_requests(
    caller: ReaderDep,
    session: SessionDep,
    settings: SettingsDep,
    status: RequestStatusName | None = None,
    service_type: str | None = None,
    starts_from: QueryTime | None = Query(default=None, description="Start at or after."),
    starts_before: QueryTime | None = Query(default=None, description="Start before."),
    center_id: int | None = Query(
        default=None, ge=1, le=MAX_ID, description="Only this center's (admin)."
    ),
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> Response:
    return json_of(
        service.list_visible(
            session,
            caller,
            center_id=center_id,
            status=status,
            service_type=service_type,
            starts_from=starts_from,
            starts_before=starts_before,
            cursor=cursor,
            limit=min(limit, settings.max_page_size),
        )
    )


@router.get("/{request_id}", summary="One request")
def get_request(request_id: PathId, caller: ReaderDep, session: SessionDep) -> RequestOut:
    return service.request_out(session, service.visible_request(session, caller, request_id))


@router.patch(
    "/{request_id}",
    summary="Change text or priority, cancel, or mark done (center)",
    responses={409: {"description": "Cancelled or done already, or assignments still open."}},
)
def update_request(
    request_id: PathId,
    body: RequestPatch,
    caller: CenterDep,
    session: SessionDep,
    settings: SettingsDep,
) -> RequestOut:
    """Cancelling the request cancels its waiting assignments; their volunteers are told."""
    request = service.update_request(session, settings, caller, request_id, body)
    return service.request_out(session, request)


@router.get(
    "/{request_id}/standby",
    summary="The request's standby volunteers, by rank (center)",
)
def list_standby(request_id: PathId, caller: ReaderDep, session: SessionDep) -> list[StandbyOut]:
    """Named at publication; `promoted` when one stepped in after a decline or cancellation,
    `passed` when one was no longer free or qualified when their turn came."""
    return standby.of_request(session, caller, request_id)

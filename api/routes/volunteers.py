"""Volunteers: roster owners (universities, law firms, communities) register, import (JSON or
CSV), edit, export and erase their volunteers; admins read them without personal data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from api.deps import (
    GeocoderDep,
    IdempotencyKey,
    RawBody,
    RosterOwnerDep,
    SessionDep,
    SettingsDep,
    answer,
    json_of,
    require,
)
from api.errors import (
    ERROR_RESPONSES,
    UnsupportedMediaType,
)
from api.models import ROSTER_OWNERS, OrgKind
from api.schemas.common import MAX_ID, Page, PathId, QueryTime
from api.schemas.volunteers import (
    ImportResult,
    VolunteerExport,
    VolunteerIn,
    VolunteerOut,
    VolunteerPatch,
)
from api.services import data_export, erasure, idempotency, roster_csv
from api.services import volunteers as service
from api.services.audit import Actor
from api.services.gc_pause import gc_paused
from api.services.organizations import Caller

router = APIRouter(prefix="/v1/volunteers", tags=["volunteers"], responses=ERROR_RESPONSES)

ReaderDep = Annotated[Caller, Depends(require(*ROSTER_OWNERS, OrgKind.ADMIN))]

CSV_EXAMPLE = (
    "external_id,name,phone,lat,lon,skills,languages,weekly,weekly_from,weekly_to,max_hours\n"
    "2023-0147,Li Wei,+86 138 0000 0001,34.2236,108.9540,smartphone_teaching;first_aid,zh;en,"
    "Tue 14:00-18:00;Sat 08:00-12:00,2026-03-02,2026-06-28,8\n"
)
VOLUNTEER_EXAMPLE = {
    "external_id": "2023-0147",
    "name": "Li Wei",
    "phone": "+86 138 0000 0001",
    "location": {"lat": 34.2236, "lon": 108.954},
    "skills": ["smartphone_teaching"],
    "languages": ["zh", "en"],
    "availability": [{"start": "2026-03-03T14:00:00+08:00", "end": "2026-03-03T18:00:00+08:00"}],
    "max_hours": 8,
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register one volunteer (university, law firm, community)",
    responses={409: {"description": "The external id is registered already."}},
)
def create_volunteer(
    body: Annotated[VolunteerIn, Body(openapi_examples={"student": {"value": VOLUNTEER_EXAMPLE}})],
    caller: RosterOwnerDep,
    session: SessionDep,
    geocoder: GeocoderDep,
) -> VolunteerOut:
    volunteer_id = service.create_volunteer(session, caller, body, geocoder)
    return service.to_out(service.visible_volunteer(session, caller, volunteer_id), caller)


@router.post(
    "/import",
    summary="Import a roster, all or nothing (university, law firm, community)",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/VolunteerIn"},
                    },
                    "example": [VOLUNTEER_EXAMPLE],
                },
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
            },
        }
    },
    responses={
        413: {"description": "Body or row count over the limit."},
        415: {"description": "Neither JSON nor CSV."},
    },
)
def import_volunteers(
    request: Request,
    body: RawBody,
    caller: RosterOwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    geocoder: GeocoderDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A JSON array of volunteers or a CSV roster (`Content-Type: text/csv`; columns in the
    README). Volunteers are matched by `external_id` within the organization: known ones are
    updated, new ones created, none duplicated. Any bad row rejects the whole batch with a 422
    that lists every bad row and field, and nothing is written."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()

    def run() -> ImportResult:
        if media == "text/csv":
            try:
                text = body.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise UnsupportedMediaType("the CSV is not UTF-8 text") from None
            roster = roster_csv.parse_roster(text, settings.max_batch_rows)
            return service.import_volunteers(
                session,
                caller,
                roster.records,
                geocoder,
                roster.row_loc,
                roster.error_loc,
                roster.problems,
            )
        if media in ("application/json", ""):
            return service.import_json(session, caller, body, geocoder, settings.max_batch_rows)
        raise UnsupportedMediaType("send application/json or text/csv")

    signature = b"import-volunteers\n" + media.encode() + b"\n" + body
    with gc_paused():  # a roster is millions of objects alive until written
        outcome = idempotency.run_once(session, caller, idempotency_key, signature, 200, run)
    return answer(outcome)


@router.get(
    "",
    response_model=Page[VolunteerOut],
    summary="List volunteers (roster owner: its own; admin: all, no personal data)",
)
def list_volunteers(
    caller: ReaderDep,
    session: SessionDep,
    settings: SettingsDep,
    skill: str | None = Query(default=None, description="Has this skill.", examples=["first_aid"]),
    available_from: QueryTime | None = Query(
        default=None,
        description="With `available_to`: one availability interval covers the window.",
    ),
    available_to: QueryTime | None = Query(default=None),
    university_id: int | None = Query(
        default=None, ge=1, le=MAX_ID, description="Only this university's (admin)."
    ),
    cursor: str | None = Query(default=None, description="`next_cursor` of the previous page."),
    limit: int = Query(default=100, ge=1, le=500),
) -> Response:
    return json_of(
        service.list_visible(
            session,
            caller,
            university_id=university_id,
            skill=skill,
            available_from=available_from,
            available_to=available_to,
            cursor=cursor,
            limit=min(limit, settings.max_page_size),
        )
    )


@router.get("/{volunteer_id}", summary="One volunteer")
def get_volunteer(volunteer_id: PathId, caller: ReaderDep, session: SessionDep) -> VolunteerOut:
    return service.to_out(service.visible_volunteer(session, caller, volunteer_id), caller)


@router.patch("/{volunteer_id}", summary="Change a volunteer (its organization)")
def update_volunteer(
    volunteer_id: PathId,
    body: VolunteerPatch,
    caller: RosterOwnerDep,
    session: SessionDep,
    geocoder: GeocoderDep,
) -> VolunteerOut:
    volunteer = service.update_volunteer(session, caller, volunteer_id, body, geocoder)
    return service.to_out(volunteer, caller)


@router.delete(
    "/{volunteer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase a volunteer's personal data; completed hours stay (its organization)",
    responses={409: {"description": "The volunteer is checked in to an assignment right now."}},
)
def delete_volunteer(
    volunteer_id: PathId, caller: RosterOwnerDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """Open (proposed, confirmed) assignments are declined and their requests reopen (a standby
    may step in). A volunteer with assignments stays as a pseudonymous record (`anon-...`) that
    keeps their completed hours for the organization's reports; one without leaves nothing.
    Their calendar feed and links stop working, and messages to them not yet sent are skipped."""
    volunteer = service.visible_volunteer(session, caller, volunteer_id)
    erasure.erase(session, settings, volunteer, Actor.of(caller))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{volunteer_id}/export",
    summary="Everything stored about a volunteer, as JSON (its organization)",
)
def export_volunteer(
    volunteer_id: PathId, caller: RosterOwnerDep, session: SessionDep, settings: SettingsDep
) -> VolunteerExport:
    """The person's record with personal data, assignments, hours ledger, certificates and the
    audit trail of changes to them: what to hand the person who asks for their data."""
    volunteer = service.visible_volunteer(session, caller, volunteer_id)
    return data_export.export(session, caller, volunteer, settings)

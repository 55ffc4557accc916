"""Assignments: volunteers confirm or decline (their organization's key or their link token),
centers check in, complete, cancel and correct completed hours; everyone entitled reads them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.deps import CenterDep, RosterOwnerDep, SessionDep, SettingsDep, json_of, require
from api.errors import ERROR_RESPONSES
from api.models import ROSTER_OWNERS, OrgKind
from api.schemas.assignments import (
    AssignmentOut,
    AssignmentStatusName,
    CancelIn,
    CompleteIn,
    DeclineIn,
)
from api.schemas.common import Page, PathId, QueryId
from api.schemas.ledger import HoursCorrectionIn
from api.services import assignments as service
from api.services import ledger
from api.services.audit import Actor
from api.services.organizations import Caller

router = APIRouter(tags=["assignments"], responses=ERROR_RESPONSES)
ILLEGAL: dict[int | str, dict[str, Any]] = {
    409: {"description": "The assignment's status does not allow this move."}
}

ReaderDep = Annotated[Caller, Depends(require(OrgKind.CENTER, *ROSTER_OWNERS, OrgKind.ADMIN))]


@router.get(
    "/v1/assignments",
    response_model=Page[AssignmentOut],
    summary="List assignments (center: to its requests; university: of its volunteers)",
)
def list_assignments(
    caller: ReaderDep,
    session: SessionDep,
    settings: SettingsDep,
    run_id: QueryId = None,
    request_id: QueryId = None,
    status: AssignmentStatusName | None = None,
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> Response:
    return json_of(
        service.list_visible(
            session,
            caller,
            run_id=run_id,
            request_id=request_id,
            status=status,
            cursor=cursor,
            limit=min(limit, settings.max_page_size),
        )
    )


@router.get("/v1/assignments/{assignment_id}", summary="One assignment")
def get_assignment(assignment_id: PathId, caller: ReaderDep, session: SessionDep) -> AssignmentOut:
    return service.to_out(service.visible_assignment(session, caller, assignment_id), caller)


@router.post(
    "/v1/assignments/{assignment_id}/confirm",
    summary="The volunteer confirms (their organization)",
    responses=ILLEGAL,
)
def confirm(assignment_id: PathId, caller: RosterOwnerDep, session: SessionDep) -> AssignmentOut:
    return service.to_out(service.act_as(session, caller, assignment_id, service.CONFIRM), caller)


@router.post(
    "/v1/assignments/{assignment_id}/decline",
    summary="The volunteer declines, with a reason (their organization)",
    responses=ILLEGAL,
)
def decline(
    assignment_id: PathId, body: DeclineIn, caller: RosterOwnerDep, session: SessionDep
) -> AssignmentOut:
    assignment = service.act_as(session, caller, assignment_id, service.DECLINE, reason=body.reason)
    return service.to_out(assignment, caller)


@router.post(
    "/v1/assignments/{assignment_id}/check-in",
    summary="The volunteer arrived (center)",
    responses=ILLEGAL,
)
def check_in(assignment_id: PathId, caller: CenterDep, session: SessionDep) -> AssignmentOut:
    return service.to_out(service.act_as(session, caller, assignment_id, service.CHECK_IN), caller)


@router.post(
    "/v1/assignments/{assignment_id}/complete",
    summary="Service done, hours served (center)",
    responses=ILLEGAL,
)
def complete(
    assignment_id: PathId, body: CompleteIn, caller: CenterDep, session: SessionDep
) -> AssignmentOut:
    assignment = service.act_as(
        session, caller, assignment_id, service.COMPLETE, hours_served=body.hours_served
    )
    return service.to_out(assignment, caller)


@router.post(
    "/v1/assignments/{assignment_id}/cancel",
    summary="Cancel an assignment, with a reason (center)",
    responses=ILLEGAL,
)
def cancel(
    assignment_id: PathId, body: CancelIn, caller: CenterDep, session: SessionDep
) -> AssignmentOut:
    assignment = service.act_as(session, caller, assignment_id, service.CANCEL, reason=body.reason)
    return service.to_out(assignment, caller)


@router.post(
    "/v1/assignments/{assignment_id}/hours",
    summary="Correct a completed assignment's hours, with a reason (center)",
    responses=ILLEGAL,
)
def correct_hours(
    assignment_id: PathId, body: HoursCorrectionIn, caller: CenterDep, session: SessionDep
) -> AssignmentOut:
    """The hours ledger keeps the first figure and appends the difference as a correction."""
    assignment = service.visible_assignment(session, caller, assignment_id)
    ledger.correct(session, assignment, body.hours_served, body.reason, Actor.of(caller))
    return service.to_out(assignment, caller)


@router.get(
    "/v1/assignment-links/{token}", summary="The assignment behind a volunteer's link (no key)"
)
def get_by_link(token: str, session: SessionDep) -> AssignmentOut:
    return service.to_out(service.assignment_by_token(session, token), None)


@router.post(
    "/v1/assignment-links/{token}/confirm",
    summary="The volunteer confirms through their link",
    responses=ILLEGAL,
)
def confirm_by_link(token: str, session: SessionDep) -> AssignmentOut:
    return service.to_out(service.act_by_link(session, token, service.CONFIRM), None)


@router.post(
    "/v1/assignment-links/{token}/decline",
    summary="The volunteer declines through their link",
    responses=ILLEGAL,
)
def decline_by_link(token: str, body: DeclineIn, session: SessionDep) -> AssignmentOut:
    assignment = service.act_by_link(session, token, service.DECLINE, reason=body.reason)
    return service.to_out(assignment, None)

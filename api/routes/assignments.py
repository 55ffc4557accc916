"""Assignments: volunteers confirm or decline (university key or link token), centers check in,
complete and cancel; everyone entitled reads them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.deps import CenterDep, SessionDep, SettingsDep, UniversityDep, json_of, require
from api.errors import ERROR_RESPONSES
from api.models import OrgKind
from api.schemas.assignments import (
    AssignmentOut,
    AssignmentStatusName,
    CancelIn,
    CompleteIn,
    DeclineIn,
)
from api.schemas.common import Page
from api.services import assignments as service
from api.services.organizations import Caller

router = APIRouter(tags=["assignments"], responses=ERROR_RESPONSES)
ILLEGAL: dict[int | str, dict[str, Any]] = {
    409: {"description": "The assignment's status does not allow this move."}
}

ReaderDep = Annotated[Caller, Depends(require(OrgKind.CENTER, OrgKind.UNIVERSITY, OrgKind.ADMIN))]


@router.get(
    "/v1/assignments",
    response_model=Page[AssignmentOut],
    summary="List assignments (center: to its requests; university: of its volunteers)",
)
def list_assignments(
    caller: ReaderDep,
    session: SessionDep,
    settings: SettingsDep,
    run_id: int | None = None,
    request_id: int | None = None,
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
def get_assignment(assignment_id: int, caller: ReaderDep, session: SessionDep) -> AssignmentOut:
    return service.to_out(service.visible_assignment(session, caller, assignment_id), caller)


@router.post(
    "/v1/assignments/{assignment_id}/confirm",
    summary="The volunteer confirms (university)",
    responses=ILLEGAL,
)
def confirm(assignment_id: int, caller: UniversityDep, session: SessionDep) -> AssignmentOut:
    return service.to_out(service.act_as(session, caller, assignment_id, service.CONFIRM), caller)


@router.post(
    "/v1/assignments/{assignment_id}/decline",
    summary="The volunteer declines, with a reason (university)",
    responses=ILLEGAL,
)
def decline(
    assignment_id: int, body: DeclineIn, caller: UniversityDep, session: SessionDep
) -> AssignmentOut:
    assignment = service.act_as(session, caller, assignment_id, service.DECLINE, reason=body.reason)
    return service.to_out(assignment, caller)


@router.post(
    "/v1/assignments/{assignment_id}/check-in",
    summary="The volunteer arrived (center)",
    responses=ILLEGAL,
)
def check_in(assignment_id: int, caller: CenterDep, session: SessionDep) -> AssignmentOut:
    return service.to_out(service.act_as(session, caller, assignment_id, service.CHECK_IN), caller)


@router.post(
    "/v1/assignments/{assignment_id}/complete",
    summary="Service done, hours served (center)",
    responses=ILLEGAL,
)
def complete(
    assignment_id: int, body: CompleteIn, caller: CenterDep, session: SessionDep
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
    assignment_id: int, body: CancelIn, caller: CenterDep, session: SessionDep
) -> AssignmentOut:
    assignment = service.act_as(session, caller, assignment_id, service.CANCEL, reason=body.reason)
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
    assignment = service.assignment_by_token(session, token)
    return service.to_out(service.act(session, assignment, service.CONFIRM), None)


@router.post(
    "/v1/assignment-links/{token}/decline",
    summary="The volunteer declines through their link",
    responses=ILLEGAL,
)
def decline_by_link(token: str, body: DeclineIn, session: SessionDep) -> AssignmentOut:
    assignment = service.assignment_by_token(session, token)
    return service.to_out(
        service.act(session, assignment, service.DECLINE, reason=body.reason), None
    )

"""Assignments: volunteers confirm or decline (their roster owner's key; the link holder's
endpoints are in `api.routes.self_service`), centers check in, mark no-shows, complete, cancel
and correct completed hours; everyone entitled reads them."""

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
    summary="List assignments (center: to its requests; roster owner: of its volunteers)",
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
    return service.out(session, service.visible_assignment(session, caller, assignment_id), caller)


@router.post(
    "/v1/assignments/{assignment_id}/confirm",
    summary="The volunteer confirms (their organization)",
    responses=ILLEGAL,
)
def confirm(
    assignment_id: PathId, caller: RosterOwnerDep, session: SessionDep, settings: SettingsDep
) -> AssignmentOut:
    assignment = service.act_as(session, settings, caller, assignment_id, service.CONFIRM)
    return service.out(session, assignment, caller)


@router.post(
    "/v1/assignments/{assignment_id}/decline",
    summary="The volunteer declines, with a reason (their organization)",
    responses=ILLEGAL,
)
def decline(
    assignment_id: PathId,
    body: DeclineIn,
    caller: RosterOwnerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> AssignmentOut:
    """The request reopens; the center's first free standby may be proposed the work, or a
    repair run queued, as the center has set."""
    assignment = service.act_as(
        session, settings, caller, assignment_id, service.DECLINE, reason=body.reason
    )
    return service.out(session, assignment, caller)


@router.post(
    "/v1/assignments/{assignment_id}/check-in",
    summary="The volunteer arrived (center); also after a no-show",
    responses=ILLEGAL,
)
def check_in(
    assignment_id: PathId, caller: CenterDep, session: SessionDep, settings: SettingsDep
) -> AssignmentOut:
    assignment = service.act_as(session, settings, caller, assignment_id, service.CHECK_IN)
    return service.out(session, assignment, caller)


@router.post(
    "/v1/assignments/{assignment_id}/no-show",
    summary="The volunteer did not come (center)",
    responses=ILLEGAL,
)
def no_show(
    assignment_id: PathId, caller: CenterDep, session: SessionDep, settings: SettingsDep
) -> AssignmentOut:
    """A confirmed assignment becomes `no_show` (as it does by itself once the center's
    check-in window has passed); it reopens nothing, and counts in the volunteer's show rate."""
    assignment = service.act_as(session, settings, caller, assignment_id, service.NO_SHOW)
    return service.out(session, assignment, caller)


@router.post(
    "/v1/assignments/{assignment_id}/complete",
    summary="Service done, hours served (center)",
    responses=ILLEGAL,
)
def complete(
    assignment_id: PathId,
    body: CompleteIn,
    caller: CenterDep,
    session: SessionDep,
    settings: SettingsDep,
) -> AssignmentOut:
    assignment = service.act_as(
        session, settings, caller, assignment_id, service.COMPLETE, hours_served=body.hours_served
    )
    return service.out(session, assignment, caller)


@router.post(
    "/v1/assignments/{assignment_id}/cancel",
    summary="Cancel an assignment, with a reason (center)",
    responses=ILLEGAL,
)
def cancel(
    assignment_id: PathId,
    body: CancelIn,
    caller: CenterDep,
    session: SessionDep,
    settings: SettingsDep,
) -> AssignmentOut:
    """The volunteer is told; the request reopens, with a standby or a repair run as the
    center has set."""
    assignment = service.act_as(
        session, settings, caller, assignment_id, service.CANCEL, reason=body.reason
    )
    return service.out(session, assignment, caller)


@router.post(
    "/v1/assignments/{assignment_id}/hours",
    summary="Correct a completed assignment's hours, with a reason (center)",
    responses=ILLEGAL,
)
def correct_hours(
    assignment_id: PathId,
    body: HoursCorrectionIn,
    caller: CenterDep,
    session: SessionDep,
    settings: SettingsDep,
) -> AssignmentOut:
    """The hours ledger keeps the first figure and appends the difference as a correction."""
    assignment = service.visible_assignment(session, caller, assignment_id)
    ledger.correct(session, settings, assignment, body.hours_served, body.reason, Actor.of(caller))
    return service.out(session, assignment, caller)

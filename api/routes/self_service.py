"""The volunteer's own endpoints, through the link each assignment has (no key: the token is
the credential; an unknown token is a 404, an expired one a 410): the assignment with the
center's contact, confirm and decline, the coming work and served hours, weekly availability,
and a private calendar feed. The volunteer's pages (`/v/{token}`, `api.web.routes.volunteer`)
are built on the same services.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from api.deps import SessionDep, SettingsDep
from api.errors import ERROR_RESPONSES, ErrorBody
from api.schemas.assignments import DeclineIn
from api.schemas.self_service import AvailabilityResult, CalendarFeed, LinkAssignmentOut, Schedule
from api.schemas.volunteers import WeeklyAvailability
from api.services import assignments
from api.services import self_service as service

EXPIRED: dict[int | str, dict[str, Any]] = {
    410: {"model": ErrorBody, "description": "The link has expired (its work ended some time ago)."}
}
router = APIRouter(tags=["volunteer (link)"], responses=ERROR_RESPONSES)
ILLEGAL: dict[int | str, dict[str, Any]] = {
    **EXPIRED,
    409: {"description": "The assignment's status does not allow this move."},
}
LINK = "/v1/assignment-links/{token}"


@router.get(
    LINK,
    summary="The assignment behind a volunteer's link: what, where, when, whom to call",
    responses=EXPIRED,
)
def get_by_link(token: str, session: SessionDep, settings: SettingsDep) -> LinkAssignmentOut:
    return service.link_view(session, settings, service.by_link(session, settings, token))


@router.post(
    f"{LINK}/confirm", summary="The volunteer confirms through their link", responses=ILLEGAL
)
def confirm_by_link(token: str, session: SessionDep, settings: SettingsDep) -> LinkAssignmentOut:
    assignment = service.by_link(session, settings, token)
    confirmed = assignments.act_by_link(session, settings, assignment, assignments.CONFIRM)
    return service.link_view(session, settings, confirmed)


@router.post(
    f"{LINK}/decline",
    summary="The volunteer declines through their link, with a reason",
    responses=ILLEGAL,
)
def decline_by_link(
    token: str, body: DeclineIn, session: SessionDep, settings: SettingsDep
) -> LinkAssignmentOut:
    assignment = service.by_link(session, settings, token)
    declined = assignments.act_by_link(
        session, settings, assignment, assignments.DECLINE, reason=body.reason
    )
    return service.link_view(session, settings, declined)


@router.get(
    f"{LINK}/schedule",
    summary="The volunteer's coming work and served hours",
    responses=EXPIRED,
)
def schedule(token: str, session: SessionDep, settings: SettingsDep) -> Schedule:
    return service.schedule(session, settings, service.by_link(session, settings, token))


@router.put(
    f"{LINK}/availability",
    summary="Replace the volunteer's weekly availability over a date range",
    responses={**EXPIRED, 403: {"description": "The volunteer's organization does not allow it."}},
)
def replace_availability(
    token: str, body: WeeklyAvailability, session: SessionDep, settings: SettingsDep
) -> AvailabilityResult:
    """Where the volunteer's roster owner allows it (`volunteers_edit_availability`): every
    availability window starting in the range is replaced by the patterns' expansion. Work the
    volunteer holds stays; the answer names what the new availability no longer covers."""
    return service.replace_weekly(session, service.by_link(session, settings, token), body)


@router.post(
    f"{LINK}/calendar",
    status_code=status.HTTP_201_CREATED,
    summary="A private calendar feed of the volunteer's work (a new one replaces the old)",
    responses=EXPIRED,
)
def issue_calendar(token: str, session: SessionDep, settings: SettingsDep) -> CalendarFeed:
    """The feed's token is shown once, here; the previous feed stops working."""
    return service.issue_calendar(session, settings, service.by_link(session, settings, token))


@router.delete(
    f"{LINK}/calendar",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke the volunteer's calendar feed",
    responses=EXPIRED,
)
def revoke_calendar(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    service.revoke_calendar(session, service.by_link(session, settings, token))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/v1/calendar/{feed_token}.ics",
    summary="A volunteer's calendar feed (RFC 5545; the feed token is the credential)",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "The iCalendar feed."}},
)
def calendar(feed_token: str, session: SessionDep) -> Response:
    return Response(
        service.calendar(session, feed_token),
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )

"""A center's assignment board: the assignments to its requests in columns by state (proposed,
confirmed, declined, checked in, completed, no-show), each volunteer with their show rate, and
check-in, complete (hours served), no-show and cancel on the cards. The moves are the API's
(`api.services.assignments`); the board refreshes itself while open, so answers given through
the volunteers' links show up without a reload."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.deps import SessionDep, SettingsDep
from api.errors import FieldError, InvalidInput
from api.models import utc_now
from api.schemas.assignments import CancelIn, CompleteIn
from api.schemas.common import PathId
from api.services import assignments as service
from api.web import forms
from api.web.i18n import N_
from api.web.routing import console_router
from api.web.security import CenterChange, CenterUser
from api.web.templating import render

router = console_router("/center")
COLUMNS = (
    ("proposed", N_("Proposed")),
    ("confirmed", N_("Confirmed")),
    ("declined", N_("Declined")),
    ("checked_in", N_("Checked in")),
    ("completed", N_("Completed")),
    ("no_show", N_("No-show")),
)
PER_COLUMN = 100
REFRESH_S = 20  # how often an open board asks for news


def _run_id(value: str | int | None) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= 2**31 - 1 else None


@router.get("/board")
def board(
    request: Request, caller: CenterUser, session: SessionDep, run_id: str | None = None
) -> Response:
    run = _run_id(run_id)
    columns = [
        (
            status,
            label,
            service.list_visible(
                session,
                caller,
                run_id=run,
                request_id=None,
                status=status,
                cursor=None,
                limit=PER_COLUMN,
            ).items,
        )
        for status, label in COLUMNS
    ]
    return render(
        request,
        "center/board.html",
        columns=columns,
        run_id=run,
        now=utc_now(),
        refresh_s=REFRESH_S,
    )


def _back(form: FormData, default: str = "/center/board") -> RedirectResponse:
    run = _run_id(forms.text(form, "run_id"))
    return RedirectResponse(f"{default}?run_id={run}" if run else default, status_code=303)


@router.post("/assignments/{assignment_id}/check-in")
def check_in(
    assignment_id: PathId, posted: CenterChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, form = posted
    service.act_as(session, settings, caller, assignment_id, service.CHECK_IN)
    return _back(form)


@router.post("/assignments/{assignment_id}/complete")
def complete(
    assignment_id: PathId, posted: CenterChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, form = posted
    hours = forms.text(form, "hours_served")
    try:
        body = CompleteIn.model_validate({"hours_served": hours or None})
    except ValidationError:
        raise InvalidInput(
            "hours served must be a number of hours from 0 to 24",
            fields=[FieldError(loc=["body", "hours_served"], msg="from 0 to 24")],
        ) from None
    service.act_as(session, settings, caller, assignment_id, service.COMPLETE, hours_served=body.hours_served)
    return _back(form)


@router.post("/assignments/{assignment_id}/no-show")
def no_show(
    assignment_id: PathId, posted: CenterChange, session: SessionDep, settings: SettingsDep
) -> Response:
    """The volunteer did not come (as the check-in window also decides by itself)."""
    caller, form = posted
    service.act_as(session, settings, caller, assignment_id, service.NO_SHOW)
    return _back(form)


@router.post("/assignments/{assignment_id}/cancel")
def cancel(
    assignment_id: PathId, posted: CenterChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, form = posted
    try:
        body = CancelIn.model_validate({"reason": forms.text(form, "reason")})
    except ValidationError:
        raise InvalidInput(
            "give a reason for the cancellation",
            fields=[FieldError(loc=["body", "reason"], msg="required")],
        ) from None
    service.act_as(session, settings, caller, assignment_id, service.CANCEL, reason=body.reason)
    return _back(form)

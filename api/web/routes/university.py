"""A roster owner's pages (a university's, and alike a law firm's or a community's): its roster
(upload a CSV in UTF-8 or GB18030/GBK, or XLSX, with Chinese or English headers; all or
nothing), the volunteers list and edit with each one's hours ledger and certificates (issued
for a period, downloaded as PDF), their assignments (confirm or decline on a volunteer's
behalf), and the hours ledger's report with XLSX and CSV export (erased volunteers under their
pseudonym)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.deps import GeocoderDep, SessionDep, SettingsDep
from api.errors import Conflict, FieldError, InvalidInput, PayloadTooLarge
from api.schemas.assignments import DeclineIn
from api.schemas.common import PathId
from api.schemas.reports import HoursReport
from api.schemas.volunteers import VolunteerPatch
from api.services import (
    assignments,
    certificates,
    ledger,
    reports,
    sheet_columns,
    spreadsheets,
    volunteers,
)
from api.services.organizations import Caller
from api.settings import Settings
from api.web import forms
from api.web.i18n import N_, Language
from api.web.routes.requests import sheet_problems, upload_message
from api.web.routing import console_router
from api.web.security import RosterOwnerChange, RosterOwnerUser
from api.web.templating import ROSTER_NUMBER, language_of, render

router = console_router("/university")
LIST_PAGE = 50
CERTIFICATES_SHOWN = 50  # a volunteer's certificates on their page, in the order issued
ASSIGNMENT_STATUSES = (
    ("proposed", N_("Proposed")),
    ("confirmed", N_("Confirmed")),
    ("declined", N_("Declined")),
    ("checked_in", N_("Checked in")),
    ("completed", N_("Completed")),
    ("no_show", N_("No-show")),
    ("cancelled", N_("Cancelled")),
)
HOURS_HEADER = (N_("Name"), N_("Tasks completed"), N_("Hours served"))
_FIELD_OF_LOC: dict[tuple[str | int, ...], str] = {
    ("location",): "lat",
    ("location", "lat"): "lat",
    ("location", "lon"): "lon",
    ("weekly", "patterns"): "weekly",
    ("weekly", "start_date"): "weekly_from",
    ("weekly", "end_date"): "weekly_to",
}


def today(caller: Caller) -> date:
    return datetime.now(ZoneInfo(caller.timezone)).date()


@router.get("/volunteers")
def list_volunteers(
    request: Request,
    caller: RosterOwnerUser,
    session: SessionDep,
    skill: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
) -> Response:
    page = volunteers.list_visible(
        session,
        caller,
        university_id=None,
        skill=skill or None,
        available_from=None,
        available_to=None,
        cursor=cursor,
        limit=LIST_PAGE,
        search=(q or "").strip() or None,
    )
    return render(
        request,
        "university/volunteers.html",
        page=page,
        params={"skill": skill, "q": q, "cursor": cursor},
    )


@router.get("/volunteers/upload")
def upload_page(request: Request, caller: RosterOwnerUser) -> Response:
    return render(
        request,
        "university/upload.html",
        problems=[],
        message="",
        columns=sheet_columns.ROSTER_COLUMNS,
        term_days=sheet_columns.TERM_DAYS,
    )


@router.post("/volunteers/upload")
def upload(
    request: Request,
    posted: RosterOwnerChange,
    session: SessionDep,
    settings: SettingsDep,
    geocoder: GeocoderDep,
) -> Response:
    caller, form = posted
    lang = language_of(request)
    file = forms.upload(form, "file")
    context: dict[str, Any] = {
        "columns": sheet_columns.ROSTER_COLUMNS,
        "term_days": sheet_columns.TERM_DAYS,
    }
    if file is None:
        message = lang.gettext(N_("Choose a file first."))
        return render(
            request, "university/upload.html", 422, problems=[], message=message, **context
        )
    try:
        sheet = spreadsheets.read_sheet(
            file.file.read(), file.filename or "", settings.max_batch_rows
        )
        mapped = sheet_columns.roster_records(sheet, caller.timezone, today(caller))
        result = volunteers.import_volunteers(
            session,
            caller,
            mapped.records,
            geocoder,
            mapped.loc,
            sheet_columns.error_loc(mapped),
            mapped.problems,
        )
    except (InvalidInput, PayloadTooLarge) as exc:
        session.rollback()
        problems = sheet_problems(lang, exc.fields) if _row_problems(exc.fields) else []
        message = upload_message(lang, exc)
        return render(
            request,
            "university/upload.html",
            exc.status_code,
            problems=problems,
            message=message,
            **context,
        )
    return render(request, "university/uploaded.html", result=result)


def _row_problems(fields: list[FieldError]) -> bool:
    return bool(fields) and fields[0].loc[0] == "row"


def _edit_values(form: Any) -> dict[str, str]:
    names = (
        "name", "phone", "email", "district", "address", "lat", "lon", "skills", "languages",
        "gender", "college", "max_hours", "max_travel_km", "max_assignments", "weekly",
        "weekly_from", "weekly_to",
    )  # fmt: skip
    return {n: forms.text(form, n) for n in names}


def _current_values(v: Any) -> dict[str, str]:
    personal = v.personal
    return {
        "name": personal.name or "",
        "phone": personal.phone or "",
        "email": personal.email or "",
        "address": personal.address or "",
        "lat": f"{personal.location.lat:g}",
        "lon": f"{personal.location.lon:g}",
        "district": v.district or "",
        "skills": ", ".join(v.skills),
        "languages": ", ".join(v.languages),
        "gender": {"m": "男", "f": "女"}.get(str(v.attributes.get("gender", "")), ""),
        "college": str(v.attributes.get("college", "")),
        "max_hours": "" if v.max_hours is None else f"{v.max_hours:g}",
        "max_travel_km": "" if v.max_travel_km is None else f"{v.max_travel_km:g}",
        "max_assignments": "" if v.max_assignments is None else str(v.max_assignments),
        "weekly": "",
        "weekly_from": "",
        "weekly_to": "",
    }


def _volunteer_page(
    request: Request,
    session: Session,
    settings: Settings,
    caller: Caller,
    volunteer_id: int,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    period: tuple[str, str] | None = None,
    certificate_error: str = "",
) -> Response:
    """A volunteer's page: their record to edit, their hours ledger line by line, and their
    certificates with the form that issues one (for this year so far unless asked)."""
    v = volunteers.to_out(volunteers.visible_volunteer(session, caller, volunteer_id), caller)
    lines = ledger.lines_of(session, volunteer_id)
    issued = certificates.list_visible(
        session, caller, settings, volunteer_id, None, CERTIFICATES_SHOWN
    )
    this_day = today(caller)
    return render(
        request,
        "university/volunteer.html",
        status_code,
        v=v,
        values=values if values is not None else _current_values(v),
        errors=errors or {},
        ledger=lines,
        ledger_hours=round(sum(line.hours for line in lines), 2),
        ledger_tasks=sum(1 for line in lines if line.kind == "completion"),
        certificates=issued.items,
        period=period or (this_day.replace(month=1, day=1).isoformat(), this_day.isoformat()),
        certificate_error=certificate_error,
    )


@router.get("/volunteers/{volunteer_id}")
def edit_page(
    request: Request,
    volunteer_id: PathId,
    caller: RosterOwnerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    return _volunteer_page(request, session, settings, caller, volunteer_id)


def _patch(values: dict[str, str], attributes: dict[str, Any], caller: Caller) -> dict[str, Any]:
    patch: dict[str, Any] = {
        k: values[k] or None for k in ("name", "phone", "email", "district", "address")
    }
    if values["lat"] or values["lon"]:
        patch["location"] = {"lat": forms.number(values["lat"]), "lon": forms.number(values["lon"])}
    patch["skills"] = forms.items(values["skills"])
    patch["languages"] = forms.items(values["languages"])
    merged = {k: v for k, v in attributes.items() if k not in ("gender", "college")}
    gender = {"男": "m", "女": "f", "m": "m", "f": "f"}.get(values["gender"].strip().lower())
    if gender:
        merged["gender"] = gender
    if values["college"]:
        merged["college"] = values["college"]
    patch["attributes"] = merged
    for k in ("max_hours", "max_travel_km", "max_assignments"):
        patch[k] = forms.number(values[k]) if values[k] else None
    if values["weekly"]:
        start = sheet_columns.date_text(values["weekly_from"]) or today(caller).isoformat()
        end = (
            sheet_columns.date_text(values["weekly_to"])
            or (today(caller) + timedelta(days=sheet_columns.TERM_DAYS)).isoformat()
        )
        patch["weekly"] = {
            "patterns": sheet_columns.weekly_patterns(values["weekly"]),
            "start_date": start,
            "end_date": end,
        }
    return patch


@router.post("/volunteers/{volunteer_id}")
def save_volunteer(
    request: Request,
    volunteer_id: PathId,
    posted: RosterOwnerChange,
    session: SessionDep,
    geocoder: GeocoderDep,
    settings: SettingsDep,
) -> Response:
    caller, form = posted
    lang = language_of(request)
    current = volunteers.visible_volunteer(session, caller, volunteer_id)
    values = _edit_values(form)
    try:
        patch = VolunteerPatch.model_validate(_patch(values, dict(current.attributes), caller))
        volunteers.update_volunteer(session, caller, volunteer_id, patch, geocoder)
    except ValidationError as exc:
        errors = forms.pydantic_errors(lang, exc, _FIELD_OF_LOC)
    except InvalidInput as exc:
        errors = {
            {"location": "lat", "availability": "weekly"}.get(k, k): v
            for k, v in forms.api_field_errors(lang, exc.fields).items()
        } or {"__all__": exc.detail}
    else:
        return RedirectResponse("/university/volunteers?saved=1", status_code=303)
    session.rollback()
    return _volunteer_page(request, session, settings, caller, volunteer_id, 422, values, errors)


@router.post("/volunteers/{volunteer_id}/certificates")
def issue_certificate(
    request: Request,
    volunteer_id: PathId,
    posted: RosterOwnerChange,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Certify the ledger's hours of the volunteer from `start` to `end` (local days); back to
    their page, where the new certificate is listed with its PDF."""
    caller, form = posted
    lang = language_of(request)
    period = (forms.text(form, "start"), forms.text(form, "end"))
    try:
        first, last = _range(caller, period[0] or None, period[1] or None)
        (certificate,) = certificates.issue(session, caller, [volunteer_id], first, last)
    except Conflict:
        status_code, message = 409, N_("No completed hours in these days: nothing to certify.")
    except InvalidInput:
        status_code, message = 422, N_("Give the first and the last day, like 2026-03-02.")
    else:
        return RedirectResponse(
            f"/university/volunteers/{volunteer_id}?issued={certificate.id}#certificates",
            status_code=303,
        )
    session.rollback()
    return _volunteer_page(
        request, session, settings, caller, volunteer_id, status_code,
        period=period, certificate_error=lang.gettext(message),
    )  # fmt: skip


@router.get("/certificates/{certificate_id}/pdf")
def certificate_pdf(
    certificate_id: PathId, caller: RosterOwnerUser, session: SessionDep, settings: SettingsDep
) -> Response:
    certificate = certificates.visible_certificate(session, caller, certificate_id)
    (document,) = certificates.pdfs(session, [certificate], settings)
    name = certificates.file_name(certificate)
    return Response(
        document,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/assignments")
def list_assignments(
    request: Request,
    caller: RosterOwnerUser,
    session: SessionDep,
    status: str | None = "proposed",
    cursor: str | None = None,
) -> Response:
    status = status if status in {s for s, _ in ASSIGNMENT_STATUSES} else None
    page = assignments.list_visible(
        session, caller, run_id=None, request_id=None, status=status, cursor=cursor, limit=LIST_PAGE
    )
    return render(
        request,
        "university/assignments.html",
        page=page,
        params={"status": status or "", "cursor": cursor},
        statuses=ASSIGNMENT_STATUSES,
    )


def _back(form: Any) -> RedirectResponse:
    status = forms.text(form, "status")
    return RedirectResponse(
        "/university/assignments" + (f"?status={status}" if status else ""), status_code=303
    )


@router.post("/assignments/{assignment_id}/confirm")
def confirm(
    assignment_id: PathId, posted: RosterOwnerChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, form = posted
    assignments.act_as(session, settings, caller, assignment_id, assignments.CONFIRM)
    return _back(form)


@router.post("/assignments/{assignment_id}/decline")
def decline(
    assignment_id: PathId, posted: RosterOwnerChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, form = posted
    try:
        body = DeclineIn.model_validate({"reason": forms.text(form, "reason")})
    except ValidationError:
        raise InvalidInput(
            "give a reason for declining",
            fields=[FieldError(loc=["body", "reason"], msg="required")],
        ) from None
    assignments.act_as(session, settings, caller, assignment_id, assignments.DECLINE, reason=body.reason)
    return _back(form)


def _range(caller: Caller, start: str | None, end: str | None) -> tuple[date, date]:
    """The report's days, first and last included (default: the last 180 days)."""
    last = today(caller)
    try:
        first_day = date.fromisoformat(start) if start else last - timedelta(days=180)
        last_day = date.fromisoformat(end) if end else last
    except ValueError:
        raise InvalidInput(
            "dates must read like 2026-03-02",
            fields=[FieldError(loc=["query", "from"], msg="not a date")],
        ) from None
    return first_day, last_day


def _hours(session: Any, caller: Caller, first: date, last: date) -> HoursReport:
    zone = ZoneInfo(caller.timezone)
    return reports.hours_report(
        session,
        caller,
        datetime.combine(first, datetime.min.time(), zone),
        datetime.combine(last + timedelta(days=1), datetime.min.time(), zone),
    )


@router.get("/hours")
def hours(
    request: Request,
    caller: RosterOwnerUser,
    session: SessionDep,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    first, last = _range(caller, start, end)
    report = _hours(session, caller, first, last)
    return render(
        request,
        "university/hours.html",
        report=report,
        first=first.isoformat(),
        last=last.isoformat(),
    )


def _hours_header(caller: Caller, lang: Language) -> list[str]:
    number = ROSTER_NUMBER[caller.kind]
    return [lang.gettext(h) for h in (number, *HOURS_HEADER)]


def _hours_rows(report: HoursReport, lang: Language) -> list[list[Any]]:
    """One row per volunteer; an erased one by their pseudonym, without a name."""
    erased = lang.gettext(N_("(personal data erased)"))
    return [
        [
            v.external_id or v.pseudonym or "",
            v.name or (erased if v.pseudonym else ""),
            v.assignments,
            v.hours,
        ]
        for v in report.volunteers
    ]


@router.get("/hours.xlsx")
def hours_xlsx(
    request: Request,
    caller: RosterOwnerUser,
    session: SessionDep,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    lang = language_of(request)
    first, last = _range(caller, start, end)
    report = _hours(session, caller, first, last)
    header = _hours_header(caller, lang)
    data = spreadsheets.xlsx_bytes(
        header, _hours_rows(report, lang), lang.gettext(N_("Hours served"))
    )
    return Response(
        data,
        media_type=spreadsheets.XLSX_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="hours-{first}-{last}.xlsx"'},
    )


@router.get("/hours.csv")
def hours_csv(
    request: Request,
    caller: RosterOwnerUser,
    session: SessionDep,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    lang = language_of(request)
    first, last = _range(caller, start, end)
    report = _hours(session, caller, first, last)
    header = _hours_header(caller, lang)
    return Response(
        spreadsheets.csv_bom_bytes(header, _hours_rows(report, lang)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="hours-{first}-{last}.csv"'},
    )

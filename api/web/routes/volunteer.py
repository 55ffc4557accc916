"""A volunteer's pages, opened from the link in their message (no account, no key: the token in
the URL is the credential), made for phones and older eyes: the work (what, when, where, what
to bring, whom to call), confirm or decline with a reason, the phone's calendar (this work as a
file, or a private feed to subscribe to), their coming work and hours served, and their weekly
availability where their university allows it. Built on the same services as the link's JSON
endpoints (`api.services.self_service`); shared page matters are in `api.web.volunteer_pages`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep
from api.errors import Conflict, Forbidden, InvalidInput
from api.models import Assignment, utc_now
from api.repositories import organizations as org_repo
from api.schemas.volunteers import WeeklyAvailability
from api.services import assignments, calendar_feed
from api.services import self_service as service
from api.services.availability import DAYS, MAX_DAYS
from api.settings import Settings
from api.web import forms
from api.web.i18n import LANGUAGES, N_, Language, language
from api.web.routing import volunteer_router
from api.web.volunteer_pages import (
    PRIVATE,
    LinkForm,
    choose_language,
    day_of,
    page,
    redirect,
    tel,
    when_of,
)

router = volunteer_router("/v/{token}")

# What a volunteer may pick when they cannot come; "other" needs a few words of their own.
DECLINE_REASONS = (
    ("busy", N_("I have something else at that time")),
    ("study", N_("I have classes or an exam")),
    ("unwell", N_("I am not well")),
    ("far", N_("It is too far for me")),
    ("family", N_("Family matters")),
    ("other", N_("Another reason")),
)
DETAILS_MAX = 300
DAY_NAMES = dict(
    zip(
        DAYS,
        (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
         N_("Saturday"), N_("Sunday")),
        strict=True,
    )
)  # fmt: skip
# The status of one's work, in plain words.
STATUS_WORDS = {
    "proposed": N_("Waiting for your answer"),
    "confirmed": N_("You confirmed"),
    "declined": N_("You declined"),
    "cancelled": N_("Cancelled"),
    "checked_in": N_("Checked in"),
    "completed": N_("Done"),
    "no_show": N_("Not checked in"),
}


def open_link(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Assignment:
    """The link's assignment (an unknown link is a 404 page, an expired one a 410 page), and
    the volunteer's language for the page."""
    assignment = service.by_link(session, settings, token)
    choose_language(request, assignment.volunteer.languages, settings)
    return assignment


Link = Annotated[Assignment, Depends(open_link)]


def _work(assignment: Assignment, lang: Language) -> dict[str, Any]:
    """What every page says about the work itself."""
    start, end = assignment.local_times  # a flexible visit's chosen time
    return {
        "assignment": assignment,
        "work": assignment.request,
        "when_text": when_of(start, end, lang),
        "started": assignment.starts <= utc_now(),
    }


def _contact(session: SessionDep, assignment: Assignment) -> dict[str, Any]:
    center = org_repo.get_organization(session, assignment.request.center_id)
    assert center is not None  # a request's center (foreign key)
    contact = service.center_contact(center)
    return {"center": contact, "call": tel(contact.contact_phone or "")}


def _base(token: str) -> str:
    return f"/v/{token}"


@router.get("")
def assignment_page(
    request: Request,
    token: str,
    assignment: Link,
    session: SessionDep,
    settings: SettingsDep,
    answered: str | None = None,
) -> Response:
    lang = choose_language(request, assignment.volunteer.languages, settings)
    reminders = sorted(settings.reminder_offsets_h, reverse=True)
    return page(
        request,
        "volunteer/assignment.html",
        token,
        base=_base(token),
        answered=answered if answered in ("confirmed", "declined") else None,
        status_words=STATUS_WORDS,
        can_edit_availability=service.may_edit_availability(session, assignment),
        reminders=[lang.number(h, 0) for h in reminders]
        if settings.email_on or settings.sms_on
        else [],
        expires=day_of(service.expires_at(settings, assignment).date(), lang),
        place_map=bool(settings.map_tile_url),
        in_calendar=assignment.status in calendar_feed.FEED_STATUSES,
        **_work(assignment, lang),
        **_contact(session, assignment),
    )


@router.post("/confirm")
def confirm(
    token: str, assignment: Link, form: LinkForm, session: SessionDep, settings: SettingsDep
) -> Response:
    try:
        assignments.act_by_link(session, settings, assignment, assignments.CONFIRM)
    except Conflict:
        return redirect(_base(token))  # answered already, or cancelled: the page tells
    return redirect(f"{_base(token)}?answered=confirmed")


def _decline_page(
    request: Request,
    token: str,
    assignment: Assignment,
    session: SessionDep,
    lang: Language,
    status_code: int = 200,
    **context: Any,
) -> Response:
    context.setdefault("values", {})
    context.setdefault("errors", {})
    return page(
        request,
        "volunteer/decline.html",
        token,
        status_code,
        base=_base(token),
        reasons=DECLINE_REASONS,
        details_max=DETAILS_MAX,
        **_work(assignment, lang),
        **_contact(session, assignment),
        **context,
    )


@router.get("/decline")
def decline_page(
    request: Request, token: str, assignment: Link, session: SessionDep, settings: SettingsDep
) -> Response:
    if assignment.status not in assignments.DECLINE.from_statuses:
        return redirect(_base(token))
    lang = choose_language(request, assignment.volunteer.languages, settings)
    return _decline_page(request, token, assignment, session, lang)


def stored_reason(settings: Settings, choice: str, details: str) -> str:
    """The reason as the center reads it: the choice in the service's language, and the
    volunteer's own words."""
    code = {folder: code for code, folder in LANGUAGES.items()}[settings.default_locale]
    label = language(code).gettext(dict(DECLINE_REASONS)[choice])
    if not details:
        return label
    return f"{label}：{details}" if code == "zh-CN" else f"{label}: {details}"


@router.post("/decline")
def decline(
    request: Request,
    token: str,
    assignment: Link,
    form: LinkForm,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    lang = choose_language(request, assignment.volunteer.languages, settings)
    values = {"reason": forms.text(form, "reason"), "details": forms.text(form, "details")}
    errors: dict[str, str] = {}
    if values["reason"] not in dict(DECLINE_REASONS):
        errors["reason"] = lang.gettext(N_("Please choose a reason."))
    elif values["reason"] == "other" and not values["details"]:
        errors["details"] = lang.gettext(N_("Please write a few words about why."))
    if len(values["details"]) > DETAILS_MAX:
        errors["details"] = lang.gettext(
            N_("Please write at most %(n)s characters."), n=DETAILS_MAX
        )
    if errors:
        return _decline_page(
            request, token, assignment, session, lang, 422, values=values, errors=errors
        )
    reason = stored_reason(settings, values["reason"], values["details"])
    try:
        assignments.act_by_link(session, settings, assignment, assignments.DECLINE, reason=reason)
    except Conflict:
        return redirect(_base(token))
    return redirect(f"{_base(token)}?answered=declined")


@router.get("/schedule")
def schedule_page(
    request: Request, token: str, assignment: Link, session: SessionDep, settings: SettingsDep
) -> Response:
    lang = choose_language(request, assignment.volunteer.languages, settings)
    schedule = service.schedule(session, settings, assignment)
    rows = [
        {
            "work": item,
            "when_text": when_of(item.start, item.end, lang),
            "call": tel(item.center.contact_phone or ""),
        }
        for item in schedule.upcoming
    ]
    periods = {
        p.period: {"hours": p.hours, "count": p.assignments, "from": day_of(p.start, lang),
                   "to": day_of(p.end, lang)}
        for p in schedule.periods
    }  # fmt: skip
    return page(
        request,
        "volunteer/schedule.html",
        token,
        base=_base(token),
        rows=rows,
        served=schedule.served,
        periods=periods,
        status_words=STATUS_WORDS,
        **_work(assignment, lang),
    )


@router.get("/calendar")
def calendar_page(
    request: Request,
    token: str,
    assignment: Link,
    session: SessionDep,
    settings: SettingsDep,
    revoked: str | None = None,
) -> Response:
    lang = choose_language(request, assignment.volunteer.languages, settings)
    return _calendar_page(request, token, assignment, lang, revoked=bool(revoked))


def _calendar_page(
    request: Request, token: str, assignment: Assignment, lang: Language, **context: Any
) -> Response:
    return page(
        request,
        "volunteer/calendar.html",
        token,
        base=_base(token),
        subscribed=assignment.volunteer.calendar_token_hash is not None,
        in_calendar=assignment.status in calendar_feed.FEED_STATUSES,
        **_work(assignment, lang),
        **context,
    )


@router.get("/calendar.ics")
def calendar_file(token: str, assignment: Link, session: SessionDep) -> Response:
    """This one work as a calendar file: a phone offers to add it."""
    return Response(
        service.assignment_calendar(session, assignment),
        media_type="text/calendar; charset=utf-8",
        headers={
            **PRIVATE,
            "Content-Disposition": f'attachment; filename="volunteer-{assignment.id}.ics"',
        },
    )


@router.post("/calendar")
def subscribe(
    request: Request,
    token: str,
    assignment: Link,
    form: LinkForm,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """A new private feed (the old one stops working); its address is shown once, here."""
    lang = choose_language(request, assignment.volunteer.languages, settings)
    feed = service.issue_calendar(session, settings, assignment)
    webcal = "webcal://" + feed.url.split("://", 1)[-1]
    return _calendar_page(request, token, assignment, lang, feed_url=feed.url, webcal=webcal)


@router.post("/calendar/revoke")
def unsubscribe(token: str, assignment: Link, form: LinkForm, session: SessionDep) -> Response:
    service.revoke_calendar(session, assignment)
    return redirect(f"{_base(token)}/calendar?revoked=1")


def _zone(session: SessionDep, assignment: Assignment) -> ZoneInfo:
    university = org_repo.get_organization(session, assignment.volunteer.university_id)
    assert university is not None  # a volunteer's university (foreign key)
    return ZoneInfo(university.timezone)


def _current_week(assignment: Assignment, zone: ZoneInfo, today: date) -> dict[str, Any]:
    """The form's first values: each weekday's first window in the coming seven days."""
    first = datetime.combine(today, time(0), zone)
    values: dict[str, Any] = {d: {"on": False, "start": "09:00", "end": "17:00"} for d in DAYS}
    for window in assignment.volunteer.availability:
        start = datetime.fromtimestamp(window.start_s, zone)
        end = datetime.fromtimestamp(window.end_s, zone)
        if not first <= start < first + timedelta(days=7):
            continue
        slot = values[DAYS[start.weekday()]]
        if not slot["on"]:
            last = "23:59" if end.date() > start.date() else end.strftime("%H:%M")
            values[DAYS[start.weekday()]] = {
                "on": True,
                "start": start.strftime("%H:%M"),
                "end": last,
            }
    values["start_date"] = today.isoformat()
    values["end_date"] = service.term_of(today)[1].isoformat()
    return values


def _availability_page(
    request: Request,
    token: str,
    assignment: Assignment,
    lang: Language,
    status_code: int = 200,
    **context: Any,
) -> Response:
    context.setdefault("errors", {})
    return page(
        request,
        "volunteer/availability.html",
        token,
        status_code,
        base=_base(token),
        days=[(d, DAY_NAMES[d]) for d in DAYS],
        **_work(assignment, lang),
        **context,
    )


@router.get("/availability")
def availability_page(
    request: Request, token: str, assignment: Link, session: SessionDep, settings: SettingsDep
) -> Response:
    lang = choose_language(request, assignment.volunteer.languages, settings)
    _allowed(session, assignment)
    zone = _zone(session, assignment)
    today = utc_now().astimezone(zone).date()
    return _availability_page(
        request, token, assignment, lang, values=_current_week(assignment, zone, today)
    )


def _allowed(session: SessionDep, assignment: Assignment) -> None:
    if not service.may_edit_availability(session, assignment):
        raise Forbidden("the volunteer's university keeps their availability")


def _clock(text: str) -> time | None:
    try:
        return time.fromisoformat(text) if len(text) == 5 else None
    except ValueError:
        return None


def read_weekly(
    form: Any, lang: Language, today: date
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The form's values, its errors by field, and the weekly patterns ("Tue 14:00-18:00")."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    patterns = []
    for d in DAYS:
        on, first, last = (
            bool(forms.text(form, f"{d}_on")),
            forms.text(form, f"{d}_start"),
            forms.text(form, f"{d}_end"),
        )
        values[d] = {"on": on, "start": first, "end": last}
        if not on:
            continue
        start, end = _clock(first), _clock(last)
        if start is None or end is None:
            errors[d] = lang.gettext(N_("Give the hours like 09:00 and 17:00."))
        elif end <= start:
            errors[d] = lang.gettext(N_("The end must be after the start."))
        else:
            patterns.append(f"{d.title()} {first}-{last}")
    if not any(values[d]["on"] for d in DAYS):
        errors["days"] = lang.gettext(N_("Tick at least one day."))
    dates: dict[str, date] = {}
    for name in ("start_date", "end_date"):
        values[name] = forms.text(form, name)
        try:
            dates[name] = date.fromisoformat(values[name])
        except ValueError:
            errors[name] = lang.gettext(N_("Enter a date like 2026-03-02."))
    if "start_date" in dates and dates["start_date"] < today:
        errors["start_date"] = lang.gettext(N_("Start today or later."))
    if len(dates) == 2:
        if dates["end_date"] < dates["start_date"]:
            errors["end_date"] = lang.gettext(N_("The last day must be after the first."))
        elif (dates["end_date"] - dates["start_date"]).days > MAX_DAYS:
            errors["end_date"] = lang.gettext(N_("At most %(days)s days at a time."), days=MAX_DAYS)
    return values, errors, patterns


@router.post("/availability")
def save_availability(
    request: Request,
    token: str,
    assignment: Link,
    form: LinkForm,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    lang = choose_language(request, assignment.volunteer.languages, settings)
    _allowed(session, assignment)
    zone = _zone(session, assignment)
    values, errors, patterns = read_weekly(form, lang, utc_now().astimezone(zone).date())
    if errors:
        return _availability_page(
            request, token, assignment, lang, 422, values=values, errors=errors
        )
    body = WeeklyAvailability(
        patterns=patterns,
        start_date=date.fromisoformat(values["start_date"]),
        end_date=date.fromisoformat(values["end_date"]),
    )
    try:
        result = service.replace_weekly(session, assignment, body)
    except InvalidInput as exc:
        errors = {
            "__all__": forms.translated(lang, exc.fields[0].msg if exc.fields else exc.detail)
        }
        return _availability_page(
            request, token, assignment, lang, 422, values=values, errors=errors
        )
    held = service.schedule(session, settings, assignment).upcoming
    outside = [
        {"work": w, "when_text": when_of(w.start, w.end, lang)}
        for w in held
        if w.assignment_id in set(result.outside)
    ]
    return _availability_page(
        request,
        token,
        assignment,
        lang,
        values=values,
        saved=True,
        windows=len(result.windows),
        outside=outside,
        period=(day_of(body.start_date, lang), day_of(body.end_date, lang)),
    )

"""A center's requests: the list (filter, search, pages), one new request by form, a batch from
a CSV or XLSX sheet with Chinese or English headers (all or nothing: bad rows are listed with
their row, column and message), cancel, mark done, and each request's standby volunteers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from api.deps import GeocoderDep, SessionDep, SettingsDep
from api.errors import ApiError, FieldError, InvalidInput, PayloadTooLarge
from api.schemas.common import PathId
from api.schemas.service_requests import RequestIn, RequestPatch
from api.services import service_requests as service
from api.services import sheet_columns, spreadsheets, standby
from api.services.organizations import Caller
from api.web import forms
from api.web.i18n import N_, Language
from api.web.routing import console_router
from api.web.security import CenterChange, CenterUser
from api.web.templating import language_of, render

router = console_router("/center")
LIST_PAGE = 50
STATUSES = (
    ("open", N_("Open")),
    ("filled", N_("Filled")),
    ("done", N_("Done")),
    ("cancelled", N_("Cancelled")),
)
STANDBY_NAMES = {
    "waiting": N_("Waiting"),
    "promoted": N_("Promoted: proposed the work"),
    "passed": N_("Passed over: no longer free"),
}
# Form fields whose errors come back under another name.
_FIELD_OF_LOC: dict[tuple[str | int, ...], str] = {
    ("location",): "lat",
    ("location", "lat"): "lat",
    ("location", "lon"): "lon",
}


def _day(value: str | None, timezone: str) -> datetime | None:
    try:
        return datetime.combine(
            date.fromisoformat(value or ""), datetime.min.time(), ZoneInfo(timezone)
        )
    except ValueError:
        return None


@router.get("/requests")
def list_requests(
    request: Request,
    caller: CenterUser,
    session: SessionDep,
    status: str | None = None,
    service_type: str | None = None,
    q: str | None = None,
    day: str | None = None,
    cursor: str | None = None,
) -> Response:
    status = status if status in {s for s, _ in STATUSES} else None
    starts_from = _day(day, caller.timezone)
    page = service.list_visible(
        session,
        caller,
        center_id=None,
        status=status,
        service_type=service_type or None,
        starts_from=starts_from,
        starts_before=starts_from + timedelta(days=1) if starts_from else None,
        cursor=cursor,
        limit=LIST_PAGE,
        search=(q or "").strip() or None,
    )
    params = {"status": status, "service_type": service_type, "q": q, "day": day, "cursor": cursor}
    return render(
        request,
        "center/requests.html",
        page=page,
        params=params,
        statuses=STATUSES,
        service_types=service.service_types(session, caller),
    )


GENDERS = (("", N_("Any")), ("f", N_("Women")), ("m", N_("Men")))


def _form_values(form: Any) -> dict[str, str]:
    names = (
        "title", "service_type", "start", "end", "earliest_start", "latest_end", "duration",
        "address", "district", "lat", "lon", "required_skills", "languages", "volunteers_needed",
        "min_volunteers", "priority", "description", "bring", "external_id", "gender",
    )  # fmt: skip
    values = {n: forms.text(form, n) for n in names}
    values["timing"] = "window" if forms.text(form, "timing") == "window" else "fixed"
    for flag in ("mandatory", "same_gender"):
        values[flag] = "yes" if forms.text(form, flag) else ""
    return values


def _request_data(values: dict[str, str], timezone: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        k: values[k]
        for k in (
            "title", "service_type", "address", "district", "description", "bring", "external_id"
        )
        if values[k]
    }
    data.setdefault("title", "")
    data.setdefault("service_type", "")
    # A fixed time, or (the toggle at 时间窗口) a window and a duration the plan places.
    if values["timing"] == "window":
        for k in ("earliest_start", "latest_end"):
            data[k] = forms.local_time(values[k], timezone) if values[k] else None
        data["duration"] = forms.number(values["duration"]) if values["duration"] else None
    else:
        data["start"] = forms.local_time(values["start"], timezone) if values["start"] else None
        data["end"] = forms.local_time(values["end"], timezone) if values["end"] else None
    if values["gender"] in {g for g, _ in GENDERS if g}:
        data["attributes"] = {"gender": values["gender"]}
    if values["same_gender"]:
        data["same_attributes"] = ["gender"]
    if values["lat"] or values["lon"]:
        data["location"] = {
            "lat": forms.number(values["lat"]) if values["lat"] else None,
            "lon": forms.number(values["lon"]) if values["lon"] else None,
        }
    for k in ("required_skills", "languages"):
        if values[k]:
            data[k] = forms.items(values[k])
    for k in ("volunteers_needed", "min_volunteers", "priority"):
        if values[k]:
            data[k] = values[k]
    data["mandatory"] = bool(values["mandatory"])
    return data


@router.get("/requests/new")
def new_request_page(request: Request, caller: CenterUser) -> Response:
    return render(
        request,
        "center/request_new.html",
        values={"volunteers_needed": "1", "min_volunteers": "1", "priority": "1",
                "timing": "fixed", "duration": "60"},
        errors={},
        genders=GENDERS,
    )


@router.post("/requests/new")
def create_request(
    request: Request, posted: CenterChange, session: SessionDep, geocoder: GeocoderDep
) -> Response:
    caller, form = posted
    lang = language_of(request)
    values = _form_values(form)
    try:
        row = RequestIn.model_validate(_request_data(values, caller.timezone))
        service.submit_batch(session, caller, [row], geocoder)
    except ValidationError as exc:
        errors = forms.pydantic_errors(lang, exc, _FIELD_OF_LOC)
        if "__all__" in errors:  # a rule of the whole request: beside the field it is about
            whole = next(str(e["msg"]) for e in exc.errors() if not e["loc"])
            field = _row_rule(values["timing"] == "window", whole)
            errors.setdefault(field, errors.pop("__all__"))
        return render(
            request, "center/request_new.html", status_code=422, values=values, errors=errors,
            genders=GENDERS,
        )
    except InvalidInput as exc:
        errors = forms.api_field_errors(lang, exc.fields) or {"__all__": exc.detail}
        errors = {("lat" if k == "location" else k): v for k, v in errors.items()}
        return render(
            request, "center/request_new.html", status_code=422, values=values, errors=errors,
            genders=GENDERS,
        )
    return RedirectResponse("/center/requests?created=1", status_code=303)


@router.get("/requests/upload")
def upload_page(request: Request, caller: CenterUser) -> Response:
    return render(
        request,
        "center/request_upload.html",
        problems=[],
        message="",
        columns=sheet_columns.REQUEST_COLUMNS,
    )


_REQUESTS = TypeAdapter(RequestIn)


def sheet_problems(lang: Language, fields: list[FieldError]) -> list[tuple[str, str, str]]:
    """An upload's problems as (row, column, message) rows for the error table."""
    out = []
    for f in fields:
        row = str(f.loc[1]) if len(f.loc) > 1 else ""
        column = str(f.loc[2]) if len(f.loc) > 2 else ""
        out.append((row, column, forms.translated(lang, f.msg)))
    return out


def _offset(timezone: str) -> str:
    offset = datetime.now(ZoneInfo(timezone)).strftime("%z")
    return f"{offset[:3]}:{offset[3:]}"


def parse_requests(
    data: bytes, filename: str, caller: Caller, max_rows: int
) -> tuple[list[RequestIn], sheet_columns.Mapped]:
    """The sheet's rows as requests (and where each came from), or InvalidInput naming every
    bad row and column."""
    sheet = spreadsheets.read_sheet(data, filename, max_rows)
    mapped = sheet_columns.request_records(sheet, _offset(caller.timezone))
    rows: list[RequestIn] = []
    problems = list(mapped.problems)
    for i, record in enumerate(mapped.records):
        try:
            rows.append(_REQUESTS.validate_python(record))
        except ValidationError as exc:
            for err, plain in zip(exc.errors(), forms_errors(exc), strict=True):
                loc = tuple(err["loc"])
                name = _FIELD_OF_LOC.get(loc) or (
                    str(loc[0]) if loc else _row_rule("duration" in record, plain)
                )
                problems.append(FieldError(loc=mapped.loc(i, name), msg=plain))
    if problems:
        raise InvalidInput(
            f"{len({p.loc[1] for p in problems})} row(s) rejected; nothing was written",
            fields=problems,
        )
    return rows, mapped


def _row_rule(window: bool, message: str) -> str:
    """The field of a rule about the whole request (its English `message`): headcount, team or
    times (the window's, for a flexible visit)."""
    if "min_volunteers" in message:
        return "min_volunteers"
    if "same_attributes" in message:
        return "same_gender"
    return "earliest_start" if window else "start"


def forms_errors(exc: ValidationError) -> list[str]:
    """pydantic's messages, as the API words them (translated when shown)."""
    from api.errors import fields_from_pydantic

    return [f.msg for f in fields_from_pydantic(exc.errors())]


@router.post("/requests/upload")
def upload(
    request: Request,
    posted: CenterChange,
    session: SessionDep,
    settings: SettingsDep,
    geocoder: GeocoderDep,
) -> Response:
    caller, form = posted
    lang = language_of(request)
    file = forms.upload(form, "file")
    if file is None:
        return render(
            request,
            "center/request_upload.html",
            status_code=422,
            problems=[],
            message=lang.gettext(N_("Choose a file first.")),
            columns=sheet_columns.REQUEST_COLUMNS,
        )
    data = file.file.read()
    try:
        rows, mapped = parse_requests(data, file.filename or "", caller, settings.max_batch_rows)
        try:
            result = service.submit_batch(session, caller, rows, geocoder)
        except InvalidInput as exc:  # geocoding names ["body", index, field]: the sheet's rows
            raise InvalidInput(
                exc.detail,
                fields=[
                    FieldError(loc=mapped.loc(f.loc[1], str(f.loc[2])), msg=f.msg)
                    if len(f.loc) > 2 and isinstance(f.loc[1], int)
                    else f
                    for f in exc.fields
                ],
            ) from None
    except (InvalidInput, PayloadTooLarge) as exc:
        session.rollback()
        return render(
            request,
            "center/request_upload.html",
            status_code=exc.status_code,
            problems=sheet_problems(lang, exc.fields)
            if exc.fields and exc.fields[0].loc[0] == "row"
            else [],
            message=upload_message(lang, exc),
            columns=sheet_columns.REQUEST_COLUMNS,
        )
    return render(request, "center/request_uploaded.html", created=result.created)


def upload_message(lang: Language, exc: ApiError) -> str:
    if isinstance(exc, spreadsheets.UnreadableFile):
        return lang.gettext(
            N_(
                "The file could not be read. Save it as XLSX, or as CSV in UTF-8 or GBK, and upload it again. Nothing was written."
            )
        )
    if isinstance(exc, PayloadTooLarge):
        return lang.gettext(N_("The file has too many rows; split it. Nothing was written."))
    if exc.fields and exc.fields[0].loc[:2] == ["row", 1]:
        return lang.gettext(N_("The header row is not valid. Nothing was written."))
    return lang.gettext(
        N_("Some rows are not valid. Nothing was written; fix them and upload the file again.")
    )


@router.post("/requests/{request_id}/cancel")
def cancel(
    request_id: PathId, posted: CenterChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, _ = posted
    service.update_request(session, settings, caller, request_id, RequestPatch(status="cancelled"))
    return RedirectResponse("/center/requests", status_code=303)


@router.post("/requests/{request_id}/done")
def mark_done(
    request_id: PathId, posted: CenterChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, _ = posted
    service.update_request(session, settings, caller, request_id, RequestPatch(status="done"))
    return RedirectResponse("/center/requests", status_code=303)


@router.get("/requests/{request_id}/standby")
def standby_list(
    request: Request, request_id: PathId, caller: CenterUser, session: SessionDep
) -> Response:
    """The volunteers named to step in, by rank (newest publication first), and what became of
    them: waiting, promoted (proposed the work), passed (no longer free or qualified)."""
    found = service.visible_request(session, caller, request_id)
    return render(
        request,
        "center/standby.html",
        item=service.request_out(session, found),
        standby=standby.of_request(session, caller, request_id),
        standby_names=STANDBY_NAMES,
    )

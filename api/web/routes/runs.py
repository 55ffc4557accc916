"""A center's match runs: start one, watch it live (coverage, bound, time; htmx polling, no
reload), stop it, and its plan: key figures, a paged table, a map, timelines per volunteer and
per request, the unfilled requests with their reasons; publish (with a number of standby per
request), and repair after declines."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.deps import SessionDep, SettingsDep
from api.errors import InvalidInput
from api.models import MatchRun, RunStatus
from api.pagination import decode_cursor
from api.schemas.common import PathId
from api.schemas.match_runs import PublishIn, RepairIn, RunIn
from api.services import links, organizations
from api.services import match_runs as service
from api.services.organizations import Caller, settings_of
from api.web import forms, plans
from api.web.i18n import N_
from api.web.routing import console_router
from api.web.security import CenterChange, CenterUser
from api.web.templating import language_of, render

router = console_router("/center")
TABS = (
    ("assignments", N_("Assignments")),
    ("map", N_("Map")),
    ("timeline", N_("Timeline")),
    ("unfilled", N_("Unfilled")),
)
_ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)


def _run_form_defaults(timezone: str) -> dict[str, str]:
    today = datetime.now(ZoneInfo(timezone)).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7)
    return {"start": monday.isoformat(), "days": "7", "engine": "optimal", "time_limit_s": "10"}


@router.get("/runs")
def list_runs(
    request: Request, caller: CenterUser, session: SessionDep, cursor: str | None = None
) -> Response:
    decode_cursor(cursor)
    page = service.list_visible(session, caller, cursor, 30)
    return render(
        request,
        "center/runs.html",
        page=page,
        params={"cursor": cursor},
        values=_run_form_defaults(caller.timezone),
        errors={},
    )


@router.post("/runs")
def start_run(
    request: Request, posted: CenterChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, form = posted
    lang = language_of(request)
    values = {k: forms.text(form, k) for k in ("start", "days", "engine", "time_limit_s")}
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"engine": values["engine"] or "optimal"}
    try:
        first = datetime.combine(
            date.fromisoformat(values["start"]), datetime.min.time(), ZoneInfo(caller.timezone)
        )
    except ValueError:
        errors["start"] = lang.gettext(N_("Enter a date like 2026-03-02."))
    try:
        days = int(values["days"])
        if not 1 <= days <= 31:
            raise ValueError
    except ValueError:
        errors["days"] = lang.gettext(N_("From 1 to 31 days."))
    if values["time_limit_s"]:
        body["time_limit_s"] = values["time_limit_s"]
    if not errors:
        body["window"] = {"start": first, "end": first + timedelta(days=days)}
        try:
            run = service.create_run(session, caller, RunIn.model_validate(body), settings)
            return RedirectResponse(f"/center/runs/{run.id}", status_code=303)
        except ValidationError as exc:
            errors = forms.pydantic_errors(lang, exc, {("window",): "days"})
        except InvalidInput as exc:
            errors = forms.api_field_errors(lang, exc.fields)
    page = service.list_visible(session, caller, None, 30)
    return render(
        request,
        "center/runs.html",
        status_code=422,
        page=page,
        params={},
        values=values,
        errors=errors,
    )


def _progress_context(run: MatchRun) -> dict[str, Any]:
    out = service.run_out(run)
    elapsed = None
    if run.started_at is not None:
        end = run.finished_at or datetime.now(run.started_at.tzinfo)
        elapsed = (end - run.started_at).total_seconds()
    gap = None
    coverage, bound = out.progress.coverage, out.progress.bound
    if coverage is not None and bound:
        gap = max(bound - coverage, 0) / bound
    return {"run": out, "elapsed": elapsed, "gap": gap, "active": run.status in _ACTIVE}


@router.get("/runs/{run_id}")
def run_page(
    request: Request,
    run_id: PathId,
    caller: CenterUser,
    session: SessionDep,
    tab: str = "assignments",
    page: int = 1,
    by: str = "volunteer",
) -> Response:
    return _run_page(request, run_id, caller, session, tab, page, by)


def _run_page(
    request: Request,
    run_id: int,
    caller: Caller,
    session: SessionDep,
    tab: str = "assignments",
    page: int = 1,
    by: str = "volunteer",
    status_code: int = 200,
    **extra: Any,
) -> Response:
    run = service.visible_run(session, caller, run_id)
    context = _progress_context(run)
    lang = language_of(request)
    tab = tab if tab in {t for t, _ in TABS} else "assignments"
    plan = plans.plan_of(run) if run.objective is not None else None
    panel: dict[str, Any] = {}
    if plan is not None:
        if tab == "assignments":
            rows, page, pages = plans.assignment_page(session, plan, page)
            panel = {"rows": rows, "page": page, "pages": pages}
        elif tab == "unfilled":
            missing, page, pages = plans.unfilled_page(session, plan, page, lang)
            panel = {"rows": missing, "page": page, "pages": pages}
        elif tab == "timeline":
            by = "request" if by == "request" else "volunteer"
            panel = {
                "timeline": plans.timeline(session, run, plan, by, page, lang, caller.timezone),
                "by": by,
            }
    own = organizations.visible_organization(session, caller, caller.org_id)
    extra.setdefault("errors", {})
    extra.setdefault("standby", settings_of(own).standby_per_request)
    return render(
        request,
        "center/run.html",
        status_code=status_code,
        plan=plan,
        tab=tab,
        tabs=TABS,
        panel=panel,
        assigned_volunteers=len({a.volunteer_id for a in plan.assignments}) if plan else 0,
        missing_slots=sum(u.missing for u in plan.unfilled) if plan else 0,
        **context,
        **extra,
    )


@router.get("/runs/{run_id}/progress")
def progress(request: Request, run_id: PathId, caller: CenterUser, session: SessionDep) -> Response:
    """The live panel, polled while the run is queued or running; once it ends, the page
    reloads to show the plan."""
    run = service.visible_run(session, caller, run_id)
    context = _progress_context(run)
    headers = {} if context["active"] else {"HX-Refresh": "true"}
    return render(request, "center/_progress.html", headers=headers, **context)


@router.get("/runs/{run_id}/map.json")
def plan_map(request: Request, run_id: PathId, caller: CenterUser, session: SessionDep) -> Response:
    run = service.visible_run(session, caller, run_id)
    plan = plans.plan_of(run)
    return JSONResponse(plans.map_points(session, plan, language_of(request), caller.timezone))


@router.post("/runs/{run_id}/stop")
def stop(run_id: PathId, posted: CenterChange, session: SessionDep) -> Response:
    caller, _ = posted
    service.stop_run(session, caller, run_id)
    return RedirectResponse(f"/center/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/publish")
def publish(
    request: Request,
    run_id: PathId,
    posted: CenterChange,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    caller, form = posted
    standby = forms.text(form, "standby_per_request")
    try:
        body = PublishIn.model_validate({"standby_per_request": standby or None})
    except ValidationError as exc:
        errors = forms.pydantic_errors(language_of(request), exc)
        return _run_page(
            request, run_id, caller, session, status_code=422, errors=errors, standby=standby
        )
    result = service.publish(session, settings, caller, run_id, body)
    return render(
        request,
        "center/published.html",
        result=result,
        urls={link.assignment_id: links.url(settings, link.token) for link in result.links},
        standby_named=sum(len(s.volunteer_ids) for s in result.standby),
        standby_requests=sum(1 for s in result.standby if s.volunteer_ids),
    )


@router.post("/runs/{run_id}/repair")
def repair(
    run_id: PathId, posted: CenterChange, session: SessionDep, settings: SettingsDep
) -> Response:
    caller, _ = posted
    original = service.visible_run(session, caller, run_id)
    body = RepairIn.model_validate(
        {"engine": original.engine, "time_limit_s": original.time_limit_s}
    )
    run = service.create_repair(session, caller, run_id, body, settings)
    return RedirectResponse(f"/center/runs/{run.id}", status_code=303)

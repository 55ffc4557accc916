"""A planner's pages: the scenario catalog, a form to run a scenario (or sweep its parameters)
in the solving process, its live progress, and its report in the page: KPIs, charts, the
shortage diagnosis with remedies verified by re-solving, or a sweep's table and chart."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep
from api.errors import InvalidInput, NotFound
from api.models import RunStatus, ScenarioRunKind
from api.repositories import scenario_runs as repo
from api.schemas.common import PathId
from api.services import scenario_runs as service
from api.web import forms, plans
from api.web.i18n import N_
from api.web.routing import console_router
from api.web.security import PlannerChange, PlannerUser
from api.web.templating import language_of, render
from scenarios.kpis import SCALAR_KPIS

router = console_router("/planner")
# The report's KPI rows: (field, label in the page's language, format).
KPI_LABELS = {
    "slot_fill_rate": N_("Slot fill rate"),
    "priority_weighted_coverage": N_("Priority-weighted coverage"),
    "coverage": N_("Coverage (priority × slots)"),
    "bound": N_("Proven bound on coverage"),
    "travel_km_mean": N_("Mean travel (km)"),
    "travel_km_p95": N_("95th percentile travel (km)"),
    "volunteers_used": N_("Volunteers used"),
    "hours_served": N_("Hours served"),
    "hours_gini": N_("Spread of hours (Gini)"),
    "quotas_met": N_("Partner quotas met"),
    "quotas_hard_met": N_("Hard partner quotas met"),
    "unfilled_slots": N_("Unfilled slots"),
    "mandatory_unstaffed": N_("Mandatory requests unstaffed"),
    "solve_seconds": N_("Solve time (s)"),
}
ENGINES = (("optimal", N_("Best plan, with proof")), ("greedy", N_("First come, first served")))


def _defaults() -> dict[str, Any]:
    return {
        "scenario": "",
        "kind": "run",
        "scale": "",
        "seed": "",
        "time_limit_s": "",
        "engines": ["optimal", "greedy"],
        "overrides": "",
        "zipped": "",
        "remedies": "2",
    }


def _page(
    request: Request,
    caller: Any,
    session: Any,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return render(
        request,
        "planner/index.html",
        status,
        catalog=service.catalog(),
        runs=service.list_runs(session, caller),
        values=values,
        errors=errors,
        engines=ENGINES,
    )


@router.get("")
def index(
    request: Request, caller: PlannerUser, session: SessionDep, scenario: str | None = None
) -> Response:
    values = _defaults()
    if scenario:
        values["scenario"] = scenario
    return _page(request, caller, session, values, {})


def _optional_number(text: str, kind: type) -> Any:
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        return text


@router.post("/runs")
def start(request: Request, posted: PlannerChange, session: SessionDep) -> Response:
    caller, form = posted
    lang = language_of(request)
    values: dict[str, Any] = {
        k: forms.text(form, k)
        for k in (
            "scenario",
            "kind",
            "scale",
            "seed",
            "time_limit_s",
            "overrides",
            "zipped",
            "remedies",
        )
    }
    engines = [e for e in form.getlist("engines") if isinstance(e, str)]
    values["engines"] = engines
    errors: dict[str, str] = {}
    numbers = {}
    for name, number_type in (
        ("scale", float),
        ("seed", int),
        ("time_limit_s", float),
        ("remedies", int),
    ):
        parsed = _optional_number(values[name], number_type)
        if isinstance(parsed, str):
            errors[name] = lang.gettext(
                N_("Enter a number.") if number_type is float else N_("Enter a whole number.")
            )
        numbers[name] = parsed
    if not errors:
        kind = ScenarioRunKind.SWEEP if values["kind"] == "sweep" else ScenarioRunKind.RUN
        try:
            parameters = service.check_parameters(
                values["scenario"],
                kind,
                numbers["scale"],
                numbers["seed"],
                numbers["time_limit_s"],
                engines,
                str(values["overrides"]).splitlines(),
                bool(values["zipped"]),
                numbers["remedies"] if numbers["remedies"] is not None else 2,
            )
        except InvalidInput as exc:
            errors = forms.api_field_errors(lang, exc.fields)
        else:
            run = service.queue(session, caller, values["scenario"], kind, parameters)
            return RedirectResponse(f"/planner/runs/{run.id}", status_code=303)
    return _page(request, caller, session, values, errors, 422)


def _progress(found: Any) -> dict[str, Any]:
    return {"job": found, "active": found.status in (RunStatus.QUEUED, RunStatus.RUNNING)}


def _rows(report: dict[str, Any], lang: Any) -> list[tuple[str, list[str]]]:
    engines = report.get("engines", {})
    rows = []
    for field, _, pattern in SCALAR_KPIS:
        cells = []
        for kpis in engines.values():
            value = kpis.get(field)
            if value is None:
                cells.append("—")
            elif pattern.endswith("%}"):
                cells.append(f"{lang.number(value * 100, 1)} %")
            elif pattern == "{:d}":
                cells.append(lang.number(value, 0))
            else:
                cells.append(lang.number(value, 2 if "3f" in pattern or "2f" in pattern else 1))
        rows.append((lang.gettext(KPI_LABELS.get(field, field)), cells))
    return rows


@router.get("/runs/{run_id}")
def report(request: Request, run_id: PathId, caller: PlannerUser, session: SessionDep) -> Response:
    found = service.visible_run(session, caller, run_id)
    lang = language_of(request)
    data = found.report if found.status == RunStatus.SUCCEEDED else None
    context: dict[str, Any] = {
        "data": data,
        "charts": repo.chart_names(session, found.id) if data else [],
    }
    if data and found.kind == ScenarioRunKind.RUN:
        context["kpi_rows"] = _rows(data, lang)
        context["engine_names"] = list(data.get("engines", {}))
    return render(
        request, "planner/report.html", reason_names=plans.REASONS, **_progress(found), **context
    )


@router.get("/runs/{run_id}/progress")
def progress(
    request: Request, run_id: PathId, caller: PlannerUser, session: SessionDep
) -> Response:
    found = service.visible_run(session, caller, run_id)
    context = _progress(found)
    headers = {} if context["active"] else {"HX-Refresh": "true"}
    return render(request, "planner/_progress.html", headers=headers, **context)


@router.post("/runs/{run_id}/stop")
def stop(run_id: PathId, posted: PlannerChange, session: SessionDep) -> Response:
    caller, _ = posted
    service.stop(session, caller, run_id)
    return RedirectResponse(f"/planner/runs/{run_id}", status_code=303)


@router.get("/runs/{run_id}/charts/{name}")
def chart(run_id: PathId, name: str, caller: PlannerUser, session: SessionDep) -> Response:
    found = service.visible_run(session, caller, run_id)
    png = repo.chart(session, found.id, name)
    if png is None:
        raise NotFound(f"no chart {name!r}")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/runs/{run_id}/sweep.csv")
def sweep_csv(run_id: PathId, caller: PlannerUser, session: SessionDep) -> Response:
    found = service.visible_run(session, caller, run_id)
    data = found.report or {}
    if "csv" not in data:
        raise NotFound("this run has no sweep table")
    return Response(
        str(data["csv"]).encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{found.scenario}-sweep.csv"'},
    )

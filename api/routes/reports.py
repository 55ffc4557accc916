"""Reports: hours served (roster owners, admins), progress toward annual targets (roster owners,
admins) and supply and demand (planners, admins). Ranges take dates (whole local days of the
caller's organization, `to` inclusive) or times with offsets (`to` exclusive)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep, csv_attachment, require
from api.errors import ERROR_RESPONSES
from api.models import ROSTER_OWNERS, OrgKind, utc_now
from api.schemas.common import MAX_ID, QueryDayOrTime
from api.schemas.reports import HoursReport, SupplyDemandReport
from api.schemas.targets import TargetReport
from api.services import reports as service
from api.services import targets
from api.services.csv_export import Lang
from api.services.organizations import Caller
from api.services.periods import year_of

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=ERROR_RESPONSES)

HoursReaderDep = Annotated[Caller, Depends(require(*ROSTER_OWNERS, OrgKind.ADMIN))]
PlannerDep = Annotated[Caller, Depends(require(OrgKind.PLANNER, OrgKind.ADMIN))]
Start = Annotated[
    QueryDayOrTime,
    Query(
        alias="from",
        description="Range start: a date (the local day's start) or a time with offset.",
        examples=["2026-03-01"],
    ),
]
End = Annotated[
    QueryDayOrTime,
    Query(
        alias="to",
        description="Range end: a date (inclusive: to the local day's end) or a time with "
        "offset (exclusive).",
        examples=["2026-03-31"],
    ),
]
LangQuery = Annotated[
    Lang, Query(description="CSV headers: zh (Simplified Chinese, the default) or en.")
]
CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}


@router.get(
    "/hours",
    response_model=HoursReport,
    summary="Certified service hours per volunteer and per organization (the hours ledger)",
    responses={200: {"content": CSV_CONTENT}},
)
def hours(
    caller: HoursReaderDep,
    session: SessionDep,
    start: Start,
    end: End,
    format: Literal["json", "csv"] = Query(
        default="json", description="json, or csv (one line per volunteer)."
    ),
    lang: LangQuery = "zh",
) -> Response | HoursReport:
    """A roster owner sees its own volunteers with names and numbers; an admin sees every
    organization's totals and per-volunteer hours without names. Volunteers whose data were
    erased keep their hours under a pseudonymous id."""
    report = service.hours_report(session, caller, start, end)
    if format == "csv":
        return csv_attachment(service.hours_csv(report, lang), "hours")
    return report


@router.get(
    "/targets",
    response_model=TargetReport,
    summary="Progress toward annual hours targets; who is behind",
    responses={200: {"content": CSV_CONTENT}},
)
def target_progress(
    caller: HoursReaderDep,
    session: SessionDep,
    settings: SettingsDep,
    year: int | None = Query(
        default=None, ge=2000, le=2100, description="Target year; default the current one."
    ),
    behind: bool = Query(default=False, description="Only those behind (not on track)."),
    organization_id: int | None = Query(
        default=None, ge=1, le=MAX_ID, description="One organization (admin)."
    ),
    format: Literal["json", "csv"] = Query(
        default="json", description="json (one page), or csv (everyone)."
    ),
    lang: LangQuery = "zh",
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> Response | TargetReport:
    """Per person: target, hours served in the target year, remaining, expected by now and
    whether on track. The owner organization sees names; an admin sees ids only."""
    year = year or year_of(utc_now(), "01-01", caller.timezone)
    if format == "csv":
        text = targets.progress_csv(
            session, caller, year=year, organization_id=organization_id, behind=behind, lang=lang
        )
        return csv_attachment(text, f"targets-{year}")
    return targets.progress_page(
        session,
        caller,
        year=year,
        organization_id=organization_id,
        behind=behind,
        cursor=cursor,
        limit=min(limit, settings.max_page_size),
    )


@router.get(
    "/supply-demand", summary="Requested vs filled slots, and available hours (aggregates only)"
)
def supply_demand(
    caller: PlannerDep,
    session: SessionDep,
    start: Start,
    end: End,
    area: Literal["district", "grid"] = Query(
        default="district",
        description="Group by district (grid cell where a request has none) or by grid cell.",
    ),
    cell_km: float = Query(default=1.0, gt=0.1, le=50, description="Grid cell size."),
) -> SupplyDemandReport:
    return service.supply_demand(session, caller, start, end, area, cell_km)

"""Reports: the hours ledger (universities, admins) and supply and demand (planners, admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import AwareDatetime

from api.deps import SessionDep, require
from api.errors import ERROR_RESPONSES
from api.models import OrgKind
from api.schemas.reports import HoursReport, SupplyDemandReport
from api.services import reports as service
from api.services.organizations import Caller

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=ERROR_RESPONSES)

HoursReaderDep = Annotated[Caller, Depends(require(OrgKind.UNIVERSITY, OrgKind.ADMIN))]
PlannerDep = Annotated[Caller, Depends(require(OrgKind.PLANNER, OrgKind.ADMIN))]
Start = Annotated[
    AwareDatetime,
    Query(
        alias="from",
        description="Range start (with offset).",
        examples=["2026-03-01T00:00:00+08:00"],
    ),
]
End = Annotated[
    AwareDatetime,
    Query(alias="to", description="Range end, exclusive.", examples=["2026-07-01T00:00:00+08:00"]),
]


@router.get(
    "/hours",
    response_model=HoursReport,
    summary="Certified service hours per volunteer and per university (completed assignments)",
    responses={
        200: {
            "content": {
                "text/csv": {
                    "example": "university_id,volunteer_id,external_id,name,assignments,hours\n"
                }
            }
        }
    },
)
def hours(
    caller: HoursReaderDep,
    session: SessionDep,
    start: Start,
    end: End,
    format: Literal["json", "csv"] = Query(
        default="json", description="json, or csv (one line per volunteer)."
    ),
) -> Response | HoursReport:
    """A university sees its own volunteers with names and student numbers; an admin sees every
    university's totals and per-volunteer hours without names."""
    report = service.hours_report(session, caller, start, end)
    if format == "csv":
        return PlainTextResponse(service.hours_csv(report), media_type="text/csv")
    return report


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
    return service.supply_demand(session, start, end, area, cell_km)

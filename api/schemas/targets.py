"""Bodies of annual hours targets: progress per person."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from api.schemas.common import Page


class TargetProgress(BaseModel):
    volunteer_id: int
    organization_id: int
    external_id: str | None = Field(description="Only for the volunteer's own organization.")
    name: str | None = Field(description="Only for the volunteer's own organization.")
    period_start: date = Field(description="First day of the target year (local).")
    period_end: date = Field(description="Last day of the target year (local, inclusive).")
    target_hours: float = Field(description="The person's target, or their organization's.")
    served_hours: float = Field(description="Hours in the ledger within the target year.")
    remaining_hours: float = Field(description="Target less served, at least 0.")
    expected_hours: float = Field(
        description="Where the person should be by now: the target times the share of the "
        "year gone by (the whole target once the year is over)."
    )
    on_track: bool = Field(description="Served at least the expected hours.")


class TargetReport(Page[TargetProgress]):
    """Progress toward annual targets, one page of people in id order."""

    year: int
    as_of: datetime

"""Bodies of the reports: the hours ledger and supply and demand."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.organizations import OrgKindName

DayPart = Literal["morning", "afternoon", "evening"]


class VolunteerHours(BaseModel):
    university_id: int = Field(description="The roster owner (university, law firm, community).")
    volunteer_id: int
    external_id: str | None = Field(description="Only for the volunteer's own organization.")
    name: str | None = Field(description="Only for the volunteer's own organization.")
    pseudonym: str | None = Field(
        description="The pseudonymous id of a volunteer whose personal data were erased."
    )
    assignments: int = Field(description="Completed assignments.")
    hours: float = Field(description="Hours in the ledger: completions and corrections.")


class UniversityHours(BaseModel):
    university_id: int = Field(description="The roster owner (university, law firm, community).")
    university: str = Field(description="Its name.")
    kind: OrgKindName
    volunteers: int
    assignments: int
    hours: float


class HoursReport(BaseModel):
    """The hours ledger's entries of requests that start in [start, end)."""

    start: datetime
    end: datetime
    volunteers: list[VolunteerHours]
    universities: list[UniversityHours]


class DemandRow(BaseModel):
    service_type: str
    skill: str = Field(
        description="A required skill, or `(none)`; a request counts once per skill."
    )
    area: str = Field(description="District, or a grid cell `lat,lon` (south-west corner).")
    day_part: DayPart = Field(
        description="Local start time: morning < 12:00 <= afternoon < 18:00 <= evening."
    )
    requests: int
    requested_slots: int
    assigned_slots: int = Field(description="Held: proposed, confirmed, checked in or completed.")
    confirmed_slots: int = Field(description="Confirmed, checked in or completed.")


class SupplyRow(BaseModel):
    skill: str = Field(description="A skill, or `(any)` for every volunteer.")
    day_part: DayPart
    volunteers: int
    available_hours: float


class SupplyDemandReport(BaseModel):
    """Aggregates only: no volunteer, no request text, no personal data."""

    start: datetime
    end: datetime
    area: Literal["district", "grid"]
    demand: list[DemandRow]
    supply: list[SupplyRow]

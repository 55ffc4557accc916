"""Bodies of the volunteer endpoints: one volunteer in and out, import results, CSV columns."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.assignments import AssignmentOut
from api.schemas.audit import AuditEventOut
from api.schemas.certificates import CertificateOut
from api.schemas.common import StrictModel
from api.schemas.ledger import HourEntryOut
from api.schemas.match_runs import StandbyOut
from api.schemas.organizations import OrganizationBrief
from api.schemas.webhooks import DeliveryOut
from matcher.model import AttributeValue, Interval, Location

WEEKLY_PATTERN_HELP = (
    'Weekly patterns such as "Tue 14:00-18:00" or "Mon,Wed 09:00-12:00" (days Mon..Sun), '
    "expanded over every date from `start_date` to `end_date` (inclusive) in `timezone`."
)


class WeeklyAvailability(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "patterns": ["Tue 14:00-18:00", "Sat 09:00-12:00"],
                    "start_date": "2026-03-02",
                    "end_date": "2026-06-30",
                }
            ]
        }
    )
    patterns: list[str] = Field(
        min_length=1, description=WEEKLY_PATTERN_HELP, examples=[["Tue 14:00-18:00"]]
    )
    start_date: date
    end_date: date
    timezone: str | None = Field(
        default=None,
        description="IANA zone; default the organization's.",
        examples=["Asia/Shanghai"],
    )


class VolunteerFields(StrictModel):
    """What a roster owner may set on a volunteer (everything except the external id)."""

    name: str | None = Field(default=None, max_length=200, examples=["Li Wei"])
    phone: str | None = Field(default=None, max_length=50, examples=["+86 138 0000 0000"])
    email: str | None = Field(default=None, max_length=200, examples=["li.wei@example.edu"])
    address: str | None = Field(
        default=None,
        max_length=500,
        description="Home address; geocoded when `location` is absent and geocoding is on.",
    )
    location: Location | None = Field(default=None, description="Home, in WGS84 degrees.")
    district: str | None = Field(default=None, max_length=100)
    skills: list[str] = Field(default_factory=list, examples=[["smartphone_teaching"]])
    languages: list[str] = Field(default_factory=list, examples=[["zh", "en"]])
    attributes: dict[str, AttributeValue] = Field(default_factory=dict, examples=[{"gender": "f"}])
    availability: list[Interval] = Field(
        default_factory=list, description="Intervals with UTC offsets."
    )
    weekly: WeeklyAvailability | None = Field(
        default=None, description="Added to `availability`, expanded over a date range."
    )
    max_hours: float | None = Field(default=None, gt=0, le=168)
    max_travel_km: float | None = Field(default=None, ge=0, le=500)
    max_assignments: int | None = Field(default=None, ge=1, le=1000)
    target_hours: float | None = Field(
        default=None,
        ge=0,
        le=2000,
        description="Annual service hours target of this person; default the organization's.",
    )
    preferences: dict[str, float] = Field(
        default_factory=dict,
        description="Liking per service type.",
        examples=[{"elderly_visit": 1.0}],
    )


class VolunteerIn(VolunteerFields):
    external_id: str = Field(
        min_length=1,
        max_length=100,
        description="The student, staff or member number, unique within the organization.",
        examples=["2023-0147"],
    )


class VolunteerPatch(StrictModel):
    """Fields to change; absent fields keep their value. `availability` and `weekly` together
    replace the availability."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"phone": "+86 138 0000 0002", "max_hours": 6}]}
    )

    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    location: Location | None = None
    district: str | None = Field(default=None, max_length=100)
    skills: list[str] | None = None
    languages: list[str] | None = None
    attributes: dict[str, AttributeValue] | None = None
    availability: list[Interval] | None = None
    weekly: WeeklyAvailability | None = None
    max_hours: float | None = Field(default=None, gt=0, le=168)
    max_travel_km: float | None = Field(default=None, ge=0, le=500)
    max_assignments: int | None = Field(default=None, ge=1, le=1000)
    target_hours: float | None = Field(default=None, ge=0, le=2000)
    preferences: dict[str, float] | None = None


class Personal(BaseModel):
    """Only for the volunteer's own roster owner (university, law firm, community)."""

    name: str | None
    phone: str | None
    email: str | None
    address: str | None
    location: Location


class VolunteerOut(BaseModel):
    id: int
    university_id: int
    external_id: str
    district: str | None
    skills: list[str]
    languages: list[str]
    attributes: dict[str, AttributeValue]
    availability: list[Interval]
    max_hours: float | None
    max_travel_km: float | None
    max_assignments: int | None
    target_hours: float | None
    preferences: dict[str, float]
    created_at: datetime
    updated_at: datetime
    personal: Personal | None = Field(
        default=None,
        description="Name, contact and home: only for the volunteer's own organization.",
    )


class ImportedVolunteer(BaseModel):
    external_id: str
    id: int


class ImportResult(BaseModel):
    created: int
    updated: int
    volunteers: list[ImportedVolunteer]


class VolunteerExport(BaseModel):
    """Everything the service stores about one person."""

    exported_at: datetime
    organization: OrganizationBrief
    volunteer: VolunteerOut
    assignments: list[AssignmentOut]
    hour_entries: list[HourEntryOut] = Field(description="The hours ledger's lines of the person.")
    certificates: list[CertificateOut]
    audit: list[AuditEventOut] = Field(
        description="Changes to the person's record and assignments (personal fields redacted)."
    )
    standby: list[StandbyOut] = Field(description="Where the person was named standby.")
    messages: list[DeliveryOut] = Field(
        description="Emails and text messages to the person (when, about what, and how they "
        "went; their text is never stored)."
    )
    calendar_feed: bool = Field(description="Whether the person has a private calendar feed.")

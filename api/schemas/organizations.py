"""Bodies of the organization and API key endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import StrictModel

OrgKindName = Literal["center", "university", "law_firm", "community", "planner", "admin"]


class OrganizationIn(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Yanta District Volunteer Center", "kind": "center"}]
        }
    )
    name: str = Field(min_length=1, max_length=200, examples=["Yanta District Volunteer Center"])
    kind: OrgKindName = Field(
        description="center: submits requests and runs the matcher; university, law_firm, "
        "community: register volunteers (students, lawyers, grid members and party-member "
        "teams) and answer for them; planner: reads aggregates; admin: manages organizations."
    )
    timezone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA time zone for weekly availability patterns; default the service's.",
        examples=["Asia/Shanghai"],
    )


class OrganizationBrief(BaseModel):
    id: int
    name: str
    kind: OrgKindName


class OrganizationOut(OrganizationBrief):
    timezone: str
    created_at: datetime
    target_hours: float | None = Field(
        description="Annual hours target of each volunteer (roster owners); a person's own "
        "target overrides it."
    )
    target_period_start: str = Field(description="First day (MM-DD) of the target year.")


class TargetIn(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"hours": 24, "period_start": "01-01"}]}
    )
    hours: float | None = Field(
        ge=0, le=2000, description="Hours a year per volunteer; null removes the target."
    )
    period_start: str = Field(
        default="01-01",
        pattern=r"^\d{2}-\d{2}$",
        description="First day of the target year (MM-DD, local): 01-01 is the calendar year.",
    )


class KeyIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"label": "roster upload script"}]})
    label: str | None = Field(default=None, max_length=200, examples=["roster upload script"])


class KeyOut(BaseModel):
    id: int
    prefix: str = Field(description="The key's public first part, to tell keys apart.")
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class NewKey(BaseModel):
    """A key is shown once, here; the service stores only its hash."""

    key: KeyOut
    secret: str = Field(description="The bearer token: `Authorization: Bearer <secret>`.")


class OrganizationCreated(BaseModel):
    organization: OrganizationOut
    api_key: NewKey


class OrganizationSettings(BaseModel):
    """What an organization decides for itself. Center settings apply to centers, roster-owner
    settings to universities, law firms and communities; the contact is shown to volunteers (a
    center's, on its work)."""

    contact_name: str | None = Field(
        default=None, max_length=200, description="Whom volunteers call.", examples=["王老师"]
    )
    contact_phone: str | None = Field(
        default=None, max_length=50, description="The number volunteers call.",
        examples=["029-8888 0000"],
    )  # fmt: skip
    standby_per_request: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Center: standby volunteers named per request at publication (a publish "
        "may ask for another number); requests whose volunteers often miss their work get more.",
    )
    auto_promote_standby: bool = Field(
        default=True,
        description="Center: on a decline or cancellation, the first standby still free and "
        "qualified is proposed the work and told.",
    )
    auto_repair: bool = Field(
        default=False,
        description="Center: on a decline or cancellation that no standby fills, a repair run "
        "of the published run is queued.",
    )
    no_show_after_min: int | None = Field(
        default=30,
        ge=1,
        le=1440,
        description="Center: a confirmed assignment not checked in this many minutes after its "
        "start becomes `no_show`; null: never automatically.",
    )
    volunteers_edit_availability: bool = Field(
        default=False,
        description="University, law firm or community: its volunteers may replace their weekly "
        "availability through their link.",
    )


CENTER_SETTINGS = frozenset(
    {"standby_per_request", "auto_promote_standby", "auto_repair", "no_show_after_min"}
)
ROSTER_OWNER_SETTINGS = frozenset({"volunteers_edit_availability"})


class SettingsPatch(StrictModel):
    """Settings to change; absent fields keep their value."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"contact_phone": "029-8888 0000", "standby_per_request": 2}]
        }
    )
    contact_name: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=50)
    standby_per_request: int | None = Field(default=None, ge=0, le=10)
    auto_promote_standby: bool | None = None
    auto_repair: bool | None = None
    no_show_after_min: int | None = Field(default=None, ge=1, le=1440)
    volunteers_edit_availability: bool | None = None

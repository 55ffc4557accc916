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

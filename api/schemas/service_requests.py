"""Bodies of the service request endpoints: the FORMAT.md request fields plus title,
description, address, district and status."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schemas.common import StrictModel
from matcher.model import AttributeValue, Location, _check_end_after_start

MAX_REQUEST_HOURS = 24
RequestStatusName = Literal["open", "cancelled", "filled", "done"]


class RequestIn(StrictModel):
    external_id: str | None = Field(
        default=None, max_length=100, description="The center's own reference."
    )
    title: str = Field(min_length=1, max_length=200, examples=["Smartphone class for seniors"])
    description: str | None = Field(default=None, max_length=5000)
    bring: str | None = Field(
        default=None,
        max_length=500,
        description="What the volunteer should bring; shown on their link page, in messages "
        "and in their calendar.",
        examples=["身份证、志愿者马甲"],
    )
    address: str | None = Field(
        default=None,
        max_length=500,
        description="Geocoded when `location` is absent and geocoding is on.",
    )
    location: Location | None = None
    district: str | None = Field(default=None, max_length=100, examples=["Yanta"])
    service_type: str = Field(min_length=1, max_length=100, examples=["smartphone_tutoring"])
    start: AwareDatetime = Field(examples=["2026-03-03T14:00:00+08:00"])
    end: AwareDatetime = Field(examples=["2026-03-03T16:00:00+08:00"])
    required_skills: list[str] = Field(default_factory=list, examples=[["smartphone_teaching"]])
    languages: list[str] = Field(
        default_factory=list, description="If not empty, a volunteer must speak one."
    )
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict, description="Must equal the volunteer's."
    )
    volunteers_needed: int = Field(default=1, ge=1, le=1000)
    min_volunteers: int = Field(default=1, ge=1, le=1000)
    priority: int = Field(default=1, ge=1, le=100, description="Weight of each filled slot.")
    mandatory: bool = False

    _end_after_start = field_validator("end")(_check_end_after_start)

    @model_validator(mode="after")
    def _headcount_and_length(self) -> Self:
        if self.min_volunteers > self.volunteers_needed:
            raise ValueError(
                f"min_volunteers ({self.min_volunteers}) exceeds volunteers_needed ({self.volunteers_needed})"
            )
        if (self.end - self.start).total_seconds() > MAX_REQUEST_HOURS * 3600:
            raise ValueError(f"a request lasts at most {MAX_REQUEST_HOURS} hours")
        return self


class RequestPatch(StrictModel):
    """Text, what to bring, priority and status. Times, place and requirements are fixed once submitted:
    cancel the request and submit a new one to change them."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "cancelled"}]})

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    bring: str | None = Field(default=None, max_length=500)
    priority: int | None = Field(default=None, ge=1, le=100)
    status: Literal["cancelled", "done"] | None = Field(
        default=None,
        description="cancelled (cancels its proposed and confirmed assignments) or done "
        "(once every assignment is completed).",
    )


class RequestOut(BaseModel):
    id: int
    center_id: int
    external_id: str | None
    title: str
    description: str | None
    bring: str | None
    address: str | None
    location: Location
    district: str | None
    service_type: str
    start: datetime
    end: datetime
    required_skills: list[str]
    languages: list[str]
    attributes: dict[str, AttributeValue]
    volunteers_needed: int
    min_volunteers: int
    priority: int
    mandatory: bool
    status: RequestStatusName
    assigned: int = Field(description="Assignments that hold a volunteer (proposed to completed).")
    created_at: datetime
    updated_at: datetime


class RequestBatchResult(BaseModel):
    created: int
    requests: list[RequestOut]

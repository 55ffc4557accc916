"""Bodies of the service request endpoints: the FORMAT.md request fields plus title,
description, address, district and status.

A request gives a fixed `start` and `end`, or (format v1.1) a flexible visit's window
(`earliest_start`, `latest_end`) and `duration` in minutes: the plan chooses the start, one for
the whole team. The window's rules are the matcher's own validators (`matcher.model.Request`), so
the service rejects exactly what a solve would."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from api.schemas.common import StrictModel
from matcher.model import AttributeValue, Location, _check_end_after_start
from matcher.model import Request as MatcherRequest

MAX_REQUEST_HOURS = 24
RequestStatusName = Literal["open", "cancelled", "filled", "done"]
# The matcher's rules of a request's times and team, applied to the same field names here.
_RULES = MatcherRequest.__pydantic_decorators__


def _matcher_field_rule(name: str) -> Callable[[Any, ValidationInfo], Any]:
    rule = _RULES.field_validators[name].func
    with_info = len(inspect.signature(rule).parameters) == 2

    def check(value: Any, info: ValidationInfo) -> Any:
        return rule(value, info) if with_info else rule(value)

    return check


def _fixed_or_flexible(request: Any) -> None:
    _RULES.model_validators["_fixed_or_flexible"].func(request)


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
    start: AwareDatetime | None = Field(
        default=None,
        description="A fixed start; a flexible visit gives `earliest_start`, `latest_end` and "
        "`duration` instead.",
        examples=["2026-03-03T14:00:00+08:00"],
    )
    end: AwareDatetime | None = Field(default=None, examples=["2026-03-03T16:00:00+08:00"])
    earliest_start: AwareDatetime | None = Field(
        default=None,
        description="A flexible visit (format v1.1): the service starts no earlier.",
        examples=["2026-03-03T09:00:00+08:00"],
    )
    latest_end: AwareDatetime | None = Field(
        default=None,
        description="A flexible visit: the service ends no later, the same local day.",
        examples=["2026-03-03T12:00:00+08:00"],
    )
    duration: float | None = Field(
        default=None,
        gt=0,
        le=MAX_REQUEST_HOURS * 60,
        allow_inf_nan=False,
        description="A flexible visit: minutes of service; the plan chooses the start.",
        examples=[90],
    )
    same_attributes: list[str] = Field(
        default_factory=list,
        description="Attribute keys the whole team shares, with one common value (`gender`: "
        "two helpers of the same gender); needs volunteers_needed 2 or more.",
        examples=[["gender"]],
    )
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

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        return None if end is None else _check_end_after_start(cls, end, info)

    _window_within_a_day = field_validator("latest_end")(
        _matcher_field_rule("_window_within_a_day")
    )
    _duration_fits_window = field_validator("duration")(
        _matcher_field_rule("_duration_fits_window")
    )
    _no_empty_attribute = field_validator("attributes")(
        _matcher_field_rule("_no_empty_attribute")
    )

    @model_validator(mode="after")
    def _headcount_and_length(self) -> Self:
        if self.min_volunteers > self.volunteers_needed:
            raise ValueError(
                f"min_volunteers ({self.min_volunteers}) exceeds volunteers_needed ({self.volunteers_needed})"
            )
        _fixed_or_flexible(self)
        if self.start and self.end and self.end - self.start > timedelta(hours=MAX_REQUEST_HOURS):
            raise ValueError(f"a request lasts at most {MAX_REQUEST_HOURS} hours")
        return self

    @property
    def flexible(self) -> bool:
        return self.duration is not None

    @property
    def window(self) -> tuple[datetime, datetime]:
        """Start and end of a fixed request, the window of a flexible one."""
        start, end = (
            (self.earliest_start, self.latest_end) if self.flexible else (self.start, self.end)
        )
        assert start is not None and end is not None  # one form is complete (validated)
        return start, end


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
    start: datetime | None = Field(description="A fixed request's start (absent when flexible).")
    end: datetime | None
    earliest_start: datetime | None = Field(description="A flexible visit's window and duration.")
    latest_end: datetime | None
    duration: float | None = Field(description="Minutes of a flexible visit.")
    same_attributes: list[str]
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

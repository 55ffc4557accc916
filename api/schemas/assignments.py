"""Bodies of the assignment endpoints: an assignment, its lifecycle actions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import StrictModel
from matcher.model import Location

AssignmentStatusName = Literal[
    "proposed", "confirmed", "declined", "cancelled", "checked_in", "completed", "no_show"
]


class Contact(BaseModel):
    """For the volunteer's roster owner, and for the request's center while the volunteer holds
    it."""

    name: str | None
    phone: str | None


class Attendance(BaseModel):
    """How often the volunteer showed up for work that has ended: for their roster owner, and
    for a center on assignments the volunteer holds."""

    shows: int = Field(description="Assignments checked in or completed.")
    no_shows: int
    show_rate: float | None = Field(description="shows / (shows + no_shows); null before any.")


class RequestBrief(BaseModel):
    id: int
    center_id: int
    title: str
    service_type: str
    address: str | None
    location: Location
    start: datetime = Field(
        description="When the work starts: the request's start, or a flexible visit's chosen "
        "start (one for the whole team)."
    )
    end: datetime = Field(description="When the work ends (a flexible visit: start + duration).")


class AssignmentOut(BaseModel):
    id: int
    run_id: int
    volunteer_id: int
    volunteer_pseudonym: str | None = Field(
        default=None,
        description="The pseudonymous id of a volunteer whose personal data were erased.",
    )
    status: AssignmentStatusName
    distance_km: float
    reason: str | None = Field(description="Why it was declined or cancelled.")
    hours_served: float | None
    request: RequestBrief
    contact: Contact | None = None
    attendance: Attendance | None = None
    created_at: datetime
    updated_at: datetime


class DeclineIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "exam that afternoon"}]})
    reason: str = Field(min_length=1, max_length=500, examples=["exam that afternoon"])


class CancelIn(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "the volunteer called in sick"}]}
    )
    reason: str = Field(min_length=1, max_length=500, examples=["the volunteer called in sick"])


class CompleteIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"hours_served": 2.5}]})
    hours_served: float | None = Field(
        default=None, gt=0, le=24, description="Default: the request's duration."
    )

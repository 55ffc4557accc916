"""Bodies of the volunteer's own endpoints, reached through their link (no key)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.assignments import AssignmentOut, AssignmentStatusName, Attendance
from matcher.model import Interval, Location


class CenterContact(BaseModel):
    """Who runs the work, and whom to call."""

    center_id: int
    name: str
    contact_name: str | None
    contact_phone: str | None


class LinkAssignmentOut(AssignmentOut):
    """The assignment behind a volunteer's link: what, where, when, what to bring, and who to
    call."""

    center: CenterContact
    description: str | None = Field(description="The center's notes for the volunteers.")
    bring: str | None = Field(description="What to bring.")
    expires_at: datetime = Field(
        description="The link stops working then (some days after the work ends)."
    )
    can_edit_availability: bool = Field(
        description="Whether the volunteer's roster owner lets them change their weekly "
        "availability through this link."
    )


class ScheduledWork(BaseModel):
    assignment_id: int
    status: AssignmentStatusName
    title: str
    service_type: str
    address: str | None
    location: Location
    start: datetime
    end: datetime
    bring: str | None
    center: CenterContact
    link: str | None = Field(
        description="The volunteer's own link to this work, where links are derived "
        "(`VOLMATCH_LINK_SECRET`); else null."
    )


class Served(BaseModel):
    assignments: int = Field(description="Completed assignments.")
    hours: float = Field(description="Hours served in them.")


class ServedPeriod(Served):
    """What was served in work starting from `start` to `end` (inclusive dates, in the
    volunteer's university's time zone)."""

    period: Literal["term", "year"] = Field(
        description="term: the spring (February to July) or autumn (August to January) term; "
        "year: the calendar year."
    )
    start: date
    end: date


class Schedule(BaseModel):
    """The volunteer's coming work (proposed, confirmed, under way) and what they have served:
    in all, this term and this year."""

    upcoming: list[ScheduledWork]
    served: Served
    periods: list[ServedPeriod]
    attendance: Attendance


class AvailabilityResult(BaseModel):
    windows: list[Interval] = Field(description="The availability written for the date range.")
    outside: list[int] = Field(
        description="Assignments the volunteer holds that the new availability no longer "
        "covers: decline them if you cannot do them."
    )


class CalendarFeed(BaseModel):
    """A private calendar feed of the volunteer's work; the token is shown once, here."""

    token: str
    url: str = Field(description="Subscribe to it in a phone's calendar (webcal or https).")

"""Bodies of the hours ledger: its entries, and a correction of completed hours."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import StrictModel


class HourEntryOut(BaseModel):
    """One ledger line: a completion, or a correction by the difference it makes."""

    id: int
    volunteer_id: int
    organization_id: int
    assignment_id: int
    center_id: int
    served_at: datetime = Field(description="The request's start.")
    hours: float
    kind: Literal["completion", "correction"]
    reason: str | None
    created_at: datetime


class LedgerLine(HourEntryOut):
    """A ledger line with what it was for, as a volunteer's page shows it."""

    title: str
    center: str


class HoursCorrectionIn(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"hours_served": 3, "reason": "stayed an hour longer"}]}
    )
    hours_served: float = Field(gt=0, le=24, description="The right hours of the assignment.")
    reason: str = Field(min_length=1, max_length=500, examples=["stayed an hour longer"])

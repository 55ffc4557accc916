"""Bodies of the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

EntityType = Literal[
    "organization",
    "api_key",
    "volunteer",
    "request",
    "match_run",
    "assignment",
    "standby",
    "certificate",
    "webhook",
    "delivery",
    "user",
    "scenario_run",
]


class Actor(BaseModel):
    kind: Literal["api_key", "user", "link", "system"]
    id: str | None = Field(
        description="The key's id, the user's id, the assignment of the link, or the system's "
        "part (worker, scheduler, retention, cli, demo)."
    )
    organization_id: int | None


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor: Actor
    organization_id: int | None = Field(description="The organization owning the entity.")
    partner_organization_id: int | None = Field(
        description="Another organization concerned (the volunteer's, on an assignment)."
    )
    entity_type: EntityType
    entity_id: int | None
    action: str
    before: dict[str, Any] | None = Field(
        description="The changed fields before; personal fields read `[redacted]`."
    )
    after: dict[str, Any] | None

"""The audit trail: admins read every event, an organization the events that concern it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import CallerDep, SessionDep, SettingsDep, json_of
from api.errors import ERROR_RESPONSES
from api.schemas.audit import AuditEventOut, EntityType
from api.schemas.common import MAX_ID, Page, QueryDayOrTime
from api.services import audit as service

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=ERROR_RESPONSES)


@router.get(
    "",
    response_model=Page[AuditEventOut],
    summary="State changes, oldest first (admin: all; an organization: what concerns it)",
)
def list_events(
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    entity_type: EntityType | None = None,
    entity_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    action: str | None = Query(default=None, max_length=40, examples=["completed"]),
    start: Annotated[
        QueryDayOrTime | None,
        Query(alias="from", description="From this date (local day) or time."),
    ] = None,
    end: Annotated[
        QueryDayOrTime | None,
        Query(alias="to", description="To this date (inclusive) or time (exclusive)."),
    ] = None,
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> Response:
    """Who (API key, console user, volunteer link or the system), what (entity, id, action),
    when, and the changed fields before and after; personal fields read `[redacted]`."""
    return json_of(
        service.list_visible(
            session,
            caller,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            start=start,
            end=end,
            cursor=cursor,
            limit=min(limit, settings.max_page_size),
        )
    )

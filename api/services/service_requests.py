"""Service requests: all-or-nothing batches from centers, their status, and who sees them.

Status `open` and `filled` follow the request's assignments (filled when as many volunteers hold
it as it needs); `cancelled` and `done` are set by the center and are final. Every change is
audited (`api.services.audit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from api.errors import Conflict, FieldError, InvalidInput, NotFound
from api.models import (
    AssignmentStatus,
    OrgKind,
    RequestStatus,
    ServiceRequest,
    in_offset,
    offset_minutes,
    utc_now,
)
from api.pagination import decode_cursor, next_cursor
from api.repositories import assignments as assignment_repo
from api.repositories import service_requests as repo
from api.schemas.common import Page
from api.schemas.service_requests import RequestBatchResult, RequestIn, RequestOut, RequestPatch
from api.services import events
from api.services.audit import Actor, Change, diff, record
from api.services.geocoding import Geocoder, locate_rows
from api.services.organizations import Caller
from api.settings import Settings
from matcher.model import Location


def submit_batch(
    session: Session, caller: Caller, rows: Sequence[RequestIn], geocoder: Geocoder
) -> RequestBatchResult:
    """Locate every request (coordinates or geocoded address), then write them all, or none."""
    locations, problems = locate_rows(
        session,
        geocoder,
        [row.location for row in rows],
        [row.address for row in rows],
        lambda i, name: ["body", i, name],
    )
    if problems:
        raise InvalidInput(
            f"{len(problems)} request(s) rejected; nothing was written", fields=problems
        )
    now = utc_now()
    ids = repo.insert_requests(
        session,
        [
            {
                "center_id": caller.org_id,
                "external_id": row.external_id,
                "title": row.title,
                "description": row.description,
                "bring": row.bring,
                "address": row.address,
                "district": row.district,
                "lat": loc.lat,
                "lon": loc.lon,
                "service_type": row.service_type,
                "start_at": row.window[0],
                "end_at": row.window[1],
                "offset_min": offset_minutes(row.window[0]),
                "duration_min": row.duration,
                "same_attributes": list(dict.fromkeys(row.same_attributes)),
                "required_skills": list(dict.fromkeys(row.required_skills)),
                "languages": list(dict.fromkeys(row.languages)),
                "attributes": dict(row.attributes),
                "volunteers_needed": row.volunteers_needed,
                "min_volunteers": row.min_volunteers,
                "priority": row.priority,
                "mandatory": row.mandatory,
                "status": RequestStatus.OPEN,
                "created_at": now,
                "updated_at": now,
            }
            for row, loc in zip(rows, locations, strict=True)
            if loc is not None
        ],
    )
    created = repo.requests_by_ids(session, ids)
    record(
        session,
        Actor.of(caller),
        [
            Change(
                "request",
                r.id,
                "created",
                r.center_id,
                after={
                    "title": r.title,
                    "service_type": r.service_type,
                    "start": r.start_at,
                    "end": r.end_at,
                    **({"duration_min": r.duration_min} if r.duration_min is not None else {}),
                    "volunteers_needed": r.volunteers_needed,
                    "priority": r.priority,
                },
            )
            for r in created
        ],
    )
    return RequestBatchResult(created=len(created), requests=[to_out(r, 0) for r in created])


def visible_request(session: Session, caller: Caller, request_id: int) -> ServiceRequest:
    """A request the caller may read: its center's, or any for an admin."""
    request = repo.get_request(session, request_id)
    if request is None or not caller.reads(request.center_id):
        raise NotFound(f"no request {request_id}")
    return request


def request_out(session: Session, request: ServiceRequest) -> RequestOut:
    counts = assignment_repo.active_counts_by_request(session, [request.id])
    return to_out(request, counts.get(request.id, 0))


def list_visible(
    session: Session,
    caller: Caller,
    *,
    center_id: int | None,
    status: str | None,
    service_type: str | None,
    starts_from: datetime | None,
    starts_before: datetime | None,
    cursor: str | None,
    limit: int,
    search: str | None = None,
) -> Page[RequestOut]:
    """A page of the requests the caller may see; `search` finds words in the title, address
    or district (the console's search box)."""
    if caller.kind is not OrgKind.ADMIN:
        if center_id is not None and center_id != caller.org_id:
            return Page(items=[])
        center_id = caller.org_id
    page = repo.list_requests(
        session,
        center_id=center_id,
        status=status,
        service_type=service_type,
        starts_from=starts_from,
        starts_before=starts_before,
        after_id=decode_cursor(cursor),
        limit=limit,
        search=search,
    )
    counts = assignment_repo.active_counts_by_request(session, [r.id for r in page])
    return Page(
        items=[to_out(r, counts.get(r.id, 0)) for r in page],
        next_cursor=next_cursor([r.id for r in page], limit),
    )


def service_types(session: Session, caller: Caller) -> list[str]:
    return repo.service_types(session, None if caller.kind is OrgKind.ADMIN else caller.org_id)


def update_request(
    session: Session, settings: Settings, caller: Caller, request_id: int, patch: RequestPatch
) -> ServiceRequest:
    request = visible_request(session, caller, request_id)
    if caller.kind is not OrgKind.CENTER:
        raise NotFound(f"no request {request_id}")
    changes = patch.model_dump(exclude_unset=True)
    if request.status in (RequestStatus.CANCELLED, RequestStatus.DONE):
        raise Conflict(f"the request is {request.status}; it can no longer change")
    actor = Actor.of(caller)
    before = _audited(request)
    for name in ("title", "description", "bring", "priority"):
        if name in changes:
            if changes[name] is None and name not in ("description", "bring"):
                raise InvalidInput(
                    f"{name} cannot be null",
                    fields=[FieldError(loc=["body", name], msg="may not be null")],
                )
            setattr(request, name, changes[name])
    new_status = changes.get("status")
    if new_status == RequestStatus.CANCELLED:
        cancel_request(session, settings, request, actor)
    elif new_status == RequestStatus.DONE:
        pending = assignment_repo.count_for_request(
            session,
            request.id,
            (AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED, AssignmentStatus.CHECKED_IN),
        )
        if pending:
            raise Conflict(
                f"{pending} assignment(s) of the request are not completed; complete or cancel them first"
            )
        request.status = RequestStatus.DONE
    request.updated_at = utc_now()
    old, new = diff(before, _audited(request))
    if new:
        action = {RequestStatus.CANCELLED: "cancelled", RequestStatus.DONE: "done"}.get(
            RequestStatus(request.status), "updated"
        )
        record(
            session,
            actor,
            [Change("request", request.id, action, request.center_id, before=old, after=new)],
        )
    return request


def _audited(request: ServiceRequest) -> dict[str, object]:
    return {
        "title": request.title,
        "description": request.description,
        "bring": request.bring,
        "priority": request.priority,
        "status": request.status,
    }


def cancel_request(
    session: Session, settings: Settings, request: ServiceRequest, actor: Actor
) -> None:
    """Cancel the request and the assignments that still wait for it (their volunteers are
    told)."""
    if assignment_repo.count_for_request(
        session, request.id, (AssignmentStatus.CHECKED_IN, AssignmentStatus.COMPLETED)
    ):
        raise Conflict("volunteers have checked in to this request; mark it done instead")
    told: list[events.Event] = []
    changes = []
    for assignment in assignment_repo.for_requests(
        session, [request.id], (AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED)
    ):
        changes.append(
            Change(
                "assignment",
                assignment.id,
                "cancelled",
                request.center_id,
                assignment.volunteer.university_id,
                before={"status": assignment.status},
                after={"status": AssignmentStatus.CANCELLED, "reason": "the request was cancelled"},
            )
        )
        assignment.status = AssignmentStatus.CANCELLED
        assignment.reason = "the request was cancelled"
        assignment.updated_at = utc_now()
        told.append(events.assignment_event(events.EventType.ASSIGNMENT_CANCELLED, assignment))
    events.record(session, settings, told)
    record(session, actor, changes)
    request.status = RequestStatus.CANCELLED


def refresh_fill_status(session: Session, request_ids: Sequence[int], actor: Actor) -> None:
    """`filled` when the active assignments reach `volunteers_needed`, else `open` (for
    requests that are neither cancelled nor done); each change audited."""
    counts = assignment_repo.active_counts_by_request(session, request_ids)
    changes = []
    for request in repo.requests_by_ids(session, list(request_ids)):
        if request.status in (RequestStatus.OPEN, RequestStatus.FILLED):
            full = counts.get(request.id, 0) >= request.volunteers_needed
            status = RequestStatus.FILLED if full else RequestStatus.OPEN
            if status != request.status:
                changes.append(
                    Change(
                        "request",
                        request.id,
                        "filled" if full else "reopened",
                        request.center_id,
                        before={"status": request.status},
                        after={"status": status},
                    )
                )
                request.status = status
    record(session, actor, changes)


def to_out(request: ServiceRequest, assigned: int) -> RequestOut:
    """The request as shown: `start`/`end` of a fixed one, the window and duration of a
    flexible visit (the plan's chosen start is on its assignments)."""
    flexible = request.duration_min is not None
    first = in_offset(request.start_at, request.offset_min)
    last = in_offset(request.end_at, request.offset_min)
    return RequestOut(
        id=request.id,
        center_id=request.center_id,
        external_id=request.external_id,
        title=request.title,
        description=request.description,
        bring=request.bring,
        address=request.address,
        location=Location(lat=request.lat, lon=request.lon),
        district=request.district,
        service_type=request.service_type,
        start=None if flexible else first,
        end=None if flexible else last,
        earliest_start=first if flexible else None,
        latest_end=last if flexible else None,
        duration=request.duration_min,
        same_attributes=request.same_attributes,
        required_skills=request.required_skills,
        languages=request.languages,
        attributes=request.attributes,
        volunteers_needed=request.volunteers_needed,
        min_volunteers=request.min_volunteers,
        priority=request.priority,
        mandatory=request.mandatory,
        status=request.status,
        assigned=assigned,
        created_at=request.created_at,
        updated_at=request.updated_at,
    )


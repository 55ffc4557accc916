"""What the dispatcher's loop writes by itself, every `scheduler_period_s`:

- **Reminders**, `reminder_offsets_h` before the start of confirmed work (24 h and 2 h by
  default). Each is an event with the unique key `reminder:<assignment>:<minutes>`, so however
  many dispatchers run, and across restarts, it is written once. A reminder is due from
  `start - offset` until the start; one whose time came before the assignment existed is not
  sent (the volunteer was just told), and when several are due at once (a dispatcher that was
  down) only the nearest goes, the others being recorded as passed. Cancelled or declined work
  gets none: only confirmed assignments are looked at, and a reminder whose work is cancelled
  before it goes out is skipped.
- **No-shows**: a confirmed assignment whose start is more than the center's
  `no_show_after_min` ago (30 by default) without a check-in becomes `no_show`, through the
  lifecycle (`api.services.assignments`), with its event and audit event (actor
  `system/scheduler`); no hours are written. Work that started more than a day
  and a half before is left alone (the longest window is a day).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from api.db import transaction
from api.errors import Conflict
from api.models import AssignmentStatus
from api.repositories import assignments as assignment_repo
from api.repositories import organizations as org_repo
from api.repositories import outbox as outbox_repo
from api.services import assignments, events
from api.services.audit import Actor
from api.services.organizations import settings_of
from api.settings import Settings

log = logging.getLogger("volmatch.scheduler")
NO_SHOW_HORIZON = timedelta(hours=36)
SCHEDULER = Actor.system("scheduler")  # who marks no-shows in the audit trail


def run(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    with transaction(sessions) as session:
        reminders(session, settings, now)
    with transaction(sessions) as session:
        no_shows(session, settings, now)


def reminder_key(assignment_id: int, offset_min: int) -> str:
    return f"reminder:{assignment_id}:{offset_min}"


def reminders(session: Session, settings: Settings, now: datetime) -> int:
    """Write the reminders that are due; how many will go out."""
    offsets = sorted({round(h * 60) for h in settings.reminder_offsets_h if h > 0})
    if not offsets:
        return 0
    confirmed = assignment_repo.starting_between(
        session, (AssignmentStatus.CONFIRMED,), now, now + timedelta(minutes=offsets[-1])
    )
    keys = [reminder_key(a.id, o) for a in confirmed for o in offsets]
    written = outbox_repo.existing_dedupe_keys(session, keys)
    sent = 0
    for assignment in confirmed:
        start = assignment.starts
        due = [o for o in offsets if start - timedelta(minutes=o) <= now]
        due = [o for o in due if reminder_key(assignment.id, o) not in written]
        if not due:
            continue
        nearest = due[0]
        batch = []
        for offset in due:
            key = reminder_key(assignment.id, offset)
            late = assignment.created_at > start - timedelta(minutes=offset)
            if offset != nearest or late:
                # passed: recorded (so never sent later), told to no one
                outbox_repo.insert_event_once(
                    session,
                    {
                        "event_id": f"passed-{key}",
                        "type": str(events.EventType.REMINDER_DUE),
                        "occurred_at": now,
                        "data": {"assignment_id": assignment.id, "passed": True},
                        "dedupe_key": key,
                    },
                )
                continue
            batch.append(
                events.assignment_event(
                    events.EventType.REMINDER_DUE,
                    assignment,
                    dedupe_key=key,
                    hours_before=offset / 60,
                )
            )
        sent += len(events.record(session, settings, batch))
    return sent


def no_shows(session: Session, settings: Settings, now: datetime) -> int:
    """Mark confirmed work not checked in within its center's window; how many."""
    started = assignment_repo.starting_between(
        session, (AssignmentStatus.CONFIRMED,), now - NO_SHOW_HORIZON, now
    )
    windows: dict[int, int | None] = {}
    marked = 0
    for assignment in started:
        center_id = assignment.request.center_id
        if center_id not in windows:
            center = org_repo.get_organization(session, center_id)
            windows[center_id] = settings_of(center).no_show_after_min if center else None
        window = windows[center_id]
        if window is None or assignment.starts + timedelta(minutes=window) > now:
            continue
        try:
            assignments.act(session, settings, assignment, assignments.NO_SHOW, SCHEDULER)
        except Conflict:
            continue  # checked in (or changed) meanwhile
        marked += 1
    if marked:
        log.info("%d assignment(s) marked no_show", marked)
    return marked

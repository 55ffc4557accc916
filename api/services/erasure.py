"""Erasing a volunteer, on request (`DELETE /v1/volunteers/{id}`) or after a retention period.

Personal data go, the record of service stays. The volunteer's open assignments (proposed or
confirmed) are declined, which reopens their requests as any decline does. A volunteer whom no
assignment names leaves nothing behind. Otherwise the row stays as a pseudonymous record: a
random `anon-<hex>` id (stable, unrelated to anything about the person) replaces the external id;
name, phone, email, address, home location, district, skills, languages, attributes,
preferences, caps, target and availability are emptied. Their completed assignments, ledger
entries and certificates keep naming that row, so hours still count for their organization in
every report. A volunteer checked in right now cannot be erased until the center completes or
the assignment is otherwise settled (409): those hours are not yet recorded.

Copies and traces go too: the home location and attributes in the instances stored with match
runs (their plans can then no longer be re-checked for that person's travel), the external id in
stored answers of idempotent imports (replaced by the pseudonym), the geocoder's cached answer
for the home address, the calendar feed, every link of their assignments (no token resolves any
more and no salt is left to derive one: the messages the dispatcher would still write cannot
carry a link), their standby places, and the messages to them not yet sent (skipped; the
dispatcher reads addresses and numbers only when it sends, so the outbox holds none). The audit
trail and the outbox never held personal values (`api.services.audit`, `api.services.events`).

The retention sweep (`VOLMATCH_PERSONAL_DATA_RETENTION_DAYS`, off by default) erases volunteers
with no activity for that many days: no change to their record and no assignment updated or
starting since, and none still open. The solving process runs it every
`VOLMATCH_RETENTION_SWEEP_S`; `volmatch admin purge-inactive` runs it at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from api.errors import Conflict
from api.models import AssignmentStatus, Volunteer, utc_now
from api.repositories import assignments as assignment_repo
from api.repositories import caches
from api.repositories import match_runs as run_repo
from api.repositories import outbox as outbox_repo
from api.repositories import standby as standby_repo
from api.repositories import volunteers as repo
from api.services.assignments import DECLINE, act
from api.services.audit import Actor, Change, record
from api.services.geocoding import normalise
from api.services.instances import volunteer_key
from api.settings import Settings

REMOVED_REASON = "the volunteer was removed from the roster"
ERASED_REASON = "the volunteer was erased"
RETENTION = Actor.system("retention")


def new_pseudonym() -> str:
    return f"anon-{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class Erased:
    """What erasure must still find copies by, read before the row is emptied."""

    id: int
    owner: int
    address: str | None
    created_at: datetime
    pseudonym: str | None  # None: the row is gone


def erase(
    session: Session, settings: Settings, volunteer: Volunteer, actor: Actor
) -> str | None:
    """Erase the volunteer's personal data; the pseudonym kept in their place (None when no
    assignment names them and the row is gone)."""
    return erase_many(session, settings, [volunteer], actor)[volunteer.id]


def erase_many(
    session: Session, settings: Settings, volunteers: Sequence[Volunteer], actor: Actor
) -> dict[int, str | None]:
    """Erase several volunteers at once (copies are searched for once); pseudonyms by id."""
    for volunteer in volunteers:
        if assignment_repo.count_for_volunteer(
            session, volunteer.id, (AssignmentStatus.CHECKED_IN,)
        ):
            raise Conflict(
                f"volunteer {volunteer.id} is checked in to an assignment; complete or settle "
                "it before erasing"
            )
    ids = [volunteer.id for volunteer in volunteers]
    assignment_repo.lock_proposals(session)  # their declines may propose standby in their places
    # First: no standby place of theirs is offered when their own open work is declined.
    standby_repo.delete_for_volunteers(session, ids)
    erased = []
    for volunteer in volunteers:
        for assignment in assignment_repo.for_volunteer(
            session, volunteer.id, (AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED)
        ):
            act(session, settings, assignment, DECLINE, actor, reason=REMOVED_REASON)
        kept = (
            assignment_repo.count_for_volunteer(session, volunteer.id, list(AssignmentStatus)) > 0
        )
        erased.append(
            Erased(
                volunteer.id,
                volunteer.university_id,
                volunteer.address,
                volunteer.created_at,
                new_pseudonym() if kept else None,
            )
        )
    outbox_repo.skip_messages_to(session, ids, ERASED_REASON)
    assignment_repo.revoke_links(session, ids)
    for volunteer, gone in zip(volunteers, erased, strict=True):
        if gone.pseudonym is None:
            repo.delete_volunteer(session, volunteer)
    now = utc_now()
    for gone in erased:
        if gone.pseudonym is not None:
            repo.erase_volunteer(session, gone.id, gone.pseudonym, now)
    _scrub_copies(session, erased)
    record(
        session,
        actor,
        [
            Change("volunteer", gone.id, "erased", gone.owner, after={"kept": gone.pseudonym})
            for gone in erased
        ],
    )
    return {gone.id: gone.pseudonym for gone in erased}


def _scrub_copies(session: Session, erased: Sequence[Erased]) -> None:
    caches.forget_geocodes(session, [normalise(e.address) for e in erased if e.address])
    keys = {volunteer_key(e.id) for e in erased}
    since = min(e.created_at for e in erased) if erased else utc_now()
    for run in run_repo.runs_naming_volunteers(session, sorted(keys), since):
        assert run.instance is not None
        run.instance = {
            **run.instance,
            "volunteers": [
                _scrubbed(v) if v["id"] in keys else v for v in run.instance["volunteers"]
            ],
        }
    pseudonyms = {e.id: e.pseudonym or "" for e in erased}
    for owner in {e.owner for e in erased}:
        for stored in caches.idempotency_records_of(session, owner):
            rows = stored.body.get("volunteers")
            if isinstance(rows, list) and any(r.get("id") in pseudonyms for r in rows):
                stored.body = {
                    **stored.body,
                    "volunteers": [
                        {**r, "external_id": pseudonyms[r["id"]]}
                        if r.get("id") in pseudonyms
                        else r
                        for r in rows
                    ],
                }


def _scrubbed(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "location": {"lat": 0.0, "lon": 0.0}, "attributes": {}}


def purge_inactive(
    session: Session, settings: Settings, days: int, now: datetime | None = None
) -> list[int]:
    """Erase every volunteer without activity for `days` days; their ids."""
    since = (now or utc_now()) - timedelta(days=days)
    inactive = list(repo.inactive_since(session, since))
    return list(erase_many(session, settings, inactive, RETENTION))

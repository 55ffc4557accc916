"""A person's data export: everything the service stores about one volunteer, for their own
organization to hand over when the person asks (their record with personal data, their
assignments, their lines of the hours ledger, their certificates, the audit trail of changes
to their record and assignments, where they were named standby, the messages sent to them, and
whether they have a calendar feed)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.models import Volunteer, utc_now
from api.repositories import assignments as assignment_repo
from api.repositories import audit as audit_repo
from api.repositories import certificates as certificate_repo
from api.repositories import ledger as ledger_repo
from api.repositories import organizations as org_repo
from api.repositories import outbox as outbox_repo
from api.repositories import standby as standby_repo
from api.schemas.ledger import HourEntryOut
from api.schemas.match_runs import StandbyOut
from api.schemas.organizations import OrganizationBrief
from api.schemas.volunteers import VolunteerExport
from api.services import assignments, audit, certificates, deliveries, volunteers
from api.services.organizations import Caller
from api.settings import Settings


def export(
    session: Session, caller: Caller, volunteer: Volunteer, settings: Settings
) -> VolunteerExport:
    held = assignment_repo.for_volunteer(session, volunteer.id)
    org = org_repo.get_organization(session, volunteer.university_id)
    assert org is not None
    events = [
        *audit_repo.events_of(session, "volunteer", [volunteer.id]),
        *audit_repo.events_of(session, "assignment", [a.id for a in held]),
    ]
    return VolunteerExport(
        exported_at=utc_now(),
        organization=OrganizationBrief.model_validate(org, from_attributes=True),
        volunteer=volunteers.to_out(volunteer, caller),
        assignments=[assignments.to_out(a, caller) for a in held],
        hour_entries=[
            HourEntryOut.model_validate(e, from_attributes=True)
            for e in ledger_repo.entries_of(session, volunteer.id)
        ],
        certificates=[
            certificates.to_out(c, settings)
            for c in certificate_repo.of_volunteer(session, volunteer.id)
        ],
        audit=[audit.event_out(e) for e in sorted(events, key=lambda e: e.id)],
        standby=[
            StandbyOut.model_validate(s, from_attributes=True)
            for s in standby_repo.of_volunteer(session, volunteer.id)
        ],
        messages=[deliveries.to_out(d) for d in outbox_repo.messages_to(session, volunteer.id)],
        calendar_feed=volunteer.calendar_token_hash is not None,
    )

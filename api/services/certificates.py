"""Certificates of service hours: issued per person and period, verified by anyone.

A certificate fixes, when issued, the hours the ledger holds for the person in the period and
the services behind them; its verification code (16 characters of Crockford's base 32: 80 random
bits, so not guessable) is printed with the public URL that checks it. The verification answer
names the holder only by the first character of their name (or by their pseudonymous id once
their data were erased), the organization, the period, the hours and the dates, and tells a
revoked certificate from a valid one; an unknown code is a 404. A batch for an organization and
period issues one certificate per person with hours and answers a ZIP of the PDFs with a
manifest. The PDF is drawn when asked for, from the certificate and the person's record.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.errors import Conflict, NotFound
from api.models import Certificate, OrgKind, Volunteer, utc_now
from api.pagination import decode_cursor, next_cursor
from api.repositories import assignments as assignment_repo
from api.repositories import certificates as repo
from api.repositories import ledger as ledger_repo
from api.repositories import organizations as org_repo
from api.repositories import volunteers as volunteer_repo
from api.schemas.certificates import CertificateOut, Service, Verification
from api.schemas.common import Page
from api.services import certificate_pdf
from api.services.audit import Actor, Change, record
from api.services.organizations import Caller
from api.services.periods import resolve_range
from api.services.volunteers import visible_volunteer
from api.settings import Settings

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
CODE_LENGTH = 16
MAX_PERIOD_DAYS = 3700  # up to ten years of service on one certificate
VERIFY_PATH = "/v1/certificates/verify/"


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def canonical_code(text: str) -> str | None:
    """A code as typed (any case, with or without dashes, O for 0, I and L for 1) in its
    stored form, or None if it cannot be one."""
    raw = re.sub(r"[\s-]", "", text.upper()).translate(str.maketrans("OIL", "011"))
    if len(raw) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in raw):
        return None
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def verify_url(settings: Settings, code: str) -> str:
    return settings.public_base_url.rstrip("/") + VERIFY_PATH + code


def issue(
    session: Session,
    caller: Caller,
    volunteer_ids: Sequence[int] | None,
    first_day: date,
    last_day: date,
) -> list[Certificate]:
    """Certificates for the caller's volunteers over [first_day, last_day] (local days): the
    given ones (each must have hours in the period), or every one with hours."""
    start, end = resolve_range(
        first_day, last_day, caller.timezone, max_days=MAX_PERIOD_DAYS, where="body"
    )
    served = {
        row.id: float(row.hours or 0)
        for row in ledger_repo.hours_by_volunteer(session, start, end, caller.org_id)
        if row.pseudonym is None
    }
    if volunteer_ids is None:
        ids = [vid for vid, hours in served.items() if hours > 0]
    else:
        ids = list(dict.fromkeys(volunteer_ids))
        for vid in ids:
            visible_volunteer(session, caller, vid)
        empty = [vid for vid in ids if served.get(vid, 0) <= 0]
        if empty:
            raise Conflict(
                f"no completed hours from {first_day} to {last_day} for volunteer(s) "
                + ", ".join(str(v) for v in empty)
            )
    centers = {o.id: o.name for o in org_repo.list_organizations(session, OrgKind.CENTER)}
    issued = [
        Certificate(
            code=new_code(),
            volunteer_id=vid,
            organization_id=caller.org_id,
            first_day=first_day,
            last_day=last_day,
            hours=round(served[vid], 2),
            services=_services(session, vid, start, end, centers),
            issued_at=utc_now(),
        )
        for vid in ids
    ]
    repo.add(session, issued)
    record(
        session,
        Actor.of(caller),
        [
            Change(
                "certificate",
                c.id,
                "issued",
                c.organization_id,
                after={
                    "volunteer_id": c.volunteer_id,
                    "from": first_day,
                    "to": last_day,
                    "hours": c.hours,
                },
            )
            for c in issued
        ],
    )
    return issued


def _services(
    session: Session, volunteer_id: int, start: datetime, end: datetime, centers: dict[int, str]
) -> list[dict[str, Any]]:
    return [
        Service(
            day=a.local_times[0].date(),
            center=centers.get(a.request.center_id, ""),
            title=a.request.title,
            service_type=a.request.service_type,
            hours=float(a.hours_served or 0),
        ).model_dump(mode="json")
        for a in assignment_repo.completed_in(session, volunteer_id, start, end)
    ]


def visible_certificate(session: Session, caller: Caller, certificate_id: int) -> Certificate:
    certificate = repo.get(session, certificate_id)
    if certificate is None or not caller.reads(certificate.organization_id):
        raise NotFound(f"no certificate {certificate_id}")
    return certificate


def list_visible(
    session: Session,
    caller: Caller,
    settings: Settings,
    volunteer_id: int | None,
    cursor: str | None,
    limit: int,
) -> Page[CertificateOut]:
    page = repo.list_page(
        session,
        organization_id=None if caller.kind is OrgKind.ADMIN else caller.org_id,
        volunteer_id=volunteer_id,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    return Page(
        items=[to_out(c, settings) for c in page],
        next_cursor=next_cursor([c.id for c in page], limit),
    )


def revoke(session: Session, caller: Caller, certificate_id: int, reason: str) -> Certificate:
    certificate = visible_certificate(session, caller, certificate_id)
    if certificate.revoked_at is not None:
        raise Conflict("the certificate is revoked already")
    certificate.revoked_at = utc_now()
    certificate.revoked_reason = reason
    record(
        session,
        Actor.of(caller),
        [
            Change(
                "certificate",
                certificate.id,
                "revoked",
                certificate.organization_id,
                after={"reason": reason},
            )
        ],
    )
    return certificate


def verify(session: Session, code: str) -> Verification:
    canonical = canonical_code(code)
    certificate = repo.by_code(session, canonical) if canonical else None
    if certificate is None:
        raise NotFound("no certificate has this verification code")
    volunteer = volunteer_repo.get_volunteer(session, certificate.volunteer_id)
    org = org_repo.get_organization(session, certificate.organization_id)
    assert volunteer is not None and org is not None
    return Verification(
        status="revoked" if certificate.revoked_at else "valid",
        holder=masked_holder(volunteer),
        organization=org.name,
        first_day=certificate.first_day,
        last_day=certificate.last_day,
        hours=certificate.hours,
        issued_at=certificate.issued_at,
        revoked_at=certificate.revoked_at,
    )


def masked_holder(volunteer: Volunteer) -> str:
    """The name's first character and a star for each other one (张**); the pseudonym of an
    erased person."""
    if volunteer.pseudonym is not None:
        return volunteer.pseudonym
    name = volunteer.name or volunteer.external_id
    return name[:1] + "*" * max(len(name) - 1, 1)


def to_out(certificate: Certificate, settings: Settings) -> CertificateOut:
    return CertificateOut(
        id=certificate.id,
        code=certificate.code,
        verify_url=verify_url(settings, certificate.code),
        volunteer_id=certificate.volunteer_id,
        organization_id=certificate.organization_id,
        first_day=certificate.first_day,
        last_day=certificate.last_day,
        hours=certificate.hours,
        services=[Service.model_validate(s) for s in certificate.services],
        issued_at=certificate.issued_at,
        revoked_at=certificate.revoked_at,
        revoked_reason=certificate.revoked_reason,
    )


def _text(
    session: Session, certificate: Certificate, settings: Settings
) -> certificate_pdf.CertificateText:
    volunteer = volunteer_repo.get_volunteer(session, certificate.volunteer_id)
    org = org_repo.get_organization(session, certificate.organization_id)
    assert volunteer is not None and org is not None
    pseudonym = volunteer.pseudonym
    return certificate_pdf.CertificateText(
        holder=pseudonym if pseudonym is not None else (volunteer.name or volunteer.external_id),
        number="" if pseudonym is not None else volunteer.external_id,
        organization=org.name,
        first_day=certificate.first_day,
        last_day=certificate.last_day,
        hours=certificate.hours,
        services=[
            certificate_pdf.ServiceLine(
                day=date.fromisoformat(s["day"]),
                center=s["center"],
                title=s["title"],
                hours=s["hours"],
            )
            for s in certificate.services
        ],
        issued_on=certificate.issued_at.astimezone(ZoneInfo(org.timezone)).date(),
        code=certificate.code,
        verify_url=verify_url(settings, certificate.code),
    )


def pdfs(session: Session, certificates: Sequence[Certificate], settings: Settings) -> list[bytes]:
    face = certificate_pdf.find_font(settings.certificate_font)
    return certificate_pdf.render([_text(session, c, settings) for c in certificates], face)


MANIFEST_HEADERS = ("证书ID", "志愿者ID", "编号", "姓名", "服务时长（小时）", "验证码", "文件")


def file_name(certificate: Certificate) -> str:
    return f"certificate-{certificate.id}-{certificate.code}.pdf"


def batch_zip(session: Session, certificates: Sequence[Certificate], settings: Settings) -> bytes:
    """The certificates' PDFs in one ZIP, with `manifest.csv` (UTF-8 with BOM, Chinese
    headers) listing who each file is for."""
    documents = pdfs(session, certificates, settings)
    manifest = io.StringIO()
    writer = csv.writer(manifest, lineterminator="\r\n")
    writer.writerow(MANIFEST_HEADERS)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for certificate, document in zip(certificates, documents, strict=True):
            text = _text(session, certificate, settings)
            writer.writerow(
                [
                    certificate.id,
                    certificate.volunteer_id,
                    text.number,
                    text.holder,
                    f"{certificate.hours:g}",
                    certificate.code,
                    file_name(certificate),
                ]
            )
            archive.writestr(file_name(certificate), document)
        archive.writestr("manifest.csv", "\ufeff" + manifest.getvalue())
    return out.getvalue()

"""Certificates of service hours: roster owners issue them (one, or a batch as a ZIP), read and
revoke them and download their PDFs; anyone checks one by its verification code, without a key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import Response

from api.deps import RosterOwnerDep, SessionDep, SettingsDep, json_of, require
from api.errors import ERROR_RESPONSES
from api.models import ROSTER_OWNERS, OrgKind
from api.schemas.certificates import (
    CertificateBatchIn,
    CertificateIn,
    CertificateOut,
    RevokeIn,
    Verification,
)
from api.schemas.common import MAX_ID, Page, PathId
from api.services import certificates as service
from api.services.organizations import Caller

router = APIRouter(prefix="/v1/certificates", tags=["certificates"], responses=ERROR_RESPONSES)

ReaderDep = Annotated[Caller, Depends(require(*ROSTER_OWNERS, OrgKind.ADMIN))]
NO_FONT: dict[int | str, dict[str, Any]] = {
    503: {"description": "No font with Chinese glyphs is installed (the detail says how)."}
}


def _file(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Issue a certificate of a volunteer's hours in a period (their organization)",
    responses={409: {"description": "No completed hours in the period."}},
)
def issue(
    body: CertificateIn, caller: RosterOwnerDep, session: SessionDep, settings: SettingsDep
) -> CertificateOut:
    """The hours the ledger holds for the person from `from` to `to` (local days, inclusive)
    and the services behind them are fixed on the certificate; its verification code is
    printed on the PDF (`GET /v1/certificates/{id}/pdf`) with the URL that checks it."""
    (certificate,) = service.issue(
        session, caller, [body.volunteer_id], body.first_day, body.last_day
    )
    return service.to_out(certificate, settings)


@router.post(
    "/batch",
    summary="Issue certificates for a period and download them as one ZIP (their organization)",
    response_class=Response,
    responses={
        200: {
            "description": "The PDFs and `manifest.csv`.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
        409: {"description": "A given volunteer has no completed hours in the period."},
        **NO_FONT,
    },
)
def issue_batch(
    body: CertificateBatchIn, caller: RosterOwnerDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """One certificate per volunteer with hours in the period (or per given volunteer)."""
    issued = service.issue(session, caller, body.volunteer_ids, body.first_day, body.last_day)
    archive = service.batch_zip(session, issued, settings)
    name = f"certificates-{body.first_day}-{body.last_day}.zip"
    return _file(archive, "application/zip", name)


@router.get("", response_model=Page[CertificateOut], summary="List certificates (admin: all)")
def list_certificates(
    caller: ReaderDep,
    session: SessionDep,
    settings: SettingsDep,
    volunteer_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> Response:
    return json_of(
        service.list_visible(
            session, caller, settings, volunteer_id, cursor, min(limit, settings.max_page_size)
        )
    )


@router.get("/verify/{code}", summary="Check a certificate by its verification code (no key)")
def verify(code: str, session: SessionDep) -> Verification:
    """Valid or revoked, with the holder's masked name (or pseudonymous id), the organization,
    the period and the hours; an unknown code is a 404."""
    return service.verify(session, code)


@router.get("/{certificate_id}", summary="One certificate")
def get_certificate(
    certificate_id: PathId, caller: ReaderDep, session: SessionDep, settings: SettingsDep
) -> CertificateOut:
    return service.to_out(service.visible_certificate(session, caller, certificate_id), settings)


@router.get(
    "/{certificate_id}/pdf",
    summary="The certificate as a PDF (its organization)",
    response_class=Response,
    responses={
        200: {
            "description": "The certificate, in Simplified Chinese.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **NO_FONT,
    },
)
def certificate_pdf(
    certificate_id: PathId, caller: RosterOwnerDep, session: SessionDep, settings: SettingsDep
) -> Response:
    certificate = service.visible_certificate(session, caller, certificate_id)
    (document,) = service.pdfs(session, [certificate], settings)
    return _file(document, "application/pdf", service.file_name(certificate))


@router.post(
    "/{certificate_id}/revoke",
    summary="Revoke a certificate, with a reason (its organization)",
    responses={409: {"description": "Revoked already."}},
)
def revoke(
    certificate_id: PathId,
    body: RevokeIn,
    caller: RosterOwnerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> CertificateOut:
    return service.to_out(service.revoke(session, caller, certificate_id, body.reason), settings)

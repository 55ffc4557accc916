"""Organizations and API keys: admins create organizations; every organization manages its keys
and its settings; roster owners set their volunteers' annual hours target."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.deps import AdminDep, CallerDep, SessionDep, SettingsDep, require
from api.errors import ERROR_RESPONSES
from api.models import ROSTER_OWNERS, ApiKey, Organization, OrgKind
from api.repositories import organizations as repo
from api.schemas.common import PathId
from api.schemas.organizations import (
    KeyIn,
    KeyOut,
    NewKey,
    OrganizationCreated,
    OrganizationIn,
    OrganizationOut,
    OrganizationSettings,
    SettingsPatch,
    TargetIn,
)
from api.services import organizations as service
from api.services.audit import Actor
from api.services.organizations import Caller

router = APIRouter(prefix="/v1/organizations", tags=["organizations"], responses=ERROR_RESPONSES)
TargetSetterDep = Annotated[Caller, Depends(require(*ROSTER_OWNERS, OrgKind.ADMIN))]


def org_out(org: Organization) -> OrganizationOut:
    return OrganizationOut.model_validate(org, from_attributes=True)


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut.model_validate(key, from_attributes=True)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an organization and its first key (admin)",
    responses={409: {"description": "The name is taken."}},
)
def create_organization(
    body: OrganizationIn, caller: AdminDep, session: SessionDep, settings: SettingsDep
) -> OrganizationCreated:
    """The new organization's first API key is in the answer, and only there."""
    org, key, secret = service.create_organization(
        session,
        body.name,
        body.kind,
        body.timezone or settings.default_timezone,
        actor=Actor.of(caller),
    )
    return OrganizationCreated(
        organization=org_out(org), api_key=NewKey(key=key_out(key), secret=secret)
    )


@router.get("", summary="List organizations (admin)")
def list_organizations(caller: AdminDep, session: SessionDep) -> list[OrganizationOut]:
    return [org_out(o) for o in repo.list_organizations(session)]


@router.get("/me", summary="The caller's own organization")
def my_organization(caller: CallerDep, session: SessionDep) -> OrganizationOut:
    return org_out(service.visible_organization(session, caller, caller.org_id))


@router.get("/{org_id}", summary="One organization (admin, or the organization itself)")
def get_organization(org_id: PathId, caller: CallerDep, session: SessionDep) -> OrganizationOut:
    return org_out(service.visible_organization(session, caller, org_id))


@router.get("/{org_id}/keys", summary="An organization's keys (never their secrets)")
def list_keys(org_id: PathId, caller: CallerDep, session: SessionDep) -> list[KeyOut]:
    org = service.visible_organization(session, caller, org_id)
    return [key_out(k) for k in repo.list_keys(session, org.id)]


@router.post("/{org_id}/keys", status_code=status.HTTP_201_CREATED, summary="Issue another key")
def issue_key(org_id: PathId, body: KeyIn, caller: CallerDep, session: SessionDep) -> NewKey:
    """The secret is shown once, here."""
    org = service.visible_organization(session, caller, org_id)
    key, secret = service.issue_key(session, org, body.label, actor=Actor.of(caller))
    return NewKey(key=key_out(key), secret=secret)


@router.delete("/{org_id}/keys/{key_id}", summary="Revoke a key (at once)")
def revoke_key(org_id: PathId, key_id: PathId, caller: CallerDep, session: SessionDep) -> KeyOut:
    org = service.visible_organization(session, caller, org_id)
    return key_out(service.revoke_key(session, org.id, key_id, actor=Actor.of(caller)))


@router.get("/{org_id}/settings", summary="The organization's settings")
def get_settings(org_id: PathId, caller: CallerDep, session: SessionDep) -> OrganizationSettings:
    return service.settings_of(service.visible_organization(session, caller, org_id))


@router.patch(
    "/{org_id}/settings",
    summary="Change settings (contact, standby, automatic repair, no-shows, self-service)",
)
def update_settings(
    org_id: PathId, body: SettingsPatch, caller: CallerDep, session: SessionDep
) -> OrganizationSettings:
    """Centers set their contact for volunteers, standby per request, automatic promotion of
    standby and automatic repair runs, and the check-in window after which a confirmed
    assignment is a no-show; roster owners (universities, law firms, communities) whether
    their volunteers may change their weekly availability through their link. A setting of
    another kind of organization is a 422. Every change is audited."""
    org = service.visible_organization(session, caller, org_id)
    return service.update_settings(session, caller, org, body)


@router.put(
    "/{org_id}/target",
    summary="Set the annual hours target of an organization's volunteers (roster owner, admin)",
    responses={409: {"description": "The organization registers no volunteers."}},
)
def set_target(
    org_id: PathId, body: TargetIn, caller: TargetSetterDep, session: SessionDep
) -> OrganizationOut:
    """Hours a year for each volunteer (a volunteer's own `target_hours` overrides it), over a
    year starting on `period_start` in the organization's time zone."""
    return org_out(service.set_target(session, caller, org_id, body.hours, body.period_start))

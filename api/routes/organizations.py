"""Organizations and API keys: admins create organizations; every organization manages its keys."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import AdminDep, CallerDep, SessionDep, SettingsDep
from api.errors import ERROR_RESPONSES
from api.models import ApiKey, Organization
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
)
from api.services import organizations as service

router = APIRouter(prefix="/v1/organizations", tags=["organizations"], responses=ERROR_RESPONSES)


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
        session, body.name, body.kind, body.timezone or settings.default_timezone
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
    key, secret = service.issue_key(session, org, body.label)
    return NewKey(key=key_out(key), secret=secret)


@router.delete("/{org_id}/keys/{key_id}", summary="Revoke a key (at once)")
def revoke_key(org_id: PathId, key_id: PathId, caller: CallerDep, session: SessionDep) -> KeyOut:
    org = service.visible_organization(session, caller, org_id)
    return key_out(service.revoke_key(session, org.id, key_id))


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
    assignment is a no-show; universities whether their volunteers may change their weekly
    availability through their link. A setting of another kind of organization is a 422."""
    org = service.visible_organization(session, caller, org_id)
    return service.update_settings(org, body)

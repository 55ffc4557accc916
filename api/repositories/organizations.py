"""Queries on organizations and their API keys."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import ApiKey, Organization


def add_organization(session: Session, name: str, kind: str, timezone: str) -> Organization:
    org = Organization(name=name, kind=kind, timezone=timezone)
    session.add(org)
    session.flush()
    return org


def get_organization(session: Session, org_id: int) -> Organization | None:
    return session.get(Organization, org_id)


def organization_by_name(session: Session, name: str) -> Organization | None:
    return session.scalars(select(Organization).where(Organization.name == name)).first()


def list_organizations(session: Session, kind: str | None = None) -> Sequence[Organization]:
    query = select(Organization).order_by(Organization.id)
    if kind is not None:
        query = query.where(Organization.kind == kind)
    return session.scalars(query).all()


def add_key(
    session: Session, org: Organization, prefix: str, secret_hash: str, label: str | None
) -> ApiKey:
    key = ApiKey(organization_id=org.id, prefix=prefix, secret_hash=secret_hash, label=label)
    session.add(key)
    session.flush()
    return key


def key_by_prefix(session: Session, prefix: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()


def get_key(session: Session, org_id: int, key_id: int) -> ApiKey | None:
    key = session.get(ApiKey, key_id)
    return key if key is not None and key.organization_id == org_id else None


def list_keys(session: Session, org_id: int) -> Sequence[ApiKey]:
    query = select(ApiKey).where(ApiKey.organization_id == org_id).order_by(ApiKey.id)
    return session.scalars(query).all()

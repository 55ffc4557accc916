"""Organizations, their API keys, and who is calling.

A key reads `vmk_<prefix>_<secret>`: the prefix finds its row, and the SHA-256 of the whole key is
compared in constant time with the stored hash. Keys are random (256 bits), so a plain hash is
enough (no password stretching needed); they are shown once and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from api.errors import Conflict, FieldError, InvalidInput, NotFound, Unauthorized
from api.models import ROSTER_OWNERS, ApiKey, Organization, OrgKind, UserRole, utc_now
from api.repositories import organizations as repo
from api.schemas.organizations import (
    CENTER_SETTINGS,
    ROSTER_OWNER_SETTINGS,
    OrganizationSettings,
    SettingsPatch,
)
from api.services.audit import Actor, Change, diff, record_one
from api.services.periods import check_period_start

KEY_SCHEME = "vmk"


@dataclass(frozen=True, slots=True)
class Caller:
    """The organization behind a request: through an API key, or through a console user who acts
    as their organization (with their role)."""

    org_id: int
    kind: OrgKind
    timezone: str
    key_id: int | None = None  # the key that authenticated the request (rate limits count per key)
    user_id: int | None = None  # the console user, when a person signed in
    role: UserRole | None = None  # the user's role; None for keys (a key may do what its kind may)

    def reads(self, owner_id: int) -> bool:
        """Whether the caller may read what `owner_id` owns: its own, or anything for an admin."""
        return self.kind is OrgKind.ADMIN or self.org_id == owner_id

    @property
    def changes(self) -> bool:
        """Whether the caller may change anything: every key, and users who are not viewers."""
        return self.role is not UserRole.VIEWER

    @property
    def owns_roster(self) -> bool:
        """A roster owner (university, law firm, community): registers and answers for
        volunteers."""
        return self.kind in ROSTER_OWNERS

    def owns(self, owner_id: int) -> bool:
        """Whether `owner_id`'s volunteers are the caller's own roster (personal data, acting
        on their behalf)."""
        return self.owns_roster and self.org_id == owner_id


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r}",
            fields=[FieldError(loc=["body", "timezone"], msg="not an IANA time zone name")],
        ) from None
    return name


def create_organization(
    session: Session, name: str, kind: str, timezone: str, *, actor: Actor
) -> tuple[Organization, ApiKey, str]:
    """A new organization with its first key; the key's secret is returned once."""
    if repo.organization_by_name(session, name) is not None:
        raise Conflict(f"an organization named {name!r} exists already")
    org = repo.add_organization(session, name, kind, check_timezone(timezone))
    record_one(
        session,
        actor,
        Change(
            "organization",
            org.id,
            "created",
            org.id,
            after={"name": name, "kind": kind, "timezone": timezone},
        ),
    )
    key, secret = issue_key(session, org, label="first key", actor=actor)
    return org, key, secret


def issue_key(
    session: Session, org: Organization, label: str | None, *, actor: Actor
) -> tuple[ApiKey, str]:
    prefix = secrets.token_hex(6)
    secret = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    key = repo.add_key(session, org, prefix, hash_secret(secret), label)
    record_one(
        session,
        actor,
        Change("api_key", key.id, "issued", org.id, after={"prefix": prefix, "label": label}),
    )
    return key, secret


def revoke_key(session: Session, org_id: int, key_id: int, *, actor: Actor) -> ApiKey:
    key = repo.get_key(session, org_id, key_id)
    if key is None:
        raise NotFound(f"no key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utc_now()
        record_one(
            session,
            actor,
            Change("api_key", key.id, "revoked", org_id, after={"revoked_at": key.revoked_at}),
        )
    return key


def set_target(
    session: Session,
    caller: Caller,
    org_id: int,
    hours: float | None,
    period_start: str,
) -> Organization:
    """A roster owner's default annual hours target (None: none) and the day its year starts."""
    org = visible_organization(session, caller, org_id)
    if OrgKind(org.kind) not in ROSTER_OWNERS:
        raise Conflict("only a university, law firm or community has an hours target")
    before = {"target_hours": org.target_hours, "period_start": org.target_period_start}
    org.target_hours = hours
    org.target_period_start = check_period_start(period_start)
    after = {"target_hours": org.target_hours, "period_start": org.target_period_start}
    if before != after:
        record_one(
            session,
            Actor.of(caller),
            Change("organization", org.id, "target_set", org.id, before=before, after=after),
        )
    return org


def authenticate(session: Session, authorization: str | None) -> Caller:
    """The caller of a request from its `Authorization` header, or 401."""
    if not authorization:
        raise Unauthorized("missing API key: send `Authorization: Bearer <key>`")
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthorized("the Authorization header must read `Bearer <key>`")
    scheme_part, _, rest = secret.partition("_")
    prefix = rest.split("_", 1)[0] if scheme_part == KEY_SCHEME else ""
    key = repo.key_by_prefix(session, prefix) if prefix else None
    # Compare even when no key was found, so that timing does not tell prefixes apart.
    expected = key.secret_hash if key is not None else hash_secret("")
    if not hmac.compare_digest(hash_secret(secret), expected) or key is None:
        raise Unauthorized("unknown API key")
    if key.revoked_at is not None:
        raise Unauthorized("this API key has been revoked")
    org = key.organization
    return Caller(org_id=org.id, kind=OrgKind(org.kind), timezone=org.timezone, key_id=key.id)


def visible_organization(session: Session, caller: Caller, org_id: int) -> Organization:
    """An organization the caller may manage: its own, or any for an admin."""
    org = repo.get_organization(session, org_id)
    if org is None or not caller.reads(org.id):
        raise NotFound(f"no organization {org_id}")
    return org


def list_organizations(session: Session, caller: Caller) -> list[Organization]:
    """Every organization for an admin; the caller's own for everyone else."""
    if caller.kind is OrgKind.ADMIN:
        return list(repo.list_organizations(session))
    return [visible_organization(session, caller, caller.org_id)]


def list_keys(session: Session, caller: Caller, org_id: int) -> list[ApiKey]:
    return list(repo.list_keys(session, visible_organization(session, caller, org_id).id))


def settings_of(org: Organization) -> OrganizationSettings:
    return OrganizationSettings.model_validate(org.settings or {})


def update_settings(
    session: Session, caller: Caller, org: Organization, patch: SettingsPatch
) -> OrganizationSettings:
    """Change the settings that apply to the organization's kind (422 naming any other)."""
    changes = patch.model_dump(exclude_unset=True)
    kind = OrgKind(org.kind)
    applies = (
        CENTER_SETTINGS
        if kind is OrgKind.CENTER
        else ROSTER_OWNER_SETTINGS
        if kind in ROSTER_OWNERS
        else frozenset()
    )
    foreign = [
        name
        for name in changes
        if name in (CENTER_SETTINGS | ROSTER_OWNER_SETTINGS) and name not in applies
    ]
    nullable = {"contact_name", "contact_phone", "no_show_after_min"}
    nulls = [name for name, value in changes.items() if value is None and name not in nullable]
    if foreign or nulls:
        raise InvalidInput(
            "some settings do not apply to this organization",
            fields=[
                *(
                    FieldError(loc=["body", n], msg=f"not a setting of a {org.kind}")
                    for n in foreign
                ),
                *(FieldError(loc=["body", n], msg="may not be null") for n in nulls),
            ],
        )
    current = settings_of(org)
    merged = current.model_copy(update=changes)
    before, after = diff(current.model_dump(mode="json"), merged.model_dump(mode="json"))
    org.settings = merged.model_dump(mode="json")
    if after:
        record_one(
            session,
            Actor.of(caller),
            Change("organization", org.id, "settings_changed", org.id, before=before, after=after),
        )
    return merged

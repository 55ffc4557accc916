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
from api.models import ROSTER_OWNERS, ApiKey, Organization, OrgKind, utc_now
from api.repositories import organizations as repo
from api.services.audit import Actor, Change, record_one
from api.services.periods import check_period_start

KEY_SCHEME = "vmk"


@dataclass(frozen=True, slots=True)
class Caller:
    """The organization behind a request's key."""

    org_id: int
    kind: OrgKind
    timezone: str
    key_id: int | None = None  # the key that authenticated the request (rate limits count per key)

    def reads(self, owner_id: int) -> bool:
        """Whether the caller may read what `owner_id` owns: its own, or anything for an admin."""
        return self.kind is OrgKind.ADMIN or self.org_id == owner_id

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

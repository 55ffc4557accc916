"""Console users: people who sign in and act as their organization.

A user is created without a password and given an invitation link; following it sets the first
password. A coordinator (or an admin) issues reset links the same way; a used, expired or
replaced link no longer works. Passwords are hashed with argon2 (pwdlib). Sign-in is throttled
per account and per client address (failures counted in the database, so across every API
process); a successful sign-in opens a server-side session whose token travels in the signed
session cookie, so that logout, a new password or a disabled user end it at once. Creating a
user, issuing their links, setting a password, a new role, disabling and enabling are audited
(never with the login or the name: a person's).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from pwdlib import PasswordHash
from sqlalchemy.orm import Session

from api.errors import ApiError, Conflict, FieldError, InvalidInput, NotFound
from api.models import OrgKind, TokenPurpose, User, UserRole, UserSession, UserToken, utc_now
from api.repositories import organizations as org_repo
from api.repositories import users as repo
from api.services.audit import Actor, Change, record_one
from api.services.organizations import Caller, visible_organization
from api.settings import Settings

_HASHER = PasswordHash.recommended()  # argon2id with pwdlib's recommended parameters
# Verified against when the login is unknown, so that timing does not tell logins apart.
_UNKNOWN_USER_HASH = _HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 10
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")


class SignInRefused(ApiError):
    """Wrong login or password (the answer does not tell which)."""

    status_code, code = 401, "sign_in_refused"


class SignInThrottled(ApiError):
    """Too many failed sign-ins for this account or from this address."""

    status_code, code = 429, "sign_in_throttled"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normal_login(login: str) -> str:
    return login.strip().lower()


def check_login(login: str) -> str:
    login = normal_login(login)
    if not _LOGIN.match(login):
        raise InvalidInput(
            "the login is not valid",
            fields=[
                FieldError(
                    loc=["body", "login"],
                    msg="2 to 100 letters, digits or . _ @ -, starting with a letter or digit",
                )
            ],
        )
    return login


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "the password is too short",
            fields=[
                FieldError(
                    loc=["body", "password"],
                    msg=f"at least {MIN_PASSWORD_LENGTH} characters",
                )
            ],
        )
    return password


def managed_user(session: Session, caller: Caller, user_id: int) -> User:
    """A user the caller may manage: one of its own organization's, or any for an admin."""
    user = repo.get_user(session, user_id)
    if user is None or not caller.reads(user.organization_id):
        raise NotFound(f"no user {user_id}")
    return user


def list_users(session: Session, caller: Caller, org_id: int | None = None) -> list[User]:
    """The users of the caller's organization (an admin: of `org_id`, or everyone's)."""
    if caller.kind is OrgKind.ADMIN:
        return list(repo.list_users(session, org_id))
    return list(repo.list_users(session, caller.org_id))


def create_user(
    session: Session,
    caller: Caller | None,
    org_id: int,
    login: str,
    display_name: str,
    role: UserRole,
    password: str | None = None,
    *,
    actor: Actor | None = None,
) -> User:
    """A new user of organization `org_id` (the caller's own, or any for an admin; `caller`
    None: the command line, or the service itself as `actor`). Without a password, the user
    signs in after an invitation."""
    org = (
        visible_organization(session, caller, org_id)
        if caller
        else org_repo.get_organization(session, org_id)
    )
    if org is None:
        raise NotFound(f"no organization {org_id}")
    login = check_login(login)
    if repo.user_by_login(session, login) is not None:
        raise Conflict(
            f"the login {login!r} is taken",
            fields=[FieldError(loc=["body", "login"], msg="taken")],
        )
    name = display_name.strip() or login
    user = User(
        organization_id=org.id,
        login=login,
        display_name=name[:200],
        role=role,
        password_hash=_HASHER.hash(check_password(password)) if password else None,
    )
    repo.add_user(session, user)
    _audit(
        session,
        actor or (Actor.of(caller) if caller else Actor.system("cli")),
        user,
        "created",
        role=str(role),
        password_set=password is not None,
    )
    return user


def _audit(session: Session, actor: Actor, user: User, action: str, **after: object) -> None:
    record_one(
        session, actor, Change("user", user.id, action, user.organization_id, after=after or None)
    )


def issue_link(
    session: Session, user: User, purpose: TokenPurpose, settings: Settings, actor: Actor
) -> str:
    """A new invitation or reset link's token (shown once); earlier unused links expire."""
    now = utc_now()
    repo.expire_tokens(session, user.id, now)
    hours = settings.invite_valid_h if purpose is TokenPurpose.INVITE else settings.reset_valid_h
    token = secrets.token_urlsafe(32)
    repo.add_token(
        session,
        UserToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        ),
    )
    _audit(session, actor, user, "link_issued", purpose=str(purpose))
    return token


def link_user(session: Session, token: str, purpose: TokenPurpose) -> User:
    """The user a usable link was issued to (404 for unknown, used or expired links)."""
    row = repo.token_by_hash(session, _hash(token))
    if (
        row is None
        or row.purpose != purpose
        or row.used_at is not None
        or row.expires_at <= utc_now()
    ):
        raise NotFound("this link is unknown, used or expired; ask for a new one")
    user = repo.get_user(session, row.user_id)
    if user is None or user.disabled_at is not None:
        raise NotFound("this link is unknown, used or expired; ask for a new one")
    return user


def set_password_by_link(
    session: Session, token: str, purpose: TokenPurpose, password: str
) -> User:
    """Set the password through a link, once; every open session of the user ends."""
    user = link_user(session, token, purpose)
    check_password(password)
    row = repo.token_by_hash(session, _hash(token))
    assert row is not None
    if not repo.use_token(session, row.id, utc_now()):
        raise NotFound("this link is unknown, used or expired; ask for a new one")
    set_password(session, user, password, Actor("user", str(user.id), user.organization_id))
    return user


def set_password(session: Session, user: User, password: str, actor: Actor) -> None:
    """Set a password (through a link, the command line, the demo); open sessions end."""
    user.password_hash = _HASHER.hash(check_password(password))
    repo.end_sessions_of(session, user.id)
    _audit(session, actor, user, "password_set")


def change_role(session: Session, caller: Caller, user_id: int, role: UserRole) -> User:
    user = managed_user(session, caller, user_id)
    if user.role != role:
        before = {"role": user.role}
        user.role = role
        record_one(
            session,
            Actor.of(caller),
            Change(
                "user",
                user.id,
                "role_changed",
                user.organization_id,
                before=before,
                after={"role": str(role)},
            ),
        )
    return user


def set_disabled(session: Session, caller: Caller, user_id: int, disabled: bool) -> User:
    """Disable (sessions end at once) or enable a user; nobody disables themselves."""
    user = managed_user(session, caller, user_id)
    if disabled and user.id == caller.user_id:
        raise Conflict("you cannot disable yourself")
    if (user.disabled_at is not None) != disabled:
        _audit(session, Actor.of(caller), user, "disabled" if disabled else "enabled")
    user.disabled_at = utc_now() if disabled else None
    if disabled:
        repo.end_sessions_of(session, user.id)
    return user


def sign_in(session: Session, login: str, password: str, address: str, settings: Settings) -> User:
    """The user whose login and password these are, or SignInRefused; SignInThrottled while the
    account or the address has too many recent failures (checked before the password)."""
    now = utc_now()
    since = now - timedelta(seconds=settings.login_lockout_s)
    account, place = _hash("account:" + normal_login(login)), _hash("address:" + address)
    if (
        repo.count_failures(session, "account", account, since)
        >= settings.login_max_failures_per_account
        or repo.count_failures(session, "address", place, since)
        >= settings.login_max_failures_per_address
    ):
        raise SignInThrottled(
            "too many failed sign-ins; wait a while and try again",
            headers={"Retry-After": str(settings.login_lockout_s)},
        )
    user = repo.user_by_login(session, normal_login(login))
    stored = user.password_hash if user is not None and user.password_hash else None
    valid = _HASHER.verify(password, stored or _UNKNOWN_USER_HASH)
    if user is None or stored is None or not valid or user.disabled_at is not None:
        repo.forget_old_failures(session, since)
        repo.add_failures(session, [("account", account), ("address", place)], now)
        raise SignInRefused("wrong login or password")
    repo.clear_failures(session, "account", account)
    user.last_login_at = now
    return user


def open_session(session: Session, user: User, settings: Settings) -> str:
    """A new session for the user; its token (for the signed cookie)."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    repo.add_session(
        session,
        UserSession(
            user_id=user.id,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.session_max_age_s),
        ),
    )
    return token


def end_session(session: Session, token: str) -> None:
    repo.end_session(session, _hash(token))


def session_caller(session: Session, token: str) -> tuple[Caller, User] | None:
    """The caller behind a session token: the user's organization, with the user and role."""
    user = repo.session_user(session, _hash(token), utc_now())
    if user is None:
        return None
    org = user.organization
    caller = Caller(
        org_id=org.id,
        kind=OrgKind(org.kind),
        timezone=org.timezone,
        user_id=user.id,
        role=UserRole(user.role),
    )
    return caller, user

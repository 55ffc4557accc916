"""Queries on console users, their sign-in sessions, invitation and reset links, sign-in
failures, and the service's generated secrets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from api.models import LoginFailure, ServiceSecret, User, UserSession, UserToken
from api.repositories import rowcount


def add_user(session: Session, user: User) -> User:
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def user_by_login(session: Session, login: str) -> User | None:
    query = select(User).where(User.login == login).options(joinedload(User.organization))
    return session.scalars(query).first()


def list_users(session: Session, org_id: int | None) -> Sequence[User]:
    query = select(User).options(joinedload(User.organization)).order_by(User.id)
    if org_id is not None:
        query = query.where(User.organization_id == org_id)
    return session.scalars(query).all()


def add_token(session: Session, token: UserToken) -> None:
    session.add(token)
    session.flush()


def token_by_hash(session: Session, token_hash: str) -> UserToken | None:
    return session.scalars(select(UserToken).where(UserToken.token_hash == token_hash)).first()


def use_token(session: Session, token_id: int, now: datetime) -> bool:
    """Spend a link once (a conditional UPDATE: two submissions cannot both pass)."""
    changed = session.execute(
        update(UserToken)
        .where(UserToken.id == token_id, UserToken.used_at.is_(None), UserToken.expires_at > now)
        .values(used_at=now)
    )
    return rowcount(changed) == 1


def expire_tokens(session: Session, user_id: int, now: datetime) -> None:
    """Unused links of a user stop working (a new link replaces older ones)."""
    session.execute(
        update(UserToken)
        .where(UserToken.user_id == user_id, UserToken.used_at.is_(None))
        .values(expires_at=now)
    )


def add_session(session: Session, row: UserSession) -> None:
    session.add(row)
    session.flush()


def session_user(session: Session, token_hash: str, now: datetime) -> User | None:
    """The enabled user of an unexpired session."""
    query = (
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == token_hash,
            UserSession.expires_at > now,
            User.disabled_at.is_(None),
        )
        .options(joinedload(User.organization))
    )
    return session.scalars(query).first()


def end_session(session: Session, token_hash: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))


def end_sessions_of(session: Session, user_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))


def count_failures(session: Session, scope: str, key_hash: str, since: datetime) -> int:
    query = select(func.count()).where(
        LoginFailure.scope == scope, LoginFailure.key_hash == key_hash, LoginFailure.at > since
    )
    return int(session.scalar(query) or 0)


def add_failures(session: Session, rows: Sequence[tuple[str, str]], now: datetime) -> None:
    session.execute(insert(LoginFailure), [{"scope": s, "key_hash": k, "at": now} for s, k in rows])


def clear_failures(session: Session, scope: str, key_hash: str) -> None:
    session.execute(
        delete(LoginFailure).where(LoginFailure.scope == scope, LoginFailure.key_hash == key_hash)
    )


def forget_old_failures(session: Session, before: datetime) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.at <= before))


def secret(session: Session, name: str) -> str | None:
    row = session.get(ServiceSecret, name)
    return row.value if row is not None else None


def add_secret_once(session: Session, name: str, value: str) -> str:
    """Store `value` under `name` unless another process stored one first; the stored value."""
    try:
        with session.begin_nested():
            session.add(ServiceSecret(name=name, value=value))
    except IntegrityError:
        pass
    stored = secret(session, name)
    assert stored is not None
    return stored

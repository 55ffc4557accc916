"""Secrets the service makes itself: the console's session-signing key, generated on the first
start and kept in the database (so that every process of one deployment signs alike), unless
`VOLMATCH_SESSION_SECRET` gives one. There is never a default value."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from api.repositories import users as repo
from api.settings import Settings

SESSION_SECRET = "session"


def session_secret(session: Session, settings: Settings) -> str:
    if settings.session_secret is not None and settings.session_secret.get_secret_value():
        return settings.session_secret.get_secret_value()
    return repo.secret(session, SESSION_SECRET) or repo.add_secret_once(
        session, SESSION_SECRET, secrets.token_urlsafe(48)
    )

"""Volunteers' link tokens: the credential behind `/v1/assignment-links/{token}`.

The database keeps only a token's SHA-256 (like API keys). With `VOLMATCH_LINK_SECRET` set, a
token is HMAC-SHA256(secret, salt) with a random salt stored beside the hash, so the dispatcher
can put the link in a message long after publication without any table holding the token; a
database copy without the secret gives the tokens away no more than the hashes do. Unset, tokens
are random and shown once (the publish answer), and messages go without the link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from api.settings import Settings


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def derive(settings: Settings, salt: str | None) -> str | None:
    """The token of a link made with `salt`, or None when it cannot be derived."""
    if settings.link_secret is None or salt is None:
        return None
    digest = hmac.new(
        settings.link_secret.get_secret_value().encode(), f"link:{salt}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_link(settings: Settings) -> tuple[str, str, str | None]:
    """A new link: (token, its hash to store, the salt to store or None)."""
    if settings.link_secret is None:
        token = secrets.token_urlsafe(24)
        return token, token_hash(token), None
    salt = secrets.token_hex(16)
    derived = derive(settings, salt)
    assert derived is not None
    return derived, token_hash(derived), salt


def url(settings: Settings, token: str) -> str:
    return settings.public_url.rstrip("/") + settings.volunteer_link_path.format(token=token)

"""Opaque cursors for keyset pagination over increasing integer ids."""

from __future__ import annotations

import base64
import binascii

from api.errors import FieldError, InvalidInput


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id after which the page starts (0 for the first page)."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "after" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput(
        "the cursor is not one this service gave out",
        fields=[FieldError(loc=["query", "cursor"], msg="unknown cursor")],
    )


def next_cursor(ids: list[int], limit: int) -> str | None:
    """A cursor for the next page when this one is full."""
    return encode_cursor(ids[-1]) if len(ids) == limit and ids else None

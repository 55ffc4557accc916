"""Idempotent batches: the first answer to an `Idempotency-Key` is stored with the batch's writes
(same transaction) and replayed to every retry; the same key with another body is refused.

The key's record is written first, so that a concurrent retry waits on the database's unique
constraint, then finds the committed answer (or, if the first batch was rejected and rolled
back, runs as a first try itself).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import FieldError, IdempotencyKeyReused, InvalidInput
from api.models import IdempotencyRecord
from api.repositories import caches
from api.services.organizations import Caller

MAX_KEY_LENGTH = 200


class Answer(BaseModel):
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def run_once(
    session: Session,
    caller: Caller,
    key: str | None,
    request_signature: bytes,
    status_code: int,
    produce: Callable[[], BaseModel],
) -> Answer:
    """`produce()`'s answer, or, for a key seen before, the stored first answer."""
    if key is None:
        return Answer(status_code=status_code, body=produce().model_dump(mode="json"))
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput(
            "the Idempotency-Key header is empty or too long",
            fields=[
                FieldError(
                    loc=["header", "Idempotency-Key"], msg=f"1 to {MAX_KEY_LENGTH} characters"
                )
            ],
        )
    fingerprint = hashlib.sha256(request_signature).hexdigest()
    stored = caches.idempotency_record(session, caller.org_id, key)
    if stored is None:
        record = IdempotencyRecord(
            organization_id=caller.org_id, key=key, fingerprint=fingerprint, status_code=0, body={}
        )
        try:
            caches.add_idempotency_record(session, record)
        except IntegrityError:
            session.rollback()  # a concurrent first try committed meanwhile
            stored = caches.idempotency_record(session, caller.org_id, key)
        else:
            body = produce().model_dump(mode="json")
            record.status_code, record.body = status_code, body
            return Answer(status_code=status_code, body=body)
    assert stored is not None
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for a different request; use a new key",
            fields=[
                FieldError(loc=["header", "Idempotency-Key"], msg="already used with another body")
            ],
        )
    return Answer(status_code=stored.status_code, body=stored.body, replayed=True)

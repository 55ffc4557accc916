"""Shared pieces of the API's bodies: the strict base model and the page of a list."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

T = TypeVar("T")

# Ids are positive integers that fit the id columns (INTEGER: 32 bits in PostgreSQL): a larger
# number is a 422, never a database overflow.
MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]

_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_8601(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_8601.match(value):
        raise ValueError("not a time like 2026-03-02T09:00:00+08:00 (ISO 8601 with an offset)")
    return value


# A time in a query string: ISO 8601 text with an offset, as documented (pydantic alone would
# also take a bare number as seconds since 1970).
QueryTime = Annotated[AwareDatetime, BeforeValidator(_iso_8601)]

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_AWARE = TypeAdapter(AwareDatetime)


def _day_or_time(value: Any) -> Any:
    """A date for `YYYY-MM-DD`, else an offset-aware time (pydantic alone would read a time at
    midnight without offset as a date)."""
    if not isinstance(value, str):
        return value
    if _DAY.fullmatch(value):
        return date.fromisoformat(value)
    if not _ISO_8601.match(value):
        raise ValueError(
            "not a date like 2026-03-01 nor a time like 2026-03-02T09:00:00+08:00 (with offset)"
        )
    try:
        return _AWARE.validate_python(value)
    except ValidationError:
        raise ValueError(
            "not a time with an offset like 2026-03-02T09:00:00+08:00, nor a date like 2026-03-01"
        ) from None


# A report's range end: a date (a whole local day of the caller's organization) or a time with
# its offset. Resolved into instants by `api.services.periods`.
QueryDayOrTime = Annotated[date | AwareDatetime, BeforeValidator(_day_or_time)]


class StrictModel(BaseModel):
    """Input bodies: unknown fields are rejected (a typo never passes silently)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next page."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Opaque; absent on the last page.")

"""Forms: reading posted fields, and putting every error beside the field it belongs to.

Pages validate with the API's own schemas and services; their errors (pydantic's, or an
`ApiError`'s `fields`) become `{field name: message}` in the page's language. Messages of
pydantic's common error types are translated; a rule's own sentence is shown as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from api.errors import FieldError
from api.web.i18n import N_, Language

# pydantic error type -> message (with pydantic's context values as variables).
_MESSAGES = {
    "missing": N_("Required."),
    "string_too_short": N_("Required."),
    "string_too_long": N_("At most %(max_length)s characters."),
    "too_long": N_("At most %(max_length)s items."),
    "greater_than_equal": N_("At least %(ge)s."),
    "greater_than": N_("Greater than %(gt)s."),
    "less_than_equal": N_("At most %(le)s."),
    "less_than": N_("Less than %(lt)s."),
    "int_parsing": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "int_type": N_("Enter a whole number."),
    "bool_parsing": N_("Enter yes or no."),
    "datetime_parsing": N_("Enter a date and time like 2026-03-02 09:00."),
    "datetime_from_date_parsing": N_("Enter a date and time like 2026-03-02 09:00."),
    "datetime_type": N_("Enter a date and time like 2026-03-02 09:00."),
    "timezone_aware": N_("Enter a date and time like 2026-03-02 09:00."),
    "date_parsing": N_("Enter a date like 2026-03-02."),
    "date_from_datetime_parsing": N_("Enter a date like 2026-03-02."),
    "literal_error": N_("Choose one of the listed values."),
    "enum": N_("Choose one of the listed values."),
    "extra_forbidden": N_("Unknown field."),
}
# Sentences of the services and schemas that come up in forms, by their beginning.
_SENTENCES = {
    "end (": N_("The end must be after the start."),
    "min_volunteers (": N_("The minimum cannot exceed the number of volunteers needed."),
    "a request lasts at most": N_("A request lasts at most 24 hours."),
    "window end must be after": N_("The end must be after the start."),
    "a window spans at most": N_("A match run covers at most 31 days."),
    "time_limit_s is capped": N_("The time limit is too long."),
    "no location: give location {lat, lon} (geocoding": N_(
        "Give the latitude and longitude (addresses are not looked up on this service)."
    ),
    "no location": N_("Give the latitude and longitude, or an address."),
    "the address": N_("The address could not be found; give the latitude and longitude."),
    "taken": N_("This login is taken."),
    "2 to 100 letters": N_("2 to 100 letters, digits or . _ @ -, starting with a letter or digit."),
    "at least 10 characters": N_("At least 10 characters."),
    "not an IANA time zone": N_("Not a time zone name such as Asia/Shanghai."),
    "write 男 or 女": N_("Write 男 or 女."),
    "duration (": N_("The duration is longer than the time window."),
    "latest_end (": N_("The latest end must be after the earliest start."),
    "the window ": N_("A time window lies within one day; split it into two requests."),
    "attribute ": N_("This value is empty: give it, or leave it out."),
    "give either start and end": N_(
        "Give a fixed time or a time window with a duration, not both."
    ),
    **dict.fromkeys(
        (f"missing {name}" for name in ("start", "end", "earliest_start", "latest_end", "duration")),
        N_("Give the start and end, or the earliest start, latest end and duration."),
    ),
    "same_attributes asks": N_("A team of one gender needs 2 or more volunteers."),
}


# pydantic's English messages (as the services pass them on) -> error type and context.
_PYDANTIC_SENTENCES = (
    (re.compile(r"^Field required$"), "missing", ()),
    (re.compile(r"^String should have at least 1 character"), "string_too_short", ()),
    (
        re.compile(r"^String should have at most (\d+) character"),
        "string_too_long",
        ("max_length",),
    ),
    (
        re.compile(r"^Input should be greater than or equal to (\S+)$"),
        "greater_than_equal",
        ("ge",),
    ),
    (re.compile(r"^Input should be greater than (\S+)$"), "greater_than", ("gt",)),
    (re.compile(r"^Input should be less than or equal to (\S+)$"), "less_than_equal", ("le",)),
    (re.compile(r"^Input should be less than (\S+)$"), "less_than", ("lt",)),
    (re.compile(r"^Input should be a valid integer"), "int_parsing", ()),
    (re.compile(r"^Input should be a valid number"), "float_parsing", ()),
    (re.compile(r"^Input should be a valid boolean"), "bool_parsing", ()),
    (re.compile(r"^Input should be a valid datetime"), "datetime_parsing", ()),
    (re.compile(r"^time has no UTC offset"), "timezone_aware", ()),
    (re.compile(r"^Input should be a valid date"), "date_parsing", ()),
    (re.compile(r"^Input should be "), "literal_error", ()),
    (re.compile(r"^unknown field$"), "extra_forbidden", ()),
)


def translated(lang: Language, message: str, error_type: str | None = None, **ctx: Any) -> str:
    """A field message in the page's language."""
    if error_type is None:
        for pattern, kind, names in _PYDANTIC_SENTENCES:
            found = pattern.match(message)
            if found:
                error_type = kind
                ctx = dict(zip(names, found.groups(), strict=False))
                break
    if error_type in _MESSAGES:
        try:
            return lang.gettext(_MESSAGES[error_type]) % {k: v for k, v in ctx.items()}
        except (KeyError, TypeError, ValueError):
            return lang.gettext(_MESSAGES[error_type].split("%")[0]).strip() or message
    for start, sentence in _SENTENCES.items():
        if message.startswith(start):
            return lang.gettext(sentence)
    return message


def pydantic_errors(
    lang: Language, exc: ValidationError, names: dict[tuple[str | int, ...], str] | None = None
) -> dict[str, str]:
    """A schema's validation errors by form field: the error's location, or its first part
    (`names` maps other locations, e.g. ("location", "lat") -> "lat")."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        name = (names or {}).get(loc) or (str(loc[0]) if loc else "__all__")
        message = str(err.get("msg", "")).removeprefix("Value error, ")
        errors.setdefault(
            name, translated(lang, message, err.get("type"), **(err.get("ctx") or {}))
        )
    return errors


def api_field_errors(lang: Language, fields: Sequence[FieldError]) -> dict[str, str]:
    """An ApiError's `fields` by form field: the last named part of each location."""
    errors: dict[str, str] = {}
    for f in fields:
        names = [p for p in f.loc if isinstance(p, str) and p not in ("body", "query", "csv")]
        errors.setdefault(names[-1] if names else "__all__", translated(lang, f.msg))
    return errors


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional(form: FormData, name: str) -> str | None:
    return text(form, name) or None


def upload(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def items(cell: str) -> list[str]:
    """A list typed in one field: separated by commas, semicolons or Chinese punctuation."""
    for mark in ("，", "；", "、", ";"):
        cell = cell.replace(mark, ",")
    return [part.strip() for part in cell.split(",") if part.strip()]


def number(value: str) -> float | str:
    """A number typed in a field; other text is returned as is, for validation to name it."""
    try:
        return float(value.replace("，", ".").replace(",", "."))
    except ValueError:
        return value


def local_time(value: str, timezone: str) -> datetime | str:
    """A `datetime-local` field (2026-03-02T09:00) as an aware time in the organization's zone;
    text that is not a time is returned as is, for the schema to reject beside its field."""
    try:
        naive = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        return value
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(timezone))


def local_input(moment: datetime | None, timezone: str) -> str:
    """A time as a `datetime-local` field's value, in the organization's zone."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def first_errors(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, message in pairs:
        out.setdefault(name, message)
    return out

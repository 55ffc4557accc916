"""Messages to volunteers: Jinja2 templates in files (`templates/<locale>/<kind>.<part>.txt`,
kinds `proposed`, `cancelled`, `reminder`; parts `subject`, `email`, `sms`), in Simplified
Chinese and English, in plain words: what, where, when, whom to call, and the link.

A volunteer gets English when their languages include English and not Chinese; otherwise the
service's default (Chinese). Times are written in the request's own UTC offset, with the
weekday, by Babel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from babel.dates import format_datetime, format_time
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"
LOCALES = ("zh_CN", "en")
KINDS = ("proposed", "cancelled", "reminder")
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    undefined=StrictUndefined,
    autoescape=False,  # plain text, never HTML
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
)
_DAY_AND_TIME = {"zh_CN": "M月d日 EEEE HH:mm", "en": "EEEE d MMMM, HH:mm"}


@dataclass(frozen=True)
class Message:
    subject: str
    email: str
    sms: str


def locale_for(languages: Sequence[str], default: str) -> str:
    codes = {language.lower().split("-")[0].split("_")[0] for language in languages}
    if "en" in codes and "zh" not in codes:
        return "en"
    return default


def when(start: datetime, end: datetime, locale: str) -> str:
    """`start`-`end` as a volunteer reads it: "3月3日 星期二 14:00–16:00"."""
    first = format_datetime(start, _DAY_AND_TIME[locale], locale=locale)
    last = format_time(end, "HH:mm", locale=locale)
    if end.date() != start.date():
        last = format_datetime(end, _DAY_AND_TIME[locale], locale=locale)
    return f"{first}–{last}"


def render(kind: str, locale: str, context: dict[str, Any]) -> Message:
    """The message of `kind` in `locale`, from the template files."""
    parts = {
        part: _ENV.get_template(f"{locale}/{kind}.{part}.txt").render(context).strip()
        for part in ("subject", "email", "sms")
    }
    return Message(**parts)

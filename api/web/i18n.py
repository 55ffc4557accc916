"""The console's languages: Simplified Chinese by default, English by choice.

Messages are gettext catalogs under `locale/` with English msgids (`make messages` extracts
them from templates and Python, updates the catalogs and compiles the committed .mo files). A
request's language is the `lang` cookie (set by the switcher), else the first language of
Accept-Language the console speaks, else Chinese. Times are shown in the organization's time
zone (Asia/Shanghai by default), formatted by Babel for the language.
"""

from __future__ import annotations

import gettext as gettext_module
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
COOKIE = "lang"
# Cookie value (also the page's `lang` attribute) -> catalog folder.
LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}
DEFAULT = "zh-CN"
DEFAULT_TIMEZONE = "Asia/Shanghai"


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where shown."""
    return message


@dataclass(frozen=True)
class Language:
    code: str
    locale: Locale
    translations: gettext_module.NullTranslations

    def gettext(self, message: str, **variables: Any) -> str:
        text = self.translations.gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> str:
        text = self.translations.ngettext(singular, plural, n)
        return text % {"num": n, **variables}

    def when(self, moment: datetime | None, timezone: str = DEFAULT_TIMEZONE) -> str:
        """A date and time in the zone, e.g. 2026-03-02 周一 09:00."""
        if moment is None:
            return ""
        return format_datetime(
            moment, "yyyy-MM-dd EEE HH:mm", tzinfo=ZoneInfo(timezone), locale=self.locale
        )

    def clock(self, moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
        return format_datetime(moment, "HH:mm", tzinfo=ZoneInfo(timezone), locale=self.locale)

    def number(self, value: float | int | None, digits: int = 1) -> str:
        if value is None:
            return "-"
        return format_decimal(
            value, format="#,##0" + ("." + "#" * digits if digits else ""), locale=self.locale
        )

    def template_functions(self) -> dict[str, Callable[..., Any]]:
        """`_`/`gettext`/`ngettext` for templates, in Jinja's new style: variables are passed
        as keywords and escaped (the `{% trans %}` tag calls the same functions)."""
        translations = self.translations

        @pass_context
        def gettext(context: Context, message: str, **variables: Any) -> str:
            text = translations.gettext(message)
            if context.eval_ctx.autoescape:
                text = Markup(text)
            return text % variables if variables else text

        @pass_context
        def ngettext(
            context: Context, singular: str, plural: str, num: int, **variables: Any
        ) -> str:
            text = translations.ngettext(singular, plural, num)
            if context.eval_ctx.autoescape:
                text = Markup(text)
            return text % {"num": num, **variables}

        return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


@cache
def language(code: str) -> Language:
    folder = LANGUAGES.get(code, LANGUAGES[DEFAULT])
    translations = gettext_module.translation(
        DOMAIN, localedir=LOCALE_DIR, languages=[folder], fallback=True
    )
    return Language(code if code in LANGUAGES else DEFAULT, Locale.parse(folder), translations)


def negotiate(cookie: str | None, accept_language: str | None) -> Language:
    """The request's language: the cookie's, else the best of Accept-Language, else Chinese."""
    if cookie in LANGUAGES:
        return language(cookie)
    weighted = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            weighted.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(weighted):
        if tag.startswith("zh"):
            return language("zh-CN")
        if tag.startswith("en"):
            return language("en")
    return language(DEFAULT)

"""The console's words: every message in templates and pages is in the catalogs, translated to
Chinese, and compiled (the committed .mo files match the .po files); no template shows text
that bypasses gettext."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from api.web.i18n import LOCALE_DIR
from api.web.templating import ENVIRONMENT, TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
BABEL_CFG = ROOT / "api" / "web" / "babel.cfg"


def extracted_ids() -> set[str]:
    from babel.messages.frontend import parse_mapping_cfg

    with BABEL_CFG.open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def catalog(language: str) -> dict[str, str]:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        po = read_po(f)
    return {
        (m.id if isinstance(m.id, str) else m.id[0]): (
            m.string if isinstance(m.string, str) else (m.string or [""])[0]
        )
        for m in po
        if m.id
    }


def test_every_message_is_in_the_catalogs_and_translated_to_chinese() -> None:
    ids = extracted_ids()
    chinese = catalog("zh_CN")
    assert ids - set(chinese) == set(), "run `make messages` (messages missing from the catalogs)"
    assert set(chinese) - ids == set(), "run `make messages` (stale messages in the catalogs)"
    untranslated = sorted(i for i in ids if not chinese[i])
    assert untranslated == [], "messages without a Chinese translation"
    assert set(catalog("en")) == set(chinese)


def test_compiled_catalogs_match_their_sources() -> None:
    for language in ("zh_CN", "en"):
        folder = LOCALE_DIR / language / "LC_MESSAGES"
        with (folder / "messages.mo").open("rb") as f:
            compiled = {
                (m.id if isinstance(m.id, str) else m.id[0]): _plain(m.string)
                for m in read_mo(f)
                if m.id and m.string and _plain(m.string) != _plain(m.id)  # not untranslated
            }
        with (folder / "messages.po").open("rb") as f:
            source = {
                (m.id if isinstance(m.id, str) else m.id[0]): _plain(m.string)
                for m in read_po(f)
                if m.id and _plain(m.string) and not m.fuzzy
            }
        assert compiled == source, f"{language}: run `make messages` (the .mo is stale)"


def _plain(text: object) -> tuple[str, ...]:
    """A message's translation(s) as a tuple (plural forms come as lists or tuples)."""
    if isinstance(text, str):
        return (text,) if text else ()
    return tuple(t for t in (text or ()) if isinstance(t, str) and t)  # type: ignore[attr-defined]


_TAG = re.compile(r"<[^>]*>", re.S)
_WORDS = re.compile(r"[A-Za-z\u4e00-\u9fff]")


def test_templates_show_no_text_outside_gettext() -> None:
    """Between tags, a template's own text holds no letters: every word goes through `_()`."""
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for line in bare_text(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(TEMPLATES)}: {line[:60]!r}")
    assert offenders == []


def bare_text(source: str) -> list[str]:
    """The template's own text outside tags and Jinja blocks (expressions count as one blank)."""
    parts = []
    for _, kind, value in ENVIRONMENT.lex(source):
        if kind == "data":
            parts.append(value)
        elif kind in ("variable_begin", "block_begin"):
            parts.append(" ")
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", _TAG.sub("\n", "".join(parts)))
    return [line.strip() for line in text.splitlines() if _WORDS.search(line)]


def test_the_checker_sees_bare_text() -> None:
    """The check above is not vacuous: it finds a word typed straight into a template."""
    assert bare_text('<p class="x">Hello {{ _("World") }}</p>') == ["Hello"]
    assert bare_text('<p class="{{ c }}" title="{{ _("t") }}">{{ _("World") }}</p>') == []

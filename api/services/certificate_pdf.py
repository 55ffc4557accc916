"""Certificate PDFs in Simplified Chinese (fpdf2), with an embedded CJK font.

The font is found at run time: `VOLMATCH_CERTIFICATE_FONT` (a .ttf, .otf or .ttc file) when
set, else Debian's Noto CJK (`fonts-noto-cjk`, installed by `make test` and `make run`), else
what fontconfig offers for Chinese; with none, certificates answer 503 saying how to get one. In
a collection (.ttc) the Simplified Chinese face is taken. Noto CJK holds 65,000 glyphs and fpdf2
reads a font whole (0.85 s a document), so each batch first cuts the font down to the characters
its documents use, once (about 1 s), and every document then embeds only what it prints. Cuts are
kept for the next documents with the same characters (the printable ASCII is always in, so codes,
numbers and links never make a new cut; the same organization's certificates mostly reuse one).
"""

from __future__ import annotations

import functools
import shutil
import string
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from api.errors import ServiceUnavailable

NOTO_CJK = (
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
)
HOW_TO_GET_ONE = (
    "install Debian's fonts-noto-cjk (`make test` and `make run` do) or set "
    "VOLMATCH_CERTIFICATE_FONT to a .ttf, .otf or .ttc file with Chinese glyphs"
)


@dataclass(frozen=True, slots=True)
class FontFile:
    path: Path
    index: int  # the face in a collection (0 for a single font)


@dataclass(frozen=True, slots=True)
class ServiceLine:
    day: date
    center: str
    title: str
    hours: float


@dataclass(frozen=True, slots=True)
class CertificateText:
    """Everything printed on one certificate."""

    holder: str
    number: str  # the person's number in their organization (student number...)
    organization: str
    first_day: date
    last_day: date
    hours: float
    services: Sequence[ServiceLine]
    issued_on: date
    code: str
    verify_url: str


def find_font(configured: str | None) -> FontFile:
    """The CJK font certificates are drawn with, or 503 saying how to install one."""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise ServiceUnavailable(
                f"VOLMATCH_CERTIFICATE_FONT names {configured!r}, which is not a file; "
                + HOW_TO_GET_ONE
            )
        return _face(path)
    for path in NOTO_CJK:
        if path.is_file():
            return _face(path)
    found = _fontconfig_chinese()
    if found is not None:
        return _face(found)
    raise ServiceUnavailable("no font with Chinese glyphs for certificates: " + HOW_TO_GET_ONE)


def _fontconfig_chinese() -> Path | None:
    if shutil.which("fc-match") is None:
        return None
    answer = subprocess.run(
        ["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True, text=True, check=False
    )
    path = Path(answer.stdout.strip())
    if answer.returncode != 0 or not path.is_file():
        return None
    if path.suffix.lower() != ".ttc" and ord("证") not in TTFont(str(path)).getBestCmap():
        return None  # fontconfig's best match may be a Latin font
    return path


def _face(path: Path) -> FontFile:
    """The Simplified Chinese face of a collection (the first face elsewhere)."""
    if path.suffix.lower() != ".ttc":
        return FontFile(path, 0)
    collection = TTCollection(str(path), lazy=True)
    names = [font["name"].getDebugName(1) or "" for font in collection.fonts]
    chosen = next((i for i, n in enumerate(names) if n.endswith(" SC")), 0)
    return FontFile(path, chosen)


def _load(face: FontFile) -> TTFont:
    return TTFont(str(face.path), fontNumber=face.index, lazy=False)


def _texts(doc: CertificateText) -> Iterable[str]:
    yield from (doc.holder, doc.number, doc.organization, doc.code, doc.verify_url)
    for line in doc.services:
        yield from (line.center, line.title)


def render(docs: Sequence[CertificateText], face: FontFile) -> list[bytes]:
    """One PDF per certificate, drawn with `face` cut to the characters they use."""
    if not docs:
        return []
    chars = set(_FIXED_TEXT) | {c for doc in docs for text in _texts(doc) for c in text}
    suffix, data = _cut(face, "".join(sorted(chars)))
    with tempfile.TemporaryDirectory(prefix="volmatch-font-") as folder:
        cut = Path(folder) / f"cut{suffix}"
        cut.write_bytes(data)
        return [_draw(doc, cut) for doc in docs]


@functools.lru_cache(maxsize=16)
def _cut(face: FontFile, chars: str) -> tuple[str, bytes]:
    """`face` cut down to `chars`: the font file's suffix and bytes."""
    font = _load(face)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    cutter = subset.Subsetter(options)
    cutter.populate(text=chars)
    cutter.subset(font)
    with tempfile.TemporaryDirectory(prefix="volmatch-font-") as folder:
        suffix = ".otf" if "CFF " in font else ".ttf"
        path = Path(folder) / f"cut{suffix}"
        font.save(str(path))
        return suffix, path.read_bytes()


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _hours(hours: float) -> str:
    return f"{hours:g}"


_TITLE = "志愿服务时长证明"
_SUBTITLE = "Certificate of Volunteer Service Hours"
_HEADERS = ("日期", "服务单位", "服务项目", "时长（小时）")
_FIXED_TEXT = (
    _TITLE
    + _SUBTITLE
    + "".join(_HEADERS)
    + "兹证明（编号：）系志愿者，于至期间参加志愿服务，累计服务时长小时。特此证明。"
    + "服务记录出具单位盖章日期验证码网址访问上述核验本证明真伪共项"
    + "年月日"
    + string.printable.strip()
)


def _draw(doc: CertificateText, font_file: Path) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"{_TITLE} {doc.code}")
    pdf.set_creator("volmatch")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("cjk", fname=str(font_file))
    pdf.add_page()
    pdf.set_margins(22, 22, 22)
    pdf.set_y(28)
    width = pdf.epw
    pdf.set_font("cjk", size=26)
    pdf.cell(width, 14, _TITLE, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("cjk", size=10)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(width, 6, _SUBTITLE, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(10)
    number = f"（编号：{doc.number}）" if doc.number else ""
    # Spaces around names, dates and figures: lines break there, never inside a date, and a
    # no-break space (drawn as a space) keeps the hours with their unit.
    body = (
        f"兹证明 {doc.holder}{number} 系 {doc.organization} 志愿者，于 {_day(doc.first_day)} 至 "
        f"{_day(doc.last_day)} 期间参加志愿服务，累计服务时长 {_hours(doc.hours)}\u00a0小时。特此证明。"
    )
    pdf.set_font("cjk", size=14)
    pdf.multi_cell(width, 9, body, wrapmode=WrapMode.WORD, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    pdf.set_font("cjk", size=12)
    pdf.cell(
        width, 8, f"服务记录（共 {len(doc.services)} 项）", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font("cjk", size=10)
    with pdf.table(
        col_widths=(26, 50, 70, 24),
        text_align=("LEFT", "LEFT", "LEFT", "RIGHT"),
        wrapmode=WrapMode.CHAR,
        line_height=6,
        headings_style=FontFace(fill_color=(235, 235, 235)),  # one regular face: no bold
    ) as table:
        table.row(_HEADERS)
        for line in doc.services:
            table.row((line.day.isoformat(), line.center, line.title, _hours(line.hours)))
    pdf.ln(10)
    pdf.set_font("cjk", size=12)
    for text in (
        f"出具单位（盖章）：{doc.organization}",
        f"出具日期：{_day(doc.issued_on)}",
        f"验证码：{doc.code}",
        f"验证网址：{doc.verify_url}",
    ):
        pdf.multi_cell(width, 8, text, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("cjk", size=10)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(width, 8, "访问上述网址核验本证明真伪。", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())

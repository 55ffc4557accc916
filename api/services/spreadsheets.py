"""Spreadsheets in and out: what staff keep their lists in.

In: an uploaded file as a header and rows of text cells. XLSX is read with openpyxl (the first
sheet); anything else is CSV, decoded as UTF-8 (with or without a BOM) or, failing that, in the
encoding charset-normalizer detects (Chinese Excel saves GB18030/GBK), read as GB18030, the
superset of GBK and GB2312. A file that is neither is refused with a clear message, never read
as garbage. Out: XLSX, and CSV in UTF-8 with a BOM (so that Excel shows Chinese headers).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import charset_normalizer
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from api.errors import FieldError, InvalidInput, PayloadTooLarge

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHINESE = {"gb2312", "gbk", "gb18030", "hz", "big5", "big5hkscs", "cp936", "cp950"}


@dataclass(frozen=True)
class Sheet:
    """A header and its rows; `rows[i]` is the file's row `numbers[i]` (the header is row 1)."""

    header: list[str]
    rows: list[list[str]]
    numbers: list[int]


class UnreadableFile(InvalidInput):
    code = "unreadable_file"


def read_sheet(data: bytes, filename: str, max_rows: int) -> Sheet:
    """The file's header and non-empty rows, as text."""
    if not data.strip():
        raise UnreadableFile(
            "the file is empty", fields=[FieldError(loc=["file"], msg="the file is empty")]
        )
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        return _limited(_xlsx_rows(data), max_rows)
    return _limited(list(csv.reader(io.StringIO(decode_text(data), newline=""))), max_rows)


def decode_text(data: bytes) -> str:
    """UTF-8, or the detected Chinese encoding (read as GB18030); else UnreadableFile."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    encoding = (best.encoding or "").lower() if best is not None else ""
    if encoding in _CHINESE or encoding.startswith("gb"):
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            pass
    raise UnreadableFile(
        "the file is neither UTF-8 nor GB18030/GBK text, nor an XLSX workbook; save it as "
        "CSV (UTF-8 or GBK) or XLSX and upload it again; nothing was written",
        fields=[FieldError(loc=["file"], msg="cannot be decoded")],
    )


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise UnreadableFile(
            "the file is not a readable XLSX workbook; nothing was written",
            fields=[FieldError(loc=["file"], msg="not an XLSX workbook")],
        ) from None
    try:
        sheet = book.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _limited(lines: list[list[str]], max_rows: int) -> Sheet:
    numbered = [(n, [c.strip() for c in line]) for n, line in enumerate(lines, start=1)]
    numbered = [(n, line) for n, line in numbered if any(line)]
    if not numbered:
        raise UnreadableFile(
            "the file has no header row", fields=[FieldError(loc=["file"], msg="no header row")]
        )
    (_, header), rest = numbered[0], numbered[1:]
    while header and not header[-1]:
        header.pop()
    if len(rest) > max_rows:
        raise PayloadTooLarge(f"the file has more than {max_rows} rows; split it")
    return Sheet(header, [line for _, line in rest], [n for n, _ in rest])


def xlsx_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    for column, name in zip(sheet.columns, header, strict=False):
        width = max([len(str(name)) * 2, *(len(str(c.value or "")) for c in column)])
        sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 40)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bom_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """CSV in UTF-8 with a BOM: Excel on Chinese Windows then shows the headers right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")

"""CSV files for people who open them in Excel: UTF-8 with a byte order mark (without one, Excel
reads UTF-8 as the local code page and garbles Chinese), CRLF lines, headers in Simplified
Chinese by default or in English (`lang=en`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, Literal

Lang = Literal["zh", "en"]
BOM = "\ufeff"


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return BOM + out.getvalue()

"""The roster CSV format: one volunteer per line, columns named in the header.

| column | meaning |
| --- | --- |
| `external_id` | required: student or staff number, unique within the university |
| `name`, `phone`, `email`, `address`, `district` | text |
| `lat`, `lon` | home location in degrees (both or neither; or an `address` with geocoding on) |
| `skills`, `languages` | `;`-separated lists |
| `attributes` | `key=value;key=value` (`true`/`false` and numbers are typed) |
| `availability` | `;`-separated `start/end` pairs with offsets: `2026-03-02T08:00+08:00/2026-03-02T12:00+08:00` |
| `weekly` | `;`-separated weekly patterns (`Tue 14:00-18:00`), expanded from `weekly_from` to `weekly_to` (dates) in `timezone` (default the university's) |
| `max_hours`, `max_travel_km`, `max_assignments` | numbers |
| `target_hours` | the person's annual hours target (default: the organization's) |
| `preferences` | `service_type=weight;...` |

Rows are validated like JSON rows; errors name the CSV line (the header is line 1) and the column.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from api.errors import FieldError, InvalidInput, Loc, PayloadTooLarge

COLUMNS = (
    "external_id",
    "name",
    "phone",
    "email",
    "address",
    "district",
    "lat",
    "lon",
    "skills",
    "languages",
    "attributes",
    "availability",
    "weekly",
    "weekly_from",
    "weekly_to",
    "timezone",
    "max_hours",
    "max_travel_km",
    "max_assignments",
    "target_hours",
    "preferences",
)
_TEXT = ("external_id", "name", "phone", "email", "address", "district")
_NUMBERS = ("max_hours", "max_travel_km", "max_assignments", "target_hours")
_WEEKLY_COLUMN = {
    "patterns": "weekly",
    "start_date": "weekly_from",
    "end_date": "weekly_to",
    "timezone": "timezone",
}


class Roster:
    """Parsed roster lines: one JSON-like record per line, the CSV line each came from, and the
    problems the CSV text itself has (validation happens with the JSON path's)."""

    def __init__(
        self, records: list[dict[str, Any]], lines: list[int], problems: list[FieldError]
    ) -> None:
        self.records = records
        self.lines = lines
        self.problems = problems

    def row_loc(self, index: int, field_name: str) -> Loc:
        return ["csv", self.lines[index], column_of(field_name)]

    def error_loc(self, index: int, loc: tuple[int | str, ...]) -> Loc:
        field_name = str(loc[0]) if loc else "external_id"
        sub = str(loc[1]) if len(loc) > 1 else None
        return ["csv", self.lines[index], column_of(field_name, sub)]


def column_of(field_name: str, sub: str | None = None) -> str:
    if field_name == "location":
        return sub if sub in ("lat", "lon") else "lat"
    if field_name == "weekly":
        return _WEEKLY_COLUMN.get(sub or "patterns", "weekly")
    return field_name


def _items(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _scalar(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return _number(text)


def _number(text: str) -> Any:
    """A numeric cell as a number (CSV has only text); anything else stays text, so that
    validation names the cell."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _pairs(cell: str, column: str, problems: list[str]) -> dict[str, str]:
    out = {}
    for item in _items(cell):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"{column}: {item!r} is not key=value")
            continue
        out[key.strip()] = value.strip()
    return out


def _record(row: dict[str, str], problems: list[str]) -> dict[str, Any]:
    """One CSV row as the JSON body of a volunteer; problems it cannot express go to `problems`."""
    cell = {k: (v or "").strip() for k, v in row.items() if k is not None}
    out: dict[str, Any] = {k: cell[k] for k in _TEXT if cell.get(k)}
    out.setdefault("external_id", cell.get("external_id", ""))
    lat, lon = cell.get("lat"), cell.get("lon")
    if lat or lon:
        out["location"] = {
            "lat": _number(lat) if lat else None,
            "lon": _number(lon) if lon else None,
        }
    for column in ("skills", "languages"):
        if cell.get(column):
            out[column] = _items(cell[column])
    if cell.get("attributes"):
        out["attributes"] = {
            k: _scalar(v) for k, v in _pairs(cell["attributes"], "attributes", problems).items()
        }
    if cell.get("preferences"):
        out["preferences"] = {
            k: _number(v) for k, v in _pairs(cell["preferences"], "preferences", problems).items()
        }
    if cell.get("availability"):
        spans = []
        for item in _items(cell["availability"]):
            start, sep, end = item.partition("/")
            if not sep:
                problems.append(f"availability: {item!r} is not start/end")
                continue
            spans.append({"start": start.strip(), "end": end.strip()})
        out["availability"] = spans
    if cell.get("weekly") or cell.get("weekly_from") or cell.get("weekly_to"):
        weekly: dict[str, Any] = {
            "patterns": _items(cell.get("weekly", "")),
            "start_date": cell.get("weekly_from") or None,
            "end_date": cell.get("weekly_to") or None,
        }
        if cell.get("timezone"):
            weekly["timezone"] = cell["timezone"]
        out["weekly"] = weekly
    for column in _NUMBERS:
        if cell.get(column):
            out[column] = _number(cell[column])
    return out


def parse_roster(text: str, max_rows: int) -> Roster:
    """Parse a roster into records; a bad header or text that is not CSV at all is a 422 at
    once, other problems are kept."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _parse(reader, max_rows)
    except csv.Error as exc:  # a quote left open, a NUL byte, a cell over the size limit
        raise InvalidInput(
            "the body is not readable as CSV; nothing was written",
            fields=[FieldError(loc=["csv", reader.line_num], msg=str(exc))],
        ) from None


def _parse(reader: csv.DictReader[str], max_rows: int) -> Roster:
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in COLUMNS]
    if "external_id" not in header or unknown:
        msg = (
            f"unknown column(s): {', '.join(unknown)}"
            if unknown
            else "the header has no external_id column"
        )
        raise InvalidInput(
            f"the CSV header is not valid; columns are: {', '.join(COLUMNS)}",
            fields=[FieldError(loc=["csv", 1, c], msg=msg) for c in (unknown or ["external_id"])],
        )
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    problems: list[FieldError] = []
    for row in reader:
        if None in row:
            problems.append(FieldError(loc=["csv", reader.line_num], msg="more cells than columns"))
        if len(records) >= max_rows:
            raise PayloadTooLarge(f"the roster has more than {max_rows} rows; split it")
        row_problems: list[str] = []
        records.append(_record(row, row_problems))
        lines.append(reader.line_num)
        for message in row_problems:
            column, _, msg = message.partition(": ")
            problems.append(FieldError(loc=["csv", reader.line_num, column], msg=msg))
    return Roster(records, lines, problems)

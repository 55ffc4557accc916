"""The columns of the spreadsheets staff upload, mapped in one place onto the batch formats the
services take: requests (`RequestIn`) for centers and roster records (the JSON roster rows of
`api.services.volunteers`) for universities.

Headers may be Chinese or English (`标题` or `title`); cells are what people type in Excel:
times like `2026-03-02 09:00` in the organization's zone (an explicit offset is kept), lists
separated by `;`, `，`, `、` or `,`, yes/no as `是`/`否`, weekly availability as
`周二 14:00-18:00；周六 08:00-12:00` (or `Tue 14:00-18:00`), gender as `男`/`女`. Problems are
located as `["row", ROW, HEADER]`: the file's row number (the header is row 1) and the column as
written in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from api.errors import FieldError, InvalidInput, Loc
from api.services.spreadsheets import Sheet


@dataclass(frozen=True)
class Column:
    field: str
    names: tuple[str, ...]  # accepted headers; the first is the Chinese one


REQUEST_COLUMNS = (
    Column("external_id", ("编号", "external_id")),
    Column("title", ("标题", "名称", "title")),
    Column("service_type", ("服务类型", "类型", "service_type")),
    Column("start", ("开始时间", "start")),
    Column("end", ("结束时间", "end")),
    # A flexible visit (the plan chooses the start) instead of a start and an end.
    Column("earliest_start", ("最早开始", "最早开始时间", "earliest_start")),
    Column("latest_end", ("最晚结束", "最晚结束时间", "latest_end")),
    Column("duration", ("时长（分钟）", "时长(分钟)", "时长", "duration")),
    Column("gender", ("性别要求", "性别", "gender")),
    Column("same_gender", ("同性别", "same_gender")),
    Column("address", ("地址", "address")),
    Column("district", ("区县", "区", "district")),
    Column("lat", ("纬度", "lat", "latitude")),
    Column("lon", ("经度", "lon", "longitude")),
    Column("required_skills", ("所需技能", "技能", "required_skills")),
    Column("languages", ("语言", "languages")),
    Column("volunteers_needed", ("人数", "所需人数", "volunteers_needed")),
    Column("min_volunteers", ("最少人数", "min_volunteers")),
    Column("priority", ("优先级", "priority")),
    Column("mandatory", ("必须", "是否必须", "mandatory")),
    Column("description", ("说明", "描述", "description")),
    Column("bring", ("携带物品", "需携带", "请携带", "what to bring", "bring")),
)

ROSTER_COLUMNS = (
    Column("external_id", ("学号", "工号", "编号", "external_id")),
    Column("name", ("姓名", "name")),
    Column("phone", ("手机号", "手机", "电话", "phone")),
    Column("email", ("邮箱", "email")),
    Column("college", ("学院", "college")),
    Column("gender", ("性别", "gender")),
    Column("skills", ("技能", "skills")),
    Column("languages", ("语言", "languages")),
    Column("weekly", ("可服务时间", "weekly")),
    Column("weekly_from", ("服务开始日期", "weekly_from")),
    Column("weekly_to", ("服务结束日期", "weekly_to")),
    Column("address", ("地址", "住址", "address")),
    Column("district", ("区县", "区", "district")),
    Column("lat", ("纬度", "lat", "latitude")),
    Column("lon", ("经度", "lon", "longitude")),
    Column("max_hours", ("最多时长", "max_hours")),
    Column("max_travel_km", ("最远距离", "max_travel_km")),
    Column("max_assignments", ("最多次数", "max_assignments")),
)

# A roster's weekly patterns without dates run for a term from the upload day.
TERM_DAYS = 140
_WEEKDAYS = {"一": "Mon", "二": "Tue", "三": "Wed", "四": "Thu", "五": "Fri", "六": "Sat",
             "日": "Sun", "天": "Sun"}  # fmt: skip
_ORDER = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CN_DAY = re.compile(r"(?:周|星期|礼拜)([一二三四五六日天])")
_TIME = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*[T ]\s*"
    r"(\d{1,2})\s*[:：]\s*(\d{2})(?:\s*[:：]\s*(\d{2}))?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_YES = {"是", "必须", "y", "yes", "true", "1", "√"}
_NO = {"否", "不", "n", "no", "false", "0", ""}
_GENDER = {"男": "m", "女": "f", "m": "m", "f": "f", "male": "m", "female": "f"}


@dataclass
class Mapped:
    """Batch records from a sheet, where each came from, and the problems found on the way."""

    records: list[dict[str, Any]]
    rows: list[int]
    headers: dict[str, str]  # field -> the header as written in the file
    problems: list[FieldError] = field(default_factory=list)

    def loc(self, index: int, field_name: str) -> Loc:
        return ["row", self.rows[index], self.header_of(field_name)]

    def header_of(self, field_name: str) -> str:
        return self.headers.get(field_name) or self.headers.get(
            _HEADER_FIELD.get(field_name, ""), field_name
        )


# Fields of the batch formats that come from another column of the sheet.
_HEADER_FIELD = {
    "location": "lat",
    "weekly": "weekly",
    "availability": "weekly",
    "attributes": "gender",
    "same_attributes": "same_gender",
    "required_skills": "required_skills",
}


def _key(header: str) -> str:
    return re.sub(r"\s+", "", header).lower()


def _header(sheet: Sheet, columns: tuple[Column, ...], required: tuple[str, ...]) -> dict[int, str]:
    """Position -> field; InvalidInput naming unknown, repeated and missing columns."""
    known = {_key(name): c.field for c in columns for name in c.names}
    by_position: dict[int, str] = {}
    problems = []
    for i, name in enumerate(sheet.header):
        if not name:
            continue
        field_name = known.get(_key(name))
        if field_name is None:
            problems.append(FieldError(loc=["row", 1, name], msg="unknown column"))
        elif field_name in by_position.values():
            problems.append(FieldError(loc=["row", 1, name], msg="the column appears twice"))
        else:
            by_position[i] = field_name
    for needed in required:
        if needed not in by_position.values():
            column = next(c for c in columns if c.field == needed)
            problems.append(FieldError(loc=["row", 1, column.names[0]], msg="missing column"))
    if problems:
        raise InvalidInput(
            "the header row is not valid; nothing was written. Columns: "
            + ", ".join(f"{c.names[0]} ({c.names[-1]})" for c in columns),
            fields=problems,
        )
    return by_position


def items(cell: str) -> list[str]:
    for mark in ("，", "；", "、", ";"):
        cell = cell.replace(mark, ",")
    return [part.strip() for part in cell.split(",") if part.strip()]


def time_text(cell: str, offset: str) -> str:
    """`2026-03-02 09:00` (or 2026/3/2 9:00, 2026年3月2日 9:00) as ISO 8601 with the offset;
    text that is not a time is returned as it is, for validation to name it."""
    match = _TIME.match(cell)
    if match is None:
        return cell
    y, mo, d, h, mi, s, tz = match.groups()
    zone = "+00:00" if tz == "Z" else (tz[:3] + ":" + tz[-2:] if tz else offset)
    return f"{y}-{int(mo):02d}-{int(d):02d}T{int(h):02d}:{mi}:{s or '00'}{zone}"


def date_text(cell: str) -> str:
    match = _DATE.match(cell)
    if match is None:
        return cell
    y, mo, d = match.groups()
    return f"{y}-{int(mo):02d}-{int(d):02d}"


def _number(cell: str) -> Any:
    for kind in (int, float):
        try:
            return kind(cell)
        except ValueError:
            pass
    return cell


def _yes_no(cell: str) -> Any:
    lowered = cell.strip().lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    return cell


def weekly_patterns(cell: str) -> list[str]:
    """`周二 14:00-18:00；周一至周五 9:00-12:00` as `Tue 14:00-18:00`, `Mon,...,Fri 09:00-12:00`."""
    out = []
    plain = cell.replace("～", "-").replace("~", "-").replace("—", "-").replace("：", ":")
    for part in (p.strip() for p in re.split(r"[;；\n]", plain) if p.strip()):
        text = re.sub(
            r"(?:周|星期|礼拜)([一二三四五六日天])\s*(?:至|到|-)\s*(?:周|星期|礼拜)?([一二三四五六日天])",
            lambda m: ",".join(
                _ORDER[_ORDER.index(_WEEKDAYS[m[1]]) : _ORDER.index(_WEEKDAYS[m[2]]) + 1]
            ),
            part,
        )
        text = _CN_DAY.sub(lambda m: _WEEKDAYS[m[1]] + ",", text)
        text = re.sub(r",\s*(?=\s|\d)", " ", text).replace(", ", ",")
        days, _, clock = text.strip().partition(" ")
        days = ",".join(d for d in re.split(r"[,，、]", days) if d)
        span = re.sub(r"\b(\d):", r"0\1:", clock.strip().replace(" ", ""))
        out.append(f"{days} {span}".strip())
    return out


def _cells(sheet: Sheet, by_position: dict[int, str], row: list[str]) -> dict[str, str]:
    return {f: (row[i].strip() if i < len(row) else "") for i, f in by_position.items()}


def _mapped(sheet: Sheet, by_position: dict[int, str]) -> Mapped:
    headers = {f: sheet.header[i] for i, f in by_position.items()}
    return Mapped(records=[], rows=[], headers=headers)


# A requests sheet gives each row a fixed time or a window and a duration: either pair of
# columns (or both, row by row).
_REQUEST_TIMES = (("start", "end"), ("earliest_start", "latest_end", "duration"))


def request_records(sheet: Sheet, offset: str) -> Mapped:
    """Rows of a requests sheet as `RequestIn` data (times without an offset get `offset`): a
    row with 开始时间/结束时间 is a fixed request, one with 最早开始/最晚结束/时长（分钟） a flexible
    visit; 性别要求 (男/女) fixes the volunteers' gender, 同性别 (是) asks one gender of the
    whole team."""
    probe = _header(sheet, REQUEST_COLUMNS, ("title", "service_type"))
    given = set(probe.values())
    times = next((t for t in _REQUEST_TIMES if set(t) <= given), _REQUEST_TIMES[0])
    by_position = _header(sheet, REQUEST_COLUMNS, ("title", "service_type", *times))
    mapped = _mapped(sheet, by_position)
    for number, row in zip(sheet.numbers, sheet.rows, strict=True):
        cell = _cells(sheet, by_position, row)
        record: dict[str, Any] = {
            k: cell[k]
            for k in (
                "external_id", "title", "service_type", "address", "district", "description",
                "bring",
            )
            if cell.get(k)
        }
        record.setdefault("title", cell.get("title", ""))
        record.setdefault("service_type", cell.get("service_type", ""))
        # Blank cells of the form the row uses are errors; of the other form, absent.
        window = any(cell.get(k) for k in _REQUEST_TIMES[1])
        fixed = not window or any(cell.get(k) for k in _REQUEST_TIMES[0])
        for k in _REQUEST_TIMES[0] if fixed else ():
            record[k] = time_text(cell.get(k, ""), offset)
        for k in _REQUEST_TIMES[1] if window else ():
            if cell.get(k) or not fixed:
                text = cell.get(k, "")
                record[k] = _number(text) if k == "duration" else time_text(text, offset)
        if cell.get("gender"):
            gender = _GENDER.get(cell["gender"].strip().lower())
            if gender is None:
                mapped.problems.append(
                    FieldError(
                        loc=["row", number, mapped.headers["gender"]], msg="write 男 or 女"
                    )
                )
            else:
                record["attributes"] = {"gender": gender}
        if cell.get("same_gender") and _yes_no(cell["same_gender"]) is True:
            record["same_attributes"] = ["gender"]
        if cell.get("lat") or cell.get("lon"):
            record["location"] = {
                "lat": _number(cell.get("lat", "")),
                "lon": _number(cell.get("lon", "")),
            }
        for k in ("required_skills", "languages"):
            if cell.get(k):
                record[k] = items(cell[k])
        for k in ("volunteers_needed", "min_volunteers", "priority"):
            if cell.get(k):
                record[k] = _number(cell[k])
        if "mandatory" in cell:
            record["mandatory"] = _yes_no(cell["mandatory"])
        mapped.records.append(record)
        mapped.rows.append(number)
    return mapped


def roster_records(sheet: Sheet, timezone: str, today: date) -> Mapped:
    """Rows of a roster sheet as roster records (weekly patterns without dates run from `today`
    for a term)."""
    by_position = _header(sheet, ROSTER_COLUMNS, ("external_id",))
    mapped = _mapped(sheet, by_position)
    for number, row in zip(sheet.numbers, sheet.rows, strict=True):
        cell = _cells(sheet, by_position, row)
        record: dict[str, Any] = {
            k: cell[k] for k in ("name", "phone", "email", "address", "district") if cell.get(k)
        }
        record["external_id"] = cell.get("external_id", "")
        if cell.get("lat") or cell.get("lon"):
            record["location"] = {
                "lat": _number(cell.get("lat", "")),
                "lon": _number(cell.get("lon", "")),
            }
        for k in ("skills", "languages"):
            if cell.get(k):
                record[k] = items(cell[k])
        attributes = {}
        if cell.get("gender"):
            gender = _GENDER.get(cell["gender"].strip().lower())
            if gender is None:
                mapped.problems.append(
                    FieldError(loc=["row", number, mapped.headers["gender"]], msg="write 男 or 女")
                )
            else:
                attributes["gender"] = gender
        if cell.get("college"):
            attributes["college"] = cell["college"]
        if attributes:
            record["attributes"] = attributes
        if cell.get("weekly"):
            start = date_text(cell.get("weekly_from", "")) or today.isoformat()
            end = (
                date_text(cell.get("weekly_to", ""))
                or (today + timedelta(days=TERM_DAYS)).isoformat()
            )
            record["weekly"] = {
                "patterns": weekly_patterns(cell["weekly"]),
                "start_date": start,
                "end_date": end,
                "timezone": timezone,
            }
        for k in ("max_hours", "max_travel_km", "max_assignments"):
            if cell.get(k):
                record[k] = _number(cell[k])
        mapped.records.append(record)
        mapped.rows.append(number)
    return mapped


def error_loc(mapped: Mapped) -> Any:
    """Where a validation error of record `index` (a pydantic location) lies in the sheet."""

    def loc(index: int, where: tuple[int | str, ...]) -> Loc:
        name = str(where[0]) if where else "external_id"
        if name == "location" and len(where) > 1 and str(where[1]) in ("lat", "lon"):
            name = str(where[1])
        elif name == "weekly" and len(where) > 1:
            name = {"start_date": "weekly_from", "end_date": "weekly_to"}.get(
                str(where[1]), "weekly"
            )
        return mapped.loc(index, name)

    return loc

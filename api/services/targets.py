"""Annual hours targets: progress per person, and who is behind.

A target is set per organization (`PUT /v1/organizations/{id}/target`: hours a year for each of
its volunteers, and the first day of its target year, 01-01 by default: the calendar year in the
organization's time zone) and per person (`target_hours` on a volunteer, which overrides it).
Progress counts the hours ledger within the organization's target year. "On track" compares
them with the target times the share of the year gone by (as of now; the whole target for a
year that is over); "behind" is not on track. The owner organization sees names and numbers; an
admin sees ids only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.errors import NotFound
from api.models import ROSTER_OWNERS, OrgKind, utc_now
from api.pagination import decode_cursor, next_cursor
from api.repositories import targets as repo
from api.repositories.targets import OrgPeriod
from api.schemas.targets import TargetProgress, TargetReport
from api.services.csv_export import Lang, csv_text
from api.services.organizations import Caller
from api.services.periods import target_year

CSV_PAGE = 5000
TARGET_HEADERS: dict[Lang, tuple[str, ...]] = {
    "zh": (
        "志愿者ID",
        "组织ID",
        "编号",
        "姓名",
        "周期开始",
        "周期结束",
        "年度目标（小时）",
        "已服务（小时）",
        "尚差（小时）",
        "应达（小时）",
        "进度达标",
    ),
    "en": (
        "volunteer_id",
        "organization_id",
        "external_id",
        "name",
        "period_start",
        "period_end",
        "target_hours",
        "served_hours",
        "remaining_hours",
        "expected_hours",
        "on_track",
    ),
}
ON_TRACK_TEXT: dict[Lang, tuple[str, str]] = {"zh": ("否", "是"), "en": ("no", "yes")}


def _periods(
    session: Session, caller: Caller, year: int, organization_id: int | None, now: datetime
) -> list[OrgPeriod]:
    if caller.kind is not OrgKind.ADMIN:
        if organization_id is not None and organization_id != caller.org_id:
            raise NotFound(f"no organization {organization_id}")
        organization_id = caller.org_id
    periods = []
    for org in repo.roster_owners_with_targets(
        session, [k.value for k in ROSTER_OWNERS], organization_id
    ):
        start, end = target_year(year, org.target_period_start, org.timezone)
        elapsed = min(max((now - start) / (end - start), 0.0), 1.0)
        periods.append(OrgPeriod(org.id, start, end, elapsed))
    return periods


def progress_page(
    session: Session,
    caller: Caller,
    *,
    year: int,
    organization_id: int | None,
    behind: bool,
    cursor: str | None,
    limit: int,
    now: datetime | None = None,
) -> TargetReport:
    now = now or utc_now()
    periods = _periods(session, caller, year, organization_id, now)
    by_org = {p.organization_id: p for p in periods}
    rows = repo.progress(
        session, periods, behind_only=behind, after_id=decode_cursor(cursor), limit=limit
    )
    items = []
    for r in rows:
        period = by_org[r.organization_id]
        own = caller.owns(r.organization_id)
        target, served = float(r.target), round(float(r.served), 2)
        expected = round(float(r.expected), 2)
        items.append(
            TargetProgress(
                volunteer_id=r.id,
                organization_id=r.organization_id,
                external_id=r.external_id if own else None,
                name=r.name if own else None,
                period_start=period.start.date(),
                period_end=(period.end - timedelta(days=1)).date(),
                target_hours=target,
                served_hours=served,
                remaining_hours=round(max(target - served, 0.0), 2),
                expected_hours=expected,
                on_track=served >= expected,
            )
        )
    return TargetReport(
        year=year, as_of=now, items=items, next_cursor=next_cursor([r.id for r in rows], limit)
    )


def progress_csv(
    session: Session,
    caller: Caller,
    *,
    year: int,
    organization_id: int | None,
    behind: bool,
    lang: Lang,
) -> str:
    """Every matching person (not one page), as CSV."""
    now = utc_now()

    def rows() -> Iterator[list[object]]:
        cursor = None
        while True:
            page = progress_page(
                session, caller, year=year, organization_id=organization_id, behind=behind,
                cursor=cursor, limit=CSV_PAGE, now=now,
            )  # fmt: skip
            for p in page.items:
                yield [
                    p.volunteer_id,
                    p.organization_id,
                    p.external_id or "",
                    p.name or "",
                    p.period_start.isoformat(),
                    p.period_end.isoformat(),
                    f"{p.target_hours:g}",
                    f"{p.served_hours:g}",
                    f"{p.remaining_hours:g}",
                    f"{p.expected_hours:g}",
                    ON_TRACK_TEXT[lang][p.on_track],
                ]
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    return csv_text(TARGET_HEADERS[lang], rows())

"""Planners' reports: KPI tables, charts and the shortage diagnosis, as Markdown and HTML.

`write_run_report(result, folder)` writes `report.md`, `report.html` (the same document), a
`kpis.json` with every KPI, shortage and verified remedy, and the PNG charts. `write_sweep_report`
writes `sweep.md`, `sweep.html`, `sweep.csv`, `sweep.json` and `sweep.png`. Reports carry no
personal data: volunteers appear only as counts, shares and points on the map.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import charts
from .diagnose import Diagnosis
from .kpis import SCALAR_KPIS, Kpis
from .runner import RunResult, SweepResult, SweepRow, overrides_text

__all__ = [
    "Bullets",
    "Heading",
    "Image",
    "Para",
    "Table",
    "day_table",
    "kpi_table",
    "sweep_table",
    "to_html",
    "to_markdown",
    "write_run_report",
    "write_sweep_report",
]


# --------------------------------------------------------------------------------------------
# A tiny document model rendered to Markdown and to HTML
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str  # `code` spans are the only markup


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Image:
    path: str
    alt: str


Block = Heading | Para | Bullets | Table | Image


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {b.text}")
        elif isinstance(b, Para):
            out.append(b.text)
        elif isinstance(b, Bullets):
            out.append("\n".join(f"- {item}" for item in b.items))
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(_md_cell(h) for h in b.header) + " |"]
            lines.append("|" + "|".join(" --- " for _ in b.header) + "|")
            lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows)
            out.append("\n".join(lines))
        else:
            out.append(f"![{b.alt}]({b.path})")
    return "\n\n".join(out) + "\n"


def _inline(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f2f2f2; }
td:not(:first-child) { font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5rem 0; }
code { background: #f4f4f4; padding: 0 0.2rem; }
"""


def to_html(blocks: Sequence[Block], title: str) -> str:
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{_inline(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            body.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Bullets):
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{_inline(h)}</th>" for h in b.header)
            rows = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in b.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        else:
            body.append(f'<img src="{html.escape(b.path)}" alt="{html.escape(b.alt)}">')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _write_document(folder: Path, stem: str, blocks: Sequence[Block], title: str) -> None:
    (folder / f"{stem}.md").write_text(to_markdown(blocks), encoding="utf-8")
    (folder / f"{stem}.html").write_text(to_html(blocks, title), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def _fmt(value: Any, pattern: str) -> str:
    if value is None:
        return "-"
    if pattern == "{:d}":
        return f"{int(value):d}"
    return pattern.format(value)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def kpi_table(kpis: dict[str, Kpis]) -> Table:
    """The scalar KPIs, one column per engine."""
    engines = list(kpis)
    rows = [("status", *(k.status for k in kpis.values()))]
    rows += [
        (label, *(_fmt(getattr(kpis[e], f), pattern) for e in engines))
        for f, label, pattern in SCALAR_KPIS
    ]
    return Table(("KPI", *engines), tuple(rows))


def _breakdown(
    kpis: dict[str, Kpis], attr: str, label: str, *, sort_numeric: bool = False
) -> Table:
    keys = {k for x in kpis.values() for k in getattr(x, attr)}
    order = sorted(keys, key=lambda k: (int(k) if sort_numeric else 0, k))
    rows = tuple(
        (k.replace("_", " "), *(_pct(getattr(x, attr).get(k)) for x in kpis.values()))
        for k in order
    )
    return Table((label, *kpis), rows)


def _days_by_engine(kpis: dict[str, Kpis]) -> Table:
    """Per local day: requests, and per engine fully staffed, slot fill rate and travel."""
    days = sorted({d for x in kpis.values() for d in x.by_day})
    header = ["日期 day", "需求 requests"]
    for e in kpis:
        header += [f"{e}: 全员到位 fully staffed", f"{e}: 岗位填充率 fill rate", f"{e}: 路程 km"]
    rows = []
    for d in days:
        first = next(x.by_day[d] for x in kpis.values() if d in x.by_day)
        row = [d, f"{int(first['requests']):d}"]
        for x in kpis.values():
            k = x.by_day.get(d, {})
            row += [
                f"{int(k.get('fully_staffed', 0)):d}",
                _pct(k.get("slot_fill_rate")),
                f"{k.get('travel_km', 0.0):.1f}",
            ]
        rows.append(tuple(row))
    return Table(tuple(header), tuple(rows))


def _numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d.,]+%?|-", text.strip()))


def text_table(table: Table) -> str:
    """A table as aligned plain text (for the terminal); numbers right-aligned."""
    rows = (table.header, *table.rows)
    widths = [max(len(r[i]) for r in rows) for i in range(len(table.header))]
    lines = [
        "  ".join(
            c.rjust(w) if i and _numeric(c) else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Run report
# --------------------------------------------------------------------------------------------


def write_run_report(result: RunResult, folder: Path) -> list[Path]:
    """Write the run report folder; return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = result.loaded.spec
    gen = result.generated
    kpis = {r.engine: r.kpis for r in result.runs}
    plans = {r.engine: r.plan for r in result.runs}
    written: list[Path] = []

    def chart(name: str) -> Path:
        path = folder / name
        written.append(path)
        return path

    charts.coverage_by_service(kpis, chart("coverage_by_service.png"))
    charts.unfilled_by_reason(kpis, chart("unfilled_by_reason.png"))
    charts.hours_distribution(result.instance, plans, kpis, chart("hours.png"))
    charts.travel_distribution(plans, kpis, chart("travel.png"))
    for engine, plan in plans.items():
        charts.plan_map(
            result.instance,
            plan,
            gen.places,
            f"{spec.title}\n{engine}: volunteers, requests and assignments",
            chart(f"map_{engine}.png"),
        )

    horizon = spec.horizon
    end = horizon.dates()[-1]
    blocks: list[Block] = [
        Heading(f"{spec.title}", 1),
        Para(
            f"Scenario `{result.loaded.name}` ({result.loaded.path.name}). "
            + " ".join(spec.description.split())
        ),
    ]
    if spec.questions:
        blocks += [Para("Questions it answers:"), Bullets(spec.questions)]
    blocks += [
        Heading("Setup"),
        Table(
            ("parameter", "value"),
            (
                ("scale", f"{gen.scale:g}"),
                ("seed", str(gen.seed)),
                ("overrides (--set)", overrides_text(result.loaded.overrides)),
                (
                    "horizon",
                    f"{horizon.start.isoformat()} to {end.isoformat()} ({horizon.days} days, UTC{horizon.utc_offset})",
                ),
                (
                    "volunteers",
                    f"{len(result.instance.volunteers)}: "
                    + ", ".join(f"{k} {v}" for k, v in gen.pool_sizes.items()),
                ),
                (
                    "requests",
                    f"{len(result.instance.requests)}: "
                    + ", ".join(f"{k} {v}" for k, v in gen.service_sizes.items()),
                ),
                ("engines", ", ".join(kpis)),
                ("time limit per solve", f"{result.time_limit_s:g} s"),
            ),
        ),
        Heading("KPIs"),
        kpi_table(kpis),
        Para(
            "Definitions: docs/scenarios.md (and `scenarios/kpis.py`). Coverage is the sum over "
            "requests of priority x volunteers assigned; the proven bound is an upper bound on "
            "it where the engine proves one."
        ),
        Heading("Fill rate by service type", 3),
        _breakdown(kpis, "fill_rate_by_service", "service type"),
        Image("coverage_by_service.png", "coverage by service type per engine"),
        Heading("Fill rate by priority level", 3),
        _breakdown(kpis, "fill_rate_by_priority", "priority", sort_numeric=True),
        Heading("按日结果 / By day", 3),
        _days_by_engine(kpis),
    ]
    for key in sorted({k for x in kpis.values() for k in x.share_by_affiliation}):
        values = sorted(
            {v for x in kpis.values() for v in x.share_by_affiliation.get(key, {})},
            key=lambda v: (
                -max(x.share_by_affiliation.get(key, {}).get(v, 0.0) for x in kpis.values())
            ),
        )
        blocks += [
            Heading(f"Share of each {key} in filled slots", 3),
            Table(
                (key, *kpis),
                tuple(
                    (
                        v,
                        *(
                            _pct(x.share_by_affiliation.get(key, {}).get(v, 0.0))
                            for x in kpis.values()
                        ),
                    )
                    for v in values
                ),
            ),
        ]
    quotas = next((x.quotas for x in kpis.values() if x.quotas), [])
    if quotas:
        blocks += [
            Heading("Partner quotas (share of the plan, met)", 3),
            Table(
                ("quota", *kpis),
                tuple(
                    (
                        _quota_label(q),
                        *(
                            f"{x.quotas[i]['share']:.1%} {'met' if x.quotas[i]['met'] else 'NOT met'}"
                            for x in kpis.values()
                        ),
                    )
                    for i, q in enumerate(quotas)
                ),
            ),
        ]
    reasons = sorted({r for x in kpis.values() for r in x.unfilled_by_reason})
    blocks += [
        Heading("Unfilled slots by main reason", 3),
        Table(
            ("reason", *kpis),
            tuple(
                (r, *(str(x.unfilled_by_reason.get(r, 0)) for x in kpis.values())) for r in reasons
            )
            or (("(none)", *("0" for _ in kpis)),),
        ),
        Image("unfilled_by_reason.png", "unfilled slots by reason per engine"),
        Heading("Charts"),
        Image("hours.png", "distribution of hours per volunteer"),
        Image("travel.png", "distribution of travel distance"),
        *(Image(f"map_{e}.png", f"map of the {e} plan") for e in kpis),
    ]
    if result.diagnosis is not None:
        blocks += _diagnosis_blocks(result.diagnosis, result.runs[0].engine, result.time_limit_s)

    _write_document(folder, "report", blocks, spec.title)
    written += [folder / "report.md", folder / "report.html"]
    data = {
        "scenario": result.loaded.name,
        "title": spec.title,
        "seed": gen.seed,
        "scale": gen.scale,
        "overrides": {k: _jsonable(v) for k, v in result.loaded.overrides},
        "time_limit_s": result.time_limit_s,
        "volunteers": gen.pool_sizes,
        "requests": gen.service_sizes,
        "engines": {e: k.to_dict() for e, k in kpis.items()},
        **(_diagnosis_json(result.diagnosis) if result.diagnosis else {}),
    }
    (folder / "kpis.json").write_text(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    written.append(folder / "kpis.json")
    return written


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


_SHOWN_SHORTAGES = 15


def _diagnosis_blocks(diagnosis: Diagnosis, engine: str, limit: float) -> list[Block]:
    blocks: list[Block] = [Heading(f"Shortage diagnosis ({engine} plan)")]
    if not diagnosis.shortages:
        return [*blocks, Para("Every slot is filled: no shortage.")]
    blocks += [
        Para(
            "Unfilled slots grouped by what they need, the district they lie in and the day part "
            f"they start in; the first {min(len(diagnosis.shortages), _SHOWN_SHORTAGES)} of "
            f"{len(diagnosis.shortages)} groups: those with unstaffed mandatory requests, then by "
            "missing coverage."
        ),
        Table(
            (
                "need",
                "district",
                "day part",
                "service types",
                "requests",
                "missing slots",
                "missing coverage",
                "mandatory",
                "main reasons",
            ),
            tuple(
                (
                    s.need.label(),
                    s.district,
                    s.day_part,
                    ", ".join(t.replace("_", " ") for t in s.service_types),
                    str(len(s.requests)),
                    str(s.missing_slots),
                    str(s.missing_coverage),
                    str(s.mandatory),
                    ", ".join(f"{k} {v}" for k, v in s.reasons.items()),
                )
                for s in diagnosis.shortages[:_SHOWN_SHORTAGES]
            ),
        ),
    ]
    if diagnosis.remedies:
        unproven = sum(v.status != "optimal" for v in diagnosis.remedies)
        blocks += [
            Heading("Suggested remedies, verified by re-solving", 3),
            Para(
                f"Each remedy is applied to the instance alone and the whole week re-solved "
                f"({engine}, {limit:g} s): coverage before and after, and the group's missing "
                "slots before and after."
            ),
            Table(
                ("remedy", "for", "coverage", "gain", "group's missing slots", "re-solve status"),
                tuple(
                    (
                        v.remedy.text,
                        v.remedy.shortage.label(),
                        f"{v.coverage_before} -> {v.coverage_after}",
                        f"{v.gain:+d}",
                        f"{v.group_missing_before} -> {v.group_missing_after}",
                        v.status,
                    )
                    for v in diagnosis.remedies
                ),
            ),
        ]
        if unproven:
            blocks.append(
                Para(
                    f"{unproven} re-solve(s) ended at the time limit without proof of optimality: "
                    "their gains are what the engine found in time, not the most possible."
                )
            )
    return blocks


def _diagnosis_json(diagnosis: Diagnosis) -> dict[str, Any]:
    return {
        "shortages": [
            {
                "need": s.need.label(),
                "district": s.district,
                "day_part": s.day_part,
                "service_types": list(s.service_types),
                "requests": len(s.requests),
                "missing_slots": s.missing_slots,
                "missing_coverage": s.missing_coverage,
                "missing_hours": round(s.missing_hours, 2),
                "mandatory_requests": s.mandatory,
                "reasons": s.reasons,
            }
            for s in diagnosis.shortages
        ],
        "remedies": [
            {
                "kind": v.remedy.kind,
                "remedy": v.remedy.text,
                "for": v.remedy.shortage.label(),
                "pool": v.remedy.pool,
                "radius_km": v.remedy.radius_km or None,
                "recruits": len(v.remedy.recruits) or None,
                "coverage_before": v.coverage_before,
                "coverage_after": v.coverage_after,
                "gain": v.gain,
                "group_missing_before": v.group_missing_before,
                "group_missing_after": v.group_missing_after,
                "status": v.status,
            }
            for v in diagnosis.remedies
        ],
    }


# --------------------------------------------------------------------------------------------
# Sweep report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    key: str  # CSV header
    label: str  # table header
    value: Callable[[SweepRow], Any]
    pattern: str


def _varied(i: int) -> Callable[[SweepRow], Any]:
    return lambda row: _jsonable(row.values[i])


def _kpi(name: str) -> Callable[[SweepRow], Any]:
    return lambda row: getattr(row.kpis, name)


def _service_fill(service: str) -> Callable[[SweepRow], Any]:
    return lambda row: row.kpis.fill_rate_by_service.get(service)


def _coverage_change(result: SweepResult) -> Callable[[SweepRow], Any]:
    """Coverage against the first variant solved by the same engine (the cost of a rule such as
    a quota, when the first variant is the one without it)."""
    first: dict[str, int] = {}
    for row in result.rows:
        first.setdefault(row.engine, row.kpis.coverage)
    return lambda row: (
        (row.kpis.coverage - first[row.engine]) / first[row.engine] if first[row.engine] else None
    )


def _group_share(group: str) -> Callable[[SweepRow], Any]:
    return lambda row: row.kpis.share_by_group.get(group, 0.0)


def _quota_label(q: dict[str, Any]) -> str:
    """A quota as `group >= 10%`, `group <= 30% of hours soft`."""
    bound = f">= {q['min_share']:.0%}" if q["min_share"] is not None else f"<= {q['max_share']:.0%}"
    of = "" if q["of"] == "assignments" else " of hours"
    return f"{q['group']} {bound}{of}{'' if q['hard'] else ' soft'}"


def _quotas_text(row: SweepRow) -> str | None:
    """Each quota as `group >= 10%: 12.3% met`, or None without quotas."""
    if not row.kpis.quotas:
        return None
    return "; ".join(
        f"{_quota_label(q)}: {q['share']:.1%} {'met' if q['met'] else 'NOT met'}"
        for q in row.kpis.quotas
    )


def _sweep_columns(result: SweepResult) -> list[_Column]:
    """The columns of a sweep: varied values, engine, sizes, scalar KPIs, coverage against the
    first variant, fill rate per service, each group's share and each quota's outcome."""
    columns = [_Column(p, p, _varied(i), "{}") for i, p in enumerate(result.parameters)]
    columns += [
        _Column("engine", "engine", lambda row: row.engine, "{}"),
        _Column("volunteers", "volunteers", lambda row: row.volunteers, "{:d}"),
        _Column("requests", "requests", lambda row: row.requests, "{:d}"),
    ]
    columns.append(_Column("status", "status", _kpi("status"), "{}"))
    columns += [_Column(f, label, _kpi(f), pattern) for f, label, pattern in SCALAR_KPIS]
    columns += [
        _Column(
            "requests_fully_staffed",
            "requests fully staffed",
            _kpi("requests_fully_staffed"),
            "{:d}",
        ),
        _Column("travel_km_total", "travel total (km)", _kpi("travel_km_total"), "{:.1f}"),
    ]
    columns.append(
        _Column("coverage_change", "coverage vs first variant", _coverage_change(result), "{:+.2%}")
    )
    groups = sorted({g for row in result.rows for g in row.kpis.share_by_group})
    columns += [_Column(f"share.{g}", f"share: {g}", _group_share(g), "{:.1%}") for g in groups]
    if any(row.kpis.quotas for row in result.rows):
        columns.append(_Column("quotas", "quotas (share, met)", _quotas_text, "{}"))
    services = dict.fromkeys(s for row in result.rows for s in row.kpis.fill_rate_by_service)
    columns += [
        _Column(
            f"fill_rate.{s}",
            f"fill: {s.replace('_', ' ')}",
            _service_fill(s),
            "{:.1%}",
        )
        for s in services
    ]
    return columns


def sweep_table(result: SweepResult) -> Table:
    """One row per variant and engine."""
    columns = _sweep_columns(result)
    return Table(
        tuple(c.label for c in columns),
        tuple(tuple(_fmt(c.value(row), c.pattern) for c in columns) for row in result.rows),
    )


def day_table(result: SweepResult) -> Table:
    """Per variant, engine and local day: requests, fully staffed, slot fill rate and travel
    (Chinese headers first, as planners read them)."""
    rows = []
    for row in result.rows:
        shown = ", ".join(
            f"{p}={_jsonable(v)}" for p, v in zip(result.parameters, row.values, strict=True)
        )
        for day, k in row.kpis.by_day.items():
            rows.append(
                (
                    shown,
                    row.engine,
                    day,
                    f"{int(k['requests']):d}",
                    f"{int(k['fully_staffed']):d}",
                    _pct(k["slot_fill_rate"]),
                    f"{k['travel_km']:.1f}",
                )
            )
    return Table(
        (
            "方案 variant",
            "引擎 engine",
            "日期 day",
            "需求 requests",
            "全员到位 fully staffed",
            "岗位填充率 slot fill rate",
            "路程 travel (km)",
        ),
        tuple(rows),
    )


def _sweep_chart(result: SweepResult, path: Path) -> None:
    """Each KPI against the first parameter that varies; one line per engine and, unless the
    parameters vary together (--zip), per value of the other varying parameters."""
    params = result.parameters
    varying = [i for i in range(len(params)) if len({str(r.values[i]) for r in result.rows}) > 1]
    x = varying[0] if varying else 0
    others = [] if result.zipped else varying[1:]
    series: dict[str, list[Kpis]] = {}
    for row in result.rows:
        rest = ", ".join(f"{params[i]}={_jsonable(row.values[i])}" for i in others)
        series.setdefault(row.engine + (f" ({rest})" if rest else ""), []).append(row.kpis)
    together = varying if result.zipped and varying else [x]
    axis = " = ".join(params[i] for i in together)
    x_values = list(dict.fromkeys(row.values[x] for row in result.rows))
    charts.sweep_lines(axis, x_values, series, path)


def write_sweep_report(result: SweepResult, folder: Path) -> list[Path]:
    """Write the sweep folder; return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    table = sweep_table(result)
    columns = _sweep_columns(result)
    with (folder / "sweep.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([c.key for c in columns])
        writer.writerows([c.value(row) for c in columns] for row in result.rows)
    data = {
        "scenario": result.loaded.name,
        "parameters": list(result.parameters),
        "time_limit_s": result.time_limit_s,
        "rows": [
            {
                "values": {
                    p: _jsonable(v) for p, v in zip(result.parameters, row.values, strict=True)
                },
                "engine": row.engine,
                "volunteers": row.volunteers,
                "requests": row.requests,
                "kpis": row.kpis.to_dict(),
            }
            for row in result.rows
        ],
    }
    (folder / "sweep.json").write_text(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    _sweep_chart(result, folder / "sweep.png")
    spec = result.loaded.spec
    blocks: list[Block] = [
        Heading(f"Sweep: {spec.title}", 1),
        Para(
            f"Scenario `{result.loaded.name}`, varying {', '.join(f'`{p}`' for p in result.parameters)}; "
            f"every variant generated with the same seed and solved ({result.time_limit_s:g} s per solve)."
        ),
        table,
        Image("sweep.png", "KPIs against the varied parameter"),
        Heading("按日结果 / By day", 3),
        day_table(result),
        Para(
            "KPI definitions: docs/scenarios.md. A request is fully staffed when all its "
            "`volunteers_needed` are assigned; a day is the local date of its start (of its "
            "window for a flexible visit); travel is the plans' `distance_km` (for a flexible "
            "visit the leg from the helper's previous stop)."
        ),
    ]
    _write_document(folder, "sweep", blocks, f"Sweep: {spec.title}")
    return [folder / n for n in ("sweep.md", "sweep.html", "sweep.csv", "sweep.json", "sweep.png")]

"""Benchmark of the web console's pages, through a real server on loopback (SQLite).

    python -m benchmarks.console_perf [--runs 3] [--samples 60] [--volunteers 20000]
                                      [--requests 2000] [--match 5000x600] [--time-limit 5]

Each run starts `volmatch serve` (API + solving process) on a fresh SQLite file, stores the
volunteers and requests through the API, signs console users in (a university, a center, a
planner, an admin) and requests every list page `--samples` times (first pages, filtered and
searched pages, and pages further on by cursor). A second fresh server holds a 5,000-volunteer /
600-request city week: its center runs the match from the console, then the run page's tabs
(assignments table pages, unfilled, timelines, the map's points) are timed, the plan is
published and the assignment board and the university's assignments are timed with ~1,500
assignments stored.

Server time is what the service's access log records for each request (`api.limits.AccessLog`:
from the request's arrival to its last byte); the client's round trip is reported beside it.
The medians over runs of each page's p50 and p95 are printed and written to
var/bench_console.json. Target (issue 17): every list page p95 <= 200 ms of server time.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from api.db import make_engine, make_sessionmaker, transaction
from api.models import UserRole
from api.services import users
from benchmarks.api_perf import _org, _requests, _roster
from benchmarks.cityweek import WEEK_START, city_week
from benchmarks.service import Service

PASSWORD = "bench console password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ACCESS = re.compile(r"volmatch\.access INFO (GET|POST) (\S+) (\d+) ([\d.]+) ms")
_CURSOR = re.compile(r'href="[^"]*[?&]cursor=([^"&]+)')
TARGET_MS = 200.0


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(ordered[len(ordered) // 2], 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
    }


def _user(service: Service, org_id: int, login: str) -> httpx.Client:
    """A signed-in console client of a new coordinator of `org_id`."""
    engine = make_engine(service.database_url)
    with transaction(make_sessionmaker(engine)) as session:
        users.create_user(session, None, org_id, login, login, UserRole.COORDINATOR, PASSWORD)
    engine.dispose()
    client = httpx.Client(base_url=str(service.client.base_url), timeout=120)
    page = client.get("/login")
    token = _CSRF.search(page.text)
    assert token
    answer = client.post(
        "/login", data={"csrf_token": token.group(1), "login": login, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text[:300]
    return client


def _org_id(service: Service, kind: str, headers: dict[str, str]) -> int:
    return int(service.client.get("/v1/organizations/me", headers=headers).json()["id"])


def _cursors(client: httpx.Client, path: str, pages: int) -> list[str | None]:
    """Cursors of the first `pages` pages of a keyset list page."""
    found: list[str | None] = [None]
    text = client.get(path).text
    while len(found) < pages:
        more = _CURSOR.findall(text.split('class="pager"', 1)[-1])
        if not more:
            break
        found.append(more[-1])
        text = client.get(path, params={"cursor": more[-1]}).text
    return found


class Timer:
    """Client round trips per page name, and the server time the access log gives each call
    (calls are made one at a time, so the log's lines follow them in order)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.client_ms: dict[str, list[float]] = defaultdict(list)
        self.calls: list[str] = []
        self._log_offset = 0

    def start(self) -> None:
        self._log_offset = len(self.service.log_text())

    def get(self, name: str, client: httpx.Client, path: str, **params: Any) -> httpx.Response:
        started = time.perf_counter()
        answer = client.get(path, params=params or None)
        self.client_ms[name].append(1000 * (time.perf_counter() - started))
        assert answer.status_code == 200, (name, answer.status_code, answer.text[:300])
        self.calls.append(name)
        return answer

    def results(self) -> dict[str, Any]:
        """Per page: client and server p50/p95."""
        time.sleep(0.5)  # the last lines reach the log file
        log = self.service.log_text()[self._log_offset :]
        lines = [float(ms) for method, _, _, ms in _ACCESS.findall(log) if method == "GET"]
        assert len(lines) == len(self.calls), (len(lines), len(self.calls))
        server: dict[str, list[float]] = defaultdict(list)
        for name, ms in zip(self.calls, lines, strict=True):
            server[name].append(ms)
        return {
            name: {"client": _percentiles(samples), "server": _percentiles(server[name])}
            for name, samples in self.client_ms.items()
        }


def list_pages(folder: Path, volunteers: int, requests: int, samples: int) -> dict[str, Any]:
    week = city_week(volunteers, requests, seed=1)
    with Service(f"sqlite:///{folder / 'bench.db'}", folder) as service:
        client, admin = service.client, service.admin
        uni, center = _org(client, admin, "university"), _org(client, admin, "center")
        planner = _org(client, admin, "planner")
        client.post("/v1/volunteers/import", json=_roster(week), headers=uni).raise_for_status()
        client.post("/v1/requests", json=_requests(week), headers=center).raise_for_status()
        u = _user(service, _org_id(service, "university", uni), "bench.uni")
        c = _user(service, _org_id(service, "center", center), "bench.center")
        p = _user(service, _org_id(service, "planner", planner), "bench.planner")
        a = _user(service, _org_id(service, "admin", admin), "bench.admin")
        volunteer_pages = _cursors(u, "/university/volunteers", 40)
        request_pages = _cursors(c, "/center/requests", 40)
        day = (WEEK_START + timedelta(days=2)).date().isoformat()
        timer = Timer(service)
        timer.start()
        for i in range(samples):
            cursor = volunteer_pages[i % len(volunteer_pages)]
            timer.get("university: volunteers (pages of 50)", u, "/university/volunteers",
                      **({"cursor": cursor} if cursor else {}))  # fmt: skip
            timer.get(
                "university: volunteers, search", u, "/university/volunteers", q="Volunteer 1234"
            )
            timer.get(
                "university: volunteers, skill", u, "/university/volunteers", skill="first_aid"
            )
            timer.get("university: assignments", u, "/university/assignments")
            timer.get("university: hours", u, "/university/hours")
            cursor = request_pages[i % len(request_pages)]
            timer.get("center: requests (pages of 50)", c, "/center/requests",
                      **({"cursor": cursor} if cursor else {}))  # fmt: skip
            timer.get(
                "center: requests, open, one day", c, "/center/requests", status="open", day=day
            )
            timer.get("center: requests, search", c, "/center/requests", q="r-01")
            timer.get("center: match runs", c, "/center/runs")
            timer.get("center: board", c, "/center/board")
            timer.get("team", c, "/team")
            timer.get("planner: scenarios", p, "/planner")
            timer.get("admin: organizations", a, "/admin/organizations")
        return timer.results()


def plan_pages(
    folder: Path, volunteers: int, requests: int, time_limit_s: float, samples: int
) -> dict[str, Any]:
    week = city_week(volunteers, requests, seed=2)
    with Service(f"sqlite:///{folder / 'bench.db'}", folder) as service:
        client, admin = service.client, service.admin
        uni, center = _org(client, admin, "university"), _org(client, admin, "center")
        client.post("/v1/volunteers/import", json=_roster(week), headers=uni).raise_for_status()
        client.post("/v1/requests", json=_requests(week), headers=center).raise_for_status()
        c = _user(service, _org_id(service, "center", center), "bench.center")
        u = _user(service, _org_id(service, "university", uni), "bench.uni")
        token = _CSRF.search(c.get("/center/runs").text)
        assert token
        started = c.post(
            "/center/runs",
            data={
                "csrf_token": token.group(1),
                "start": WEEK_START.date().isoformat(),
                "days": "7",
                "engine": "optimal",
                "time_limit_s": str(time_limit_s),
            },
        )
        path = started.headers["location"]
        while "HX-Refresh" not in c.get(f"{path}/progress").headers:
            time.sleep(0.2)
        timer = Timer(service)
        timer.start()
        for i in range(samples):
            timer.get("plan: assignments, page 1", c, path)
            timer.get("plan: assignments, page 20", c, path, tab="assignments", page=20)
            timer.get("plan: unfilled", c, path, tab="unfilled")
            timer.get(
                "plan: timeline by volunteer",
                c,
                path,
                tab="timeline",
                by="volunteer",
                page=1 + i % 10,
            )
            timer.get(
                "plan: timeline by request", c, path, tab="timeline", by="request", page=1 + i % 10
            )
            timer.get("plan: map points", c, f"{path}/map.json")
        out = timer.results()
        page = c.get(path)
        points = c.get(f"{path}/map.json")
        out["sizes"] = {
            "run page KiB": round(len(page.content) / 1024, 1),
            "map points KiB": round(len(points.content) / 1024, 1),
            "map requests": len(points.json()["requests"]),
            "map volunteers": len(points.json()["volunteers"]),
        }
        token = _CSRF.search(page.text)
        assert token
        c.post(f"{path}/publish", data={"csrf_token": token.group(1)}).raise_for_status()
        timer = Timer(service)
        timer.start()
        for _ in range(samples):
            timer.get("center: board (published plan)", c, "/center/board")
            timer.get("university: assignments (published plan)", u, "/university/assignments")
        out.update(timer.results())
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=60, help="calls per page")
    parser.add_argument("--volunteers", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--match", default="5000x600", help="VOLUNTEERSxREQUESTS of the plan")
    parser.add_argument("--time-limit", type=float, default=5.0)
    args = parser.parse_args(argv)
    match_v, match_r = (int(x) for x in args.match.split("x"))
    results = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            result = {
                "lists": list_pages(Path(a), args.volunteers, args.requests, args.samples),
                "plan": plan_pages(Path(b), match_v, match_r, args.time_limit, args.samples // 2),
            }
        print(f"run {run + 1}: {json.dumps(result)}", flush=True)
        results.append(result)

    def median(values: list[float]) -> float:
        return round(float(statistics.median(values)), 1)

    summary: dict[str, Any] = {"runs": args.runs, "pages": {}}
    worst = 0.0
    for part in ("lists", "plan"):
        for name, first in results[0][part].items():
            if name == "sizes":
                summary["plan_sizes"] = first
                continue
            row = {
                "client_p95_ms": median([r[part][name]["client"]["p95_ms"] for r in results]),
            }
            if first["server"] is not None:
                row["server_p50_ms"] = median([r[part][name]["server"]["p50_ms"] for r in results])
                row["server_p95_ms"] = median([r[part][name]["server"]["p95_ms"] for r in results])
                if part == "lists" or "published" in name:
                    worst = max(worst, row["server_p95_ms"])
            summary["pages"][name] = row
    summary["worst_list_server_p95_ms"] = worst
    summary["target_met"] = worst <= TARGET_MS
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    Path("var").mkdir(exist_ok=True)
    Path("var/bench_console.json").write_text(
        json.dumps({"summary": summary, "runs": results}, indent=2, ensure_ascii=False)
    )
    return 0 if summary["target_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark of the HTTP service over SQLite, through a real server on loopback.

    python -m benchmarks.api_perf [--runs 3] [--volunteers 20000] [--match 5000x600]
                                  [--engine optimal|greedy] [--time-limit 5]

Each run starts `volmatch serve` (API + embedded solving process) on a fresh SQLite file and:
1. imports the volunteers in one request (JSON), then re-imports the same roster (updates);
2. times the list endpoints (and one-record reads) with all of them stored: p50 and p95 of
   `--samples` calls each, over pages reached by cursor;
3. on a second fresh server, imports a 5,000-volunteer / 600-request city week and times a match
   run end to end: from `POST /v1/match-runs` until its plan is served.
The medians over runs are printed (and written to var/bench_api.json). Targets (issue 3):
import < 5 s, list p95 < 50 ms, match run < 15 s. Needs the dev extra (httpx).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.cityweek import WEEK_START, city_week

VOLMATCH = str(Path(sys.executable).parent / "volmatch")
WINDOW = {
    "start": WEEK_START.isoformat(),
    "end": (WEEK_START + timedelta(days=7)).isoformat(),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(folder: Path) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """A service on a fresh SQLite file; a client and an admin's auth header."""
    env = {**os.environ, "VOLMATCH_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}"}
    created = subprocess.run(
        [VOLMATCH, "admin", "create-org", "--name", "bench admin", "--kind", "admin"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    secret = next(
        line.split(": ", 1)[1] for line in created.splitlines() if line.startswith("key ")
    )
    port = _free_port()
    process = subprocess.Popen(
        [VOLMATCH, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.1)
        yield client, {"Authorization": f"Bearer {secret}"}
    finally:
        process.terminate()
        process.wait(30)


def _org(client: httpx.Client, admin: dict[str, str], kind: str) -> dict[str, str]:
    r = client.post(
        "/v1/organizations", json={"name": f"bench {kind}", "kind": kind}, headers=admin
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['api_key']['secret']}"}


def _roster(week: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "external_id": v["id"],
            "name": f"Volunteer {i}",
            "phone": f"+86 100 {i:08d}",
            **{k: x for k, x in v.items() if k != "id"},
        }
        for i, v in enumerate(week["volunteers"])
    ]


def _requests(week: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"title": r["id"], **{k: x for k, x in r.items() if k != "id"}} for r in week["requests"]
    ]


def _timed_post(client: httpx.Client, path: str, body: bytes, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    r = client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
    elapsed = time.perf_counter() - started
    r.raise_for_status()
    return elapsed


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
        "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


def import_and_list(folder: Path, volunteers: int, samples: int) -> dict[str, Any]:
    week = city_week(volunteers, 300, seed=1)
    body = json.dumps(_roster(week)).encode()
    with server(folder) as (client, admin):
        uni, center = _org(client, admin, "university"), _org(client, admin, "center")
        out: dict[str, Any] = {"payload_mb": round(len(body) / 1e6, 1)}
        out["import_s"] = round(_timed_post(client, "/v1/volunteers/import", body, uni), 3)
        out["reimport_s"] = round(_timed_post(client, "/v1/volunteers/import", body, uni), 3)
        client.post("/v1/requests", json=_requests(week), headers=center).raise_for_status()
        cursors = [None]
        page = client.get("/v1/volunteers", params={"limit": 100}, headers=uni).json()
        while page["next_cursor"] and len(cursors) < 200:
            cursors.append(page["next_cursor"])
            page = client.get(
                "/v1/volunteers", params={"limit": 100, "cursor": page["next_cursor"]}, headers=uni
            ).json()
        day = WEEK_START + timedelta(days=1)
        calls: dict[str, Any] = {
            "GET /v1/volunteers (pages of 100)": lambda i: (
                "/v1/volunteers",
                {
                    "limit": 100,
                    **({"cursor": cursors[i % len(cursors)]} if cursors[i % len(cursors)] else {}),
                },
                uni,
            ),
            "GET /v1/volunteers?skill=first_aid": lambda i: (
                "/v1/volunteers",
                {"limit": 100, "skill": "first_aid"},
                uni,
            ),
            "GET /v1/volunteers?available_from&to": lambda i: (
                "/v1/volunteers",
                {
                    "limit": 100,
                    "available_from": day.replace(hour=14).isoformat(),
                    "available_to": day.replace(hour=16).isoformat(),
                },
                uni,
            ),
            "GET /v1/volunteers/{id}": lambda i: (
                f"/v1/volunteers/{1 + (i * 97) % volunteers}",
                {},
                uni,
            ),
            "GET /v1/requests (pages of 100)": lambda i: ("/v1/requests", {"limit": 100}, center),
            "GET /v1/match-runs": lambda i: ("/v1/match-runs", {}, center),
        }
        latencies: dict[str, Any] = {}
        for name, call in calls.items():
            times = []
            for i in range(samples):
                path, params, headers = call(i)
                started = time.perf_counter()
                r = client.get(path, params=params, headers=headers)
                times.append(time.perf_counter() - started)
                r.raise_for_status()
            latencies[name] = _percentiles(times)
        out["lists"] = latencies
    return out


def match_run(
    folder: Path, volunteers: int, requests: int, time_limit_s: float, engine: str
) -> dict[str, Any]:
    week = city_week(volunteers, requests, seed=2)
    with server(folder) as (client, admin):
        uni, center = _org(client, admin, "university"), _org(client, admin, "center")
        client.post("/v1/volunteers/import", json=_roster(week), headers=uni).raise_for_status()
        client.post("/v1/requests", json=_requests(week), headers=center).raise_for_status()
        started = time.perf_counter()
        run = client.post(
            "/v1/match-runs",
            json={"window": WINDOW, "time_limit_s": time_limit_s, "engine": engine},
            headers=center,
        ).json()
        while True:
            plan = client.get(f"/v1/match-runs/{run['id']}/plan", headers=center)
            if plan.status_code == 200:
                break
            state = client.get(f"/v1/match-runs/{run['id']}", headers=center).json()
            if state["status"] in ("failed", "cancelled"):
                return {"failed": f"{state['status']}: {state['error']}"}
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        body = plan.json()
        return {
            "end_to_end_s": round(elapsed, 3),
            "solve_s": body["stats"].get("solve_seconds"),
            "status": body["status"],
            "coverage": body["objective"]["coverage"],
            "bound": body["bound"],
            "assignments": len(body["assignments"]),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--volunteers", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=200, help="calls per list endpoint")
    parser.add_argument("--match", default="5000x600", help="VOLUNTEERSxREQUESTS of the match run")
    parser.add_argument(
        "--time-limit", type=float, default=5.0, help="time_limit_s of the match run"
    )
    parser.add_argument("--engine", default="optimal", choices=["optimal", "greedy"])
    args = parser.parse_args(argv)
    match_v, match_r = (int(x) for x in args.match.split("x"))
    results = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            result = {
                **import_and_list(Path(a), args.volunteers, args.samples),
                "match_run": match_run(Path(b), match_v, match_r, args.time_limit, args.engine),
            }
        print(f"run {run + 1}: {json.dumps(result)}", flush=True)
        results.append(result)

    def median(get: Any) -> float:
        return round(float(statistics.median(get(r) for r in results)), 3)

    summary: dict[str, Any] = {
        "runs": args.runs,
        "import_s": median(lambda r: r["import_s"]),
        "reimport_s": median(lambda r: r["reimport_s"]),
        "lists_p95_ms": {
            name: median(lambda r, n=name: r["lists"][n]["p95_ms"]) for name in results[0]["lists"]
        },
        "lists_p50_ms": {
            name: median(lambda r, n=name: r["lists"][n]["p50_ms"]) for name in results[0]["lists"]
        },
    }
    solved = [r["match_run"]["end_to_end_s"] for r in results if "end_to_end_s" in r["match_run"]]
    summary["match_run"] = {
        "engine": args.engine,
        "time_limit_s": args.time_limit,
        "end_to_end_s_median": round(statistics.median(solved), 3) if solved else None,
        "failed_runs": len(results) - len(solved),
    }
    print(json.dumps(summary, indent=2))
    Path("var").mkdir(exist_ok=True)
    Path("var/bench_api.json").write_text(
        json.dumps({"summary": summary, "runs": results}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Load test of the service over PostgreSQL: concurrent clients for a bounded time, then proof
that every acknowledged write is present exactly once.

    python -m benchmarks.load [--clients 50] [--duration 120] [--database-url URL] [--out FILE]

Starts a throwaway PostgreSQL on loopback (unless `--database-url` names one) and `volmatch
serve` (API + solving process) on it, creates universities, centers and a planner, then runs
`--clients` threads for `--duration` seconds. Each client plays one role in turn:
- a university imports roster chunks (new students, and earlier chunks again: updates), reads
  its volunteers, and confirms or declines proposed assignments;
- a center submits request batches with an `Idempotency-Key` (and retries some with the same
  key and body), queues greedy match runs, publishes the finished ones, checks volunteers in and
  completes assignments, and reads its requests and runs;
- a planner reads the supply-demand report.
Afterwards it waits for queued runs to finish and checks the database: every acknowledged
volunteer, request, run, publication and final lifecycle move is there, once; replayed batches
added nothing; every run executed once; no answer was a 5xx; the service's log holds no key,
phone, email, home address or home location. It prints (and writes as JSON) throughput and
p50/p99 latency per endpoint. The test suite runs a 20-second version (tests/api/test_load.py).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from benchmarks.common import machine_info
from benchmarks.pg import Postgres
from benchmarks.service import Service

WEEK = date(2026, 3, 2)
WINDOW = {"start": f"{WEEK}T00:00:00+08:00", "end": f"{WEEK + timedelta(days=7)}T00:00:00+08:00"}
TERMINAL = ("completed", "declined", "cancelled")


def _at(day: int, hour: int) -> str:
    return f"{WEEK + timedelta(days=day)}T{hour:02d}:00:00+08:00"


@dataclass
class Ledger:
    """What the service acknowledged, and how each endpoint answered (shared by all clients)."""

    volunteers: dict[tuple[int, str], int] = field(default_factory=dict)
    requests: dict[int, str] = field(default_factory=dict)  # request id -> title
    batches: dict[str, list[int]] = field(default_factory=dict)  # Idempotency-Key -> ids
    replays: int = 0
    runs: dict[int, dict[str, str]] = field(default_factory=dict)  # run id -> center headers
    published: dict[int, int] = field(default_factory=dict)  # run id -> assignments created
    moves: dict[int, str] = field(default_factory=dict)  # assignment id -> final status acked
    # keys, link tokens and personal data, by kind: never in the service's log
    secrets: list[tuple[str, str]] = field(default_factory=list)
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """One simulated client: an httpx client, its organization's headers and the ledger."""

    def __init__(self, base_url: str, ledger: Ledger, seed: int) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60)
        self.ledger = ledger
        self.rng = random.Random(seed)

    def call(
        self, endpoint: str, method: str, path: str, headers: dict[str, str], **kwargs: Any
    ) -> httpx.Response | None:
        """One request, timed under `endpoint` (method and route template)."""
        started = time.perf_counter()
        try:
            response = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            with self.ledger.lock:
                self.ledger.transport_errors[type(exc).__name__] += 1
            return None
        elapsed = time.perf_counter() - started
        with self.ledger.lock:
            self.ledger.latency[endpoint].append(elapsed)
            self.ledger.statuses[(endpoint, response.status_code)] += 1
        return response


@dataclass
class Org:
    id: int
    headers: dict[str, str]


@dataclass
class World:
    universities: list[Org]
    centers: list[Org]
    planner: Org


class University(Client):
    def __init__(self, base_url: str, ledger: Ledger, seed: int, org: Org, name: str) -> None:
        super().__init__(base_url, ledger, seed)
        self.org, self.name = org, name
        self.chunks: list[list[dict[str, Any]]] = []

    def step(self) -> None:
        action = self.rng.choices(["import", "reimport", "read", "answer"], [3, 1, 3, 3])[0]
        if action == "reimport" and self.chunks:
            self.import_chunk(self.rng.choice(self.chunks))
        elif action in ("import", "reimport"):
            n = len(self.chunks)
            chunk = [self.volunteer(f"{self.name}-{n}-{i}") for i in range(20)]
            self.chunks.append(chunk)
            self.import_chunk(chunk)
        elif action == "read":
            page = self.call(
                "GET /v1/volunteers", "GET", "/v1/volunteers", self.org.headers,
                params={"limit": 50},
            )  # fmt: skip
            if page is not None and page.status_code == 200 and page.json()["items"]:
                vid = self.rng.choice(page.json()["items"])["id"]
                self.call(
                    "GET /v1/volunteers/{volunteer_id}", "GET", f"/v1/volunteers/{vid}",
                    self.org.headers,
                )  # fmt: skip
        else:
            self.answer()

    def coordinate(self, low: float) -> float:
        """A home coordinate in [low, low + 0.1) written with exactly six decimals, the last not
        0: searching the log for it cannot hit a shorter number such as a latency (34.2 ms)."""
        micro = 10 * self.rng.randrange(10_000) + self.rng.randrange(1, 10)
        return (round(low * 1_000_000) + micro) / 1_000_000

    def volunteer(self, external_id: str) -> dict[str, Any]:
        phone = f"+86 155 {self.rng.randrange(10**8):08d}"
        email = f"{external_id.lower()}@students.example"
        address = f"Dorm {external_id}, 1 Taibai Road"
        lat, lon = self.coordinate(34.2), self.coordinate(108.9)
        with self.ledger.lock:
            self.ledger.secrets += [
                ("phone", phone), ("email", email), ("address", address),
                ("home location", f"{lat}"), ("home location", f"{lon}"),
            ]  # fmt: skip
        return {
            "external_id": external_id,
            "name": f"Student {external_id}",
            "phone": phone,
            "email": email,
            "address": address,
            "location": {"lat": lat, "lon": lon},
            "skills": ["general"],
            "availability": [{"start": _at(d, 8), "end": _at(d, 20)} for d in range(7)],
            "max_hours": 12,
        }

    def import_chunk(self, chunk: list[dict[str, Any]]) -> None:
        r = self.call(
            "POST /v1/volunteers/import", "POST", "/v1/volunteers/import", self.org.headers,
            json=chunk,
        )  # fmt: skip
        if r is not None and r.status_code == 200:
            with self.ledger.lock:
                for v in r.json()["volunteers"]:
                    self.ledger.volunteers[(self.org.id, v["external_id"])] = v["id"]

    def answer(self) -> None:
        listed = self.call(
            "GET /v1/assignments", "GET", "/v1/assignments", self.org.headers,
            params={"status": "proposed", "limit": 20},
        )  # fmt: skip
        if listed is None or listed.status_code != 200 or not listed.json()["items"]:
            return
        assignment = self.rng.choice(listed.json()["items"])
        move = self.rng.choices(["confirm", "decline"], [4, 1])[0]
        path = f"/v1/assignments/{assignment['id']}/{move}"
        body = {"reason": "an exam that day"} if move == "decline" else None
        r = self.call(
            f"POST /v1/assignments/{{assignment_id}}/{move}", "POST", path, self.org.headers,
            json=body,
        )  # fmt: skip
        if r is not None and r.status_code == 200:
            with self.ledger.lock:
                self.ledger.moves[assignment["id"]] = r.json()["status"]


class Center(Client):
    def __init__(self, base_url: str, ledger: Ledger, seed: int, org: Org, name: str) -> None:
        super().__init__(base_url, ledger, seed)
        self.org, self.name = org, name
        self.sent: list[tuple[str, list[dict[str, Any]]]] = []
        self.my_runs: list[int] = []

    def step(self) -> None:
        action = self.rng.choices(
            ["batch", "retry", "run", "publish", "serve", "read"], [3, 1, 1, 2, 2, 3]
        )[0]
        if action == "retry" and self.sent:
            self.submit(*self.rng.choice(self.sent))
        elif action in ("batch", "retry"):
            key = f"{self.name}-batch-{len(self.sent)}"
            batch = [self.request(f"{key}-{j}") for j in range(5)]
            self.sent.append((key, batch))
            self.submit(key, batch)
        elif action == "run":
            r = self.call(
                "POST /v1/match-runs", "POST", "/v1/match-runs", self.org.headers,
                json={"window": WINDOW, "engine": "greedy", "time_limit_s": 2},
            )  # fmt: skip
            if r is not None and r.status_code == 202:
                self.my_runs.append(r.json()["id"])
                with self.ledger.lock:
                    self.ledger.runs[r.json()["id"]] = self.org.headers
        elif action == "publish" and self.my_runs:
            self.publish()
        elif action == "serve":
            self.serve()
        else:
            self.call(
                "GET /v1/requests", "GET", "/v1/requests", self.org.headers, params={"limit": 50}
            )
            self.call("GET /v1/match-runs", "GET", "/v1/match-runs", self.org.headers)

    def request(self, title: str) -> dict[str, Any]:
        day, hour = self.rng.randrange(7), self.rng.randrange(9, 18)
        return {
            "title": title,
            "location": {
                "lat": round(34.2 + self.rng.random() * 0.1, 6),
                "lon": round(108.9 + self.rng.random() * 0.1, 6),
            },
            "service_type": "visit",
            "start": _at(day, hour),
            "end": _at(day, hour + 1),
            "required_skills": ["general"],
            "volunteers_needed": self.rng.choice([1, 1, 2]),
        }

    def submit(self, key: str, batch: list[dict[str, Any]]) -> None:
        headers = {**self.org.headers, "Idempotency-Key": key}
        r = self.call("POST /v1/requests", "POST", "/v1/requests", headers, json=batch)
        if r is None or r.status_code != 201:
            return
        ids = [q["id"] for q in r.json()["requests"]]
        with self.ledger.lock:
            first = self.ledger.batches.setdefault(key, ids)
            if r.headers.get("Idempotent-Replayed") == "true":
                self.ledger.replays += 1
            assert first == ids, f"a replay of {key} answered other ids"
            for q in r.json()["requests"]:
                self.ledger.requests[q["id"]] = q["title"]

    def publish(self) -> None:
        """Publish this client's oldest run that has finished and is not published yet."""
        run_id = self.my_runs[0]
        state = self.call(
            "GET /v1/match-runs/{run_id}", "GET", f"/v1/match-runs/{run_id}", self.org.headers
        )
        if state is None or state.status_code != 200 or state.json()["status"] == "queued":
            return
        if state.json()["status"] != "running":
            self.my_runs.pop(0)
        if state.json()["status"] != "succeeded":
            return
        self.call(
            "GET /v1/match-runs/{run_id}/plan", "GET", f"/v1/match-runs/{run_id}/plan",
            self.org.headers,
        )  # fmt: skip
        r = self.call(
            "POST /v1/match-runs/{run_id}/publish", "POST", f"/v1/match-runs/{run_id}/publish",
            self.org.headers,
        )  # fmt: skip
        if r is not None and r.status_code == 200:
            with self.ledger.lock:
                self.ledger.published[run_id] = r.json()["created"]
                self.ledger.secrets += [("link token", k["token"]) for k in r.json()["links"]]

    def serve(self) -> None:
        status = self.rng.choice(["confirmed", "checked_in"])
        listed = self.call(
            "GET /v1/assignments", "GET", "/v1/assignments", self.org.headers,
            params={"status": status, "limit": 20},
        )  # fmt: skip
        if listed is None or listed.status_code != 200 or not listed.json()["items"]:
            return
        assignment = self.rng.choice(listed.json()["items"])
        move = "check-in" if status == "confirmed" else "complete"
        r = self.call(
            f"POST /v1/assignments/{{assignment_id}}/{move}", "POST",
            f"/v1/assignments/{assignment['id']}/{move}", self.org.headers,
            json={} if move == "complete" else None,
        )  # fmt: skip
        if r is not None and r.status_code == 200:
            with self.ledger.lock:
                self.ledger.moves[assignment["id"]] = r.json()["status"]


class Planner(Client):
    def __init__(self, base_url: str, ledger: Ledger, seed: int, org: Org) -> None:
        super().__init__(base_url, ledger, seed)
        self.org = org

    def step(self) -> None:
        self.call(
            "GET /v1/reports/supply-demand", "GET", "/v1/reports/supply-demand", self.org.headers,
            params={"from": WINDOW["start"], "to": WINDOW["end"]},
        )  # fmt: skip
        time.sleep(0.2)  # a person reading a report, not a script


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with Postgres.throwaway() as pg:
        yield pg.url


def setup(service: Service, ledger: Ledger, universities: int, centers: int) -> World:
    def org(kind: str, name: str) -> Org:
        org_id, headers = service.org(kind, name)
        ledger.secrets.append(("API key", headers["Authorization"].split()[1]))
        return Org(org_id, headers)

    return World(
        universities=[org("university", f"University {i}") for i in range(universities)],
        centers=[org("center", f"Center {i}") for i in range(centers)],
        planner=org("planner", "City planning office"),
    )


def drive(base_url: str, world: World, ledger: Ledger, clients: int, duration_s: float) -> float:
    """Run the clients until the deadline; the seconds it took."""
    actors: list[University | Center | Planner] = []
    for i in range(clients):
        if i % 10 == 9:
            actors.append(Planner(base_url, ledger, i, world.planner))
        elif i % 2 == 0:
            u = world.universities[i // 2 % len(world.universities)]
            actors.append(University(base_url, ledger, i, u, f"U{u.id}C{i}"))
        else:
            c = world.centers[i // 2 % len(world.centers)]
            actors.append(Center(base_url, ledger, i, c, f"C{c.id}C{i}"))
    deadline = time.monotonic() + duration_s
    errors: list[BaseException] = []

    def loop(actor: University | Center | Planner) -> None:
        try:
            while time.monotonic() < deadline:
                actor.step()
        except BaseException as exc:  # reported, and fails the run
            errors.append(exc)
        finally:
            actor.http.close()

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(a,), daemon=True) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.monotonic() - started


def wait_for_runs(service: Service, ledger: Ledger, timeout_s: float) -> dict[str, int]:
    """Wait until every acknowledged run has ended; the runs by final status."""
    deadline = time.monotonic() + timeout_s
    final: dict[int, str] = {}
    while True:
        for run_id, headers in ledger.runs.items():
            if run_id in final:
                continue
            status = service.client.get(f"/v1/match-runs/{run_id}", headers=headers).json()[
                "status"
            ]
            if status not in ("queued", "running"):
                final[run_id] = status
        if len(final) == len(ledger.runs) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    counts = Counter(final.values())
    counts["unfinished"] = len(ledger.runs) - len(final)
    return dict(counts)


def verify(url: str, ledger: Ledger, log_text: str) -> dict[str, Any]:
    """Every acknowledged write present exactly once; nothing secret in the service's log."""
    engine = create_engine(url)
    lost: Counter[str] = Counter()
    duplicated: Counter[str] = Counter()
    with engine.connect() as db:
        rows = db.execute(text("SELECT university_id, external_id, id FROM volunteers")).all()
        stored = Counter((u, e) for u, e, _ in rows)
        ids = {(u, e): i for u, e, i in rows}
        for key, vid in ledger.volunteers.items():
            lost["volunteers"] += ids.get(key) != vid
        duplicated["volunteers"] = sum(n - 1 for n in stored.values())
        titles = Counter(t for (t,) in db.execute(text("SELECT title FROM service_requests")))
        present = {i for (i,) in db.execute(text("SELECT id FROM service_requests"))}
        lost["requests"] = sum(1 for i in ledger.requests if i not in present)
        duplicated["requests"] = sum(n - 1 for n in titles.values())  # replays wrote nothing
        runs = {int(i): int(a) for i, a in db.execute(text("SELECT id, attempts FROM match_runs"))}
        lost["runs"] = sum(1 for r in ledger.runs if r not in runs)
        duplicated["run executions"] = sum(int(runs.get(r, 1) > 1) for r in ledger.runs)
        created = {
            int(r): int(n)
            for r, n in db.execute(text("SELECT run_id, count(*) FROM assignments GROUP BY run_id"))
        }
        for run_id, n in ledger.published.items():
            lost["published assignments"] += max(0, n - created.get(run_id, 0))
            duplicated["published assignments"] += max(0, created.get(run_id, 0) - n)
        # Why runs failed, so that a failing load test says it (the runs' own error messages).
        failed_runs = Counter(
            str(e)
            for (e,) in db.execute(text("SELECT error FROM match_runs WHERE status = 'failed'"))
        )
        status = {int(i): str(s) for i, s in db.execute(text("SELECT id, status FROM assignments"))}
        for assignment_id, acked in ledger.moves.items():
            if acked in TERMINAL and status.get(assignment_id) != acked:
                lost["lifecycle moves"] += 1
    engine.dispose()
    leaked = [(kind, s) for kind, s in ledger.secrets if s in log_text]
    lines = {line for _, s in leaked for line in log_text.splitlines() if s in line}
    for _, s in leaked:  # where they were found, without repeating them
        lines = {line.replace(s, "<redacted>") for line in lines}
    # The service's warnings and errors (secrets redacted): what went wrong, if anything did.
    troubles = [line for line in log_text.splitlines() if re.search(r"\b(WARNING|ERROR)\b", line)]
    for _, s in ledger.secrets:
        troubles = [line.replace(s, "<redacted>") for line in troubles]
    return {
        "lost": sum(lost.values()),
        "duplicated": sum(duplicated.values()),
        "secrets_searched": len(ledger.secrets),
        "secrets_in_log": len(leaked),
        **({"leaked kinds": dict(Counter(k for k, _ in leaked))} if leaked else {}),
        **({"log lines with secrets": sorted(lines)[:20]} if leaked else {}),
        **({"failed runs by error": dict(failed_runs)} if failed_runs else {}),
        **({"service warnings and errors": troubles[:30]} if troubles else {}),
        **{f"lost {k}": v for k, v in lost.items() if v},
        **{f"duplicated {k}": v for k, v in duplicated.items() if v},
    }


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def summarize(ledger: Ledger, elapsed_s: float) -> dict[str, Any]:
    endpoints = {}
    for name, samples in sorted(ledger.latency.items()):
        codes = {str(s): n for (e, s), n in sorted(ledger.statuses.items()) if e == name}
        endpoints[name] = {
            "requests": len(samples),
            "p50_ms": percentile(samples, 0.50),
            "p99_ms": percentile(samples, 0.99),
            "statuses": codes,
        }
    total = sum(len(s) for s in ledger.latency.values())
    return {
        "requests": total,
        "throughput_rps": round(total / elapsed_s, 1),
        "server_errors": sum(n for (_, s), n in ledger.statuses.items() if s >= 500),
        "transport_errors": sum(ledger.transport_errors.values()),
        "acknowledged": {
            "volunteers": len(ledger.volunteers),
            "requests": len(ledger.requests),
            "request batches": len(ledger.batches),
            "replayed batches": ledger.replays,
            "runs": len(ledger.runs),
            "publications": len(ledger.published),
            "lifecycle moves": len(ledger.moves),
        },
        "endpoints": endpoints,
    }


def run(
    clients: int,
    duration_s: float,
    database_url: str | None = None,
    universities: int = 4,
    centers: int = 4,
    drain_s: float = 120,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The whole load test; its figures (see the module's docstring)."""
    ledger = Ledger()
    with database(database_url) as url, tempfile.TemporaryDirectory() as folder:
        with Service(url, Path(folder), env={"VOLMATCH_WORKER_POLL_S": "0.2"}) as service:
            ledger.secrets.append(("API key", service.admin["Authorization"].split()[1]))
            world = setup(service, ledger, universities, centers)
            progress(f"{clients} clients for {duration_s:g} s on {service.client.base_url}")
            elapsed = drive(str(service.client.base_url), world, ledger, clients, duration_s)
            runs = wait_for_runs(service, ledger, drain_s)
            log_text = service.log_text()
        result = summarize(ledger, elapsed)
        result.update(clients=clients, duration_s=round(elapsed, 1), runs=runs)
        result["verification"] = verify(url, ledger, log_text)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120, help="seconds of load")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: throwaway)")
    parser.add_argument("--out", type=Path, default=Path("var/load.json"))
    args = parser.parse_args(argv)
    info = machine_info()
    machine = {k: info[k] for k in ("date", "cpu", "cores", "ram_gb", "os", "python", "commit")}
    machine["load average at start"] = info["load average"]
    result = run(args.clients, args.duration, args.database_url)
    result["machine"] = machine
    print(f"{'endpoint':<45} {'n':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for name, e in result["endpoints"].items():
        print(f"{name:<45} {e['requests']:>7} {e['p50_ms']:>8} {e['p99_ms']:>8}  {e['statuses']}")
    shown = {k: v for k, v in result.items() if k != "endpoints"}
    print(json.dumps(shown, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    v = result["verification"]
    ok = v["lost"] == v["duplicated"] == v["secrets_in_log"] == result["server_errors"] == 0
    return 0 if ok and not result["runs"].get("unfinished") else 1


if __name__ == "__main__":
    raise SystemExit(main())

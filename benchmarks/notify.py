"""The outbox's benchmark: 10,000 events delivered by `volmatch dispatcher` to a local webhook
sink over a throwaway PostgreSQL, and the same with the dispatcher killed (SIGKILL) half-way and
started again: nothing may be lost. Medians of `--runs` runs (3 by default).

    python -m benchmarks.notify [--events 10000] [--runs 3] [--database-url URL]

Each run gets a fresh database (or empties the one given) and a `volmatch dispatcher` process,
started and idle; then the events are recorded through `api.services.events.record` (the
service's own path, 5,000 a transaction), and timed from the start of their recording until every
delivery is marked delivered (`seconds`); `first_to_last_s` is the span from the first message the
sink received to the last. In the SIGKILL runs the second dispatcher's start (the `volmatch`
command's imports: about 4 s on an idle machine) counts in the time. Results:
`benchmarks/results/notify.json`. Fails (exit 1) if a run loses a message or the median of the
full runs exceeds 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, text

from api.db import make_engine, make_sessionmaker, migrate, transaction
from api.models import Webhook
from api.repositories import webhooks as webhook_repo
from api.services import events, organizations
from api.services.audit import Actor
from api.settings import Settings
from benchmarks import pg
from benchmarks.service import VOLMATCH
from benchmarks.sinks import WebhookSink

RESULTS = Path(__file__).parent / "results" / "notify.json"
TARGET_S = 30.0
FAST_ENV = {
    "VOLMATCH_WEBHOOK_ALLOW_PRIVATE": "true",
    "VOLMATCH_DISPATCHER_POLL_S": "0.05",
    "VOLMATCH_SCHEDULER_PERIOD_S": "3600",
    "VOLMATCH_RETRY_BASE_S": "0.2",
}


def prepare_outbox(database_url: str, sink_url: str, n: int) -> int:
    """A center with a webhook on `sink_url` and `n` recorded events (one delivery each)."""
    center_id = add_center(database_url, sink_url)
    record_events(database_url, center_id, n)
    return center_id


def add_center(database_url: str, sink_url: str) -> int:
    """A center with a webhook on `sink_url` (migrating the database first); its id."""
    engine = make_engine(database_url)
    migrate(engine)
    with transaction(make_sessionmaker(engine)) as session:
        center, _, _ = organizations.create_organization(
            session,
            f"bench center {os.urandom(3).hex()}",
            "center",
            "Asia/Shanghai",
            actor=Actor.system("cli"),
        )
        webhook_repo.add_webhook(
            session, Webhook(organization_id=center.id, url=sink_url, secret="whsec_bench")
        )
        center_id = center.id
    engine.dispose()
    return center_id


def record_events(database_url: str, center_id: int, n: int) -> None:
    """`n` events for the center, recorded as the service records them, 5,000 a transaction."""
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    settings = Settings(database_url=database_url, webhook_allow_private=True)
    for first in range(0, n, 5000):
        with transaction(sessions) as session:
            events.record(
                session,
                settings,
                [
                    events.Event(
                        type=events.EventType.REQUEST_UNFILLED,
                        data={"request_id": i, "center_id": center_id, "missing": 1},
                        organizations=(center_id,),
                    )
                    for i in range(first, min(n, first + 5000))
                ],
            )
    engine.dispose()


class Counter:
    """Counts delivered deliveries over one connection pool (polled while a run goes)."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url, pool_size=1)

    def delivered(self) -> int:
        with self.engine.connect() as db:
            sql = "SELECT count(*) FROM deliveries WHERE status = 'delivered'"
            return int(db.execute(text(sql)).scalar_one())

    def close(self) -> None:
        self.engine.dispose()


class DispatcherProcess:
    """`volmatch dispatcher` in a process of its own, logging to a file."""

    def __init__(self, database_url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.env = {**os.environ, "VOLMATCH_DATABASE_URL": database_url, **FAST_ENV, **(env or {})}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> DispatcherProcess:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [VOLMATCH, "dispatcher"], env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DispatcherProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def wait_for(predicate: Any, timeout_s: float, what: str, every_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every_s)


def one_run(database_url: str, n: int, folder: Path, kill: bool) -> dict[str, Any]:
    """A dispatcher running and idle; then `n` events are recorded, and timed from the start of
    their recording until the last is marked delivered."""
    with WebhookSink() as sink:
        center_id = add_center(database_url, sink.url)
        log = folder / f"dispatcher-{'kill' if kill else 'full'}.log"
        log.unlink(missing_ok=True)
        first = DispatcherProcess(database_url, log).start()
        wait_for(lambda: "started" in log.read_text(errors="replace"), 120, "the dispatcher")
        started = time.perf_counter()
        record_events(database_url, center_id, n)
        killed_at = None
        if kill:
            # half-way, and off the batch boundaries: in the middle of sending a batch
            wait_for(lambda: len(sink.received) >= n // 2 + 37, 120, "half the deliveries")
            assert first.process is not None
            os.kill(first.process.pid, signal.SIGKILL)
            first.process.wait(10)
            killed_at = len(sink.received)
            first.stop()
            second = DispatcherProcess(database_url, log).start()
        counter = Counter(database_url)
        wait_for(lambda: counter.delivered() == n, 300, "every delivery", every_s=0.2)
        elapsed = time.perf_counter() - started
        counter.close()
        (second if kill else first).stop()
        ids = [json.loads(body)["data"]["request_id"] for body in sink.bodies()]
        span = sink.arrivals[-1] - sink.arrivals[0]
    return {
        "events": n,
        "seconds": round(elapsed, 2),
        "first_to_last_s": round(span, 2),
        "per_second": round(n / elapsed, 1),
        "received": len(ids),
        "lost": n - len(set(ids)),
        "duplicates": len(ids) - len(set(ids)),
        "killed_after": killed_at,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="an existing PostgreSQL database (emptied)")
    args = parser.parse_args(argv)
    folder = Path("var") / "bench-notify"
    folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict[str, Any]]] = {"full": [], "sigkill": []}
    with pg.Postgres.throwaway() as cluster:
        for i in range(args.runs):
            for mode in ("full", "sigkill"):
                if args.database_url:
                    url = args.database_url
                    engine = create_engine(url)
                    with engine.begin() as db:
                        db.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                    engine.dispose()
                else:
                    url = cluster.create_database(f"notify_{mode}_{i}")
                result = one_run(url, args.events, folder, kill=mode == "sigkill")
                results[mode].append(result)
                print(f"run {i + 1} {mode}: {json.dumps(result)}", flush=True)
    summary = {
        mode: {
            "median_seconds": statistics.median(r["seconds"] for r in runs),
            "median_first_to_last_s": statistics.median(r["first_to_last_s"] for r in runs),
            "median_per_second": statistics.median(r["per_second"] for r in runs),
            "lost": sum(r["lost"] for r in runs),
            "duplicates": [r["duplicates"] for r in runs],
        }
        for mode, runs in results.items()
    }
    report = {"events": args.events, "runs": results, "summary": summary, "cpus": os.cpu_count()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    ok = summary["full"]["median_seconds"] <= TARGET_S and all(
        s["lost"] == 0 for s in summary.values()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

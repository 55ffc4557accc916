"""The real service in a process of its own (`volmatch serve`, with its solving process), for
benchmarks and fault tests: start, stop gracefully, kill, restart; its log goes to a file.

    with Service(database_url, folder) as service:
        service.client.get("/readyz"); service.admin        # an httpx client, admin headers
        service.worker_pids()                               # the solving process(es)
        service.restart()                                   # SIGTERM, then a fresh process
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from api.db import make_engine, make_sessionmaker, migrate, transaction
from api.services import organizations
from api.services.audit import Actor
from benchmarks.pg import free_port

VOLMATCH = str(Path(sys.executable).parent / "volmatch")


def create_admin(database_url: str, name: str = "bench admin") -> dict[str, str]:
    """An admin organization, made as `volmatch admin create-org` makes it (migrating the
    database first); its auth headers."""
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with transaction(make_sessionmaker(engine)) as session:
            _, _, secret = organizations.create_organization(
                session, name, "admin", "UTC", actor=Actor.system("cli")
            )
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


class Service:
    """`volmatch serve` on `database_url` and a free port; settings as `VOLMATCH_*` in `env`."""

    def __init__(
        self,
        database_url: str,
        folder: Path,
        env: dict[str, str] | None = None,
        timeout_s: float = 120,
    ) -> None:
        self.database_url = database_url
        self.folder = folder
        self.env = {
            **os.environ,
            "VOLMATCH_DATABASE_URL": database_url,
            "VOLMATCH_RATE_LIMIT_PER_MINUTE": "0",
            **(env or {}),
        }
        self.port = free_port()
        self.log_path = folder / "service.log"
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=timeout_s)
        self.admin: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> Service:
        self.admin = create_admin(self.database_url)
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
        self.client.close()

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [VOLMATCH, "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killing it reaches the solver too
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start; see {self.log_path}")
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> None:
        """Stop the service (SIGTERM: gracefully; SIGKILL: the whole process group at once)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        # nothing of the group may outlive it (a solving process orphaned by SIGKILL, say)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()

    def worker_pids(self) -> list[int]:
        """The service's solving process(es): children started by multiprocessing's spawn (not
        its resource tracker)."""
        if self.process is None:
            return []
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        found = []
        for child in children.read_text().split() if children.exists() else []:
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
        return found

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def org(self, kind: str, name: str) -> tuple[int, dict[str, str]]:
        """A new organization of `kind`: its id and auth headers."""
        r = self.client.post(
            "/v1/organizations", json={"name": name, "kind": kind}, headers=self.admin
        )
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body["organization"]["id"], {"Authorization": f"Bearer {body['api_key']['secret']}"}

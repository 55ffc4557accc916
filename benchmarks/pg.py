"""A throwaway PostgreSQL cluster on loopback, for the load benchmark and the fault tests.

    with Postgres.throwaway() as pg:      # initdb in a temporary folder, started on a free port
        url = pg.url                      # postgresql+psycopg://postgres@127.0.0.1:PORT/volmatch
        pg.stop("immediate")              # a crash, as far as clients can tell
        pg.start()

Uses the distribution's server binaries (/usr/lib/postgresql/*/bin, as `.ci/postgres.sh`
installs them); as root, the server runs as the `postgres` account. `available()` says whether
the binaries are there.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

DATABASE = "volmatch"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in path.split("/")[4].split(".") if p.isdigit())


def available() -> bool:
    return _bin_dir() is not None and (os.geteuid() != 0 or shutil.which("runuser") is not None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Postgres:
    """One cluster in `folder`, listening on 127.0.0.1:`port` only."""

    def __init__(self, folder: Path, port: int) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries not found (see .ci/postgres.sh)")
        self.bin = bin_dir
        self.folder = folder
        self.port = port
        self.data = folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str) -> None:
        command = list(args)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres")
        self.start()
        self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            DATABASE,
        )  # fmt: skip

    def create_database(self, name: str) -> str:
        """A new empty database in this cluster; its URL."""
        self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            name,
        )  # fmt: skip
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l",
            str(self.folder / "server.log"), "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        """Stop the server; `immediate` aborts every session without a clean shutdown."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "status")
        except subprocess.CalledProcessError:
            return False
        return True

    @classmethod
    @contextmanager
    def throwaway(cls) -> Iterator[Postgres]:
        """A fresh cluster in a temporary folder, stopped and removed afterwards."""
        folder = Path(tempfile.mkdtemp(prefix="volmatch-pg-"))
        pg = cls(folder, free_port())
        try:
            pg.init()
            yield pg
        finally:
            if pg.running():
                pg.stop("immediate")
            shutil.rmtree(folder, ignore_errors=True)

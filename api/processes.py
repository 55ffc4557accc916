"""Names of the service's background processes (`host:pid`), and whether one is gone: solving
processes and dispatchers sign their claims with it, so that a process on the same host can
tell at once that a claim's holder died."""

from __future__ import annotations

import os
import socket


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def gone(name: str | None) -> bool:
    """Whether `name` is a process on this host that no longer exists (a thread's name may
    carry a suffix after the pid: `host:pid/dispatcher`)."""
    if not name:
        return True
    host, _, pid = name.split("/", 1)[0].rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False

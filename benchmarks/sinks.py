"""Local receivers for the notification tests and benchmark, on loopback only: a webhook sink
(and fake SMS provider) that records each POST and answers as told (uvicorn: the standard
library's HTTP server spent more CPU per request than the dispatcher under test), and an SMTP
server (aiosmtpd) that records each message.

    with WebhookSink() as sink:              # http://127.0.0.1:PORT/hook
        sink.status = 500; sink.delay_s = 0.2
        sink.received                        # [(headers, body bytes)], in arrival order
"""

from __future__ import annotations

import asyncio
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import uvicorn

from benchmarks.pg import free_port


class WebhookSink:
    """An HTTP server (uvicorn, in a thread) that records every complete POST and answers
    `status` after `delay_s`. A request whose sender died before its body was through is not
    recorded: nothing was delivered."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrivals: list[float] = []  # time.perf_counter() of each POST
        self.status = 200
        self.delay_s = 0.0
        self._lock = threading.Lock()
        self.port = free_port()
        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
            lifespan="off", interface="asgi3",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the sender died mid-request
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        headers = {k.decode().title(): v.decode() for k, v in scope["headers"]}
        with self._lock:
            self.received.append((headers, b"".join(chunks)))
            self.arrivals.append(time.perf_counter())
        await send({"type": "http.response.start", "status": self.status,
                    "headers": [(b"content-length", b"2")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"ok"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> WebhookSink:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the webhook sink did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def bodies(self) -> list[bytes]:
        with self._lock:
            return [body for _, body in self.received]


class SmtpSink:
    """An SMTP server (aiosmtpd) on loopback recording each accepted message; `start` and
    `stop` it to play a server that goes down and comes back on the same port."""

    def __init__(self, port: int, delay_s: float = 0.0) -> None:
        self.port = port
        self.delay_s = delay_s
        self.messages: list[EmailMessage] = []
        self.controller: Any = None

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                if sink.delay_s:
                    await asyncio.sleep(sink.delay_s)
                parsed = message_from_bytes(envelope.content, policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                sink.messages.append(parsed)
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

"""Local receivers for the notification tests and benchmark, on loopback only: a webhook sink
(and fake SMS provider) that records each POST and answers as told, and an SMTP server
(aiosmtpd) that records each message.

    with WebhookSink() as sink:              # http://127.0.0.1:PORT/hook
        sink.status = 500; sink.delay_s = 0.2
        sink.received                        # [(headers, body bytes)], in arrival order
"""

from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookSink:
    """An HTTP server that records every POST and answers `status` after `delay_s`."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrivals: list[float] = []  # time.perf_counter() of each POST
        self.status = 200
        self.delay_s = 0.0
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go in two writes: with Nagle on, the second waits for the
            # client's delayed ACK (40 ms) on every kept-alive request
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if sink.delay_s:
                    time.sleep(sink.delay_s)
                with sink._lock:
                    sink.received.append((dict(self.headers.items()), body))
                    sink.arrivals.append(time.perf_counter())
                try:
                    self.send_response(sink.status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (a timeout test)

            def log_message(self, *_: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> WebhookSink:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

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
                    import asyncio

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

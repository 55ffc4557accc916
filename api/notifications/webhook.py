"""Webhook deliveries: a signed JSON POST.

Headers: `X-Volmatch-Event` (the event type), `X-Volmatch-Delivery` (the idempotency id: the
same on every retry of one message) and `X-Volmatch-Signature: t=<unix seconds>,v1=<hex>`, where
v1 is HMAC-SHA256 with the webhook's secret over `<t>.` followed by the exact body bytes. A
receiver recomputes it, compares in constant time and refuses a `t` outside its replay window
(docs/notifications.md has the code). Any 2xx is a delivery; anything else, a timeout or a
refused connection is a failed attempt. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError
from urllib3.exceptions import TimeoutError as HttpTimeout

from api.notifications.errors import DeliveryFailed
from api.settings import Settings

SIGNATURE_HEADER = "X-Volmatch-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def address_problem(url: str, allow_private: bool) -> str | None:
    """Why `url` may not receive webhooks, or None: http(s) only, and (unless allowed) no host
    that resolves to a loopback, private, link-local or reserved address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http or https URL"
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return "the host name does not resolve"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return "the host is on a private, loopback or reserved network"
    return None


class WebhookSender:
    """Posts over a thread-safe pool of kept-alive connections (urllib3: half the CPU of httpx
    per request, which is most of a dispatcher's time)."""

    def __init__(self, settings: Settings) -> None:
        self.allow_private = settings.webhook_allow_private
        self.pool = urllib3.PoolManager(
            maxsize=settings.dispatch_concurrency,
            timeout=urllib3.Timeout(total=settings.webhook_timeout_s),
            retries=False,
        )

    def send(
        self, url: str, secret: str, body: bytes, event_type: str, idempotency_id: str
    ) -> None:
        problem = address_problem(url, self.allow_private)
        if problem is not None:
            raise DeliveryFailed(problem)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "volmatch-webhooks/1",
            "X-Volmatch-Event": event_type,
            "X-Volmatch-Delivery": idempotency_id,
            SIGNATURE_HEADER: signature(secret, int(time.time()), body),
        }
        try:
            answer = self.pool.request("POST", url, body=body, headers=headers, redirect=False)
        except HttpTimeout:
            raise DeliveryFailed("timed out") from None
        except HTTPError as exc:
            raise DeliveryFailed(f"no answer ({type(exc).__name__})") from None
        if not 200 <= answer.status < 300:
            raise DeliveryFailed(f"HTTP {answer.status}")

    def close(self) -> None:
        self.pool.clear()


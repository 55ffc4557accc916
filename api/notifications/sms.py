"""SMS through a provider's HTTP API, behind a small interface so that a provider's own adapter
can take the generic one's place.

The generic adapter (`sms_provider = "http_json"`) POSTs `{"to", "text", "id"}` as JSON to
`sms_url`, with `Authorization: Bearer <sms_token>` when set; `id` is the idempotency id, the
same on every retry, for providers that drop repeats. A 2xx answer is a delivery.
"""

from __future__ import annotations

import json
from typing import Protocol

import urllib3
from urllib3.exceptions import HTTPError
from urllib3.exceptions import TimeoutError as HttpTimeout

from api.notifications.errors import DeliveryFailed
from api.settings import Settings


class SmsProvider(Protocol):
    def send(self, to: str, text: str, idempotency_id: str) -> None:
        """Hand one message to the provider, or raise `DeliveryFailed`."""

    def close(self) -> None: ...


class HttpJsonSms:
    def __init__(self, url: str, token: str | None, timeout_s: float) -> None:
        self.url = url
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.pool = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_s), retries=False)

    def send(self, to: str, text: str, idempotency_id: str) -> None:
        body = json.dumps({"to": to, "text": text, "id": idempotency_id}, ensure_ascii=False)
        try:
            answer = self.pool.request(
                "POST", self.url, body=body.encode(), headers=self.headers, redirect=False
            )
        except HttpTimeout:
            raise DeliveryFailed("SMS provider timed out") from None
        except HTTPError as exc:
            raise DeliveryFailed(f"SMS provider unreachable ({type(exc).__name__})") from None
        if not 200 <= answer.status < 300:
            raise DeliveryFailed(f"SMS provider answered HTTP {answer.status}")

    def close(self) -> None:
        self.pool.clear()


def provider(settings: Settings) -> SmsProvider | None:
    if not settings.sms_on:
        return None
    assert settings.sms_url is not None
    token = settings.sms_token.get_secret_value() if settings.sms_token else None
    return HttpJsonSms(settings.sms_url, token, settings.sms_timeout_s)

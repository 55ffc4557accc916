"""SMS through a provider's HTTP API, behind a small interface so that a provider's own adapter
can take the generic one's place.

The generic adapter (`sms_provider = "http_json"`) POSTs `{"to", "text", "id"}` as JSON to
`sms_url`, with `Authorization: Bearer <sms_token>` when set; `id` is the idempotency id, the
same on every retry, for providers that drop repeats. A 2xx answer is a delivery.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from api.notifications.errors import DeliveryFailed
from api.settings import Settings


class SmsProvider(Protocol):
    def send(self, to: str, text: str, idempotency_id: str) -> None:
        """Hand one message to the provider, or raise `DeliveryFailed`."""

    def close(self) -> None: ...


class HttpJsonSms:
    def __init__(self, url: str, token: str | None, timeout_s: float) -> None:
        self.url = url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(timeout=timeout_s, headers=headers, follow_redirects=False)

    def send(self, to: str, text: str, idempotency_id: str) -> None:
        try:
            answer = self.client.post(self.url, json={"to": to, "text": text, "id": idempotency_id})
        except httpx.TimeoutException:
            raise DeliveryFailed("SMS provider timed out") from None
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"SMS provider unreachable ({type(exc).__name__})") from None
        if not answer.is_success:
            raise DeliveryFailed(f"SMS provider answered HTTP {answer.status_code}")

    def close(self) -> None:
        self.client.close()


def provider(settings: Settings) -> SmsProvider | None:
    if not settings.sms_on:
        return None
    assert settings.sms_url is not None
    token = settings.sms_token.get_secret_value() if settings.sms_token else None
    return HttpJsonSms(settings.sms_url, token, settings.sms_timeout_s)

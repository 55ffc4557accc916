"""What a channel raises: a failed attempt (retried with backoff until the cap) or a message
with nothing left to send. Their text is stored and logged, so it names codes and exception
types, never addresses, numbers, URLs or bodies."""

from __future__ import annotations


class DeliveryFailed(Exception):
    """This attempt failed; a later one may pass."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:300]


class NothingToSend(Exception):
    """The message no longer has a recipient or a reason to go (volunteer erased, webhook
    removed, work cancelled before its reminder)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:300]

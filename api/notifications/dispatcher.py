"""The dispatcher: claims due deliveries from the outbox and sends them, at least once.

One loop (`serve`): every `scheduler_period_s` the scheduler writes due reminders and no-shows
(`api.notifications.scheduler`); then the dispatcher claims up to `dispatch_batch` due
deliveries (`repositories.outbox.claim_due`: safe with any number of dispatchers), sends them
and writes each outcome:

- webhooks and SMS, `dispatch_concurrency` at a time; their outcomes are written together once
  the batch is through (a crash before that sends that batch again: receivers drop the repeats
  by `X-Volmatch-Delivery` / `id`);
- email, one at a time over one SMTP connection: the lease is renewed (committed) just before
  each message goes, and the delivery is marked delivered (committed) as soon as the server has
  accepted it, so a crash can repeat at most the one message in flight, with the same
  Message-ID.

A failed attempt is retried after `retry_base_s * 2^(attempts-1)` (at most `retry_max_s`),
times a random factor in [0.5, 1] so that retries of many messages spread out; after
`delivery_max_attempts` attempts the delivery is dead (a dead letter, shown by
`GET /v1/deliveries?status=dead` and retried on request). A claim whose dispatcher died is taken
again when its lease ends, or at once by a dispatcher on the same host that sees the process gone.
The log names deliveries by id, channel and outcome, never recipients, URLs or bodies.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.db import transaction
from api.models import (
    Assignment,
    AssignmentStatus,
    Delivery,
    DeliveryStatus,
    Organization,
    Webhook,
    utc_now,
)
from api.notifications import messages, scheduler, sms
from api.notifications.email import EmailSender
from api.notifications.errors import DeliveryFailed, NothingToSend
from api.notifications.webhook import WebhookSender
from api.processes import gone, process_name
from api.repositories import assignments as assignment_repo
from api.repositories import organizations as org_repo
from api.repositories import outbox as repo
from api.repositories import webhooks as webhook_repo
from api.services import links
from api.services.events import VOLUNTEER_MESSAGES, Channel, EventType
from api.services.organizations import settings_of
from api.settings import Settings

log = logging.getLogger("volmatch.dispatcher")
# urllib3 logs each request's URL at DEBUG, and a retried connection's at WARNING: webhook and
# SMS provider URLs may carry credentials.
logging.getLogger("urllib3").setLevel(logging.ERROR)

# How often a dispatcher looks for claims of dispatchers gone on this host.
RECOVER_EVERY_S = 1.0
# Which work a volunteer's message is still worth sending for.
_STILL_RELEVANT = {
    EventType.ASSIGNMENT_PROPOSED: (AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED),
    EventType.REMINDER_DUE: (AssignmentStatus.CONFIRMED,),
}


def retry_delay(attempts: int, settings: Settings, rng: random.Random) -> float:
    """Seconds before the next attempt after `attempts` failed ones (exponential, jittered)."""
    exponential = settings.retry_base_s * 2 ** min(attempts - 1, 30)
    return float(min(settings.retry_max_s, exponential) * rng.uniform(0.5, 1.0))


@dataclass
class Job:
    """One claimed delivery, ready to go: `send` does it (or `skip` says why not)."""

    delivery_id: int
    channel: str
    attempts: int
    send: Callable[[], None] | None = None
    skip: str | None = None


@dataclass
class Outcomes:
    delivered: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)
    failed: dict[int, tuple[str, int]] = field(default_factory=dict)

    def total(self) -> int:
        return len(self.delivered) + len(self.skipped) + len(self.failed)


class Dispatcher:
    """Claims and delivers outbox messages; one instance per thread or process."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        name: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.name = name or f"{process_name()}/dispatcher"
        self.rng = rng or random.Random()
        self.webhooks = WebhookSender(settings)
        self.email = EmailSender(settings) if settings.email_on else None
        self.sms = sms.provider(settings)
        self.pool = ThreadPoolExecutor(settings.dispatch_concurrency, thread_name_prefix="deliver")
        self._scheduled_at = float("-inf")
        self._recovered_at = float("-inf")

    # --- the loop --------------------------------------------------------------------------

    def serve(self, stop: threading.Event) -> None:
        """Schedule and deliver until `stop` is set."""
        log.info("dispatcher %s started", self.name)
        try:
            while not stop.is_set():
                try:
                    busy = self.tick()
                except Exception as exc:  # the database may be away for a moment
                    log.warning("dispatcher step failed (%s); retrying", type(exc).__name__)
                    busy = False
                if not busy:
                    stop.wait(self.settings.dispatcher_poll_s)
        finally:
            self.close()
            log.info("dispatcher %s stopped", self.name)

    def tick(self) -> bool:
        """Run the scheduler if its period has passed, then one step; whether it delivered."""
        if time.monotonic() - self._scheduled_at >= self.settings.scheduler_period_s:
            self._scheduled_at = time.monotonic()
            scheduler.run(self.sessions, self.settings, utc_now())
        return self.step() > 0

    def run_until_idle(self) -> int:
        """Deliver every due message (tests, benchmarks); how many were handled."""
        handled = 0
        while (n := self.step()) > 0:
            handled += n
        return handled

    def step(self) -> int:
        """Release claims of dead dispatchers, claim a batch, deliver it; how many it held."""
        if time.monotonic() - self._recovered_at >= RECOVER_EVERY_S:
            self._recovered_at = time.monotonic()
            self.recover()
        now = utc_now()
        lease = now + timedelta(seconds=self.settings.dispatch_lease_s)
        with transaction(self.sessions) as session:
            ids = repo.claim_due(session, self.name, now, lease, self.settings.dispatch_batch)
            jobs = self._prepare(session, ids) if ids else []
        if not ids:
            return 0
        outcomes = Outcomes()
        for job in jobs:
            if job.skip is not None:
                outcomes.skipped[job.delivery_id] = job.skip
        parallel = [j for j in jobs if j.skip is None and j.channel != Channel.EMAIL]
        for job, error in zip(parallel, self.pool.map(_attempt, parallel), strict=True):
            if error is None:
                outcomes.delivered.append(job.delivery_id)
            else:
                outcomes.failed[job.delivery_id] = (error, job.attempts)
        self._write(outcomes)
        emails = Outcomes()
        for job in jobs:
            if job.skip is None and job.channel == Channel.EMAIL:
                self._send_email(job, emails)
        self._write(emails)
        if self.email is not None:
            self.email.close()
        done = outcomes.total() + emails.total()
        log.info(
            "dispatcher %s: %d delivered, %d failed, %d skipped",
            self.name,
            len(outcomes.delivered) + len(emails.delivered),
            len(outcomes.failed) + len(emails.failed),
            len(outcomes.skipped) + len(emails.skipped),
        )
        return done

    def recover(self) -> None:
        """Claims of dispatchers on this host whose process is gone are due at once."""
        with transaction(self.sessions) as session:
            for holder in repo.sending_holders(session):
                if holder != self.name and gone(holder):
                    n = repo.expire_claims(session, holder, utc_now())
                    log.warning("dispatcher %s gone; %d deliveries due again", holder, n)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.webhooks.close()
        if self.email is not None:
            self.email.close()
        if self.sms is not None:
            self.sms.close()

    # --- sending ---------------------------------------------------------------------------

    def _send_email(self, job: Job, outcomes: Outcomes) -> None:
        """Renew the claim (committed), send, mark delivered (committed): a crash can repeat
        only this message."""
        lease = utc_now() + timedelta(seconds=self.settings.dispatch_lease_s)
        with transaction(self.sessions) as session:
            if not repo.renew(session, job.delivery_id, self.name, lease):
                return  # taken from this dispatcher (its lease ran out): the new holder sends
        assert job.send is not None
        error = _attempt(job)
        if error is not None:
            outcomes.failed[job.delivery_id] = (error, job.attempts)
            return
        with transaction(self.sessions) as session:
            repo.finish(
                session,
                [job.delivery_id],
                self.name,
                status=DeliveryStatus.DELIVERED,
                delivered_at=utc_now(),
                last_error=None,
            )

    def _write(self, outcomes: Outcomes) -> None:
        now = utc_now()
        with transaction(self.sessions) as session:
            repo.finish(
                session,
                outcomes.delivered,
                self.name,
                status=DeliveryStatus.DELIVERED,
                delivered_at=now,
                last_error=None,
            )
            for delivery_id, reason in outcomes.skipped.items():
                repo.finish(
                    session, [delivery_id], self.name, status=DeliveryStatus.SKIPPED,
                    last_error=reason,
                )  # fmt: skip
            for delivery_id, (reason, attempts) in outcomes.failed.items():
                if attempts >= self.settings.delivery_max_attempts:
                    repo.finish(
                        session, [delivery_id], self.name, status=DeliveryStatus.DEAD,
                        last_error=reason,
                    )  # fmt: skip
                    log.error("delivery %s dead after %d attempts: %s", delivery_id, attempts, reason)
                    continue
                delay = retry_delay(attempts, self.settings, self.rng)
                repo.finish(
                    session,
                    [delivery_id],
                    self.name,
                    status=DeliveryStatus.PENDING,
                    next_attempt_at=now + timedelta(seconds=delay),
                    last_error=reason,
                )
                log.warning(
                    "delivery %s attempt %d failed: %s; next in %.0f s",
                    delivery_id,
                    attempts,
                    reason,
                    delay,
                )

    # --- what to send ----------------------------------------------------------------------

    def _prepare(self, session: Session, ids: list[int]) -> list[Job]:
        deliveries = repo.claimed(session, ids)
        hooks = webhook_repo.webhooks_by_ids(
            session, {d.webhook_id for d in deliveries if d.webhook_id is not None}
        )
        personal = [d for d in deliveries if d.channel != Channel.WEBHOOK]
        work = assignment_repo.assignments_by_ids(
            session, [int(d.event.data["assignment_id"]) for d in personal]
        )
        centers: dict[int, Organization | None] = {}
        for assignment in work.values():
            center_id = assignment.request.center_id
            if center_id not in centers:
                centers[center_id] = org_repo.get_organization(session, center_id)
        bodies: dict[int, bytes] = {}
        jobs = []
        for d in deliveries:
            job = Job(d.id, d.channel, d.attempts)
            try:
                if d.channel == Channel.WEBHOOK:
                    if d.event_id not in bodies:
                        bodies[d.event_id] = _webhook_body(d)
                    job.send = self._webhook_job(d, hooks.get(d.webhook_id or 0), bodies[d.event_id])
                else:
                    job.send = self._volunteer_job(d, work, centers)
            except NothingToSend as exc:
                job.skip = exc.reason
            jobs.append(job)
        return jobs

    def _webhook_job(self, d: Delivery, hook: Webhook | None, body: bytes) -> Callable[[], None]:
        if hook is None or not hook.active:
            raise NothingToSend("the webhook was removed or paused")
        url, secret = hook.url, hook.secret
        return lambda: self.webhooks.send(url, secret, body, d.event_type, d.idempotency_id)

    def _volunteer_job(
        self,
        d: Delivery,
        work: dict[int, Assignment],
        centers: dict[int, Organization | None],
    ) -> Callable[[], None]:
        assignment = work.get(int(d.event.data["assignment_id"]))
        if assignment is None or d.volunteer_id is None:
            raise NothingToSend("the volunteer or the work is gone")
        event_type = EventType(d.event_type)
        relevant = _STILL_RELEVANT.get(event_type)
        if relevant is not None and assignment.status not in relevant:
            raise NothingToSend(f"the assignment is {assignment.status} now")
        message = self._message(d, event_type, assignment, centers)
        volunteer = assignment.volunteer
        if d.channel == Channel.EMAIL:
            if self.email is None:
                raise NothingToSend("email is not configured")
            to, email = volunteer.email, self.email
            if not to:
                raise NothingToSend("no email address")
            return lambda: email.send(to, message.subject, message.email, d.idempotency_id)
        if self.sms is None:
            raise NothingToSend("SMS is not configured")
        phone, provider = volunteer.phone, self.sms
        if not phone:
            raise NothingToSend("no phone number")
        return lambda: provider.send(phone, message.sms, d.idempotency_id)

    def _message(
        self,
        d: Delivery,
        event_type: EventType,
        assignment: Assignment,
        centers: dict[int, Organization | None],
    ) -> messages.Message:
        request, volunteer = assignment.request, assignment.volunteer
        locale = messages.locale_for(volunteer.languages, self.settings.default_locale)
        center = centers.get(request.center_id)
        contact = ""
        if center is not None:
            chosen = settings_of(center)
            contact = " ".join(p for p in (chosen.contact_name, chosen.contact_phone) if p)
        token = links.derive(self.settings, assignment.link_salt)
        english = locale == "en"
        context: dict[str, Any] = {
            "greeting": (
                (f"Dear {volunteer.name}," if volunteer.name else "Hello,")
                if english
                else (f"{volunteer.name}，您好！" if volunteer.name else "您好！")
            ),
            "title": request.title,
            "when": messages.when(*assignment.local_times, locale),
            "place": request.address or request.district or ("see the link" if english else "见链接"),
            "bring": request.bring or "",
            "center": center.name if center is not None else "",
            "contact": contact,
            "link": links.url(self.settings, token) if token else "",
            "promoted": bool(d.event.data.get("promoted_from_standby")),
            "hours": _hours(d.event.data.get("hours_before")),
        }
        return messages.render(VOLUNTEER_MESSAGES[event_type], locale, context)


def _hours(value: Any) -> str:
    if value is None:
        return ""
    hours = float(value)
    return f"{hours:g}"


def _webhook_body(d: Delivery) -> bytes:
    event = d.event
    payload = {
        "id": event.event_id,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "data": {k: v for k, v in event.data.items() if k != "occurred_at"},
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _attempt(job: Job) -> str | None:
    """Send one message; None, or why it failed (safe to store and log)."""
    assert job.send is not None
    try:
        job.send()
    except DeliveryFailed as exc:
        return exc.reason
    except Exception as exc:  # a bug must not take the loop down; the message is retried
        return f"internal error ({type(exc).__name__})"
    return None


def serve_forever(settings: Settings, sessions: sessionmaker[Session], stop: threading.Event) -> None:
    Dispatcher(settings, sessions).serve(stop)

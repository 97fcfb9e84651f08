"""Deliver one claimed reminder: a FHIR Task by conditional create, and/or a signed webhook.

The function is idempotent: it only acts on a ``claimed`` row, counts every attempt in the row, and
the conditional create (``If-None-Exist``) means a redelivery after a lost answer makes no second
Task. Transient failures (5xx, 429, timeouts, connection errors) ask the caller to retry after an
exponential backoff with full jitter; other 4xx answers, or running out of attempts, fail the row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import httpx
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from service.persistence.models import Reminder, ReminderStatus, utcnow
from service.reminders._fhir_task import if_none_exist, task_resource
from service.reminders._tls import tls_context
from service.reminders.metrics import DELIVERY_RETRIES, DELIVERY_SECONDS
from service.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-BHCDS-Signature"
DELIVERY_ID_HEADER = "X-BHCDS-Reminder"
_CLAIMED = ReminderStatus.CLAIMED.value


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the re-read chart no longer gives this reminder
    SKIPPED = "skipped"  # not claimed (already delivered, cancelled, failed, or unknown)
    NOT_CONFIGURED = "not-configured"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    retry_in: float | None = None  # seconds, for Outcome.RETRY


class DeliveryError(Exception):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def deliver_reminder(
    factory: sessionmaker[Session],
    reminder_id: int,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    now: datetime | None = None,
    still_due: Callable[[Reminder], bool] | None = None,
) -> Result:
    """One delivery attempt of reminder ``reminder_id``; the caller schedules a retry on RETRY.

    ``still_due`` re-reads the chart first (see :mod:`service.reminders.recheck`); a reminder it
    no longer gives is cancelled instead of sent.
    """
    if not settings.fhir_base_url and not settings.reminder_webhook_url:
        return _not_configured(factory, reminder_id)
    reminder = _start_attempt(factory, reminder_id, now or utcnow())
    if reminder is None:
        return Result(Outcome.SKIPPED)

    started = time.perf_counter()
    if still_due is not None:
        try:
            due = still_due(reminder)
        except Exception as error:  # a fault in evaluation: recorded on the row, retried, then failed
            log.exception("reminder %s: chart re-evaluation raised %s", reminder.id, type(error).__name__)
            failure = DeliveryError(f"chart re-evaluation failed: {type(error).__name__}", transient=True)
            return _failed_attempt(factory, reminder, settings, failure, started)
        if not due:
            return _cancel(factory, reminder)
    owned = client is None
    http = client or httpx.Client(timeout=settings.delivery_timeout_seconds, verify=tls_context())
    try:
        send(http, settings, reminder, now or utcnow())
    except DeliveryError as error:
        return _failed_attempt(factory, reminder, settings, error, started)
    finally:
        if owned:
            http.close()
    DELIVERY_SECONDS.labels(outcome="delivered").observe(time.perf_counter() - started)
    with factory.begin() as session:
        done = utcnow()
        session.execute(
            update(Reminder)
            .where(Reminder.id == reminder.id, Reminder.status == _CLAIMED)
            .values(
                status=ReminderStatus.DELIVERED.value, delivered_at=done, updated_at=done, last_error=None
            )
        )
    log.info("reminder %s delivered (attempt %d)", reminder.id, reminder.attempts)
    return Result(Outcome.DELIVERED)


def backoff_seconds(attempt: int, settings: Settings) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))], never below a tenth of a second."""
    ceiling = min(
        settings.delivery_backoff_max_seconds, settings.delivery_backoff_seconds * 2 ** (attempt - 1)
    )
    return max(0.1, random.uniform(0, ceiling))


def _not_configured(factory: sessionmaker[Session], reminder_id: int) -> Result:
    log.warning(
        "reminder delivery is not configured (set BHCDS_FHIR_BASE_URL or BHCDS_REMINDER_WEBHOOK_URL): "
        "reminder %s stays pending",
        reminder_id,
    )
    with factory.begin() as session:
        session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.status == _CLAIMED)
            .values(status=ReminderStatus.PENDING.value, claimed_at=None, updated_at=utcnow())
        )
    return Result(Outcome.NOT_CONFIGURED)


def _cancel(factory: sessionmaker[Session], reminder: Reminder) -> Result:
    with factory.begin() as session:
        session.execute(
            update(Reminder)
            .where(Reminder.id == reminder.id, Reminder.status == _CLAIMED)
            .values(status=ReminderStatus.CANCELLED.value, updated_at=utcnow())
        )
    log.info("reminder %s cancelled: the current chart no longer gives it", reminder.id)
    return Result(Outcome.CANCELLED)


def _start_attempt(factory: sessionmaker[Session], reminder_id: int, now: datetime) -> Reminder | None:
    """Count the attempt and renew the claim (the lease runs from here); None if not ours to send."""
    with factory.begin() as session:
        # one statement: the row comes back from the UPDATE (PostgreSQL, SQLite >= 3.35)
        counted = session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.status == _CLAIMED)
            .values(attempts=Reminder.attempts + 1, claimed_at=now, updated_at=now)
            .returning(Reminder)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if counted is None:
            log.info("reminder %s is not claimed (already handled); nothing to send", reminder_id)
        return counted


def send(http: httpx.Client, settings: Settings, reminder: Reminder, now: datetime) -> None:
    """POST the reminder (FHIR Task by conditional create, then the webhook); DeliveryError if refused."""
    task = task_resource(reminder, now)
    if settings.fhir_base_url:
        headers = {
            "Content-Type": "application/fhir+json",
            "Accept": "application/fhir+json",
            "If-None-Exist": if_none_exist(reminder.task_key),
        }
        if settings.fhir_token:
            headers["Authorization"] = f"Bearer {settings.fhir_token}"
        url = settings.fhir_base_url.rstrip("/") + "/Task"
        response = _post(http, url, json.dumps(task).encode(), headers, "FHIR server")
        if response.status_code == 412:
            log.warning("reminder %s: several Tasks already carry its identifier", reminder.id)
    if settings.reminder_webhook_url:
        body = json.dumps(
            {
                "reminder": reminder.task_key,
                "patient": reminder.patient_id,
                "topic": reminder.topic,
                "due": reminder.due_date.isoformat(),
                "summary": reminder.summary,
                "task": task,
            },
            sort_keys=True,
        ).encode()
        headers = {"Content-Type": "application/json", DELIVERY_ID_HEADER: reminder.task_key}
        if settings.reminder_webhook_secret:
            digest = hmac.new(settings.reminder_webhook_secret.encode(), body, hashlib.sha256).hexdigest()
            headers[SIGNATURE_HEADER] = f"sha256={digest}"
        _post(http, settings.reminder_webhook_url, body, headers, "webhook")


def _post(http: httpx.Client, url: str, body: bytes, headers: dict[str, str], what: str) -> httpx.Response:
    try:
        response = http.post(url, content=body, headers=headers)
    except httpx.TimeoutException as error:
        raise DeliveryError(f"{what}: timeout ({type(error).__name__})", transient=True) from error
    except httpx.TransportError as error:
        raise DeliveryError(f"{what}: connection error ({type(error).__name__})", transient=True) from error
    code = response.status_code
    if code < 300 or (code == 412 and what == "FHIR server"):
        return response
    transient = code == 429 or code >= 500
    raise DeliveryError(f"{what}: HTTP {code} {response.reason_phrase}".rstrip(), transient=transient)


def is_final(error: DeliveryError, reminder: Reminder, settings: Settings) -> bool:
    """A refusal, or a transient failure on the last attempt, fails the reminder for good."""
    return not error.transient or reminder.attempts >= settings.delivery_max_attempts


def _failed_attempt(
    factory: sessionmaker[Session],
    reminder: Reminder,
    settings: Settings,
    error: DeliveryError,
    started: float,
) -> Result:
    final = is_final(error, reminder, settings)
    DELIVERY_SECONDS.labels(outcome="failed" if final else "retry").observe(time.perf_counter() - started)
    values: dict[str, object] = {"last_error": str(error), "updated_at": utcnow()}
    if final:
        values["status"] = ReminderStatus.FAILED.value
    with factory.begin() as session:
        session.execute(
            update(Reminder).where(Reminder.id == reminder.id, Reminder.status == _CLAIMED).values(**values)
        )
    if final:
        log.error("reminder %s failed after %d attempts: %s", reminder.id, reminder.attempts, error)
        return Result(Outcome.FAILED)
    DELIVERY_RETRIES.inc()
    delay = backoff_seconds(reminder.attempts, settings)
    log.warning(
        "reminder %s attempt %d: %s; retrying in %.1f s", reminder.id, reminder.attempts, error, delay
    )
    return Result(Outcome.RETRY, retry_in=delay)

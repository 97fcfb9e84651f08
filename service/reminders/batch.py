"""Deliver a batch of claimed reminders: one attempt count and one outcome write for the whole batch.

One delivery costs two commits, and its worker's Celery and SQLAlchemy overhead, per reminder; a batch
pays them once. Each reminder keeps what single delivery gives it (:mod:`service.reminders.delivery`):
its attempt is counted before anything is sent, the chart is re-read first when configured, the FHIR
Task is a conditional create, the webhook is signed, and the same outcome gives the same status and
counters. Only ``claimed`` rows are sent, so a batch delivered again (its worker died before the
acknowledgement) sends nothing that was marked delivered. What the batch does not finish goes on alone:
a transient failure comes back as RETRY with its backoff, and the reminders not reached within
``budget`` seconds (or whose send raised unexpectedly) are handed off, their attempt not counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import httpx
from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session, sessionmaker

from service.persistence.models import Reminder, ReminderStatus, utcnow
from service.reminders.delivery import (
    DeliveryError,
    Outcome,
    Result,
    backoff_seconds,
    is_final,
    send,
)
from service.reminders.metrics import DELIVERY_RETRIES, DELIVERY_SECONDS
from service.settings import Settings

log = logging.getLogger(__name__)

_CLAIMED = ReminderStatus.CLAIMED.value
_reminders = cast(Table, Reminder.__table__)


@dataclass(slots=True)
class BatchResult:
    """Each reminder's outcome; ``handed_off``: to deliver alone now (their attempt is not counted)."""

    outcomes: dict[int, Result] = field(default_factory=dict)
    handed_off: list[int] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.outcomes.values() if r.outcome is outcome)


@dataclass(slots=True)
class _Writes:
    delivered: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    failed: list[dict[str, object]] = field(default_factory=list)  # b_id, b_status, b_error
    handed_off: list[int] = field(default_factory=list)


def deliver_batch(
    factory: sessionmaker[Session],
    reminder_ids: Sequence[int],
    settings: Settings,
    *,
    client: httpx.Client,
    now: datetime | None = None,
    still_due: Callable[[Reminder], bool] | None = None,
    budget: float | None = None,
) -> BatchResult:
    """One delivery attempt of each claimed reminder in ``reminder_ids``; the caller schedules the
    retries (RETRY, after ``retry_in``) and the hand-offs (``handed_off``, at once)."""
    result = BatchResult()
    if not settings.fhir_base_url and not settings.reminder_webhook_url:
        _release(factory, reminder_ids)
        result.outcomes = {rid: Result(Outcome.NOT_CONFIGURED) for rid in reminder_ids}
        return result
    now = now or utcnow()
    rows = _start_attempts(factory, reminder_ids, now)
    for rid in reminder_ids:
        if rid not in rows:
            result.outcomes[rid] = Result(Outcome.SKIPPED)
    writes = _Writes()
    deadline = None if budget is None else time.monotonic() + budget
    for reminder in rows.values():
        if deadline is not None and time.monotonic() > deadline:
            writes.handed_off.append(reminder.id)
            continue
        started = time.perf_counter()
        try:
            outcome = _attempt(client, settings, reminder, now, still_due)
        except Exception as error:  # what single delivery would raise: let it raise there, alone
            log.exception(
                "reminder %s: delivery raised %s; it goes on alone", reminder.id, type(error).__name__
            )
            writes.handed_off.append(reminder.id)
            continue
        elapsed = time.perf_counter() - started
        result.outcomes[reminder.id] = _note(writes, reminder, settings, outcome, elapsed)
    _write(factory, writes)
    result.handed_off = writes.handed_off
    _log(rows, result)
    return result


def _attempt(
    http: httpx.Client,
    settings: Settings,
    reminder: Reminder,
    now: datetime,
    still_due: Callable[[Reminder], bool] | None,
) -> Outcome | DeliveryError:
    """Re-read the chart if asked, then send: DELIVERED, CANCELLED, or the error of a failed attempt."""
    if still_due is not None:
        try:
            due = still_due(reminder)
        except Exception as error:  # a fault in evaluation: recorded on the row, retried, then failed
            log.exception("reminder %s: chart re-evaluation raised %s", reminder.id, type(error).__name__)
            return DeliveryError(f"chart re-evaluation failed: {type(error).__name__}", transient=True)
        if not due:
            return Outcome.CANCELLED
    try:
        send(http, settings, reminder, now)
    except DeliveryError as error:
        return error
    return Outcome.DELIVERED


def _note(
    writes: _Writes, reminder: Reminder, settings: Settings, outcome: Outcome | DeliveryError, elapsed: float
) -> Result:
    """Queue the reminder's write; its Result, as single delivery would give it."""
    if outcome is Outcome.DELIVERED:
        DELIVERY_SECONDS.labels(outcome="delivered").observe(elapsed)
        writes.delivered.append(reminder.id)
        return Result(Outcome.DELIVERED)
    if outcome is Outcome.CANCELLED:
        writes.cancelled.append(reminder.id)
        return Result(Outcome.CANCELLED)
    assert isinstance(outcome, DeliveryError)
    final = is_final(outcome, reminder, settings)
    DELIVERY_SECONDS.labels(outcome="failed" if final else "retry").observe(elapsed)
    status = ReminderStatus.FAILED.value if final else _CLAIMED
    writes.failed.append({"b_id": reminder.id, "b_status": status, "b_error": str(outcome)})
    if final:
        log.error("reminder %s failed after %d attempts: %s", reminder.id, reminder.attempts, outcome)
        return Result(Outcome.FAILED)
    DELIVERY_RETRIES.inc()
    delay = backoff_seconds(reminder.attempts, settings)
    log.warning(
        "reminder %s attempt %d: %s; retrying in %.1f s", reminder.id, reminder.attempts, outcome, delay
    )
    return Result(Outcome.RETRY, retry_in=delay)


def _start_attempts(
    factory: sessionmaker[Session], reminder_ids: Sequence[int], now: datetime
) -> dict[int, Reminder]:
    """Count every claimed reminder's attempt and renew its claim, in one UPDATE … RETURNING."""
    with factory.begin() as session:
        counted = session.execute(
            update(Reminder)
            .where(Reminder.id.in_(list(reminder_ids)), Reminder.status == _CLAIMED)
            .values(attempts=Reminder.attempts + 1, claimed_at=now, updated_at=now)
            .returning(Reminder)
            .execution_options(synchronize_session=False)
        ).scalars()
        rows = {row.id: row for row in counted}
        session.expunge_all()
    return {rid: rows[rid] for rid in sorted(rows)}


def _write(factory: sessionmaker[Session], writes: _Writes) -> None:
    """Every outcome of the batch in one transaction, each write guarded by ``status = claimed``."""
    if not (writes.delivered or writes.cancelled or writes.failed or writes.handed_off):
        return
    done = utcnow()
    guard = (Reminder.status == _CLAIMED,)
    with factory.begin() as session:
        if writes.delivered:
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(writes.delivered), *guard)
                .values(
                    status=ReminderStatus.DELIVERED.value, delivered_at=done, updated_at=done, last_error=None
                )
                .execution_options(synchronize_session=False)
            )
        if writes.cancelled:
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(writes.cancelled), *guard)
                .values(status=ReminderStatus.CANCELLED.value, updated_at=done)
                .execution_options(synchronize_session=False)
            )
        if writes.failed:  # each its own error: one statement, executed for each row
            session.connection().execute(
                update(_reminders)
                .where(_reminders.c.id == bindparam("b_id"), _reminders.c.status == _CLAIMED)
                .values(status=bindparam("b_status"), last_error=bindparam("b_error"), updated_at=done),
                writes.failed,
            )
        if writes.handed_off:  # not attempted here: the single delivery counts its own attempt
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(writes.handed_off), *guard)
                .values(attempts=Reminder.attempts - 1)
                .execution_options(synchronize_session=False)
            )


def _release(factory: sessionmaker[Session], reminder_ids: Sequence[int]) -> None:
    log.warning(
        "reminder delivery is not configured (set BHCDS_FHIR_BASE_URL or BHCDS_REMINDER_WEBHOOK_URL): "
        "%d reminders stay pending",
        len(reminder_ids),
    )
    with factory.begin() as session:
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(list(reminder_ids)), Reminder.status == _CLAIMED)
            .values(status=ReminderStatus.PENDING.value, claimed_at=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def _log(rows: dict[int, Reminder], result: BatchResult) -> None:
    log.info(
        "batch of %d: %d delivered, %d to retry, %d failed, %d cancelled, %d skipped, %d handed off",
        len(rows) + result.count(Outcome.SKIPPED),
        result.count(Outcome.DELIVERED),
        result.count(Outcome.RETRY),
        result.count(Outcome.FAILED),
        result.count(Outcome.CANCELLED),
        result.count(Outcome.SKIPPED),
        len(result.handed_off),
    )

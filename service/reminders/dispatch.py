"""The dispatcher: claim due reminders and hand them to delivery tasks, a batch of ids each.

A claim is one atomic UPDATE of pending rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two
dispatchers never claim the same row; SQLite serialises writers). A row stays ``claimed`` until its
delivery ends; one claimed for longer than the lease (its worker died, its message was lost) is
handed out again, so nothing is lost. Delivery is idempotent, so a second hand-out is harmless. A
reminder whose topic a clinician quieted for the patient (architecture.md, Feedback) is not claimed:
it stays pending and goes out when the quiet ends, if the re-read chart still gives it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service.persistence.models import Reminder, ReminderStatus
from service.persistence.suppressions import held_topics_clause
from service.reminders.metrics import DISPATCHED, refresh_status_gauge

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=15)
_PENDING = ReminderStatus.PENDING.value
_CLAIMED = ReminderStatus.CLAIMED.value


def dispatch_due(
    session_factory: sessionmaker[Session],
    enqueue: Callable[[int], None],
    *,
    now: datetime,
    batch: int = 500,
    lease: timedelta = DEFAULT_LEASE,
) -> int:
    """Claim up to ``batch`` reminders due by today (UTC) plus expired claims; enqueue each once.

    Returns how many were enqueued. If enqueueing fails (broker down), the rows claimed in this run
    that were not enqueued go back to pending and the error propagates.
    """
    return dispatch_due_in_batches(
        session_factory, lambda ids: enqueue(ids[0]), size=1, now=now, batch=batch, lease=lease
    )


def dispatch_due_in_batches(
    session_factory: sessionmaker[Session],
    enqueue: Callable[[list[int]], None],
    *,
    size: int,
    now: datetime,
    batch: int = 500,
    lease: timedelta = DEFAULT_LEASE,
) -> int:
    """As :func:`dispatch_due`, but each enqueued task carries up to ``size`` reminder ids."""
    today = now.astimezone(UTC).date()
    with session_factory.begin() as session:
        fresh = _claim_due(session, today, now, batch)
    with session_factory.begin() as session:
        expired = _reclaim_expired(session, now, now - lease, batch)
    if expired:
        log.warning("re-queueing %d reminders whose claim outlived the lease", len(expired))

    done: set[int] = set()
    claimed = fresh + expired
    try:
        for first in range(0, len(claimed), size):
            chunk = claimed[first : first + size]
            enqueue(chunk)
            done.update(chunk)
    finally:
        unsent = [i for i in fresh if i not in done]
        if unsent:
            _release(session_factory, unsent, now)
    DISPATCHED.labels(kind="due").inc(len(fresh))
    DISPATCHED.labels(kind="lease-expired").inc(len(expired))
    refresh_status_gauge(session_factory)
    return len(done)


def _claim_due(session: Session, today: date, now: datetime, batch: int) -> list[int]:
    due = (
        select(Reminder.id)
        .where(Reminder.status == _PENDING, Reminder.due_date <= today)
        # a topic a clinician quieted for the patient: held (left pending) until the quiet ends
        .where(~held_topics_clause(Reminder.patient_id, Reminder.topic, now))
        .order_by(Reminder.due_date, Reminder.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(Reminder)
        .where(Reminder.id.in_(due.scalar_subquery()), Reminder.status == _PENDING)
        .values(status=_CLAIMED, claimed_at=now, updated_at=now)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.execute(statement).scalars().all())


def _reclaim_expired(session: Session, now: datetime, cutoff: datetime, batch: int) -> list[int]:
    expired = (
        select(Reminder.id)
        .where(Reminder.status == _CLAIMED, Reminder.claimed_at < cutoff)
        .order_by(Reminder.claimed_at, Reminder.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(Reminder)
        .where(Reminder.id.in_(expired.scalar_subquery()), Reminder.status == _CLAIMED)
        .where(Reminder.claimed_at < cutoff)
        .values(claimed_at=now, updated_at=now)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.execute(statement).scalars().all())


def _release(session_factory: sessionmaker[Session], ids: list[int], now: datetime) -> None:
    log.error("could not enqueue %d claimed reminders; returning them to pending", len(ids))
    with session_factory.begin() as session:
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(ids), Reminder.status == _CLAIMED)
            .values(status=_PENDING, claimed_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )

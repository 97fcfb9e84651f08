"""The dispatcher claims each due reminder once, leaves future ones, and recovers lost claims."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from service.persistence import make_engine, session_factory
from service.persistence.models import ReminderStatus
from service.reminders.dispatch import dispatch_due
from service.reminders.metrics import REMINDERS_BY_STATUS
from tests.service.persistence.databases import truncate_postgres
from tests.service.reminders.helpers import NOW, TODAY, add_reminder, reminder


def test_claims_due_today_and_overdue_but_not_tomorrow(factory: sessionmaker[Session]) -> None:
    overdue = add_reminder(factory, "p1", TODAY - timedelta(days=40))
    today = add_reminder(factory, "p2", TODAY)
    tomorrow = add_reminder(factory, "p3", TODAY + timedelta(days=1))
    sent: list[int] = []
    assert dispatch_due(factory, sent.append, now=NOW) == 2
    assert sorted(sent) == sorted([overdue, today])
    assert reminder(factory, overdue).status == "claimed"
    assert reminder(factory, tomorrow).status == "pending"
    assert REMINDERS_BY_STATUS.labels(status="claimed")._value.get() == 2


def test_a_claimed_reminder_is_not_dispatched_again(factory: sessionmaker[Session]) -> None:
    add_reminder(factory, "p1")
    sent: list[int] = []
    dispatch_due(factory, sent.append, now=NOW)
    assert dispatch_due(factory, sent.append, now=NOW + timedelta(minutes=5)) == 0
    assert len(sent) == 1


def test_claim_older_than_the_lease_is_requeued(factory: sessionmaker[Session]) -> None:
    lease = timedelta(minutes=15)
    stuck = add_reminder(
        factory, "p1", status=ReminderStatus.CLAIMED, claimed_at=NOW - lease - timedelta(seconds=1)
    )
    fresh = add_reminder(
        factory, "p2", status=ReminderStatus.CLAIMED, claimed_at=NOW - lease + timedelta(seconds=1)
    )
    sent: list[int] = []
    assert dispatch_due(factory, sent.append, now=NOW, lease=lease) == 1
    assert sent == [stuck]
    assert reminder(factory, stuck).claimed_at == NOW  # the lease restarts
    assert reminder(factory, fresh).status == "claimed"


def test_enqueue_failure_returns_unsent_claims_to_pending(factory: sessionmaker[Session]) -> None:
    first = add_reminder(factory, "p1")
    second = add_reminder(factory, "p2")
    sent: list[int] = []

    def enqueue(reminder_id: int) -> None:
        if sent:
            raise ConnectionError("broker down")
        sent.append(reminder_id)

    with pytest.raises(ConnectionError):
        dispatch_due(factory, enqueue, now=NOW)
    statuses = {reminder(factory, first).status, reminder(factory, second).status}
    assert statuses == {"claimed", "pending"}


def test_two_dispatchers_on_postgresql_claim_each_row_once(pg_url: str) -> None:
    truncate_postgres(pg_url)
    engine = make_engine(pg_url)
    factory = session_factory(engine)
    ids = [add_reminder(factory, f"p{i}", TODAY - timedelta(days=i % 7)) for i in range(600)]
    sent: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def enqueue(reminder_id: int) -> None:
        with lock:
            sent.append(reminder_id)

    def dispatcher() -> None:
        start.wait()
        while dispatch_due(factory, enqueue, now=NOW, batch=25):
            pass

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert Counter(sent) == Counter(ids)  # every row, none twice

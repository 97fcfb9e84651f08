"""Builders shared by the reminder tests."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from service.kernel.findings import AnyFinding, Finding, Indicator, Topic
from service.persistence.models import Reminder, ReminderStatus, task_key
from tests.builders import NOW, TODAY


def finding(topic: Topic = Topic.DENOSUMAB_DOSE_DUE, due: date | None = TODAY) -> AnyFinding:
    """A time-bound finding as the reminders see it: a topic and a due date (they read no facts)."""
    return Finding(topic=topic, indicator=Indicator.WARNING, due=due)


def add_reminder(
    factory: sessionmaker[Session],
    patient: str,
    due: date = TODAY,
    *,
    topic: str = Topic.DENOSUMAB_DOSE_DUE.value,
    status: ReminderStatus = ReminderStatus.PENDING,
    claimed_at: datetime | None = None,
) -> int:
    with factory.begin() as session:
        row = Reminder(
            patient_id=patient,
            topic=topic,
            due_date=due,
            status=status.value,
            attempts=0,
            summary="Next denosumab dose is due",
            task_key=task_key(patient, topic, due),
            created_at=NOW,
            updated_at=NOW,
            claimed_at=claimed_at,
        )
        session.add(row)
        session.flush()
        return row.id


def reminder(factory: sessionmaker[Session], reminder_id: int) -> Reminder:
    with factory() as session:
        row = session.get(Reminder, reminder_id)
        assert row is not None
        return row
